//! Output for people: aligned tables and key-value blocks, local times,
//! the lease token where nobody can miss it. Everything renders from the
//! [`view`](super::view) structs, so people and scripts see the same facts.

use std::fmt::Write as _;

use super::time::{duration, local_text};
use super::view::{BulkSummary, Claimed, Classification, Event, Ingested, Page, Pong, Queues, Ticket};

/// Longest subject shown in a one-line-a-ticket table.
const SUBJECT_WIDTH: usize = 60;

/// Rows under headers, columns padded to their widest cell; the last
/// column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = headers.iter().map(|header| header.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{cell:<width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `text` cut to `max` characters, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Key-value lines `  key         value`, skipping empty values.
fn fields(out: &mut String, pairs: &[(&str, String)]) {
    for (key, value) in pairs {
        if !value.is_empty() {
            let _ = writeln!(out, "  {key:<12} {value}");
        }
    }
}

/// A classification as key-value lines.
fn classification_fields(out: &mut String, classification: &Classification) {
    let decided = match (classification.side.as_str(), classification.category.as_str()) {
        (side, "") => side.to_string(),
        (side, category) => format!("{side} / {category}"),
    };
    let deadline = match classification.first_response_seconds {
        0 => String::new(),
        seconds => format!("first response within {}", duration(u64::from(seconds))),
    };
    let rules = match classification.rule_ids.is_empty() {
        true => String::new(),
        false => format!(
            "{} (rules {})",
            classification.rule_ids.join(", "),
            classification.rules_version
        ),
    };
    let mut terms: Vec<String> = Vec::new();
    for term in &classification.sentiment_terms {
        let shown = format!("{} {:+.2}", term.name, term.weight);
        if terms.len() < 5 && !terms.contains(&shown) {
            terms.push(shown);
        }
    }
    let sentiment = match terms.is_empty() {
        true => format!("{:+.2}", classification.sentiment),
        false => format!("{:+.2} ({})", classification.sentiment, terms.join(", ")),
    };
    let scores: Vec<String> = classification
        .scores
        .iter()
        .map(|score| format!("{} {:.2}", score.name, score.weight))
        .collect();
    fields(
        out,
        &[
            ("class", decided),
            (
                "queue",
                format!("{}, priority {}", classification.queue, classification.priority),
            ),
            ("touchpoint", touchpoint(classification)),
            ("sla", deadline),
            ("rules", rules),
            ("rule tags", classification.tags.join(", ")),
            ("sentiment", sentiment),
            ("lexicons", scores.join(", ")),
        ],
    );
}

/// The touchpoint, marked when the customer is a repeat contact.
fn touchpoint(classification: &Classification) -> String {
    match classification.repeat_contact {
        true => format!("{} (repeat contact)", classification.touchpoint),
        false => classification.touchpoint.clone(),
    }
}

