//! Conversion between the API's messages and the domain's types, in one
//! place. Incoming values are checked here; errors name the request field.

use prost_types::Timestamp;

use crate::app::{ActiveRules, QueueOverview, ReclassifyReport, Reloaded};
use crate::backtest::{BacktestFilter, BacktestReport, Move, Progress};
use crate::clock::UnixMicros;
use crate::error::Error;
use crate::events::{QueueEvent, QueueEventKind};
use crate::labels::{LabelSource, LabelledTicket};
use crate::pb;
use crate::rules::{
    ConditionTrace, Diagnostic, Explanation, RuleSet, RuleTrace, StopReason, TextMatch, Validation,
};
use crate::sentiment::Sentiment;
use crate::ticket::{
    Channel, Classification, Correction, Customer, Evidence, HistoryEntry, Priority, Relabel, Side, TextPart,
    Ticket, TicketId, TicketInput, TicketState, TicketView,
};

/// Longest corrected category accepted, in bytes.
const MAX_CATEGORY_BYTES: usize = 256;

/// Checks and converts an incoming ticket; `field` prefixes error field names.
pub(crate) fn ticket_input(input: Option<pb::TicketInput>) -> Result<TicketInput, Error> {
    let input = input.ok_or_else(|| Error::invalid("ticket", "is required"))?;
    let customer = input.customer.unwrap_or_default();
    Ok(TicketInput {
        external_id: input.external_id,
        source: input.source,
        channel: channel(input.channel)?,
        subject: input.subject,
        body: input.body,
        customer: Customer {
            id: customer.id,
            tier: customer.tier,
            email: customer.email,
        },
        language: input.language,
        tags: input.tags,
        created_at: input
            .created_at
            .map(|at| micros("ticket.created_at", &at))
            .transpose()?,
        attributes: input.attributes.into_iter().collect(),
    })
}

fn channel(value: i32) -> Result<Channel, Error> {
    let channel = pb::Channel::try_from(value)
        .map_err(|_| Error::invalid("ticket.channel", format!("unknown value {value}")))?;
    Ok(match channel {
        pb::Channel::Unspecified => Channel::Unspecified,
        pb::Channel::Email => Channel::Email,
        pb::Channel::Chat => Channel::Chat,
        pb::Channel::Phone => Channel::Phone,
        pb::Channel::Social => Channel::Social,
        pb::Channel::Web => Channel::Web,
        pb::Channel::Internal => Channel::Internal,
    })
}

fn channel_to_proto(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Unspecified => pb::Channel::Unspecified,
        Channel::Email => pb::Channel::Email,
        Channel::Chat => pb::Channel::Chat,
        Channel::Phone => pb::Channel::Phone,
        Channel::Social => pb::Channel::Social,
        Channel::Web => pb::Channel::Web,
        Channel::Internal => pb::Channel::Internal,
    }
}

/// Range of timestamps accepted: years 0001 to 9999, as protobuf defines.
const MIN_SECONDS: i64 = -62_135_596_800;
const MAX_SECONDS: i64 = 253_402_300_799;

fn micros(field: &str, at: &Timestamp) -> Result<UnixMicros, Error> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&at.seconds) || !(0..1_000_000_000).contains(&at.nanos) {
        return Err(Error::invalid(field, "is not a valid timestamp"));
    }
    Ok(UnixMicros(at.seconds * 1_000_000 + i64::from(at.nanos / 1_000)))
}

