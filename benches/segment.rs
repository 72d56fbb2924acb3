//! Cost of `email::segment` on a generated ~256 KiB email (new text, a
//! sign-off and signature, a disclaimer, an Outlook header and a long
//! `>`-quoted thread with nested quotes and attributions), against the
//! cheapest possible line-based pass over the same body, `str::lines().count()`,
//! measured in the same run. Prints the ratio at the end.
//!
//! Run: `cargo bench --bench segment`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use triage::email::{segment, PartKind};

/// Body size the issue asks about.
const TARGET_BYTES: usize = 256 * 1024;
/// Interleaved rounds behind the printed ratio, and calls per round.
const ROUNDS: usize = 21;
const CALLS_PER_ROUND: usize = 50;

/// A realistic reply: customer text on top, then an ever-older quoted thread.
fn email_body() -> String {
    let mut body = String::with_capacity(TARGET_BYTES + 4096);
    body.push_str("Hi team,\n\n");
    for i in 0..40 {
        body.push_str(&format!(
            "Line {i}: the broadband keeps dropping every evening and the router lights go red.\n"
        ));
    }
    body.push_str("\nThanks,\nJane Doe\nHead of Outage Response\nAcme Widgets Inc.\nT: +44 20 7946 0018\n\n");
    body.push_str(
        "CONFIDENTIALITY NOTICE: This email and any attachments are confidential.\n\
         If you are not the intended recipient, please delete it.\n\n",
    );
    body.push_str(
        "________________________________\nFrom: Support <support@example.com>\n\
         Sent: Monday, 1 January 2024 10:00\nTo: Jane Doe <jane@example.com>\n\
         Subject: RE: Broadband dropping\n\n",
    );
    let mut round = 0;
    while body.len() < TARGET_BYTES {
        round += 1;
        body.push_str(&format!(
            "> On Mon, 1 Jan 2024 at 10:{:02}, Support <support@example.com> wrote:\n",
            round % 60
        ));
        for i in 0..20 {
            body.push_str(&format!(
                "> > Round {round} line {i}: we have reset your line, please power-cycle the router.\n"
            ));
        }
        body.push_str(">\n> Kind regards,\n> The Support Team\n>\n");
    }
    body
}

/// Median of per-call times.
fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let body = email_body();
    let segmentation = segment(&body);
    assert!(segmentation.new_text(&body).contains("broadband keeps dropping"));
    assert!(segmentation
        .text_of(&body, PartKind::Signature)
        .contains("Head of Outage"));
    assert!(!segmentation.new_text(&body).contains("power-cycle"));

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("segment_256k");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("segment", |b| b.iter(|| segment(black_box(&body))));
    group.bench_function("lines_count_baseline", |b| {
        b.iter(|| black_box(&body).lines().count())
    });
    group.finish();
    criterion.final_summary();

    let (mut seg, mut base) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            black_box(segment(black_box(&body)));
        }
        seg.push(started.elapsed() / CALLS_PER_ROUND as u32);
        let started = Instant::now();
        for _ in 0..CALLS_PER_ROUND {
            black_box(black_box(&body).lines().count());
        }
        base.push(started.elapsed() / CALLS_PER_ROUND as u32);
    }
    let (seg, base) = (median(seg), median(base));
    println!(
        "\nsegment() on {} bytes, {} lines: {seg:?} per call; lines().count(): {base:?}; ratio {:.1}x",
        body.len(),
        body.lines().count(),
        seg.as_secs_f64() / base.as_secs_f64().max(1e-12),
    );
}
