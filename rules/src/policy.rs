//! The policy file (`--policy FILE`, TOML): which rules run at what
//! severity, the thresholds rules judge by, and waivers.
//!
//! ```toml
//! [thresholds]
//! expiry_high_days = 7
//! expiry_medium_days = 30
//! min_rsa_bits = 2048
//! allowed_tls_versions = ["TLSv1.2", "TLSv1.3"]
//! require_x509_accounts = ["deploy", "repl@%"]
//!
//! [rules.SSL017]
//! enabled = false
//! [rules.SSL007]
//! severity = "high"
//!
//! [[waiver]]
//! rule = "SSL005"
//! host = "db-*"
//! object = "account:deploy@%"
//! justification = "deploy moves to X509 with the Q1 rotation"
//! expires = 2027-01-31
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::finding::Suppression;
use crate::{Finding, Severity};

/// Numbers and lists rules judge by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A certificate expiring within this many days is high (SSL004).
    pub expiry_high_days: i64,
    /// ... within this many days, medium.
    pub expiry_medium_days: i64,
    /// RSA keys below this many bits are weak (SSL016).
    pub min_rsa_bits: u32,
    /// TLS versions a server may allow (SSL015).
    pub allowed_tls_versions: Vec<String>,
    /// Accounts that must REQUIRE X509 whatever their host: `user` or `user@host` (SSL005).
    pub require_x509_accounts: Vec<String>,
    /// Every client must verify the server (`sslverify: false` is SSL020).
    pub tls_only: bool,
    /// Cipher name fragments that are never approved (SSL016).
    pub weak_cipher_patterns: Vec<String>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            expiry_high_days: 7,
            expiry_medium_days: 30,
            min_rsa_bits: 2048,
            allowed_tls_versions: vec!["TLSv1.2".into(), "TLSv1.3".into()],
            require_x509_accounts: Vec::new(),
            tls_only: true,
            weak_cipher_patterns: [
                "NULL", "EXPORT", "EXP-", "RC4", "DES-CBC-", "DES-CBC3", "3DES", "MD5", "aNULL",
                "eNULL", "ADH", "AECDH", "IDEA", "SEED", "PSK", "SRP",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSetting {
    enabled: Option<bool>,
    severity: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: Spanned<String>,
    #[serde(default)]
    host: Option<Spanned<String>>,
    #[serde(default)]
    object: Option<String>,
    justification: String,
    #[serde(default)]
    expires: Option<Spanned<toml::value::Datetime>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, RuleSetting>,
    #[serde(default)]
    waiver: Vec<RawWaiver>,
}

/// A waiver: a finding of `rule` on a host matching `host` (and `object`,
/// if given) is kept in reports but marked suppressed, until `expires`.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    pub host: String,
    host_matcher: GlobMatcher,
    pub object: Option<String>,
    pub justification: String,
    /// `YYYY-MM-DD`; the waiver applies through the end of that day (UTC).
    pub expires: Option<String>,
    expires_at: Option<i64>,
    /// Where the waiver is written, for messages: `policy.toml:14`.
    pub origin: String,
}

impl Waiver {
    pub fn is_expired(&self, as_of: i64) -> bool {
        self.expires_at.is_some_and(|t| as_of >= t)
    }

    fn matches(&self, f: &Finding) -> bool {
        f.rule_id == self.rule
            && self.host_matcher.is_match(&f.host)
            && self.object.as_ref().is_none_or(|o| {
                f.location.object.as_deref() == Some(o.as_str())
                    || f.location.file.as_deref() == Some(o.as_str())
            })
    }
}

