//! Errors from loading a rule file. Every one names the file, and where the
//! problem is in it, so whoever edits the rules can act on the message.

use std::ops::Range;

/// Why a rule file was rejected.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("{file}: cannot read rule file: {source}")]
    Read {
        /// The file's path.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid rule set.
    #[error("{file}:{line}:{column}: {reason}")]
    Invalid {
        /// The file's path (or a name for embedded rules).
        file: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// What is wrong, in words a rule author can act on.
        reason: String,
    },
    /// Several rules or queues are wrong: each error, in file order (at
    /// most [`MAX_REPORTED_ERRORS`]), on one line.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<RuleError>),
}

/// Most errors one compilation reports; past it the compiler stops.
pub const MAX_REPORTED_ERRORS: usize = 50;

impl RuleError {
    /// Every single error this one holds, in file order.
    pub fn each(&self) -> Vec<&RuleError> {
        match self {
            RuleError::Several(errors) => errors.iter().flat_map(RuleError::each).collect(),
            single => vec![single],
        }
    }

    /// One error for `errors`: the error itself when there is one.
    pub(crate) fn from_all(mut errors: Vec<RuleError>) -> Option<RuleError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(RuleError::Several(errors)),
        }
    }
}

/// Turns byte offsets in one rule file into `file:line:column` errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SourceMap<'a> {
    file: &'a str,
    text: &'a str,
}

impl<'a> SourceMap<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Self { file, text }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    /// An error located at the start of `span`.
    pub(crate) fn error(&self, span: Range<usize>, reason: impl Into<String>) -> RuleError {
        let (line, column) = self.position(span.start);
        RuleError::Invalid {
            file: self.file.to_string(),
            line,
            column,
            reason: reason.into(),
        }
    }
}
