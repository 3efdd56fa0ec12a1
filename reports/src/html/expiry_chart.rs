//! The certificate expiry section of a large fleet: instead of one bar per
//! certificate (`timeline`), how many certificates expire in each month of
//! the same window (a year before as-of to two years after), stacked by
//! status, with a table that says the same. Its size depends on the window,
//! not on the fleet.

use serde::Serialize;
use sslaudit_rules::report::{CertificateSummary, ExpiryStatus};
use time::{Date, Duration, Month};

use super::limits::thousands;
use super::timeline::{parse_day, window};

const WIDTH: f64 = 1000.0;
const X0: f64 = 56.0;
const X1: f64 = 990.0;
const TOP: f64 = 28.0;
const BASE: f64 = 228.0;
const HEIGHT: f64 = 262.0;

#[derive(Serialize)]
pub(super) struct ExpiryChart {
    width: f64,
    height: f64,
    base_y: f64,
    now_x: f64,
    now_label: String,
    start_label: String,
    end_label: String,
    /// The tallest month, for the axis label.
    max_label: String,
    columns: Vec<Column>,
    /// Months with at least one certificate, for the table.
    rows: Vec<MonthRow>,
    /// Certificates expiring before / after the window, and those whose
    /// dates could not be read.
    before: usize,
    after: usize,
    unreadable: usize,
    summary: String,
}

#[derive(Serialize)]
struct Column {
    x: f64,
    width: f64,
    /// `Jan 2027` under January columns, the month's short name otherwise
    /// (every third month only, so labels do not collide).
    label: Option<String>,
    title: String,
    /// Stacked from the base up: expired, soon, ok.
    segments: Vec<Segment>,
}

#[derive(Serialize)]
struct Segment {
    status: &'static str,
    y: f64,
    height: f64,
}

#[derive(Serialize)]
struct MonthRow {
    month: String,
    expired: usize,
    soon: usize,
    ok: usize,
    total: usize,
}

/// First day of the month `months` after `d`'s month.
fn add_months(d: Date, months: i32) -> Option<Date> {
    let index = d.year() * 12 + (d.month() as i32 - 1) + months;
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    Date::from_calendar_date(index.div_euclid(12), month, 1).ok()
}

fn month_label(d: Date) -> String {
    const NAMES: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!("{} {}", NAMES[d.month() as usize - 1], d.year())
}

impl ExpiryChart {
    pub(super) fn build(as_of: &str, certs: &[&CertificateSummary]) -> Option<ExpiryChart> {
        let (now, start, end) = window(as_of, certs)?;
        let first = Date::from_calendar_date(start.year(), start.month(), 1).ok()?;
        let mut months = Vec::new();
        let mut m = first;
        while m <= end {
            months.push(m);
            m = add_months(m, 1)?;
        }
        let mut counts = vec![[0usize; 3]; months.len()];
        let (mut before, mut after, mut unreadable) = (0, 0, 0);
        for cs in certs {
            let Some(day) = parse_day(&cs.not_after) else {
                unreadable += 1;
                continue;
            };
            if day < first {
                before += 1;
                continue;
            }
            let Some(i) = months.iter().rposition(|&m| m <= day) else {
                before += 1;
                continue;
            };
            if day > end {
                after += 1;
                continue;
            }
            let slot = match cs.status {
                ExpiryStatus::Expired => 0,
                ExpiryStatus::Soon => 1,
                ExpiryStatus::Ok => 2,
            };
            counts[i][slot] += 1;
        }
        let tallest = counts.iter().map(|c| c.iter().sum::<usize>()).max()?;
        let step = (X1 - X0) / months.len() as f64;
        let x_of_day = |d: Date| {
            let t = (d - first).whole_days() as f64
                / ((months.last()?.checked_add(Duration::days(31))? - first).whole_days() as f64);
            Some(round1(X0 + t * (X1 - X0)))
        };
        let mut columns = Vec::new();
        let mut rows = Vec::new();
        for (i, (&month, c)) in months.iter().zip(&counts).enumerate() {
            let total: usize = c.iter().sum();
            let mut y = BASE;
            let mut segments = Vec::new();
            for (slot, status) in ["expired", "soon", "ok"].into_iter().enumerate() {
                if c[slot] == 0 {
                    continue;
                }
                let height = (c[slot] as f64 / tallest.max(1) as f64 * (BASE - TOP)).max(1.5);
                y -= height;
                segments.push(Segment {
                    status,
                    y: round1(y),
                    height: round1(height),
                });
            }
            let label = month_label(month);
            columns.push(Column {
                x: round1(X0 + i as f64 * step + 1.0),
                width: round1(step - 2.0),
                label: matches!(
                    month.month(),
                    Month::January | Month::April | Month::July | Month::October
                )
                .then(|| label.clone()),
                title: format!(
                    "{label}: {} expiring ({} expired, {} soon, {} valid)",
                    thousands(total),
                    thousands(c[0]),
                    thousands(c[1]),
                    thousands(c[2])
                ),
                segments,
            });
            if total > 0 {
                rows.push(MonthRow {
                    month: label,
                    expired: c[0],
                    soon: c[1],
                    ok: c[2],
                    total,
                });
            }
        }
        let shown: usize = counts.iter().flatten().sum();
        Some(ExpiryChart {
            width: WIDTH,
            height: HEIGHT,
            base_y: BASE,
            now_x: x_of_day(now).unwrap_or(X0),
            now_label: format!("as of {now}"),
            start_label: month_label(first),
            end_label: month_label(*months.last()?),
            max_label: thousands(tallest),
            columns,
            rows,
            before,
            after,
            unreadable,
            summary: format!(
                "Certificates expiring per month from {} to {}: {} in the window, {} before it, {} after it",
                month_label(first),
                month_label(*months.last()?),
                thousands(shown),
                thousands(before),
                thousands(after),
            ),
        })
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn months_roll_over_years() {
        assert_eq!(
            add_months(date!(2026 - 11 - 30), 1),
            Some(date!(2026 - 12 - 01))
        );
        assert_eq!(
            add_months(date!(2026 - 12 - 05), 1),
            Some(date!(2027 - 01 - 01))
        );
        assert_eq!(
            add_months(date!(2026 - 01 - 05), -1),
            Some(date!(2025 - 12 - 01))
        );
        assert_eq!(month_label(date!(2027 - 01 - 01)), "Jan 2027");
    }
}
