//! Signatures inside the customer's own text: the `-- ` delimiter, "Sent from
//! my iPhone" lines, and a sign-off ("Thanks,", "Best regards,") followed by
//! a short name/title block.

use std::ops::Range;

use super::cue::Cue;
use super::lines::{eq_fold, is_rule, starts_with_ci, word_count, Line};
use super::PartKind;

/// Longest line that can be a sign-off ("Best regards, Jane Doe").
const MAX_SIGN_OFF_LEN: usize = 60;
/// Most words of a name written after the sign-off on the same line.
const MAX_SIGN_OFF_NAME_WORDS: usize = 4;
/// Most name/title lines after a sign-off; contact lines (phone, address,
/// web) do not count, up to [`MAX_BLOCK_LINES`] lines in all.
const MAX_NAME_LINES: usize = 6;
/// Most non-blank lines after a sign-off, contact lines included.
const MAX_BLOCK_LINES: usize = 12;
/// Most non-blank lines after a sign-off when a rule line (`_____`) below
/// it opens a contact card: the card's lines (a title, a department, a
/// school, an address, phones, links) are not counted as name lines.
const MAX_CARD_LINES: usize = 24;
/// Longest line of a name/title block.
const MAX_BLOCK_LINE_LEN: usize = 100;
/// Lower-case words that make a line read as prose, not a title.
const MAX_LOWERCASE_WORDS: usize = 2;

/// Sign-off phrases in lower case, without punctuation.
const SIGN_OFFS: &[&str] = &[
    "thanks",
    "thank you",
    "thanks again",
    "thank you again",
    "many thanks",
    "thanks so much",
    "thank you so much",
    "thanks a lot",
    "thanks in advance",
    "thank you in advance",
    "thanks for your help",
    "thank you for your help",
    "thanks for your time",
    "thank you for your time",
    "thx",
    "tia",
    "cheers",
    "best",
    "all the best",
    "best wishes",
    "best regards",
    "kind regards",
    "kindest regards",
    "warm regards",
    "warmest regards",
    "regards",
    "with regards",
    "many regards",
    "br",
    "rgds",
    "sincerely",
    "yours sincerely",
    "sincerely yours",
    "yours truly",
    "yours",
    "yours faithfully",
    "respectfully",
    "cordially",
    "take care",
    "later",
    "talk soon",
    "talk to you soon",
    "talk to you later",
    "talk to ya later",
    "speak soon",
    "ttyl",
    "love",
    "lots of love",
    "much love",
    "all my love",
    "hugs",
    "see ya",
    "see you",
    "mit freundlichen grüßen",
    "mit freundlichen grüssen",
    "freundliche grüße",
    "freundliche grüsse",
    "viele grüße",
    "viele grüsse",
    "beste grüße",
    "liebe grüße",
    "gruß",
    "grüße",
    "lg",
    "mfg",
    "vg",
    "vielen dank",
    "besten dank",
    "danke",
    "cordialement",
    "bien cordialement",
    "bien à vous",
    "salutations",
    "meilleures salutations",
    "merci",
    "merci beaucoup",
    "saludos",
    "un saludo",
    "saludos cordiales",
    "atentamente",
    "gracias",
    "muchas gracias",
    "cordiali saluti",
    "distinti saluti",
    "saluti",
    "grazie",
    "met vriendelijke groet",
    "met vriendelijke groeten",
    "groeten",
    "groet",
    "bedankt",
    "med vänliga hälsningar",
    "vänliga hälsningar",
    "hälsningar",
    "mvh",
    "med venlig hilsen",
    "venlig hilsen",
    "med vennlig hilsen",
    "hilsen",
    "atenciosamente",
    "obrigado",
    "obrigada",
    "cumprimentos",
    "pozdrawiam",
    "z poważaniem",
];

/// Longest line that can be a bare name ("Anne C. Koehler", "-andy").
const MAX_NAME_LINE_LEN: usize = 40;
/// Most words of a bare name line.
const MAX_NAME_WORDS: usize = 3;
/// Longest all-capital word read as initials ("PL", "JSP"), not shouting.
const MAX_INITIALS: usize = 4;
/// Lower-case chat words that look like initials ("pls", "thx") but are not.
const NOT_INITIALS: &[&str] = &[
    "pls", "plz", "thx", "tnx", "thnx", "ty", "np", "lmk", "brb", "hm", "hmm", "mm", "sry", "ttyl", "k",
];

