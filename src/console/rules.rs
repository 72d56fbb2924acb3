//! The rules page: the running rule set, the playground (a pasted message
//! and where the rules would put it, as the person types), and one
//! candidate rule file to validate (errors at their lines), backtest over
//! the stored tickets (the move matrix) or activate (admin); and (admin)
//! reading the server's rule file again, as SIGHUP does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use maud::{html, Markup};

use super::form::Form;
use super::layout::{self, csrf_field, time};
use super::session::{Action, Viewer};
use super::ticket::explained;
use super::{html, Answer, ConsoleError, PREFIX};
use crate::app::App;
use crate::backtest::{BacktestFilter, BacktestReport, Placement};
use crate::clock::UnixMicros;
use crate::error::Error;
use crate::rules::{Diagnostic, Validation};
use crate::ticket::{Channel, Customer, Side, TicketInput};

/// The name a candidate goes by in messages.
pub const CANDIDATE_NAME: &str = "candidate.toml";

/// Sample tickets kept per move of a backtest.
pub const SAMPLES_PER_MOVE: usize = 5;

/// The customer id the playground's messages are written by.
const PLAYGROUND_CUSTOMER: &str = "console-playground";

/// What every rules handler needs: the domain, the viewer, and the
/// server's rule file (for the admin's reload).
#[derive(Debug, Clone, Copy)]
pub struct RulesPage<'a> {
    /// The domain.
    pub app: &'a App,
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// The rule file the server runs from; `None`: the embedded rules.
    pub rules_file: Option<&'a Path>,
}

/// What the page shows below the running rules, after an action.
enum Outcome {
    None,
    Playground(Markup),
    Validated(Box<Validation>),
    Backtested(BacktestReport),
    Activated { version: String, previous: String },
    Reloaded { version: String, previous: String },
    Refused(Error),
}

/// `GET /console/rules`.
pub async fn page(page: &RulesPage<'_>) -> Answer {
    Ok(html(render(page, &Form::default(), None, Outcome::None)))
}

/// `GET /console/rules/playground?subject=..&body=..`: where the running
/// rules put the message, with the explanation; `fragment=1` answers the
/// result alone (for the live update as the person types).
pub async fn playground(page: &RulesPage<'_>, query: &Form) -> Answer {
    let result = playground_result(page.app, query).await?;
    if query.get("fragment") == Some("1") {
        return Ok(html(result));
    }
    Ok(html(render(page, query, None, Outcome::Playground(result))))
}

async fn playground_result(app: &App, query: &Form) -> Result<Markup, ConsoleError> {
    let subject = query.get("subject").unwrap_or("").to_string();
    let body = query.get("body").unwrap_or("").to_string();
    if subject.trim().is_empty() && body.trim().is_empty() {
        return Ok(html! { p.hint { "Type a subject or a message to see where it would go." } });
    }
    let input = TicketInput {
        external_id: "playground".into(),
        source: "console".into(),
        channel: Channel::Email,
        subject,
        body,
        customer: Customer {
            id: PLAYGROUND_CUSTOMER.into(),
            ..Customer::default()
        },
        ..TicketInput::default()
    };
    let explanation = app.explain(input).await?;
    let class = &explanation.classification;
    Ok(html! {
        dl.facts #playground-placement {
            dt { "Side" } dd data-field="side" { (class.side.name()) }
            dt { "Category" } dd data-field="category" { (class.category) }
            dt { "Queue" } dd data-field="queue" { (class.queue) }
            dt { "Priority" } dd { (layout::priority(class.priority)) }
            dt { "Sentiment" } dd { (layout::score(explanation.sentiment)) }
        }
        (explained(&explanation, "The running rules on this message, now:"))
    })
}