/// A ticket as a key-value block, then its body and history when the view holds them.
pub fn ticket(ticket: &Ticket) -> String {
    let mut out = format!("Ticket {}  [{}]\n", ticket.id, ticket.state);
    let customer = [
        ticket.customer.id.as_str(),
        ticket.customer.tier.as_str(),
        ticket.customer.email.as_str(),
    ]
    .iter()
    .filter(|part| !part.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(", ");
    let attributes: Vec<String> = ticket
        .attributes
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    let lease = ticket.lease.as_ref().map_or(String::new(), |lease| {
        format!(
            "held by {} until {}",
            lease.agent_id,
            local_text(lease.expires_at.as_deref())
        )
    });
    let correction = ticket.correction.as_ref().map_or(String::new(), |correction| {
        let to = [correction.side.as_str(), correction.category.as_str()]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" / ");
        format!(
            "{to} by {} at {}",
            correction.agent_id,
            local_text(correction.at.as_deref())
        )
    });
    fields(
        &mut out,
        &[
            ("subject", ticket.subject.clone()),
            ("customer", customer),
            (
                "from",
                format!("{} #{} via {}", ticket.source, ticket.external_id, ticket.channel),
            ),
            ("language", ticket.language.clone()),
            ("tags", ticket.tags.join(", ")),
            ("attributes", attributes.join(", ")),
            ("created", local_text(ticket.created_at.as_deref())),
            ("ingested", local_text(ticket.ingested_at.as_deref())),
        ],
    );
    classification_fields(&mut out, &ticket.classification);
    let due = match ticket.escalated {
        true => format!("{} (escalated)", local_text(ticket.first_response_due.as_deref())),
        false => ticket
            .first_response_due
            .as_deref()
            .map_or(String::new(), |due| local_text(Some(due))),
    };
    fields(
        &mut out,
        &[
            ("reply by", due),
            ("lease", lease),
            ("claims", ticket.claim_count.to_string()),
            ("resolution", ticket.resolution.clone()),
            ("correction", correction),
        ],
    );
    if !ticket.body.is_empty() {
        out.push_str("  body\n");
        for line in ticket.body.lines() {
            let _ = writeln!(out, "    | {line}");
        }
    }
    if !ticket.history.is_empty() {
        out.push_str("  history\n");
        let rows: Vec<Vec<String>> = ticket
            .history
            .iter()
            .map(|entry| {
                vec![
                    local_text(entry.at.as_deref()),
                    entry.actor.clone(),
                    entry.action.clone(),
                    entry.detail.clone(),
                ]
            })
            .collect();
        for line in table(&["WHEN", "WHO", "WHAT", "DETAIL"], &rows).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

/// `ingest` of one ticket: whether it was new, then the ticket.
pub fn ingested(answer: &Ingested) -> String {
    let headline = match answer.created {
        true => format!(
            "Ingested {} into queue {}\n\n",
            answer.ticket.id, answer.ticket.classification.queue
        ),
        false => format!(
            "Already ingested as {} (source {}, external id {}): nothing changed\n\n",
            answer.ticket.id, answer.ticket.source, answer.ticket.external_id
        ),
    };
    headline + &ticket(&answer.ticket)
}

/// `classify`: the decision as key-value lines, then the evidence.
pub fn classification(classification: &Classification) -> String {
    let mut out = String::from("Classification (not stored)\n");
    classification_fields(&mut out, classification);
    if !classification.evidence.is_empty() {
        out.push_str("  evidence\n");
        let rows: Vec<Vec<String>> = classification
            .evidence
            .iter()
            .map(|evidence| {
                let negated = if evidence.negated { " (negated)" } else { "" };
                vec![
                    evidence.lexicon.clone(),
                    format!("{}{negated}", evidence.term),
                    evidence.part.clone(),
                    format!("{:+.2}", evidence.weight),
                ]
            })
            .collect();
        for line in table(&["LEXICON", "TERM", "WHERE", "WEIGHT"], &rows).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

/// `claim`: the lease token first and on its own line, then the ticket.
pub fn claimed(answer: &Claimed, queue: &str) -> String {
    let (Some(token), Some(claimed)) = (&answer.lease_token, &answer.ticket) else {
        return format!("Queue {queue} is empty: nothing to claim\n");
    };
    let (agent, until) = claimed
        .lease
        .as_ref()
        .map_or((String::new(), "-".to_string()), |lease| {
            (lease.agent_id.clone(), local_text(lease.expires_at.as_deref()))
        });
    format!(
        "Claimed {} for {agent}, lease until {until}\n\n    Lease token: {token}\n\n\
         Pass it as --lease to extend, release, complete or transfer.\n\n{}",
        claimed.id,
        ticket(claimed)
    )
}

/// `list`/`customer`: one line a ticket, or whole tickets with `full`;
/// then how to get the next page.
pub fn page(page: &Page, full: bool, empty: &str) -> String {
    let mut out = match (page.tickets.is_empty(), full) {
        (true, _) => format!("{empty}\n"),
        (false, true) => page.tickets.iter().map(ticket).collect::<Vec<_>>().join("\n"),
        (false, false) => {
            let rows: Vec<Vec<String>> = page
                .tickets
                .iter()
                .map(|ticket| {
                    vec![
                        ticket.id.clone(),
                        ticket.state.clone(),
                        ticket.classification.priority.clone(),
                        ticket.classification.queue.clone(),
                        ticket.classification.category.clone(),
                        local_text(ticket.ingested_at.as_deref()),
                        clip(&ticket.subject, SUBJECT_WIDTH),
                    ]
                })
                .collect();
            table(
                &[
                    "ID", "STATE", "PRIORITY", "QUEUE", "CATEGORY", "INGESTED", "SUBJECT",
                ],
                &rows,
            )
        }
    };
    if !page.next_page_token.is_empty() {
        let _ = writeln!(out, "more: --page-token {}", page.next_page_token);
    }
    out
}

/// `queues`: one row a queue.
pub fn queues(queues: &Queues) -> String {
    let rows: Vec<Vec<String>> = queues
        .queues
        .iter()
        .map(|queue| {
            let oldest = match queue.depth {
                0 => "-".to_string(),
                _ => duration(queue.oldest_age_seconds),
            };
            vec![
                queue.name.clone(),
                queue.depth.to_string(),
                queue.leased.to_string(),
                oldest,
                queue.breached.to_string(),
                queue.at_risk.to_string(),
                queue.description.clone(),
            ]
        })
        .collect();
    table(
        &[
            "QUEUE",
            "WAITING",
            "LEASED",
            "OLDEST",
            "BREACHED",
            "AT RISK",
            "DESCRIPTION",
        ],
        &rows,
    )
}

/// One `watch` event on one line.
pub fn event(event: &Event) -> String {
    let what = match event.kind.as_str() {
        "lagged" => format!("missed {} events: re-read the queue with `list`", event.missed),
        _ => event.ticket_id.clone(),
    };
    format!(
        "{}  {:<16} {:<14} {what}\n",
        local_text(event.at.as_deref()),
        event.queue,
        event.kind
    )
}

/// The summary of a bulk ingest, failures by line.
pub fn summary(summary: &BulkSummary) -> String {
    let mut out = format!(
        "ingested {}, duplicates {}, failed {} (of {} lines)\n",
        summary.ingested, summary.duplicates, summary.failed, summary.total
    );
    for failure in &summary.failures {
        let _ = writeln!(out, "  line {}: {}", failure.line, failure.message);
    }
    out
}

/// `ping`.
pub fn pong(pong: &Pong) -> String {
    format!("pong from {} in {:.1} ms\n", pong.addr, pong.millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let rows = vec![vec!["tkt_10".to_string(), "x".to_string()]];
        assert_eq!(table(&["ID", "SUBJECT"], &rows), "ID      SUBJECT\ntkt_10  x\n");
    }

    #[test]
    fn long_subjects_are_clipped() {
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }
}
