//! Classification cost per ticket at 10, 100 and 1,000 generated rules (and
//! the shipped default rules), scanner (`RuleSet::classify`) against the
//! per-rule reference loop (`RuleSet::classify_reference`) measured in the
//! same run. Prints a table of ratios and the targets at the end.
//!
//! Run: `cargo bench --bench classify`.

#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use triage::clock::UnixMicros;
use triage::rules::{CustomerHistory, RuleSet};
use triage::ticket::TicketInput;

/// Rule-set sizes the issue asks about.
const SIZES: [usize; 3] = [10, 100, 1_000];
/// Distinct tickets cycled through (more than fit in L1, like real traffic);
/// fewer in test mode.
const POOL: usize = 512;
const POOL_TEST: usize = 32;
/// Tickets checked for scanner/reference agreement before measuring (fewer
/// in test mode, where the reference path runs unoptimised).
const AGREEMENT_SAMPLE: usize = 16;
const AGREEMENT_SAMPLE_TEST: usize = 2;
/// Interleaved rounds behind the summary, and tickets per batch in each.
const ROUNDS: usize = 15;
const SCANNER_BATCH: usize = 256;
const REFERENCE_BATCH: usize = 8;
const TICKET_SEED: u64 = 7;
const RULE_SEED: u64 = 42;
const NOW: UnixMicros = UnixMicros(1_767_225_600_000_000);

/// Which classifier a measurement used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Path {
    Scanner,
    Reference,
}

/// Nanoseconds this thread has spent on a CPU. The machine is shared, so
/// the summary divides CPU time, not wall time, by tickets: time the
/// scheduler gave to other processes is not ours.
fn thread_cpu_ns() -> Option<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    let seconds = u64::try_from(now.tv_sec).ok()?;
    let nanos = u64::try_from(now.tv_nsec).ok()?;
    (status == 0).then(|| seconds * 1_000_000_000 + nanos)
}

/// Median cost per ticket of each (rule set, path), from rounds that
/// interleave every rule set and path, so load from other processes on a
/// shared machine hits all of them alike and the ratios stay fair.
#[derive(Default)]
struct Tally {
    medians: BTreeMap<(String, Path), f64>,
}

impl Tally {
    /// Runs `rounds` interleaved rounds; in each, every case classifies a
    /// batch with the scanner and a (smaller) batch with the reference.
    fn measure(cases: &[Case], tickets: &[TicketInput], rounds: usize, batches: [usize; 2]) -> Tally {
        let mut samples: BTreeMap<(String, Path), Vec<f64>> = BTreeMap::new();
        for round in 0..rounds {
            for case in cases {
                for (path, batch) in [(Path::Scanner, batches[0]), (Path::Reference, batches[1])] {
                    let start = (round * batch) % tickets.len();
                    let ns = cpu_ns_per_ticket(&case.rules, path, &tickets[start..], batch);
                    samples.entry((case.name.clone(), path)).or_default().push(ns);
                }
            }
        }
        let medians = samples
            .into_iter()
            .map(|(key, mut values)| {
                values.sort_by(f64::total_cmp);
                (key, values[values.len() / 2])
            })
            .collect();
        Tally { medians }
    }

    /// Median CPU nanoseconds per ticket.
    fn ns_per_ticket(&self, set: &str, path: Path) -> Option<f64> {
        self.medians.get(&(set.to_string(), path)).copied()
    }
}

/// CPU (or, where unavailable, wall) nanoseconds per ticket over `count`
/// tickets from `tickets` (cycled).
fn cpu_ns_per_ticket(rules: &RuleSet, path: Path, tickets: &[TicketInput], count: usize) -> f64 {
    let cpu_before = thread_cpu_ns();
    let wall = classify_all(rules, path, tickets, count as u64);
    let cpu = thread_cpu_ns()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    cpu.map_or(wall.as_nanos() as f64, |ns| ns as f64) / count as f64
}

/// A named rule set with the figures printed beside it.
struct Case {
    name: String,
    rules: RuleSet,
    fired_per_ticket: f64,
}

fn case(name: String, rules: RuleSet, tickets: &[TicketInput], agreement_sample: usize) -> Case {
    let history = CustomerHistory::default();
    for ticket in tickets.iter().take(agreement_sample) {
        assert_eq!(
            rules.classify(ticket, &history, NOW),
            rules.classify_reference(ticket, &history, NOW),
            "scanner and reference disagree on {}",
            ticket.external_id
        );
    }
    let fired: usize = tickets
        .iter()
        .map(|ticket| rules.classify(ticket, &history, NOW).rule_ids.len())
        .sum();
    Case {
        name,
        rules,
        fired_per_ticket: fired as f64 / tickets.len() as f64,
    }
}

