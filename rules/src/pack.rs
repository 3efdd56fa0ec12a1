//! Declarative rule packs: checks users add without recompiling
//! (`--rules FILE`, TOML). Each `[[rule]]` has an id, a severity, a message
//! and a `[rule.check]` that states the required state; a host whose fact
//! violates it gets a finding.
//!
//! ```toml
//! [[rule]]
//! id = "ORG001"
//! name = "ssl-cipher-not-pinned"
//! severity = "medium"
//! summary = "ssl_cipher is not pinned to the approved list"
//! message = "ssl_cipher is {value}, expected {expected}"
//! help = "Our TLS standard pins ciphers: set ssl_cipher in [mysqld]."
//! [rule.check]
//! kind = "server-variable"        # status-variable, option, file, certificate, account
//! name = "ssl_cipher"
//! equals = "ECDHE-RSA-AES256-GCM-SHA384"
//! ```
//!
//! A fact that was not collected is never a violation: the rule reports
//! nothing (SCAN002 covers it), except that `present = true` fires on a
//! value that is absent from collected facts.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use toml::Spanned;

use crate::facts::{FileStatus, HostFacts, Require, Role};
use crate::rule::{Context, Control, Evidence, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read rule pack {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: String,
        line: usize,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPack {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    name: Spanned<String>,
    severity: Spanned<String>,
    summary: String,
    message: String,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    roles: Option<Vec<Role>>,
    /// The controls the rule's findings evidence (docs/oscal.md).
    #[serde(default)]
    controls: Vec<Spanned<RawControl>>,
    check: Spanned<RawCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawControl {
    framework: String,
    id: String,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    kind: Spanned<String>,
    name: Option<String>,
    #[serde(default)]
    program: Option<String>,
    path: Option<String>,
    user: Option<String>,
    host: Option<String>,
    #[serde(flatten)]
    expect: Expect,
}

/// The required state. Every condition given must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    pub one_of: Option<Vec<String>>,
    pub contains: Option<String>,
    pub not_contains: Option<String>,
    pub present: Option<bool>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// file: must exist (true) or must not (false).
    pub exists: Option<bool>,
    /// file: permission bits must be within this octal mode (`"0600"`).
    pub max_mode: Option<String>,
    /// file: owner name.
    pub owner: Option<String>,
    /// certificate: at least this many days left.
    pub min_days_left: Option<i64>,
    /// account: `ssl`, `x509` or `specified` at least.
    pub require: Option<String>,
}

#[derive(Debug, Clone)]
enum Check {
    ServerVariable(String),
    StatusVariable(String),
    Option {
        name: String,
        client: bool,
    },
    File {
        path: String,
        max_mode: Option<u32>,
    },
    Certificate(GlobMatcher),
    Account {
        user: GlobMatcher,
        host: GlobMatcher,
        require: u8,
    },
}

/// One rule of a pack.
#[derive(Debug)]
pub struct PackRule {
    meta: RuleMeta,
    message: String,
    roles: Option<BTreeSet<Role>>,
    check: Check,
    expect: Expect,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn require_rank(r: &Require) -> u8 {
    match r {
        Require::None => 0,
        Require::Ssl => 1,
        Require::X509 => 2,
        Require::Specified { .. } => {
            if r.requires_certificate() {
                3
            } else {
                1
            }
        }
    }
}

/// Reads a rule pack; `taken` are ids already in use (the catalogue, earlier packs).
pub fn load(path: &Path, taken: &BTreeSet<String>) -> Result<Vec<PackRule>, PackError> {
    let text = std::fs::read_to_string(path).map_err(|source| PackError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, &path.display().to_string(), taken)
}

pub fn parse(text: &str, path: &str, taken: &BTreeSet<String>) -> Result<Vec<PackRule>, PackError> {
    let invalid = |offset: usize, message: String| PackError::Invalid {
        path: path.to_string(),
        line: line_of(text, offset),
        message,
    };
    let raw: RawPack = toml::from_str(text).map_err(|e| {
        invalid(
            e.span().map(|s| s.start).unwrap_or(0),
            e.message().to_string(),
        )
    })?;
    if raw.rule.is_empty() {
        return Err(invalid(0, "no [[rule]] in this rule pack".into()));
    }
    let mut seen = taken.clone();
    let mut out = Vec::new();
    for r in raw.rule {
        let r = r.into_inner();
        let id = r.id.get_ref();
        let id_ok = !id.is_empty()
            && id.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && id
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(invalid(
                r.id.span().start,
                format!("rule id `{id}` must be upper-case letters and digits, like ORG001"),
            ));
        }
        if !seen.insert(id.clone()) {
            return Err(invalid(
                r.id.span().start,
                format!("rule id `{id}` is already defined"),
            ));
        }
        let name = r.name.get_ref();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(invalid(
                r.name.span().start,
                format!("rule name `{name}` must be kebab-case, naming the bad state"),
            ));
        }
        let severity: Severity =
            r.severity
                .get_ref()
                .parse()
                .map_err(|e: crate::severity::UnknownSeverity| {
                    invalid(r.severity.span().start, e.to_string())
                })?;
        let check_start = r.check.span().start;
        let c = r.check.into_inner();
        let need = |v: Option<String>, field: &str| {
            v.ok_or_else(|| {
                invalid(
                    check_start,
                    format!("check kind `{}` needs `{field}`", c.kind.get_ref()),
                )
            })
        };
        let glob = |pattern: &str| {
            Glob::new(pattern)
                .map(|g| g.compile_matcher())
                .map_err(|e| invalid(check_start, format!("bad glob `{pattern}`: {e}")))
        };
        let check = match c.kind.get_ref().as_str() {
            "server-variable" => {
                Check::ServerVariable(need(c.name.clone(), "name")?.to_ascii_lowercase())
            }
            "status-variable" => {
                Check::StatusVariable(need(c.name.clone(), "name")?.to_ascii_lowercase())
            }
            "option" => Check::Option {
                name: need(c.name.clone(), "name")?,
                client: match c.program.as_deref() {
                    None | Some("server") => false,
                    Some("client") => true,
                    Some(p) => {
                        return Err(invalid(
                            check_start,
                            format!("program `{p}` must be server or client"),
                        ));
                    }
                },
            },
            "file" => Check::File {
                path: need(c.path.clone(), "path")?,
                max_mode: match &c.expect.max_mode {
                    None => None,
                    Some(m) => Some(u32::from_str_radix(m.trim_start_matches("0o"), 8).map_err(
                        |_| {
                            invalid(
                                check_start,
                                format!("max_mode `{m}` is not an octal mode like \"0600\""),
                            )
                        },
                    )?),
                },
            },
            "certificate" => Check::Certificate(glob(c.path.as_deref().unwrap_or("*"))?),
            "account" => Check::Account {
                user: glob(c.user.as_deref().unwrap_or("*"))?,
                host: glob(c.host.as_deref().unwrap_or("*"))?,
                require: match c
                    .expect
                    .require
                    .as_deref()
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("ssl") => 1,
                    Some("x509") => 2,
                    Some("specified") => 3,
                    Some(other) => {
                        return Err(invalid(
                            check_start,
                            format!("require `{other}` must be ssl, x509 or specified"),
                        ));
                    }
                    None => {
                        return Err(invalid(
                            check_start,
                            "check kind `account` needs `require`".into(),
                        ));
                    }
                },
            },
            other => {
                return Err(invalid(
                    c.kind.span().start,
                    format!(
                        "unknown check kind `{other}` (expected server-variable, status-variable, option, file, certificate or account)"
                    ),
                ));
            }
        };
        let e = &c.expect;
        let has_value_condition = e.equals.is_some()
            || e.not_equals.is_some()
            || e.one_of.is_some()
            || e.contains.is_some()
            || e.not_contains.is_some()
            || e.present.is_some()
            || e.min.is_some()
            || e.max.is_some();
        let ok = match &check {
            Check::ServerVariable(_) | Check::StatusVariable(_) | Check::Option { .. } => {
                has_value_condition
            }
            Check::File { .. } => e.exists.is_some() || e.max_mode.is_some() || e.owner.is_some(),
            Check::Certificate(_) => e.min_days_left.is_some(),
            Check::Account { .. } => true,
        };
        if !ok {
            return Err(invalid(
                check_start,
                "the check states no condition to hold".into(),
            ));
        }
        let mut controls = Vec::with_capacity(r.controls.len());
        for c in &r.controls {
            let (start, c) = (c.span().start, c.get_ref());
            for (field, value) in [
                ("framework", &c.framework),
                ("id", &c.id),
                ("source", &c.source),
            ] {
                if value.trim().is_empty() {
                    return Err(invalid(
                        start,
                        format!("a control mapping needs its {field}"),
                    ));
                }
            }
            // RuleMeta's controls are 'static like the compiled rules'; a
            // pack is loaded once per run, so its few strings live as long.
            let leak =
                |s: &str| -> &'static str { Box::leak(s.trim().to_string().into_boxed_str()) };
            controls.push(Control {
                framework: leak(&c.framework),
                id: leak(&c.id),
                source: leak(&c.source),
            });
        }
        let controls: &'static [Control] = Box::leak(controls.into_boxed_slice());
        let mut help = r.help.unwrap_or_else(|| {
            format!(
                "## What it checks\n{}\n\n## Why it matters\nA rule of the `{path}` rule pack.\n\n## How to fix\nBring the host to the state the check states.",
                r.summary
            )
        });
        if !r.references.is_empty() {
            help.push_str("\n\n## References\n");
            for reference in &r.references {
                help.push_str(&format!("- {reference}\n"));
            }
        }
        out.push(PackRule {
            meta: RuleMeta {
                id: Cow::Owned(id.clone()),
                name: Cow::Owned(name.clone()),
                severity,
                summary: Cow::Owned(r.summary),
                help: Cow::Owned(help),
                references: Cow::Borrowed(&[]),
                controls,
                evidence: match check {
                    Check::Option { .. } | Check::File { .. } => Evidence::HostFiles,
                    _ => Evidence::Any,
                },
            },
            message: r.message,
            roles: r.roles.map(|v| v.into_iter().collect()),
            check,
            expect: c.expect,
        });
    }
    Ok(out)
}

