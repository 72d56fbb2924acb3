//! Learning weighted lexicons from labelled tickets (`triage rules learn`).
//! Pure domain: no gRPC, no store.
//!
//! - [`corpus`]: the labelled JSONL format and [`read_jsonl`];
//! - [`tokens`]: text -> terms (words and two-word phrases), the way rule
//!   lexicons match them;
//! - `features`: the document-term matrix;
//! - `model`: L2-regularised logistic regression by coordinate descent;
//! - [`lexicon`]: the learned tables and their TOML file.

pub mod corpus;
mod features;
pub mod lexicon;
mod model;
pub mod tokens;

use std::collections::BTreeMap;
use std::path::Path;

pub use corpus::{read_jsonl, Example};
pub use lexicon::{Learned, Lexicon, TermWeight};

use crate::ticket::Side;
use features::Features;
use model::FitOptions;

/// Why learning could not start.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// The corpus file could not be opened.
    #[error("cannot open: {source}")]
    Open {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line could not be read (I/O or invalid UTF-8).
    #[error("line {line}: {source}")]
    Read {
        /// 1-based line number.
        line: usize,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a labelled example.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Learning needs examples of both sides.
    #[error("need reactive and proactive examples, found {reactive} reactive and {proactive} proactive")]
    OneSided {
        /// Reactive examples found.
        reactive: usize,
        /// Proactive examples found.
        proactive: usize,
    },
}

/// How to learn.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnOptions {
    /// Keep only terms found in at least this many examples.
    pub min_count: usize,
    /// Most terms in `[lexicon.side]`, by largest |weight|.
    pub max_terms: usize,
    /// Most (positive) terms in each `[lexicon.category_<name>]`.
    pub category_terms: usize,
    /// L2 penalty on the summed log-loss (1.0 is scikit-learn's C = 1).
    pub l2: f64,
    /// Most coordinate-descent sweeps per model.
    pub max_sweeps: usize,
    /// Fit a weight on each example's compound sentiment as well, written
    /// as the lexicon's `"@sentiment"` entry.
    pub sentiment: bool,
}

impl Default for LearnOptions {
    fn default() -> Self {
        Self {
            min_count: 3,
            max_terms: 400,
            category_terms: 60,
            l2: 1.0,
            max_sweeps: 300,
            sentiment: true,
        }
    }
}

/// Converged once no weight moves more than this in a sweep.
const TOLERANCE: f64 = 1e-4;
/// Smallest L2 penalty used, so the fit is well-posed on separable data.
const MIN_L2: f64 = 1e-6;

/// Fits the side lexicon (reactive = +1, proactive = -1) and, for examples
/// with categories, one-vs-rest category lexicons. Examples of other sides
/// are ignored.
pub fn learn(examples: &[Example], options: &LearnOptions) -> Learned {
    let examples: Vec<&Example> = examples
        .iter()
        .filter(|example| matches!(example.side, Side::Reactive | Side::Proactive))
        .collect();
    let features = Features::index(&examples, options.min_count, options.sentiment);
    let sides: Vec<Option<bool>> = examples
        .iter()
        .map(|example| Some(example.side == Side::Reactive))
        .collect();
    let side = fit_lexicon(
        &features,
        &sides,
        options,
        Target::new("side", "reactive", "proactive", options.max_terms),
    );
    let categories = categories(&examples)
        .into_iter()
        .map(|(name, members)| {
            let target = Target::new(
                &format!("category_{name}"),
                &name,
                "other",
                options.category_terms,
            );
            fit_lexicon(
                &features,
                &members,
                options,
                Target {
                    positive_only: true,
                    ..target
                },
            )
        })
        .collect();
    Learned {
        side,
        categories,
        options: options.clone(),
        terms: (features.terms_seen, features.vocabulary.len()),
        corpus: None,
    }
}

/// What one model learns to tell apart, and how its table is cut.
struct Target {
    table: String,
    target: String,
    other: String,
    max_terms: usize,
    /// Keep only terms of positive weight (evidence for the target).
    positive_only: bool,
}

impl Target {
    fn new(table: &str, target: &str, other: &str, max_terms: usize) -> Target {
        Target {
            table: table.to_string(),
            target: target.to_string(),
            other: other.to_string(),
            max_terms,
            positive_only: false,
        }
    }
}

