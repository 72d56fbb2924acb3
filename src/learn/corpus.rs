//! Labelled examples and the JSONL format they are read from.

use std::io::BufRead;

use serde::Deserialize;

use super::LearnError;
use crate::ticket::Side;

/// One labelled ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Subject line, if the example has one.
    pub subject: Option<String>,
    /// Message text.
    pub text: String,
    /// The side a person (or a trusted source) gave it: reactive or proactive.
    pub side: Side,
    /// The category a person gave it, if any.
    pub category: Option<String>,
}

/// One line as written; fields not named here ("id", "label" ...) are ignored.
#[derive(Debug, Deserialize)]
struct Line {
    text: String,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    side: Option<serde_json::Value>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    split: Option<String>,
}

fn labelled_side(side: Option<&serde_json::Value>) -> Option<Side> {
    match side.and_then(serde_json::Value::as_str) {
        Some("reactive") => Some(Side::Reactive),
        Some("proactive") => Some(Side::Proactive),
        _ => None,
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

/// Reads JSONL examples: one object a line with `text`, optional `subject`
/// and `category`, and `side` ("reactive" or "proactive"; other lines are
/// skipped). With `split`, only lines whose `split` field equals it are kept.
/// Blank lines are skipped; any other line that is not such an object is an
/// error naming its (1-based) line number.
pub fn read_jsonl(reader: impl BufRead, split: Option<&str>) -> Result<Vec<Example>, LearnError> {
    let mut examples = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|source| LearnError::Read { line: number, source })?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line).map_err(|err| LearnError::BadLine {
            line: number,
            reason: err.to_string(),
        })?;
        if split.is_some_and(|wanted| parsed.split.as_deref() != Some(wanted)) {
            continue;
        }
        let Some(side) = labelled_side(parsed.side.as_ref()) else {
            continue;
        };
        examples.push(Example {
            subject: non_empty(parsed.subject),
            text: parsed.text,
            side,
            category: non_empty(parsed.category),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_a_usable_side_are_skipped() {
        let input = concat!(
            r#"{"text": "a", "side": "reactive", "id": "x-1", "label": "l"}"#,
            "\n\n",
            r#"{"text": "b", "side": "unclassified"}"#,
            "\n",
            r#"{"text": "c"}"#,
            "\n",
            r#"{"text": "d", "side": "proactive", "subject": "s", "category": "praise"}"#,
        );
        let examples = read_jsonl(input.as_bytes(), None).expect("reads");
        assert_eq!(examples.len(), 2);
        assert_eq!(examples[1].subject.as_deref(), Some("s"));
        assert_eq!(examples[1].category.as_deref(), Some("praise"));
    }

    #[test]
    fn split_keeps_only_matching_lines() {
        let input = concat!(
            r#"{"text": "a", "side": "reactive", "split": "dev"}"#,
            "\n",
            r#"{"text": "b", "side": "reactive", "split": "heldout"}"#,
            "\n",
            r#"{"text": "c", "side": "reactive"}"#,
        );
        let examples = read_jsonl(input.as_bytes(), Some("dev")).expect("reads");
        assert_eq!(examples.len(), 1);
        assert_eq!(examples[0].text, "a");
    }
}
