//! `report` and `journey`: the CX insight answers, as stable view structs
//! for `--json` and as tables for people.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::args::ReportArgs;
use super::commands::Session;
use super::error::CliError;
use super::human::table;
use super::time::{local, local_text, rfc3339};
use super::view::{enum_name, side};
use crate::pb;

/// One touchpoint x group of the friction map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// The touchpoint.
    pub touchpoint: String,
    /// The category or side.
    pub group: String,
    /// Contacts in the window.
    pub contacts: u64,
    /// Reactive contacts in the window.
    pub reactive: u64,
    /// Proactive contacts in the window.
    pub proactive: u64,
    /// Contacts in the previous window.
    pub previous_contacts: u64,
    /// Change in contacts.
    pub change: i64,
    /// Change in reactive contacts (friction).
    pub reactive_change: i64,
    /// Change in positive contacts (delight).
    pub positive_change: i64,
    /// Mean sentiment.
    pub mean_sentiment: f64,
    /// Contacts per sentiment bucket, most negative first.
    pub sentiment_buckets: Vec<u64>,
    /// Share of repeat contacts.
    pub repeat_share: f64,
}

impl From<&pb::JourneyCell> for Cell {
    fn from(cell: &pb::JourneyCell) -> Cell {
        let sentiment = cell.sentiment.clone().unwrap_or_default();
        let signed = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        Cell {
            touchpoint: cell.touchpoint.clone(),
            group: cell.group.clone(),
            contacts: cell.contacts,
            reactive: cell.reactive,
            proactive: cell.proactive,
            previous_contacts: cell.previous_contacts,
            change: cell.change,
            reactive_change: cell.reactive_change,
            positive_change: signed(cell.positive) - signed(cell.previous_positive),
            mean_sentiment: sentiment.mean,
            sentiment_buckets: sentiment.buckets,
            repeat_share: cell.repeat_share,
        }
    }
}

/// The friction map as `report` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Start of the window.
    pub window_start: Option<String>,
    /// End of the window.
    pub window_end: Option<String>,
    /// Start of the previous window.
    pub previous_start: Option<String>,
    /// Contacts in the window.
    pub total_contacts: u64,
    /// Contacts in the previous window.
    pub previous_total_contacts: u64,
    /// Every cell.
    pub cells: Vec<Cell>,
    /// Where friction rises most.
    pub top_friction: Vec<Cell>,
    /// Where delight rises most.
    pub top_delight: Vec<Cell>,
}

impl From<&pb::JourneyReportResponse> for Report {
    fn from(report: &pb::JourneyReportResponse) -> Report {
        let cells = |cells: &[pb::JourneyCell]| cells.iter().map(Cell::from).collect();
        Report {
            window_start: rfc3339(report.window_start.as_ref()),
            window_end: rfc3339(report.window_end.as_ref()),
            previous_start: rfc3339(report.previous_start.as_ref()),
            total_contacts: report.total_contacts,
            previous_total_contacts: report.previous_total_contacts,
            cells: cells(&report.cells),
            top_friction: cells(&report.top_friction),
            top_delight: cells(&report.top_delight),
        }
    }
}

/// One contact of a journey.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Ticket id.
    pub ticket_id: String,
    /// When triage stored it.
    pub at: Option<String>,
    /// reactive, proactive or unclassified.
    pub side: String,
    /// Category.
    pub category: String,
    /// Touchpoint.
    pub touchpoint: String,
    /// Sentiment, -1 to 1.
    pub sentiment: f64,
    /// queued, claimed or completed.
    pub state: String,
    /// Subject line.
    pub subject: String,
    /// Resolution note.
    pub resolution: String,
    /// For a follow-up: the ticket it follows up.
    pub follow_up_of: String,
    /// Its own follow-up: scheduled, created or skipped, with the ticket.
    pub follow_up: String,
}

/// A customer's journey as `journey` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    /// The customer.
    pub customer_id: String,
    /// The first contact.
    pub first_contact: Option<String>,
    /// Contacts.
    pub contacts: u32,
    /// Reactive contacts in the last 30 days.
    pub reactive_last_30_days: u32,
    /// improving, worsening, steady or unknown.
    pub sentiment_trend: String,
    /// Follow-ups scheduled or open.
    pub open_follow_ups: u32,
    /// Contacts still open.
    pub open_contacts: u32,
    /// Older contacts were left out.
    pub truncated: bool,
    /// Contacts, oldest first.
    pub timeline: Vec<Contact>,
}

fn follow_up(follow_up: Option<&pb::FollowUp>) -> String {
    let Some(follow_up) = follow_up else {
        return String::new();
    };
    let state = enum_name(follow_up.state().as_str_name(), "STATE_");
    match follow_up.state() {
        pb::follow_up::State::Created => format!("{state} {}", follow_up.ticket_id),
        pb::follow_up::State::Scheduled => format!("{state} for {}", local(follow_up.due_at.as_ref())),
        _ => format!("{state}: {}", follow_up.skip_reason),
    }
}

