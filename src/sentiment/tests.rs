use proptest::prelude::*;

use super::*;

fn compound(text: &str) -> f32 {
    score(text).compound
}

fn weight_of(sentiment: &Sentiment, term: &str) -> Option<f32> {
    sentiment.terms.iter().find(|t| t.term == term).map(|t| t.weight)
}

#[test]
fn praise_for_the_app_is_clearly_positive() {
    assert!(compound("really nice tool, I like this tool a lot") > 0.5);
}

#[test]
fn complaint_about_service_is_clearly_negative() {
    assert!(compound("Horrible customer service!") < -0.5);
}

#[test]
fn not_flips_good_to_negative() {
    assert!(compound("good") > 0.0);
    assert!(compound("not good") < 0.0);
}

#[test]
fn booster_strengthens_what_follows() {
    assert!(compound("very good") > compound("good"));
}

#[test]
fn dampener_weakens_what_follows() {
    assert!(compound("slightly good") < compound("good"));
    assert!(compound("kind of good") < compound("good"));
}

#[test]
fn kind_is_positive_unless_it_means_sort_of() {
    assert!(compound("the agent was kind") > 0.0);
    assert_eq!(weight_of(&score("kind of slow"), "kind"), None);
}

#[test]
fn capitals_and_exclamations_intensify() {
    assert!(compound("GOOD!!!") > compound("good"));
    assert!(compound("the app is GOOD") > compound("the app is good"));
}

#[test]
fn text_all_in_capitals_emphasises_no_word() {
    let shouted = score("THE APP IS GOOD");
    assert_eq!(weight_of(&shouted, "good"), Some(1.9));
}

#[test]
fn exclamations_count_up_to_four() {
    assert!(compound("good!!") > compound("good!"));
    assert_eq!(compound("good!!!!"), compound("good!!!!!!!!"));
}

#[test]
fn what_follows_but_outweighs_what_went_before() {
    assert!(compound("The food was good but the service was terrible") < 0.0);
    let terms = score("The food was good but the service was terrible").terms;
    assert_eq!(terms[0].term, "good");
    assert!((terms[0].weight - 1.9 * 0.5).abs() < 1e-6);
}

#[test]
fn but_reweighs_only_its_own_sentence() {
    let sentiment = score("Great support. The app is ok but slow");
    assert_eq!(weight_of(&sentiment, "great"), Some(3.1));
}

#[test]
fn emoji_adds_its_sentiment() {
    assert!(compound("I love it 😍") > compound("I love it"));
    assert!(compound("😡") < 0.0);
    assert!(compound("👍") > 0.0);
}

#[test]
fn emoji_glued_to_words_is_split_out() {
    let sentiment = score("thanks😍!!");
    assert!(weight_of(&sentiment, "😍").is_some_and(|w| w > 0.0));
    assert!(weight_of(&sentiment, "thanks").is_some_and(|w| w > 0.0));
}

#[test]
fn emoji_with_skin_tone_or_variation_selector_matches_whole() {
    assert!(weight_of(&score("ok 👍🏽"), "👍🏽").is_some_and(|w| w > 0.0));
    assert!(weight_of(&score("ok ❤️"), "❤️").is_some_and(|w| w > 0.0));
}

#[test]
fn emoticons_keep_their_punctuation() {
    assert!(compound(":(") < 0.0);
    assert!(compound(":)") > 0.0);
    assert!(weight_of(&score("works now :D"), ":d").is_some_and(|w| w > 0.0));
}

#[test]
fn no_before_a_complaint_is_praise() {
    assert!(compound("no complaints so far. very happy") > 0.0);
    assert_eq!(weight_of(&score("no complaints"), "no"), None);
}

#[test]
fn zero_stars_reads_as_neutral() {
    // No lexicon word: VADER itself scores this 0.
    assert!(compound("Would give 0 stars if possible") <= 0.0);
}

#[test]
fn terms_name_the_words_with_their_weights() {
    let sentiment = score("Horrible customer service!");
    assert_eq!(sentiment.terms.len(), 1);
    assert_eq!(sentiment.terms[0].term, "horrible");
    assert!(sentiment.terms[0].weight < 0.0);
}

#[test]
fn terms_are_the_strongest_sixteen_in_text_order() {
    let text = "good ".repeat(20) + "horrible";
    let terms = score(&text).terms;
    assert_eq!(terms.len(), 16);
    assert_eq!(terms.last().map(|t| t.term.as_str()), Some("horrible"));
}

