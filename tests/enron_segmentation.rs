//! How well `triage::email::segment` finds the writer's new words in real
//! email bodies nobody on the project wrote: a sample of the Enron corpus,
//! labelled by hand line by line (`tests/corpus/enron/segmentation.jsonl`;
//! source, selection and label rules in `tests/corpus/README.md`).
//!
//! Every email was put in `dev` or `heldout` by a hash of its body before
//! the segmenter was run on it. Fixes are made for `dev` misses only; the
//! assertions are on `heldout`. Run
//! `cargo test --test enron_segmentation -- --nocapture` for the report;
//! `TRIAGE_SHOW_MISSES=dev` (or `heldout`) also prints every email of that
//! split whose new-text boundary is wrong; `TRIAGE_SHOW_MISSES=dev-lines`
//! every email of that split with any line wrong.

use serde::Deserialize;
use triage::email::{segment, PartKind};

const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/corpus/enron/segmentation.jsonl"
);

/// Issue 14's target: the new-text boundary right in this share of emails.
/// Not reached on held-out yet (94.1%), so it is reported, not asserted.
const TARGET_BOUNDARY: f64 = 0.95;

// The floors below are what the segmenter reaches on held-out today less a
// small margin (boundary 94.1%, quote lines P 99.4% R 99.9%, signature
// lines P 98.4% R 85.7%, on 307 held-out emails): they catch a regression.
// The signature recall floor is lower than before the sample grew (88.1% on
// the first 153 held-out emails): the new held-out emails brought
// signatures the segmenter misses, not a regression.

/// Held-out share of emails whose new-text boundary must be right.
const MIN_HELDOUT_BOUNDARY: f64 = 0.92;
/// Held-out precision and recall of quote lines the segmenter must keep.
const MIN_HELDOUT_QUOTE_PRECISION: f64 = 0.98;
const MIN_HELDOUT_QUOTE_RECALL: f64 = 0.98;
/// Held-out precision and recall of signature lines the segmenter must keep.
const MIN_HELDOUT_SIGNATURE_PRECISION: f64 = 0.95;
const MIN_HELDOUT_SIGNATURE_RECALL: f64 = 0.83;

#[derive(Debug, Deserialize)]
struct Email {
    id: String,
    split: String,
    body: String,
    /// One letter per line of `body` (split on `\n`): `N` new text, `Q`
    /// quoted thread, `S` signature, `D` disclaimer, `.` blank (not scored).
    labels: String,
}

/// The label letter of a segmenter part.
fn letter(kind: PartKind) -> char {
    match kind {
        PartKind::New => 'N',
        PartKind::Quoted | PartKind::QuoteHeader => 'Q',
        PartKind::Signature => 'S',
        PartKind::Disclaimer => 'D',
    }
}

/// The segmenter's letter for every line of `body`, in the label layout.
fn predicted(body: &str) -> Vec<char> {
    let segmentation = segment(body);
    let mut letters = Vec::new();
    let mut start = 0;
    for line in body.split('\n') {
        let kind = segmentation
            .segments
            .iter()
            .find(|s| s.start <= start && start < s.end)
            .map_or(PartKind::New, |s| s.kind);
        letters.push(letter(kind));
        start += line.len() + 1;
    }
    letters
}

/// The last scored line of the new text (its boundary with what follows),
/// or `None` when the email has no new words.
fn new_end(labels: &[char], scored: &[bool]) -> Option<usize> {
    (0..labels.len()).rev().find(|&i| scored[i] && labels[i] == 'N')
}

/// Precision and recall counts for one label letter.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    true_positive: usize,
    labelled: usize,
    predicted: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        ratio(self.true_positive, self.predicted)
    }

    fn recall(&self) -> f64 {
        ratio(self.true_positive, self.labelled)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        1.0
    } else {
        part as f64 / whole as f64
    }
}

/// The figures of one split.
#[derive(Debug, Default)]
struct Report {
    emails: usize,
    boundary_right: usize,
    all_lines_right: usize,
    quote: Counts,
    signature: Counts,
    disclaimer: Counts,
    misses: Vec<String>,
    /// Every email with any scored line wrong (boundary misses included).
    line_misses: Vec<String>,
}