/// Replies, closers and common words that are capitalised like names but
/// are not ("Done", "Agreed", "FYI", "Just Kidding"), in lower case. A line
/// with any of them is not a bare name.
const NOT_NAME_WORDS: &[&str] = &[
    "yes",
    "no",
    "ok",
    "okay",
    "done",
    "agreed",
    "great",
    "sure",
    "fine",
    "cool",
    "perfect",
    "noted",
    "thanks",
    "thank",
    "thx",
    "fyi",
    "asap",
    "hi",
    "hello",
    "good",
    "correct",
    "right",
    "nice",
    "wow",
    "cheers",
    "congratulations",
    "approved",
    "confirmed",
    "attached",
    "enjoy",
    "welcome",
    "just",
    "kidding",
    "see",
    "you",
    "me",
    "we",
    "i",
    "it",
    "is",
    "this",
    "that",
    "the",
    "a",
    "an",
    "and",
    "or",
    "but",
    "to",
    "of",
    "in",
    "on",
    "at",
    "for",
    "with",
    "all",
    "here",
    "there",
    "please",
    "call",
    "let",
    "know",
    "not",
    "what",
    "when",
    "how",
    "why",
    "where",
    "sounds",
    "looks",
    "works",
    "again",
    "soon",
    "today",
    "tomorrow",
    "tonight",
    "now",
    "best",
];
/// Shortest wrapped line: a shorter line above a sign-off ends its sentence
/// there rather than running on into the next line.
const MIN_WRAPPED_LINE_LEN: usize = 60;
/// Longest attachment line ("- report.xls") below a signature.
const MAX_ATTACHMENT_LINE_LEN: usize = 100;

/// Words that stay lower case inside names and titles ("Head of Outage").
const CONNECTORS: &[&str] = &[
    "of", "and", "for", "the", "at", "de", "du", "la", "van", "von", "der", "den", "und", "y", "e",
];

/// Company-name endings that end a line with a full stop without making it a
/// sentence ("Acme Inc.").
const ABBREVIATIONS: &[&str] = &[
    "inc", "ltd", "co", "corp", "llc", "plc", "jr", "sr", "st", "dr", "rd", "ave", "esq", "phd",
];

/// Marks the signatures of one run of unquoted lines, `run.end` being where a
/// trailing disclaimer starts. Only lines still [`PartKind::New`] change; the
/// first line of the customer's own text (`first_text`) is never a signature,
/// so a message that is only "Thanks!" stays new.
pub(crate) fn mark(
    lines: &[Line<'_>],
    cues: &[Cue],
    run: Range<usize>,
    first_text: usize,
    kinds: &mut [PartKind],
) {
    for at in run.clone() {
        if kinds[at] != PartKind::New || at == first_text || lines[at].is_blank() {
            continue;
        }
        let text = lines[at].text;
        let rest_is_name_block = || {
            is_name_block(
                &lines[at + 1..run.end],
                &kinds[at + 1..run.end],
                &cues[at + 1..run.end],
            )
        };
        let starts_block = is_delimiter(text)
            || (is_sign_off(text) && !continues_sentence(lines, at) && rest_is_name_block())
            || (is_name_line(text) && ends_a_paragraph(lines, at) && rest_is_name_block());
        if starts_block {
            let end = trailing_attachments(lines, at..run.end);
            for kind in &mut kinds[at..end] {
                if *kind == PartKind::New {
                    *kind = PartKind::Signature;
                }
            }
            return;
        }
        if cues[at] == Cue::SentFrom {
            kinds[at] = PartKind::Signature;
        }
    }
}

/// A line that is only a name or initials, as people sign without a
/// sign-off: "Robin", "PL", "Anne C. Koehler", "-andy", "--Stinson".
/// Capitalised words (any case after a dash), not a common one-word reply.
pub(crate) fn is_name_line(text: &str) -> bool {
    let text = without_phone(text.trim());
    let name = text.trim_start_matches(['-', '–', '—', ' ']);
    let dashed = name.len() < text.len();
    let words: Vec<&str> = name.split_whitespace().collect();
    if name.len() > MAX_NAME_LINE_LEN || words.is_empty() || words.len() > MAX_NAME_WORDS {
        return false;
    }
    let name_like = |word: &&str| {
        word.chars().any(char::is_alphabetic)
            && word.chars().all(|c| c.is_alphabetic() || ".'-".contains(c))
            && (dashed || word.starts_with(char::is_uppercase))
    };
    let shouting = |word: &&str| {
        word.chars().filter(|c| c.is_alphabetic()).count() > MAX_INITIALS
            && !word.chars().any(char::is_lowercase)
    };
    let common = |word: &&str| {
        let word = word.trim_end_matches(['.', '!']);
        NOT_NAME_WORDS.iter().any(|n| eq_fold(word, n))
    };
    let names = words.iter().all(name_like) && !words.iter().any(shouting) && !words.iter().any(common);
    names || (words.len() == 1 && is_lowercase_initials(name))
}

/// Fewest digits of a phone number or extension written after a name.
const MIN_PHONE_DIGITS: usize = 4;

/// The line without a phone number or extension after the name ("Amy Roe
/// x5-8331", "Amy Roe 713-555-0142"), when two or more words come before
/// it. A bare run of digits is an order or ticket number, not a phone.
fn without_phone(text: &str) -> &str {
    let Some((name, last)) = text.rsplit_once(char::is_whitespace) else {
        return text;
    };
    let digits = last.chars().filter(char::is_ascii_digit).count();
    let phone_like = digits >= MIN_PHONE_DIGITS
        && last.chars().all(|c| c.is_ascii_digit() || "-.()+xX".contains(c))
        && last.contains(['-', '.', '(', 'x', 'X']);
    if phone_like && word_count(name) >= 2 {
        name.trim_end()
    } else {
        text
    }
}

/// Initials typed in lower case ("m", "ds", "jmf"): one to four letters, no
/// vowel (so no word), and not a chat abbreviation ("k" for "ok").
fn is_lowercase_initials(word: &str) -> bool {
    (1..=MAX_INITIALS).contains(&word.len())
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() && !b"aeiouy".contains(&b))
        && !NOT_INITIALS.contains(&word)
}

