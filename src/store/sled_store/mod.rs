//! The embedded backend: [`TicketStore`] on sled, the only module that
//! knows sled.
//!
//! Layout (format [`FORMAT_VERSION`], in `DATA_DIR/v2`): a ticket's input is
//! written once in small chunks, its state is a small record, its history
//! one record per entry, so a lease operation rewrites a few hundred bytes,
//! never the body; every record and leaf page stays far below sled's blob
//! threshold. Queues are ordered by (priority, ticket id), never by the wall
//! clock; per-queue counters change in the same transaction as the queue,
//! so queue statistics do not scan queues. See [`tx::Trees`] for every tree.
//!
//! Every verb is one transaction; its blocking half runs on tokio's blocking
//! pool and the async half waits for the group commit, which makes writes
//! durable against power loss (see `commit`).

mod batch;
mod commit;
mod keys;
mod migrate;
mod records;
mod requeue;
mod rollups;
#[cfg(test)]
mod tests;
mod tx;
mod verify;
mod workflow;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::oneshot;

pub use commit::Durability;

use super::{
    ClaimRequest, ConsistencyReport, CustomerCursor, EscalationPolicies, FollowUpPlan, Ingested, QueueCursor,
    QueueStats, RollupRow, StoreError, StoreObserver, TicketIter, TicketStore, Transition,
};
use crate::clock::UnixMicros;
use crate::events::{EventBus, QueueEvent, QueueEventKind};
use crate::rules::{CustomerHistory, PriorTicket};
use crate::store::codec::new_ticket;
use crate::store::verbs::event;
use crate::ticket::{Classification, HistoryEntry, Relabel, Ticket, TicketId, TicketInput};
use commit::Committer;
use records::{JourneyEntry, Working};
use tx::{storage, Counts, Trees};
use workflow::LeaseVerb;

/// The on-disk format this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// sled's log segment size. sled writes any log message over a quarter of
/// a segment to a separate blob file; at 4 MiB that is 1 MiB, far above
/// the largest record or leaf page this layout writes.
const SEGMENT_BYTES: usize = 4 << 20;

/// Options for opening a store.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreOptions {
    /// How acknowledged writes are made durable.
    pub durability: Durability,
    /// sled page-cache size in bytes (sled's default when `None`).
    pub cache_bytes: Option<u64>,
}

/// The sled-backed store. Cheap to clone; clones share the database.
#[derive(Debug, Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// What every clone of a [`Store`] shares: the open database, which
/// [`TicketStore::recover`] replaces after a storage failure.
#[derive(Debug)]
struct Shared {
    /// The data directory, to reopen.
    dir: PathBuf,
    options: StoreOptions,
    /// The open database; `None` while it is being reopened.
    current: RwLock<Option<Arc<Inner>>>,
    /// Hears of every durable round, on each database opened.
    observer: OnceLock<Arc<dyn StoreObserver>>,
    /// Where each database opened publishes its queue events.
    bus: OnceLock<EventBus>,
    /// Held by the one reopen under way.
    reopening: Mutex<()>,
}

/// The store's state; its methods are the blocking halves of the verbs.
#[derive(Debug)]
pub(crate) struct Inner {
    /// Declared first so it stops (and lets go of its trees) first.
    batcher: batch::Batcher,
    db: sled::Db,
    trees: Trees,
    committer: Committer,
    /// Added to sled's id generator: ids continue above migrated tickets.
    id_offset: u64,
    /// Serialises claims so concurrent claimers do not all race for the same
    /// head entry and retry; correctness does not depend on it.
    claim_lock: Mutex<()>,
    /// Set when the store is about to reopen: ticket scans stop.
    retired: AtomicBool,
}

/// Where format-2 stores keep their sled files inside the data directory.
fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("v2")
}

impl Store {
    /// Whether `dir` holds a store (of this format or format 1) that
    /// [`open`](Self::open) would open rather than create.
    pub fn exists_in(dir: &Path) -> bool {
        store_dir(dir).join("conf").is_file() || dir.join("conf").is_file()
    }

