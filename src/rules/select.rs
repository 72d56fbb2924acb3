//! Which rules a ticket needs evaluated. Most rules can only hold when one
//! of their scanned text conditions holds (a keyword list, a regex); the
//! selector indexes rules by such conditions, so a ticket evaluates the
//! rules its scan could have made true, plus the few that can hold without
//! any (a `not`, a channel test alone, a history test). Rules are still
//! evaluated in file order, so results and `stop` behave as before.

use super::bits::Bits;
use super::condition::Condition;

/// Rules indexed by the scanned conditions that can make them hold.
#[derive(Debug, Default)]
pub(crate) struct Selector {
    /// Rules evaluated for every ticket.
    always: Bits,
    /// Scanned condition -> rules that can hold only through it (or
    /// through another condition of their trigger set).
    by_condition: Vec<Vec<usize>>,
}

impl Selector {
    /// Indexes the rules whose conditions are given in order.
    pub(crate) fn new<'a>(conditions: impl ExactSizeIterator<Item = &'a Condition>) -> Selector {
        let mut selector = Selector {
            always: Bits::new(conditions.len()),
            by_condition: Vec::new(),
        };
        for (rule, condition) in conditions.enumerate() {
            match triggers(condition) {
                None => selector.always.set(rule),
                Some(scanned) => {
                    for index in scanned {
                        if selector.by_condition.len() <= index {
                            selector.by_condition.resize_with(index + 1, Vec::new);
                        }
                        selector.by_condition[index].push(rule);
                    }
                }
            }
        }
        selector
    }

    /// Rules to evaluate given the scanned conditions that may hold.
    pub(crate) fn candidates(&self, possible: impl Iterator<Item = usize>) -> Bits {
        let mut rules = self.always.clone();
        for condition in possible {
            for &rule in self.by_condition.get(condition).into_iter().flatten() {
                rules.set(rule);
            }
        }
        rules
    }
}

/// Scanned conditions at least one of which holds whenever `condition`
/// holds, or `None` when there is no such set.
fn triggers(condition: &Condition) -> Option<Vec<usize>> {
    match condition {
        Condition::Scanned(index) => Some(vec![*index]),
        // Every part holds: any one part's triggers will do; take the fewest.
        Condition::All(parts) => parts.iter().filter_map(triggers).min_by_key(Vec::len),
        // Some part holds: all parts need triggers, and any of them may fire.
        Condition::Any(parts) => {
            let mut all = Vec::new();
            for part in parts {
                all.extend(triggers(part)?);
            }
            Some(all)
        }
        Condition::Not(_)
        | Condition::Value { .. }
        | Condition::History(_)
        | Condition::Score { .. }
        | Condition::Sentiment { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::condition::{Field, ValueTest};

    fn channel() -> Condition {
        Condition::Value {
            field: Field::Channel,
            test: ValueTest::Equals("chat".into()),
        }
    }

    #[test]
    fn rules_are_indexed_by_the_conditions_they_need() {
        let rules = [
            Condition::Scanned(0),
            Condition::All(vec![channel(), Condition::Scanned(1)]),
            Condition::Any(vec![Condition::Scanned(0), Condition::Scanned(2)]),
            Condition::Any(vec![Condition::Scanned(0), channel()]),
            Condition::Not(Box::new(Condition::Scanned(3))),
            Condition::All(vec![]),
        ];
        let selector = Selector::new(rules.iter());
        let chosen = |possible: &[usize]| {
            selector
                .candidates(possible.iter().copied())
                .ones()
                .collect::<Vec<_>>()
        };
        assert_eq!(chosen(&[]), vec![3, 4, 5]);
        assert_eq!(chosen(&[0]), vec![0, 2, 3, 4, 5]);
        assert_eq!(chosen(&[1, 2]), vec![1, 2, 3, 4, 5]);
    }
}
