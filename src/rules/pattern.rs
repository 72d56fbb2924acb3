//! What the scanner learns from a regex's source text, without a regex
//! parser of its own beyond a small, conservative lexer:
//!
//! - [`ascii_word_boundaries`]: the pattern with every Unicode word
//!   boundary (`\b`, `\b{..}`, `\<`, `\>`) made ASCII. On a text with no
//!   non-ASCII *word* character (plain English, curly quotes, dashes, emoji)
//!   both forms decide every position alike, and the ASCII form runs in the
//!   regex crate's lazy DFA instead of falling back to its much slower
//!   PikeVM whenever the text holds any non-ASCII byte.
//! - [`required_literals`]: a few ASCII strings at least one of which, folded
//!   to lower case, occurs in every text the pattern matches (a *trigger*).
//!   The scanner only runs the regex when the keyword automaton has seen a
//!   trigger. Literals join across white space, which is a single space in
//!   the normalised texts the scanner reads, and across small groups of
//!   alternatives (`(or|otherwise)\s+(i|we)` gives "or i", "or we" ...).
//!   Anything the lexer does not fully understand yields `None` (always run
//!   the regex), so a trigger is never wrong, only absent.

use super::text::double_space;

/// Characters outside ASCII that regex case-insensitivity equates with an
/// ASCII letter but that lower-casing does not turn into it: U+017F LATIN
/// SMALL LETTER LONG S matches `(?i)s`. (U+212A KELVIN SIGN matches `(?i)k`
/// and lower-cases to `k`, so it needs no special case.) A text holding one
/// of these runs every regex regardless of triggers.
pub(crate) const FOLD_EXCEPTIONS: &[char] = &['\u{17F}'];

/// Shortest trigger worth searching for; shorter ones match nearly always.
const MIN_TRIGGER_LEN: usize = 3;
/// Most triggers one regex may have.
const MAX_TRIGGERS: usize = 64;
/// Most strings a run of joined literals may have (a larger product is
/// split: each part is a set of its own).
const MAX_JOINED: usize = 32;

/// The pattern with Unicode word boundaries replaced by ASCII ones, or
/// `None` when it needs no change (it has none) or cannot be changed safely
/// (it uses `\B`, or the lexer does not understand it).
pub(crate) fn ascii_word_boundaries(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut changed = false;
    let mut at = 0;
    while at < chars.len() {
        match chars[at] {
            '\\' => {
                let escape = escape_len(&chars, at)?;
                let text: String = chars[at..at + escape].iter().collect();
                match chars.get(at + 1) {
                    Some('B') => return None,
                    Some('b' | '<' | '>') => {
                        out.push_str("(?-u:");
                        out.push_str(&text);
                        out.push(')');
                        changed = true;
                    }
                    _ => out.push_str(&text),
                }
                at += escape;
            }
            '[' => {
                let end = class_end(&chars, at)?;
                out.extend(&chars[at..end]);
                at = end;
            }
            c => {
                out.push(c);
                at += 1;
            }
        }
    }
    changed.then_some(out)
}

/// Length of the escape starting at `chars[at] == '\\'`, including any
/// braced argument (`\b{start}`, `\p{Greek}`, `\x{263a}`).
fn escape_len(chars: &[char], at: usize) -> Option<usize> {
    let kind = *chars.get(at + 1)?;
    // `\b{start}` is one boundary, but `\b{3,}` is `\b` repeated: the
    // regex crate reads a name only when a letter or `-` follows the brace.
    let braced = chars.get(at + 2) == Some(&'{')
        && (kind != 'b'
            || chars
                .get(at + 3)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == '-'));
    let len = match kind {
        'b' | 'p' | 'P' | 'x' | 'u' | 'U' if braced => {
            let close = chars[at + 2..].iter().position(|&c| c == '}')?;
            close + 3
        }
        'p' | 'P' => 3,
        'x' => 4,
        'u' => 6,
        'U' => 10,
        _ => 2,
    };
    (at + len <= chars.len()).then_some(len)
}

