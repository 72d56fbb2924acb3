//! Deterministic, realistic workloads shared by the benchmarks and by
//! `triage-loadgen`: rule files of any size and ~1 KB English support
//! tickets, both drawn from one vocabulary of support phrases with a seeded
//! generator, so every run measures the same inputs.
//!
//! Included with `#[path]` by `benches/*.rs` and `src/bin/triage-loadgen.rs`
//! (it is benchmark support, not part of the library API).

use std::fmt::Write as _;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use triage::ticket::{Channel, Customer, TicketInput};

/// The queues every generated rule set declares (the first is the default).
pub const QUEUES: [&str; 10] = [
    "triage",
    "incidents",
    "billing",
    "accounts",
    "delivery",
    "bugs",
    "retention",
    "cx",
    "sales",
    "security",
];

/// Things customers write about.
const THINGS: &[&str] = &[
    "invoice",
    "password",
    "checkout",
    "mobile app",
    "dashboard",
    "subscription",
    "refund",
    "order",
    "delivery",
    "account",
    "payment",
    "credit card",
    "export",
    "monthly report",
    "integration",
    "api key",
    "login page",
    "shipping label",
    "parcel",
    "receipt",
    "discount code",
    "plan",
    "free trial",
    "workspace",
    "calendar sync",
    "notifications",
    "email digest",
    "search",
    "file upload",
    "download link",
    "two-factor code",
    "billing address",
    "gift card",
    "loyalty points",
    "return label",
    "tracking number",
    "user seats",
    "admin panel",
    "webhook",
    "single sign-on",
];

/// What goes wrong with them.
const PROBLEMS: &[&str] = &[
    "is not working",
    "keeps crashing",
    "was charged twice",
    "never arrived",
    "is missing",
    "shows an error",
    "is very slow",
    "will not load",
    "got declined",
    "is broken",
    "stopped syncing",
    "times out",
    "is locked",
    "was cancelled",
    "is wrong",
    "disappeared",
    "is stuck",
    "was rejected",
    "is overdue",
    "is blank",
];

/// Proactive signals: ideas, praise, buying interest, how-to, churn.
const SIGNALS: &[&str] = &[
    "would love",
    "feature request",
    "great job",
    "thank you so much",
    "upgrade to",
    "how do i",
    "renew our contract",
    "pricing for",
    "considering switching",
    "love the new",
    "any plans to",
    "it would be great",
    "quick question",
    "more seats",
    "annual billing",
    "cancel my subscription",
    "very disappointed",
    "not happy",
    "speak to a manager",
    "best support ever",
];

/// Verbs customers cannot do (for the "can't X" regexes and sentences).
const VERBS: &[&str] = &[
    "log in", "sign in", "pay", "upload", "export", "reset", "connect", "cancel", "download", "invite",
];

/// Ordinary sentences that pad a ticket to a realistic length.
const FILLER: &[&str] = &[
    "I have been a customer for several years and usually everything works fine.",
    "We rely on this every day for our team, so this is quite urgent for us.",
    "I already tried clearing the cache and restarting the browser.",
    "My colleague in the other office sees the same thing on her laptop.",
    "Could you please look into this as soon as possible?",
    "I attached a screenshot of what I see on my screen.",
    "This started happening after the update last week.",
    "We are on the business plan with about forty people using it.",
    "I talked to someone on the chat yesterday but did not get an answer.",
    "Please let me know if you need any more information from my side.",
    "The weather here is terrible today, which does not help my mood.",
    "Our finance team needs this sorted before the end of the month.",
    "I tried again this morning from my phone and from the desktop.",
    "Nothing in the help centre articles seems to cover this case.",
    "It worked perfectly until Tuesday, and nothing changed on our side.",
    "Honestly, I am a bit frustrated because this is the second time.",
    "We are planning to roll this out to the rest of the company soon.",
    "I would appreciate a call back rather than another email.",
    "The reference from your previous reply did not help unfortunately.",
    "Thanks in advance for looking into this for us.",
    "Our customers have started asking about it as well.",
    "I am not sure whether this is a problem on our end or yours.",
    "I checked the status page and it says all systems are operational.",
    "We use the web version mostly, and sometimes the desktop client.",
];

