//! The certificate expiry section: an inline SVG timeline (a year before
//! as-of to two years after, one bar per certificate, grouped by host) and
//! the table that says the same for readers who cannot see it. Dates are
//! `time` dates; geometry is in viewBox units.

use std::borrow::Cow;

use serde::Serialize;
use sslaudit_rules::report::{CertificateSummary, ExpiryStatus};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Duration, Month};

use super::c;
use crate::plural;

#[derive(Serialize)]
pub(super) struct CertGroup {
    environment: String,
    host: String,
    certs: Vec<CertRow>,
}

#[derive(Serialize)]
struct CertRow {
    subject: String,
    issuer: String,
    /// The CA that issued a presented leaf, named (`rds-ca-rsa2048-g1 ...`).
    issuing_ca: Option<String>,
    path: String,
    not_before: String,
    not_after: String,
    days_left: i64,
    days_text: String,
    status: &'static str,
    status_label: &'static str,
    sha256: String,
}

fn expiry_key(s: ExpiryStatus) -> (&'static str, &'static str) {
    match s {
        ExpiryStatus::Expired => ("expired", "expired"),
        ExpiryStatus::Soon => ("soon", "expires soon"),
        ExpiryStatus::Ok => ("ok", "valid"),
    }
}

fn days_text(days_left: i64, status: ExpiryStatus) -> String {
    match status {
        ExpiryStatus::Expired if days_left == 0 => "expired today".to_string(),
        ExpiryStatus::Expired => format!(
            "expired {} ago",
            plural(days_left.unsigned_abs() as usize, "day")
        ),
        _ if days_left <= 0 => "expires today".to_string(),
        _ => format!("{} left", plural(days_left as usize, "day")),
    }
}

pub(super) fn cert_groups(certs: &[&CertificateSummary]) -> Vec<CertGroup> {
    let mut groups: Vec<CertGroup> = Vec::new();
    for cs in certs {
        let (status, status_label) = expiry_key(cs.status);
        let row = CertRow {
            subject: c(&cs.subject),
            issuer: c(&cs.issuer),
            issuing_ca: cs.issuing_ca.as_deref().map(c),
            path: if cs.index > 0 {
                format!("{} #{}", c(&cs.path), cs.index)
            } else {
                c(&cs.path)
            },
            not_before: c(&cs.not_before),
            not_after: c(&cs.not_after),
            days_left: cs.days_left,
            days_text: days_text(cs.days_left, cs.status),
            status,
            status_label,
            sha256: c(&cs.sha256),
        };
        match groups.last_mut() {
            Some(g) if g.environment == c(&cs.environment) && g.host == c(&cs.host) => {
                g.certs.push(row)
            }
            _ => groups.push(CertGroup {
                environment: c(&cs.environment),
                host: c(&cs.host),
                certs: vec![row],
            }),
        }
    }
    groups
}

const TL_WIDTH: f64 = 1000.0;
const TL_CHART_X0: f64 = 318.0;
const TL_CHART_X1: f64 = 848.0;
const TL_RIGHT_X: f64 = 862.0;
const TL_AXIS_H: f64 = 44.0;
const TL_GROUP_H: f64 = 26.0;
const TL_ROW_H: f64 = 32.0;
/// The window shown: a year before as-of (what just expired) to two years
/// after (what comes due); bars outside are clipped with an arrow.
const TL_DAYS_BEFORE: i64 = 365;
const TL_DAYS_AFTER: i64 = 730;
/// Characters that fit the label column (12px bold, 10.5px mono).
const TL_SUBJECT_CHARS: usize = 44;
const TL_PATH_CHARS: usize = 46;

#[derive(Serialize)]
pub(super) struct Timeline {
    width: f64,
    height: f64,
    chart_x0: f64,
    chart_x1: f64,
    right_x: f64,
    axis_y: f64,
    now_x: f64,
    now_label: String,
    start_label: String,
    end_label: String,
    ticks: Vec<Tick>,
    groups: Vec<TimelineGroup>,
    bars: usize,
    summary: String,
}

