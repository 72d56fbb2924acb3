//! Where the store lives, as `--store` (or `TRIAGE_STORE`, or the config
//! file's `store`) names it: `sled:PATH` for the embedded store, or a
//! `postgres://` URL for the shared one. A URL's password is never shown:
//! [`StoreLocation`]'s `Display` and `Debug` leave it out.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// The backend and where it is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded sled store in this directory.
    Sled(PathBuf),
    /// A PostgreSQL-protocol database (PostgreSQL, CockroachDB, YugabyteDB).
    Postgres(PostgresUrl),
}

/// A `postgres://` or `postgresql://` connection URL, checked when parsed.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as given, password included: for the driver only, never
    /// for a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

/// `url` with the password of its user-info part, if any, replaced.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    let user = user_info.split_once(':').map_or(user_info, |(user, _)| user);
    let password = if user_info.contains(':') { ":***" } else { "" };
    let mut redacted = format!("{scheme}://{user}{password}@{host}{tail}");
    if let Some(at) = redacted.find("password=") {
        let end = redacted[at..].find('&').map_or(redacted.len(), |end| at + end);
        redacted.replace_range(at + "password=".len()..end, "***");
    }
    redacted
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", self.redacted())
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sled(path) => write!(f, "sled:{}", path.display()),
            StoreLocation::Postgres(url) => fmt::Display::fmt(url, f),
        }
    }
}

impl FromStr for StoreLocation {
    type Err = String;

    /// Parses `sled:PATH` or a `postgres://` URL. The error never repeats
    /// the text (it may hold a password).
    fn from_str(text: &str) -> Result<StoreLocation, String> {
        if let Some(path) = text.strip_prefix("sled:") {
            if path.is_empty() {
                return Err("sled: needs a directory, e.g. sled:./data".into());
            }
            return Ok(StoreLocation::Sled(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return match tokio_postgres::Config::from_str(text) {
                Ok(_) => Ok(StoreLocation::Postgres(PostgresUrl(text.to_string()))),
                Err(_) => Err(format!("not a valid PostgreSQL URL: {}", redact(text))),
            };
        }
        Err("expected sled:PATH or postgres://USER@HOST:PORT/DATABASE".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_and_postgres_locations_parse() {
        assert_eq!(
            "sled:./data".parse::<StoreLocation>(),
            Ok(StoreLocation::Sled(PathBuf::from("./data")))
        );
        let url = "postgres://root@127.0.0.1:5432/test";
        match url.parse::<StoreLocation>() {
            Ok(StoreLocation::Postgres(parsed)) => assert_eq!(parsed.expose(), url),
            other => panic!("{other:?}"),
        }
        assert!("sled:".parse::<StoreLocation>().is_err());
        assert!("mysql://x".parse::<StoreLocation>().is_err());
        assert!("./data".parse::<StoreLocation>().is_err());
    }

    #[test]
    fn passwords_never_show() {
        let url = "postgres://app:s3cret@db.internal:5432/triage?sslmode=disable";
        let location: StoreLocation = url.parse().expect("parses");
        for shown in [location.to_string(), format!("{location:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("app:***@db.internal:5432/triage"), "{shown}");
        }
        let query = "postgres://app@db/triage?password=s3cret&sslmode=disable";
        assert!(!redact(query).contains("s3cret"), "{}", redact(query));
        let bad = "postgres://app:s3cret@db:notaport/x";
        let err = bad.parse::<StoreLocation>().expect_err("bad port");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
