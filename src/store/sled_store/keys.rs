//! Byte layouts of the store's keys. Big-endian integers make sled's byte
//! order match the order we want (priority, then sequence).

use crate::clock::UnixMicros;
use crate::store::rollup::Span;
use crate::ticket::{Ticket, TicketId};

/// The tickets tree key (and the prefix of a ticket's input chunks and
/// history entries).
pub(crate) fn ticket(id: TicketId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// Reads a ticket id back from a key's last eight bytes.
pub(crate) fn ticket_id_from_tail(key: &[u8]) -> Option<TicketId> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(TicketId(u64::from_be_bytes(tail)))
}

/// Reads a ticket id from a key's first eight bytes.
pub(crate) fn ticket_id_from_head(key: &[u8]) -> Option<TicketId> {
    let head: [u8; 8] = key.get(..8)?.try_into().ok()?;
    Some(TicketId(u64::from_be_bytes(head)))
}

/// One chunk of a ticket's input: id, then chunk number.
pub(crate) fn input_chunk(id: TicketId, chunk: u16) -> [u8; 10] {
    let mut key = [0u8; 10];
    key[..8].copy_from_slice(&ticket(id));
    key[8..].copy_from_slice(&chunk.to_be_bytes());
    key
}

/// One history entry: id, then entry number.
pub(crate) fn history_entry(id: TicketId, entry: u32) -> [u8; 12] {
    let mut key = [0u8; 12];
    key[..8].copy_from_slice(&ticket(id));
    key[8..].copy_from_slice(&entry.to_be_bytes());
    key
}

/// Encodes time so that byte order is time order, negative times included.
pub(crate) fn time(at: UnixMicros) -> [u8; 8] {
    ((at.0 as u64) ^ (1 << 63)).to_be_bytes()
}

/// Decodes [`time`].
pub(crate) fn time_from(bytes: &[u8]) -> Option<UnixMicros> {
    let bytes: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(UnixMicros((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64))
}

/// All entries of one queue (or of one queue's deadline index) start with this.
pub(crate) fn queue_prefix(queue: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(queue.len() + 1 + 9);
    key.extend_from_slice(queue.as_bytes());
    key.push(0);
    key
}

/// A waiting ticket's queue-index key: queue, priority rank, then id (the
/// ingest sequence), so the order never depends on the wall clock.
pub(crate) fn queue_entry_at(queue: &str, rank: u8, id: TicketId) -> Vec<u8> {
    let mut key = queue_prefix(queue);
    key.push(rank);
    key.extend_from_slice(&ticket(id));
    key
}

/// The queue-index key of a queued ticket, from its current classification.
pub(crate) fn queue_entry(ticket: &Ticket) -> Vec<u8> {
    queue_entry_at(
        &ticket.classification.queue,
        ticket.classification.priority.rank(),
        ticket.id,
    )
}

pub(crate) use crate::store::codec::at_risk_from;

/// A waiting ticket's entry in its queue's deadline index: queue, when it
/// becomes at risk, id; the value is the deadline. Queue statistics read
/// only the entries already at risk or breached.
pub(crate) fn queue_deadline(queue: &str, enqueued_at: UnixMicros, due: UnixMicros, id: TicketId) -> Vec<u8> {
    let mut key = queue_prefix(queue);
    key.extend_from_slice(&time(at_risk_from(enqueued_at, due)));
    key.extend_from_slice(&ticket(id));
    key
}

/// The idempotency key of (source, external_id).
pub(crate) fn idempotency(source: &str, external_id: &str) -> Vec<u8> {
    length_prefixed(source, external_id.as_bytes())
}

/// The claim-request key of (agent, request id).
pub(crate) fn claim_request(agent_id: &str, request_id: &str) -> Vec<u8> {
    length_prefixed(agent_id, request_id.as_bytes())
}

/// All of one customer's index entries start with this.
pub(crate) fn customer_prefix(customer_id: &str) -> Vec<u8> {
    length_prefixed(customer_id, &[])
}

/// A customer-index key: customer, then ingest time, then id.
pub(crate) fn customer_entry(ticket: &Ticket) -> Vec<u8> {
    let mut key = customer_prefix(&ticket.input.customer.id);
    key.extend_from_slice(&time(ticket.ingested_at));
    key.extend_from_slice(&ticket.id.0.to_be_bytes());
    key
}

/// A time-index key (lease expiries, deadlines, completions): time, then id.
pub(crate) fn timed(at: UnixMicros, id: TicketId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&time(at));
    key[8..].copy_from_slice(&id.0.to_be_bytes());
    key
}

