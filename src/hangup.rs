//! SIGHUP as a stream, for the reloads it triggers (TLS certificates,
//! tokens). The handler is installed when [`Hangups::install`] is called:
//! installing it inside a task that has not run yet would leave a window in
//! which a SIGHUP ends the process (its default action).

/// The SIGHUPs this process receives; never any where signals do not exist.
#[derive(Debug)]
pub struct Hangups {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangups {
    /// Starts listening for SIGHUP; if that fails, logs `fallback` (what
    /// still works without it) and never reports one.
    pub fn install(fallback: &str) -> Hangups {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let signal = match signal(SignalKind::hangup()) {
                Ok(signal) => Some(signal),
                Err(err) => {
                    tracing::error!(error = %err, "cannot listen for SIGHUP; {fallback}");
                    None
                }
            };
            Hangups { signal }
        }
        #[cfg(not(unix))]
        {
            let _ = fallback;
            Hangups {}
        }
    }

    /// Resolves at the next SIGHUP (never, without a handler).
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}