    /// Opens (or creates) the store in `dir`, migrating a format-1 store
    /// found there (its files are left in place).
    pub fn open(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let inner = Inner::open(dir, options)?;
        Ok(Store {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                options,
                current: RwLock::new(Some(Arc::new(inner))),
                observer: OnceLock::new(),
                bus: OnceLock::new(),
                reopening: Mutex::new(()),
            }),
        })
    }

    /// The open database, or a [`StoreError::Storage`] (UNAVAILABLE)
    /// while it is being reopened.
    fn inner(&self) -> Result<Arc<Inner>, StoreError> {
        self.shared
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or_else(|| StoreError::Storage(REOPENING.into()))
    }

    /// Runs a blocking half of a verb on the blocking pool. It runs to the
    /// end even if the caller goes away, so its transaction never half-happens.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_blocking(self.inner()?, work).await
    }

    /// A write's blocking half, then the wait for durability.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.write_if(work, |_| true).await
    }

    /// A write's blocking half, then, if `changed` says it wrote anything,
    /// the wait for durability.
    async fn write_if<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
        changed: impl FnOnce(&T) -> bool,
    ) -> Result<T, StoreError> {
        // One database for the write and its wait: a reopen in between
        // must not answer for a write the old one may have lost.
        let inner = self.inner()?;
        inner.committer.health().map_err(StoreError::Durability)?;
        let outcome = match run_blocking(Arc::clone(&inner), work).await {
            Ok(outcome) => outcome,
            Err(err) => return Err(inner.committer.confirm(err).await),
        };
        if changed(&outcome) {
            inner.committer.wait().await.map_err(StoreError::Durability)?;
        }
        Ok(outcome)
    }

    /// Closes the failed database and opens the directory again, once no
    /// call is using it. Only writes that were made durable were
    /// acknowledged, so reopening loses nothing acknowledged: it is the
    /// restart the failure would otherwise need.
    fn reopen(&self) -> Result<(), String> {
        let Ok(_only_one) = self.shared.reopening.try_lock() else {
            return Err(REOPENING.into());
        };
        if let Ok(current) = self.inner() {
            if current.committer.health().is_ok() {
                return Ok(());
            }
            if !current.committer.failed_for_space() {
                return Err("the store failed for a reason other than a full disk; restart it once the disk is checked".into());
            }
        }
        probe_free_space(&store_dir(&self.shared.dir))?;
        // Empty the slot: calls fail fast while the database reopens, and
        // long readers (ticket scans) of the failed one stop at their next
        // ticket.
        if let Some(failed) = self.replace_current(None) {
            failed.retired.store(true, Ordering::Release);
            match wait_until_unused(failed) {
                // Dropping it joins its threads and closes its files.
                Ok(inner) => drop(inner),
                Err(still_used) => {
                    self.replace_current(Some(still_used));
                    return Err("the failed database is still in use; will try again".into());
                }
            }
        }
        // On failure the slot stays empty and the next call tries again.
        let inner = Inner::open(&self.shared.dir, self.shared.options).map_err(|err| err.to_string())?;
        if let Some(observer) = self.shared.observer.get() {
            inner.committer.observe(Arc::clone(observer));
        }
        if let Some(bus) = self.shared.bus.get() {
            inner.committer.publish_to(bus.clone());
        }
        self.replace_current(Some(Arc::new(inner)));
        Ok(())
    }

    /// Puts `inner` in the slot and returns what was there.
    fn replace_current(&self, inner: Option<Arc<Inner>>) -> Option<Arc<Inner>> {
        let mut slot = self
            .shared
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut *slot, inner)
    }
}

/// The database itself once every call that took it before a reopen has
/// let go of it (they fail fast on its poison), or back after
/// [`REOPEN_PATIENCE`].
fn wait_until_unused(mut inner: Arc<Inner>) -> Result<Inner, Arc<Inner>> {
    let deadline = std::time::Instant::now() + REOPEN_PATIENCE;
    loop {
        match Arc::try_unwrap(inner) {
            Ok(unused) => return Ok(unused),
            Err(used) if std::time::Instant::now() < deadline => {
                inner = used;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(used) => return Err(used),
        }
    }
}

/// What calls get while the database is being reopened.
const REOPENING: &str = "the store is reopening after a storage failure";

/// How long a reopen waits for calls still using the failed database.
const REOPEN_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Free space a reopen needs first: two log segments. Reopening sooner
/// would fail the first write again.
const PROBE_BYTES: usize = 2 * SEGMENT_BYTES;

/// Writes and syncs [`PROBE_BYTES`] in `dir`, then removes them: `Err`
/// while the disk (or a quota) has no room.
fn probe_free_space(dir: &Path) -> Result<(), String> {
    use std::io::Write;
    let probe = dir.join("space-probe");
    let written = std::fs::File::create(&probe).and_then(|mut file| {
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    });
    let removed = std::fs::remove_file(&probe);
    written.map_err(|err| format!("no room to reopen the store yet: {err}"))?;
    removed.map_err(|err| format!("cannot remove {}: {err}", probe.display()))
}

/// Runs `work` against `inner` on the blocking pool. It runs to the end
/// even if the caller goes away, so its transaction never half-happens.
async fn run_blocking<T: Send + 'static>(
    inner: Arc<Inner>,
    work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(move || work(&inner))
        .await
        .map_err(|err| StoreError::Storage(format!("store task failed: {err}")))?
}

