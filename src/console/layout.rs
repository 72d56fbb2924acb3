//! The page shell every console page shares (head, skip link, navigation,
//! sign-out form) and small formatting helpers.

use maud::{html, Markup, DOCTYPE};

use super::session::{Viewer, CSRF_FIELD};
use super::PREFIX;
use crate::clock::UnixMicros;
use crate::ticket::{Priority, Ticket};

/// A whole page titled `title` around `main`; `viewer` is `None` on the
/// login form and on errors before sign-in.
pub fn page(viewer: Option<&Viewer>, title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · triage console" }
                link rel="icon" href={ (PREFIX) "/static/favicon.svg" } type="image/svg+xml";
                link rel="stylesheet" href={ (PREFIX) "/static/console.css" };
                script src={ (PREFIX) "/static/console.js" } defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "triage" }
                    @if let Some(viewer) = viewer {
                        nav aria-label="Console" {
                            ul {
                                li { a href={ (PREFIX) "/queues" } { "Queues" } }
                                li { a href={ (PREFIX) "/rules" } { "Rules" } }
                                li { a href={ (PREFIX) "/journey" } { "Journey" } }
                            }
                        }
                        span.who {
                            @if viewer.auth_off { "authentication off" } @else { "signed in: " (viewer.roles()) }
                        }
                        @if !viewer.auth_off {
                            form.inline method="post" action={ (PREFIX) "/logout" } {
                                (csrf_field(viewer))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                @if viewer.is_some_and(|viewer| viewer.auth_off) {
                    p.banner role="note" {
                        "Authentication is off (no tokens configured): anyone who can reach this port \
                         has admin rights here, as on the gRPC port."
                    }
                }
                main #main { (main) }
            }
        }
    }
}

/// The hidden CSRF field every POST form carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(viewer.csrf()); }
}

/// A duration in seconds as people read it: `45s`, `12m`, `3h 05m`, `2d 4h`.
pub fn age(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3_599 => format!("{}m", seconds / 60),
        3_600..=86_399 => format!("{}h {:02}m", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{}d {}h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}

/// An instant as `2026-01-01 09:30:00 UTC`.
pub fn time(at: UnixMicros) -> String {
    chrono::DateTime::from_timestamp_micros(at.0)
        .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{} µs", at.0))
}

/// A sentiment score with its sign, e.g. `-0.62`.
pub fn score(value: f32) -> String {
    format!("{value:+.2}")
}

/// A priority's name as rule files spell it.
pub fn priority(priority: Priority) -> &'static str {
    match priority {
        Priority::Urgent => "urgent",
        Priority::High => "high",
        Priority::Normal => "normal",
        Priority::Low => "low",
    }
}

/// Where a waiting ticket stands against its first-response deadline at
/// `now`: `breached`, `at risk` (under a quarter of its window left, as
/// the queue figures count it: the last quarter of the window since it
/// was queued), `on time`, or `no deadline`.
pub fn sla(ticket: &Ticket, now: UnixMicros) -> &'static str {
    let Some(due) = ticket.first_response_due else {
        return "no deadline";
    };
    if due <= now {
        return "breached";
    }
    let at_risk_from = due
        .0
        .saturating_sub(due.0.saturating_sub(ticket.enqueued_at.0).max(0) / 4);
    if now.0 >= at_risk_from {
        "at risk"
    } else {
        "on time"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(125), "2m");
        assert_eq!(age(3 * 3_600 + 5 * 60), "3h 05m");
        assert_eq!(age(2 * 86_400 + 4 * 3_600), "2d 4h");
        assert_eq!(time(UnixMicros(1_767_225_600_000_000)), "2026-01-01 00:00:00 UTC");
    }
}
