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
/// token is 36 bytes encoded).
const PAGE_TOKEN_ROOM: usize = 64;

/// The page size to use for a requested one (0 asks for the default).
pub(crate) fn size(requested: u32) -> usize {
    let size = match requested {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    usize::try_from(size).unwrap_or(50)
}

/// Parses request field `page_token`; `None` for the first page.
pub(crate) fn cursor(token: &str) -> Result<Option<QueueCursor>, Error> {
    parse_token(token, QueueCursor::from_token, "ListTickets")
}

/// Parses `ListCustomerTickets`' `page_token`; `None` for the first page.
pub(crate) fn customer_cursor(token: &str) -> Result<Option<CustomerCursor>, Error> {
    parse_token(token, CustomerCursor::from_token, "ListCustomerTickets")
}

fn parse_token<C>(token: &str, parse: impl Fn(&str) -> Option<C>, rpc: &str) -> Result<Option<C>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    parse(token).map(Some).ok_or_else(|| {
        Error::invalid(
            "page_token",
            format!("is not a token from a previous {rpc} response"),
        )
    })
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