/// Why a value violates the expectation, or `None` when it holds.
fn violates(e: &Expect, value: Option<&str>) -> Option<String> {
    let Some(v) = value else {
        return (e.present == Some(true)).then(|| "absent".to_string());
    };
    if e.present == Some(false) {
        return Some("present".into());
    }
    if let Some(x) = &e.equals
        && !v.eq_ignore_ascii_case(x)
    {
        return Some(x.clone());
    }
    if let Some(x) = &e.not_equals
        && v.eq_ignore_ascii_case(x)
    {
        return Some(format!("not {x}"));
    }
    if let Some(list) = &e.one_of
        && !list.iter().any(|x| v.eq_ignore_ascii_case(x))
    {
        return Some(format!("one of {}", list.join(", ")));
    }
    if let Some(x) = &e.contains
        && !v.to_ascii_lowercase().contains(&x.to_ascii_lowercase())
    {
        return Some(format!("containing {x}"));
    }
    if let Some(x) = &e.not_contains
        && v.to_ascii_lowercase().contains(&x.to_ascii_lowercase())
    {
        return Some(format!("not containing {x}"));
    }
    if e.min.is_some() || e.max.is_some() {
        let Ok(n) = v.trim().parse::<f64>() else {
            return Some("a number".into());
        };
        if let Some(min) = e.min
            && n < min
        {
            return Some(format!(">= {min}"));
        }
        if let Some(max) = e.max
            && n > max
        {
            return Some(format!("<= {max}"));
        }
    }
    None
}

