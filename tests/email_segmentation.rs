//! Behaviour of `triage::email`: which parts of an email ticket body are the
//! customer's new words, for each mail-client and helpdesk style, plus HTML
//! conversion, subject cleaning and properties that hold for any input.

use proptest::prelude::*;
use triage::email::{
    clean_subject, html_to_text, looks_like_html, segment, PartKind, QuoteHeader, Segmentation,
};

/// Segments `body`, checks the coverage invariant, and returns the result.
fn split(body: &str) -> Segmentation {
    let segmentation = segment(body);
    assert_covers(body, &segmentation);
    segmentation
}

/// Segments are contiguous, in order, cover the body exactly, sit on char
/// boundaries, and neighbours differ in kind.
fn assert_covers(body: &str, segmentation: &Segmentation) {
    let mut at = 0;
    let mut previous = None;
    for segment in &segmentation.segments {
        assert_eq!(segment.start, at, "gap or overlap at {at}");
        assert!(segment.end > segment.start, "empty segment at {at}");
        assert!(body.is_char_boundary(segment.start) && body.is_char_boundary(segment.end));
        assert_ne!(previous, Some(segment.kind), "unmerged neighbours at {at}");
        previous = Some(segment.kind);
        at = segment.end;
    }
    assert_eq!(at, body.len(), "segments stop short of the body's end");
}

fn new_text(body: &str) -> String {
    split(body).new_text(body)
}

fn text_of(body: &str, kind: PartKind) -> String {
    split(body).text_of(body, kind)
}

#[test]
fn body_without_structure_is_all_new() {
    let body = "My internet has been down since Monday.\nPlease send an engineer.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.segments.len(), 1);
    assert_eq!(segmentation.segments[0].kind, PartKind::New);
}

#[test]
fn one_line_thanks_is_new_not_signature() {
    assert_eq!(new_text("Thanks!"), "Thanks!");
    assert_eq!(new_text("\n\nThanks!\n"), "Thanks!");
}

#[test]
fn gt_quoted_reply_below_attribution_is_quoted() {
    let body = "Still broken, see below.\n\n\
                On Mon, 1 Jan 2024 at 10:00, Support <support@acme.example> wrote:\n\
                > Please restart your router.\n\
                > Kind regards, Support\n";
    assert_eq!(new_text(body), "Still broken, see below.");
    assert_eq!(
        text_of(body, PartKind::Quoted),
        "> Please restart your router.\n> Kind regards, Support"
    );
    assert!(text_of(body, PartKind::QuoteHeader).starts_with("On Mon, 1 Jan 2024"));
}

#[test]
fn nested_quotes_are_quoted() {
    let body = "New words.\n\n> Agent said this\n> > Customer said that\n>> and more\n> > > deeper\n";
    assert_eq!(new_text(body), "New words.");
    assert!(text_of(body, PartKind::Quoted).contains("> > > deeper"));
}

#[test]
fn attribution_wrapped_over_two_lines_is_a_header() {
    let body = "Not fixed.\n\nOn Mon, Jan 1, 2024 at 10:00 AM Support Team <\nsupport@acme.example> wrote:\n\n> Try again.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Not fixed.");
    assert_eq!(
        segmentation.quoted_headers(body),
        vec![QuoteHeader {
            who: "Support Team <support@acme.example>".into(),
            when: "Mon, Jan 1, 2024 at 10:00 AM".into(),
        }]
    );
}

#[test]
fn attribution_wrapped_over_three_lines_is_a_header() {
    let body = "Not fixed.\n\nOn Monday, 1 January 2024 at 10:00,\nSupport Team\n<support@acme.example> wrote:\n> Try again.\n";
    assert_eq!(new_text(body), "Not fixed.");
    assert_eq!(text_of(body, PartKind::Quoted), "> Try again.");
}

#[test]
fn german_attribution_is_a_header() {
    let body = "Geht immer noch nicht.\n\nAm 01.02.2024 um 10:00 schrieb Support <support@acme.example>:\n> Bitte Router neu starten.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Geht immer noch nicht.");
    assert_eq!(
        segmentation.quoted_headers(body),
        vec![QuoteHeader {
            who: "Support <support@acme.example>".into(),
            when: "01.02.2024 um 10:00".into(),
        }]
    );
}

