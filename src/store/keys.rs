//! Byte layouts of the store's keys. Big-endian integers make sled's byte
//! order match the order we want (priority, then age, then id).

use crate::clock::UnixMicros;
use crate::ticket::{Priority, Ticket, TicketId};

/// Length of a queue position after the queue-name prefix: rank, time, id.
pub(crate) const POSITION_LEN: usize = 1 + 8 + 8;

/// The tickets tree key.
pub(crate) fn ticket(id: TicketId) -> [u8; 8] {
    id.0.to_be_bytes()
}

/// Reads a ticket id back from a ticket or index key tail.
pub(crate) fn ticket_id_from_tail(key: &[u8]) -> Option<TicketId> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(TicketId(u64::from_be_bytes(tail)))
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

/// All entries of one queue start with this.
pub(crate) fn queue_prefix(queue: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(queue.len() + 1 + POSITION_LEN);
    key.extend_from_slice(queue.as_bytes());
    key.push(0);
    key
}

/// A ticket's position in a queue: priority, then when it was queued, then id.
pub(crate) fn position(priority: Priority, enqueued_at: UnixMicros, id: TicketId) -> [u8; POSITION_LEN] {
    let mut position = [0u8; POSITION_LEN];
    position[0] = priority.rank();
    position[1..9].copy_from_slice(&time(enqueued_at));
    position[9..].copy_from_slice(&id.0.to_be_bytes());
    position
}

/// The queue-index key of a queued ticket, from its current classification.
pub(crate) fn queue_entry(ticket: &Ticket) -> Vec<u8> {
    let mut key = queue_prefix(&ticket.classification.queue);
    key.extend_from_slice(&position(
        ticket.classification.priority,
        ticket.enqueued_at,
        ticket.id,
    ));
    key
}

/// The queue-index value: the first-response deadline, if any, so queue
/// statistics need not load tickets.
pub(crate) fn queue_entry_value(ticket: &Ticket) -> Vec<u8> {
    ticket
        .first_response_due
        .map(|due| time(due).to_vec())
        .unwrap_or_default()
}

/// The idempotency key of (source, external_id).
pub(crate) fn idempotency(source: &str, external_id: &str) -> Vec<u8> {
    length_prefixed(source, external_id.as_bytes())
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

/// A time-index key (lease expiries, deadlines): time, then id.
pub(crate) fn timed(at: UnixMicros, id: TicketId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&time(at));
    key[8..].copy_from_slice(&id.0.to_be_bytes());
    key
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

    #[test]
    fn time_order_matches_byte_order_across_zero() {
        let times = [i64::MIN, -5, 0, 7, i64::MAX].map(UnixMicros);
        for pair in times.windows(2) {
            assert!(time(pair[0]) < time(pair[1]));
            assert_eq!(time_from(&time(pair[0])), Some(pair[0]));
        }
    }

    #[test]
    fn urgent_sorts_before_older_normal() {
        let urgent = position(Priority::Urgent, UnixMicros(10), TicketId(2));
        let normal = position(Priority::Normal, UnixMicros(1), TicketId(1));
        assert!(urgent < normal);
    }

    #[test]
    fn idempotency_keys_do_not_collide_across_the_boundary() {
        assert_ne!(idempotency("ab", "c"), idempotency("a", "bc"));
    }
}
