//! `triage rules learn`: fitting weighted lexicons from labelled tickets,
//! through the library and through the binary.

use std::process::Command;

use triage::learn::{learn, read_jsonl, Example, LearnError, LearnOptions, Learned};
use triage::ticket::Side;

const FILLER: [&str; 24] = [
    "account", "please", "today", "order", "team", "thanks", "the", "a", "my", "we", "service", "app",
    "week", "email", "phone", "store", "price", "plan", "card", "help", "update", "screen", "agent", "time",
];

/// A tiny deterministic generator (64-bit LCG), so the corpus never changes.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound
    }

    fn filler(&mut self, words: usize) -> Vec<&'static str> {
        (0..words).map(|_| FILLER[self.below(FILLER.len())]).collect()
    }
}

fn example(text: String, side: Side) -> Example {
    Example {
        subject: None,
        text,
        side,
        category: None,
    }
}

/// `n` examples per side; every reactive one contains "zorblax", the rest
/// is random filler drawn from the same words for both sides.
fn zorblax_corpus(n: usize) -> Vec<Example> {
    let mut random = Lcg(7);
    let mut examples = Vec::new();
    for _ in 0..n {
        let mut words = random.filler(8);
        let at = random.below(words.len());
        words.insert(at, "zorblax");
        examples.push(example(words.join(" "), Side::Reactive));
        examples.push(example(random.filler(9).join(" "), Side::Proactive));
    }
    examples
}

fn side_terms(learned: &Learned) -> Vec<&str> {
    learned.side.terms.iter().map(|term| term.term.as_str()).collect()
}

#[test]
fn the_word_that_decides_the_side_gets_the_largest_reactive_weight() {
    let learned = learn(&zorblax_corpus(100), &LearnOptions::default());
    let strongest = learned
        .side
        .terms
        .iter()
        .max_by(|a, b| a.weight.abs().total_cmp(&b.weight.abs()))
        .expect("some terms");
    assert_eq!(strongest.term, "zorblax");
    assert!(
        strongest.weight > 0.0,
        "reactive evidence is positive: {}",
        strongest.weight
    );
    assert_eq!(side_terms(&learned)[0], "zorblax", "sorted by weight, descending");
    assert_eq!((strongest.target_count, strongest.other_count), (100, 0));
}

#[test]
fn the_learned_lexicon_separates_the_sides_at_its_threshold() {
    let examples = zorblax_corpus(100);
    let learned = learn(&examples, &LearnOptions::default());
    let side = &learned.side;
    for example in &examples {
        let reactive = side.score(None, &example.text) >= side.threshold();
        assert_eq!(reactive, example.side == Side::Reactive, "{}", example.text);
    }
}

#[test]
fn a_word_that_decides_proactive_gets_a_negative_weight() {
    let mut examples = zorblax_corpus(50);
    for example in examples
        .iter_mut()
        .filter(|example| example.side == Side::Proactive)
    {
        example.text.push_str(" kudos");
    }
    let learned = learn(&examples, &LearnOptions::default());
    let last = learned.side.terms.last().expect("some terms");
    assert_eq!(last.term, "kudos");
    assert!(last.weight < 0.0);
}

#[test]
fn words_separated_by_punctuation_make_no_two_word_term() {
    let mut examples = zorblax_corpus(30);
    for example in examples
        .iter_mut()
        .filter(|example| example.side == Side::Reactive)
    {
        example.text.push_str(" refund, please. card declined");
    }
    let options = LearnOptions {
        max_terms: 10_000,
        ..LearnOptions::default()
    };
    let learned = learn(&examples, &options);
    let terms = side_terms(&learned);
    assert!(terms.contains(&"card declined"), "{terms:?}");
    assert!(!terms.contains(&"refund please"), "{terms:?}");
    assert!(!terms.contains(&"please card"), "{terms:?}");
}

#[test]
fn terms_in_fewer_examples_than_min_count_are_left_out() {
    let mut examples = zorblax_corpus(30);
    for example in examples
        .iter_mut()
        .filter(|example| example.side == Side::Reactive)
        .take(2)
    {
        example.text.push_str(" quuxly");
    }
    let options = |min_count| LearnOptions {
        min_count,
        max_terms: 10_000,
        ..LearnOptions::default()
    };
    assert!(!side_terms(&learn(&examples, &options(3))).contains(&"quuxly"));
    assert!(side_terms(&learn(&examples, &options(2))).contains(&"quuxly"));
}

#[test]
fn max_terms_caps_the_side_table() {
    let options = LearnOptions {
        max_terms: 5,
        ..LearnOptions::default()
    };
    let learned = learn(&zorblax_corpus(50), &options);
    assert_eq!(learned.side.terms.len(), 5);
    assert_eq!(learned.side.terms[0].term, "zorblax");
}

