//! The token table: which bearer token has which roles.
//!
//! Tokens come from a file (`--tokens-file`) or the environment
//! (`TRIAGE_TOKENS`), as `ROLE:TOKEN` entries: one a line in the file
//! (blank lines and `#` comments allowed), separated by commas or white
//! space in the variable. `ROLE:sha256:HEX` gives a token by its SHA-256
//! instead, so a file need not hold the secret itself. Only the hashes are
//! kept; a presented token is hashed and compared with every entry in
//! constant time. No message here ever includes a token.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::{Role, Roles};

/// Shortest token accepted, in bytes: long enough not to be guessed.
pub const MIN_TOKEN_BYTES: usize = 16;

/// Where a bad entry was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Line `line` of the token file at `path`.
    File {
        /// The token file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// Entry `entry` (1-based) of `TRIAGE_TOKENS`.
    Env {
        /// 1-based position of the entry.
        entry: usize,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "--tokens-file {}: line {line}", path.display()),
            Origin::Env { entry } => write!(f, "TRIAGE_TOKENS: entry {entry}"),
        }
    }
}

/// Why tokens could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("--tokens-file {}: {source}", path.display())]
    Read {
        /// The token file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An entry is malformed.
    #[error("{origin}: {reason}")]
    Entry {
        /// Where the entry is.
        origin: Origin,
        /// What is wrong with it (never the token).
        reason: String,
    },
    /// No token at all: auth would refuse every call.
    #[error("{0}: holds no tokens")]
    Empty(String),
}

/// One token's hash and roles.
#[derive(Clone)]
struct Entry {
    digest: [u8; 32],
    roles: Roles,
}

/// The bearer tokens the server accepts, as SHA-256 hashes with roles.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

impl fmt::Debug for Tokens {
    /// Shows how many tokens there are, never their hashes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tokens({} entries)", self.entries.len())
    }
}

impl Tokens {
    /// Reads a token file: `ROLE:TOKEN` a line, `#` comments.
    pub fn read_file(path: &Path) -> Result<Tokens, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tokens = Tokens::default();
        for (index, line) in text.lines().enumerate() {
            let entry = line.split_once('#').map_or(line, |(entry, _)| entry).trim();
            if entry.is_empty() {
                continue;
            }
            let origin = Origin::File {
                path: path.to_path_buf(),
                line: index + 1,
            };
            tokens.add(entry, origin)?;
        }
        tokens.non_empty(&format!("--tokens-file {}", path.display()))
    }

    /// Parses `TRIAGE_TOKENS`: `ROLE:TOKEN` entries separated by commas or
    /// white space.
    pub fn parse_env(value: &str) -> Result<Tokens, TokenError> {
        let mut tokens = Tokens::default();
        let entries = value.split(|c: char| c == ',' || c.is_whitespace());
        for (index, entry) in entries.filter(|entry| !entry.is_empty()).enumerate() {
            tokens.add(entry, Origin::Env { entry: index + 1 })?;
        }
        tokens.non_empty("TRIAGE_TOKENS")
    }

    /// These tokens and `other`'s; a token in both has the roles of both.
    pub fn merge(mut self, other: Tokens) -> Tokens {
        for entry in other.entries {
            self.insert(entry);
        }
        self
    }

    /// How many distinct tokens there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The roles of `presented`; empty when it is not a known token. Every
    /// entry is compared, in constant time, whether or not one matched.
    pub fn roles(&self, presented: &str) -> Roles {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut bits = 0u8;
        for entry in &self.entries {
            let matched = digest.ct_eq(&entry.digest);
            bits = u8::conditional_select(&bits, &(bits | entry.roles.bits()), matched);
        }
        Roles::from_bits(bits)
    }

    fn add(&mut self, entry: &str, origin: Origin) -> Result<(), TokenError> {
        let invalid = |reason: String| TokenError::Entry {
            origin: origin.clone(),
            reason,
        };
        let (role, secret) = entry
            .split_once(':')
            .ok_or_else(|| invalid("expected ROLE:TOKEN (roles: ingest, agent, admin)".into()))?;
        let role = Role::parse(role.trim()).ok_or_else(|| {
            invalid(format!(
                "unknown role {:?} (expected ingest, agent or admin)",
                role.trim()
            ))
        })?;
        let digest = match secret.strip_prefix("sha256:") {
            Some(hex) => parse_digest(hex).map_err(invalid)?,
            None => {
                check_token(secret).map_err(invalid)?;
                Sha256::digest(secret.as_bytes()).into()
            }
        };
        self.insert(Entry {
            digest,
            roles: Roles::default().with(role),
        });
        Ok(())
    }

    fn insert(&mut self, new: Entry) {
        match self.entries.iter_mut().find(|entry| entry.digest == new.digest) {
            Some(entry) => entry.roles = Roles::from_bits(entry.roles.bits() | new.roles.bits()),
            None => self.entries.push(new),
        }
    }

    fn non_empty(self, source: &str) -> Result<Tokens, TokenError> {
        if self.entries.is_empty() {
            return Err(TokenError::Empty(source.to_string()));
        }
        Ok(self)
    }
}

