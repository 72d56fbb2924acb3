//! Conversion of the CX insight messages: `JourneyReport` and
//! `GetCustomerJourney`.

use super::{channel_to_proto, follow_up_to_proto, side_to_proto, state_to_proto, timestamp};
use crate::error::Error;
use crate::insights::report::{DEFAULT_WINDOW_HOURS, MAX_TOP, MAX_WINDOW_HOURS};
use crate::insights::{CustomerJourney, CustomerScope, GroupBy, JourneyCell, JourneyReport, ReportRequest};
use crate::pb;
use crate::ticket::Ticket;

/// Checks and converts a `JourneyReportRequest`.
pub(crate) fn report_request(request: &pb::JourneyReportRequest) -> Result<ReportRequest, Error> {
    let window_hours = match request.window_hours {
        0 => DEFAULT_WINDOW_HOURS,
        hours if hours <= MAX_WINDOW_HOURS => hours,
        hours => {
            let reason = format!("{hours} is over the maximum of {MAX_WINDOW_HOURS}");
            return Err(Error::invalid("window_hours", reason));
        }
    };
    let group_by = match pb::JourneyGroupBy::try_from(request.group_by) {
        Ok(pb::JourneyGroupBy::Unspecified | pb::JourneyGroupBy::Category) => GroupBy::Category,
        Ok(pb::JourneyGroupBy::Side) => GroupBy::Side,
        Err(_) => {
            return Err(Error::invalid(
                "group_by",
                format!("unknown value {}", request.group_by),
            ))
        }
    };
    let scope = match pb::CustomerScope::try_from(request.customers) {
        Ok(pb::CustomerScope::Unspecified) => CustomerScope::All,
        Ok(pb::CustomerScope::External) => CustomerScope::External,
        Ok(pb::CustomerScope::Internal) => CustomerScope::Internal,
        Err(_) => {
            return Err(Error::invalid(
                "customers",
                format!("unknown value {}", request.customers),
            ))
        }
    };
    let top = match usize::try_from(request.top).unwrap_or(usize::MAX) {
        0 => crate::insights::report::DEFAULT_TOP,
        top if top <= MAX_TOP => top,
        top => {
            return Err(Error::invalid(
                "top",
                format!("{top} is over the maximum of {MAX_TOP}"),
            ))
        }
    };
    Ok(ReportRequest {
        window_hours,
        group_by,
        scope,
        top,
    })
}

fn cell(cell: &JourneyCell) -> pb::JourneyCell {
    pb::JourneyCell {
        touchpoint: cell.touchpoint.clone(),
        group: cell.group.clone(),
        contacts: cell.current.tickets,
        reactive: cell.by_side[0],
        proactive: cell.by_side[1],
        unclassified: cell.by_side[2],
        previous_contacts: cell.previous.tickets,
        change: cell.change(),
        previous_reactive: cell.previous_reactive,
        reactive_change: cell.reactive_change(),
        sentiment: Some(pb::SentimentSummary {
            mean: cell.current.mean_sentiment(),
            buckets: cell.current.sentiment_buckets.to_vec(),
        }),
        repeat_share: cell.repeat_share(),
        positive: cell.positive(),
        previous_positive: cell.previous_positive(),
    }
}

/// A friction map for the API.
pub(crate) fn journey_report(report: &JourneyReport) -> pb::JourneyReportResponse {
    pb::JourneyReportResponse {
        window_start: Some(timestamp(report.windows.start)),
        window_end: Some(timestamp(report.windows.end)),
        previous_start: Some(timestamp(report.windows.previous_start)),
        cells: report.cells.iter().map(cell).collect(),
        top_friction: report.top_friction.iter().map(cell).collect(),
        top_delight: report.top_delight.iter().map(cell).collect(),
        total_contacts: report.total(),
        previous_total_contacts: report.previous_total(),
    }
}

fn contact(ticket: Ticket) -> pb::JourneyContact {
    pb::JourneyContact {
        ticket_id: ticket.id.to_string(),
        at: Some(timestamp(ticket.ingested_at)),
        side: side_to_proto(ticket.final_side()).into(),
        category: ticket.final_category().to_string(),
        touchpoint: ticket.classification.touchpoint.clone(),
        sentiment: f64::from(ticket.classification.sentiment.compound),
        channel: channel_to_proto(ticket.input.channel).into(),
        subject: ticket.input.subject.clone(),
        state: state_to_proto(&ticket.state).into(),
        resolution: ticket.resolution.clone(),
        follow_up_of: ticket.follow_up_of.map(|id| id.to_string()).unwrap_or_default(),
        repeat_contact: ticket.classification.repeat_contact,
        follow_up: ticket.follow_up.map(follow_up_to_proto),
    }
}

/// A customer's journey for the API.
pub(crate) fn customer_journey(journey: CustomerJourney) -> pb::GetCustomerJourneyResponse {
    let summary = &journey.summary;
    let summary = pb::CustomerJourneySummary {
        first_contact: summary.first_contact.map(timestamp),
        contacts: summary.contacts,
        reactive_last_30_days: summary.reactive_recent,
        sentiment_trend: summary.trend.name().to_string(),
        recent_sentiment: summary.recent_sentiment,
        earlier_sentiment: summary.earlier_sentiment,
        open_follow_ups: summary.open_follow_ups,
        open_contacts: summary.open_contacts,
    };
    pb::GetCustomerJourneyResponse {
        customer_id: journey.customer_id,
        contacts: journey.contacts.into_iter().map(contact).collect(),
        summary: Some(summary),
        truncated: journey.truncated,
    }
}
