//! Prometheus metrics: a scan as the text exposition format that
//! node_exporter's textfile collector reads (`scan --prometheus FILE`) and a
//! `/metrics` endpoint serves; documented, metric by metric, in
//! `docs/metrics.md`.
//!
//! Names follow the Prometheus conventions (`sslaudit_` prefix, snake_case,
//! the unit in the name, every metric a gauge: nothing here counts up over
//! the life of a process) and, where ssl_exporter or blackbox_exporter has a
//! counterpart, its shape: `sslaudit_cert_not_after` is seconds since the
//! epoch like `ssl_cert_not_after`, with its `cn`, `issuer_cn` and
//! `serial_no` (decimal) labels, and `sslaudit_tls_version_info` is 1 per
//! accepted version like `ssl_tls_version_info`, so that alerts written
//! for those carry over with a change of prefix.
//!
//! The output is a function of the report and the [`ScanRun`] alone:
//! families sorted by name, samples by their label values, label values
//! escaped as the format requires (backslash, double quote, line feed), no
//! sample timestamps (the textfile collector refuses them).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sslaudit_rules::facts::common_name_of;
use sslaudit_rules::report::{HostStatus, ScanReport};

/// When the scan ran: the clock readings the report itself leaves out (so
/// that it stays a function of its inputs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanRun {
    /// When the scan finished, in seconds since the epoch.
    pub finished: f64,
    /// How long it took, in seconds.
    pub duration: f64,
}

/// The metrics of `report` in the text exposition format (version 0.0.4),
/// ending with a newline. Without `run` the scan's clock metrics
/// (`sslaudit_last_scan_timestamp_seconds`, `sslaudit_scan_duration_seconds`)
/// are left out.
pub fn to_prometheus(report: &ScanReport, run: Option<&ScanRun>) -> String {
    let mut families: Vec<Family> = Vec::new();
    let mut family = |name: &'static str, help: &'static str| {
        families.push(Family::new(name, help));
        families.len() - 1
    };

    let build = family(
        "sslaudit_build_info",
        "The sslaudit version that wrote these metrics; always 1.",
    );
    let host_up = family(
        "sslaudit_host_up",
        "1 when the scan reached and logged in to the host (scanned or partial), 0 when it could not (SCAN001).",
    );
    let host_status = family(
        "sslaudit_host_status",
        "1 for the host's scan status (scanned: every fact collected; partial: some facts missing, see SCAN002; unreachable: nothing checked, see SCAN001), 0 for the other two.",
    );
    let host_info = family(
        "sslaudit_host_info",
        "The host's roles (comma-separated) and how it was reached (ssh, or wire for a host audited from its MySQL port alone); always 1.",
    );
    let tls_version = family(
        "sslaudit_tls_version_info",
        "1 for each TLS protocol version the server's MySQL port accepted in the probe; versions it refused have no series.",
    );
    let not_after = family(
        "sslaudit_cert_not_after",
        "NotAfter of a certificate found on a host (file) or presented by its MySQL port (endpoint), in seconds since the epoch.",
    );
    let not_before = family(
        "sslaudit_cert_not_before",
        "NotBefore of a certificate found on a host (file) or presented by its MySQL port (endpoint), in seconds since the epoch.",
    );
    let findings = family(
        "sslaudit_findings",
        "Active (not waived) findings, by rule, severity, host and environment.",
    );
    let waived = family(
        "sslaudit_findings_waived",
        "Findings a policy waiver covers, by rule, severity, host and environment.",
    );
    let trusts_current = family(
        "sslaudit_ca_trusts_current",
        "1 when a client trust store (CA file) verifies the chain its server presents today, 0 when it does not.",
    );
    let rotation_ready = family(
        "sslaudit_ca_rotation_ready",
        "1 when a client trust store (CA file) holds every next CA of its environment (--next-ca), 0 when it lacks one (SSL021).",
    );
    let last_scan = family(
        "sslaudit_last_scan_timestamp_seconds",
        "When the scan these metrics come from finished, in seconds since the epoch.",
    );
    let duration = family(
        "sslaudit_scan_duration_seconds",
        "How long the scan these metrics come from took, in seconds.",
    );

    families[build].set(vec![("version", report.tool.version.clone())], 1.0);

    for h in &report.hosts {
        let host = || {
            vec![
                ("environment", h.environment.clone()),
                ("host", h.name.clone()),
            ]
        };
        let up = h.status != HostStatus::Unreachable;
        families[host_up].set(host(), f64::from(u8::from(up)));
        for (status, name) in [
            (HostStatus::Scanned, "scanned"),
            (HostStatus::Partial, "partial"),
            (HostStatus::Unreachable, "unreachable"),
        ] {
            let mut labels = host();
            labels.push(("status", name.to_string()));
            families[host_status].set(labels, f64::from(u8::from(h.status == status)));
        }
        let mut labels = host();
        labels.push(("roles", h.roles.join(",")));
        labels.push(("access", h.access.as_str().to_string()));
        families[host_info].set(labels, 1.0);
        if let Some(wire) = &h.wire {
            for version in &wire.accepted {
                let mut labels = host();
                labels.push(("endpoint", wire.address.clone()));
                labels.push(("version", version.clone()));
                families[tls_version].set(labels, 1.0);
            }
        }
    }

    for c in report.certificates.iter() {
        let (file, endpoint) = match c.path.strip_prefix("probe:") {
            Some(addr) => (String::new(), addr.to_string()),
            None => (c.path.clone(), String::new()),
        };
        let labels = vec![
            ("environment", c.environment.clone()),
            ("host", c.host.clone()),
            ("file", file),
            ("endpoint", endpoint),
            ("subject", c.subject.clone()),
            ("cn", common_name_of(&c.subject).unwrap_or("").to_string()),
            (
                "issuer_cn",
                common_name_of(&c.issuer).unwrap_or("").to_string(),
            ),
            (
                "serial_no",
                c.serial.as_deref().map(decimal_serial).unwrap_or_default(),
            ),
        ];
        // A report of an older version has the dates alone: midnight UTC.
        let seconds = |exact: Option<i64>, date: &str| exact.or_else(|| date_seconds(date));
        if let Some(t) = seconds(c.not_after_unix, &c.not_after) {
            // Two certificates alike in every label: the one that expires first.
            families[not_after].min(labels.clone(), t as f64);
        }
        if let Some(t) = seconds(c.not_before_unix, &c.not_before) {
            families[not_before].max(labels, t as f64);
        }
    }

    for f in &report.findings {
        let labels = vec![
            ("environment", f.environment.clone()),
            ("host", f.host.clone()),
            ("rule", f.rule_id.clone()),
            ("severity", f.severity.as_str().to_string()),
        ];
        let target = if f.suppressed.is_none() {
            findings
        } else {
            waived
        };
        families[target].add(labels, 1.0);
    }

    for r in &report.readiness {
        let labels = vec![
            ("environment", r.environment.clone()),
            ("host", r.host.clone()),
            ("ca_file", r.ca_file.clone()),
            ("server", r.server.clone()),
        ];
        // A store that fails for one of its clients fails.
        if let Some(t) = r.trusts_current {
            families[trusts_current].min(labels.clone(), f64::from(u8::from(t)));
        }
        if let Some(t) = r.trusts_next {
            families[rotation_ready].min(labels, f64::from(u8::from(t)));
        }
    }

    if let Some(run) = run {
        families[last_scan].set(Vec::new(), run.finished);
        families[duration].set(Vec::new(), run.duration);
    }

    families.sort_by_key(|f| f.name);
    let mut out = String::new();
    for f in &families {
        f.write(&mut out);
    }
    out
}

