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
//! changed. A failure poisons the open database: no later write is
//! acknowledged, because the kernel may have dropped the pages that failed.
//! When the failure was a full disk, the store reopens the database once
//! there is room again (`Store::reopen`); any other failure waits for an
//! operator.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::thread;
use std::time::Instant;

use tokio::sync::oneshot;

use crate::events::{EventBus, QueueEvent};
use crate::store::{StoreError, StoreObserver};

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
    poisoned: OnceLock<Poison>,
    /// Hears of every round once set (metrics).
    observer: OnceLock<Arc<dyn StoreObserver>>,
    /// Held for a whole round, so rounds publish in the order they took
    /// their events.
    round: Mutex<()>,
    /// Queue events of committed changes, published once durable.
    announcements: Announcements,
}

/// Queue events in commit order: recorded as each transaction commits,
/// published by the durable round that covers it. An event whose round
/// fails is never published (its change was never acknowledged).
#[derive(Debug, Default)]
struct Announcements {
    /// Held across a transaction and the recording of its events, so
    /// events are recorded in the order their transactions committed.
    order: Mutex<()>,
    /// Events of committed changes not yet durable, in commit order.
    pending: Mutex<Vec<QueueEvent>>,
    /// Where they go; until set, nobody listens and they are dropped.
    bus: OnceLock<EventBus>,
}

/// How a durable round failed: in sled's writing of its buffers, or in
/// the syncs after it.
struct RoundFailure {
    error: std::io::Error,
    in_write: bool,
}

/// Why a durable round failed.
#[derive(Debug)]
struct Poison {
    reason: String,
    /// The disk (or a quota) was full, rather than a device error: the
    /// database may be reopened once there is room (it then reads back
    /// what the disk holds; nothing acknowledged depended on this round).
    full: bool,
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
            round: Mutex::new(()),
            announcements: Announcements::default(),
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
        let _round = self.round.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Every event taken here belongs to a transaction that committed
        // before this round began, so the round makes it durable.
        let ready = std::mem::take(
            &mut *self
                .announcements
                .pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if let Some(poison) = self.poisoned.get() {
            return Err(format!(
                "store is poisoned by an earlier failure: {}",
                poison.reason
            ));
        }
        let started = Instant::now();
        let outcome = self.make_durable();
        if let Some(observer) = self.observer.get() {
            observer.flushed(writes, started.elapsed());
        }
        if outcome.is_ok() {
            if let Some(bus) = self.announcements.bus.get() {
                bus.publish(ready);
            }
        }
        outcome.map_err(|failure| {
            let reason = failure.error.to_string();
            // Only when sled's own write found no room: a full disk reported
            // by a sync means writeback failed, and the kernel may have
            // dropped pages that a reopened database would read back.
            let full = failure.in_write
                && matches!(
                    failure.error.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                );
            if full {
                tracing::error!(error = %reason, "the disk is full; the store accepts no writes until it has room again");
            } else {
                tracing::error!(error = %reason, "making writes durable failed; the store accepts no more writes until restarted");
            }
            self.poisoned.get_or_init(|| Poison {
                reason: reason.clone(),
                full,
            });
            reason
        })
    }

    fn make_durable(&self) -> Result<(), RoundFailure> {
        self.db.flush().map_err(|err| RoundFailure {
            error: match err {
                sled::Error::Io(io) => io,
                other => std::io::Error::other(other),
            },
            in_write: true,
        })?;
        let synced = (|| {
            let mut dirs = self.dirs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            for dir in dirs.iter_mut() {
                sync_new_files(dir)?;
            }
            self.log_file.sync_data()
        })();
        synced.map_err(|error| RoundFailure {
            error,
            in_write: false,
        })
    }

    fn poison(&self) -> Option<&Poison> {
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

    /// Runs `commit` (one transaction) with no other transaction of this
    /// store committing meanwhile, and records the queue events
    /// `events_of` finds in its outcome: events are published in commit
    /// order, by the durable round that covers them.
    pub(crate) fn in_order<T>(
        &self,
        commit: impl FnOnce() -> Result<T, StoreError>,
        events_of: impl FnOnce(&T) -> Vec<QueueEvent>,
    ) -> Result<T, StoreError> {
        let announcements = &self.disk.announcements;
        let _order = announcements
            .order
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A poisoned database takes no more changes: none could be
        // acknowledged, and one that reached the disk anyway would go
        // unannounced.
        self.health().map_err(StoreError::Durability)?;
        let outcome = commit()?;
        if announcements.bus.get().is_some() {
            let events = events_of(&outcome);
            if !events.is_empty() {
                announcements
                    .pending
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .extend(events);
            }
        }
        Ok(outcome)
    }

    /// After a write failed with `err`: when it is a storage failure, runs
    /// a durable round, so a database that sled has given up on (its
    /// background write found the disk full, say) poisons the store with
    /// the cause, and health says so, instead of failing writes while
    /// health stays good. Returns the error to report.
    pub(crate) async fn confirm(&self, err: StoreError) -> StoreError {
        if !matches!(err, StoreError::Storage(_)) {
            return err;
        }
        match self.wait().await {
            Ok(()) => err,
            Err(reason) => StoreError::Durability(reason),
        }
    }

    /// Publishes the queue events of every change from now on to `bus`;
    /// the first bus set stays.
    pub(crate) fn publish_to(&self, bus: EventBus) {
        let _ = self.disk.announcements.bus.set(bus);
    }

    /// `Err` with the reason once a durable round has failed.
    pub(crate) fn health(&self) -> Result<(), String> {
        match self.disk.poison() {
            Some(poison) => Err(poison.reason.clone()),
            None => Ok(()),
        }
    }

    /// Whether the failed round failed for want of space (so the database
    /// may be reopened once there is room); `false` while healthy.
    pub(crate) fn failed_for_space(&self) -> bool {
        self.disk.poison().is_some_and(|poison| poison.full)
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
