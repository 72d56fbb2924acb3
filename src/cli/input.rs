//! Tickets as people and files give them -> `pb::TicketInput`: from the
//! flags of `ingest`/`classify`, or from one JSON line of a bulk file.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::args::TicketArgs;
use super::time::parse_rfc3339;
use crate::pb;

/// One line of an `ingest FILE.jsonl` file. Only `external_id` is
/// required; `source` defaults to `--source`, `channel` to email.
///
/// ```json
/// {"external_id": "1001", "subject": "Charged twice", "body": "...", "customer_id": "c-42",
///  "tier": "pro", "email": "ann@example.com", "language": "en", "tags": ["vip"],
///  "attributes": {"plan": "gold"}, "created_at": "2026-01-05T09:30:00Z"}
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketLine {
    /// The helpdesk's id.
    pub external_id: String,
    /// The integration; `--source` when absent.
    pub source: Option<String>,
    /// email, chat, phone, social, web, internal.
    pub channel: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Message text.
    pub body: String,
    /// Customer id.
    pub customer_id: String,
    /// Customer tier.
    pub tier: String,
    /// Customer e-mail address.
    pub email: String,
    /// Language tag.
    pub language: String,
    /// Helpdesk tags.
    pub tags: Vec<String>,
    /// Other fields, for rule conditions.
    pub attributes: BTreeMap<String, String>,
    /// When the customer raised it (RFC 3339).
    pub created_at: Option<String>,
    /// The journey touchpoint, e.g. "checkout" (inferred when absent).
    pub touchpoint: String,
    /// "internal" for an employee; inferred when absent.
    pub customer_kind: Option<String>,
}

/// `email` -> `Channel::Email`; an error naming the choices otherwise.
pub fn channel(text: &str) -> Result<pb::Channel, String> {
    pb::Channel::from_str_name(&format!("CHANNEL_{}", text.trim().to_uppercase()))
        .filter(|channel| *channel != pb::Channel::Unspecified)
        .ok_or_else(|| {
            format!("unknown channel {text:?}: expected email, chat, phone, social, web or internal")
        })
}

/// `internal`/`external` (or nothing) -> the customer's kind.
pub fn customer_kind(text: Option<&str>) -> Result<pb::CustomerKind, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(pb::CustomerKind::Unspecified),
        Some("external") => Ok(pb::CustomerKind::External),
        Some("internal") => Ok(pb::CustomerKind::Internal),
        Some(other) => Err(format!(
            "unknown customer_kind {other:?}: expected external or internal"
        )),
    }
}

/// `reactive`/`proactive` (or nothing) -> the correction's side.
pub fn corrected_side(text: Option<&str>) -> pb::Side {
    match text {
        Some("reactive") => pb::Side::Reactive,
        Some("proactive") => pb::Side::Proactive,
        _ => pb::Side::Unspecified,
    }
}

/// `KEY=VALUE` pairs -> a map; an error naming the bad one.
fn attributes(pairs: &[String]) -> Result<HashMap<String, String>, String> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
            _ => Err(format!("--attr {pair:?}: expected KEY=VALUE")),
        })
        .collect()
}

impl TicketArgs {
    /// The ticket the flags describe.
    pub fn to_input(&self) -> Result<pb::TicketInput, String> {
        Ok(pb::TicketInput {
            external_id: self.external_id.clone().unwrap_or_default(),
            source: self.source.clone(),
            channel: channel(&self.channel)?.into(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            customer: Some(pb::Customer {
                id: self.customer.clone(),
                tier: self.tier.clone(),
                email: self.email.clone(),
                kind: customer_kind(self.internal.then_some("internal"))?.into(),
            }),
            language: self.language.clone(),
            tags: self.tags.clone(),
            created_at: self.created_at.as_deref().map(parse_rfc3339).transpose()?,
            attributes: attributes(&self.attributes)?,
            touchpoint: self.touchpoint.clone(),
        })
    }
}

impl TicketLine {
    /// Parses one JSON line.
    pub fn parse(line: &str) -> Result<TicketLine, String> {
        serde_json::from_str(line).map_err(|err| format!("not a ticket: {err}"))
    }

    /// The ticket this line describes; `source` when the line names none.
    pub fn into_input(self, source: &str) -> Result<pb::TicketInput, String> {
        if self.external_id.trim().is_empty() {
            return Err("external_id is missing".into());
        }
        let channel = channel(self.channel.as_deref().unwrap_or("email"))?;
        Ok(pb::TicketInput {
            external_id: self.external_id,
            source: self.source.unwrap_or_else(|| source.to_string()),
            channel: channel.into(),
            subject: self.subject,
            body: self.body,
            customer: Some(pb::Customer {
                id: self.customer_id,
                tier: self.tier,
                email: self.email,
                kind: customer_kind(self.customer_kind.as_deref())?.into(),
            }),
            language: self.language,
            tags: self.tags,
            created_at: self.created_at.as_deref().map(parse_rfc3339).transpose()?,
            attributes: self.attributes.into_iter().collect(),
            touchpoint: self.touchpoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_takes_the_default_source() {
        let line = TicketLine::parse(r#"{"external_id": "7", "subject": "Hi", "tags": ["a"]}"#);
        let input = line.and_then(|line| line.into_input("zendesk"));
        let input = input.unwrap_or_default();
        assert_eq!((input.source.as_str(), input.tags.len()), ("zendesk", 1));
    }

    #[test]
    fn unknown_fields_and_missing_ids_are_errors() {
        assert!(TicketLine::parse(r#"{"external_id": "7", "subjct": "typo"}"#).is_err());
        let line = TicketLine::parse(r#"{"subject": "no id"}"#).unwrap_or_default();
        assert!(line.into_input("cli").is_err());
    }

    #[test]
    fn channels_are_named_in_lower_case() {
        assert_eq!(channel("chat"), Ok(pb::Channel::Chat));
        assert!(channel("pigeon").is_err());
    }
}