/// Fits one model over the examples with a membership (`Some(true)`: the
/// target, `Some(false)`: the rest, `None`: left out) and keeps its
/// strongest terms.
fn fit_lexicon(
    features: &Features,
    members: &[Option<bool>],
    options: &LearnOptions,
    target: Target,
) -> Lexicon {
    let (documents, labels): (Vec<Vec<(usize, f64)>>, Vec<f64>) = features
        .documents
        .iter()
        .zip(members)
        .filter_map(|(document, member)| {
            member.map(|member| (document.clone(), if member { 1.0 } else { -1.0 }))
        })
        .unzip();
    let fit_options = FitOptions {
        l2: options.l2.max(MIN_L2),
        max_sweeps: options.max_sweeps,
        tolerance: TOLERANCE,
    };
    let fit = model::fit(&documents, &labels, features.len(), fit_options);
    let sentiment_weight = features
        .sentiment
        .and_then(|number| fit.weights.get(number).copied())
        .filter(|weight| (weight * 1000.0).round() != 0.0);
    let target_counts = features.counts(|document| members[document] == Some(true));
    let other_counts = features.counts(|document| members[document] == Some(false));
    let mut terms: Vec<TermWeight> = fit
        .weights
        .iter()
        .take(features.vocabulary.len())
        .enumerate()
        .filter(|(_, weight)| (**weight * 1000.0).round() != 0.0)
        .filter(|(_, weight)| !target.positive_only || **weight > 0.0)
        .map(|(feature, weight)| TermWeight {
            term: features.vocabulary[feature].clone(),
            weight: *weight,
            target_count: target_counts[feature],
            other_count: other_counts[feature],
        })
        .collect();
    terms.sort_by(|a, b| {
        b.weight
            .abs()
            .total_cmp(&a.weight.abs())
            .then_with(|| a.term.cmp(&b.term))
    });
    terms.truncate(target.max_terms);
    terms.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.term.cmp(&b.term)));
    let positives = labels.iter().filter(|label| **label > 0.0).count();
    Lexicon {
        name: target.table,
        target: target.target,
        other: target.other,
        examples: (positives, labels.len() - positives),
        intercept: fit.intercept,
        sentiment_weight,
        terms,
        fit: (fit.sweeps, fit.converged),
    }
}

/// Reads a JSONL corpus file and learns from it; the result names the file.
/// Fails on a bad line or when either side has no examples.
pub fn learn_from_file(
    path: &Path,
    split: Option<&str>,
    options: &LearnOptions,
) -> Result<Learned, LearnError> {
    let file = std::fs::File::open(path).map_err(|source| LearnError::Open {
        path: path.display().to_string(),
        source,
    })?;
    let examples = read_jsonl(std::io::BufReader::new(file), split)?;
    let reactive = examples
        .iter()
        .filter(|example| example.side == Side::Reactive)
        .count();
    let proactive = examples.len() - reactive;
    if reactive == 0 || proactive == 0 {
        return Err(LearnError::OneSided { reactive, proactive });
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    Ok(learn(&examples, options).from_corpus(&name, split))
}

/// A category name as a table-name suffix: lower-case `[a-z0-9_]`, runs of
/// anything else as one `_`, no leading or trailing `_`.
pub fn sanitise(category: &str) -> String {
    let mut name = String::with_capacity(category.len());
    for c in category.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let name = name.trim_matches('_');
    if name.is_empty() {
        "unnamed".to_string()
    } else {
        name.to_string()
    }
}

/// For each sanitised category (sorted), which examples belong to it.
/// Examples without a category take part in no category model.
fn categories(examples: &[&Example]) -> BTreeMap<String, Vec<Option<bool>>> {
    let names: Vec<Option<String>> = examples
        .iter()
        .map(|example| example.category.as_deref().map(sanitise))
        .collect();
    let distinct: std::collections::BTreeSet<&String> = names.iter().flatten().collect();
    distinct
        .into_iter()
        .map(|name| {
            let members = names
                .iter()
                .map(|other| other.as_ref().map(|other| other == name))
                .collect();
            (name.clone(), members)
        })
        .collect()
}