/// `POST /console/rules/validate`: the candidate's errors and warnings.
pub async fn validate(page: &RulesPage<'_>, form: &Form) -> Answer {
    let text = candidate(form)?;
    let validation = page.app.validate_rules(CANDIDATE_NAME, text.to_string()).await?;
    let status = if validation.is_valid() {
        http::StatusCode::OK
    } else {
        http::StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(super::html_with(
        status,
        render(page, form, Some(text), Outcome::Validated(Box::new(validation))),
    ))
}

/// `POST /console/rules/backtest` (admin): where the candidate would move
/// the stored tickets, changing nothing.
pub async fn backtest(page: &RulesPage<'_>, form: &Form) -> Answer {
    let app = page.app;
    let text = candidate(form)?;
    let filter = backtest_filter(app, form)?;
    let outcome = match app.compile_candidate(CANDIDATE_NAME, text.to_string()).await {
        Ok(rules) => {
            // A person who leaves the page (the connection closes and this
            // future is dropped) stops the scan.
            let left = Arc::new(AtomicBool::new(false));
            let _stop_when_dropped = StopWhenDropped(Arc::clone(&left));
            let report = app
                .backtest(rules, filter, SAMPLES_PER_MOVE, move |_| {
                    !left.load(Ordering::Relaxed)
                })
                .await?
                .ok_or_else(|| Error::Internal("the backtest stopped before it finished".into()))?;
            Outcome::Backtested(report)
        }
        Err(err) => Outcome::Refused(err),
    };
    Ok(html(render(page, form, Some(text), outcome)))
}

/// `POST /console/rules/activate` (admin): swaps the candidate in; on any
/// error the running rules stay and the page says why.
pub async fn activate(page: &RulesPage<'_>, form: &Form) -> Answer {
    let app = page.app;
    let text = candidate(form)?;
    let previous = app.rules().version().to_string();
    let outcome = match app
        .reload_rules_text(CANDIDATE_NAME, text.to_string(), None)
        .await
    {
        Ok(reloaded) => Outcome::Activated {
            version: reloaded.active.rules.version().to_string(),
            previous,
        },
        Err(err) => Outcome::Refused(err),
    };
    Ok(html(render(page, form, Some(text), outcome)))
}

/// `POST /console/rules/reload` (admin): reads the server's rule file
/// again and swaps it in, as SIGHUP does; on any error the running rules
/// stay and the page says why.
pub async fn reload(page: &RulesPage<'_>) -> Answer {
    let path = page.rules_file.ok_or_else(|| {
        ConsoleError::BadRequest("the server runs the embedded rules: there is no rule file to reload".into())
    })?;
    let previous = page.app.rules().version().to_string();
    let outcome = match page.app.reload_rules_path(path, None).await {
        Ok(reloaded) => Outcome::Reloaded {
            version: reloaded.active.rules.version().to_string(),
            previous,
        },
        Err(err) => Outcome::Refused(err),
    };
    Ok(html(render(page, &Form::default(), None, outcome)))
}

/// The backtest's bounds from the form: `bt_queue` (tickets now in that
/// queue), `bt_side` (the rules put them on that side), `bt_days`
/// (ingested in the last so many days); blank fields do not bound.
fn backtest_filter(app: &App, form: &Form) -> Result<BacktestFilter, ConsoleError> {
    let side = match form.non_empty("bt_side") {
        None => None,
        Some(text) => Some(
            Side::parse(text).ok_or_else(|| ConsoleError::BadRequest(format!("{text:?} is not a side")))?,
        ),
    };
    let ingested_from = match form.non_empty("bt_days") {
        None => None,
        Some(text) => {
            let days = text
                .parse::<u64>()
                .ok()
                .filter(|days| (1..=MAX_BACKTEST_DAYS).contains(days))
                .ok_or_else(|| ConsoleError::BadRequest(format!("days must be 1 to {MAX_BACKTEST_DAYS}")))?;
            let micros = i64::try_from(days * 86_400 * 1_000_000).unwrap_or(i64::MAX);
            Some(UnixMicros(app.now().0.saturating_sub(micros)))
        }
    };
    Ok(BacktestFilter {
        ingested_from,
        ingested_before: None,
        queue: form.non_empty("bt_queue").map(str::to_string),
        side,
    })
}

/// The longest look-back a backtest form may ask for, in days.
const MAX_BACKTEST_DAYS: u64 = 3_650;

/// Sets its flag when dropped: the backtest's progress callback reads it.
struct StopWhenDropped(Arc<AtomicBool>);

impl Drop for StopWhenDropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn candidate(form: &Form) -> Result<&str, ConsoleError> {
    form.non_empty("candidate")
        .map(|_| form.get("candidate").unwrap_or(""))
        .ok_or_else(|| ConsoleError::BadRequest("paste a candidate rule file first".into()))
}

fn render(page: &RulesPage<'_>, query: &Form, candidate: Option<&str>, outcome: Outcome) -> Markup {
    let viewer = page.viewer;
    let active = page.app.active_rules();
    let rules = &active.rules;
    let candidate = candidate.unwrap_or_else(|| rules.text());
    let (playground, result) = match outcome {
        Outcome::Playground(markup) => (Some(markup), None),
        other => (None, Some(other)),
    };
    layout::page(
        Some(viewer),
        "Rules",
        html! {
            h1 { "Rules" }
            dl.facts #active-rules {
                dt { "Version" } dd #rules-version { (rules.version()) }
                dt { "Source" } dd { (rules.source()) }
                dt { "Loaded" } dd { (time(active.loaded_at)) }
                dt { "Rules" } dd { (rules.rule_count()) }
                dt { "Queues" } dd { (rules.queues().iter().map(|queue| queue.name.as_str()).collect::<Vec<_>>().join(", ")) }
            }
            details {
                summary { "The running rule file" }
                pre.source { (rules.text()) }
            }
            @if let (Some(path), true) = (page.rules_file, viewer.can(Action::Activate)) {
                form #reload-form method="post" action={ (PREFIX) "/rules/reload#candidate-h" } {
                    (csrf_field(viewer))
                    button type="submit" #reload { "Reload " (path.display()) " from disk" }
                }
            }
            section aria-labelledby="playground-h" {
                h2 #playground-h { "Playground" }
                form #playground method="get" action={ (PREFIX) "/rules/playground#playground-h" } {
                    label for="pg-subject" { "Subject" }
                    input #pg-subject type="text" name="subject" value=(query.get("subject").unwrap_or(""));
                    label for="pg-body" { "Message" }
                    textarea #pg-body name="body" rows="5" { (query.get("body").unwrap_or("")) }
                    button type="submit" { "Classify" }
                }
                div #playground-result aria-live="polite" {
                    @if let Some(markup) = playground { (markup) }
                }
            }
            section aria-labelledby="candidate-h" {
                h2 #candidate-h { "A candidate rule file" }
                @if let Some(result) = result { (outcome_markup(result, candidate)) }
                form #candidate-form method="post" action={ (PREFIX) "/rules/validate#candidate-h" } {
                    (csrf_field(viewer))
                    label for="candidate" { "Rule file (TOML)" }
                    textarea #candidate name="candidate" rows="16" spellcheck="false" { (candidate) }
                    @if viewer.can(Action::Backtest) {
                        fieldset.filters {
                            legend { "Backtest only the tickets" }
                            label for="bt-queue" { "now in queue" }
                            select #bt-queue name="bt_queue" {
                                option value="" { "any queue" }
                                @for queue in rules.queues() {
                                    option value=(queue.name) selected[query.get("bt_queue") == Some(queue.name.as_str())] { (queue.name) }
                                }
                            }
                            label for="bt-side" { "on side" }
                            select #bt-side name="bt_side" {
                                option value="" { "any side" }
                                @for side in ["reactive", "proactive", "unclassified"] {
                                    option value=(side) selected[query.get("bt_side") == Some(side)] { (side) }
                                }
                            }
                            label for="bt-days" { "ingested in the last (days)" }
                            input #bt-days type="number" min="1" max=(MAX_BACKTEST_DAYS) name="bt_days"
                                value=(query.get("bt_days").unwrap_or(""));
                        }
                    }
                    div.actions {
                        button type="submit" #validate { "Validate" }
                        @if viewer.can(Action::Backtest) {
                            button type="submit" #backtest formaction={ (PREFIX) "/rules/backtest#candidate-h" } { "Backtest" }
                        }
                        @if viewer.can(Action::Activate) {
                            button type="submit" #activate formaction={ (PREFIX) "/rules/activate#candidate-h" } { "Activate" }
                        }
                    }
                    @if !viewer.can(Action::Backtest) {
                        p.hint { "Backtests and activating rules need the admin role." }
                    }
                }
            }
        },
    )
}

