//! The journey pages: the friction map as a heat map (touchpoint x
//! category or side; colour by volume or by change against the previous
//! window; mean sentiment per cell), and one customer's journey.

use std::collections::BTreeSet;

use maud::{html, Markup};

use super::form::{encode, Form};
use super::layout::{self, time};
use super::session::Viewer;
use super::{html, Answer, ConsoleError, PREFIX};
use crate::app::App;
use crate::insights::report::{
    CustomerScope, GroupBy, JourneyCell, JourneyReport, ReportRequest, DEFAULT_TOP, DEFAULT_WINDOW_HOURS,
    MAX_WINDOW_HOURS,
};

/// The windows offered in the selector, in hours.
pub const WINDOWS: [(u32, &str); 4] = [
    (24, "a day"),
    (168, "a week"),
    (720, "30 days"),
    (2_160, "90 days"),
];

/// Colour steps of the heat map (classes `heat-0` .. `heat-5`).
const STEPS: i64 = 5;

/// Mean sentiment runs from -1 to 1; in thousandths for the colour steps.
const SENTIMENT_SCALE: i64 = 1000;

/// How the cells are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colour {
    Volume,
    Change,
    /// Mean sentiment: negative cells warm, positive cells cool.
    Sentiment,
}

/// `GET /console/journey?window=HOURS&group=category|side&colour=volume|change`.
pub async fn friction(app: &App, viewer: &Viewer, query: &Form) -> Answer {
    let window_hours = match query.non_empty("window") {
        None => DEFAULT_WINDOW_HOURS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|hours| (1..=MAX_WINDOW_HOURS).contains(hours))
            .ok_or_else(|| {
                ConsoleError::BadRequest(format!("window must be 1 to {MAX_WINDOW_HOURS} hours"))
            })?,
    };
    let group_by = match query.non_empty("group") {
        Some("side") => GroupBy::Side,
        _ => GroupBy::Category,
    };
    let colour = match query.non_empty("colour") {
        Some("change") => Colour::Change,
        Some("sentiment") => Colour::Sentiment,
        _ => Colour::Volume,
    };
    let request = ReportRequest {
        window_hours,
        group_by,
        scope: CustomerScope::All,
        top: DEFAULT_TOP,
    };
    let report = app.journey_report(request).await?;
    Ok(html(layout::page(
        Some(viewer),
        "Journey",
        html! {
            h1 { "Customer journey" }
            form.filters #journey-form method="get" action={ (PREFIX) "/journey" } {
                label for="window" { "Window" }
                select #window name="window" {
                    @for (hours, name) in WINDOWS {
                        option value=(hours) selected[hours == window_hours] { (name) }
                    }
                }
                label for="group" { "Group by" }
                select #group name="group" {
                    option value="category" selected[group_by == GroupBy::Category] { "category" }
                    option value="side" selected[group_by == GroupBy::Side] { "side" }
                }
                label for="colour" { "Colour by" }
                select #colour name="colour" {
                    option value="volume" selected[colour == Colour::Volume] { "volume" }
                    option value="change" selected[colour == Colour::Change] { "change against the previous window" }
                    option value="sentiment" selected[colour == Colour::Sentiment] { "mean sentiment" }
                }
                button type="submit" { "Show" }
            }
            p.hint {
                (time(report.windows.start)) " to " (time(report.windows.end)) ": "
                (report.total()) " contacts (previous window " (report.previous_total()) ")."
            }
            (heat_map(&report, colour))
            section aria-labelledby="customer-h" {
                h2 #customer-h { "A customer's journey" }
                form.filters method="get" action={ (PREFIX) "/journey/customer" } {
                    label for="customer-id" { "Customer id" }
                    input #customer-id type="text" name="id" required;
                    button type="submit" { "Show journey" }
                }
            }
        },
    )))
}

