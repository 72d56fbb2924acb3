//! List pages: how many tickets a page holds, in count and in encoded bytes,
//! and the tokens that resume a listing.

use prost::Message;

use super::convert;
use crate::error::Error;
use crate::pb;
use crate::store::{CustomerCursor, QueueCursor};
use crate::ticket::Ticket;

/// Default and largest page sizes for listings.
const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 500;

/// Most encoded bytes of one list response: half the 4 MiB a standard gRPC
/// client accepts by default, so a page of large tickets stays readable. A
/// page always holds at least one ticket, even one larger than this.
pub const MAX_PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Bytes kept free in a page for everything but its tickets (the next-page
/// token is at most 51 bytes encoded).
const PAGE_TOKEN_ROOM: usize = 64;

/// The page size to use for a requested one (0 asks for the default).
pub(crate) fn size(requested: u32) -> usize {
    let size = match requested {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    usize::try_from(size).unwrap_or(50)
}

/// Parses `ListTickets`' `page_token` for `queue`; `None` for the first page.
pub(crate) fn cursor(token: &str, queue: &str) -> Result<Option<QueueCursor>, Error> {
    parse_token(token, Scope::Queue(queue), QueueCursor::from_token)
}

/// The `next_page_token` that resumes a listing of `queue` after `cursor`.
pub(crate) fn queue_token(cursor: QueueCursor, queue: &str) -> String {
    scoped(cursor.to_token(), Scope::Queue(queue))
}

/// Parses `ListCustomerTickets`' `page_token` for `customer_id`; `None`
/// for the first page.
pub(crate) fn customer_cursor(token: &str, customer_id: &str) -> Result<Option<CustomerCursor>, Error> {
    parse_token(token, Scope::Customer(customer_id), CustomerCursor::from_token)
}

/// The `next_page_token` that resumes `customer_id`'s listing after `cursor`.
pub(crate) fn customer_token(cursor: CustomerCursor, customer_id: &str) -> String {
    scoped(cursor.to_token(), Scope::Customer(customer_id))
}

/// The listing a page token belongs to. A token carries a short hash of
/// its scope, so one from another queue (or customer) is refused instead
/// of silently resuming at that queue's position.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Queue(&'a str),
    Customer(&'a str),
}

impl Scope<'_> {
    /// Eight bytes of SHA-256 over the scope, in hex.
    fn tag(self) -> String {
        use sha2::{Digest, Sha256};
        let (kind, name) = match self {
            Scope::Queue(name) => ("queue", name),
            Scope::Customer(name) => ("customer", name),
        };
        let digest = Sha256::new()
            .chain_update(kind)
            .chain_update([0])
            .chain_update(name)
            .finalize();
        digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn rpc(self) -> &'static str {
        match self {
            Scope::Queue(_) => "ListTickets",
            Scope::Customer(_) => "ListCustomerTickets",
        }
    }

    fn other(self) -> &'static str {
        match self {
            Scope::Queue(_) => "is from a listing of another queue",
            Scope::Customer(_) => "is from a listing of another customer",
        }
    }
}

fn scoped(cursor: String, scope: Scope<'_>) -> String {
    format!("{cursor}.{}", scope.tag())
}

fn parse_token<C>(
    token: &str,
    scope: Scope<'_>,
    parse: impl Fn(&str) -> Option<C>,
) -> Result<Option<C>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let not_ours = || {
        let reason = format!("is not a token from a previous {} response", scope.rpc());
        Error::invalid("page_token", reason)
    };
    let (cursor, tag) = token.split_once('.').ok_or_else(not_ours)?;
    let cursor = parse(cursor).ok_or_else(not_ours)?;
    if tag != scope.tag() {
        return Err(Error::invalid("page_token", scope.other()));
    }
    Ok(Some(cursor))
}

/// Converts `tickets` for a list response, in order, until the next one
/// would take the response over [`MAX_PAGE_BYTES`]; the first always goes
/// in. Returns the converted tickets and, when the cap cut the list short,
/// `resume` of the last ticket kept (where the next page starts).
pub(crate) fn fit<R>(tickets: Vec<Ticket>, resume: impl Fn(&Ticket) -> R) -> (Vec<pb::Ticket>, Option<R>) {
    let budget = MAX_PAGE_BYTES - PAGE_TOKEN_ROOM;
    let mut page = Vec::with_capacity(tickets.len());
    let mut bytes = 0;
    let mut last = None;
    for ticket in tickets {
        let resume_after = resume(&ticket);
        let converted = convert::ticket(ticket);
        bytes += field_len(&converted);
        if bytes > budget && !page.is_empty() {
            return (page, last);
        }
        page.push(converted);
        last = Some(resume_after);
    }
    (page, None)
}

/// Encoded size of `ticket` as one element of a repeated field: tag,
/// length, message.
fn field_len(ticket: &pb::Ticket) -> usize {
    let len = ticket.encoded_len();
    1 + prost::length_delimiter_len(len) + len
}
