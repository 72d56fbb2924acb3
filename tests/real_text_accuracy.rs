//! How well the shipped default rules classify real customer messages that
//! nobody on the project wrote (`tests/corpus/real/*.jsonl`, sources and
//! licences in `tests/corpus/README.md`).
//!
//! Every message was split into `dev` and `heldout` by a hash of its text
//! before any tuning. Rules and learned lexicons are tuned on `dev` only;
//! the assertions are on `heldout`. Run
//! `cargo test --release --test real_text_accuracy -- --nocapture` for the
//! report per source and split; `TRIAGE_SHOW_MISSES=dev` (or `heldout`) also
//! prints every miss of that split.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use triage::clock::UnixMicros;
use triage::rules::{CustomerHistory, RuleSet};
use triage::ticket::{Channel, Side, TicketInput};

const CORPUS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/real");

// The floors below are what the shipped rules reach today (88.7% overall,
// 81-96% per source, 0.3% unclassified, 11.1% wrong side), less a small
// margin: they catch a regression. The product targets (>= 90% right,
// <= 5% unclassified, <= 7% wrong side) are not all reached yet; README's
// "How well does it classify?" reports the gap.

/// Held-out side accuracy the default rules must keep, overall.
const MIN_HELDOUT_ACCURACY: f64 = 0.86;
/// Held-out side accuracy each source must keep.
const MIN_HELDOUT_SOURCE_ACCURACY: f64 = 0.78;
/// Largest held-out share left unclassified, overall.
const MAX_HELDOUT_UNCLASSIFIED: f64 = 0.02;
/// Largest held-out share put on the wrong side, overall.
const MAX_HELDOUT_WRONG_SIDE: f64 = 0.13;

#[derive(Debug, Deserialize)]
struct Message {
    id: String,
    text: String,
    #[serde(default)]
    subject: String,
    side: String,
    split: String,
}

/// Tallies for one group of messages.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    total: usize,
    right: usize,
    unclassified: usize,
    wrong: usize,
}

impl Tally {
    fn add(&mut self, expected: Side, got: Side) {
        self.total += 1;
        match got {
            Side::Unclassified => self.unclassified += 1,
            side if side == expected => self.right += 1,
            _ => self.wrong += 1,
        }
    }

    fn share(&self, count: usize) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        count as f64 / self.total as f64
    }

    fn accuracy(&self) -> f64 {
        self.share(self.right)
    }

    fn row(&self, name: &str) -> String {
        format!(
            "{name:<28} {:>5} {:>8.1}% {:>8.1}% {:>8.1}%",
            self.total,
            100.0 * self.accuracy(),
            100.0 * self.share(self.unclassified),
            100.0 * self.share(self.wrong)
        )
    }
}

fn load_corpus() -> BTreeMap<String, Vec<Message>> {
    let mut sources = BTreeMap::new();
    let entries = std::fs::read_dir(Path::new(CORPUS_DIR)).expect("tests/corpus/real exists");
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        if path.extension().is_none_or(|ext| ext != "jsonl") {
            continue;
        }
        let source = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .expect("utf-8 file name")
            .to_string();
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        let messages = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .enumerate()
            .map(|(line, json)| {
                serde_json::from_str(json)
                    .unwrap_or_else(|err| panic!("{}:{}: {err}", path.display(), line + 1))
            })
            .collect();
        sources.insert(source, messages);
    }
    sources
}

fn ticket(message: &Message) -> TicketInput {
    TicketInput {
        external_id: message.id.clone(),
        source: "corpus".into(),
        channel: Channel::Web,
        subject: message.subject.clone(),
        body: message.text.clone(),
        ..TicketInput::default()
    }
}

fn expected_side(message: &Message) -> Side {
    Side::parse(&message.side).unwrap_or_else(|| panic!("{}: unknown side {:?}", message.id, message.side))
}

/// Classifies every message; returns tallies per (split, source) and overall
/// per split, and prints the report.
fn measure(rules: &RuleSet) -> BTreeMap<(String, String), Tally> {
    measure_only(rules, |_| true)
}