/// The line ends the customer's paragraph rather than continuing a list:
/// the line above is not a name too and does not end in a colon.
fn ends_a_paragraph(lines: &[Line<'_>], at: usize) -> bool {
    let above = lines[..at].iter().rev().find(|l| !l.is_blank());
    above.is_none_or(|l| !l.text.trim_end().ends_with(':') && !is_name_line(l.text))
}

/// A lower-case sign-off word that only ends a hard-wrapped sentence:
/// "... I'll talk to you" / "later." is prose, not "Later,".
fn continues_sentence(lines: &[Line<'_>], at: usize) -> bool {
    let Some(above) = at.checked_sub(1).map(|i| lines[i].text.trim_end()) else {
        return false;
    };
    above.len() >= MIN_WRAPPED_LINE_LEN
        && above.ends_with(|c: char| c.is_alphanumeric())
        && lines[at].text.trim_start().starts_with(char::is_lowercase)
}

/// Where the attachment lines that end `block` start (its end when there
/// are none): mail clients list attached files below the signature, and
/// they belong to the message, not to the signature.
fn trailing_attachments(lines: &[Line<'_>], block: Range<usize>) -> usize {
    let mut end = block.end;
    while end > block.start && (lines[end - 1].is_blank() || is_attachment(lines[end - 1].text)) {
        end -= 1;
    }
    // Keep trailing blank lines with the signature.
    while end < block.end && lines[end].is_blank() {
        end += 1;
    }
    end
}

/// An attached file's line: ` - report.xls`, `<<report.doc>>`,
/// `(See attached file: report.xls)`.
pub(crate) fn is_attachment(text: &str) -> bool {
    let text = text.trim();
    let has_extension = |name: &str| {
        name.rsplit_once('.').is_some_and(|(stem, ext)| {
            !stem.is_empty() && (2..=4).contains(&ext.len()) && ext.chars().all(|c| c.is_ascii_alphanumeric())
        })
    };
    text.len() <= MAX_ATTACHMENT_LINE_LEN
        && ((text.strip_prefix("- ").is_some_and(has_extension))
            || (text.starts_with("<<") && text.ends_with(">>"))
            || starts_with_ci(text, "(see attached file:"))
}

/// The conventional `-- ` signature delimiter (or a bare `--`).
fn is_delimiter(text: &str) -> bool {
    text.trim_end() == "--"
}

/// A line that is only a sign-off, perhaps with a short name after a comma
/// or dash: "Thanks!", "Best regards,", "Cheers - Bob".
pub(crate) fn is_sign_off(text: &str) -> bool {
    let text = text.trim();
    if text.len() > MAX_SIGN_OFF_LEN {
        return false;
    }
    let (phrase, name) = match text.find([',', '-', '–', '—', '.', '!']) {
        Some(at) => (
            &text[..at],
            text[at..].trim_start_matches([',', '-', '–', '—', '.', '!']),
        ),
        None => (text, ""),
    };
    let phrase = phrase.trim_end_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace());
    let name_fits =
        name.trim().is_empty() || (word_count(name) <= MAX_SIGN_OFF_NAME_WORDS && !is_sentence_like(name));
    // Same first letter first: a cheap filter before comparing words.
    let first = phrase.bytes().next().map(|b| b.to_ascii_lowercase());
    name_fits
        && SIGN_OFFS
            .iter()
            .any(|s| s.bytes().next() == first && same_words(phrase, s))
}

/// `text` has the words of `lower` (a phrase in lower case, one space
/// between words), ignoring case and how many spaces separate them
/// ("Thanks  again!" as some clients pad it).
fn same_words(text: &str, lower: &str) -> bool {
    let mut words = text.split_whitespace();
    lower
        .split(' ')
        .all(|want| words.next().is_some_and(|word| eq_fold(word, want)))
        && words.next().is_none()
}

/// The lines after a sign-off look like a name/title/contact block: few,
/// short, none reading like a sentence ("Sent from my iPhone" footers are
/// signature lines of their own and do not count). Below a rule line the
/// block is a contact card: its lines are not name lines, and it may run to
/// [`MAX_CARD_LINES`].
fn is_name_block(lines: &[Line<'_>], kinds: &[PartKind], cues: &[Cue]) -> bool {
    let mut total = 0;
    let mut names = 0;
    let mut in_card = false;
    for ((line, kind), cue) in lines.iter().zip(kinds).zip(cues) {
        if line.is_blank() || *kind != PartKind::New || *cue == Cue::SentFrom {
            continue;
        }
        let text = line.text.trim();
        total += 1;
        if is_rule(text) {
            in_card = true;
            continue;
        }
        if text.len() > MAX_BLOCK_LINE_LEN || is_sentence_like(text) {
            return false;
        }
        names += usize::from(!in_card && !is_contact(text));
        let most = if in_card { MAX_CARD_LINES } else { MAX_BLOCK_LINES };
        if total > most || names > MAX_NAME_LINES {
            return false;
        }
    }
    true
}

/// Phone numbers, addresses, links: lines that only signatures are made of.
fn is_contact(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    text.contains('@')
        || text.contains("http")
        || starts_with_ci(text, "www.")
        || text.contains('|')
        || digits >= 5
}

/// Reads as prose: a question, a postscript, several lower-case words, or
/// a full stop ending four or more words.
fn is_sentence_like(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with('?') || starts_with_ci(text, "p.s") || starts_with_ci(text, "ps:") {
        return true;
    }
    let lowercase = text
        .split_whitespace()
        .filter(|w| w.starts_with(|c: char| c.is_lowercase()))
        .filter(|w| !w.contains(['@', '.', ':', '/']))
        .filter(|w| !CONNECTORS.contains(&w.trim_end_matches(|c: char| c.is_ascii_punctuation())))
        .count();
    if lowercase > MAX_LOWERCASE_WORDS {
        return true;
    }
    let ends_sentence = text.ends_with(['.', '!']) && !ends_with_abbreviation(text);
    ends_sentence && word_count(text) >= 4 && !is_contact(text)
}

/// Ends with a company ending or a title written with full stops ("Acme
/// Inc.", "Jane Roe, Ph.D.").
fn ends_with_abbreviation(text: &str) -> bool {
    let last = text.split_whitespace().last().unwrap_or_default();
    let last = last.replace('.', "").to_ascii_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_offs_may_carry_a_short_name() {
        assert!(is_sign_off("Thanks!"));
        assert!(is_sign_off("Best regards,"));
        assert!(is_sign_off("Cheers - Bob"));
        assert!(is_sign_off("Mit freundlichen Grüßen"));
        assert!(!is_sign_off("Thanks, but the router is still broken again"));
        assert!(!is_sign_off("Thanks for nothing"));
    }

    #[test]
    fn padded_and_informal_sign_offs_are_recognised() {
        assert!(is_sign_off("Many  thanks!"));
        assert!(is_sign_off("Love,"));
        assert!(is_sign_off("Talk to ya later,"));
        assert!(!is_sign_off("Love the new dashboard"));
        assert!(!is_sign_off("Talk to you later about the invoice"));
    }

    #[test]
    fn a_name_with_an_extension_after_it_is_a_name_line() {
        assert!(is_name_line("Rita Moss x4-7720"));
        assert!(is_name_line("Rita Moss  281-555-0193"));
        assert!(!is_name_line("Order 4477201"));
        assert!(!is_name_line("Invoice x4-7720"));
        assert!(!is_name_line("x4-7720"));
    }

    #[test]
    fn yours_is_a_sign_off() {
        assert!(is_sign_off("yours, tom."));
        assert!(!is_sign_off("yours is the last one in the queue"));
    }

    #[test]
    fn lower_case_initials_are_name_lines_but_chat_words_are_not() {
        assert!(is_name_line("r"));
        assert!(!is_name_line("k"));
        assert!(!is_name_line("a"));
        assert!(is_name_line("kd"));
        assert!(is_name_line("jmf"));
        assert!(!is_name_line("pls"));
        assert!(!is_name_line("ok"));
        assert!(!is_name_line("hello"));
    }

    #[test]
    fn sign_offs_may_end_with_a_full_stop_before_the_name() {
        assert!(is_sign_off("Thanks. Barry Tycholiz"));
        assert!(!is_sign_off("Thanks. The router is still broken."));
    }

    #[test]
    fn bare_names_and_initials_are_name_lines() {
        for name in [
            "Robin",
            "PL",
            "Anne C. Koehler",
            "-andy",
            "--Stinson",
            "Dana Davis",
        ] {
            assert!(is_name_line(name), "{name}");
        }
    }

    #[test]
    fn attachment_lines_are_recognised() {
        assert!(is_attachment(" - WhitmanLetter.5.22.01.doc"));
        assert!(is_attachment(" <<Agreement.DOC>>"));
        assert!(is_attachment("(See attached file: HPLN0123.xls)"));
        assert!(!is_attachment("- call the bank"));
    }

    #[test]
    fn replies_and_shouting_are_not_name_lines() {
        for text in [
            "Done",
            "Agreed.",
            "FYI",
            "URGENT",
            "see below",
            "Call me at 3",
            "Just Kidding",
            "Jane, Bob and Ann here",
        ] {
            assert!(!is_name_line(text), "{text}");
        }
    }

    #[test]
    fn a_contact_card_below_a_rule_may_be_long() {
        let body = "Mo Rahimi\n\n______________________\nMo Rahimi, Ph.D.\nAssociate Professor of Hydrology\nSchool of Earth Sciences\nWestfield College\nRoom 214, Hale Hall\nPO Box 4410\nSpringvale, OR 97001\nTel: (541) 555-0142\nFax: (541) 555-0199\nmo.rahimi@westfield.example\nhttp://westfield.example/~mo\n______________________";
        let lines = crate::email::lines::split(body);
        let n = lines.len();
        assert!(is_name_block(
            &lines,
            &vec![PartKind::New; n],
            &vec![Cue::None; n]
        ));
    }

    #[test]
    fn without_a_rule_many_title_lines_are_not_a_name_block() {
        let body = "Mo Rahimi\nAssociate Professor\nHydrology Group\nSchool of Earth Sciences\nWestfield College\nHale Hall\nNorth Campus\nSpringvale";
        let lines = crate::email::lines::split(body);
        let n = lines.len();
        assert!(!is_name_block(
            &lines,
            &vec![PartKind::New; n],
            &vec![Cue::None; n]
        ));
    }

    #[test]
    fn titles_are_not_sentences_but_prose_is() {
        assert!(!is_sentence_like("Mo Rahimi, Ph.D."));
        assert!(!is_sentence_like("Head of Outage Response"));
        assert!(!is_sentence_like("Acme Widgets Inc."));
        assert!(!is_sentence_like("T: +44 20 7946 0018 | www.acme.example"));
        assert!(is_sentence_like("the router is broken again"));
        assert!(is_sentence_like("Can you call me back?"));
        assert!(is_sentence_like("Please call me back today."));
    }
}