#[test]
fn a_bad_jsonl_line_is_an_error_naming_its_line_number() {
    let input = concat!(
        r#"{"text": "fine", "side": "reactive"}"#,
        "\n",
        r#"{"text": "also fine", "side": "proactive"}"#,
        "\n",
        r#"{"text": "broken", "side": "#,
        "\n",
    );
    let err = read_jsonl(input.as_bytes(), None).expect_err("line 3 is bad");
    assert!(matches!(err, LearnError::BadLine { line: 3, .. }), "{err:?}");
    assert!(err.to_string().starts_with("line 3: "), "{err}");
}

#[test]
fn a_line_without_text_is_an_error_naming_its_line_number() {
    let input = r#"{"subject": "no text", "side": "reactive"}"#;
    let err = read_jsonl(input.as_bytes(), None).expect_err("text is required");
    assert!(matches!(err, LearnError::BadLine { line: 1, .. }), "{err:?}");
}

fn categorised_corpus() -> Vec<Example> {
    let mut examples = zorblax_corpus(60);
    for (at, example) in examples.iter_mut().enumerate() {
        let (category, word) = match at % 3 {
            0 => ("Billing Issue", "invoice"),
            1 => ("praise!", "lovely"),
            _ => ("outage", "offline"),
        };
        example.text.push(' ');
        example.text.push_str(word);
        example.category = Some(category.to_string());
    }
    examples
}

#[test]
fn categories_get_one_vs_rest_tables_named_in_lower_snake_case() {
    let learned = learn(&categorised_corpus(), &LearnOptions::default());
    let names: Vec<&str> = learned
        .categories
        .iter()
        .map(|lexicon| lexicon.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["category_billing_issue", "category_outage", "category_praise"]
    );
    let billing = &learned.categories[0];
    assert_eq!(billing.terms[0].term, "invoice");
    assert!(
        billing.terms.iter().all(|term| term.weight > 0.0),
        "only positive evidence"
    );
}

#[test]
fn the_lexicon_file_parses_as_tables_of_term_weights() {
    let learned =
        learn(&categorised_corpus(), &LearnOptions::default()).from_corpus("synthetic.jsonl", Some("dev"));
    let text = learned.to_toml();
    let file: toml::Table = text.parse().unwrap_or_else(|err| panic!("{err}\n{text}"));
    let lexicons = file["lexicon"].as_table().expect("[lexicon]");
    assert_eq!(lexicons.len(), 4, "side and three categories");
    for (name, table) in lexicons {
        let table = table
            .as_table()
            .unwrap_or_else(|| panic!("lexicon.{name} is a table"));
        assert!(!table.is_empty(), "lexicon.{name} has terms");
        for (term, weight) in table {
            assert!(weight.is_float(), "lexicon.{name}.{term:?} = {weight} is a float");
        }
    }
    assert_eq!(
        lexicons["side"]["zorblax"].as_float(),
        Some((learned.side.terms[0].weight * 1000.0).round() / 1000.0)
    );
    let meta = file["learned"].as_table().expect("[learned]");
    let intercept = meta["intercept"].as_float().expect("intercept");
    assert_eq!(meta["threshold"].as_float(), Some(-intercept));
    assert_eq!(meta["corpus"].as_str(), Some("synthetic.jsonl"));
}

#[test]
fn the_lexicon_file_comments_each_term_with_its_counts() {
    let text = learn(&zorblax_corpus(40), &LearnOptions::default()).to_toml();
    let line = text
        .lines()
        .find(|line| line.starts_with("\"zorblax\""))
        .expect("zorblax line");
    assert!(line.ends_with("# reactive 40, proactive 0"), "{line}");
    assert!(text.contains("# examples: 40 reactive, 40 proactive"), "{text}");
}

#[test]
fn learning_is_deterministic() {
    let examples = categorised_corpus();
    let first = learn(&examples, &LearnOptions::default()).to_toml();
    let second = learn(&examples, &LearnOptions::default()).to_toml();
    assert_eq!(first, second);
}

fn jsonl(examples: &[Example]) -> String {
    examples
        .iter()
        .enumerate()
        .map(|(at, example)| {
            let side = if example.side == Side::Reactive {
                "reactive"
            } else {
                "proactive"
            };
            let split = if (at / 2) % 2 == 0 { "dev" } else { "heldout" };
            serde_json::json!({"id": format!("s-{at}"), "text": example.text, "side": side, "split": split})
                .to_string()
                + "\n"
        })
        .collect()
}