#[test]
fn french_attribution_is_a_header() {
    let body = "Toujours en panne.\n\nLe lun. 1 janv. 2024 à 10:00, Support <support@acme.example> a écrit :\n> Redémarrez la box.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Toujours en panne.");
    assert_eq!(
        segmentation.quoted_headers(body),
        vec![QuoteHeader {
            who: "Support <support@acme.example>".into(),
            when: "lun. 1 janv. 2024 à 10:00".into(),
        }]
    );
}

#[test]
fn attribution_followed_by_unquoted_text_quotes_everything_after() {
    let body = "Refund please.\n\nOn Tue, 2 Jan 2024 at 09:00, Support <support@acme.example> wrote:\n\nWe have reviewed your account and the outage is resolved.\nRegards, Support\n";
    assert_eq!(new_text(body), "Refund please.");
    assert!(text_of(body, PartKind::Quoted).contains("outage is resolved"));
}

#[test]
fn sentence_starting_with_on_is_not_a_header() {
    let body = "On Monday my router died and your agent wrote:\nnothing useful.\n";
    assert_eq!(new_text(body), body.trim_end());
}

#[test]
fn outlook_original_message_quotes_everything_after() {
    let body = "Cancel my contract.\n\n-----Original Message-----\nFrom: Support [mailto:support@acme.example]\nSent: Monday, January 1, 2024 10:00 AM\nTo: Jane Doe\nSubject: RE: Outage\n\nYour outage ticket is closed.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Cancel my contract.");
    assert_eq!(
        segmentation.text_of(body, PartKind::Quoted),
        "Your outage ticket is closed."
    );
    assert_eq!(
        segmentation.quoted_headers(body),
        vec![QuoteHeader {
            who: "Support <support@acme.example>".into(),
            when: "Monday, January 1, 2024 10:00 AM".into(),
        }]
    );
}

#[test]
fn outlook_header_block_without_separator_quotes_everything_after() {
    let body = "Still no signal.\n\n________________________________\nFrom: Support <support@acme.example>\nSent: Monday, 1 January 2024 10:00\nTo: Jane Doe <jane@example.com>\nSubject: Signal issue\n\nWe apologise for the outage.\n\nKind regards,\nSupport\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Still no signal.");
    assert!(segmentation
        .text_of(body, PartKind::QuoteHeader)
        .starts_with("________________________________\nFrom: Support"));
    assert!(segmentation.text_of(body, PartKind::Quoted).contains("apologise"));
}

#[test]
fn localized_outlook_block_is_a_header() {
    let body = "Bitte kündigen.\n\nVon: Support <support@acme.example>\nGesendet: Montag, 1. Januar 2024 10:00\nAn: Max\nBetreff: Störung\n\nIhre Störung ist behoben.\n";
    assert_eq!(new_text(body), "Bitte kündigen.");
    assert_eq!(text_of(body, PartKind::Quoted), "Ihre Störung ist behoben.");
}

#[test]
fn from_and_to_in_a_travel_question_stay_new() {
    let body = "I want to change my booking.\nFrom: London\nTo: Paris\nCan you help?\n";
    assert_eq!(new_text(body), body.trim_end());
}

#[test]
fn later_headers_in_the_thread_are_listed_too() {
    let body = "Any news?\n\nFrom: Support <support@acme.example>\nSent: Tuesday\nTo: Jane\nSubject: RE: Outage\n\nWe are on it.\n\nFrom: Jane <jane@example.com>\nSent: Monday\nTo: Support\nSubject: Outage\n\nMy line is dead.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Any news?");
    let who: Vec<String> = segmentation
        .quoted_headers(body)
        .into_iter()
        .map(|h| h.who)
        .collect();
    assert_eq!(who, ["Support <support@acme.example>", "Jane <jane@example.com>"]);
}

#[test]
fn gmail_forward_quotes_the_forwarded_message_and_keeps_the_note_new() {
    let body = "Please look at this bill, it is wrong.\n\n---------- Forwarded message ---------\nFrom: Billing <billing@acme.example>\nDate: Mon, 1 Jan 2024 at 10:00\nSubject: Your bill\nTo: <jane@example.com>\n\nYour bill is 500 EUR.\n";
    let segmentation = split(body);
    assert_eq!(
        segmentation.new_text(body),
        "Please look at this bill, it is wrong."
    );
    assert_eq!(
        segmentation.text_of(body, PartKind::Quoted),
        "Your bill is 500 EUR."
    );
    assert_eq!(
        segmentation.quoted_headers(body),
        vec![QuoteHeader {
            who: "Billing <billing@acme.example>".into(),
            when: "Mon, 1 Jan 2024 at 10:00".into(),
        }]
    );
}

