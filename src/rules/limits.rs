//! Limits on what one rule file may ask of the compiler and the evaluator.
//! Without them a 50 MB file of 132k rules took 1.4 GB to check and 4.5 s to
//! classify one ticket. The defaults leave room for ten thousand rules like
//! the shipped ones (about 3 regexes and 30 keywords each, 2 KB of TOML).

/// Bounds on a rule file and what it compiles to. Each error beyond one
/// names the limit (as here) and the value found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleLimits {
    /// Largest rule file (and each lexicon file), in bytes.
    pub max_file_bytes: usize,
    /// Most `[[rule]]` tables.
    pub max_rules: usize,
    /// Most keyword literals: `contains` and `any_of` entries and lexicon
    /// terms together.
    pub max_literals: usize,
    /// Most `regex` conditions.
    pub max_regexes: usize,
    /// Largest compiled form of one regex, in bytes (the regex crate's
    /// `size_limit`); `(?i)` and Unicode classes make patterns grow.
    pub max_regex_bytes: usize,
}

impl Default for RuleLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 32 * 1024 * 1024,
            max_rules: 25_000,
            max_literals: 500_000,
            max_regexes: 50_000,
            max_regex_bytes: 2 * 1024 * 1024,
        }
    }
}
