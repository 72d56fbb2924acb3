//! A driver for counting instructions per classification with callgrind,
//! a measure the load of other processes cannot disturb (the criterion
//! bench in `classify.rs` measures time, which a shared machine does).
//!
//! It classifies the classify bench's 512 generated ~1 KB tickets with the
//! shipped default rules (or the rule file in `TRIAGE_RULES`) `ROUNDS`
//! times (default 1). Run it with 1 and with 3 rounds under callgrind; the
//! difference divided by 1,024 is the instructions a ticket, without the
//! cost of compiling the rules:
//!
//! ```sh
//! cargo bench --bench classify_instructions --no-run
//! B=$(ls -t target/release/deps/classify_instructions-* | grep -v '\.d$' | head -1)
//! for r in 1 3; do ROUNDS=$r valgrind --tool=callgrind --callgrind-out-file=/dev/null $B 2>&1 | grep Collected; done
//! ```

#[path = "support/workload.rs"]
#[allow(dead_code)]
mod workload;

use std::hint::black_box;

use triage::clock::UnixMicros;
use triage::rules::{CustomerHistory, RuleSet};

fn main() {
    let rules = match std::env::var_os("TRIAGE_RULES") {
        Some(path) => RuleSet::load(std::path::Path::new(&path)),
        None => RuleSet::default_rules(),
    };
    let rules = match rules {
        Ok(rules) => rules,
        Err(err) => {
            eprintln!("rules: {err}");
            std::process::exit(2);
        }
    };
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let tickets = workload::tickets(512, 42);
    let mut fired = 0;
    for _ in 0..rounds {
        for ticket in &tickets {
            fired += black_box(rules.classify(ticket, &CustomerHistory::default(), UnixMicros(0)))
                .rule_ids
                .len();
        }
    }
    println!("{} tickets, {fired} rules fired", rounds * tickets.len());
}
