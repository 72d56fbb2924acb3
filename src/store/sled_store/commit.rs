//! Group commit: callers that need their writes durable wait here; one
//! background thread makes everything durable once for everyone waiting,
//! so N concurrent requests cost one round of fsyncs, not N.
//!
//! "Durable" means power-loss safe, not only kill -9 safe: sled's own flush
//! writes its buffers with `sync_file_range`, which neither persists file
//! metadata nor flushes the drive's cache, and never syncs a directory. So
//! after it, [`Disk::make_durable`] fdatasyncs the log file, fsyncs every
//! file sled created in the data directory since the last round (blob
//! files, the config, snapshots) and then every directory whose entries
//! changed. A failure poisons the store: no later write is acknowledged,
//! because the kernel may have dropped the pages that failed.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::store::StoreObserver;

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
    disk: Arc<Disk>,
    flusher: Arc<Flusher>,
}

/// Everything one durable round needs, and what earlier rounds synced.
#[derive(Debug)]
struct Disk {
    db: sled::Db,
    log_file: File,
    /// Directories whose files sled may create, with the names last synced.
    dirs: Mutex<Vec<SyncedDir>>,
    /// Set once a round failed; every later wait fails with it.
    poisoned: OnceLock<String>,
    /// Hears of every round once set (metrics).
    observer: OnceLock<Arc<dyn StoreObserver>>,
}

#[derive(Debug)]
struct SyncedDir {
    path: PathBuf,
    names: BTreeSet<std::ffi::OsString>,
}

impl Disk {
    fn open(db: sled::Db, dir: &Path) -> std::io::Result<Disk> {
        let log_file = File::open(dir.join("db"))?;
        let dirs = [dir.to_path_buf(), dir.join("blobs")]
            .into_iter()
            .map(|path| SyncedDir {
                path,
                names: BTreeSet::new(),
            })
            .collect();
        let disk = Disk {
            db,
            log_file,
            dirs: Mutex::new(dirs),
            poisoned: OnceLock::new(),
            observer: OnceLock::new(),
        };
        // The data directory itself may be new: make its entry durable too.
        if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(disk)
    }

    /// One durable round for `writes` waiting writes, or the poison of an
    /// earlier failed one.
    fn flush(&self, writes: usize) -> Result<(), String> {
        if let Some(reason) = self.poisoned.get() {
            return Err(format!("store is poisoned by an earlier failure: {reason}"));
        }
        let started = Instant::now();
        let outcome = self.make_durable();
        if let Some(observer) = self.observer.get() {
            observer.flushed(writes, started.elapsed());
        }
        outcome.map_err(|err| {
            let reason = err.to_string();
            tracing::error!(error = %reason, "making writes durable failed; the store accepts no more writes until restarted");
            self.poisoned.get_or_init(|| reason.clone());
            reason
        })
    }

    fn make_durable(&self) -> std::io::Result<()> {
        self.db.flush().map_err(std::io::Error::other)?;
        let mut dirs = self.dirs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for dir in dirs.iter_mut() {
            sync_new_files(dir)?;
        }
        self.log_file.sync_data()
    }

    fn poison(&self) -> Option<&String> {
        self.poisoned.get()
    }
}

/// Fsyncs every regular file in `dir` not synced by an earlier round, then
/// the directory itself if its entries changed. sled writes a file under
/// `blobs/` only for a record over its blob threshold, which the store's
/// layout avoids; this keeps even such a file safe.
fn sync_new_files(dir: &mut SyncedDir) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(&dir.path) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_file() && !dir.names.contains(&name) && name != "db" {
            File::open(entry.path())?.sync_all()?;
        }
        names.insert(name);
    }
    if names != dir.names {
        sync_dir(&dir.path)?;
        dir.names = names;
    }
    Ok(())
}

/// Creates `dir` and any missing ancestors, and makes each new entry
/// durable by syncing the directory that holds it.
pub(crate) fn create_dir_durably(dir: &Path) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|path| !path.exists()).collect();
    std::fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()
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

const STOPPED: &str = "group commit thread stopped";

impl Committer {
    /// Starts the flusher thread. It ends when the last `Committer` clone drops.
    pub(crate) fn start(db: sled::Db, dir: &Path, mode: Durability) -> std::io::Result<Committer> {
        let disk = Arc::new(Disk::open(db, dir)?);
        // Whatever sled wrote while opening (config, an empty log) is made
        // durable before the first write is acknowledged.
        disk.flush(0).map_err(std::io::Error::other)?;
        let (waiters, queue) = mpsc::channel::<Waiter>();
        let flusher_disk = Arc::clone(&disk);
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
                    .ok_or_else(|| STOPPED.to_string())?
                    .send(done)
                    .map_err(|_| STOPPED.to_string())?;
                wait.await.map_err(|_| STOPPED.to_string())?
            }
            Durability::FlushPerWrite => {
                let disk = Arc::clone(&self.disk);
                tokio::task::spawn_blocking(move || disk.flush(1))
                    .await
                    .map_err(|err| err.to_string())?
            }
        }
    }

    /// Makes everything written so far, `writes` writes, durable on this
    /// thread (for start-up and the ingest writer).
    pub(crate) fn flush_now(&self, writes: usize) -> Result<(), String> {
        self.disk.flush(writes)
    }

    /// Reports every durable round to `observer` from now on; the first
    /// observer set stays.
    pub(crate) fn observe(&self, observer: Arc<dyn StoreObserver>) {
        let _ = self.disk.observer.set(observer);
    }

    /// `Err` with the reason once a durable round has failed.
    pub(crate) fn health(&self) -> Result<(), String> {
        match self.disk.poison() {
            Some(reason) => Err(reason.clone()),
            None => Ok(()),
        }
    }
}

/// Takes every waiter that has arrived, makes everything durable once,
/// answers them all. Writers that arrive during a round form the next one.
fn flush_loop(disk: &Disk, queue: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter());
        let outcome = disk.flush(batch.len());
        for waiter in batch {
            // A waiter whose request was cancelled has gone; nothing to tell.
            let _ = waiter.send(outcome.clone());
        }
    }
}