#[test]
fn forward_only_message_has_no_new_text() {
    let body = "---------- Forwarded message ---------\nFrom: Billing <billing@acme.example>\nDate: Mon, 1 Jan 2024\nSubject: Your bill\n\nYour bill is 500 EUR.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "");
    assert_eq!(
        segmentation.text_of(body, PartKind::Quoted),
        "Your bill is 500 EUR."
    );
}

#[test]
fn apple_mail_forward_quotes_the_forwarded_message() {
    let body = "FYI\n\nBegin forwarded message:\n\nFrom: Billing <billing@acme.example>\nSubject: Your bill\nDate: 1 January 2024 at 10:00:00 GMT\nTo: Jane <jane@example.com>\n\nYour bill is 500 EUR.\n";
    assert_eq!(new_text(body), "FYI");
    assert_eq!(text_of(body, PartKind::Quoted), "Your bill is 500 EUR.");
}

#[test]
fn dash_dash_space_starts_a_signature() {
    let body = "The app crashes on login.\n\n-- \nJane Doe\nAcme Widgets\n";
    assert_eq!(new_text(body), "The app crashes on login.");
    assert_eq!(text_of(body, PartKind::Signature), "-- \nJane Doe\nAcme Widgets");
}

#[test]
fn sent_from_my_iphone_is_a_signature() {
    for footer in [
        "Sent from my iPhone",
        "Sent from my Android phone",
        "Get Outlook for iOS",
        "Von meinem iPhone gesendet",
    ] {
        let body = format!("No dial tone since this morning.\n\n{footer}\n");
        assert_eq!(new_text(&body), "No dial tone since this morning.", "{footer}");
        assert_eq!(text_of(&body, PartKind::Signature), footer);
    }
}

#[test]
fn sign_off_with_name_block_is_a_signature() {
    for sign_off in ["Thanks,", "Best regards,", "Cheers,", "Kind regards", "Regards"] {
        let body = format!("My invoice is wrong.\n\n{sign_off}\nJane Doe\nSenior Buyer\nAcme Widgets Inc.\n");
        assert_eq!(new_text(&body), "My invoice is wrong.", "{sign_off}");
        assert!(text_of(&body, PartKind::Signature).starts_with(sign_off));
    }
}

#[test]
fn signature_with_problem_words_is_still_a_signature() {
    let body = "Please call me back.\n\nThanks,\nJane Doe\nHead of Outage Response\n";
    assert_eq!(new_text(body), "Please call me back.");
    assert_eq!(
        text_of(body, PartKind::Signature),
        "Thanks,\nJane Doe\nHead of Outage Response"
    );
}

#[test]
fn signature_with_contact_lines_is_a_signature() {
    let body = "Router broken.\n\nBest regards,\nJane Doe\nOperations Manager\nAcme Widgets Ltd\n1 High Street, London EC1A 1AA\nT: +44 20 7946 0018 | M: +44 7700 900123\njane@acme.example | www.acme.example\n";
    assert_eq!(new_text(body), "Router broken.");
}

#[test]
fn thanks_followed_by_more_prose_stays_new() {
    let body =
        "Hi,\n\nThanks,\nbut the router is still broken and nobody called me back.\nPlease escalate.\n";
    assert_eq!(new_text(body), body.trim());
}

#[test]
fn disclaimer_after_signature_is_a_disclaimer() {
    let body = "Where is my refund?\n\nRegards,\nJane\n\nCONFIDENTIALITY NOTICE: This email and any attachments are confidential.\nIf you are not the intended recipient, delete it.\n\nAcme Ltd is registered in England, no. 123456.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Where is my refund?");
    assert_eq!(segmentation.text_of(body, PartKind::Signature), "Regards,\nJane");
    let disclaimer = segmentation.text_of(body, PartKind::Disclaimer);
    assert!(disclaimer.starts_with("CONFIDENTIALITY NOTICE"));
    assert!(disclaimer.ends_with("no. 123456."));
}