fn outcome_markup(outcome: Outcome, candidate: &str) -> Markup {
    match outcome {
        Outcome::None | Outcome::Playground(_) => html! {},
        Outcome::Validated(validation) => validated(&validation, candidate),
        Outcome::Backtested(report) => backtested(&report),
        Outcome::Activated { version, previous } => html! {
            p.ok role="status" #activated { "Activated version " strong { (version) } " (was " (previous) ")." }
        },
        Outcome::Reloaded { version, previous } => html! {
            p.ok role="status" #reloaded { "Reloaded the rule file: version " strong { (version) } " (was " (previous) ")." }
        },
        Outcome::Refused(err) => html! {
            p.error role="alert" #refused { "Refused; the running rules stay. " (err.to_string()) }
        },
    }
}

fn validated(validation: &Validation, candidate: &str) -> Markup {
    html! {
        div #validation {
            @if validation.is_valid() {
                p.ok role="status" { "The candidate compiles"
                    @if let Some(rules) = &validation.rules { " (version " (rules.version()) ", " (rules.rule_count()) " rules)" }
                    "." }
            } @else {
                p.error role="alert" { (validation.errors.len()) " error(s): the candidate does not compile." }
            }
            (diagnostics("Errors", "errors", &validation.errors))
            (diagnostics("Warnings", "warnings", &validation.warnings))
            @if !validation.errors.is_empty() || !validation.warnings.is_empty() {
                (listing(candidate, validation))
            }
        }
    }
}