/// Where one span's cells start at `at`: span, then time.
pub(crate) fn rollup_prefix(span: Span, at: UnixMicros) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    key.push(span as u8);
    key.extend_from_slice(&time(at));
    key
}

/// Length of a rollup key's span and time.
pub(crate) const ROLLUP_HEAD: usize = 9;

/// A rollup cell: span, time, then the cell key (touchpoint, category,
/// side, kind).
pub(crate) fn rollup_cell(span: Span, at: UnixMicros, key: &crate::store::RollupKey) -> Vec<u8> {
    let mut cell = rollup_prefix(span, at);
    cell.extend_from_slice(&length_prefixed(&key.touchpoint, &[]));
    cell.extend_from_slice(&length_prefixed(&key.category, &[]));
    cell.push(key.side as u8);
    cell.push(key.kind as u8);
    cell
}

/// The cell key of a rollup key's tail (after [`ROLLUP_HEAD`]).
pub(crate) fn rollup_key_from(tail: &[u8]) -> Option<crate::store::RollupKey> {
    use crate::ticket::{CustomerKind, Side};
    let (touchpoint, rest) = split_length_prefixed(tail)?;
    let (category, rest) = split_length_prefixed(rest)?;
    let side = match rest.first()? {
        0 => Side::Reactive,
        1 => Side::Proactive,
        _ => Side::Unclassified,
    };
    let kind = match rest.get(1)? {
        0 => CustomerKind::External,
        _ => CustomerKind::Internal,
    };
    Some(crate::store::RollupKey {
        touchpoint,
        category,
        side,
        kind,
    })
}

fn split_length_prefixed(bytes: &[u8]) -> Option<(String, &[u8])> {
    let len = usize::from(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?));
    let text = bytes.get(2..2 + len)?;
    Some((String::from_utf8_lossy(text).into_owned(), bytes.get(2 + len..)?))
}

fn length_prefixed(head: &str, tail: &[u8]) -> Vec<u8> {
    let head = head.as_bytes();
    let len = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let mut key = Vec::with_capacity(2 + head.len() + tail.len());
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(&head[..usize::from(len)]);
    key.extend_from_slice(tail);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rollup::{day_start, DAY_MICROS};
    use crate::ticket::Priority;

    #[test]
    fn time_order_matches_byte_order_across_zero() {
        let times = [i64::MIN, -5, 0, 7, i64::MAX].map(UnixMicros);
        for pair in times.windows(2) {
            assert!(time(pair[0]) < time(pair[1]));
            assert_eq!(time_from(&time(pair[0])), Some(pair[0]));
        }
    }

    #[test]
    fn urgent_sorts_before_older_normal_and_sequence_breaks_ties() {
        let urgent = queue_entry_at("q", Priority::Urgent.rank(), TicketId(9));
        let normal = queue_entry_at("q", Priority::Normal.rank(), TicketId(1));
        let later_normal = queue_entry_at("q", Priority::Normal.rank(), TicketId(2));
        assert!(urgent < normal);
        assert!(normal < later_normal);
    }

    #[test]
    fn idempotency_keys_do_not_collide_across_the_boundary() {
        assert_ne!(idempotency("ab", "c"), idempotency("a", "bc"));
    }

    #[test]
    fn rollup_cells_read_back_their_key() {
        use crate::store::RollupKey;
        use crate::ticket::{CustomerKind, Side};
        let key = RollupKey {
            touchpoint: "checkout".into(),
            category: "billing".into(),
            side: Side::Proactive,
            kind: CustomerKind::Internal,
        };
        let cell = rollup_cell(Span::Day, UnixMicros(DAY_MICROS), &key);
        assert_eq!(rollup_key_from(&cell[ROLLUP_HEAD..]), Some(key));
        assert_eq!(day_start(UnixMicros(DAY_MICROS + 7)), UnixMicros(DAY_MICROS));
    }

    #[test]
    fn at_risk_is_the_last_quarter_of_the_window() {
        assert_eq!(at_risk_from(UnixMicros(0), UnixMicros(100)), UnixMicros(75));
        assert_eq!(at_risk_from(UnixMicros(50), UnixMicros(10)), UnixMicros(10));
    }
}