#[test]
fn disclaimer_phrases_are_disclaimers() {
    for notice in [
        "This email and any attachments are confidential and intended solely for the addressee.",
        "If you are not the intended recipient, please notify the sender.",
        "Please consider the environment before printing this email.",
    ] {
        let body = format!("The outage is back.\n\n{notice}\n");
        assert_eq!(new_text(&body), "The outage is back.", "{notice}");
        assert_eq!(text_of(&body, PartKind::Disclaimer), notice);
    }
}

#[test]
fn external_sender_banner_at_the_top_is_a_disclaimer() {
    let body = "CAUTION: This email originated from outside of the organization.\nDo not click links.\n\nMy broadband is down again.\n";
    assert_eq!(new_text(body), "My broadband is down again.");
    assert!(text_of(body, PartKind::Disclaimer).starts_with("CAUTION"));
}

#[test]
fn disclaimer_before_the_quote_does_not_swallow_the_quote() {
    let body = "Fix it.\n\nThis email is confidential.\n\nOn Mon, 1 Jan 2024 at 10:00, Support <s@acme.example> wrote:\n> Done.\n";
    let segmentation = split(body);
    assert_eq!(segmentation.new_text(body), "Fix it.");
    assert_eq!(
        segmentation.text_of(body, PartKind::Disclaimer),
        "This email is confidential."
    );
    assert_eq!(segmentation.text_of(body, PartKind::Quoted), "> Done.");
}

#[test]
fn helpdesk_reply_marker_quotes_everything_below() {
    let body = "##- Please type your reply above this line -##\n";
    let reply = format!("Yes, the engineer never came.\n\n{body}\nYour request #123 has been updated.\nAgent: we will send an engineer.\n");
    let segmentation = split(&reply);
    assert_eq!(segmentation.new_text(&reply), "Yes, the engineer never came.");
    assert!(segmentation
        .text_of(&reply, PartKind::Quoted)
        .contains("send an engineer"));
    assert!(segmentation.quoted_headers(&reply).is_empty());
}

#[test]
fn inline_answers_between_quotes_are_new() {
    let body = "Answers inline.\n\nOn Tue, 2 Jan 2024 at 09:00, Support <support@acme.example> wrote:\n> What is your router model?\nIt's the X200.\n> When did it start?\nYesterday evening.\n> Anything else?\n";
    let segmentation = split(body);
    assert_eq!(
        segmentation.new_text(body),
        "Answers inline.\nIt's the X200.\nYesterday evening."
    );
    assert_eq!(
        segmentation.text_of(body, PartKind::Quoted),
        "> What is your router model?\n> When did it start?\n> Anything else?"
    );
}

#[test]
fn inline_answer_run_can_end_with_a_signature() {
    let body = "> Order number?\n12345\n\nThanks,\nBob\n";
    assert_eq!(new_text(body), "12345");
    assert_eq!(text_of(body, PartKind::Signature), "Thanks,\nBob");
}

#[test]
fn bottom_posted_thanks_under_a_quote_stays_new() {
    let body =
        "On Mon, 1 Jan 2024 at 10:00, Support <s@acme.example> wrote:\n> Is it fixed now?\n\nThanks!\n";
    assert_eq!(new_text(body), "Thanks!");
}

#[test]
fn sign_off_with_name_on_the_same_line_is_a_signature() {
    let body = "The bill doubled this month.\n\nBest, Jane\n";
    assert_eq!(new_text(body), "The bill doubled this month.");
    assert_eq!(text_of(body, PartKind::Signature), "Best, Jane");
}

#[test]
fn jira_style_reply_marker_quotes_everything_below() {
    let body = "Still waiting.\n\n\u{2014}-\u{2014}-\u{2014}\nReply above this line.\n\nAgent Smith commented:\nWe escalated your outage.\n";
    assert_eq!(new_text(body), "Still waiting.");
    assert!(text_of(body, PartKind::QuoteHeader).starts_with("\u{2014}-\u{2014}-\u{2014}\nReply above"));
    assert!(text_of(body, PartKind::Quoted).contains("escalated"));
}

#[test]
fn legal_notice_as_first_line_covers_only_its_paragraph() {
    let body = "This email is confidential.\n\nMy router is broken.\n";
    assert_eq!(new_text(body), "My router is broken.");
    assert_eq!(text_of(body, PartKind::Disclaimer), "This email is confidential.");
}