/// [`measure`] over the messages `keep` accepts.
fn measure_only(rules: &RuleSet, keep: impl Fn(&Message) -> bool) -> BTreeMap<(String, String), Tally> {
    let corpus = load_corpus();
    let show_misses = std::env::var("TRIAGE_SHOW_MISSES").ok();
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for (source, messages) in &corpus {
        for message in messages.iter().filter(|message| keep(message)) {
            let expected = expected_side(message);
            let got = rules.classify(&ticket(message), &CustomerHistory::default(), UnixMicros(0));
            for key in [
                (message.split.clone(), source.clone()),
                (message.split.clone(), "ALL".to_string()),
            ] {
                tallies.entry(key).or_default().add(expected, got.side);
            }
            if got.side != expected && show_misses.as_deref() == Some(message.split.as_str()) {
                println!(
                    "MISS {} expected {:?} got {:?} [{}] {:?}",
                    message.id,
                    expected,
                    got.side,
                    got.rule_ids.join(","),
                    message.text.chars().take(160).collect::<String>()
                );
            }
        }
    }
    println!(
        "{:<28} {:>5} {:>9} {:>9} {:>9}",
        "split/source", "n", "right", "unclass.", "wrong"
    );
    for ((split, source), tally) in &tallies {
        println!("{}", tally.row(&format!("{split}/{source}")));
    }
    tallies
}

#[test]
fn default_rules_hold_up_on_held_out_real_messages() {
    let rules = RuleSet::default_rules().expect("default rules compile");
    let tallies = measure(&rules);
    let overall = tallies
        .get(&("heldout".to_string(), "ALL".to_string()))
        .copied()
        .expect("a held-out split");
    assert!(overall.total >= 600, "held-out part too small: {}", overall.total);
    assert!(
        overall.accuracy() >= MIN_HELDOUT_ACCURACY,
        "held-out side accuracy {:.3} below {MIN_HELDOUT_ACCURACY}",
        overall.accuracy()
    );
    assert!(overall.share(overall.unclassified) <= MAX_HELDOUT_UNCLASSIFIED);
    assert!(overall.share(overall.wrong) <= MAX_HELDOUT_WRONG_SIDE);
    for ((split, source), tally) in &tallies {
        if split == "heldout" {
            assert!(
                tally.accuracy() >= MIN_HELDOUT_SOURCE_ACCURACY,
                "held-out accuracy on {source} is {:.3}, below {MIN_HELDOUT_SOURCE_ACCURACY}",
                tally.accuracy()
            );
        }
    }
}

/// For cross-validation on `dev` (`tests/corpus/tools/cross_validate.py`):
/// the report of the rule file `TRIAGE_ACCURACY_RULES` on the messages
/// whose ids are listed, one a line, in `TRIAGE_ACCURACY_IDS`. Asserts
/// nothing; run with `--ignored`.
#[test]
#[ignore = "a measuring tool for candidate rule files, driven by environment variables"]
fn measure_candidate_rules() {
    let (Ok(rules_path), Ok(ids_path)) = (
        std::env::var("TRIAGE_ACCURACY_RULES"),
        std::env::var("TRIAGE_ACCURACY_IDS"),
    ) else {
        eprintln!("set TRIAGE_ACCURACY_RULES and TRIAGE_ACCURACY_IDS");
        return;
    };
    let rules = RuleSet::load(Path::new(&rules_path)).expect("candidate rules compile");
    let ids = std::fs::read_to_string(&ids_path).expect("readable id list");
    let ids: std::collections::HashSet<&str> = ids.lines().map(str::trim).collect();
    measure_only(&rules, |message| ids.contains(message.id.as_str()));
}

#[test]
fn corpus_has_three_sources_and_both_sides_in_each_split() {
    let corpus = load_corpus();
    assert!(corpus.len() >= 3, "only {} sources", corpus.len());
    for split in ["dev", "heldout"] {
        for side in ["reactive", "proactive"] {
            let count = corpus
                .values()
                .flatten()
                .filter(|message| message.split == split && message.side == side)
                .count();
            assert!(count >= 100, "{split} has only {count} {side} messages");
        }
    }
}

