//! Cues: what a single line announces by its first words (a reply marker, an
//! original or forwarded message, a disclaimer, a "Sent from my iPhone").
//!
//! Every cue is anchored at the start of the line (after decoration such as
//! `-----` or `##-`), so classifying a line costs a few byte comparisons: a
//! table indexed by the first letter, never a scan of the whole line.

use std::sync::LazyLock;

use super::lines::{core, lead, starts_with_ci};

/// What a line announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    /// Nothing in particular.
    None,
    /// A helpdesk's "reply above this line": everything below is the thread.
    ReplyMarker,
    /// `-----Original Message-----`: a quoted message follows.
    OriginalMessage,
    /// `---------- Forwarded message ---------`, `Begin forwarded message:`.
    Forward,
    /// The start of a legal or confidentiality disclaimer.
    Disclaimer,
    /// An "external sender" warning banner: one paragraph.
    Banner,
    /// "Sent from my iPhone" and its kin: a one-line signature.
    SentFrom,
}

/// How a cue phrase must match the line.
#[derive(Debug, Clone, Copy)]
enum Fit {
    /// The line (after leading decoration) starts with the phrase.
    Prefix,
    /// The line (decoration and a trailing colon removed) is the phrase.
    Whole,
    /// The line opens with a rule (`-----`) and then starts with the phrase:
    /// Lotus Notes' `----- Forwarded by Jane Doe/HOU/ECT on 03/13/2001 ...`,
    /// whose tail names who and when, so it cannot be matched whole.
    AfterRule,
}

/// Longest line that can be a reply marker or a "Sent from" line.
const MAX_SHORT_CUE_LINE: usize = 160;

