//! One ticket: what the customer sent, where the rules put it and why
//! (the rules that fired, the text they matched highlighted, sentiment
//! words), its history as a timeline, and its follow-ups.

use maud::{html, Markup};

use super::form::encode;
use super::layout::{self, time};
use super::session::Viewer;
use super::{html, Answer, ConsoleError, PREFIX};
use crate::app::App;
use crate::rules::{ConditionTrace, Explanation, TextMatch};
use crate::ticket::{FollowUpState, Ticket, TicketId, TicketState};

/// `GET /console/tickets/{id}`.
pub async fn page(app: &App, viewer: &Viewer, id: &str) -> Answer {
    let id = TicketId::parse(id)
        .ok_or_else(|| ConsoleError::NotFound(format!("{id:?} is not a ticket id (they read tkt_123)")))?;
    let ticket = app.ticket(id).await?;
    let explanation = app.explain_ticket(id).await?;
    let terms = matched_terms(&explanation);
    Ok(html(layout::page(
        Some(viewer),
        &id.to_string(),
        html! {
            nav.crumbs aria-label="Breadcrumb" {
                a href={ (PREFIX) "/queues" } { "Queues" } " / "
                a href={ (PREFIX) "/queues/" (encode(&ticket.classification.queue)) } { (ticket.classification.queue) }
                " / " (id)
            }
            h1 { "Ticket " (id) }
            (summary(&ticket, app.now()))
            section aria-labelledby="input-h" {
                h2 #input-h { "What the customer sent" }
                dl.facts {
                    dt { "Subject" } dd #subject { (highlighted(&ticket.input.subject, &terms)) }
                    dt { "Customer" } dd {
                        a href={ (PREFIX) "/journey/customer?id=" (encode(&ticket.input.customer.id)) } {
                            (ticket.input.customer.id)
                        }
                        " (" (ticket.input.customer.tier) ")"
                    }
                    dt { "Channel" } dd { (ticket.input.channel.name()) }
                    dt { "From" } dd { (ticket.input.source) " " (ticket.input.external_id) }
                }
                pre.body #body { (highlighted(&ticket.input.body, &terms)) }
            }
            (classification(&ticket))
            (explained(&explanation, "Re-evaluated with the running rules as of the ticket's ingest:"))
            (history(&ticket))
            (follow_ups(&ticket))
        },
    )))
}

fn summary(ticket: &Ticket, now: crate::clock::UnixMicros) -> Markup {
    let state = match &ticket.state {
        TicketState::Queued => "waiting".to_string(),
        TicketState::Claimed(lease) => {
            format!("claimed by {} until {}", lease.agent_id, time(lease.expires_at))
        }
        TicketState::Completed => "completed".to_string(),
    };
    html! {
        dl.facts.summary {
            dt { "State" } dd #state { (state) }
            dt { "Ingested" } dd { (time(ticket.ingested_at)) }
            dt { "SLA" } dd { (if ticket.is_open() { layout::sla(ticket, now) } else { "done" }) }
            @if !ticket.resolution.is_empty() { dt { "Resolution" } dd { (ticket.resolution) } }
        }
    }
}

fn classification(ticket: &Ticket) -> Markup {
    let class = &ticket.classification;
    html! {
        section aria-labelledby="class-h" {
            h2 #class-h { "Classification" }
            dl.facts #classification {
                dt { "Side" } dd data-field="side" { (class.side.name()) }
                dt { "Category" } dd data-field="category" { (class.category) }
                dt { "Queue" } dd data-field="queue" { (class.queue) }
                dt { "Priority" } dd { (layout::priority(class.priority)) }
                dt { "Touchpoint" } dd { (class.touchpoint) }
                dt { "Rules version" } dd { (class.rules_version) }
                dt { "Repeat contact" } dd { (if class.repeat_contact { "yes" } else { "no" }) }
                @if let Some(correction) = &ticket.correction {
                    dt { "Corrected by " (correction.by) } dd {
                        @if let Some(side) = correction.side { "side " (side.name()) " " }
                        @if let Some(category) = &correction.category { "category " (category) }
                    }
                }
            }
            h3 { "Sentiment " (layout::score(class.sentiment.compound)) }
            @if class.sentiment.terms.is_empty() {
                p { "No sentiment words." }
            } @else {
                ul.words #sentiment-words {
                    @for term in &class.sentiment.terms {
                        li .neg[term.weight < 0.0] .pos[term.weight > 0.0] { (term.term) " " (layout::score(term.weight)) }
                    }
                }
            }
            @if !class.evidence.is_empty() {
                h3 { "Lexicon evidence" }
                ul.words {
                    @for evidence in &class.evidence {
                        li { (evidence.lexicon) ": " (evidence.term) " " (layout::score(evidence.weight))
                            @if evidence.negated { " (negated)" } }
                    }
                }
            }
        }
    }
}