/// What our agent said earlier, on each side: the quoted thread's words.
const AGENT_REPLY_REACTIVE: &str = "We are sorry about the outage and the double charge on your invoice. \
Your refund is on its way, and the login error you could not get past is fixed. We apologise for the \
problem and the delay.";
const AGENT_REPLY_PROACTIVE: &str = "Thank you so much for your lovely feedback, we really appreciate it! \
Upgrade to Premium today to enjoy our amazing new features, and have a great day.";

/// A signature with problem words in it, a device footer and a disclaimer.
const SIGNATURE_AND_DISCLAIMER: &str =
    "Best regards,\nJane Doe\nHead of Outage Response\nAcme Corp | +1 555 0100\n\n\
Sent from my iPhone\n\nCONFIDENTIALITY NOTICE: This email and any attachments are confidential and intended \
solely for the addressee. If you are not the intended recipient, please notify the sender and delete it.";

/// `customer`'s words followed by a signature, a disclaimer and an agent
/// reply quoted in one of four styles.
fn email_with_thread(customer: &str, agent: &str, style: usize) -> String {
    let quoted: String = agent.split(". ").map(|line| format!("> {line}.\n")).collect();
    let thread = match style % 4 {
        0 => format!("On Tue, 3 Mar 2026 at 10:14, Acme Support <support@example.com> wrote:\n{quoted}"),
        1 => format!(
            "-----Original Message-----\nFrom: Acme Support <support@example.com>\nSent: Tuesday, March 3, 2026 10:14 AM\n\
             To: customer@example.org\nSubject: RE: Your request\n\n{agent}\n"
        ),
        2 => format!("On Tue, 3 Mar 2026 at 10:14, Acme Support\n<support@example.com> wrote:\n\n{quoted}"),
        _ => format!(
            "From: Acme Support <support@example.com>\nSent: Tuesday, March 3, 2026 10:14 AM\nTo: customer@example.org\n\
             Subject: RE: Your request\n\n{agent}\n"
        ),
    };
    format!("{customer}\n\n{SIGNATURE_AND_DISCLAIMER}\n\n{thread}")
}

#[test]
fn a_quoted_agent_reply_a_signature_and_a_disclaimer_rarely_change_the_side() {
    let rules = RuleSet::default_rules().expect("default rules compile");
    let history = CustomerHistory::default();
    let (mut compared, mut changed) = (0usize, 0usize);
    for (index, message) in load_corpus().values().flatten().enumerate() {
        let plain = rules.classify(&ticket(message), &history, UnixMicros(0));
        let agent = match plain.side {
            Side::Reactive => AGENT_REPLY_PROACTIVE,
            Side::Proactive => AGENT_REPLY_REACTIVE,
            Side::Unclassified => continue,
        };
        let mut threaded = ticket(message);
        threaded.channel = Channel::Email;
        threaded.body = email_with_thread(&message.text, agent, index);
        let with_thread = rules.classify(&threaded, &history, UnixMicros(0));
        compared += 1;
        if with_thread.side != plain.side {
            changed += 1;
            if std::env::var("TRIAGE_SHOW_MISSES").is_ok() {
                println!(
                    "SIDE CHANGED {}: {:?} -> {:?} [{}]",
                    message.id,
                    plain.side,
                    with_thread.side,
                    with_thread.rule_ids.join(",")
                );
            }
        }
    }
    let share = changed as f64 / compared.max(1) as f64;
    println!("quoted thread + signature + disclaimer changed the side of {changed} of {compared} messages ({:.1}%)", 100.0 * share);
    assert!(compared >= 1000, "too few classified messages: {compared}");
    assert!(
        share <= 0.03,
        "{changed} of {compared} messages changed side ({:.1}%)",
        100.0 * share
    );
}
