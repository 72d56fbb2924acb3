//! The queues page (every queue's figures, refreshed by a short poll of
//! [`rows`]) and one queue's waiting tickets in claim order, paged.

use std::time::Instant;

use maud::{html, Markup};

use super::form::{encode, Form};
use super::layout::{self, age};
use super::rates::{RateView, Rates, WINDOW};
use super::session::Viewer;
use super::{html, Answer, ConsoleError, PREFIX};
use crate::app::{App, QueueOverview};
use crate::store::QueueCursor;
use crate::ticket::TicketView;

/// Tickets shown per page of a queue.
pub const PAGE_SIZE: usize = 50;

/// How often the queue figures refresh in the browser, in milliseconds.
pub const REFRESH_MS: u32 = 2_000;

/// `GET /console/queues`: every queue with its figures.
pub async fn overview(app: &App, rates: &Rates, viewer: &Viewer) -> Answer {
    let queues = app.queues().await?;
    let now = app.now();
    let rates = rates.view(Instant::now(), &app.queue_totals());
    Ok(html(layout::page(
        Some(viewer),
        "Queues",
        html! {
            h1 { "Queues" }
            p.hint #live-status aria-live="polite" {
                "Figures as of " (layout::time(now)) "; they refresh every "
                (REFRESH_MS / 1000) " s while this page is open (with JavaScript; reload otherwise). "
                "Rates are per minute over the last " (age(rates.span.as_secs().max(1))) " (at most "
                (age(WINDOW.as_secs())) ")."
            }
            table.data #queues {
                caption { "Every queue the running rules declare" }
                thead {
                    tr {
                        th scope="col" { "Queue" }
                        th scope="col" { "Description" }
                        th.num scope="col" { "Waiting" }
                        th.num scope="col" { "Leased" }
                        th.num scope="col" { "Breached" }
                        th.num scope="col" { "At risk" }
                        th.num scope="col" { "Oldest waiting" }
                        th.num scope="col" { "Arrivals /min" }
                        th.num scope="col" { "Completions /min" }
                    }
                }
                tbody #queue-rows data-refresh={ (PREFIX) "/queues/rows" } data-every=(REFRESH_MS) {
                    (queue_rows(&queues, &rates, now))
                }
            }
        },
    )))
}

/// `GET /console/queues/rows`: the table rows alone, for the live refresh.
pub async fn rows(app: &App, rates: &Rates) -> Answer {
    let queues = app.queues().await?;
    let rates = rates.view(Instant::now(), &app.queue_totals());
    Ok(html(queue_rows(&queues, &rates, app.now())))
}

fn queue_rows(queues: &[QueueOverview], rates: &RateView, now: crate::clock::UnixMicros) -> Markup {
    html! {
        @for queue in queues {
            @let stats = &queue.stats;
            tr data-queue=(queue.name) {
                th scope="row" { a href={ (PREFIX) "/queues/" (encode(&queue.name)) } { (queue.name) } }
                td { (queue.description) }
                td.num data-field="depth" { (stats.depth) }
                td.num data-field="leased" { (stats.leased) }
                td.num data-field="breached" .alert[stats.breached > 0] { (stats.breached) }
                td.num data-field="at_risk" .warn[stats.at_risk > 0] { (stats.at_risk) }
                td.num data-field="oldest" {
                    @match stats.oldest_enqueued_at {
                        Some(at) => (age(now.seconds_since(at))),
                        None => "–",
                    }
                }
                @match rates.of(&queue.name) {
                    Some(rate) => {
                        td.num data-field="arrivals" { (format!("{:.1}", rate.arrivals)) }
                        td.num data-field="completions" { (format!("{:.1}", rate.completions)) }
                    },
                    None => { td.num data-field="arrivals" { "–" } td.num data-field="completions" { "–" } },
                }
            }
        }
    }
}

/// `GET /console/queues/{name}?after=CURSOR`: a page of the queue's waiting
/// tickets in the order agents claim them.
pub async fn queue(app: &App, viewer: &Viewer, name: &str, query: &Form) -> Answer {
    let cursor = match query.non_empty("after") {
        Some(token) => Some(
            QueueCursor::from_token(token)
                .ok_or_else(|| ConsoleError::BadRequest("this page link is not valid; start again".into()))?,
        ),
        None => None,
    };
    let page = app.list_queue(name, PAGE_SIZE, cursor, TicketView::Basic).await?;
    let now = app.now();
    let base = format!("{PREFIX}/queues/{}", encode(name));
    Ok(html(layout::page(
        Some(viewer),
        name,
        html! {
            nav.crumbs aria-label="Breadcrumb" { a href={ (PREFIX) "/queues" } { "Queues" } " / " (name) }
            h1 { "Queue " (name) }
            p.hint { "Waiting tickets in claim order (priority, then time queued)." }
            @if page.tickets.is_empty() {
                p #empty { "No ticket is waiting" @if cursor.is_some() { " after the previous page" } "." }
            } @else {
                table.data #tickets {
                    caption { "Waiting tickets" }
                    thead {
                        tr {
                            th scope="col" { "Ticket" }
                            th scope="col" { "Subject" }
                            th scope="col" { "Priority" }
                            th scope="col" { "Side" }
                            th scope="col" { "Category" }
                            th.num scope="col" { "Sentiment" }
                            th.num scope="col" { "Waiting" }
                            th scope="col" { "SLA" }
                        }
                    }
                    tbody {
                        @for ticket in &page.tickets {
                            @let sla = layout::sla(ticket, now);
                            tr {
                                th scope="row" { a href={ (PREFIX) "/tickets/" (ticket.id) } { (ticket.id) } }
                                td { (ticket.input.subject) }
                                td { (layout::priority(ticket.classification.priority)) }
                                td { (ticket.classification.side.name()) }
                                td { (ticket.classification.category) }
                                td.num { (layout::score(ticket.classification.sentiment.compound)) }
                                td.num { (age(now.seconds_since(ticket.enqueued_at))) }
                                td .alert[sla == "breached"] .warn[sla == "at risk"] { (sla) }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Pages" {
                @if cursor.is_some() { a href=(base) { "First page" } " " }
                @if let Some(next) = page.next {
                    a rel="next" href={ (base) "?after=" (encode(&next.to_token())) } { "Next page" }
                }
            }
        },
    )))
}