/// The phrases, in lower case. Non-ASCII letters match only as written.
const PHRASES: &[(&str, Cue, Fit)] = &[
    // Helpdesk reply markers (Zendesk, Freshdesk, Help Scout, Jira ...).
    ("please type your reply above", Cue::ReplyMarker, Fit::Prefix),
    ("type your reply above", Cue::ReplyMarker, Fit::Prefix),
    ("please reply above", Cue::ReplyMarker, Fit::Prefix),
    ("reply above this line", Cue::ReplyMarker, Fit::Prefix),
    ("please write your reply above", Cue::ReplyMarker, Fit::Prefix),
    ("write your reply above", Cue::ReplyMarker, Fit::Prefix),
    ("please respond above", Cue::ReplyMarker, Fit::Prefix),
    ("respond above this line", Cue::ReplyMarker, Fit::Prefix),
    (
        "please do not write below this line",
        Cue::ReplyMarker,
        Fit::Prefix,
    ),
    ("do not write below this line", Cue::ReplyMarker, Fit::Prefix),
    (
        "please do not reply below this line",
        Cue::ReplyMarker,
        Fit::Prefix,
    ),
    ("bitte geben sie ihre antwort über", Cue::ReplyMarker, Fit::Prefix),
    ("bitte antworten sie über", Cue::ReplyMarker, Fit::Prefix),
    ("bitte oberhalb dieser zeile", Cue::ReplyMarker, Fit::Prefix),
    ("escriba su respuesta por encima", Cue::ReplyMarker, Fit::Prefix),
    ("tapez votre réponse au-dessus", Cue::ReplyMarker, Fit::Prefix),
    ("veuillez répondre au-dessus", Cue::ReplyMarker, Fit::Prefix),
    ("typ uw antwoord boven", Cue::ReplyMarker, Fit::Prefix),
    // Outlook and Thunderbird separators.
    ("original message", Cue::OriginalMessage, Fit::Whole),
    ("original appointment", Cue::OriginalMessage, Fit::Whole),
    ("ursprüngliche nachricht", Cue::OriginalMessage, Fit::Whole),
    ("originalnachricht", Cue::OriginalMessage, Fit::Whole),
    ("message d'origine", Cue::OriginalMessage, Fit::Whole),
    ("mensaje original", Cue::OriginalMessage, Fit::Whole),
    ("messaggio originale", Cue::OriginalMessage, Fit::Whole),
    ("oorspronkelijk bericht", Cue::OriginalMessage, Fit::Whole),
    ("ursprungligt meddelande", Cue::OriginalMessage, Fit::Whole),
    ("oprindelig meddelelse", Cue::OriginalMessage, Fit::Whole),
    ("opprinnelig melding", Cue::OriginalMessage, Fit::Whole),
    ("mensagem original", Cue::OriginalMessage, Fit::Whole),
    ("wiadomość oryginalna", Cue::OriginalMessage, Fit::Whole),
    // Forwards: Gmail, Apple Mail, and their translations.
    ("forwarded message", Cue::Forward, Fit::Whole),
    ("begin forwarded message", Cue::Forward, Fit::Whole),
    ("forwarded by ", Cue::Forward, Fit::AfterRule),
    ("inline attachment follows", Cue::Forward, Fit::Whole),
    ("weitergeleitete nachricht", Cue::Forward, Fit::Whole),
    ("anfang der weitergeleiteten nachricht", Cue::Forward, Fit::Whole),
    ("message transféré", Cue::Forward, Fit::Whole),
    ("début du message réexpédié", Cue::Forward, Fit::Whole),
    ("début du message transféré", Cue::Forward, Fit::Whole),
    ("mensaje reenviado", Cue::Forward, Fit::Whole),
    ("inicio del mensaje reenviado", Cue::Forward, Fit::Whole),
    ("messaggio inoltrato", Cue::Forward, Fit::Whole),
    ("inizio messaggio inoltrato", Cue::Forward, Fit::Whole),
    ("doorgestuurd bericht", Cue::Forward, Fit::Whole),
    ("begin doorgestuurd bericht", Cue::Forward, Fit::Whole),
    ("vidarebefordrat meddelande", Cue::Forward, Fit::Whole),
    ("videresendt meddelelse", Cue::Forward, Fit::Whole),
    ("mensagem encaminhada", Cue::Forward, Fit::Whole),
    // Legal and confidentiality disclaimers.
    ("confidentiality notice", Cue::Disclaimer, Fit::Prefix),
    ("confidentiality note", Cue::Disclaimer, Fit::Prefix),
    ("confidentiality statement", Cue::Disclaimer, Fit::Prefix),
    ("confidentiality:", Cue::Disclaimer, Fit::Prefix),
    ("confidential notice", Cue::Disclaimer, Fit::Prefix),
    ("privileged and confidential", Cue::Disclaimer, Fit::Prefix),
    ("privileged/confidential", Cue::Disclaimer, Fit::Prefix),
    ("disclaimer", Cue::Disclaimer, Fit::Prefix),
    ("legal notice", Cue::Disclaimer, Fit::Prefix),
    ("legal disclaimer", Cue::Disclaimer, Fit::Prefix),
    ("this email and any", Cue::Disclaimer, Fit::Prefix),
    ("this e-mail and any", Cue::Disclaimer, Fit::Prefix),
    ("this message and any", Cue::Disclaimer, Fit::Prefix),
    ("this email message and any", Cue::Disclaimer, Fit::Prefix),
    ("this email is confidential", Cue::Disclaimer, Fit::Prefix),
    ("this e-mail is confidential", Cue::Disclaimer, Fit::Prefix),
    ("this message is confidential", Cue::Disclaimer, Fit::Prefix),
    ("this email may contain", Cue::Disclaimer, Fit::Prefix),
    ("this e-mail may contain", Cue::Disclaimer, Fit::Prefix),
    ("this message may contain", Cue::Disclaimer, Fit::Prefix),
    ("this email is intended", Cue::Disclaimer, Fit::Prefix),
    ("this e-mail is intended", Cue::Disclaimer, Fit::Prefix),
    ("this message is intended", Cue::Disclaimer, Fit::Prefix),
    ("this communication is confidential", Cue::Disclaimer, Fit::Prefix),
    ("this transmission is", Cue::Disclaimer, Fit::Prefix),
    ("the information contained in this", Cue::Disclaimer, Fit::Prefix),
    ("the information in this e", Cue::Disclaimer, Fit::Prefix),
    ("the information in this message", Cue::Disclaimer, Fit::Prefix),
    ("the contents of this e", Cue::Disclaimer, Fit::Prefix),
    ("the content of this e", Cue::Disclaimer, Fit::Prefix),
    ("if you are not the intended", Cue::Disclaimer, Fit::Prefix),
    ("if you have received this e", Cue::Disclaimer, Fit::Prefix),
    (
        "if you have received this message in error",
        Cue::Disclaimer,
        Fit::Prefix,
    ),
    ("if you received this e", Cue::Disclaimer, Fit::Prefix),
    ("please consider the environment", Cue::Disclaimer, Fit::Prefix),
    ("consider the environment before", Cue::Disclaimer, Fit::Prefix),
    ("think before you print", Cue::Disclaimer, Fit::Prefix),
    ("please do not print this", Cue::Disclaimer, Fit::Prefix),
    ("you received this mail because", Cue::Disclaimer, Fit::Prefix),
    ("you received this email because", Cue::Disclaimer, Fit::Prefix),
    ("you received this e-mail because", Cue::Disclaimer, Fit::Prefix),
    ("you are currently subscribed to", Cue::Disclaimer, Fit::Prefix),
    ("if you receive this e", Cue::Disclaimer, Fit::Prefix),
    ("if you receive this message", Cue::Disclaimer, Fit::Prefix),
    // Virus-scan stamps that mail gateways add to a message.
    ("this email has been scanned", Cue::Disclaimer, Fit::Prefix),
    ("this e-mail has been scanned", Cue::Disclaimer, Fit::Prefix),
    ("this message has been scanned", Cue::Disclaimer, Fit::Prefix),
    ("this email message has been swept", Cue::Disclaimer, Fit::Prefix),
    ("this email has been swept", Cue::Disclaimer, Fit::Prefix),
    ("this message has been swept", Cue::Disclaimer, Fit::Prefix),
    // Automated senders' "no reply" footers.
    (
        "please do not reply to this address",
        Cue::Disclaimer,
        Fit::Prefix,
    ),
    (
        "please do not reply to this mailbox",
        Cue::Disclaimer,
        Fit::Prefix,
    ),
    (
        "please do not reply to this automated",
        Cue::Disclaimer,
        Fit::Prefix,
    ),
    ("this mailbox is not monitored", Cue::Disclaimer, Fit::Prefix),
    ("this is an unmonitored mailbox", Cue::Disclaimer, Fit::Prefix),
    ("diese e-mail enthält", Cue::Disclaimer, Fit::Prefix),
    ("diese e-mail kann vertrauliche", Cue::Disclaimer, Fit::Prefix),
    (
        "diese nachricht enthält vertrauliche",
        Cue::Disclaimer,
        Fit::Prefix,
    ),
    ("vertraulichkeitshinweis", Cue::Disclaimer, Fit::Prefix),
    ("ce message et", Cue::Disclaimer, Fit::Prefix),
    ("ce courriel et", Cue::Disclaimer, Fit::Prefix),
    ("ce message est confidentiel", Cue::Disclaimer, Fit::Prefix),
    ("este mensaje y sus anexos", Cue::Disclaimer, Fit::Prefix),
    ("este correo electrónico y", Cue::Disclaimer, Fit::Prefix),
    ("dit e-mailbericht is", Cue::Disclaimer, Fit::Prefix),
    // "External sender" warning banners.
    ("caution: this email", Cue::Banner, Fit::Prefix),
    ("caution: this e-mail", Cue::Banner, Fit::Prefix),
    ("caution: this message", Cue::Banner, Fit::Prefix),
    ("caution: external", Cue::Banner, Fit::Prefix),
    ("caution external", Cue::Banner, Fit::Prefix),
    ("warning: this email originated", Cue::Banner, Fit::Prefix),
    ("warning: external", Cue::Banner, Fit::Prefix),
    ("attention: this email originated", Cue::Banner, Fit::Prefix),
    ("external email", Cue::Banner, Fit::Prefix),
    ("external e-mail", Cue::Banner, Fit::Prefix),
    ("external sender", Cue::Banner, Fit::Prefix),
    ("external message", Cue::Banner, Fit::Prefix),
    ("external]", Cue::Banner, Fit::Prefix),
    ("this email originated from outside", Cue::Banner, Fit::Prefix),
    ("this message originated from outside", Cue::Banner, Fit::Prefix),
    ("this email was sent from outside", Cue::Banner, Fit::Prefix),
    ("you don't often get email from", Cue::Banner, Fit::Prefix),
    // Mobile and webmail footers.
    ("sent from my", Cue::SentFrom, Fit::Prefix),
    ("sent from outlook", Cue::SentFrom, Fit::Prefix),
    ("sent from mail for", Cue::SentFrom, Fit::Prefix),
    ("sent from yahoo", Cue::SentFrom, Fit::Prefix),
    ("sent from aol", Cue::SentFrom, Fit::Prefix),
    ("sent from samsung", Cue::SentFrom, Fit::Prefix),
    ("sent from the all new aol", Cue::SentFrom, Fit::Prefix),
    ("sent with proton", Cue::SentFrom, Fit::Prefix),
    ("sent via ", Cue::SentFrom, Fit::Prefix),
    ("sent using", Cue::SentFrom, Fit::Prefix),
    ("get outlook for", Cue::SentFrom, Fit::Prefix),
    ("von meinem", Cue::SentFrom, Fit::Prefix),
    ("gesendet von meinem", Cue::SentFrom, Fit::Prefix),
    ("envoyé de mon", Cue::SentFrom, Fit::Prefix),
    ("envoyé depuis", Cue::SentFrom, Fit::Prefix),
    ("enviado desde mi", Cue::SentFrom, Fit::Prefix),
    ("enviado do meu", Cue::SentFrom, Fit::Prefix),
    ("inviato da", Cue::SentFrom, Fit::Prefix),
    ("verzonden vanaf", Cue::SentFrom, Fit::Prefix),
    ("verstuurd vanaf", Cue::SentFrom, Fit::Prefix),
    ("skickat från", Cue::SentFrom, Fit::Prefix),
    ("sendt fra", Cue::SentFrom, Fit::Prefix),
];

