//! Group commit: callers that need their writes durable wait here; one
//! background thread flushes sled once for everyone who is waiting, so N
//! concurrent requests cost one fsync, not N.

use std::sync::{mpsc, Arc};
use std::thread;

use tokio::sync::oneshot;

/// How writes are made durable before an RPC is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Batch concurrent waiters into one flush (the default).
    #[default]
    GroupCommit,
    /// Flush once per write: the baseline group commit is measured against.
    FlushPerWrite,
}

type Waiter = oneshot::Sender<Result<(), String>>;

/// Hands out durability: `wait().await` returns once every write made
/// before the call is on disk.
#[derive(Debug, Clone)]
pub(crate) struct Committer {
    mode: Durability,
    db: sled::Db,
    flusher: Arc<Flusher>,
}

/// The flusher thread. Dropping the last handle closes its queue and joins
/// it, so its `Db` clone is gone (and sled's file lock released) when the
/// store is dropped: the directory can be reopened at once.
#[derive(Debug)]
struct Flusher {
    waiters: Option<mpsc::Sender<Waiter>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.waiters.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("group commit thread panicked");
            }
        }
    }
}

impl Committer {
    /// Starts the flusher thread. It ends when the last `Committer` clone drops.
    pub(crate) fn start(db: sled::Db, mode: Durability) -> std::io::Result<Committer> {
        let (waiters, queue) = mpsc::channel::<Waiter>();
        let flusher_db = db.clone();
        let thread = thread::Builder::new()
            .name("triage-group-commit".into())
            .spawn(move || flush_loop(&flusher_db, &queue))?;
        let flusher = Arc::new(Flusher {
            waiters: Some(waiters),
            thread: Some(thread),
        });
        Ok(Committer { mode, db, flusher })
    }

    /// Waits until all writes made before this call are durable.
    pub(crate) async fn wait(&self) -> Result<(), String> {
        match self.mode {
            Durability::GroupCommit => {
                let (done, wait) = oneshot::channel();
                self.flusher
                    .waiters
                    .as_ref()
                    .ok_or_else(|| "group commit thread stopped".to_string())?
                    .send(done)
                    .map_err(|_| "group commit thread stopped".to_string())?;
                wait.await
                    .map_err(|_| "group commit thread stopped".to_string())?
            }
            Durability::FlushPerWrite => {
                let db = self.db.clone();
                tokio::task::spawn_blocking(move || db.flush().map(drop))
                    .await
                    .map_err(|err| err.to_string())?
                    .map_err(|err| err.to_string())
            }
        }
    }
}

/// Takes every waiter that has arrived, flushes once, answers them all.
/// Writers that arrive during a flush form the next batch.
fn flush_loop(db: &sled::Db, queue: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let outcome = db.flush().map(drop).map_err(|err| err.to_string());
        if let Err(err) = &outcome {
            tracing::error!(error = %err, "flush failed; failing {} requests", batch.len());
        }
        for waiter in batch {
            // A waiter whose request was cancelled has gone; nothing to tell.
            let _ = waiter.send(outcome.clone());
        }
    }
}
