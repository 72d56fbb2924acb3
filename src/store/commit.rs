//! Group commit: callers that need their writes durable wait here; one
//! background thread flushes sled once for everyone who is waiting, so N
//! concurrent requests cost one fsync, not N.

use std::path::Path;
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
    disk: Disk,
    flusher: Arc<Flusher>,
}

/// What one durable flush needs: sled's own flush writes its buffers with
/// `sync_file_range`, which neither persists file metadata nor flushes the
/// drive's write cache, so an `fdatasync` of sled's data file follows it
/// (fsync applies to the file, whichever descriptor asks).
#[derive(Debug, Clone)]
struct Disk {
    db: sled::Db,
    data_file: Arc<std::fs::File>,
}

impl Disk {
    fn flush(&self) -> Result<(), String> {
        self.db.flush().map_err(|err| err.to_string())?;
        self.data_file.sync_data().map_err(|err| err.to_string())
    }
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
    pub(crate) fn start(db: sled::Db, dir: &Path, mode: Durability) -> std::io::Result<Committer> {
        let data_file = Arc::new(std::fs::File::open(dir.join("db"))?);
        let disk = Disk { db, data_file };
        let (waiters, queue) = mpsc::channel::<Waiter>();
        let flusher_disk = disk.clone();
        let thread = thread::Builder::new()
            .name("triage-group-commit".into())
            .spawn(move || flush_loop(&flusher_disk, &queue))?;
        let flusher = Arc::new(Flusher {
            waiters: Some(waiters),
            thread: Some(thread),
        });
        Ok(Committer { mode, disk, flusher })
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
                let disk = self.disk.clone();
                tokio::task::spawn_blocking(move || disk.flush())
                    .await
                    .map_err(|err| err.to_string())?
            }
        }
    }
}

/// Takes every waiter that has arrived, flushes once, answers them all.
/// Writers that arrive during a flush form the next batch.
fn flush_loop(disk: &Disk, queue: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let outcome = disk.flush();
        if let Err(err) = &outcome {
            tracing::error!(error = %err, "flush failed; failing {} requests", batch.len());
        }
        for waiter in batch {
            // A waiter whose request was cancelled has gone; nothing to tell.
            let _ = waiter.send(outcome.clone());
        }
    }
}