#[derive(Serialize)]
struct Tick {
    x: f64,
    label: String,
    major: bool,
}

#[derive(Serialize)]
struct TimelineGroup {
    y: f64,
    label: String,
    rows: Vec<TimelineRow>,
}

#[derive(Serialize)]
struct TimelineRow {
    y: f64,
    /// Vertical centre of the bar.
    cy: f64,
    subject: String,
    path: String,
    title: String,
    status: &'static str,
    not_after: String,
    days_text: String,
    /// The bar, or `None` when the dates could not be read.
    bar: Option<Bar>,
}

#[derive(Serialize)]
struct Bar {
    x: f64,
    width: f64,
    /// Arrow marks: the bar goes on before / after the window.
    clip_left: Option<String>,
    clip_right: Option<String>,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

impl Timeline {
    pub(super) fn build(as_of: &str, certs: &[&CertificateSummary]) -> Option<Timeline> {
        let (now, start, end) = window(as_of, certs)?;
        let x_of = |day: Date| {
            let t = (day.clamp(start, end) - start).whole_days() as f64
                / (end - start).whole_days() as f64;
            round1(TL_CHART_X0 + t * (TL_CHART_X1 - TL_CHART_X0))
        };

        let mut ticks = Vec::new();
        for year in start.year()..=end.year() {
            for month in [Month::January, Month::April, Month::July, Month::October] {
                let Ok(day) = Date::from_calendar_date(year, month, 1) else {
                    continue;
                };
                if day <= start || day >= end {
                    continue;
                }
                let major = month == Month::January;
                ticks.push(Tick {
                    x: x_of(day),
                    label: if major {
                        year.to_string()
                    } else {
                        format_date(day, SHORT_MONTH)
                    },
                    major,
                });
            }
        }

        let mut groups: Vec<TimelineGroup> = Vec::new();
        let mut y = TL_AXIS_H;
        let mut bars = 0;
        for cs in certs {
            let label = format!("{} / {}", c(&cs.environment), c(&cs.host));
            if groups.last().is_none_or(|g| g.label != label) {
                groups.push(TimelineGroup {
                    y,
                    label,
                    rows: Vec::new(),
                });
                y += TL_GROUP_H;
            }
            let (status, status_label) = expiry_key(cs.status);
            let path = if cs.index > 0 {
                format!("{} #{}", cs.path, cs.index)
            } else {
                cs.path.clone()
            };
            let bar = match (parse_day(&cs.not_before), parse_day(&cs.not_after)) {
                (Some(nb), Some(na)) if nb <= na => {
                    bars += 1;
                    let (x0, x1) = (x_of(nb), x_of(na));
                    Some(Bar {
                        x: x0,
                        // A bar wholly outside the window still shows as a sliver.
                        width: round1((x1 - x0).max(2.0)),
                        clip_left: (nb < start).then(|| arrow(x0, y + 16.0, -1.0)),
                        clip_right: (na > end)
                            .then(|| arrow(x0 + (x1 - x0).max(2.0), y + 16.0, 1.0)),
                    })
                }
                _ => None,
            };
            let row = TimelineRow {
                y,
                cy: y + 16.0,
                subject: truncate_end(&c(&short_subject(&cs.subject)), TL_SUBJECT_CHARS),
                path: truncate_start(&c(&path), TL_PATH_CHARS),
                title: format!(
                    "{} ({}), {}: valid {} to {}, {} ({})",
                    c(&cs.subject),
                    c(&path),
                    c(&cs.host),
                    c(&cs.not_before),
                    c(&cs.not_after),
                    status_label,
                    days_text(cs.days_left, cs.status)
                ),
                status,
                not_after: c(&cs.not_after),
                days_text: days_text(cs.days_left, cs.status),
                bar,
            };
            if let Some(g) = groups.last_mut() {
                g.rows.push(row);
            }
            y += TL_ROW_H;
        }
        let count = |s: ExpiryStatus| certs.iter().filter(|x| x.status == s).count();
        Some(Timeline {
            width: TL_WIDTH,
            height: y + 8.0,
            chart_x0: TL_CHART_X0,
            chart_x1: TL_CHART_X1,
            right_x: TL_RIGHT_X,
            axis_y: TL_AXIS_H - 4.0,
            now_x: x_of(now),
            now_label: format!("as of {}", format_day(now)),
            start_label: format_day(start),
            end_label: format_day(end),
            ticks,
            groups,
            bars,
            summary: format!(
                "Certificate expiry timeline from {} to {}: {}, {} expired, {} expiring soon, {} valid",
                format_day(start),
                format_day(end),
                plural(certs.len(), "certificate"),
                count(ExpiryStatus::Expired),
                count(ExpiryStatus::Soon),
                count(ExpiryStatus::Ok),
            ),
        })
    }
}

/// As-of, and the window a chart shows around it: `None` without
/// certificates, or when no day can be read. as_of may be a date or an RFC
/// 3339 instant; failing both, it is recovered from any certificate's
/// expiry and days left.
pub(super) fn window(as_of: &str, certs: &[&CertificateSummary]) -> Option<(Date, Date, Date)> {
    if certs.is_empty() {
        return None;
    }
    let now = parse_day(as_of).or_else(|| {
        certs.iter().find_map(|cs| {
            let days_left = Duration::days(i32::try_from(cs.days_left).ok()?.into());
            parse_day(&cs.not_after)?.checked_sub(days_left)
        })
    })?;
    let start = now.checked_sub(Duration::days(TL_DAYS_BEFORE))?;
    let end = now.checked_add(Duration::days(TL_DAYS_AFTER))?;
    Some((now, start, end))
}

/// A small triangle at `x` pointing left (`dir` -1) or right (+1).
fn arrow(x: f64, cy: f64, dir: f64) -> String {
    let tip = round1(x + dir * 7.0);
    let x = round1(x + dir);
    format!("{x},{} {tip},{cy} {x},{}", cy - 6.0, cy + 6.0)
}

/// The CN of a distinguished name (`CN=db-master,O=Acme` -> `db-master`),
/// or the whole name when it has none.
fn short_subject(subject: &str) -> Cow<'_, str> {
    subject
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("CN="))
        .filter(|cn| !cn.is_empty())
        .map_or(Cow::Borrowed(subject), Cow::Borrowed)
}