const GREETINGS: &[&str] = &[
    "Hi team,",
    "Hello,",
    "Dear support,",
    "Hi there,",
    "Good morning,",
];
const SIGN_OFFS: &[&str] = &[
    "Best regards, Sam",
    "Thanks, Alex",
    "Kind regards, Priya",
    "Cheers, Jo",
    "Thank you, Maria",
];
const TIERS: &[&str] = &["free", "pro", "business", "enterprise", "vip"];
const CHANNELS: &[&str] = &["email", "chat", "phone", "social", "web"];
const TAGS: &[&str] = &[
    "vip-watch",
    "churn-signal",
    "needs-engineering",
    "finance",
    "follow-up",
    "kb-gap",
];
const CATEGORIES: &[&str] = &[
    "outage",
    "bug",
    "billing",
    "refund",
    "account_access",
    "delivery",
    "complaint",
    "feature_request",
    "praise",
    "renewal",
    "churn_risk",
];

/// A seeded generator: the same seed gives the same workload on every run.
pub fn seeded(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn pick<'a>(rng: &mut StdRng, from: &'a [&'a str]) -> &'a str {
    from.choose(rng).copied().unwrap_or_default()
}

/// A "thing problem" phrase, e.g. "invoice is missing".
fn phrase(rng: &mut StdRng) -> String {
    format!("{} {}", pick(rng, THINGS), pick(rng, PROBLEMS))
}

/// A keyword or phrase a rule might list: now and then a bare thing or a
/// signal, mostly a "thing problem" phrase (so a large rule set has
/// hundreds of distinct keywords and a ticket fires a few percent of the
/// rules, as in real rule sets).
fn keyword(rng: &mut StdRng) -> String {
    match rng.random_range(0..20) {
        0 => pick(rng, THINGS).to_string(),
        1 => pick(rng, SIGNALS).to_string(),
        _ => phrase(rng),
    }
}

/// A regex a rule author might write, one of several shapes.
fn regex(rng: &mut StdRng) -> String {
    match rng.random_range(0..6) {
        0 => format!(r"(?i)\b{}\s+(number|id|ref)\s*#?\s*\d{{4,}}", pick(rng, THINGS)),
        1 => format!(r"(?i)\b(can'?t|cannot|unable to)\s+{}\b", pick(rng, VERBS)),
        2 => format!(
            r"(?i)\berror\s*(code)?\s*[:#]?\s*{}\d\d\b",
            rng.random_range(4..6)
        ),
        3 => format!(r"(?i)\b{}\b.{{0,40}}\b(again|still)\b", pick(rng, THINGS)),
        4 => r"(?i)\b(charged|billed)\s+(twice|two times|\d+ times)\b".to_string(),
        _ => format!(
            r"(?i)\bwaiting\s+(for\s+)?\d+\s+{}\b",
            pick(rng, &["days", "weeks", "hours"])
        ),
    }
}

/// `text` as a TOML basic string.
fn toml_str(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn keyword_list(rng: &mut StdRng) -> String {
    let count = rng.random_range(2..=6);
    let words: Vec<String> = (0..count).map(|_| toml_str(&keyword(rng))).collect();
    format!("[{}]", words.join(", "))
}

/// A text condition: mostly `any_of` keyword lists, some `contains`.
fn text_condition(rng: &mut StdRng) -> String {
    let field = pick(rng, &["text", "text", "text", "subject", "body", "body"]);
    if rng.random_range(0..5) == 0 {
        let needle = phrase(rng);
        return format!("{{ field = \"{field}\", contains = {} }}", toml_str(&needle));
    }
    format!("{{ field = \"{field}\", any_of = {} }}", keyword_list(rng))
}

fn regex_condition(rng: &mut StdRng) -> String {
    let field = pick(rng, &["text", "body", "subject"]);
    format!("{{ field = \"{field}\", regex = {} }}", toml_str(&regex(rng)))
}

/// A rule's `when`: plain keyword tests, regexes (about one condition in
/// ten), channel/tier tests and `all`/`any`/`not` nesting.
fn condition(rng: &mut StdRng) -> String {
    match rng.random_range(0..100) {
        0..40 => text_condition(rng),
        40..48 => regex_condition(rng),
        48..58 => {
            let channels = format!("[\"{}\", \"{}\"]", pick(rng, CHANNELS), pick(rng, CHANNELS));
            format!(
                "{{ all = [{}, {{ field = \"channel\", in = {channels} }}] }}",
                text_condition(rng)
            )
        }
        58..66 => {
            let tier = pick(rng, TIERS);
            format!(
                "{{ all = [{{ field = \"tier\", equals = \"{tier}\" }}, {}] }}",
                text_condition(rng)
            )
        }
        66..80 => format!("{{ any = [{}, {}] }}", text_condition(rng), text_condition(rng)),
        80..93 => format!(
            "{{ all = [{}, {{ not = {} }}] }}",
            text_condition(rng),
            text_condition(rng)
        ),
        _ => format!("{{ all = [{}, {}] }}", text_condition(rng), regex_condition(rng)),
    }
}

/// A rule's `then`: side, category, one of the declared queues, priority,
/// and sometimes tags.
fn actions(rng: &mut StdRng) -> String {
    let category = pick(rng, CATEGORIES);
    let side = if matches!(category, "feature_request" | "praise" | "renewal" | "churn_risk") {
        "proactive"
    } else {
        "reactive"
    };
    let queue = QUEUES[rng.random_range(1..QUEUES.len())];
    let priority = pick(rng, &["urgent", "high", "normal", "normal", "low"]);
    let mut then = format!(
        "{{ side = \"{side}\", category = \"{category}\", queue = \"{queue}\", priority = \"{priority}\""
    );
    if rng.random_range(0..4) == 0 {
        let _ = write!(then, ", add_tags = [\"{}\"]", pick(rng, TAGS));
    }
    then.push_str(" }");
    then
}

/// A rule file with `rules` rules over the ten [`QUEUES`]. No rule stops
/// evaluation, so every rule is evaluated for every ticket (the worst case).
pub fn rule_file(rules: usize, seed: u64) -> String {
    let mut rng = seeded(seed);
    let mut text = format!("version = \"bench-{rules}\"\ndefault_queue = \"triage\"\n\n");
    for (index, queue) in QUEUES.iter().enumerate() {
        let minutes = [240, 30, 240, 120, 480, 480, 120, 1440, 720, 15][index];
        let _ = writeln!(
            text,
            "[[queue]]\nname = \"{queue}\"\nfirst_response_minutes = {minutes}\n"
        );
    }
    for index in 0..rules {
        let _ = writeln!(
            text,
            "[[rule]]\nid = \"r{index:04}\"\nwhen = {}\nthen = {}\n",
            condition(&mut rng),
            actions(&mut rng)
        );
    }
    text
}

/// One sentence that names a problem the rules look for.
fn issue_sentence(rng: &mut StdRng) -> String {
    let thing = pick(rng, THINGS);
    match rng.random_range(0..8) {
        0 => format!("I can't {} since yesterday.", pick(rng, VERBS)),
        1 => format!("It says error code {} every time.", rng.random_range(400..600)),
        2 => format!("The {thing} number is {}.", rng.random_range(10_000..999_999)),
        3 => format!("We have been waiting for {} days now.", rng.random_range(2..30)),
        4 => format!("Also, {} {}.", pick(rng, SIGNALS), pick(rng, THINGS)),
        5 => format!(
            "The {thing} {} again, which is the third time.",
            pick(rng, PROBLEMS)
        ),
        // A curly apostrophe now and then, as phones type them.
        6 => format!("Our {thing} {} and we don’t know why.", pick(rng, PROBLEMS)),
        _ => format!("My {thing} {}.", pick(rng, PROBLEMS)),
    }
}

/// A ~1 KB ticket body: greeting, problem sentences mixed into ordinary
/// text, sign-off.
fn body(rng: &mut StdRng, target_bytes: usize) -> String {
    let mut body = String::with_capacity(target_bytes + 200);
    body.push_str(pick(rng, GREETINGS));
    body.push('\n');
    while body.len() < target_bytes {
        body.push(' ');
        if rng.random_range(0..3) == 0 {
            body.push_str(&issue_sentence(rng));
        } else {
            body.push_str(pick(rng, FILLER));
        }
    }
    body.push('\n');
    body.push_str(pick(rng, SIGN_OFFS));
    body
}

fn channel(name: &str) -> Channel {
    Channel::ALL
        .iter()
        .find(|(_, known)| *known == name)
        .map_or(Channel::Email, |(channel, _)| *channel)
}

/// One ticket with a ~`body_bytes` body; `index` makes its external id.
pub fn ticket(rng: &mut StdRng, index: u64, body_bytes: usize) -> TicketInput {
    let subject = format!("{} {}", pick(rng, THINGS), pick(rng, PROBLEMS));
    TicketInput {
        external_id: format!("bench-{index}"),
        source: "zendesk".to_string(),
        channel: channel(pick(rng, CHANNELS)),
        subject,
        body: body(rng, body_bytes),
        customer: Customer {
            id: format!("cust-{}", rng.random_range(0..5_000)),
            tier: pick(rng, TIERS).to_string(),
            email: "customer@example.com".to_string(),
            ..Customer::default()
        },
        language: pick(rng, &["en", "en-GB", "en-US"]).to_string(),
        ..TicketInput::default()
    }
}

/// `count` tickets of ~1 KB, the same for the same seed.
pub fn tickets(count: usize, seed: u64) -> Vec<TicketInput> {
    let mut rng = seeded(seed);
    (0..count as u64)
        .map(|index| ticket(&mut rng, index, 1000))
        .collect()
}