fn timestamp(at: UnixMicros) -> Timestamp {
    Timestamp {
        seconds: at.0.div_euclid(1_000_000),
        nanos: i32::try_from(at.0.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

/// Parses a ticket id from request field `field`.
pub(crate) fn ticket_id(field: &str, text: &str) -> Result<TicketId, Error> {
    if text.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    TicketId::parse(text).ok_or_else(|| {
        Error::invalid(
            field,
            format!("{text:?} is not a ticket id (tkt_<number>, no leading zeros)"),
        )
    })
}

/// Checks that a required text field is present.
pub(crate) fn required<'a>(field: &str, text: &'a str) -> Result<&'a str, Error> {
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    Ok(text)
}

/// An optional string field: `None` when unset (empty).
pub(crate) fn optional(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// Checks and converts an agent's correction from the request fields
/// `corrected_side` and `corrected_category`; unset fields correct nothing.
pub(crate) fn relabel(side: i32, category: &str) -> Result<Relabel, Error> {
    let side = match pb::Side::try_from(side) {
        Ok(pb::Side::Unspecified) => None,
        Ok(pb::Side::Reactive) => Some(Side::Reactive),
        Ok(pb::Side::Proactive) => Some(Side::Proactive),
        Ok(pb::Side::Unclassified) => {
            let reason = "must be SIDE_REACTIVE or SIDE_PROACTIVE (SIDE_UNSPECIFIED for no correction)";
            return Err(Error::invalid("corrected_side", reason));
        }
        Err(_) => return Err(Error::invalid("corrected_side", format!("unknown value {side}"))),
    };
    let category = category.trim();
    if category.chars().any(char::is_control) {
        return Err(Error::invalid(
            "corrected_category",
            "must not contain control characters",
        ));
    }
    if category.len() > MAX_CATEGORY_BYTES {
        let reason = format!(
            "is {} bytes, over the limit of {MAX_CATEGORY_BYTES}",
            category.len()
        );
        return Err(Error::invalid("corrected_category", reason));
    }
    let category = (!category.is_empty()).then(|| category.to_string());
    Ok(Relabel { side, category })
}

fn correction_to_proto(correction: Correction) -> pb::Correction {
    pb::Correction {
        side: correction
            .side
            .map_or(pb::Side::Unspecified, side_to_proto)
            .into(),
        category: correction.category.unwrap_or_default(),
        agent_id: correction.by,
        at: Some(timestamp(correction.at)),
    }
}

/// A labelled example for the API.
pub(crate) fn labelled_ticket(labelled: LabelledTicket) -> pb::LabelledTicket {
    let source = match labelled.source {
        LabelSource::Corrected => pb::LabelSource::Corrected,
        LabelSource::Classified => pb::LabelSource::Classified,
    };
    pb::LabelledTicket {
        id: labelled.id.to_string(),
        subject: labelled.subject,
        text: labelled.text,
        side: side_to_proto(labelled.side).into(),
        category: labelled.category,
        source: source.into(),
    }
}

fn side_to_proto(side: Side) -> pb::Side {
    match side {
        Side::Reactive => pb::Side::Reactive,
        Side::Proactive => pb::Side::Proactive,
        Side::Unclassified => pb::Side::Unclassified,
    }
}

fn priority_to_proto(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Urgent => pb::Priority::Urgent,
        Priority::High => pb::Priority::High,
        Priority::Normal => pb::Priority::Normal,
        Priority::Low => pb::Priority::Low,
    }
}

/// A classification for the API.
pub(crate) fn classification(classification: Classification) -> pb::Classification {
    pb::Classification {
        side: side_to_proto(classification.side).into(),
        category: classification.category,
        queue: classification.queue,
        priority: priority_to_proto(classification.priority).into(),
        tags: classification.tags,
        rule_ids: classification.rule_ids,
        rules_version: classification.rules_version,
        first_response_seconds: classification.first_response_seconds.unwrap_or(0),
        sentiment: Some(sentiment_to_proto(classification.sentiment)),
        scores: classification
            .scores
            .into_iter()
            .map(|score| pb::LexiconScore {
                lexicon: score.lexicon,
                score: score.score,
            })
            .collect(),
        evidence: classification
            .evidence
            .into_iter()
            .map(evidence_to_proto)
            .collect(),
    }
}

fn sentiment_to_proto(sentiment: Sentiment) -> pb::Sentiment {
    pb::Sentiment {
        compound: sentiment.compound,
        positive: sentiment.positive,
        negative: sentiment.negative,
        neutral: sentiment.neutral,
        terms: sentiment
            .terms
            .into_iter()
            .map(|term| pb::SentimentTerm {
                term: term.term,
                weight: term.weight,
            })
            .collect(),
    }
}

fn evidence_to_proto(evidence: Evidence) -> pb::Evidence {
    pb::Evidence {
        lexicon: evidence.lexicon,
        term: evidence.term,
        part: evidence
            .part
            .map_or(pb::TextPart::Unspecified, text_part_to_proto)
            .into(),
        weight: evidence.weight,
        negated: evidence.negated,
    }
}

fn text_part_to_proto(part: TextPart) -> pb::TextPart {
    match part {
        TextPart::Subject => pb::TextPart::Subject,
        TextPart::Body => pb::TextPart::Body,
        TextPart::Quoted => pb::TextPart::Quoted,
        TextPart::Signature => pb::TextPart::Signature,
        TextPart::FullBody => pb::TextPart::FullBody,
    }
}

fn input_to_proto(input: TicketInput) -> pb::TicketInput {
    pb::TicketInput {
        external_id: input.external_id,
        source: input.source,
        channel: channel_to_proto(input.channel).into(),
        subject: input.subject,
        body: input.body,
        customer: Some(pb::Customer {
            id: input.customer.id,
            tier: input.customer.tier,
            email: input.customer.email,
        }),
        language: input.language,
        tags: input.tags,
        created_at: input.created_at.map(timestamp),
        attributes: input.attributes.into_iter().collect(),
    }
}

fn history_to_proto(entry: HistoryEntry) -> pb::HistoryEntry {
    pb::HistoryEntry {
        at: Some(timestamp(entry.at)),
        actor: entry.actor,
        action: entry.action,
        detail: entry.detail,
    }
}

/// The view a list request asks for (request field `view`); lists default
/// to [`TicketView::Basic`].
pub(crate) fn ticket_view(value: i32) -> Result<TicketView, Error> {
    match pb::TicketView::try_from(value) {
        Ok(pb::TicketView::Unspecified | pb::TicketView::Basic) => Ok(TicketView::Basic),
        Ok(pb::TicketView::Full) => Ok(TicketView::Full),
        Err(_) => Err(Error::invalid("view", format!("unknown value {value}"))),
    }
}

/// A ticket just claimed, for the agent that claimed it: the one answer that
/// carries the lease token.
pub(crate) fn claimed_ticket(claimed: Ticket) -> pb::Ticket {
    let token = claimed.lease().map(|lease| lease.token.clone());
    let mut answer = ticket(claimed);
    if let (Some(lease), Some(token)) = (answer.lease.as_mut(), token) {
        lease.token = token;
    }
    answer
}

/// A stored ticket for the API, showing the lease's holder and expiry but
/// never its token: the token goes only to the claimant
/// ([`claimed_ticket`]), so a ticket id is not enough to work a ticket.
pub(crate) fn ticket(ticket: Ticket) -> pb::Ticket {
    let (state, lease) = match ticket.state {
        TicketState::Queued => (pb::TicketState::Queued, None),
        TicketState::Claimed(lease) => (
            pb::TicketState::Claimed,
            Some(pb::Lease {
                agent_id: lease.agent_id,
                token: String::new(),
                expires_at: Some(timestamp(lease.expires_at)),
            }),
        ),
        TicketState::Completed => (pb::TicketState::Completed, None),
    };
    pb::Ticket {
        id: ticket.id.to_string(),
        input: Some(input_to_proto(ticket.input)),
        classification: Some(classification(ticket.classification)),
        state: state.into(),
        ingested_at: Some(timestamp(ticket.ingested_at)),
        lease,
        claim_count: ticket.claim_count,
        first_response_due: ticket.first_response_due.map(timestamp),
        escalated: ticket.escalated,
        history: ticket.history.into_iter().map(history_to_proto).collect(),
        resolution: ticket.resolution,
        correction: ticket.correction.map(correction_to_proto),
    }
}

/// A queue summary for the API, aged at `now`.
pub(crate) fn queue_summary(queue: QueueOverview, now: UnixMicros) -> pb::QueueSummary {
    pb::QueueSummary {
        name: queue.name,
        depth: queue.stats.depth,
        oldest_age_seconds: queue
            .stats
            .oldest_enqueued_at
            .map_or(0, |at| now.seconds_since(at)),
        leased: queue.stats.leased,
        breached: queue.stats.breached,
        at_risk: queue.stats.at_risk,
        description: queue.description,
    }
}

/// A queue event for watchers.
pub(crate) fn queue_event(event: QueueEvent) -> pb::WatchQueueResponse {
    let kind = match event.kind {
        QueueEventKind::Added => pb::QueueEventKind::Added,
        QueueEventKind::Claimed => pb::QueueEventKind::Claimed,
        QueueEventKind::Released => pb::QueueEventKind::Released,
        QueueEventKind::Completed => pb::QueueEventKind::Completed,
        QueueEventKind::TransferredOut => pb::QueueEventKind::TransferredOut,
        QueueEventKind::Escalated => pb::QueueEventKind::Escalated,
        QueueEventKind::LeaseExpired => pb::QueueEventKind::LeaseExpired,
    };
    pb::WatchQueueResponse {
        kind: kind.into(),
        ticket_id: event.ticket_id.to_string(),
        queue: event.queue,
        at: Some(timestamp(event.at)),
        missed: 0,
    }
}

/// The event that tells a watcher it missed `missed` events.
pub(crate) fn lagged(queue: &str, missed: u64, now: UnixMicros) -> pb::WatchQueueResponse {
    pb::WatchQueueResponse {
        kind: pb::QueueEventKind::Lagged.into(),
        ticket_id: String::new(),
        queue: queue.to_string(),
        at: Some(timestamp(now)),
        missed,
    }
}

/// A compiled rule set, summarised.
pub(crate) fn rule_set_summary(rules: &RuleSet) -> pb::RuleSetSummary {
    pb::RuleSetSummary {
        version: rules.version().to_string(),
        source: rules.source().to_string(),
        rule_count: u32::try_from(rules.rule_count()).unwrap_or(u32::MAX),
        queues: rules.queues().iter().map(|queue| queue.name.clone()).collect(),
        lexicons: rules.lexicon_names().to_vec(),
        reads_history: rules.reads_history(),
    }
}

/// A finding about a rule file.
pub(crate) fn rule_diagnostic(diagnostic: Diagnostic) -> pb::RuleDiagnostic {
    pb::RuleDiagnostic {
        file: diagnostic.file,
        line: u32::try_from(diagnostic.line).unwrap_or(u32::MAX),
        column: u32::try_from(diagnostic.column).unwrap_or(u32::MAX),
        rule_id: diagnostic.rule_id.unwrap_or_default(),
        message: diagnostic.message,
    }
}

/// What validating a candidate found.
pub(crate) fn validation(validation: Validation) -> pb::ValidateRuleSetResponse {
    pb::ValidateRuleSetResponse {
        valid: validation.is_valid(),
        summary: validation.rules.as_ref().map(rule_set_summary),
        errors: validation.errors.into_iter().map(rule_diagnostic).collect(),
        warnings: validation.warnings.into_iter().map(rule_diagnostic).collect(),
    }
}

/// The running rule set, with its text when it fits in `max_text_bytes`.
pub(crate) fn get_rule_set(active: &ActiveRules, max_text_bytes: usize) -> pb::GetRuleSetResponse {
    let text = active.rules.text();
    let fits = text.len() <= max_text_bytes;
    pb::GetRuleSetResponse {
        summary: Some(rule_set_summary(&active.rules)),
        loaded_at: Some(timestamp(active.loaded_at)),
        text: if fits { text.to_string() } else { String::new() },
        text_omitted: !fits,
        text_bytes: u64::try_from(text.len()).unwrap_or(u64::MAX),
    }
}

/// The rules now running after a reload.
pub(crate) fn reloaded(
    reloaded: &Reloaded,
    previous_version: String,
    warnings: Vec<Diagnostic>,
) -> pb::ReloadRulesResponse {
    let active = &reloaded.active;
    pb::ReloadRulesResponse {
        summary: Some(rule_set_summary(&active.rules)),
        loaded_at: Some(timestamp(active.loaded_at)),
        warnings: warnings.into_iter().map(rule_diagnostic).collect(),
        previous_version,
        moved: reloaded.moved,
    }
}

/// What a reclassification of open tickets moved.
pub(crate) fn reclassified(report: ReclassifyReport) -> pb::ReclassifyOpenResponse {
    pb::ReclassifyOpenResponse {
        rules_version: report.rules_version,
        examined: report.examined,
        moved: report.moved,
        moves: report.moves.into_iter().map(backtest_move).collect(),
    }
}

fn backtest_move(moved: Move) -> pb::BacktestMove {
    pb::BacktestMove {
        from_side: side_to_proto(moved.from.side).into(),
        from_category: moved.from.category,
        from_queue: moved.from.queue,
        to_side: side_to_proto(moved.to.side).into(),
        to_category: moved.to.category,
        to_queue: moved.to.queue,
        count: moved.count,
        sample_ticket_ids: moved.samples.iter().map(ToString::to_string).collect(),
    }
}

/// How the rules decided a ticket.
pub(crate) fn explanation(explanation: Explanation) -> pb::ExplainTicketResponse {
    let stopped_by_rule_id = match &explanation.stop {
        StopReason::StopRule { rule_id, .. } => rule_id.clone(),
        StopReason::EndOfRules => String::new(),
    };
    pb::ExplainTicketResponse {
        stop_reason: explanation.stop.to_string(),
        stopped_by_rule_id,
        rules: explanation.rules.into_iter().map(rule_trace).collect(),
        classification: Some(classification(explanation.classification)),
    }
}

fn rule_trace(trace: RuleTrace) -> pb::RuleTrace {
    pb::RuleTrace {
        rule_id: trace.rule_id,
        line: u32::try_from(trace.line).unwrap_or(u32::MAX),
        description: trace.description,
        fired: trace.fired,
        stop: trace.stop,
        condition: Some(condition_trace(trace.condition)),
    }
}

fn condition_trace(trace: ConditionTrace) -> pb::ConditionTrace {
    pb::ConditionTrace {
        description: trace.description,
        held: trace.held,
        parts: trace.parts.into_iter().map(condition_trace).collect(),
        matches: trace.matches.into_iter().map(text_match).collect(),
        value: trace.value,
    }
}

fn text_match(found: TextMatch) -> pb::TextMatch {
    pb::TextMatch {
        part: text_part_to_proto(found.part).into(),
        start: u32::try_from(found.start).unwrap_or(u32::MAX),
        end: u32::try_from(found.end).unwrap_or(u32::MAX),
        text: found.text,
        term: found.term,
    }
}

/// Which tickets a backtest reads, from the request's fields.
pub(crate) fn backtest_filter(request: &pb::BacktestRuleSetRequest) -> Result<BacktestFilter, Error> {
    let side = match pb::Side::try_from(request.side) {
        Ok(pb::Side::Unspecified) => None,
        Ok(pb::Side::Reactive) => Some(Side::Reactive),
        Ok(pb::Side::Proactive) => Some(Side::Proactive),
        Ok(pb::Side::Unclassified) => Some(Side::Unclassified),
        Err(_) => return Err(Error::invalid("side", format!("unknown value {}", request.side))),
    };
    Ok(BacktestFilter {
        ingested_from: request
            .ingested_from
            .as_ref()
            .map(|at| micros("ingested_from", at))
            .transpose()?,
        ingested_before: request
            .ingested_before
            .as_ref()
            .map(|at| micros("ingested_before", at))
            .transpose()?,
        queue: (!request.queue.is_empty()).then(|| request.queue.clone()),
        side,
    })
}

/// A backtest's progress, out of `total` stored tickets.
pub(crate) fn backtest_progress(progress: Progress, total: u64) -> pb::BacktestRuleSetResponse {
    pb::BacktestRuleSetResponse {
        event: Some(pb::backtest_rule_set_response::Event::Progress(counts(
            progress, total,
        ))),
    }
}

fn counts(progress: Progress, total: u64) -> pb::BacktestProgress {
    pb::BacktestProgress {
        scanned: progress.scanned,
        matched: progress.matched,
        changed: progress.changed,
        total,
    }
}

/// A backtest's result.
pub(crate) fn backtest_result(report: BacktestReport, total: u64) -> pb::BacktestRuleSetResponse {
    let moves = report.moves.into_iter().map(backtest_move).collect();
    pb::BacktestRuleSetResponse {
        event: Some(pb::backtest_rule_set_response::Event::Result(
            pb::BacktestResult {
                candidate_version: report.candidate_version,
                counts: Some(counts(report.progress, total)),
                moves,
            },
        )),
    }
}
