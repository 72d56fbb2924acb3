//! `report --png FILE`: the friction map as a heat map, touchpoints down
//! the side, groups (categories or sides) across, each cell shaded by its
//! contacts in the window (white for none, deep red for the most) with
//! the count written in it. Drawn with plotters' bitmap backend; labels
//! use font8x8's public-domain 8x8 glyphs, so no font file is needed.

use std::collections::BTreeMap;
use std::path::Path;

use font8x8::UnicodeFonts as _;
use plotters::prelude::*;

use super::insights::Report;

/// Most groups drawn (the busiest ones); the table lists them all.
const MAX_COLUMNS: usize = 24;
/// Cell size in pixels.
const CELL_WIDTH: i32 = 44;
const CELL_HEIGHT: i32 = 28;
/// Glyph size in pixels (font8x8 glyphs, unscaled).
const GLYPH: i32 = 8;
/// Space around the grid.
const MARGIN: i32 = 12;

/// Draws `report` as a PNG heat map at `path`.
pub fn draw(report: &Report, path: &Path) -> Result<(), String> {
    let grid = Grid::of(report);
    let label_width = grid.rows.iter().map(|row| text_width(row)).max().unwrap_or(0) + 2 * MARGIN;
    let label_height = grid
        .columns
        .iter()
        .map(|column| text_width(column))
        .max()
        .unwrap_or(0)
        + 2 * MARGIN;
    let columns = i32::try_from(grid.columns.len()).unwrap_or(0).max(1);
    let rows = i32::try_from(grid.rows.len()).unwrap_or(0).max(1);
    let width = label_width + columns * CELL_WIDTH + MARGIN;
    let height = label_height + rows * CELL_HEIGHT + MARGIN;
    let size = (
        u32::try_from(width).unwrap_or(1),
        u32::try_from(height).unwrap_or(1),
    );
    let area = BitMapBackend::new(path, size).into_drawing_area();
    let failed = |err: &dyn std::fmt::Display| err.to_string();
    area.fill(&WHITE).map_err(|err| failed(&err))?;
    for (x, column) in grid.columns.iter().enumerate() {
        let left = label_width + index(x) * CELL_WIDTH + (CELL_WIDTH - GLYPH) / 2;
        write(&area, column, (left, label_height - MARGIN), Direction::Up).map_err(|err| failed(&err))?;
    }
    for (y, row) in grid.rows.iter().enumerate() {
        let top = label_height + index(y) * CELL_HEIGHT;
        write(
            &area,
            row,
            (MARGIN, top + (CELL_HEIGHT - GLYPH) / 2),
            Direction::Right,
        )
        .map_err(|err| failed(&err))?;
        for (x, column) in grid.columns.iter().enumerate() {
            let left = label_width + index(x) * CELL_WIDTH;
            let contacts = grid.contacts(row, column);
            let corners = [(left, top), (left + CELL_WIDTH - 1, top + CELL_HEIGHT - 1)];
            area.draw(&Rectangle::new(corners, shade(contacts, grid.most).filled()))
                .map_err(|err| failed(&err))?;
            area.draw(&Rectangle::new(corners, RGBColor(200, 200, 200)))
                .map_err(|err| failed(&err))?;
            if contacts > 0 {
                let text = contacts.to_string();
                let at = (
                    left + (CELL_WIDTH - text_width(&text)) / 2,
                    top + (CELL_HEIGHT - GLYPH) / 2,
                );
                write(&area, &text, at, Direction::Right).map_err(|err| failed(&err))?;
            }
        }
    }
    area.present().map_err(|err| failed(&err))
}

/// The cells laid out: touchpoints (rows) and the busiest groups (columns).
struct Grid {
    rows: Vec<String>,
    columns: Vec<String>,
    cells: BTreeMap<(String, String), u64>,
    most: u64,
}

