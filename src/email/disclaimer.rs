//! Disclaimers inside the customer's own text: legal/confidentiality notices
//! (from their first line to the end of the text) and "external sender"
//! banners (one paragraph).

use std::ops::Range;

use super::cue::Cue;
use super::lines::Line;
use super::PartKind;

/// Marks the disclaimers of one run of unquoted lines in `kinds`, and returns
/// where a trailing legal disclaimer starts (the run's end if there is none),
/// so signature detection stops there.
///
/// A legal notice runs to the end of the text: its later paragraphs ("Acme
/// Ltd is registered in England ...") rarely repeat the cue. The first line
/// of the customer's text is the exception: a notice there is a banner-like paragraph.
pub(crate) fn mark(
    lines: &[Line<'_>],
    cues: &[Cue],
    run: Range<usize>,
    first_text: usize,
    kinds: &mut [PartKind],
) -> usize {
    let mut at = run.start;
    while at < run.end {
        match cues[at] {
            Cue::Disclaimer if at != first_text => {
                kinds[at..run.end].fill(PartKind::Disclaimer);
                return at;
            }
            Cue::Disclaimer | Cue::Banner => {
                let end = paragraph_end(lines, at, run.end);
                kinds[at..end].fill(PartKind::Disclaimer);
                at = end;
            }
            _ => at += 1,
        }
    }
    run.end
}

/// The first blank line at or after `from` (or `limit`).
fn paragraph_end(lines: &[Line<'_>], from: usize, limit: usize) -> usize {
    (from..limit)
        .find(|&index| lines[index].is_blank())
        .unwrap_or(limit)
}
