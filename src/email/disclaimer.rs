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
                let start = rule_above(lines, at, run.start);
                kinds[start..run.end].fill(PartKind::Disclaimer);
                return start;
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

/// Shortest line of repeated characters that frames a notice.
const MIN_FRAME_LEN: usize = 3;

/// Footers are often boxed by a line of `*`, `-`, `=`, `_`, `~` or `#`
/// (`*****`, `---`): the notice starts at such a line directly above `at`
/// (no blank line between), if it is not above `floor`.
fn rule_above(lines: &[Line<'_>], at: usize, floor: usize) -> usize {
    let Some(above) = at.checked_sub(1).filter(|&above| above >= floor) else {
        return at;
    };
    let text = lines[above].text.trim();
    let framed = text.chars().count() >= MIN_FRAME_LEN && text.chars().all(|c| "*-=_~#".contains(c));
    if framed {
        above
    } else {
        at
    }
}

/// The first blank line at or after `from` (or `limit`).
fn paragraph_end(lines: &[Line<'_>], from: usize, limit: usize) -> usize {
    (from..limit)
        .find(|&index| lines[index].is_blank())
        .unwrap_or(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::cue;
    use crate::email::lines::split;

    fn marked(body: &str) -> Vec<PartKind> {
        let lines = split(body);
        let cues: Vec<Cue> = lines.iter().map(|l| cue::of(l.text)).collect();
        let mut kinds = vec![PartKind::New; lines.len()];
        mark(&lines, &cues, 0..lines.len(), 0, &mut kinds);
        kinds
    }

    #[test]
    fn a_frame_line_directly_above_a_notice_is_part_of_it() {
        let kinds =
            marked("The valve is fixed.\n*********\nThis message has been scanned by GateKeep.\n*********");
        assert_eq!(kinds[1], PartKind::Disclaimer);
        let kinds = marked("The valve is fixed.\n---\n\nThis message has been scanned by GateKeep.");
        assert_eq!(kinds[1], PartKind::New);
    }

    #[test]
    fn a_signature_delimiter_above_a_notice_is_not_a_frame() {
        let kinds = marked("The valve is fixed.\n--\nThis message has been scanned by GateKeep.");
        assert_eq!(kinds[1], PartKind::New);
    }
}