/// One metric family: its samples by label set (in the family's label
/// order, empty values left out as the format treats them as absent).
struct Family {
    name: &'static str,
    help: &'static str,
    samples: BTreeMap<Vec<(&'static str, String)>, f64>,
}

impl Family {
    fn new(name: &'static str, help: &'static str) -> Self {
        Family {
            name,
            help,
            samples: BTreeMap::new(),
        }
    }

    fn key(labels: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        labels.into_iter().filter(|(_, v)| !v.is_empty()).collect()
    }

    fn set(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.insert(Self::key(labels), value);
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        *self.samples.entry(Self::key(labels)).or_insert(0.0) += value;
    }

    fn min(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        let v = self.samples.entry(Self::key(labels)).or_insert(value);
        *v = v.min(value);
    }

    fn max(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        let v = self.samples.entry(Self::key(labels)).or_insert(value);
        *v = v.max(value);
    }

    /// HELP and TYPE, then the samples; a family without samples writes
    /// nothing.
    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(self.help));
        let _ = writeln!(out, "# TYPE {} gauge", self.name);
        for (labels, value) in &self.samples {
            out.push_str(self.name);
            if !labels.is_empty() {
                out.push('{');
                for (i, (name, v)) in labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{name}=\"{}\"", escape_label_value(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", format_value(*value));
        }
    }
}

/// A label value as the exposition format writes it: backslash, double
/// quote and line feed escaped (`\\`, `\"`, `\n`); everything else as is.
pub fn escape_label_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and line feed escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Integers without a fraction (`1`, `1893456000`), other values as Rust
/// writes them (the shortest that reads back the same).
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A lowercase hex serial number in decimal, as ssl_exporter's `serial_no`
/// writes it; the hex as given when it is not hex.
fn decimal_serial(hex: &str) -> String {
    openssl::bn::BigNum::from_hex_str(hex)
        .ok()
        .and_then(|n| n.to_dec_str().ok())
        .map(|s| s.to_string())
        .unwrap_or_else(|| hex.to_string())
}

/// `YYYY-MM-DD` as seconds since the epoch at midnight UTC.
fn date_seconds(date: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(date, &format).ok()?;
    Some(d.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("x\ny"), "x\\ny");
        assert_eq!(escape_label_value("CN=caf\u{e9},O=x"), "CN=caf\u{e9},O=x");
    }

    #[test]
    fn values_are_integers_when_whole() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(1_893_456_000.0), "1893456000");
        assert_eq!(format_value(-86_400.0), "-86400");
        assert_eq!(format_value(2.5), "2.5");
    }

    #[test]
    fn serials_are_decimal() {
        assert_eq!(decimal_serial("0a"), "10");
        assert_eq!(decimal_serial("1000"), "4096");
        assert_eq!(
            decimal_serial("5e3c3bfd8f41e0a1b5c8d2e3f4a5b6c7d8e9f001"),
            "537988403076083216283183758888634999178602868737"
        );
        assert_eq!(decimal_serial("not hex"), "not hex");
    }

    #[test]
    fn dates_are_midnight_utc() {
        assert_eq!(date_seconds("2030-01-01"), Some(1_893_456_000));
        assert_eq!(date_seconds("garbage"), None);
    }
}