#[test]
fn attribution_without_opener_before_a_quote_is_a_header() {
    let body = "Same again.\n\nSupport Team <support@acme.example> wrote:\n> Try a reset.\n";
    assert_eq!(new_text(body), "Same again.");
    assert!(text_of(body, PartKind::QuoteHeader).starts_with("Support Team"));
}

#[test]
fn blank_lines_belong_to_the_part_above() {
    let body = "\nNew.\n\n\n> quoted\n\nmore new\n";
    let segmentation = split(body);
    let kinds: Vec<(PartKind, &str)> = segmentation
        .segments
        .iter()
        .map(|s| (s.kind, &body[s.start..s.end]))
        .collect();
    assert_eq!(
        kinds,
        [
            (PartKind::New, "\nNew.\n\n\n"),
            (PartKind::Quoted, "> quoted\n\n"),
            (PartKind::New, "more new\n"),
        ]
    );
}

#[test]
fn crlf_bodies_are_segmented_like_lf_bodies() {
    let body = "Broken.\r\n\r\nOn Mon, 1 Jan 2024 at 10:00, S <s@acme.example> wrote:\r\n> ok\r\n";
    assert_eq!(new_text(body), "Broken.");
    assert_eq!(text_of(body, PartKind::Quoted), "> ok");
}

#[test]
fn html_blockquote_reply_is_segmented_after_conversion() {
    let html = r#"<html><head><style>.x{color:red}</style></head><body>
        <div dir="ltr">The modem is still offline.</div><br>
        <div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 1 Jan 2024 at 10:00, Support &lt;support@acme.example&gt; wrote:<br></div>
        <blockquote class="gmail_quote"><div>Please restart the modem.</div>
        <blockquote><div>Older message about an outage.</div></blockquote></blockquote></div>
        <script>track()</script></body></html>"#;
    assert!(looks_like_html(html));
    let text = html_to_text(html);
    assert!(!text.contains("color:red") && !text.contains("track()"), "{text}");
    let segmentation = split(&text);
    assert_eq!(segmentation.new_text(&text), "The modem is still offline.");
    let quoted = segmentation.text_of(&text, PartKind::Quoted);
    assert!(quoted.contains("> Please restart the modem."), "{quoted}");
    assert!(quoted.contains("> > Older message about an outage."), "{quoted}");
}

#[test]
fn outlook_html_reply_is_segmented_after_conversion() {
    let html = "<html><body><p>Please cancel.</p><div style=\"border-top:solid #E1E1E1 1.0pt\"><p><b>From:</b> Support &lt;support@acme.example&gt;<br><b>Sent:</b> Monday, 1 January 2024 10:00<br><b>To:</b> Jane<br><b>Subject:</b> Outage</p></div><p>We fixed the outage.</p></body></html>";
    let text = html_to_text(html);
    let segmentation = split(&text);
    assert_eq!(segmentation.new_text(&text), "Please cancel.");
    assert!(segmentation
        .text_of(&text, PartKind::Quoted)
        .contains("We fixed the outage."));
}

#[test]
fn subjects_lose_reply_forward_and_ticket_prefixes() {
    let cases = [
        ("Re: Outage", "Outage", true, false),
        ("RE: re: Re:Outage", "Outage", true, false),
        ("Fwd: Bill", "Bill", false, true),
        ("FW: RE: Bill", "Bill", true, true),
        ("AW: WG: Störung", "Störung", true, true),
        ("SV: Antw: Fråga", "Fråga", true, false),
        ("[External] Re: Router", "Router", true, false),
        ("[EXT] FW: Router", "Router", false, true),
        ("[Ticket #12345] Re: No signal", "No signal", true, false),
        ("Re: No signal (#12345)", "No signal", true, false),
        ("(#12345) No signal", "No signal", false, false),
        ("No signal", "No signal", false, false),
        ("  Re:  ", "", true, false),
    ];
    for (subject, text, is_reply, is_forward) in cases {
        let clean = clean_subject(subject);
        assert_eq!(
            (clean.text, clean.is_reply, clean.is_forward),
            (text, is_reply, is_forward),
            "{subject:?}"
        );
    }
}

#[test]
fn part_kinds_serialise_in_snake_case() {
    let json = serde_json::to_string(&PartKind::QuoteHeader).unwrap_or_default();
    assert_eq!(json, "\"quote_header\"");
    let segmentation = segment("Hi\n> q\n");
    let json = serde_json::to_string(&segmentation).unwrap_or_default();
    let back: Segmentation = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(back, segmentation);
}