impl Inner {
    /// Opens (or creates) the database in `dir`, migrating a format-1
    /// store found there, and starts its writer threads.
    fn open(dir: &Path, options: StoreOptions) -> Result<Inner, StoreError> {
        let sled_dir = store_dir(dir);
        commit::create_dir_durably(&sled_dir)
            .map_err(|err| StoreError::Storage(format!("cannot create {}: {err}", sled_dir.display())))?;
        let mut config = sled::Config::new()
            .path(&sled_dir)
            .segment_size(SEGMENT_BYTES)
            .flush_every_ms(None);
        if let Some(bytes) = options.cache_bytes {
            config = config.cache_capacity(bytes);
        }
        let db = config.open().map_err(storage)?;
        let committer = Committer::start(db.clone(), &sled_dir, options.durability)
            .map_err(|err| StoreError::Durability(err.to_string()))?;
        let trees = Trees::open(&db)?;
        let id_offset = migrate::prepare(dir, &trees)?;
        let batcher = batch::Batcher::start(trees.clone(), committer.clone())
            .map_err(|err| StoreError::Storage(format!("cannot start the ingest writer: {err}")))?;
        let inner = Inner {
            batcher,
            db,
            trees,
            committer,
            id_offset,
            claim_lock: Mutex::new(()),
            retired: AtomicBool::new(false),
        };
        inner.ensure_rollups()?;
        inner.committer.flush_now(0).map_err(StoreError::Durability)?;
        Ok(inner)
    }

    pub(crate) fn next_id(&self) -> Result<TicketId, StoreError> {
        let id = self.db.generate_id().map_err(storage)?;
        Ok(TicketId(id.saturating_add(self.id_offset)))
    }

    /// A new ticket from an ingest, encoded for the writer.
    fn prepare_ingest(
        &self,
        input: TicketInput,
        classification: Classification,
        now: UnixMicros,
    ) -> Result<(Ticket, batch::IngestJob, oneshot::Receiver<batch::Stored>), StoreError> {
        let id = self.next_id()?;
        let ticket = new_ticket(id, input, classification, now);
        let (reply, stored) = oneshot::channel();
        let job = batch::IngestJob {
            idempotency_key: keys::idempotency(&ticket.input.source, &ticket.input.external_id),
            laid: layout::Laid::of(&ticket)?,
            added: event(QueueEventKind::Added, id, &ticket.classification.queue, now),
            reply,
        };
        Ok((ticket, job, stored))
    }

    /// One ticket with its input and history.
    fn load(&self, id: TicketId) -> Result<Ticket, StoreError> {
        let Some(bytes) = self.trees.tickets.get(keys::ticket(id)).map_err(storage)? else {
            return Err(StoreError::NotFound(id));
        };
        let mut record: records::StateRecord = records::decode(&format!("ticket {id}"), &bytes)?;
        let mut input_bytes = Vec::new();
        for entry in self.trees.inputs.scan_prefix(keys::ticket(id)) {
            let (_, chunk) = entry.map_err(storage)?;
            input_bytes.extend_from_slice(&chunk);
        }
        let input = records::attach_ingest(id, &input_bytes, &mut record)?;
        let history = self.history(id)?;
        Ok(records::assemble(id, input, record, history))
    }

    fn history(&self, id: TicketId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.trees
            .history
            .scan_prefix(keys::ticket(id))
            .map(|entry| {
                let (_, bytes) = entry.map_err(storage)?;
                records::decode(&format!("ticket {id} history"), &bytes)
            })
            .collect()
    }

