//! The token table in force, replaceable while serving: SIGHUP (or a change
//! to the file) reads `--tokens-file` again, so tokens rotate without a
//! restart; `TRIAGE_TOKENS` is read once, at start. A file that
//! no longer parses (or holds no token) is logged and the current tokens
//! stay.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::{Roles, TokenError, Tokens};
use crate::hangup::Hangups;
use crate::shutdown::Shutdown;

/// The tokens the server accepts now, and where to read them again.
#[derive(Debug)]
pub struct Keyring {
    file: Option<PathBuf>,
    env: Option<Tokens>,
    current: RwLock<Arc<Tokens>>,
}

impl Keyring {
    /// A keyring that never changes (tests, tools).
    pub fn fixed(tokens: Tokens) -> Keyring {
        Keyring {
            file: None,
            env: None,
            current: RwLock::new(Arc::new(tokens)),
        }
    }

    /// Tokens from `file` (read again on reload) and from the environment
    /// (read once); `None` when neither gives any.
    pub fn load(file: Option<PathBuf>, env: Option<Tokens>) -> Result<Option<Keyring>, TokenError> {
        let tokens = match (&file, &env) {
            (None, None) => return Ok(None),
            (Some(path), env) => combine(Tokens::read_file(path)?, env.clone()),
            (None, Some(env)) => env.clone(),
        };
        Ok(Some(Keyring {
            file,
            env,
            current: RwLock::new(Arc::new(tokens)),
        }))
    }

    /// The roles of `presented` under the current tokens.
    pub fn roles(&self, presented: &str) -> Roles {
        self.current().roles(presented)
    }

    /// Reads the token file again; on success the new tokens apply to the
    /// next call. Returns how many tokens are now in force.
    pub fn reload(&self) -> Result<usize, TokenError> {
        let Some(path) = &self.file else {
            return Ok(self.current().len());
        };
        let tokens = combine(Tokens::read_file(path)?, self.env.clone());
        let count = tokens.len();
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(tokens);
        Ok(count)
    }

    fn reload_logged(&self, why: &str) {
        match self.reload() {
            Ok(count) => tracing::info!(tokens = count, why, "tokens reloaded"),
            Err(err) => tracing::error!(error = %err, why, "tokens rejected; keeping the current tokens"),
        }
    }

    /// The token file's modification time, to notice a change.
    fn stamp(&self) -> Option<SystemTime> {
        let path = self.file.as_ref()?;
        std::fs::metadata(path).and_then(|meta| meta.modified()).ok()
    }

    fn current(&self) -> Arc<Tokens> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

fn combine(file: Tokens, env: Option<Tokens>) -> Tokens {
    match env {
        Some(env) => file.merge(env),
        None => file,
    }
}

/// Reloads `keyring` on every SIGHUP, and when its token file changes
/// (checked `every` so often: Kubernetes updates a mounted secret in place,
/// without a signal), until `shutdown`. The SIGHUP handler is installed
/// when this is called.
pub fn reload_on_change(
    keyring: Arc<Keyring>,
    every: Duration,
    mut shutdown: Shutdown,
) -> impl Future<Output = ()> + Send {
    let mut hangups = Hangups::install("tokens reload on file change only");
    let mut seen = keyring.stamp();
    async move {
        let mut checks = tokio::time::interval(every);
        checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                () = hangups.next() => keyring.reload_logged("SIGHUP"),
                _ = checks.tick() => {
                    let stamp = keyring.stamp();
                    if stamp != seen {
                        seen = stamp;
                        keyring.reload_logged("file changed");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "old-agent-token-0123456789";
    const NEW: &str = "new-agent-token-0123456789";

    #[test]
    fn a_reload_swaps_the_tokens_and_a_bad_file_keeps_them() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("agent:{OLD}\n")).expect("write");
        let keyring = Keyring::load(Some(path.clone()), None)
            .expect("loads")
            .expect("some");
        assert!(!keyring.roles(OLD).is_empty());
        std::fs::write(&path, format!("agent:{NEW}\n")).expect("rotate");
        assert_eq!(keyring.reload().expect("reloads"), 1);
        assert!(keyring.roles(OLD).is_empty() && !keyring.roles(NEW).is_empty());
        for broken in ["agent:short\n", "# nothing\n"] {
            std::fs::write(&path, broken).expect("break");
            assert!(keyring.reload().is_err(), "{broken:?} accepted");
            assert!(
                !keyring.roles(NEW).is_empty(),
                "{broken:?} dropped the tokens in force"
            );
        }
    }

    #[test]
    fn environment_tokens_survive_a_reload_of_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("agent:{OLD}\n")).expect("write");
        let env = Tokens::parse_env(&format!("ingest:{NEW}")).expect("env");
        let keyring = Keyring::load(Some(path), Some(env))
            .expect("loads")
            .expect("some");
        keyring.reload().expect("reloads");
        assert!(!keyring.roles(NEW).is_empty());
    }
}