fn truncate_end(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn truncate_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(n - (max - 1)));
    out
}

/// `YYYY-MM-DD`, as reports write dates.
const DAY: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
/// `Jan`, `Feb`, ...: the ticks between years.
const SHORT_MONTH: &[BorrowedFormatItem<'static>] = format_description!("[month repr:short]");

/// The `YYYY-MM-DD` a date or an RFC 3339 instant starts with.
pub(super) fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s.get(..10)?, DAY).ok()
}

fn format_date(date: Date, format: &[BorrowedFormatItem<'_>]) -> String {
    // Only an I/O error or a component the value lacks makes formatting
    // fail, and a date has every component these formats name.
    date.format(format).unwrap_or_default()
}

fn format_day(date: Date) -> String {
    format_date(date, DAY)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn days_are_read_from_dates_and_instants() {
        assert_eq!(parse_day("2026-11-30"), Some(date!(2026 - 11 - 30)));
        assert_eq!(
            parse_day("2026-11-30T05:23:00.469491943Z"),
            parse_day("2026-11-30")
        );
        assert_eq!(format_day(date!(2024 - 02 - 29)), "2024-02-29");
        assert_eq!(format_date(date!(2024 - 10 - 01), SHORT_MONTH), "Oct");
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("soon"), None);
        assert_eq!(parse_day("2026-1-1xx"), None);
    }

    #[test]
    fn labels_are_truncated_keeping_the_useful_end() {
        assert_eq!(
            short_subject("CN=db-master,OU=production,O=Acme"),
            "db-master"
        );
        assert_eq!(short_subject("O=Acme"), "O=Acme");
        assert_eq!(truncate_end("abcdef", 4), "abc…");
        assert_eq!(truncate_start("/a/b/server.crt", 8), "…ver.crt");
        assert_eq!(truncate_start("short", 8), "short");
    }
}