    /// The API's view of a ticket just changed in a transaction.
    /// Never fails: the change is committed, so a history that cannot be
    /// read is logged and the answer carries the entries this change wrote.
    fn transition(&self, ticket: Working, events: Vec<QueueEvent>) -> Result<Transition, StoreError> {
        let history = self.history(ticket.id).unwrap_or_else(|err| {
            tracing::error!(ticket = %ticket.id, error = %err, "history unreadable after a committed change");
            Vec::new()
        });
        Ok(Transition {
            ticket: ticket.into_ticket(history),
            events,
        })
    }

    fn list_queue(
        &self,
        queue: &str,
        limit: usize,
        cursor: Option<QueueCursor>,
    ) -> Result<(Vec<Ticket>, Option<QueueCursor>), StoreError> {
        let prefix = keys::queue_prefix(queue);
        let mut end = prefix.clone();
        end.push(u8::MAX);
        let start = match cursor {
            Some(cursor) => {
                std::ops::Bound::Excluded(keys::queue_entry_at(queue, cursor.rank(), cursor.id()))
            }
            None => std::ops::Bound::Included(prefix.clone()),
        };
        let mut tickets = Vec::with_capacity(limit.min(512));
        for entry in self.trees.queues.range((start, std::ops::Bound::Excluded(end))) {
            if tickets.len() == limit {
                break;
            }
            let (key, _) = entry.map_err(storage)?;
            let Some(id) = keys::ticket_id_from_tail(&key) else {
                continue;
            };
            match self.load(id) {
                Ok(ticket) => tickets.push(ticket),
                Err(err) if tx::is_unreadable(&err) => {
                    tracing::error!(queue, ticket = %id, error = %err, "unreadable ticket skipped in a listing");
                }
                Err(err) => return Err(err),
            }
        }
        let next = (tickets.len() == limit)
            .then(|| tickets.last().map(QueueCursor::after))
            .flatten();
        Ok((tickets, next))
    }

    fn queue_stats(&self, queue: &str, now: UnixMicros) -> Result<QueueStats, StoreError> {
        let counts = self
            .trees
            .counters
            .get(queue.as_bytes())
            .map_err(storage)?
            .map(|bytes| Counts::decode(&bytes))
            .unwrap_or_default();
        let mut stats = QueueStats {
            depth: counts.waiting,
            leased: counts.leased,
            ..QueueStats::default()
        };
        let prefix = keys::queue_prefix(queue);
        for rank in 0..=3u8 {
            let mut rank_prefix = prefix.clone();
            rank_prefix.push(rank);
            if let Some(first) = self.trees.queues.scan_prefix(&rank_prefix).next() {
                let (_, value) = first.map_err(storage)?;
                if let Some(enqueued) = keys::time_from(&value) {
                    stats.oldest_enqueued_at =
                        Some(stats.oldest_enqueued_at.map_or(enqueued, |o| o.min(enqueued)));
                }
            }
        }
        let mut until = prefix.clone();
        until.extend_from_slice(&keys::time(now));
        until.push(u8::MAX);
        for entry in self.trees.queue_deadlines.range(prefix..until) {
            let (_, due) = entry.map_err(storage)?;
            match keys::time_from(&due) {
                Some(due) if now >= due => stats.breached += 1,
                Some(_) => stats.at_risk += 1,
                None => {}
            }
        }
        Ok(stats)
    }