/// Index just past the character class starting at `chars[at] == '['`.
fn class_end(chars: &[char], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut index = at;
    while index < chars.len() {
        match chars[index] {
            '\\' => {
                index += 2;
                continue;
            }
            '[' => {
                depth += 1;
                // A `]` right after `[` or `[^` is a literal member.
                index += 1;
                if chars.get(index) == Some(&'^') {
                    index += 1;
                }
                if chars.get(index) == Some(&']') {
                    index += 1;
                }
                continue;
            }
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
        index += 1;
    }
    None
}

/// Trigger groups for `pattern`: every match of it contains, once the text
/// is lower-cased, at least one literal of *each* group. Empty when the
/// lexer can vouch for no group. The most selective groups come first.
///
/// The texts the scanner reads are normalised: their only white space is
/// single spaces (the scanner checks, see [`is_space_normal`]). There `\s`,
/// `\s+` and a literal space match exactly one space and `\s*` none or one,
/// so literals join across them ("or i" for `(or|otherwise)\s+(i|we)`).
pub(crate) fn required_literals(pattern: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut lexer = Lexer { chars: &chars, at: 0 };
    let needs = match lexer.alternation() {
        Some(language) if lexer.at == chars.len() => language.needs,
        _ => return Vec::new(),
    };
    let mut groups: Vec<Vec<String>> = needs.into_iter().filter(usable).collect();
    groups.sort_by_key(|set| std::cmp::Reverse(score(set)));
    groups.dedup();
    groups.truncate(MAX_GROUPS);
    groups
}

/// Whether a scanned text is white-space normal, as [`required_literals`]
/// assumes. Scanned texts are normalised (no white space but spaces), but
/// joining the parts of a body can leave two spaces in a row.
pub(crate) fn is_space_normal(text: &str) -> bool {
    double_space(text).is_none()
}

/// Most trigger groups kept for one regex.
const MAX_GROUPS: usize = 4;

/// A set of literals at least one of which occurs in every match.
type Set = Vec<String>;

/// Sets that all hold for every match (a conjunction); empty: unknown.
type Needs = Vec<Set>;

/// What the lexer learnt about a part of the pattern.
struct Language {
    /// What every match of it contains.
    needs: Needs,
    /// Every string it matches, lower-cased, when they are few and known.
    exact: Option<Set>,
}

/// Whether a set is worth searching for.
fn usable(set: &Set) -> bool {
    !set.is_empty() && set.len() <= MAX_TRIGGERS && set.iter().all(|literal| literal.len() >= MIN_TRIGGER_LEN)
}

/// Selectivity: longer shortest literal first, then fewer literals.
fn score(set: &Set) -> (usize, usize) {
    let shortest = set.iter().map(String::len).min().unwrap_or(0).min(8);
    (shortest, usize::MAX - set.len())
}

/// One element of a concatenation.
enum Item {
    /// Matches exactly one of these strings (lower-cased, in a normalised
    /// text): a literal character, white space, a group of literals.
    Exact(Set),
    /// Consumes nothing (`^`, `$`, `\b`, flags ...): keeps literal runs whole.
    ZeroWidth,
    /// A group that matches at least once, with what its matches need.
    Required(Needs),
    /// Anything else: classes, optional parts, repeated characters.
    Other,
}

/// A recursive-descent reader over the pattern. Each method returns `None`
/// when the pattern is outside what it understands (the caller then gives
/// up on triggers), or what it learnt.
struct Lexer<'a> {
    chars: &'a [char],
    at: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// `branch | branch | ...` up to `)` or the end. One branch needs
    /// what its items need; several match the union of their exact
    /// strings when each has them, else need one literal of the union of
    /// each branch's best set.
    fn alternation(&mut self) -> Option<Language> {
        let mut branches = vec![self.concatenation()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concatenation()?);
        }
        if branches.len() == 1 {
            return branches.pop();
        }
        let exact = branches.iter().try_fold(Set::new(), |mut union, branch| {
            for literal in branch.exact.as_ref()? {
                if !union.contains(literal) {
                    union.push(literal.clone());
                }
            }
            (union.len() <= MAX_TRIGGERS).then_some(union)
        });
        if let Some(set) = exact {
            return Some(Language {
                needs: vec![minimal(set.clone())],
                exact: Some(set),
            });
        }
        // Each branch's most selective set; if their union is too large,
        // each branch's smallest.
        let union = union_of(&branches, most_selective)
            .filter(usable)
            .or_else(|| union_of(&branches, smallest))
            .map(minimal);
        Some(Language {
            needs: union.into_iter().collect(),
            exact: None,
        })
    }

    /// Items up to `|`, `)` or the end: every run of exact items (as the
    /// strings it matches), and what every required group needs.
    fn concatenation(&mut self) -> Option<Language> {
        let mut needs = Needs::new();
        let mut run = vec![String::new()];
        let mut whole = true;
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let item = self.item()?;
            match self.quantified(item)? {
                Item::Exact(set) => {
                    if !extend(&mut run, &set) {
                        close_run(&mut run, &mut needs);
                        run = set;
                        whole = false;
                    }
                }
                Item::ZeroWidth => {}
                Item::Required(inner) => {
                    close_run(&mut run, &mut needs);
                    needs.extend(inner);
                    whole = false;
                }
                Item::Other => {
                    close_run(&mut run, &mut needs);
                    whole = false;
                }
            }
        }
        let exact = whole.then(|| run.clone());
        close_run(&mut run, &mut needs);
        Some(Language { needs, exact })
    }

    /// One atom: a character, escape, class, `.`, anchor or group.
    fn item(&mut self) -> Option<Item> {
        let c = self.peek()?;
        self.at += 1;
        match c {
            '\\' => self.escape(),
            '[' => {
                self.at = class_end(self.chars, self.at - 1)?;
                Some(Item::Other)
            }
            '(' => self.group(),
            '.' => Some(Item::Other),
            '^' | '$' => Some(Item::ZeroWidth),
            '*' | '+' | '?' | '{' | ')' | '|' => None,
            c if c.is_ascii() => Some(exact_char(c)),
            _ => Some(Item::Other),
        }
    }

    fn escape(&mut self) -> Option<Item> {
        let len = escape_len(self.chars, self.at - 1)?;
        let kind = self.peek()?;
        self.at += len - 1;
        match kind {
            'b' | 'B' | 'A' | 'z' | '<' | '>' => Some(Item::ZeroWidth),
            's' => Some(exact_char(' ')),
            'd' | 'D' | 'S' | 'w' | 'W' | 'p' | 'P' | 'x' | 'u' | 'U' => Some(Item::Other),
            'n' | 't' | 'r' | 'f' | 'v' | 'a' => Some(Item::Other),
            c if c.is_ascii_punctuation() || c == ' ' => Some(exact_char(c)),
            _ => None,
        }
    }

    /// `( ... )`, `(?: ... )`, `(?flags: ... )`, `(?P<name> ... )`,
    /// `(?<name> ... )`, or a flag setting `(?flags)`.
    fn group(&mut self) -> Option<Item> {
        if self.peek() == Some('?') {
            self.at += 1;
            match self.peek()? {
                'P' | '<' => {
                    let close = self.chars[self.at..].iter().position(|&c| c == '>')?;
                    self.at += close + 1;
                }
                _ => {
                    let flags_end = self.chars[self.at..].iter().position(|&c| c == ')' || c == ':')?;
                    let flags = &self.chars[self.at..self.at + flags_end];
                    // Verbose mode changes what whitespace and `#` mean.
                    if !flags.iter().all(|c| "imsuUR-".contains(*c)) || flags.contains(&'x') {
                        return None;
                    }
                    self.at += flags_end;
                    if self.peek() == Some(')') {
                        self.at += 1;
                        return Some(Item::ZeroWidth);
                    }
                    self.at += 1;
                }
            }
        }
        let inner = self.alternation()?;
        if self.peek() != Some(')') {
            return None;
        }
        self.at += 1;
        Some(match inner.exact {
            Some(set) => Item::Exact(set),
            None => Item::Required(inner.needs),
        })
    }

    /// Applies a following `?`, `*`, `+` or `{n,m}` (and a lazy `?`).
    fn quantified(&mut self, item: Item) -> Option<Item> {
        let (least, most) = match self.peek() {
            Some('{') => self.counted()?,
            Some(c @ ('?' | '*' | '+')) => {
                self.at += 1;
                match c {
                    '?' => (0, Some(1)),
                    '*' => (0, None),
                    _ => (1, None),
                }
            }
            _ => return Some(item),
        };
        if self.peek() == Some('?') {
            self.at += 1;
        }
        Some(match item {
            // One space at most in a row: `\s+` is one space, `\s*` none or one.
            Item::Exact(set) if set == [" "] && least <= 1 && most != Some(0) => Item::Exact(if least == 0 {
                vec![String::new(), " ".into()]
            } else {
                set
            }),
            Item::Exact(set) if (least, most) == (1, Some(1)) => Item::Exact(set),
            Item::Exact(mut set) if (least, most) == (0, Some(1)) => {
                set.push(String::new());
                Item::Exact(set)
            }
            Item::Required(needs) if least > 0 => Item::Required(needs),
            Item::Exact(set) if least > 0 && set.iter().all(|literal| !literal.is_empty()) => {
                Item::Required(vec![set])
            }
            Item::ZeroWidth => Item::ZeroWidth,
            // A repeated character cannot join a literal run; leave it out.
            _ => Item::Other,
        })
    }

    /// `{n}`, `{n,}` or `{n,m}`: the least and most counts.
    fn counted(&mut self) -> Option<(u32, Option<u32>)> {
        let close = self.chars[self.at..].iter().position(|&c| c == '}')?;
        let body: String = self.chars[self.at + 1..self.at + close].iter().collect();
        self.at += close + 1;
        let mut bounds = body.split(',').map(str::trim);
        let least = bounds.next()?.parse().ok()?;
        let most = match bounds.next() {
            None => Some(least),
            Some("") => None,
            Some(most) => Some(most.parse().ok()?),
        };
        Some((least, most))
    }
}

