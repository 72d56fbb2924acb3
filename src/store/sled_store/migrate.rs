//! The store's format marker and the migration from format 1.
//!
//! Format 1 kept sled's files directly in the data directory, each ticket
//! as one JSON record in a `tickets` tree. Format 2 lives in `v2/` beside
//! it. Opening a data directory that holds only format 1 copies every
//! ticket into format 2 (rebuilding every index from the tickets) and
//! leaves the format-1 files in place for the operator to remove.

use std::path::Path;

use super::layout::Laid;
use super::records;
use super::tx::{storage, Trees};
use super::FORMAT_VERSION;
use crate::store::StoreError;
use crate::ticket::Ticket;

const FORMAT_KEY: &[u8] = b"format";
const ID_OFFSET_KEY: &[u8] = b"id_offset";

/// Checks or writes the format marker, migrating format 1 first when the
/// store is new and format-1 files sit beside it. Returns the id offset.
pub(crate) fn prepare(data_dir: &Path, trees: &Trees) -> Result<u64, StoreError> {
    match trees.meta.get(FORMAT_KEY).map_err(storage)? {
        Some(format) => {
            let format = String::from_utf8_lossy(&format).into_owned();
            if format != FORMAT_VERSION.to_string() {
                return Err(StoreError::Format(format!(
                    "{} holds store format {format}; this triage reads format {FORMAT_VERSION}",
                    data_dir.display()
                )));
            }
        }
        None => {
            // Without the marker the store is new, or a migration stopped
            // half-way: start from empty either way.
            trees.clear_all()?;
            let offset = if data_dir.join("conf").exists() {
                migrate_format_1(data_dir, trees)?
            } else {
                0
            };
            trees
                .meta
                .insert(ID_OFFSET_KEY, &offset.to_be_bytes())
                .map_err(storage)?;
            trees
                .meta
                .insert(FORMAT_KEY, FORMAT_VERSION.to_string().as_bytes())
                .map_err(storage)?;
        }
    }
    let offset = trees.meta.get(ID_OFFSET_KEY).map_err(storage)?;
    Ok(offset
        .and_then(|bytes| <[u8; 8]>::try_from(bytes.as_ref()).ok())
        .map_or(0, u64::from_be_bytes))
}

/// Copies every format-1 ticket; returns the id offset that keeps new ids
/// above the copied ones.
fn migrate_format_1(data_dir: &Path, trees: &Trees) -> Result<u64, StoreError> {
    let old = sled::Config::new().path(data_dir).open().map_err(|err| {
        StoreError::Format(format!(
            "cannot open the format-1 store in {}: {err}",
            data_dir.display()
        ))
    })?;
    let tickets = old.open_tree("tickets").map_err(storage)?;
    let mut highest = 0;
    let mut copied = 0usize;
    for entry in tickets.iter() {
        let (_, bytes) = entry.map_err(storage)?;
        let ticket: Ticket = records::decode("format-1 ticket", &bytes)?;
        highest = highest.max(ticket.id.0);
        let laid = Laid::of(&ticket)?;
        trees.transact(|tx| laid.insert(tx))?;
        copied += 1;
    }
    tracing::info!(
        tickets = copied,
        data_dir = %data_dir.display(),
        "migrated the store from format 1 to format {FORMAT_VERSION}; the format-1 files are left in place"
    );
    Ok(highest.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::super::{Store, StoreOptions};
    use crate::clock::UnixMicros;
    use crate::store::TicketStore;
    use crate::ticket::{Classification, HistoryEntry, Lease, Ticket, TicketId, TicketInput, TicketState};

    fn format_1_ticket(id: u64, state: TicketState) -> Ticket {
        Ticket {
            id: TicketId(id),
            input: TicketInput {
                external_id: format!("ext-{id}"),
                source: "zendesk".into(),
                body: "my card was charged twice".into(),
                ..TicketInput::default()
            },
            classification: Classification {
                queue: "billing".into(),
                ..Classification::default()
            },
            state,
            ingested_at: UnixMicros(10),
            enqueued_at: UnixMicros(10),
            claim_count: 0,
            first_response_due: None,
            escalated: false,
            history: vec![HistoryEntry {
                at: UnixMicros(10),
                actor: "triage".into(),
                action: "ingested".into(),
                detail: String::new(),
            }],
            resolution: String::new(),
            correction: None,
            follow_up_of: None,
            follow_up: None,
        }
    }

    #[tokio::test]
    async fn a_format_1_store_is_migrated_with_its_indexes_and_ids_continue_above_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let old = sled::Config::new()
                .path(dir.path())
                .open()
                .expect("format-1 store");
            let tickets = old.open_tree("tickets").expect("tree");
            let lease = Lease {
                agent_id: "ann".into(),
                token: "t".into(),
                expires_at: UnixMicros(1_000_000_000_000),
            };
            for ticket in [
                format_1_ticket(5, TicketState::Queued),
                format_1_ticket(9, TicketState::Claimed(lease)),
            ] {
                let id = ticket.id.0.to_be_bytes();
                tickets
                    .insert(id, serde_json::to_vec(&ticket).expect("encodes"))
                    .expect("insert");
            }
            old.flush().expect("flush");
        }
        let store = Store::open(dir.path(), StoreOptions::default()).expect("opens and migrates");
        let report = store.verify().await.expect("verify");
        assert!(report.is_consistent(), "{report:?}");
        assert_eq!((report.queued, report.claimed), (1, 1));
        let stats = store
            .queues_stats(&["billing".to_string()], UnixMicros(20))
            .await
            .expect("stats");
        assert_eq!((stats[0].depth, stats[0].leased), (1, 1));
        let ingested = store
            .ingest(
                TicketInput {
                    external_id: "new".into(),
                    source: "zendesk".into(),
                    ..TicketInput::default()
                },
                Classification {
                    queue: "billing".into(),
                    ..Classification::default()
                },
                UnixMicros(30),
            )
            .await
            .expect("ingest");
        assert!(
            ingested.ticket.id.0 > 9,
            "new id {} collides with migrated ids",
            ingested.ticket.id
        );
    }
}