    /// A customer's index entries, newest first, older than `cursor`. An
    /// empty customer id has no entries (tickets without a customer are not
    /// indexed).
    fn customer_entries(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> {
        let take = if customer_id.is_empty() { 0 } else { limit };
        let prefix = keys::customer_prefix(customer_id);
        let end = match cursor {
            Some(cursor) => {
                let mut end = prefix.clone();
                end.extend_from_slice(&keys::time(cursor.ingested_at()));
                end.extend_from_slice(&cursor.id().0.to_be_bytes());
                end
            }
            None => {
                let mut end = prefix.clone();
                end.extend_from_slice(&[u8::MAX; 17]);
                end
            }
        };
        self.trees
            .customers
            .range(prefix..end)
            .rev()
            .take(take)
            .map(|entry| entry.map_err(storage))
    }

    fn customer_history(&self, customer_id: &str, limit: usize) -> Result<CustomerHistory, StoreError> {
        let mut tickets = Vec::new();
        for entry in self.customer_entries(customer_id, usize::MAX, None) {
            if tickets.len() == limit {
                break;
            }
            let (_, value) = entry?;
            let journey: JourneyEntry = records::decode("customer journey entry", &value)?;
            if journey.follow_up {
                continue;
            }
            tickets.push(PriorTicket {
                ingested_at: journey.ingested_at,
                side: journey.side,
                category: journey.category,
                open: journey.open,
            });
        }
        Ok(CustomerHistory { tickets })
    }

    /// Whether the customer has a contact (not a follow-up) ingested after `after`.
    pub(crate) fn contacted_after(&self, customer_id: &str, after: UnixMicros) -> Result<bool, StoreError> {
        if customer_id.is_empty() {
            return Ok(false);
        }
        let prefix = keys::customer_prefix(customer_id);
        let mut start = prefix.clone();
        start.extend_from_slice(&keys::time(UnixMicros(after.0.saturating_add(1))));
        let mut end = prefix;
        end.extend_from_slice(&[u8::MAX; 17]);
        for entry in self.trees.customers.range(start..end) {
            let (_, value) = entry.map_err(storage)?;
            let journey: JourneyEntry = records::decode("customer journey entry", &value)?;
            if !journey.follow_up {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
    ) -> Result<(Vec<Ticket>, Option<CustomerCursor>), StoreError> {
        let tickets = self
            .customer_entries(customer_id, limit, cursor)
            .map(|entry| {
                let (key, _) = entry?;
                let id = keys::ticket_id_from_tail(&key)
                    .ok_or_else(|| records::corrupt("customer entry", "short key"))?;
                self.load(id)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = (tickets.len() == limit)
            .then(|| tickets.last().map(CustomerCursor::after))
            .flatten();
        Ok((tickets, next))
    }
}

/// Writing a whole ticket's records and index entries (ingest, migration).
mod layout {
    use super::keys;
    use super::records::{self, JourneyEntry, StateRecord};
    use super::tx::{Tx, TxResult};
    use crate::store::rollup::Contribution;
    use crate::store::StoreError;
    use crate::ticket::{HistoryEntry, Ticket, TicketId, TicketState};

    /// A ticket encoded and ready to insert.
    pub(crate) struct Laid {
        id: TicketId,
        chunks: Vec<Vec<u8>>,
        record: StateRecord,
        history: Vec<HistoryEntry>,
        idempotency: Vec<u8>,
        customer: Option<(Vec<u8>, Vec<u8>)>,
        contribution: Option<Contribution>,
    }

    impl Laid {
        pub(crate) fn of(ticket: &Ticket) -> Result<Laid, StoreError> {
            let chunks = records::ingest_chunks(&ticket.input, &ticket.classification)?;
            let customer = if ticket.input.customer.id.is_empty() {
                None
            } else {
                Some((
                    keys::customer_entry(ticket),
                    records::encode(&JourneyEntry::of(ticket))?,
                ))
            };
            let mut record = records::state_of(ticket);
            record.input_chunks =
                u16::try_from(chunks.len()).map_err(|_| records::corrupt("ticket input", "too large"))?;
            Ok(Laid {
                id: ticket.id,
                chunks,
                record,
                history: ticket.history.clone(),
                idempotency: keys::idempotency(&ticket.input.source, &ticket.input.external_id),
                customer,
                contribution: Contribution::of(ticket),
            })
        }

        /// The ticket's id.
        pub(crate) fn id(&self) -> TicketId {
            self.id
        }

        /// Inserts the ticket and its index entries as its state says.
        pub(crate) fn insert(&self, tx: &Tx<'_>) -> TxResult<()> {
            let id = self.id;
            tx.idempotency
                .insert(self.idempotency.as_slice(), &keys::ticket(id))?;
            tx.write_input(id, &self.chunks)?;
            let mut working = super::Working {
                id,
                input: crate::ticket::TicketInput::default(),
                record: self.record.clone(),
                new_entries: self
                    .history
                    .iter()
                    .enumerate()
                    .map(|(number, entry)| (u32::try_from(number).unwrap_or(u32::MAX), entry.clone()))
                    .collect(),
            };
            match working.record.state.clone() {
                TicketState::Queued => tx.enqueue(&mut working)?,
                TicketState::Claimed(lease) => tx.lease(&mut working, lease)?,
                TicketState::Completed => {
                    let at = working.record.completed_at.unwrap_or(working.record.ingested_at);
                    tx.mark_completed(&mut working, at)?;
                }
            }
            if let Some((key, journey)) = &self.customer {
                tx.customers.insert(key.as_slice(), journey.as_slice())?;
            }
            if let Some(contribution) = &self.contribution {
                tx.add_rollup(contribution, 1)?;
            }
            tx.write(&working)
        }
    }
}

#[async_trait::async_trait]
impl TicketStore for Store {
    async fn ingest(
        &self,
        input: TicketInput,
        classification: Classification,
        now: UnixMicros,
    ) -> Result<Ingested, StoreError> {
        let inner = self.inner()?;
        inner.committer.health().map_err(StoreError::Durability)?;
        let (ticket, job, stored) = inner.prepare_ingest(input, classification, now)?;
        inner.batcher.submit(job)?;
        drop(inner);
        let earlier = stored
            .await
            .map_err(|_| StoreError::Storage("the ingest writer dropped an ingest".into()))??;
        let ingested = match earlier {
            Some(id) => Ingested {
                ticket: self.get(id).await?,
                created: false,
            },
            None => Ingested {
                ticket,
                created: true,
            },
        };
        // The writer answered after its durable round: nothing to wait for.
        Ok(ingested)
    }

    async fn get(&self, id: TicketId) -> Result<Ticket, StoreError> {
        self.blocking(move |inner| inner.load(id)).await
    }

    async fn list_queue(
        &self,
        queue: &str,
        limit: usize,
        cursor: Option<QueueCursor>,
    ) -> Result<(Vec<Ticket>, Option<QueueCursor>), StoreError> {
        let queue = queue.to_string();
        self.blocking(move |inner| inner.list_queue(&queue, limit, cursor))
            .await
    }

    async fn queues_stats(&self, queues: &[String], now: UnixMicros) -> Result<Vec<QueueStats>, StoreError> {
        let queues = queues.to_vec();
        self.blocking(move |inner| queues.iter().map(|queue| inner.queue_stats(queue, now)).collect())
            .await
    }

    async fn customer_history(&self, customer_id: &str, limit: usize) -> Result<CustomerHistory, StoreError> {
        let customer_id = customer_id.to_string();
        self.blocking(move |inner| inner.customer_history(&customer_id, limit))
            .await
    }

    async fn customer_tickets(
        &self,
        customer_id: &str,
        limit: usize,
        cursor: Option<CustomerCursor>,
    ) -> Result<(Vec<Ticket>, Option<CustomerCursor>), StoreError> {
        let customer_id = customer_id.to_string();
        self.blocking(move |inner| inner.customer_tickets(&customer_id, limit, cursor))
            .await
    }

    async fn claim_next(
        &self,
        claim: &ClaimRequest,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let claim = claim.clone();
        self.write_if(move |inner| inner.claim_next(&claim, now), Option::is_some)
            .await
    }

    async fn extend_lease(
        &self,
        id: TicketId,
        token: &str,
        lease_seconds: u32,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let token = token.to_string();
        self.write(move |inner| inner.with_lease(id, &token, LeaseVerb::Extend { lease_seconds }, now))
            .await
    }

    async fn release(
        &self,
        id: TicketId,
        token: &str,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let (token, reason) = (token.to_string(), reason.to_string());
        self.write(move |inner| inner.with_lease(id, &token, LeaseVerb::Release { reason: &reason }, now))
            .await
    }

    async fn complete(
        &self,
        id: TicketId,
        token: &str,
        resolution: &str,
        relabel: &Relabel,
        follow_up: Option<&FollowUpPlan>,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let (token, resolution, relabel) = (token.to_string(), resolution.to_string(), relabel.clone());
        let follow_up = follow_up.cloned();
        self.write(move |inner| {
            let verb = LeaseVerb::Complete {
                resolution: &resolution,
                relabel: &relabel,
                follow_up: follow_up.as_ref(),
            };
            inner.with_lease(id, &token, verb, now)
        })
        .await
    }

    async fn materialise_follow_ups(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.write_if(
            move |inner| inner.materialise_follow_ups(now),
            |changed| !changed.is_empty(),
        )
        .await
    }

    async fn rollup(&self, from: UnixMicros, until: UnixMicros) -> Result<Vec<RollupRow>, StoreError> {
        self.blocking(move |inner| inner.rollup(from, until)).await
    }

    async fn transfer(
        &self,
        id: TicketId,
        token: &str,
        to_queue: &str,
        reason: &str,
        relabel: &Relabel,
        now: UnixMicros,
    ) -> Result<Transition, StoreError> {
        let (token, to_queue, reason, relabel) = (
            token.to_string(),
            to_queue.to_string(),
            reason.to_string(),
            relabel.clone(),
        );
        self.write(move |inner| {
            let verb = LeaseVerb::Transfer {
                to_queue: &to_queue,
                reason: &reason,
                relabel: &relabel,
            };
            inner.with_lease(id, &token, verb, now)
        })
        .await
    }

    async fn expire_leases(&self, now: UnixMicros) -> Result<Vec<Transition>, StoreError> {
        self.write_if(
            move |inner| inner.expire_leases(now),
            |changed| !changed.is_empty(),
        )
        .await
    }

    async fn escalate_breaches(
        &self,
        now: UnixMicros,
        policies: &EscalationPolicies,
    ) -> Result<Vec<Transition>, StoreError> {
        let policies = policies.clone();
        self.write_if(
            move |inner| inner.escalate_breaches(now, &policies),
            |changed| !changed.is_empty(),
        )
        .await
    }

    async fn requeue(
        &self,
        id: TicketId,
        classification: &Classification,
        reason: &str,
        now: UnixMicros,
    ) -> Result<Option<Transition>, StoreError> {
        let (classification, reason) = (classification.clone(), reason.to_string());
        self.write_if(
            move |inner| inner.requeue(id, &classification, &reason, now),
            Option::is_some,
        )
        .await
    }

    async fn purge_completed(&self, before: UnixMicros) -> Result<usize, StoreError> {
        self.write_if(move |inner| inner.purge_completed(before), |purged| *purged > 0)
            .await
    }

    async fn sync(&self) -> Result<(), StoreError> {
        let inner = self.inner()?;
        inner.committer.wait().await.map_err(StoreError::Durability)
    }

    fn health(&self) -> Result<(), String> {
        self.inner().map_err(|err| err.to_string())?.committer.health()
    }

    async fn recover(&self) -> Result<(), String> {
        if self.health().is_ok() {
            return Ok(());
        }
        let store = self.clone();
        let reopened = tokio::task::spawn_blocking(move || store.reopen())
            .await
            .map_err(|err| format!("reopen task failed: {err}"))
            .and_then(|reopened| reopened);
        match &reopened {
            Ok(()) => tracing::info!("store reopened after a storage failure"),
            Err(reason) => tracing::debug!(reason = %reason, "store not reopened yet"),
        }
        reopened?;
        self.health()
    }

    fn observe(&self, observer: Arc<dyn StoreObserver>) {
        if self.shared.observer.set(Arc::clone(&observer)).is_ok() {
            if let Ok(inner) = self.inner() {
                inner.committer.observe(observer);
            }
        }
    }

    /// The sled store publishes itself, so that queue events come in
    /// commit order, each once its change is durable. Only to the first
    /// bus: a second caller publishes its own.
    fn publish_to(&self, bus: &EventBus) -> bool {
        if self.shared.bus.set(bus.clone()).is_err() {
            return false;
        }
        if let Ok(inner) = self.inner() {
            inner.committer.publish_to(bus.clone());
        }
        true
    }

    async fn verify(&self) -> Result<ConsistencyReport, StoreError> {
        self.blocking(Inner::verify).await
    }

    fn scan_tickets(&self) -> TicketIter {
        let inner = match self.inner() {
            Ok(inner) => inner,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        let tickets = inner.trees.tickets.iter();
        Box::new(tickets.map(move |entry| {
            if inner.retired.load(Ordering::Acquire) {
                return Err(StoreError::Storage(REOPENING.into()));
            }
            let (key, _) = entry.map_err(storage)?;
            let id =
                keys::ticket_id_from_head(&key).ok_or_else(|| records::corrupt("ticket key", "short"))?;
            inner.load(id)
        }))
    }

    fn ticket_count(&self) -> usize {
        self.inner().map_or(0, |inner| inner.trees.tickets.len())
    }
}