/// Phrase indexes by the ASCII letter they start with (26 = anything else).
static BY_FIRST_LETTER: LazyLock<[Vec<usize>; 27]> = LazyLock::new(|| {
    let mut table: [Vec<usize>; 27] = Default::default();
    for (index, (phrase, _, _)) in PHRASES.iter().enumerate() {
        table[bucket(phrase.as_bytes().first().copied())].push(index);
    }
    table
});

fn bucket(first: Option<u8>) -> usize {
    match first.map(|b| b.to_ascii_lowercase()) {
        Some(b @ b'a'..=b'z') => usize::from(b - b'a'),
        _ => 26,
    }
}

/// The cue a line carries, judged from its first words.
pub(crate) fn of(text: &str) -> Cue {
    let lead = lead(text);
    let Some(&first) = lead.as_bytes().first() else {
        return Cue::None;
    };
    let core = core(text);
    for &index in &BY_FIRST_LETTER[bucket(Some(first))] {
        let (phrase, cue, fit) = PHRASES[index];
        let found = match fit {
            Fit::Prefix => starts_with_ci(lead, phrase),
            Fit::Whole => core.len() == phrase.len() && starts_with_ci(core, phrase),
            Fit::AfterRule => starts_with_ci(lead, phrase) && opens_with_rule(text),
        };
        if found && fits_length(cue, text) {
            return cue;
        }
    }
    Cue::None
}