/// The usable set with the best [`score`].
fn most_selective(needs: &Needs) -> Option<&Set> {
    needs
        .iter()
        .filter(|set| usable(set))
        .max_by_key(|set| score(set))
}

/// The usable set with the fewest literals.
fn smallest(needs: &Needs) -> Option<&Set> {
    needs.iter().filter(|set| usable(set)).min_by_key(|set| set.len())
}

/// The union of the set `choose` picks from each branch's needs, if it
/// picks one from each.
fn union_of(branches: &[Language], choose: fn(&Needs) -> Option<&Set>) -> Option<Set> {
    let mut union = Set::new();
    for branch in branches {
        for literal in choose(&branch.needs)? {
            if !union.contains(literal) {
                union.push(literal.clone());
            }
        }
    }
    Some(union)
}

/// A literal character, lower-cased.
fn exact_char(c: char) -> Item {
    Item::Exact(vec![c.to_ascii_lowercase().to_string()])
}

/// Appends each of `set` to each string of `run`, unless that makes more
/// than [`MAX_JOINED`] strings.
fn extend(run: &mut Set, set: &Set) -> bool {
    if run.len() * set.len() > MAX_JOINED {
        return false;
    }
    let mut joined = Set::with_capacity(run.len() * set.len());
    for head in run.iter() {
        for tail in set {
            let literal = format!("{head}{tail}");
            if !joined.contains(&literal) {
                joined.push(literal);
            }
        }
    }
    *run = joined;
    true
}

