//! Compiling the customer-journey parts of a rule file: `touchpoints`,
//! `default_touchpoint`, the `[internal]` table and `[[recovery]]` blocks.
//! Every error names the line and what to change.

use std::collections::HashSet;

use serde_spanned::Spanned;

use super::{is_valid_queue_name, Compiler, Result};
use crate::rules::condition::{Condition, Field};
use crate::rules::format::{InternalDoc, RecoveryDoc, RuleFileDoc};
use crate::rules::journey::{
    InternalRouting, RecoveryRule, DEFAULT_INTERNAL_TOUCHPOINT, DEFAULT_RECOVERY_CATEGORY,
    DEFAULT_TOUCHPOINT, DEFAULT_TOUCHPOINTS, MAX_DUE_AFTER_DAYS,
};
use crate::rules::text::fold;
use crate::ticket::{CustomerKind, Priority};

/// The journey parts of a compiled rule set.
#[derive(Default)]
pub(super) struct Journey {
    pub(super) default_touchpoint: String,
    pub(super) internal: Option<InternalRouting>,
}

impl Compiler<'_> {
    /// Reads `touchpoints` (the default list when absent) so that rules
    /// can be checked against it.
    pub(super) fn touchpoints(&mut self, doc: &RuleFileDoc) -> Result<()> {
        let Some(list) = &doc.touchpoints else {
            self.touchpoints = DEFAULT_TOUCHPOINTS.iter().map(|name| name.to_string()).collect();
            return Ok(());
        };
        if list.get_ref().is_empty() {
            return Err(self
                .source
                .error(list.span(), "touchpoints must list at least one"));
        }
        let mut seen = HashSet::new();
        for name in list.get_ref() {
            if !is_valid_queue_name(name) {
                let reason = format!(
                    "touchpoint {name:?} must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"
                );
                return Err(self.source.error(list.span(), reason));
            }
            if !seen.insert(name) {
                return Err(self
                    .source
                    .error(list.span(), format!("touchpoint {name:?} is listed twice")));
            }
        }
        self.touchpoints.clone_from(list.get_ref());
        Ok(())
    }

    /// A touchpoint named in the file, which must be listed.
    pub(super) fn known_touchpoint(&self, name: &Spanned<String>) -> Result<String> {
        self.listed_touchpoint(name.get_ref(), name.span())
    }

    fn listed_touchpoint(&self, name: &str, span: std::ops::Range<usize>) -> Result<String> {
        if self.touchpoints.iter().any(|touchpoint| touchpoint == name) {
            return Ok(name.to_string());
        }
        let reason = format!(
            "unknown touchpoint {name:?}; list it in touchpoints (listed: {})",
            self.touchpoints.join(", ")
        );
        Err(self.source.error(span, reason))
    }

    /// `default_touchpoint` and `[internal]`.
    pub(super) fn journey(&self, doc: &RuleFileDoc) -> Result<Journey> {
        let default_touchpoint = match &doc.default_touchpoint {
            Some(name) => self.known_touchpoint(name)?,
            None => self.fallback_touchpoint(DEFAULT_TOUCHPOINT),
        };
        let internal = doc
            .internal
            .as_ref()
            .map(|internal| self.internal(internal.get_ref()))
            .transpose()?;
        Ok(Journey {
            default_touchpoint,
            internal,
        })
    }

    /// `preferred` when listed, else the first listed touchpoint.
    fn fallback_touchpoint(&self, preferred: &str) -> String {
        if self.touchpoints.iter().any(|touchpoint| touchpoint == preferred) {
            return preferred.to_string();
        }
        self.touchpoints.first().cloned().unwrap_or_default()
    }

    fn internal(&self, doc: &InternalDoc) -> Result<InternalRouting> {
        let optional_queue =
            |queue: &Option<Spanned<String>>| queue.as_ref().map(|q| self.known_queue(q)).transpose();
        Ok(InternalRouting {
            default_queue: self.known_queue(&doc.default_queue)?,
            reactive_queue: optional_queue(&doc.reactive_queue)?,
            proactive_queue: optional_queue(&doc.proactive_queue)?,
            touchpoint: match &doc.default_touchpoint {
                Some(name) => self.known_touchpoint(name)?,
                None => self.fallback_touchpoint(DEFAULT_INTERNAL_TOUCHPOINT),
            },
        })
    }

    /// Checks the values an `equals`/`in` test on `touchpoint` or
    /// `customer_kind` compares with (an empty touchpoint: none was sent).
    pub(super) fn check_field_values(
        &self,
        field: &Field,
        values: &[String],
        span: std::ops::Range<usize>,
    ) -> Result<()> {
        for value in values {
            match field {
                Field::Touchpoint if !value.is_empty() => {
                    self.listed_touchpoint(value, span.clone())?;
                }
                Field::CustomerKind => {
                    let known = [CustomerKind::External, CustomerKind::Internal]
                        .iter()
                        .any(|kind| kind.name().eq_ignore_ascii_case(value));
                    if !known {
                        let reason =
                            format!("unknown customer kind {value:?}; expected external or internal");
                        return Err(self.source.error(span, reason));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The `[[recovery]]` blocks, checked.
    pub(super) fn recoveries(&self, docs: &[Spanned<RecoveryDoc>]) -> Result<Vec<RecoveryRule>> {
        let mut ids = HashSet::new();
        docs.iter()
            .map(|doc| {
                let block = self.recovery(doc)?;
                if !ids.insert(block.id.clone()) {
                    let reason = format!("duplicate recovery id {:?}", block.id);
                    return Err(self.source.error(doc.get_ref().id.span(), reason));
                }
                Ok(block)
            })
            .collect()
    }

    fn recovery(&self, doc: &Spanned<RecoveryDoc>) -> Result<RecoveryRule> {
        let block = doc.get_ref();
        let id = block.id.get_ref().trim();
        if id.is_empty() {
            return Err(self
                .source
                .error(block.id.span(), "recovery id must not be empty"));
        }
        let days = *block.due_after_days.get_ref();
        if !(0..=MAX_DUE_AFTER_DAYS).contains(&days) {
            let reason = format!("due_after_days is {days}; it must be 0 to {MAX_DUE_AFTER_DAYS}");
            return Err(self.source.error(block.due_after_days.span(), reason));
        }
        let sentiment_below = match &block.sentiment_below {
            Some(below) if !(-1.0..=1.0).contains(below.get_ref()) => {
                let reason = format!(
                    "sentiment_below is {}; it must be between -1 and 1",
                    below.get_ref()
                );
                return Err(self.source.error(below.span(), reason));
            }
            #[allow(clippy::cast_possible_truncation)] // within -1..1
            Some(below) => Some(*below.get_ref() as f32),
            None => None,
        };
        let touchpoints = match &block.touchpoints {
            Some(list) => Some(
                self.non_empty(list, "touchpoints")?
                    .iter()
                    .map(|name| self.listed_touchpoint(name, list.span()))
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        Ok(RecoveryRule {
            id: id.to_string(),
            line: self.source.position(doc.span().start).0,
            description: block.description.clone(),
            categories: block
                .categories
                .as_ref()
                .map(|list| self.non_empty(list, "categories").map(<[String]>::to_vec))
                .transpose()?,
            tiers: block
                .tiers
                .as_ref()
                .map(|list| {
                    Ok(self
                        .non_empty(list, "tiers")?
                        .iter()
                        .map(|tier| fold(tier))
                        .collect())
                })
                .transpose()?,
            touchpoints,
            sentiment_below,
            queue: self.known_queue(&block.queue)?,
            due_after_days: u32::try_from(days).unwrap_or(0),
            priority: match &block.priority {
                Some(priority) => self.priority(priority)?,
                None => Priority::Normal,
            },
            category: match &block.category {
                Some(category) if category.get_ref().trim().is_empty() => {
                    return Err(self.source.error(category.span(), "category must not be empty"));
                }
                Some(category) => category.get_ref().clone(),
                None => DEFAULT_RECOVERY_CATEGORY.to_string(),
            },
            action: block.action.clone(),
            skip_if_contacted: block.skip_if_contacted.unwrap_or(true),
        })
    }

    fn non_empty<'l>(&self, list: &'l Spanned<Vec<String>>, what: &str) -> Result<&'l [String]> {
        if list.get_ref().is_empty() {
            let reason = format!("{what} is empty, so the block could never apply; leave it out to mean any");
            return Err(self.source.error(list.span(), reason));
        }
        Ok(list.get_ref())
    }
}

/// Whether a condition tests `customer_kind` anywhere.
pub(super) fn tests_customer_kind(condition: &Condition) -> bool {
    match condition {
        Condition::All(parts) | Condition::Any(parts) => parts.iter().any(tests_customer_kind),
        Condition::Not(part) => tests_customer_kind(part),
        Condition::Value { field, .. } => *field == Field::CustomerKind,
        _ => false,
    }
}