/// Lines that look like pieces of real emails, for the generator below.
fn email_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Zé ,.!?]{0,60}",
        "> [a-z >]{0,40}",
        Just(String::new()),
        Just("-- ".to_string()),
        Just("Thanks,".to_string()),
        Just("Jane Doe".to_string()),
        Just("Sent from my iPhone".to_string()),
        Just("On Mon, 1 Jan 2024 at 10:00, Jane <j@x.example> wrote:".to_string()),
        Just("On Mon, 1 Jan 2024 at 10:00, Jane".to_string()),
        Just("<j@x.example> wrote:".to_string()),
        Just("-----Original Message-----".to_string()),
        Just("From: Jane <j@x.example>".to_string()),
        Just("Sent: Monday".to_string()),
        Just("Subject: Re: x".to_string()),
        Just("---------- Forwarded message ---------".to_string()),
        Just("CONFIDENTIALITY NOTICE: this email is confidential.".to_string()),
        Just("##- Please type your reply above this line -##".to_string()),
        Just("________________________________".to_string()),
        "[\\PC]{0,20}",
    ]
}

proptest! {
    #[test]
    fn arbitrary_strings_are_covered_exactly(body in any::<String>()) {
        assert_covers(&body, &segment(&body));
    }

    #[test]
    fn accessors_never_panic_on_arbitrary_strings(body in any::<String>(), other in any::<String>()) {
        let segmentation = segment(&body);
        let _ = segmentation.new_text(&body);
        let _ = segmentation.quoted_headers(&body);
        let _ = segmentation.new_text(&other);
        let _ = segmentation.quoted_headers(&other);
    }

    #[test]
    fn attributions_with_any_text_never_panic(who in "\\PC{0,40}", when in "\\PC{0,40}") {
        for template in ["On {when} 1, {who} wrote:", "Am {when} 1 schrieb {who}:", "Le {when} 1, {who} a écrit :"] {
            let body = format!("x\n{}\n> q\n", template.replace("{when}", &when).replace("{who}", &who));
            let segmentation = segment(&body);
            assert_covers(&body, &segmentation);
            let _ = segmentation.quoted_headers(&body);
        }
    }

    #[test]
    fn arbitrary_line_soup_is_covered_exactly(body in "[\\PC\\r\\n>\\-:@ ]{0,400}") {
        assert_covers(&body, &segment(&body));
    }

    #[test]
    fn email_like_bodies_are_covered_exactly(
        lines in proptest::collection::vec(email_line(), 0..40),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let mut body = lines.join(if crlf { "\r\n" } else { "\n" });
        if final_newline {
            body.push('\n');
        }
        let segmentation = segment(&body);
        assert_covers(&body, &segmentation);
        let _ = segmentation.new_text(&body);
        let _ = segmentation.quoted_headers(&body);
    }
}

#[test]
fn sign_off_block_followed_by_a_device_footer_and_a_disclaimer_is_signature() {
    let body = "help, i lost my luggage\n\nBest regards,\nJane Doe\nHead of Outage Response\nAcme Corp | +1 555 0100\n\n\
                Sent from my iPhone\n\nCONFIDENTIALITY NOTICE: This email and any attachments are confidential.\n";
    let segmentation = triage::email::segment(body);
    assert_eq!(segmentation.new_text(body), "help, i lost my luggage");
    assert!(segmentation
        .text_of(body, triage::email::PartKind::Signature)
        .contains("Head of Outage Response"));
}

// Forms found in real email (the Enron sample of tests/enron_segmentation.rs);
// the bodies below are written for these tests.

#[test]
fn lotus_notes_forward_separator_cuts_the_body() {
    let body = "Did everyone see this?\n\
                ---------------------- Forwarded by Jane Doe/HOU/ACME on 10/24/2000 10:53 \n\
                AM ---------------------------\n\n\
                Sam Roe@ACME\n10/24/2000 09:22 AM\nTo: Jane Doe/HOU/ACME@ACME\ncc:  \nSubject: Capacity\n\n\
                The capacity report is attached.\n";
    assert_eq!(new_text(body), "Did everyone see this?");
    assert!(text_of(body, PartKind::Quoted).contains("The capacity report is attached."));
}