/// The explanation: every rule evaluated, the fired ones standing out;
/// `how` says what was evaluated when.
pub fn explained(explanation: &Explanation, how: &str) -> Markup {
    html! {
        section aria-labelledby="explain-h" #explanation {
            h2 #explain-h { "Why it landed here" }
            p.hint { (how) " " (explanation.stop.to_string()) "." }
            ol.rules {
                @for rule in &explanation.rules {
                    li .fired[rule.fired] data-rule=(rule.rule_id) {
                        span.verdict { (if rule.fired { "fired" } else { "did not fire" }) }
                        " " strong { (rule.rule_id) } " (line " (rule.line) ")"
                        @if !rule.description.is_empty() { " — " (rule.description) }
                        @if rule.fired { (condition(&rule.condition)) }
                    }
                }
            }
        }
    }
}

fn condition(trace: &ConditionTrace) -> Markup {
    html! {
        ul.condition {
            li .held[trace.held] {
                code { (trace.description) }
                " " (if trace.held { "held" } else { "did not hold" })
                @if let Some(value) = trace.value { " (value " (format!("{value:.2}")) ")" }
                @for found in &trace.matches {
                    " " span.match { (found.part.name()) ": " mark { (found.text) } }
                }
                @for part in &trace.parts { (condition(part)) }
            }
        }
    }
}

fn history(ticket: &Ticket) -> Markup {
    html! {
        section aria-labelledby="history-h" {
            h2 #history-h { "History" }
            ol.timeline #history {
                @for entry in &ticket.history {
                    li {
                        time { (time(entry.at)) } " "
                        strong { (entry.action) } " by " (entry.actor)
                        @if !entry.detail.is_empty() { ": " (entry.detail) }
                    }
                }
            }
        }
    }
}

fn follow_ups(ticket: &Ticket) -> Markup {
    html! {
        section aria-labelledby="follow-h" #follow-ups {
            h2 #follow-h { "Follow-ups" }
            @if let Some(of) = ticket.follow_up_of {
                p { "This is a service-recovery follow-up of " a href={ (PREFIX) "/tickets/" (of) } { (of) } "." }
            }
            @match &ticket.follow_up {
                Some(follow) => p {
                    "Recovery " code { (follow.recovery_id) } " due " (time(follow.due_at)) ": "
                    @match &follow.state {
                        FollowUpState::Scheduled => "scheduled",
                        FollowUpState::Created(id) => { "created as " a href={ (PREFIX) "/tickets/" (id) } { (id) } },
                        FollowUpState::Skipped(reason) => { "skipped (" (reason) ")" },
                    }
                },
                None => @if ticket.follow_up_of.is_none() { p { "None." } },
            }
        }
    }
}

/// The texts the fired rules matched, lower case, longest first.
fn matched_terms(explanation: &Explanation) -> Vec<String> {
    fn walk<'a>(trace: &'a ConditionTrace, out: &mut Vec<&'a TextMatch>) {
        if trace.held {
            out.extend(&trace.matches);
            trace.parts.iter().for_each(|part| walk(part, out));
        }
    }
    let mut found = Vec::new();
    explanation
        .rules
        .iter()
        .filter(|rule| rule.fired)
        .for_each(|rule| walk(&rule.condition, &mut found));
    let mut terms: Vec<String> = found
        .into_iter()
        .map(|found| found.text.to_ascii_lowercase())
        .filter(|text| !text.trim().is_empty())
        .collect();
    terms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    terms.dedup();
    terms
}

/// `text` with every (ASCII case-insensitive) occurrence of `terms` in
/// `<mark>`; everything escaped.
pub fn highlighted(text: &str, terms: &[String]) -> Markup {
    let lower = text.to_ascii_lowercase();
    let mut marked = vec![false; text.len()];
    for term in terms {
        let mut from = 0;
        while let Some(at) = lower.get(from..).and_then(|rest| rest.find(term.as_str())) {
            let start = from + at;
            let end = start + term.len();
            marked[start..end].iter_mut().for_each(|byte| *byte = true);
            from = end.max(start + 1);
        }
    }
    let mut pieces: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    for end in 1..=text.len() {
        let boundary = end == text.len() || (text.is_char_boundary(end) && marked[end] != marked[start]);
        if boundary {
            if let Some(piece) = text.get(start..end) {
                pieces.push((marked[start], piece));
                start = end;
            }
        }
    }
    html! {
        @for (mark, piece) in pieces {
            @if mark { mark { (piece) } } @else { (piece) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_matches_case_insensitively_and_escapes() {
        let terms = vec!["refund".to_string()];
        let out = highlighted("<b>REFUND</b> now, refund!", &terms).into_string();
        assert_eq!(
            out,
            "&lt;b&gt;<mark>REFUND</mark>&lt;/b&gt; now, <mark>refund</mark>!"
        );
        assert_eq!(highlighted("", &terms).into_string(), "");
        assert_eq!(
            highlighted("été refund", &terms).into_string(),
            "été <mark>refund</mark>"
        );
    }
}
