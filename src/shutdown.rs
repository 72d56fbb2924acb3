//! Shutdown as a value: one [`ShutdownTrigger`] says "stop", any number of
//! [`Shutdown`] handles (background loops, watch streams) hear it.

use tokio::sync::watch;

/// Fires the shutdown.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// Waits for the shutdown. Clone one per task.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// A connected trigger and handle.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    /// Tells every handle to stop.
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    /// Resolves once the shutdown fired (or its trigger is gone).
    pub async fn wait(&mut self) {
        // An error means the trigger was dropped: treat it as a shutdown.
        let _ = self.receiver.wait_for(|stopped| *stopped).await;
    }
}