fn heat_map(report: &JourneyReport, colour: Colour) -> Markup {
    if report.cells.is_empty() {
        return html! { p #no-contacts { "No contacts in this window or the one before." } };
    }
    let touchpoints: BTreeSet<&str> = report.cells.iter().map(|cell| cell.touchpoint.as_str()).collect();
    let groups: BTreeSet<&str> = report.cells.iter().map(|cell| cell.group.as_str()).collect();
    let scale = report
        .cells
        .iter()
        .map(|cell| match colour {
            Colour::Volume => i64::try_from(cell.current.tickets).unwrap_or(i64::MAX),
            Colour::Change => cell.change().abs(),
            Colour::Sentiment => SENTIMENT_SCALE,
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let find = |touchpoint: &str, group: &str| {
        report
            .cells
            .iter()
            .find(|cell| cell.touchpoint == touchpoint && cell.group == group)
    };
    html! {
        table.heat #heat-map {
            caption {
                "Contacts per touchpoint and " (if groups.iter().any(|g| *g == "reactive" || *g == "proactive") { "side" } else { "category" })
                "; colour by " (match colour {
                    Colour::Volume => "volume",
                    Colour::Change => "change",
                    Colour::Sentiment => "mean sentiment (warm: negative, cool: positive)",
                })
                "; each cell: contacts, change, mean sentiment"
            }
            thead { tr {
                th scope="col" { "Touchpoint" }
                @for group in &groups { th scope="col" { (if group.is_empty() { "(none)" } else { group }) } }
            } }
            tbody {
                @for touchpoint in &touchpoints {
                    tr {
                        th scope="row" { (touchpoint) }
                        @for group in &groups {
                            @match find(touchpoint, group) {
                                Some(cell) => (heat_cell(cell, colour, scale)),
                                None => td.heat-0 { "–" },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn heat_cell(cell: &JourneyCell, colour: Colour, scale: i64) -> Markup {
    let sentiment = match cell.current.tickets {
        0 => None,
        tickets => Some(cell.current.sentiment_milli_sum as f64 / 1000.0 / tickets as f64),
    };
    let (value, class) = match colour {
        Colour::Sentiment => {
            let milli = sentiment
                .map_or(0, |mean| (mean * SENTIMENT_SCALE as f64).round() as i64)
                .clamp(-SENTIMENT_SCALE, SENTIMENT_SCALE);
            (milli.abs(), if milli < 0 { "heat" } else { "cool" })
        }
        Colour::Volume => {
            let volume = i64::try_from(cell.current.tickets).unwrap_or(i64::MAX);
            (volume, "heat")
        }
        Colour::Change if cell.change() < 0 => (cell.change().abs(), "cool"),
        Colour::Change => (cell.change(), "heat"),
    };
    let step = value.saturating_mul(STEPS).saturating_add(scale - 1) / scale;
    html! {
        td class={ (class) "-" (step.clamp(0, STEPS)) } data-touchpoint=(cell.touchpoint) data-group=(cell.group) {
            span.count { (cell.current.tickets) }
            " " span.change { "(" (format!("{:+}", cell.change())) ")" }
            @if let Some(sentiment) = sentiment { br; span.sentiment { "sentiment " (format!("{sentiment:+.2}")) } }
        }
    }
}

/// `GET /console/journey/customer?id=CUSTOMER`: the customer's contacts in
/// time order, with the summary.
pub async fn customer(app: &App, viewer: &Viewer, query: &Form) -> Answer {
    let id = query
        .non_empty("id")
        .ok_or_else(|| ConsoleError::BadRequest("give a customer id".into()))?;
    let journey = app.customer_journey(id).await?;
    let summary = &journey.summary;
    Ok(html(layout::page(
        Some(viewer),
        "Customer journey",
        html! {
            nav.crumbs aria-label="Breadcrumb" { a href={ (PREFIX) "/journey" } { "Journey" } " / " (id) }
            h1 { "Journey of " (id) }
            dl.facts #journey-summary {
                dt { "Contacts" } dd { (summary.contacts) }
                dt { "First contact" } dd { (summary.first_contact.map(time).unwrap_or_else(|| "–".into())) }
                dt { "Reactive, last 30 days" } dd { (summary.reactive_recent) }
                dt { "Open contacts" } dd { (summary.open_contacts) }
                dt { "Open follow-ups" } dd { (summary.open_follow_ups) }
                dt { "Sentiment trend" } dd { (summary.trend.name()) " ("
                    (format!("{:+.2}", summary.earlier_sentiment)) " → " (format!("{:+.2}", summary.recent_sentiment)) ")" }
            }
            @if journey.truncated { p.hint { "Older contacts are left out." } }
            @if journey.contacts.is_empty() {
                p #no-contacts { "No contacts on record for this customer." }
            } @else {
                ol.timeline #journey {
                    @for contact in &journey.contacts {
                        li {
                            time { (time(contact.ingested_at)) } " "
                            a href={ (PREFIX) "/tickets/" (contact.id) } { (contact.id) } " "
                            @if contact.is_follow_up() { "follow-up " }
                            strong { (contact.classification.side.name()) } " "
                            (contact.classification.category) " at " (contact.classification.touchpoint)
                            ", sentiment " (layout::score(contact.classification.sentiment.compound))
                            ", " (if contact.is_open() { "open" } else { "done" })
                            ": " (contact.input.subject)
                        }
                    }
                }
            }
            p { a href={ (PREFIX) "/journey?customer=" (encode(id)) } { "Back to the friction map" } }
        },
    )))
}
