//! The commands that move many tickets: `ingest FILE.jsonl` (concurrent
//! requests, a progress bar on a terminal, a summary) and `export-labels`
//! (a stream written as JSON lines).

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinSet;
use tonic::Status;

use super::args::IngestArgs;
use super::commands::{Context, Output};
use super::connect::Client;
use super::error::CliError;
use super::human;
use super::input::TicketLine;
use super::view::{BulkSummary, Failure, Label};
use crate::pb;

/// The text of `path`, or of stdin for `-`.
fn read_input(path: &Path) -> Result<String, CliError> {
    let mut text = String::new();
    let read = match path.as_os_str() == "-" {
        true => io::stdin().read_to_string(&mut text).map(|_| ()),
        false => File::open(path).and_then(|mut file| file.read_to_string(&mut text).map(|_| ())),
    };
    read.map_err(|err| CliError::Usage(format!("cannot read {}: {err}", path.display())))?;
    Ok(text)
}

/// A progress bar on stderr when it is a terminal, hidden otherwise.
fn progress_bar(total: usize) -> ProgressBar {
    let target = match io::stderr().is_terminal() {
        true => ProgressDrawTarget::stderr(),
        false => ProgressDrawTarget::hidden(),
    };
    let bar = ProgressBar::with_draw_target(Some(total as u64), target);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} tickets  {per_sec}  eta {eta}  {msg}")
    {
        bar.set_style(style);
    }
    bar
}

/// An outcome that stops the whole run instead of failing one line: the
/// server is gone, or refuses this caller.
fn is_fatal(error: &CliError, status: &Status) -> bool {
    matches!(error, CliError::Connect { .. })
        || matches!(
            status.code(),
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
        )
}

/// Counts one answer into `summary`; the error that ends the run, if any.
fn count(
    summary: &mut BulkSummary,
    context: &Context,
    line: usize,
    answer: Result<bool, Status>,
) -> Result<(), CliError> {
    match answer {
        Ok(true) => summary.ingested += 1,
        Ok(false) => summary.duplicates += 1,
        Err(status) => {
            let error = context.error(&status);
            if is_fatal(&error, &status) {
                return Err(error);
            }
            summary.failed += 1;
            summary.failures.push(Failure {
                line,
                message: error.to_string(),
            });
        }
    }
    Ok(())
}

/// Ingests every line of `path`, `args.concurrency` requests at a time;
/// prints the summary, and fails when any line failed.
pub async fn ingest_file(
    client: Client,
    context: &Context,
    output: Output,
    path: &Path,
    args: &IngestArgs,
) -> Result<(), CliError> {
    let text = read_input(path)?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    let mut summary = BulkSummary {
        total: lines.len(),
        ..BulkSummary::default()
    };
    let bar = progress_bar(lines.len());
    let mut running: JoinSet<(usize, Result<bool, Status>)> = JoinSet::new();
    for (number, line) in lines {
        let input = TicketLine::parse(line).and_then(|line| line.into_input(&args.ticket.source));
        let ticket = match input {
            Ok(ticket) => ticket,
            Err(message) => {
                summary.failed += 1;
                summary.failures.push(Failure {
                    line: number,
                    message,
                });
                bar.inc(1);
                continue;
            }
        };
        while running.len() >= usize::from(args.concurrency) {
            if let Some(Ok((line, answer))) = running.join_next().await {
                count(&mut summary, context, line, answer)?;
                bar.inc(1);
            }
        }
        let mut client = client.clone();
        running.spawn(async move {
            let request = pb::IngestTicketRequest { ticket: Some(ticket) };
            let answer = client.ingest_ticket(request).await;
            (number, answer.map(|answer| answer.into_inner().created))
        });
    }
    while let Some(joined) = running.join_next().await {
        if let Ok((line, answer)) = joined {
            count(&mut summary, context, line, answer)?;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    summary.failures.sort_by_key(|failure| failure.line);
    output.show(&summary, human::summary)?;
    match summary.failed {
        0 => Ok(()),
        failed => Err(CliError::PartialIngest {
            failed,
            total: summary.total,
        }),
    }
}

/// Streams labelled tickets to `out` (stdout when `None`) as JSON lines;
/// the count goes to stderr.
pub async fn export_labels(
    client: &mut Client,
    context: &Context,
    include_uncorrected: bool,
    out: Option<&Path>,
) -> Result<(), CliError> {
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(BufWriter::new(File::create(path).map_err(|err| {
            CliError::Usage(format!("cannot create {}: {err}", path.display()))
        })?)),
        None => Box::new(BufWriter::new(io::stdout())),
    };
    let mut stream = client
        .export_labels(pb::ExportLabelsRequest { include_uncorrected })
        .await
        .map_err(|status| context.error(&status))?
        .into_inner();
    let mut exported = 0usize;
    while let Some(label) = stream.message().await.map_err(|status| context.error(&status))? {
        let line = serde_json::to_string(&Label::from(&label)).unwrap_or_default();
        writeln!(writer, "{line}")?;
        exported += 1;
    }
    writer.flush()?;
    eprintln!("exported {exported} labelled tickets");
    Ok(())
}