fn cases(tickets: &[TicketInput], agreement_sample: usize) -> Vec<Case> {
    let mut cases: Vec<Case> = SIZES
        .iter()
        .map(|&size| {
            let text = workload::rule_file(size, RULE_SEED);
            let rules = RuleSet::parse(&size.to_string(), &text).expect("generated rules compile");
            case(size.to_string(), rules, tickets, agreement_sample)
        })
        .collect();
    let default = RuleSet::default_rules().expect("default rules compile");
    cases.push(case("default".to_string(), default, tickets, agreement_sample));
    cases
}

fn classify_all(rules: &RuleSet, path: Path, tickets: &[TicketInput], iters: u64) -> Duration {
    let history = CustomerHistory::default();
    let start = Instant::now();
    for (ticket, _) in tickets.iter().cycle().zip(0..iters) {
        let ticket = black_box(ticket);
        let result = match path {
            Path::Scanner => rules.classify(ticket, &history, NOW),
            Path::Reference => rules.classify_reference(ticket, &history, NOW),
        };
        black_box(result);
    }
    start.elapsed()
}

fn measure(criterion: &mut Criterion, cases: &[Case], tickets: &[TicketInput]) {
    let mut group = criterion.benchmark_group("classify");
    group.throughput(Throughput::Elements(1));
    // The reference path at 1,000 rules takes milliseconds per ticket: flat
    // sampling keeps every benchmark within its measurement time.
    group.sampling_mode(SamplingMode::Flat).sample_size(20);
    for case in cases {
        for (label, path) in [("scanner", Path::Scanner), ("reference", Path::Reference)] {
            group.bench_function(BenchmarkId::new(label, &case.name), |bencher| {
                bencher.iter_custom(|iters| classify_all(&case.rules, path, tickets, iters));
            });
        }
    }
    group.finish();
}

fn fmt_ns(ns: Option<f64>) -> String {
    ns.map_or_else(|| "-".to_string(), |ns| format!("{ns:.0}"))
}

fn ratio(top: Option<f64>, bottom: Option<f64>) -> Option<f64> {
    Some(top? / bottom?)
}

fn fmt_ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |value| format!("{value:.2}x"))
}

fn verdict(met: Option<bool>, measuring: bool) -> &'static str {
    match met {
        _ if !measuring => "not judged in test mode",
        Some(true) => "MET",
        Some(false) => "MISSED",
        None => "not measured",
    }
}

fn report(cases: &[Case], tally: &Tally, measuring: bool) {
    let base = tally.ns_per_ticket(&SIZES[0].to_string(), Path::Scanner);
    println!(
        "\nclassification of ~1 KB tickets, one thread: median CPU ns per ticket over interleaved rounds"
    );
    if !measuring {
        println!("(test mode: one short round, figures are not measurements)");
    }
    println!(
        "{:>8} {:>6} {:>6} {:>11} {:>16} {:>13} {:>15} {:>11}",
        "set",
        "rules",
        "fired",
        "scanner ns",
        "tickets/s/core",
        "reference ns",
        "speedup vs ref",
        "cost vs 10"
    );
    for case in cases {
        let scanner = tally.ns_per_ticket(&case.name, Path::Scanner);
        let reference = tally.ns_per_ticket(&case.name, Path::Reference);
        let per_second = scanner.map_or_else(|| "-".to_string(), |ns| format!("{:.0}", 1e9 / ns));
        println!(
            "{:>8} {:>6} {:>6.1} {:>11} {:>16} {:>13} {:>15} {:>11}",
            case.name,
            case.rules.rule_count(),
            case.fired_per_ticket,
            fmt_ns(scanner),
            per_second,
            fmt_ns(reference),
            fmt_ratio(ratio(reference, scanner)),
            fmt_ratio(ratio(scanner, base)),
        );
    }
    let largest = tally.ns_per_ticket(&SIZES[2].to_string(), Path::Scanner);
    let rate = largest.map(|ns| 1e9 / ns);
    let growth = ratio(largest, base);
    println!(
        "target >= 200k tickets/s/core at 1,000 rules: {} ({})",
        verdict(rate.map(|rate| rate >= 200_000.0), measuring),
        rate.map_or_else(|| "-".to_string(), |rate| format!("{rate:.0}/s")),
    );
    println!(
        "target cost(1,000 rules) <= 3x cost(10 rules): {} ({})",
        verdict(growth.map(|growth| growth <= 3.0), measuring),
        fmt_ratio(growth),
    );
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let setup = Instant::now();
    let tickets = workload::tickets(if measuring { POOL } else { POOL_TEST }, TICKET_SEED);
    let cases = cases(
        &tickets,
        if measuring {
            AGREEMENT_SAMPLE
        } else {
            AGREEMENT_SAMPLE_TEST
        },
    );
    println!(
        "setup (generate, compile, check agreement): {:?}",
        setup.elapsed()
    );
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    measure(&mut criterion, &cases, &tickets);
    criterion.final_summary();
    let tally = if measuring {
        Tally::measure(&cases, &tickets, ROUNDS, [SCANNER_BATCH, REFERENCE_BATCH])
    } else {
        Tally::measure(&cases, &tickets, 1, [8, 1])
    };
    report(&cases, &tally, measuring);
}