/// A token must fit an HTTP header unquoted and be hard to guess.
fn check_token(token: &str) -> Result<(), String> {
    if token.len() < MIN_TOKEN_BYTES {
        return Err(format!("the token is shorter than {MIN_TOKEN_BYTES} bytes"));
    }
    if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("the token must be printable ASCII without spaces".into());
    }
    Ok(())
}

fn parse_digest(hex: &str) -> Result<[u8; 32], String> {
    let malformed = || "expected sha256: and 64 hex digits".to_string();
    if hex.len() != 64 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(malformed());
    }
    let mut digest = [0u8; 32];
    for (index, byte) in digest.iter_mut().enumerate() {
        let pair = hex.get(index * 2..index * 2 + 2).ok_or_else(malformed)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| malformed())?;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "agent-token-0123456789";
    const INGEST: &str = "ingest-token-0123456789";

    #[test]
    fn a_token_has_the_roles_it_is_listed_with() {
        let tokens =
            Tokens::parse_env(&format!("agent:{AGENT}, ingest:{INGEST} admin:{AGENT}")).expect("parses");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens.roles(INGEST), Roles::of(&[Role::Ingest]));
        assert_eq!(tokens.roles(AGENT), Roles::of(&[Role::Agent, Role::Admin]));
        assert!(tokens.roles("agent-token-012345678").is_empty());
        assert!(tokens.roles("").is_empty());
    }

    #[test]
    fn a_file_may_give_a_token_by_its_hash() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens");
        let hex: String = Sha256::digest(AGENT.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        std::fs::write(
            &path,
            format!("# agents\nagent:sha256:{hex}\n\ningest:{INGEST}  # bridge\n"),
        )
        .expect("write");
        let tokens = Tokens::read_file(&path).expect("reads");
        assert_eq!(tokens.roles(AGENT), Roles::of(&[Role::Agent]));
        assert_eq!(tokens.roles(INGEST), Roles::of(&[Role::Ingest]));
    }

    #[test]
    fn errors_name_the_line_but_never_the_token() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("agent:{AGENT}\nroot:{INGEST}\n")).expect("write");
        let err = Tokens::read_file(&path).expect_err("unknown role").to_string();
        assert!(err.contains("line 2") && err.contains("\"root\""), "{err}");
        assert!(!err.contains(INGEST), "{err}");
        let err = Tokens::parse_env("agent:tiny")
            .expect_err("too short")
            .to_string();
        assert!(err.contains("entry 1") && !err.contains("tiny"), "{err}");
        assert!(Tokens::parse_env(" , ").is_err(), "no tokens at all");
    }
}