/// The line starts (after indentation) with three or more rule characters.
fn opens_with_rule(text: &str) -> bool {
    text.trim_start()
        .chars()
        .take_while(|c| "-_=".contains(*c))
        .count()
        >= 3
}

/// Markers and footers are short lines; a long line that merely starts the
/// same way is prose.
fn fits_length(cue: Cue, text: &str) -> bool {
    match cue {
        Cue::ReplyMarker | Cue::SentFrom | Cue::OriginalMessage | Cue::Forward => {
            text.len() <= MAX_SHORT_CUE_LINE
        }
        Cue::None | Cue::Disclaimer | Cue::Banner => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zendesk_reply_marker_is_recognised() {
        assert_eq!(
            of("##- Please type your reply above this line -##"),
            Cue::ReplyMarker
        );
    }

    #[test]
    fn original_message_separators_need_the_whole_line() {
        assert_eq!(of("-----Original Message-----"), Cue::OriginalMessage);
        assert_eq!(of("-------- Original Message --------"), Cue::OriginalMessage);
        assert_eq!(of("Original message was lost in transit"), Cue::None);
    }

    #[test]
    fn forward_markers_are_recognised() {
        assert_eq!(of("---------- Forwarded message ---------"), Cue::Forward);
        assert_eq!(of("Begin forwarded message:"), Cue::Forward);
    }

    #[test]
    fn lotus_notes_forward_lines_need_a_rule_before_them() {
        assert_eq!(
            of("---------------------- Forwarded by Jane Doe/HOU/ECT on 10/30/2000 "),
            Cue::Forward
        );
        assert_eq!(
            of("----- Forwarded by Jane Doe/NA/Enron on 01/25/02 03:23 PM -----"),
            Cue::Forward
        );
        assert_eq!(of("Forwarded by the courier this morning."), Cue::None);
    }

    #[test]
    fn outlook_appointment_and_inline_attachment_markers_are_recognised() {
        assert_eq!(of(" -----Original Appointment-----"), Cue::OriginalMessage);
        assert_eq!(of("--------- Inline attachment follows ---------"), Cue::Forward);
    }

    #[test]
    fn mailing_list_footers_are_disclaimers() {
        assert_eq!(
            of("You are currently subscribed to market_news as: jane@example.com"),
            Cue::Disclaimer
        );
    }

    #[test]
    fn gateway_stamps_and_no_reply_footers_are_disclaimers() {
        assert_eq!(
            of("This e-mail has been scanned for viruses by the Acme gateway"),
            Cue::Disclaimer
        );
        assert_eq!(
            of("Please do not reply to this address; nobody reads it."),
            Cue::Disclaimer
        );
        assert_eq!(
            of("If you receive this message by mistake, delete it."),
            Cue::Disclaimer
        );
        assert_eq!(of("Please do not reply to Sam yet."), Cue::None);
    }

    #[test]
    fn disclaimers_and_banners_are_told_apart() {
        assert_eq!(
            of("CONFIDENTIALITY NOTICE: This email is for the addressee."),
            Cue::Disclaimer
        );
        assert_eq!(
            of("[EXTERNAL] This email came from outside the company."),
            Cue::Banner
        );
    }

    #[test]
    fn sent_from_lines_are_recognised() {
        assert_eq!(of("Sent from my iPhone"), Cue::SentFrom);
        assert_eq!(of("Get Outlook for iOS"), Cue::SentFrom);
        assert_eq!(of("Sentence about my iPhone"), Cue::None);
    }
}
