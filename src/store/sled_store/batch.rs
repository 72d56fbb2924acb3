//! The ingest writer: one thread that stores every pending ingest in one
//! transaction and then makes it durable in one round, so N concurrent
//! ingests cost one transaction and one round of syncs instead of N
//! transactions contending for the same queue counters. It answers only
//! after the round. Idempotency stays race-free: within a batch a second
//! ingest of the same (source, external id) finds the first.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::commit::Committer;
use super::keys;
use super::layout::Laid;
use super::records;
use super::tx::{abort, Trees};
use crate::events::QueueEvent;
use crate::store::StoreError;
use crate::ticket::TicketId;

/// Most ingests stored in one transaction.
const MAX_BATCH: usize = 512;

/// What an ingest found: stored now, or stored before under this id.
pub(crate) type Stored = Result<Option<TicketId>, StoreError>;

/// One ingest waiting for the writer.
pub(crate) struct IngestJob {
    pub(crate) laid: Laid,
    /// Its event, published if this ingest stores the ticket.
    pub(crate) added: QueueEvent,
    pub(crate) idempotency_key: Vec<u8>,
    pub(crate) reply: oneshot::Sender<Stored>,
}

/// The writer thread; dropping it stops and joins the thread, so its tree
/// handles are gone when the store is.
#[derive(Debug)]
pub(crate) struct Batcher {
    jobs: Option<mpsc::Sender<IngestJob>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Batcher {
    pub(crate) fn start(trees: Trees, committer: Committer) -> std::io::Result<Batcher> {
        let (jobs, queue) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("triage-ingest-writer".into())
            .spawn(move || run(&trees, &committer, &queue))?;
        Ok(Batcher {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Hands an ingest to the writer.
    pub(crate) fn submit(&self, job: IngestJob) -> Result<(), StoreError> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| StoreError::Storage("the ingest writer has stopped".into()))
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("ingest writer thread panicked");
            }
        }
    }
}

fn run(trees: &Trees, committer: &Committer, queue: &mpsc::Receiver<IngestJob>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let added = |found: &Vec<Option<TicketId>>| -> Vec<QueueEvent> {
            batch
                .iter()
                .zip(found)
                .filter(|(_, earlier)| earlier.is_none())
                .map(|(job, _)| job.added.clone())
                .collect()
        };
        let outcome = committer.in_order(
            || {
                trees.transact(|tx| {
                    let mut stored_now: HashMap<&[u8], TicketId> = HashMap::new();
                    let mut found = Vec::with_capacity(batch.len());
                    for job in &batch {
                        let key = job.idempotency_key.as_slice();
                        if let Some(existing) = tx.idempotency.get(key)? {
                            let id = keys::ticket_id_from_head(&existing)
                                .ok_or_else(|| abort(records::corrupt("idempotency entry", "short id")))?;
                            found.push(Some(id));
                        } else if let Some(id) = stored_now.get(key) {
                            found.push(Some(*id));
                        } else {
                            job.laid.insert(tx)?;
                            stored_now.insert(key, job.laid.id());
                            found.push(None);
                        }
                    }
                    Ok(found)
                })
            },
            added,
        );
        // A failed transaction still gets a round: if sled has given up on
        // the database, the round fails with the cause and poisons the store.
        let flushed = committer.flush_now(batch.len()).map_err(StoreError::Durability);
        let outcome = match (outcome, flushed) {
            (Ok(found), Ok(())) => Ok(found),
            (Err(StoreError::Storage(_)), Err(poisoned)) => Err(poisoned),
            (Err(err), _) | (Ok(_), Err(err)) => Err(err),
        };
        match outcome {
            Ok(found) => {
                for (job, stored) in batch.into_iter().zip(found) {
                    // A caller that went away will see its ticket on a retry.
                    let _ = job.reply.send(Ok(stored));
                }
            }
            Err(err) => {
                for job in batch {
                    let _ = job.reply.send(Err(err.clone()));
                }
            }
        }
    }
}