#[test]
fn curly_apostrophe_negates_like_a_straight_one() {
    assert!(compound("I don’t like it") < 0.0);
    assert_eq!(compound("I don’t like it"), compound("I don't like it"));
    assert!(compound("I dont like it") < 0.0);
}

#[test]
fn negation_stops_at_the_clause() {
    assert!(compound("no problems, great service") > 0.0);
    assert!(compound("not bad. good service") > 0.0);
}

#[test]
fn never_so_intensifies_rather_than_negates() {
    assert!(compound("never so happy") > compound("happy"));
    assert!(compound("never happy") < 0.0);
}

#[test]
fn at_least_does_not_negate_but_least_does() {
    assert!(compound("at least friendly") > 0.0);
    assert!(compound("the least friendly agent") < 0.0);
}

#[test]
fn fixed_phrase_takes_its_own_valence() {
    assert!(compound("this app is the bomb") > 0.0);
    assert!(compound("yeah right") < 0.0);
}

#[test]
fn shares_add_up_to_one() {
    let s = score("The food was good but the service was terrible!!");
    assert!((s.positive + s.negative + s.neutral - 1.0).abs() < 1e-5);
    assert!(s.positive > 0.0 && s.negative > 0.0 && s.neutral > 0.0);
}

#[test]
fn empty_and_blank_text_have_no_sentiment() {
    for text in ["", "   \n\t ", "...", "!!!"] {
        let s = score(text);
        assert_eq!(s.compound, 0.0, "{text:?}");
        assert!(s.terms.is_empty(), "{text:?}");
    }
    assert_eq!(score(""), Sentiment::default());
}

#[test]
fn negated_at_sees_the_three_words_before() {
    let text = "this is not at all good";
    assert!(is_negated_at(text, text.len() - 4));
    let text = "not the app I wanted but good";
    assert!(!is_negated_at(text, text.len() - 4));
}

#[test]
fn negated_at_is_false_without_a_negator() {
    assert!(!is_negated_at("this is good", 8));
    assert!(!is_negated_at("good", 0));
}

#[test]
fn negated_at_reads_contractions_and_curly_apostrophes() {
    for text in [
        "I don’t like it",
        "it wasn't like it",
        "it wont like it",
        "nothing I like",
    ] {
        let at = text.find("like").unwrap_or_default();
        assert!(is_negated_at(text, at), "{text}");
    }
}

#[test]
fn negated_at_respects_clause_and_exceptions() {
    for text in [
        "no problems, good",
        "never so good",
        "without a doubt good",
        "not bad. good",
    ] {
        let at = text.find("good").unwrap_or_default();
        assert!(!is_negated_at(text, at), "{text}");
    }
}

#[test]
fn negated_at_tolerates_any_offset() {
    let text = "not 😡 good";
    for start in 0..text.len() + 3 {
        let _ = is_negated_at(text, start);
    }
}

#[test]
fn negators_include_contractions_and_bare_spellings() {
    for word in [
        "not",
        "No",
        "never",
        "isn't",
        "doesn’t",
        "can't",
        "cannot",
        "won't",
        "dont",
        "cant",
        "wont",
        "without",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "NOT,",
    ] {
        assert!(is_negator(word), "{word}");
    }
    for word in ["good", "note", "want", "", "n"] {
        assert!(!is_negator(word), "{word}");
    }
}

#[test]
fn term_serialises_as_term_and_weight() {
    let term = SentimentTerm {
        term: "good".into(),
        weight: 1.5,
    };
    let json = serde_json::to_string(&term).unwrap_or_default();
    assert_eq!(json, r#"{"term":"good","weight":1.5}"#);
}

proptest! {
    #[test]
    fn any_unicode_scores_within_bounds(text in "\\PC{0,64}") {
        let s = score(&text);
        prop_assert!((-1.0..=1.0).contains(&s.compound));
        prop_assert!(s.terms.len() <= 16);
        let _ = is_negated_at(&text, text.len() / 2);
    }

    #[test]
    fn emoji_and_marks_mixed_with_words_never_panic(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("not"), Just("very"), Just("good"), Just("but"), Just("😍"), Just("👍🏽"),
                Just("❤️"), Just(":)"), Just("!!"), Just("’"), Just("\u{200D}"), Just("\u{FE0F}"), Just("kind of"),
            ],
            0..24,
        ),
        glue in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just(", ")], 24),
    ) {
        let text: String = parts.iter().zip(&glue).flat_map(|(p, g)| [*p, *g]).collect();
        let s = score(&text);
        prop_assert!(s.compound.is_finite() && (-1.0..=1.0).contains(&s.compound));
    }
}