impl PackRule {
    fn emit(
        &self,
        host: &HostFacts,
        out: &mut Vec<Finding>,
        vars: &[(&str, String)],
        location: Location,
    ) {
        let mut message = self.message.clone();
        for (k, v) in vars {
            message = message.replace(&format!("{{{k}}}"), v);
        }
        message = message.replace("{host}", &host.name);
        let mut f = self.finding(host, message, location);
        for (k, v) in vars {
            f = f.evidence(k, v.clone());
        }
        out.push(f);
    }

    fn applies_to(&self, host: &HostFacts) -> bool {
        match &self.roles {
            Some(roles) => host.roles.iter().any(|r| roles.contains(r)),
            None => match self.check {
                Check::ServerVariable(_) | Check::StatusVariable(_) | Check::Account { .. } => true,
                Check::Option { client, .. } => client || host.is_db(),
                Check::File { .. } | Check::Certificate(_) => true,
            },
        }
    }
}

impl Rule for PackRule {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn check_host(&self, cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        if !host.is_reachable() || !self.applies_to(host) {
            return;
        }
        let as_of = cx.as_of;
        match &self.check {
            Check::ServerVariable(name) | Check::StatusVariable(name) => {
                let Some(m) = &host.mysql else { return };
                let (map, prefix) = match &self.check {
                    Check::ServerVariable(_) => (&m.variables, "variable"),
                    _ => (&m.status, "status"),
                };
                let value = map.get(name).map(String::as_str);
                if let Some(expected) = violates(&self.expect, value) {
                    self.emit(
                        host,
                        out,
                        &[
                            ("name", name.clone()),
                            ("value", value.unwrap_or("(absent)").to_string()),
                            ("expected", expected),
                        ],
                        Location::object(format!("{prefix}:{name}")),
                    );
                }
            }
            Check::Option { name, client } => {
                let opts = if *client {
                    &host.client_options
                } else {
                    &host.server_options
                };
                let Some(opts) = opts else { return };
                let v = opts.get(name);
                if let Some(expected) = violates(&self.expect, v.map(|v| v.as_str())) {
                    let location = match v {
                        Some(v) => v.location(),
                        None => Location::default(),
                    }
                    .with_object(crate::Subject::option(
                        &crate::facts::normalize_option_name(name),
                    ));
                    self.emit(
                        host,
                        out,
                        &[
                            ("name", name.clone()),
                            (
                                "value",
                                v.map(|v| v.as_str().to_string())
                                    .unwrap_or_else(|| "(absent)".into()),
                            ),
                            ("expected", expected),
                        ],
                        location,
                    );
                }
            }
            Check::File { path, max_mode } => {
                let Some(meta) = host.file(path) else { return };
                let exists = meta.status == FileStatus::Present;
                let mut problems = Vec::new();
                if let Some(want) = self.expect.exists
                    && want != exists
                {
                    problems.push(if want {
                        "missing".to_string()
                    } else {
                        "present".to_string()
                    });
                }
                if exists {
                    if let (Some(max), Some(mode)) = (max_mode, meta.mode)
                        && mode & !max & 0o7777 != 0
                    {
                        problems.push(format!("mode {mode:04o} exceeds {max:04o}"));
                    }
                    if let (Some(want), Some(owner)) = (&self.expect.owner, &meta.owner)
                        && want != owner
                    {
                        problems.push(format!("owned by {owner}, not {want}"));
                    }
                }
                if !problems.is_empty() {
                    self.emit(
                        host,
                        out,
                        &[("path", path.clone()), ("value", problems.join(", "))],
                        Location::file(path.clone(), None).with_object(format!("file:{path}")),
                    );
                }
            }
            Check::Certificate(glob) => {
                let Some(min) = self.expect.min_days_left else {
                    return;
                };
                for (path, certs) in &host.certificates {
                    if !glob.is_match(path) {
                        continue;
                    }
                    for c in certs {
                        let left = c.days_left(as_of);
                        if left < min {
                            self.emit(
                                host,
                                out,
                                &[
                                    ("path", path.clone()),
                                    ("subject", c.subject.clone()),
                                    ("value", left.to_string()),
                                    ("not_after", c.not_after_date()),
                                ],
                                Location::file(path.clone(), None)
                                    .with_object(format!("cert:{path}#{}", c.index)),
                            );
                        }
                    }
                }
            }
            Check::Account {
                user,
                host: host_glob,
                require,
            } => {
                let Some(accounts) = host.mysql.as_ref().and_then(|m| m.accounts.as_ref()) else {
                    return;
                };
                for a in accounts {
                    if a.is_system()
                        || a.is_role
                        || !user.is_match(&a.user)
                        || !host_glob.is_match(&a.host)
                    {
                        continue;
                    }
                    if require_rank(&a.require) < *require {
                        self.emit(
                            host,
                            out,
                            &[
                                ("account", a.name()),
                                ("value", a.require.as_sql().to_string()),
                            ],
                            Location::object(crate::Subject::account(&a.user, &a.host)),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Account, MysqlFacts};
    use crate::layout::Layout;

    const PACK: &str = r#"
[[rule]]
id = "ORG001"
name = "ssl-cipher-not-pinned"
severity = "medium"
summary = "ssl_cipher is not pinned"
message = "ssl_cipher is {value}, expected {expected}"
[rule.check]
kind = "server-variable"
name = "ssl_cipher"
equals = "ECDHE-RSA-AES256-GCM-SHA384"

[[rule]]
id = "ORG002"
name = "reporting-account-without-x509"
severity = "high"
summary = "reporting accounts must use certificates"
message = "account {account} has REQUIRE {value}"
references = ["Internal TLS standard 4.2"]
[rule.check]
kind = "account"
user = "report*"
require = "x509"
"#;

    fn run(rules: &[PackRule], host: &HostFacts) -> Vec<Finding> {
        rules
            .iter()
            .flat_map(|r| crate::testkit::run(r, host))
            .collect()
    }

    #[test]
    fn pack_rules_fire_on_violations_only() {
        let rules = parse(PACK, "pack.toml", &BTreeSet::new()).unwrap();
        assert_eq!(rules.len(), 2);
        assert!(rules[1].meta().help.contains("Internal TLS standard 4.2"));
        let mut h = HostFacts::new("db", "prod", Layout::engineyard());
        let mut m = MysqlFacts::default();
        m.variables.insert("ssl_cipher".into(), "RC4-SHA".into());
        m.accounts = Some(vec![
            Account {
                user: "reports".into(),
                host: "%".into(),
                require: Require::Ssl,
                is_role: false,
                locked: false,
            },
            Account {
                user: "reports2".into(),
                host: "%".into(),
                require: Require::X509,
                is_role: false,
                locked: false,
            },
            Account {
                user: "deploy".into(),
                host: "%".into(),
                require: Require::None,
                is_role: false,
                locked: false,
            },
        ]);
        h.mysql = Some(m);
        let f = run(&rules, &h);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            f[0].message,
            "ssl_cipher is RC4-SHA, expected ECDHE-RSA-AES256-GCM-SHA384"
        );
        assert_eq!(f[0].severity, Severity::Medium);
        assert_eq!(f[1].message, "account reports@% has REQUIRE SSL");
        assert_eq!(f[1].location.object.as_deref(), Some("account:reports@%"));

        h.mysql
            .as_mut()
            .unwrap()
            .variables
            .insert("ssl_cipher".into(), "ECDHE-RSA-AES256-GCM-SHA384".into());
        assert_eq!(run(&rules, &h).len(), 1);
        h.mysql = None;
        assert!(
            run(&rules, &h).is_empty(),
            "uncollected facts are never a violation"
        );
    }

    #[test]
    fn packs_may_map_their_rules_to_controls() {
        let taken = BTreeSet::new();
        let text = "[[rule]]\nid = \"ORG1\"\nname = \"x\"\nseverity = \"low\"\nsummary = \"s\"\nmessage = \"m\"\n\
            [[rule.controls]]\nframework = \"NIST SP 800-53 Rev. 5\"\nid = \"SC-8(1)\"\nsource = \"internal TLS standard 4.2\"\n\
            [rule.check]\nkind = \"server-variable\"\nname = \"have_ssl\"\nequals = \"YES\"\n";
        let rules = parse(text, "p.toml", &taken).unwrap();
        let c = rules[0].meta().controls;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].oscal_id().as_deref(), Some("sc-8.1"));
        assert_eq!(c[0].source, "internal TLS standard 4.2");
        let e = parse(
            &text.replace("internal TLS standard 4.2", " "),
            "p.toml",
            &taken,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("p.toml:7: a control mapping needs its source"),
            "{e}"
        );
    }

    #[test]
    fn invalid_packs_name_the_line() {
        let taken: BTreeSet<String> = ["SSL001".to_string()].into();
        let bad_kind = "[[rule]]\nid = \"ORG1\"\nname = \"x\"\nseverity = \"low\"\nsummary = \"s\"\nmessage = \"m\"\n[rule.check]\nkind = \"nope\"\n";
        let e = parse(bad_kind, "p.toml", &taken).unwrap_err().to_string();
        assert!(e.starts_with("p.toml:8: unknown check kind `nope`"), "{e}");
        let dup = bad_kind.replace("ORG1", "SSL001");
        let e = parse(&dup, "p.toml", &taken).unwrap_err().to_string();
        assert_eq!(e, "p.toml:2: rule id `SSL001` is already defined");
        let sev = bad_kind.replace("\"low\"", "\"urgent\"");
        let e = parse(&sev, "p.toml", &taken).unwrap_err().to_string();
        assert!(e.starts_with("p.toml:4: unknown severity"), "{e}");
        let e = parse("[[rule]]\nid = 3\n", "p.toml", &taken)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.toml:2:"), "{e}");
        let nocond = bad_kind.replace(
            "kind = \"nope\"",
            "kind = \"server-variable\"\nname = \"have_ssl\"",
        );
        let e = parse(&nocond, "p.toml", &taken).unwrap_err().to_string();
        assert!(e.contains("no condition"), "{e}");
    }
}