impl Grid {
    fn of(report: &Report) -> Grid {
        let mut cells = BTreeMap::new();
        let mut by_column: BTreeMap<String, u64> = BTreeMap::new();
        let mut rows: Vec<String> = Vec::new();
        for cell in &report.cells {
            cells.insert((cell.touchpoint.clone(), cell.group.clone()), cell.contacts);
            *by_column.entry(cell.group.clone()).or_default() += cell.contacts;
            if !rows.contains(&cell.touchpoint) {
                rows.push(cell.touchpoint.clone());
            }
        }
        let mut columns: Vec<(String, u64)> = by_column.into_iter().collect();
        columns.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        columns.truncate(MAX_COLUMNS);
        let most = cells.values().copied().max().unwrap_or(0);
        Grid {
            rows,
            columns: columns.into_iter().map(|(name, _)| name).collect(),
            cells,
            most,
        }
    }

    fn contacts(&self, row: &str, column: &str) -> u64 {
        self.cells
            .get(&(row.to_string(), column.to_string()))
            .copied()
            .unwrap_or(0)
    }
}

fn index(at: usize) -> i32 {
    i32::try_from(at).unwrap_or(i32::MAX)
}

/// White for no contacts, through orange to deep red for the most.
fn shade(contacts: u64, most: u64) -> RGBColor {
    if contacts == 0 || most == 0 {
        return WHITE;
    }
    let share = contacts as f64 / most as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0..=255
    let channel = |from: f64, to: f64| (from + (to - from) * share).round() as u8;
    RGBColor(channel(255.0, 190.0), channel(236.0, 20.0), channel(200.0, 20.0))
}

/// How text runs from its anchor.
#[derive(Clone, Copy)]
enum Direction {
    /// Left to right; the anchor is the top left.
    Right,
    /// Bottom to top (a column label); the anchor is the bottom left.
    Up,
}

fn text_width(text: &str) -> i32 {
    index(text.chars().count()) * GLYPH
}

/// Writes `text` with font8x8 glyphs (unknown characters as `?`).
fn write<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
    (x, y): (i32, i32),
    direction: Direction,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (at, character) in text.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(character)
            .or_else(|| font8x8::BASIC_FONTS.get('?'))
            .unwrap_or([0; 8]);
        let offset = index(at) * GLYPH;
        for (row, bits) in (0i32..).zip(glyph) {
            for column in 0..GLYPH {
                if bits & (1 << column) == 0 {
                    continue;
                }
                let pixel = match direction {
                    Direction::Right => (x + offset + column, y + row),
                    Direction::Up => (x + row, y - offset - column),
                };
                area.draw_pixel(pixel, &BLACK)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::insights::Cell;

    fn cell(touchpoint: &str, group: &str, contacts: u64) -> Cell {
        Cell {
            touchpoint: touchpoint.into(),
            group: group.into(),
            contacts,
            reactive: contacts,
            proactive: 0,
            previous_contacts: 0,
            change: 0,
            reactive_change: 0,
            positive_change: 0,
            mean_sentiment: 0.0,
            sentiment_buckets: vec![0; 5],
            repeat_share: 0.0,
        }
    }

    #[test]
    fn the_heat_map_has_a_column_per_group_and_a_row_per_touchpoint() {
        let report = Report {
            window_start: None,
            window_end: None,
            previous_start: None,
            total_contacts: 12,
            previous_total_contacts: 0,
            cells: vec![
                cell("checkout", "billing", 9),
                cell("checkout", "bug", 1),
                cell("delivery", "delivery", 2),
            ],
            top_friction: Vec::new(),
            top_delight: Vec::new(),
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let path = std::env::var_os("TRIAGE_HEATMAP_SAMPLE")
            .map_or_else(|| dir.path().join("map.png"), std::path::PathBuf::from);
        draw(&report, &path).expect("drawn");
        let png = std::fs::read(&path).expect("written");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
        let labels = 2 * MARGIN + text_width("checkout");
        let header = 2 * MARGIN + text_width("delivery");
        assert_eq!(
            word(16),
            u32::try_from(labels + 3 * CELL_WIDTH + MARGIN).expect("width")
        );
        assert_eq!(
            word(20),
            u32::try_from(header + 2 * CELL_HEIGHT + MARGIN).expect("height")
        );
        assert_eq!(shade(0, 9), WHITE);
        assert_eq!(shade(9, 9), RGBColor(190, 20, 20));
    }
}