impl Report {
    fn add(&mut self, email: &Email) {
        let labels: Vec<char> = email.labels.chars().collect();
        let got = predicted(&email.body);
        assert_eq!(labels.len(), got.len(), "{}: one label per line", email.id);
        let scored: Vec<bool> = labels.iter().map(|&l| l != '.').collect();
        self.emails += 1;
        let boundary_right = new_end(&labels, &scored) == new_end(&got, &scored);
        self.boundary_right += usize::from(boundary_right);
        let all_right = (0..labels.len()).all(|i| !scored[i] || labels[i] == got[i]);
        self.all_lines_right += usize::from(all_right);
        for (counts, letter) in [
            (&mut self.quote, 'Q'),
            (&mut self.signature, 'S'),
            (&mut self.disclaimer, 'D'),
        ] {
            for i in (0..labels.len()).filter(|&i| scored[i]) {
                let (want, have) = (labels[i] == letter, got[i] == letter);
                counts.labelled += usize::from(want);
                counts.predicted += usize::from(have);
                counts.true_positive += usize::from(want && have);
            }
        }
        if !boundary_right {
            self.misses.push(miss(email, &labels, &got));
        }
        if !all_right {
            self.line_misses.push(miss(email, &labels, &got));
        }
    }

    fn print(&self, split: &str) {
        println!(
            "{split}: {} emails, new-text boundary right {:.1}% ({}), every line right {:.1}%",
            self.emails,
            100.0 * self.boundary(),
            self.boundary_right,
            100.0 * ratio(self.all_lines_right, self.emails),
        );
        for (name, counts) in [
            ("quote", self.quote),
            ("signature", self.signature),
            ("disclaimer", self.disclaimer),
        ] {
            println!(
                "  {name:<10} lines: precision {:.1}% recall {:.1}% ({} labelled, {} predicted)",
                100.0 * counts.precision(),
                100.0 * counts.recall(),
                counts.labelled,
                counts.predicted,
            );
        }
    }

    fn boundary(&self) -> f64 {
        ratio(self.boundary_right, self.emails)
    }
}

/// The email with its labels and the segmenter's, for a person to read.
fn miss(email: &Email, labels: &[char], got: &[char]) -> String {
    let mut text = format!("--- {} (label / segmenter)\n", email.id);
    for ((line, want), have) in email.body.split('\n').zip(labels).zip(got) {
        let mark = if *want != '.' && want != have { '!' } else { ' ' };
        text.push_str(&format!("{want}{have}{mark}| {line}\n"));
    }
    text
}

fn load() -> Vec<Email> {
    let text = std::fs::read_to_string(CORPUS).expect("read the Enron sample");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("a labelled email"))
        .collect()
}

/// How many emails the sample had before its third and before its fourth
/// round (the first lines of the file): figures on them are also printed,
/// to compare with earlier reports.
const EARLIER_SAMPLES: [usize; 2] = [290, 440];

#[test]
fn segmenter_finds_the_new_text_of_real_emails() {
    let emails = load();
    assert!(emails.len() >= 590, "the sample has {} emails", emails.len());
    for first in EARLIER_SAMPLES {
        for split in ["dev", "heldout"] {
            let mut report = Report::default();
            for email in emails[..first].iter().filter(|e| e.split == split) {
                report.add(email);
            }
            println!(
                "{split}, first {first} emails only: {} emails, new-text boundary right {:.1}% ({})",
                report.emails,
                100.0 * report.boundary(),
                report.boundary_right,
            );
        }
    }
    let show = std::env::var("TRIAGE_SHOW_MISSES").unwrap_or_default();
    let mut heldout = Report::default();
    for split in ["dev", "heldout"] {
        let mut report = Report::default();
        for email in emails.iter().filter(|e| e.split == split) {
            report.add(email);
        }
        report.print(split);
        if show == split {
            for text in &report.misses {
                println!("{text}");
            }
        }
        if show == format!("{split}-lines") {
            for text in &report.line_misses {
                println!("{text}");
            }
        }
        if split == "heldout" {
            heldout = report;
        }
    }
    println!(
        "issue 14 target: boundary right in {:.0}% of emails: {}",
        100.0 * TARGET_BOUNDARY,
        if heldout.boundary() >= TARGET_BOUNDARY {
            "reached on held-out"
        } else {
            "not reached on held-out"
        }
    );
    assert!(heldout.emails >= 300, "held-out has {} emails", heldout.emails);
    assert!(heldout.boundary() >= MIN_HELDOUT_BOUNDARY);
    assert!(heldout.quote.precision() >= MIN_HELDOUT_QUOTE_PRECISION);
    assert!(heldout.quote.recall() >= MIN_HELDOUT_QUOTE_RECALL);
    assert!(heldout.signature.precision() >= MIN_HELDOUT_SIGNATURE_PRECISION);
    assert!(heldout.signature.recall() >= MIN_HELDOUT_SIGNATURE_RECALL);
}

#[test]
fn every_line_has_one_label() {
    for email in load() {
        assert_eq!(
            email.labels.chars().count(),
            email.body.split('\n').count(),
            "{}",
            email.id
        );
        assert!(
            email.labels.chars().all(|c| "NQSD.".contains(c)),
            "{}: labels are N, Q, S, D or .",
            email.id
        );
    }
}