/// A loaded policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub thresholds: Thresholds,
    pub disabled: BTreeSet<String>,
    pub severity: BTreeMap<String, Severity>,
    pub waivers: Vec<Waiver>,
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// The next CAs of an announced rotation (`scan --next-ca`), which
    /// the CA-rotation readiness rule (SSL021) judges trust stores against.
    pub next_ca: Vec<crate::readiness::NextCa>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// What applying a policy to a list of findings left to say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyOutcome {
    /// Waivers whose `expires` date has passed: they no longer apply.
    pub expired_waivers: Vec<ExpiredWaiver>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredWaiver {
    pub rule: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub expires: String,
    pub origin: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Policy {
    /// Reads and validates a policy file; `known_rules` are the ids a policy may name.
    pub fn load(path: &Path, known_rules: &BTreeSet<String>) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, known_rules)
    }

    pub fn parse(
        text: &str,
        path: &Path,
        known_rules: &BTreeSet<String>,
    ) -> Result<Self, PolicyError> {
        let invalid = |line: usize, message: String| PolicyError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            invalid(line, e.message().to_string())
        })?;
        let t = &raw.thresholds;
        if t.expiry_high_days < 0 || t.expiry_medium_days < t.expiry_high_days {
            return Err(invalid(
                1,
                "thresholds: need 0 <= expiry_high_days <= expiry_medium_days".into(),
            ));
        }
        let check_rule = |id: &Spanned<String>| {
            if known_rules.contains(id.get_ref()) {
                Ok(())
            } else {
                Err(invalid(
                    line_of(text, id.span().start),
                    format!("unknown rule id `{}`", id.get_ref()),
                ))
            }
        };
        let mut policy = Policy {
            thresholds: raw.thresholds.clone(),
            source: Some(path.to_path_buf()),
            ..Policy::default()
        };
        for (id, setting) in &raw.rules {
            check_rule(id)?;
            if setting.enabled == Some(false) {
                policy.disabled.insert(id.get_ref().clone());
            }
            if let Some(sev) = &setting.severity {
                let s = sev
                    .get_ref()
                    .parse::<Severity>()
                    .map_err(|e| invalid(line_of(text, sev.span().start), e.to_string()))?;
                policy.severity.insert(id.get_ref().clone(), s);
            }
        }
        for w in &raw.waiver {
            check_rule(&w.rule)?;
            let line = line_of(text, w.rule.span().start);
            let host = w
                .host
                .as_ref()
                .map(|h| h.get_ref().clone())
                .unwrap_or_else(|| "*".into());
            let host_matcher = Glob::new(&host)
                .map_err(|e| invalid(line, format!("bad host glob `{host}`: {e}")))?
                .compile_matcher();
            if w.justification.trim().is_empty() {
                return Err(invalid(line, "a waiver needs a justification".into()));
            }
            let (expires, expires_at) = match &w.expires {
                None => (None, None),
                Some(d) => {
                    let dl = line_of(text, d.span().start);
                    let date = d.get_ref().date.ok_or_else(|| {
                        invalid(dl, "expires must be a date such as 2027-01-31".into())
                    })?;
                    let s = format!("{:04}-{:02}-{:02}", date.year, date.month, date.day);
                    let at = parse_date(&s)
                        .map_err(|e| invalid(dl, e))?
                        .saturating_add(86_400);
                    (Some(s), Some(at))
                }
            };
            policy.waivers.push(Waiver {
                rule: w.rule.get_ref().clone(),
                host,
                host_matcher,
                object: w.object.clone(),
                justification: w.justification.clone(),
                expires,
                expires_at,
                origin: format!("{}:{line}", path.display()),
            });
        }
        Ok(policy)
    }

    pub fn is_enabled(&self, rule_id: &str) -> bool {
        !self.disabled.contains(rule_id)
    }

    /// Applies severity overrides and waivers in place (disabled rules are
    /// never run, so they never reach here).
    pub fn apply(&self, findings: &mut [Finding], as_of: i64) -> PolicyOutcome {
        let mut outcome = PolicyOutcome::default();
        for w in &self.waivers {
            if w.is_expired(as_of) {
                outcome.expired_waivers.push(ExpiredWaiver {
                    rule: w.rule.clone(),
                    host: w.host.clone(),
                    object: w.object.clone(),
                    expires: w.expires.clone().unwrap_or_default(),
                    origin: w.origin.clone(),
                });
            }
        }
        for f in findings.iter_mut() {
            if let Some(s) = self.severity.get(&f.rule_id) {
                f.severity = *s;
            }
            if let Some(w) = self
                .waivers
                .iter()
                .find(|w| !w.is_expired(as_of) && w.matches(f))
            {
                f.suppressed = Some(Suppression {
                    justification: w.justification.clone(),
                    expires: w.expires.clone(),
                });
            }
        }
        outcome
    }
}

