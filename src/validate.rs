//! Checks on incoming tickets and on the agent fields stored with them
//! (agent id, release and transfer reasons, resolution notes), with the
//! API's field names in every error. Every stored text is bounded, so a
//! ticket stays readable by clients with the default 4 MiB receive limit.

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

fn required(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    at_most(field, value, max)
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

/// Checks an agent id (request field `agent_id`): present, without control
/// characters, within the limit.
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
