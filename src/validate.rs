//! Checks on incoming tickets and on the agent fields stored with them
//! (agent id, release and transfer reasons, resolution notes), with the
//! API's field names in every error. Every stored text is bounded, so a
//! ticket stays readable by clients with the default 4 MiB receive limit.

use std::time::Duration;

use crate::clock::UnixMicros;
use crate::error::Error;
use crate::ticket::TicketInput;

/// Size limits on incoming tickets and agents' notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted subject, in bytes.
    pub max_subject_bytes: usize,
    /// Largest id-like field (external id, source, customer id ...), in bytes.
    pub max_id_bytes: usize,
    /// Most tags on one ticket.
    pub max_tags: usize,
    /// Most attributes on one ticket.
    pub max_attributes: usize,
    /// Largest tag, attribute key or attribute value, in bytes.
    pub max_value_bytes: usize,
    /// Largest agent id, in bytes (stored in the lease and every history
    /// entry the agent makes).
    pub max_agent_id_bytes: usize,
    /// Largest release or transfer reason, in bytes (kept in the history).
    pub max_reason_bytes: usize,
    /// Largest resolution note, in bytes (kept on the ticket and in its
    /// history).
    pub max_resolution_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 256 * 1024,
            max_subject_bytes: 4 * 1024,
            max_id_bytes: 256,
            max_tags: 64,
            max_attributes: 64,
            max_value_bytes: 1024,
            max_agent_id_bytes: 256,
            max_reason_bytes: 4 * 1024,
            max_resolution_bytes: 16 * 1024,
        }
    }
}

fn at_most(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.len() > max {
        return Err(Error::invalid(
            field,
            format!("is {} bytes, over the limit of {max}", value.len()),
        ));
    }
    Ok(())
}

/// Checks an identifier-like field: present and visible, without control
/// or bidirectional-control characters, within `max` bytes. An id made only
/// of zero-width characters looks empty to a person, and one with a
/// right-to-left override displays as a different id (Trojan Source).
fn required(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if value.chars().all(is_invisible) {
        return Err(Error::invalid(
            field,
            "is required (holds only invisible characters)",
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        let reason = format!(
            "must not contain control or bidirectional-control characters (found U+{:04X})",
            u32::from(c)
        );
        return Err(Error::invalid(field, reason));
    }
    at_most(field, value, max)
}

/// Characters that draw nothing: white space, zero-width spaces and
/// joiners, invisible operators, the byte-order mark, soft hyphen, and the
/// Hangul and Mongolian fillers.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{3164}'
                | '\u{FEFF}'
                | '\u{FFA0}'
        )
}

/// Bidirectional controls: marks, embeddings, overrides and isolates,
/// which change the order in which the text around them is displayed.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// How far ahead of the server's clock a ticket's `created_at` may be:
/// helpdesks' clocks drift and time zones get mixed up, but a ticket from
/// next year (or 9999) is a bug in the caller.
pub const MAX_CREATED_AHEAD: Duration = Duration::from_secs(24 * 3600);

/// Checks request field `ticket.created_at` against the clock: `None` (unset)
/// means the ticket was created when it is ingested, `now`; a time more than
/// [`MAX_CREATED_AHEAD`] after `now` is refused.
pub fn created_at(created_at: Option<UnixMicros>, now: UnixMicros) -> Result<UnixMicros, Error> {
    let Some(at) = created_at else {
        return Ok(now);
    };
    let ahead = Duration::from_micros(u64::try_from(at.0.saturating_sub(now.0)).unwrap_or(0));
    if ahead > MAX_CREATED_AHEAD {
        let reason = format!(
            "is {} hours after the server's clock; at most {} hours ahead is accepted",
            ahead.as_secs() / 3600,
            MAX_CREATED_AHEAD.as_secs() / 3600
        );
        return Err(Error::invalid("ticket.created_at", reason));
    }
    Ok(at)
}

/// Checks a ticket against the limits; the error names the offending field.
pub fn ticket_input(input: &TicketInput, limits: &Limits) -> Result<(), Error> {
    required("ticket.external_id", &input.external_id, limits.max_id_bytes)?;
    required("ticket.source", &input.source, limits.max_id_bytes)?;
    at_most("ticket.subject", &input.subject, limits.max_subject_bytes)?;
    at_most("ticket.body", &input.body, limits.max_body_bytes)?;
    at_most("ticket.customer.id", &input.customer.id, limits.max_id_bytes)?;
    at_most("ticket.customer.tier", &input.customer.tier, limits.max_id_bytes)?;
    at_most(
        "ticket.customer.email",
        &input.customer.email,
        limits.max_id_bytes,
    )?;
    at_most("ticket.language", &input.language, limits.max_id_bytes)?;
    if input.subject.trim().is_empty() && input.body.trim().is_empty() {
        return Err(Error::invalid("ticket.body", "subject and body are both empty"));
    }
    if input.tags.len() > limits.max_tags {
        return Err(Error::invalid(
            "ticket.tags",
            format!(
                "has {} tags, over the limit of {}",
                input.tags.len(),
                limits.max_tags
            ),
        ));
    }
    for tag in &input.tags {
        at_most("ticket.tags", tag, limits.max_value_bytes)?;
    }
    if input.attributes.len() > limits.max_attributes {
        return Err(Error::invalid(
            "ticket.attributes",
            format!(
                "has {} entries, over the limit of {}",
                input.attributes.len(),
                limits.max_attributes
            ),
        ));
    }
    for (key, value) in &input.attributes {
        at_most("ticket.attributes", key, limits.max_value_bytes)?;
        at_most("ticket.attributes", value, limits.max_value_bytes)?;
    }
    Ok(())
}

/// Checks an agent id (request field `agent_id`): present and visible,
/// without control (NUL included) or bidirectional-control characters,
/// within the limit.
pub fn agent_id(agent_id: &str, limits: &Limits) -> Result<(), Error> {
    required("agent_id", agent_id, limits.max_agent_id_bytes)
}

/// Checks a release or transfer reason (request field `reason`) against the limit.
pub fn reason(reason: &str, limits: &Limits) -> Result<(), Error> {
    at_most("reason", reason, limits.max_reason_bytes)
}

/// Checks a resolution note (request field `resolution`) against the limit.
pub fn resolution(resolution: &str, limits: &Limits) -> Result<(), Error> {
    at_most("resolution", resolution, limits.max_resolution_bytes)
}