impl From<&pb::GetCustomerJourneyResponse> for Journey {
    fn from(journey: &pb::GetCustomerJourneyResponse) -> Journey {
        let summary = journey.summary.clone().unwrap_or_default();
        Journey {
            customer_id: journey.customer_id.clone(),
            first_contact: rfc3339(summary.first_contact.as_ref()),
            contacts: summary.contacts,
            reactive_last_30_days: summary.reactive_last_30_days,
            sentiment_trend: summary.sentiment_trend,
            open_follow_ups: summary.open_follow_ups,
            open_contacts: summary.open_contacts,
            truncated: journey.truncated,
            timeline: journey
                .contacts
                .iter()
                .map(|contact| Contact {
                    ticket_id: contact.ticket_id.clone(),
                    at: rfc3339(contact.at.as_ref()),
                    side: side(contact.side()),
                    category: contact.category.clone(),
                    touchpoint: contact.touchpoint.clone(),
                    sentiment: contact.sentiment,
                    state: enum_name(contact.state().as_str_name(), "TICKET_STATE_"),
                    subject: contact.subject.clone(),
                    resolution: contact.resolution.clone(),
                    follow_up_of: contact.follow_up_of.clone(),
                    follow_up: follow_up(contact.follow_up.as_ref()),
                })
                .collect(),
        }
    }
}

fn cell_rows(cells: &[Cell]) -> Vec<Vec<String>> {
    cells
        .iter()
        .map(|cell| {
            vec![
                cell.touchpoint.clone(),
                cell.group.clone(),
                cell.contacts.to_string(),
                format!("{:+}", cell.change),
                cell.reactive.to_string(),
                format!("{:+}", cell.reactive_change),
                format!("{:+.2}", cell.mean_sentiment),
                format!("{:.0}%", cell.repeat_share * 100.0),
            ]
        })
        .collect()
}

const CELL_HEADERS: [&str; 8] = [
    "TOUCHPOINT",
    "GROUP",
    "CONTACTS",
    "CHANGE",
    "REACTIVE",
    "CHANGE",
    "SENTIMENT",
    "REPEAT",
];

/// The friction map as tables: every cell, then the rising ones.
pub fn report_text(report: &Report) -> String {
    let mut out = format!(
        "Friction map {} to {} ({} contacts; {} in the window before)\n\n",
        local_text(report.window_start.as_deref()),
        local_text(report.window_end.as_deref()),
        report.total_contacts,
        report.previous_total_contacts
    );
    if report.cells.is_empty() {
        out.push_str("No contacts in either window.\n");
        return out;
    }
    out.push_str(&table(&CELL_HEADERS, &cell_rows(&report.cells)));
    for (title, cells) in [
        ("Rising friction (reactive contacts)", &report.top_friction),
        ("Rising delight (positive contacts)", &report.top_delight),
    ] {
        let _ = writeln!(out, "\n{title}:");
        match cells.is_empty() {
            true => out.push_str("  none\n"),
            false => out.push_str(&table(&CELL_HEADERS, &cell_rows(cells))),
        }
    }
    out
}

/// A customer's journey: the summary, then one line a contact.
pub fn journey_text(journey: &Journey) -> String {
    let mut out = format!("Customer {}\n", journey.customer_id);
    let first = local_text(journey.first_contact.as_deref());
    let _ = writeln!(
        out,
        "  first contact {first}; {} contacts, {} open; {} reactive in the last 30 days",
        journey.contacts, journey.open_contacts, journey.reactive_last_30_days
    );
    let _ = writeln!(
        out,
        "  sentiment {}; {} open follow-ups{}\n",
        journey.sentiment_trend,
        journey.open_follow_ups,
        if journey.truncated {
            "; older contacts left out"
        } else {
            ""
        }
    );
    if journey.timeline.is_empty() {
        out.push_str("No contacts.\n");
        return out;
    }
    let rows: Vec<Vec<String>> = journey
        .timeline
        .iter()
        .map(|contact| {
            let note = match (contact.follow_up_of.as_str(), contact.follow_up.as_str()) {
                ("", "") => String::new(),
                ("", follow_up) => format!("follow-up {follow_up}"),
                (original, _) => format!("follow-up of {original}"),
            };
            vec![
                local_text(contact.at.as_deref()),
                contact.ticket_id.clone(),
                contact.side.clone(),
                contact.category.clone(),
                contact.touchpoint.clone(),
                format!("{:+.2}", contact.sentiment),
                contact.state.clone(),
                note,
            ]
        })
        .collect();
    let headers = [
        "WHEN",
        "TICKET",
        "SIDE",
        "CATEGORY",
        "TOUCHPOINT",
        "SENTIMENT",
        "STATE",
        "FOLLOW-UP",
    ];
    out.push_str(&table(&headers, &rows));
    out
}

impl Session {
    /// `report`: the friction map, and its heat map with `--png`.
    pub async fn report(&mut self, args: ReportArgs) -> Result<(), CliError> {
        let group_by = match args.group_by.as_str() {
            "side" => pb::JourneyGroupBy::Side,
            _ => pb::JourneyGroupBy::Category,
        };
        let customers = match args.customers.as_str() {
            "external" => pb::CustomerScope::External,
            "internal" => pb::CustomerScope::Internal,
            _ => pb::CustomerScope::Unspecified,
        };
        let request = pb::JourneyReportRequest {
            window_hours: args.window_hours,
            group_by: group_by.into(),
            customers: customers.into(),
            top: args.top,
        };
        let answer = self
            .client
            .journey_report(request)
            .await
            .map_err(|status| self.context.error(&status))?
            .into_inner();
        let report = Report::from(&answer);
        if let Some(path) = &args.png {
            super::heatmap::draw(&report, path).map_err(|reason| CliError::Heatmap {
                path: path.clone(),
                reason,
            })?;
        }
        self.output.show(&report, report_text)
    }

    /// `journey`: a customer's contacts in time order with a summary.
    pub async fn journey(&mut self, customer_id: String) -> Result<(), CliError> {
        let answer = self
            .client
            .get_customer_journey(pb::GetCustomerJourneyRequest { customer_id })
            .await
            .map_err(|status| self.context.error(&status))?
            .into_inner();
        self.output.show(&Journey::from(&answer), journey_text)
    }
}