/// `YYYY-MM-DD` -> unix seconds at 00:00 UTC.
pub fn parse_date(s: &str) -> Result<i64, String> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(s.trim(), &fmt)
        .map_err(|e| format!("`{s}` is not a date (YYYY-MM-DD): {e}"))?;
    Ok(d.midnight().assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;

    fn known() -> BTreeSet<String> {
        ["SSL005", "SSL007", "SSL017"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn finding(rule: &str, host: &str, object: &str) -> Finding {
        Finding::new(
            rule,
            Severity::High,
            host,
            "prod",
            "m",
            Location::object(object),
        )
    }

    const POLICY: &str = r#"
[thresholds]
expiry_high_days = 3

[rules.SSL017]
enabled = false
[rules.SSL007]
severity = "high"

[[waiver]]
rule = "SSL005"
host = "db-*"
object = "account:deploy@%"
justification = "moving to X509 in Q1"
expires = 2027-01-31

[[waiver]]
rule = "SSL005"
host = "app-*"
justification = "old"
expires = 2020-01-01
"#;

    #[test]
    fn parses_thresholds_rules_and_waivers() {
        let p = Policy::parse(POLICY, Path::new("p.toml"), &known()).unwrap();
        assert_eq!(p.thresholds.expiry_high_days, 3);
        assert_eq!(p.thresholds.expiry_medium_days, 30);
        assert!(!p.is_enabled("SSL017"));
        assert_eq!(p.severity["SSL007"], Severity::High);
        assert_eq!(p.waivers.len(), 2);
        assert_eq!(p.waivers[0].origin, "p.toml:11");
    }

    #[test]
    fn waivers_apply_until_their_expiry_day_ends() {
        let p = Policy::parse(POLICY, Path::new("p.toml"), &known()).unwrap();
        let mut fs = vec![
            finding("SSL005", "db-master", "account:deploy@%"),
            finding("SSL005", "db-master", "account:other@%"),
            finding("SSL005", "app-1", "account:deploy@%"),
        ];
        let as_of = parse_date("2027-01-31").unwrap() + 3600;
        let out = p.apply(&mut fs, as_of);
        assert!(fs[0].suppressed.is_some());
        assert!(fs[1].suppressed.is_none());
        assert!(fs[2].suppressed.is_none(), "expired waiver must not apply");
        assert_eq!(out.expired_waivers.len(), 1);
        assert_eq!(out.expired_waivers[0].expires, "2020-01-01");

        let mut fs = vec![finding("SSL005", "db-master", "account:deploy@%")];
        p.apply(&mut fs, parse_date("2027-02-01").unwrap());
        assert!(fs[0].suppressed.is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let e = Policy::parse(
            "[rules.SSL999]\nenabled = false\n",
            Path::new("p.toml"),
            &known(),
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "p.toml:1: unknown rule id `SSL999`");
        let e = Policy::parse(
            "\n\n[thresholds]\nnope = 1\n",
            Path::new("p.toml"),
            &known(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("p.toml:4: "), "{e}");
        let e = Policy::parse(
            "[[waiver]]\nrule = \"SSL005\"\njustification = \"x\"\nexpires = 12\n",
            Path::new("p.toml"),
            &known(),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("p.toml:"), "{e}");
    }
}
