//! The caller's deadline, from gRPC's `grpc-timeout` request header.

use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

/// Time kept back from the caller's deadline for the answer's trip back:
/// work finished closer to the deadline than this counts as too late.
const ANSWER_MARGIN: Duration = Duration::from_millis(2);

/// When the answer must be ready for the caller to still hear it, if the
/// call carries a deadline.
pub(crate) fn answer_by(metadata: &MetadataMap) -> Option<Instant> {
    let timeout = parse_timeout(metadata.get("grpc-timeout")?.to_str().ok()?)?;
    Some(Instant::now() + timeout.saturating_sub(ANSWER_MARGIN))
}

/// Parses a `grpc-timeout` value: up to 8 digits and a unit (H, M, S, m,
/// u, n), as the gRPC over HTTP/2 spec defines it.
fn parse_timeout(value: &str) -> Option<Duration> {
    let split = value.len().checked_sub(1)?;
    let (digits, unit) = value.split_at(split);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_by_unit_and_garbage_is_ignored() {
        assert_eq!(parse_timeout("300u"), Some(Duration::from_micros(300)));
        assert_eq!(parse_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_timeout("123456789S"), None, "nine digits");
        assert_eq!(parse_timeout("S"), None);
        assert_eq!(parse_timeout("10x"), None);
        assert_eq!(parse_timeout(""), None);
    }
}
