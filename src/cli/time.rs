//! Timestamps for people (local time with its offset,
//! `2026-11-24 14:03:12 +01:00`) and for scripts (RFC 3339 in UTC).

use chrono::{DateTime, Local, SecondsFormat, Utc};
use prost_types::Timestamp;

/// `timestamp` as a UTC date-time; `None` when unset or out of range.
fn utc(timestamp: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    let timestamp = timestamp?;
    let nanos = u32::try_from(timestamp.nanos).ok()?;
    DateTime::from_timestamp(timestamp.seconds, nanos)
}

/// Local time to the second with its UTC offset; `-` when unset. The
/// zone is the machine's (or `TZ`'s).
pub fn local(timestamp: Option<&Timestamp>) -> String {
    match utc(timestamp) {
        Some(at) => at
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        None => "-".to_string(),
    }
}

/// An RFC 3339 time (as in the `--json` views) in local time, like
/// [`local`]; `-` when absent, the text itself when it does not parse.
pub fn local_text(text: Option<&str>) -> String {
    match text.map(DateTime::parse_from_rfc3339) {
        Some(Ok(at)) => at
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Some(Err(_)) => text.unwrap_or("-").to_string(),
        None => "-".to_string(),
    }
}

/// RFC 3339 in UTC (`2026-01-01T00:00:00Z`, fractions only when set);
/// `None` when unset.
pub fn rfc3339(timestamp: Option<&Timestamp>) -> Option<String> {
    utc(timestamp).map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// Parses an RFC 3339 time given on the command line or in a file.
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, String> {
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|err| format!("{text:?} is not an RFC 3339 time like 2026-01-05T09:30:00Z ({err})"))?;
    Ok(Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

/// A duration in seconds for people: `45s`, `12m 05s`, `3h 02m`, `2d 4h`.
pub fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        3600..86400 => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{}d {}h", seconds / 86400, seconds % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let parsed = parse_rfc3339("2026-01-01T00:00:00Z");
        assert_eq!(parsed.as_ref().ok().map(|t| t.seconds), Some(1_767_225_600));
        assert_eq!(
            rfc3339(parsed.ok().as_ref()).as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
    }

    #[test]
    fn unset_times_show_as_a_dash() {
        assert_eq!(local(None), "-");
        assert_eq!(rfc3339(None), None);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(725), "12m 05s");
        assert_eq!(duration(3 * 3600 + 120), "3h 02m");
        assert_eq!(duration(2 * 86400 + 4 * 3600), "2d 4h");
    }
}
