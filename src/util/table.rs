//! Terminal output helpers: plain aligned tables (comfy-table), UTC times and
//! durations (jiff), shared by `list`, `show`, the sweep summary, the report,
//! the progress lines and the tracker's liveness reasons.

use comfy_table::{CellAlignment, ColumnConstraint, Table, Width, presets};

/// Widest a cell may be before it is cut with an ellipsis (a stored name can
/// be any length; the table stays readable).
pub const MAX_CELL: usize = 60;

/// Rows (the first is the header) as left-aligned columns two spaces apart.
pub fn table(rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    for row in rows {
        table.add_row(row.iter().map(|c| clip(c, MAX_CELL)));
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
        column.set_cell_alignment(CellAlignment::Left);
        column.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(
            (MAX_CELL + 2) as u16,
        )));
    }
    let mut out = String::new();
    for line in table.lines() {
        out += line.trim_end();
        out.push('\n');
    }
    out
}

/// `text` cut to at most `max` characters, control characters shown as `?`.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return printable(text);
    }
    let mut out: String = printable(&text.chars().take(max - 1).collect::<String>());
    out.push('…');
    out
}

/// `text` with control characters (escape sequences, newlines) shown as `?`,
/// so that a stored string cannot steer the terminal.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Seconds as a duration, rounded to the second, in jiff's friendly style:
/// `5s`, `3m 5s`, `1h 2m 5s`, `2h`. The one duration style of every output
/// (report table, progress ETA, a lost run's silence).
pub fn format_duration(seconds: f64) -> String {
    let whole = if seconds.is_finite() {
        seconds.max(0.0).round() as i64
    } else {
        0
    };
    format!("{:#}", jiff::SignedDuration::from_secs(whole))
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_time(unix: f64) -> String {
    let Ok(when) = jiff::Timestamp::from_second(unix as i64) else {
        return "-".into();
    };
    when.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations() {
        assert_eq!(format_duration(5.0), "5s");
        assert_eq!(format_duration(61.2), "1m 1s");
        assert_eq!(format_duration(185.0), "3m 5s");
        assert_eq!(format_duration(600.0), "10m");
        assert_eq!(format_duration(3725.0), "1h 2m 5s");
        assert_eq!(format_duration(5.0 * 3600.0), "5h");
        assert_eq!(format_duration(-3.0), "0s");
        assert_eq!(format_duration(f64::NAN), "0s");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(format_time(0.0), "1970-01-01 00:00:00");
        assert_eq!(format_time(1_795_939_200.0), "2026-11-29 08:00:00");
        assert_eq!(format_time(f64::MAX), "-");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&[
            vec!["A".into(), "BB".into()],
            vec!["ccc".into(), "d".into()],
        ]);
        assert_eq!(t, "A    BB\nccc  d\n");
    }

    #[test]
    fn any_stored_string_fits() {
        let long = "x".repeat(65_536);
        let t = table(&[vec!["NAME".into()], vec![long], vec!["a\nb\u{7}".into()]]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t:?}");
        assert_eq!(lines[1].chars().count(), MAX_CELL);
        assert!(lines[1].ends_with('…'));
        assert_eq!(lines[2], "a?b?");
    }
}