/// Ends the current run, one of whose strings every match contains.
fn close_run(run: &mut Set, needs: &mut Needs) {
    let set = minimal(std::mem::replace(run, vec![String::new()]));
    if !set.iter().all(String::is_empty) {
        needs.push(set);
    }
}

/// The set without strings that contain another of its strings (a text
/// with the longer one has the shorter one too).
fn minimal(set: Set) -> Set {
    set.iter()
        .filter(|literal| {
            !set.iter()
                .any(|other| other != *literal && literal.contains(other.as_str()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn triggers(pattern: &str) -> Vec<Vec<String>> {
        required_literals(pattern)
            .into_iter()
            .map(|mut set| {
                set.sort();
                set
            })
            .collect()
    }

    fn groups(groups: &[&[&str]]) -> Vec<Vec<String>> {
        groups
            .iter()
            .map(|set| set.iter().map(|s| (*s).to_string()).collect())
            .collect()
    }

    #[test]
    fn literal_runs_and_groups_give_triggers() {
        assert_eq!(
            triggers(r"(?i)\berror\s*(code)?\s*[:#]?\s*5\d\d\b"),
            groups(&[&["error"]])
        );
        assert_eq!(
            triggers(r"(?i)\b(can'?t|cannot|unable to)\s+log in\b"),
            groups(&[&["can't log in", "cannot log in", "cant log in", "unable to log in"]])
        );
        assert_eq!(
            triggers(r"(?i)\b(charged|billed)\s+(twice|two times|\d+ times)"),
            groups(&[&["billed ", "charged "], &[" times", "twice"]])
        );
        assert_eq!(triggers(r"Order\s+#\d+"), groups(&[&["order #"]]));
        assert_eq!(triggers(r"c\+\+"), groups(&[&["c++"]]));
        assert_eq!(triggers(r"(?P<word>refund)ed"), groups(&[&["refunded"]]));
        assert_eq!(
            triggers(r"(?i)\b(other)\s+(customer|client)s?\s+(data|details)"),
            groups(&[&[
                "other client data",
                "other client details",
                "other clients data",
                "other clients details",
                "other customer data",
                "other customer details",
                "other customers data",
                "other customers details",
            ]])
        );
    }

    #[test]
    fn white_space_joins_literals_as_one_space() {
        assert_eq!(
            triggers(r"(?i)\b(or|otherwise)\s+(i|we)\s*(['’]ll|will)"),
            groups(&[&["or i", "or we", "otherwise i", "otherwise we"]])
        );
        assert_eq!(
            triggers(r"(?i)\bno\s?(3g|wifi)\b"),
            groups(&[&["no 3g", "no wifi", "no3g", "nowifi"]])
        );
        assert_eq!(triggers(r"log\s{1,3}in"), groups(&[&["log in"]]));
        assert_eq!(triggers(r"log\s{2}in"), groups(&[&["log"]]));
    }

    #[test]
    fn a_set_too_large_to_join_is_split() {
        assert_eq!(
            triggers(r"(aa1|aa2|aa3|aa4|aa5|aa6)(bb1|bb2|bb3|bb4|bb5|bb6)"),
            groups(&[
                &["aa1", "aa2", "aa3", "aa4", "aa5", "aa6"],
                &["bb1", "bb2", "bb3", "bb4", "bb5", "bb6"]
            ])
        );
    }

    #[test]
    fn alternatives_fall_back_to_their_smallest_sets_when_the_union_is_too_large() {
        let words = |prefix: &str| {
            (10..50)
                .map(|n| format!("{prefix}{n}"))
                .collect::<Vec<_>>()
                .join("|")
        };
        let pattern = format!(
            r"(abc|abd)\d({})|(efg|efh)\d({})",
            words("longword"),
            words("otherword")
        );
        assert_eq!(triggers(&pattern), groups(&[&["abc", "abd", "efg", "efh"]]));
    }

    #[test]
    fn optional_or_repeated_parts_are_not_triggers() {
        let none: Vec<Vec<String>> = Vec::new();
        assert_eq!(triggers(r"(?i)(refund)?\d+"), none);
        assert_eq!(triggers(r"a+b+c+"), none);
        assert_eq!(triggers(r"(foo|\d+)"), none);
        assert_eq!(triggers(r"(foo|)bar"), groups(&[&["bar"]]));
        assert_eq!(triggers(r"(?x) foo bar"), none);
        assert_eq!(triggers(r"ab"), none, "too short to be selective");
        assert_eq!(triggers(r"caf[eé]"), groups(&[&["caf"]]));
        assert_eq!(triggers(r"déjà"), none);
        assert_eq!(triggers(r"(?i)ärger"), groups(&[&["rger"]]));
    }

    #[test]
    fn repetition_splits_runs() {
        assert_eq!(
            triggers(r"wait(ing)+ times{2}"),
            groups(&[&[" time"], &["wait"], &["ing"]])
        );
        assert_eq!(triggers(r"abcx{0,3}defg"), groups(&[&["defg"], &["abc"]]));
    }

    #[test]
    fn unknown_syntax_gives_no_triggers() {
        let none: Vec<Vec<String>> = Vec::new();
        assert_eq!(triggers(r"(?=foo)"), none);
        assert_eq!(triggers(r"\qfoo"), none);
        assert_eq!(triggers(r"(foo"), none);
    }

    #[test]
    fn word_boundaries_become_ascii() {
        assert_eq!(
            ascii_word_boundaries(r"(?i)\bcan['’]?t\b").as_deref(),
            Some(r"(?i)(?-u:\b)can['’]?t(?-u:\b)")
        );
        assert_eq!(
            ascii_word_boundaries(r"\<a\b{start}[\]\b]\\b").as_deref(),
            Some(r"(?-u:\<)a(?-u:\b{start})[\]\b]\\b")
        );
        assert_eq!(
            ascii_word_boundaries(r"(?:\b{3,}?)+").as_deref(),
            Some(r"(?:(?-u:\b){3,}?)+"),
            "a repeated boundary stays repeated"
        );
        assert_eq!(ascii_word_boundaries(r"foo\Bbar"), None);
        assert_eq!(ascii_word_boundaries(r"plain"), None);
    }

    #[test]
    fn only_long_s_folds_to_ascii_without_lowercasing_to_it() {
        let letters = regex::Regex::new(r"(?i)[a-z]").expect("valid");
        let every_char: String = (0x80..0x11_0000u32).filter_map(char::from_u32).collect();
        let exceptions: Vec<char> = letters
            .find_iter(&every_char)
            .filter_map(|found| found.as_str().chars().next())
            .filter(|c| !c.to_lowercase().all(|lower| lower.is_ascii_lowercase()))
            .collect();
        assert_eq!(exceptions, FOLD_EXCEPTIONS);
    }
}