/// The candidate with numbered lines, the lines with findings marked.
fn listing(candidate: &str, validation: &Validation) -> Markup {
    let lines_with =
        |found: &[Diagnostic]| found.iter().map(|diagnostic| diagnostic.line).collect::<Vec<_>>();
    let errors = lines_with(&validation.errors);
    let warnings = lines_with(&validation.warnings);
    html! {
        details open {
            summary { "The candidate, by line" }
            ol.listing #listing {
                @for (index, line) in candidate.lines().enumerate() {
                    @let number = index + 1;
                    @let mark = if errors.contains(&number) {
                        Some("bad")
                    } else if warnings.contains(&number) {
                        Some("warned")
                    } else {
                        None
                    };
                    li id={ "line-" (number) } class=[mark] {
                        code { (line) }
                    }
                }
            }
        }
    }
}

fn diagnostics(title: &str, id: &str, found: &[Diagnostic]) -> Markup {
    html! {
        @if !found.is_empty() {
            h3 { (title) }
            ul.diagnostics id=(id) {
                @for diagnostic in found {
                    li {
                        @if diagnostic.line > 0 {
                            a.where href={ "#line-" (diagnostic.line) } {
                                "line " (diagnostic.line) @if diagnostic.column > 0 { ", column " (diagnostic.column) }
                            }
                        } @else { span.where { "the file" } }
                        @if let Some(rule) = &diagnostic.rule_id { " rule " code { (rule) } }
                        ": " (diagnostic.message)
                    }
                }
            }
        }
    }
}

fn placement(placement: &Placement) -> Markup {
    html! {
        (placement.side.name()) " / "
        (if placement.category.is_empty() { "–" } else { placement.category.as_str() })
        " / " (placement.queue)
    }
}

fn backtested(report: &BacktestReport) -> Markup {
    let progress = report.progress;
    html! {
        div #backtest-report {
            p role="status" {
                "Backtest of version " strong { (report.candidate_version) } ": "
                span #backtest-counts { (progress.matched) " tickets re-classified, " (progress.changed) " would move" } "."
            }
            @if report.moves.is_empty() {
                p { "No ticket would move." }
            } @else {
                (queue_matrix(report))
                table.data #moves {
                    caption { "Moves (side / category / queue), most tickets first" }
                    thead { tr {
                        th scope="col" { "From" } th scope="col" { "To" }
                        th.num scope="col" { "Tickets" } th scope="col" { "Samples" }
                    } }
                    tbody {
                        @for step in &report.moves {
                            tr {
                                td { (placement(&step.from)) }
                                td { (placement(&step.to)) }
                                td.num { (step.count) }
                                td { @for id in &step.samples { a href={ (PREFIX) "/tickets/" (id) } { (id) } " " } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Moves summed by queue: rows are where tickets are, columns where the
/// candidate would put them.
fn queue_matrix(report: &BacktestReport) -> Markup {
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for step in &report.moves {
        *counts
            .entry((step.from.queue.as_str(), step.to.queue.as_str()))
            .or_default() += step.count;
    }
    let from: BTreeSet<&str> = counts.keys().map(|(from, _)| *from).collect();
    let to: BTreeSet<&str> = counts.keys().map(|(_, to)| *to).collect();
    html! {
        table.data #move-matrix {
            caption { "Tickets that would change queue: from (rows) to (columns)" }
            thead { tr {
                th scope="col" { "from → to" }
                @for queue in &to { th.num scope="col" { (queue) } }
            } }
            tbody {
                @for source in &from {
                    tr {
                        th scope="row" { (source) }
                        @for target in &to {
                            td.num { (counts.get(&(*source, *target)).copied().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
    }
}