#[test]
fn lotus_notes_reply_header_without_separator_cuts_the_body() {
    let body = "Yes, the fax number is right.\n\n\n\
                Sam Roe\n12/08/2000 04:17 PM\nTo: Jane Doe/HOU/ACME@ACME\ncc:  \nSubject: Re: fax\n\n\
                Which number did you send it to?\n";
    assert_eq!(new_text(body), "Yes, the fax number is right.");
    assert!(text_of(body, PartKind::QuoteHeader).starts_with("Sam Roe\n12/08/2000"));
}

#[test]
fn indented_lotus_notes_header_with_from_line_cuts_the_body() {
    let body = "Great.  Thanks.\n\n   \n\t\n\tFrom:  Sam Roe          10/23/2000 04:25 PM\n\t\n\n\
                To: Jane Doe/HOU/ACME@ACME\ncc: Ann Lee/HOU/ACME@ACME \nSubject: New products\n\n\
                We expect to roll them out this week.\n";
    assert_eq!(new_text(body), "Great.  Thanks.");
}

#[test]
fn groupwise_header_cuts_the_body() {
    let body =
        "The draft looks good.\n\n>>> Sam Roe 07/25/01 07:52AM >>>\nCould you review this?\n\nThanks,\nSam\n";
    assert_eq!(new_text(body), "The draft looks good.");
    assert_eq!(text_of(body, PartKind::Signature), "");
}

#[test]
fn bare_name_after_the_text_is_a_signature() {
    let body = "These books are no longer used.\n\nRobin\n\n-----Original Message-----\nFrom: Sam Roe\nSent: Monday\nSubject: Books\n\nWhose books are these?\n";
    assert_eq!(new_text(body), "These books are no longer used.");
    assert_eq!(text_of(body, PartKind::Signature), "Robin");
}

#[test]
fn initials_and_dashed_names_are_signatures() {
    assert_eq!(
        text_of("The deal is booked correctly.\nPL\n", PartKind::Signature),
        "PL"
    );
    assert_eq!(
        text_of("Attached is the draft.\n\n-rebecca\n", PartKind::Signature),
        "-rebecca"
    );
}

#[test]
fn bare_name_with_title_and_phone_is_a_signature() {
    let body =
        "I agree with the change.\n\n\nJane Doe\nAcme Widgets Inc.\nLegal Department\nPhone 713-555-0100\n";
    assert_eq!(new_text(body), "I agree with the change.");
    assert!(text_of(body, PartKind::Signature).starts_with("Jane Doe\nAcme"));
}

#[test]
fn a_capitalised_punchline_is_not_a_name() {
    let body = "I'm not going to support you on this.\n\n\nJust Kidding\n";
    assert_eq!(text_of(body, PartKind::Signature), "");
}

#[test]
fn a_list_of_names_after_a_colon_is_not_a_signature() {
    let body = "Please add these people:\nJane Doe\nSam Roe\n";
    assert_eq!(text_of(body, PartKind::Signature), "");
}

#[test]
fn sign_off_with_full_stop_before_the_name_is_a_signature() {
    let body = "Please correct the account number by hand.\n\nThanks. Jane Doe\n713-555-0100 (Fax)\n";
    assert_eq!(new_text(body), "Please correct the account number by hand.");
}

#[test]
fn wrapped_sentence_ending_in_later_is_not_a_sign_off() {
    let body = "How was the play?  I ran into Corey last night and lots of fun meetings today.  I'll talk to you \nlater.\n";
    assert_eq!(text_of(body, PartKind::Signature), "");
}

#[test]
fn attachment_lines_below_a_signature_stay_new() {
    let body = "The letter is attached.\n\nJane Doe\nCEO\nAcme\n\n - letter.doc\n";
    assert_eq!(text_of(body, PartKind::Signature), "Jane Doe\nCEO\nAcme");
    assert!(new_text(body).ends_with("- letter.doc"));
}

#[test]
fn mailing_list_footer_is_a_disclaimer() {
    let body = "Storage is full again.\n\nYou are currently subscribed to ops_list as: jane@acme.example\nTo unsubscribe send a blank email.\n";
    assert!(text_of(body, PartKind::Disclaimer).starts_with("You are currently subscribed"));
}

#[test]
fn outlook_appointment_separator_cuts_the_body() {
    let body = "I will be there.\n\n -----Original Appointment-----\nFrom: Sam Roe\nSent: Friday\nSubject: Pricing\n";
    assert_eq!(new_text(body), "I will be there.");
}