#[test]
fn learn_command_writes_the_lexicon_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = dir.path().join("corpus.jsonl");
    let out = dir.path().join("lexicon.toml");
    std::fs::write(&corpus, jsonl(&zorblax_corpus(60))).expect("corpus written");
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["rules", "learn", "--split", "dev", "--min-count", "2", "--corpus"])
        .arg(&corpus)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("triage runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("lexicon written");
    let file: toml::Table = text.parse().expect("valid TOML");
    assert!(file["lexicon"]["side"]["zorblax"]
        .as_float()
        .is_some_and(|weight| weight > 0.0));
    assert!(text.contains("# corpus: corpus.jsonl, split dev"), "{text}");
    assert!(
        text.contains("# examples: 30 reactive, 30 proactive"),
        "only the dev split: {text}"
    );
}

#[test]
fn learn_command_rejects_a_bad_line_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = dir.path().join("corpus.jsonl");
    let mut text = jsonl(&zorblax_corpus(3));
    text.push_str("not json\n");
    std::fs::write(&corpus, text).expect("corpus written");
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["rules", "learn", "--corpus"])
        .arg(&corpus)
        .output()
        .expect("triage runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("corpus.jsonl: line 7: "), "{stderr}");
    assert!(output.stdout.is_empty(), "no partial lexicon on stdout");
}

#[test]
fn learn_command_rejects_a_corpus_with_one_side() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = dir.path().join("corpus.jsonl");
    std::fs::write(&corpus, "{\"text\": \"only this\", \"side\": \"reactive\"}\n").expect("corpus written");
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["rules", "learn", "--corpus"])
        .arg(&corpus)
        .output()
        .expect("triage runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("found 1 reactive and 0 proactive"), "{stderr}");
}

/// Examples whose words are all different (so no term reaches `min_count`)
/// and whose only shared signal is their tone: angry ones reactive, happy
/// ones proactive.
fn tone_corpus(n: usize) -> Vec<Example> {
    let mut examples = Vec::new();
    for i in 0..n {
        examples.push(example(format!("terrible awful hate it q{i}a"), Side::Reactive));
        examples.push(example(format!("wonderful great love it q{i}b"), Side::Proactive));
    }
    examples
}

#[test]
fn the_tone_is_learned_as_a_sentiment_weight_when_no_word_decides() {
    let options = LearnOptions {
        min_count: 1_000,
        ..LearnOptions::default()
    };
    let learned = learn(&tone_corpus(40), &options);
    assert!(learned.side.terms.is_empty(), "no term reaches min_count");
    let weight = learned.side.sentiment_weight.expect("a sentiment weight");
    assert!(
        weight < -1.0,
        "angry means reactive, so the weight is negative: {weight}"
    );
    let side = &learned.side;
    assert!(side.score(None, "this is terrible, I hate it") >= side.threshold());
    assert!(side.score(None, "I love it, wonderful") < side.threshold());
    assert!(
        learned.to_toml().contains("\"@sentiment\" = -"),
        "{}",
        learned.to_toml()
    );
}

#[test]
fn no_sentiment_learns_from_the_words_only() {
    let options = LearnOptions {
        sentiment: false,
        ..LearnOptions::default()
    };
    let learned = learn(&tone_corpus(40), &options);
    assert_eq!(learned.side.sentiment_weight, None);
    assert!(!learned.to_toml().contains("@sentiment"));
}

#[test]
fn a_learned_sentiment_weight_loads_and_classifies_by_tone() {
    let options = LearnOptions {
        min_count: 1_000,
        ..LearnOptions::default()
    };
    let lexicon = learn(&tone_corpus(40), &options).to_toml();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("tone.toml"), lexicon).expect("write lexicon");
    let rules = r#"
default_queue = "inbox"
lexicon_files = ["tone.toml"]
[[queue]]
name = "inbox"
[[rule]]
id = "angry"
stop = true
when = { score = "side", at_least = 0.5 }
then = { side = "reactive" }
[[rule]]
id = "happy"
when = { score = "side", at_most = -0.5 }
then = { side = "proactive" }
"#;
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, rules).expect("write rules");
    let rules = triage::rules::RuleSet::load(&path).expect("rules load");
    let classify = |body: &str| {
        let input = triage::ticket::TicketInput {
            external_id: "t".into(),
            source: "test".into(),
            body: body.into(),
            ..Default::default()
        };
        rules.classify(&input, &Default::default(), triage::clock::UnixMicros(0))
    };
    let angry = classify("Horrible. I hate this, it is awful!");
    assert_eq!(angry.side, Side::Reactive);
    let evidence = angry.evidence.first().expect("evidence");
    assert_eq!(evidence.term, "@sentiment");
    assert!(evidence.weight > 0.5, "{evidence:?}");
    assert_eq!(classify("I love it, wonderful work").side, Side::Proactive);
}
