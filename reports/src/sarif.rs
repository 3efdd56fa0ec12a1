//! SARIF 2.1.0, shaped for GitHub code scanning (see `docs/sarif.md`).
//!
//! A fleet is not a source tree, so locations need a convention:
//!
//! - A finding about a file on a host points at the path without its leading
//!   slash, relative to the base id `HOST_<host>` that `originalUriBaseIds`
//!   resolves to `ssh://<host>/`. Viewers that resolve base ids open
//!   `ssh://db-master/etc/mysql/my.cnf`; GitHub shows `etc/mysql/my.cnf`.
//!   Its region is the finding's line, or for a finding about the whole
//!   file, the whole file (lines 1 to the last, or its bytes for a file that
//!   is not text), from the extents the report records per host.
//! - A finding about an object only (an account, a server variable), or
//!   about a path that does not exist, points at the line that declares the
//!   host: its inventory line, or its snapshot folder's `host.toml` (else
//!   [`SarifOptions::inventory_uri`], line 1); an absolute path as a
//!   `file://` URI, a relative one as a relative reference. The object is a
//!   logical location `mysql://<host>/<object>`.
//!
//! Every result carries `partialFingerprints["sslaudit/v1"]`, the finding's
//! own fingerprint, so alerts survive line moves and host reordering.

use std::collections::{BTreeMap, BTreeSet};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location as SarifLocation, LogicalLocation, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    RunAutomationDetails, Sarif, Suppression as SarifSuppression, Tool, ToolComponent,
};
use sslaudit_rules::finding::{Finding, Suppression, fingerprint};
use sslaudit_rules::report::{FileExtent, HostStatus, HostSummary, ScanReport};
use sslaudit_rules::{RuleMeta, Severity};

use crate::{level_for, security_severity};

/// The `$schema` every log names.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of the finding's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "sslaudit/v1";
/// `runs[0].properties` key of a shard's pending findings (see
/// [`sslaudit_rules::pending`]): `[{"key": ..., "result": ...}]`, each
/// result written as for any finding, with an empty message; `merge`
/// completes them.
pub const PENDING_KEY: &str = "pending";
/// Where object-only findings point when no inventory path is given.
pub const DEFAULT_INVENTORY_URI: &str = "sslaudit-inventory";
/// GitHub truncates longer rule descriptions.
pub const MAX_FULL_DESCRIPTION_CHARS: usize = 1024;

const TOOL_NAME: &str = "sslaudit";
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// What the SARIF log says beyond the report itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SarifOptions {
    /// `runs[0].automationDetails.id`: GitHub keeps one set of alerts per
    /// category, so scans of different fleets or environments should differ.
    pub category: Option<String>,
    /// The inventory or snapshot the scan read, as a repository-relative path
    /// or a URI: the physical location of findings about accounts and server
    /// variables. [`DEFAULT_INVENTORY_URI`] when `None`.
    pub inventory_uri: Option<String>,
    /// When the scan started and ended (RFC 3339, UTC), for
    /// `invocations[0]`; nothing else in the log depends on time.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// The SARIF level of a severity (see [`level_for`]).
pub fn result_level(sev: Severity) -> ResultLevel {
    match sev {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

/// The report as one SARIF run. `rules` are the rules that ran;
/// `driver.rules` lists them and any rule id a finding names that `rules`
/// lacks, sorted by id (so the shards of a scan merge into exactly the
/// whole scan's list), and every result's `ruleIndex` points into it.
pub fn to_sarif(report: &ScanReport, rules: &[&RuleMeta], opts: &SarifOptions) -> Sarif {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    // The engine already sorts; sorting again keeps the log independent of
    // whoever built the report (a hand-edited JSON, another host order).
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    let (descriptors, index) = descriptors(rules, &findings);
    let hosts: BTreeMap<(&str, &str), &HostSummary> = report
        .hosts
        .iter()
        .map(|h| ((h.environment.as_str(), h.name.as_str()), h))
        .collect();
    let inventory = opts
        .inventory_uri
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .map_or_else(|| DEFAULT_INVENTORY_URI.to_string(), encode_inventory_uri);
    // A shard's pending findings are located like the others, for merge.
    let pending: Vec<&Finding> = report.pending.iter().map(|p| &p.finding).collect();
    let located: Vec<&Finding> = findings.iter().chain(&pending).copied().collect();
    let places = Places::new(&located, hosts, inventory);

    let results: Vec<SarifResult> = findings
        .iter()
        .map(|f| {
            let rule_index = index.get(f.rule_id.as_str()).copied().unwrap_or_default();
            result(f, rule_index, &places)
        })
        .collect();

    let mut driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(report.tool.version.clone())
        .rules(descriptors)
        .build();
    if is_semver(&report.tool.version) {
        driver.semantic_version = Some(report.tool.version.clone());
    }
    if !INFORMATION_URI.is_empty() {
        driver.information_uri = Some(INFORMATION_URI.to_string());
    }

    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation(report, opts)])
        .properties(
            PropertyBag::builder()
                .additional_properties(
                    [("as_of".to_string(), json!(report.as_of))]
                        .into_iter()
                        .chain(
                            report
                                .scope
                                .as_ref()
                                .map(|s| ("scope".to_string(), json!(s))),
                        )
                        .chain((!report.pending.is_empty()).then(|| {
                            let pending: Vec<Value> = report
                                .pending
                                .iter()
                                .map(|p| {
                                    let i = index.get(p.finding.rule_id.as_str()).copied();
                                    json!({
                                        "key": p.key,
                                        "result": result(&p.finding, i.unwrap_or_default(), &places),
                                    })
                                })
                                .collect();
                            (PENDING_KEY.to_string(), Value::Array(pending))
                        }))
                        .collect::<BTreeMap<_, _>>(),
                )
                .build(),
        )
        .build();
    if !places.bases.by_host.is_empty() {
        run.original_uri_base_ids = Some(places.bases.original_uri_base_ids());
    }
    if let Some(category) = opts.category.as_deref().filter(|c| !c.is_empty()) {
        run.automation_details = Some(RunAutomationDetails::builder().id(category).build());
    }

    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// [`to_sarif`] as pretty JSON with a trailing newline.
pub fn to_sarif_string(report: &ScanReport, rules: &[&RuleMeta], opts: &SarifOptions) -> String {
    let sarif = to_sarif(report, rules, opts);
    // The SARIF model holds only strings, numbers and string-keyed maps.
    let mut out =
        serde_json::to_string_pretty(&sarif).expect("a SARIF log always serializes to JSON");
    out.push('\n');
    out
}

/// `driver.rules` and the index of each rule id in it.
fn descriptors<'a>(
    rules: &'a [&RuleMeta],
    findings: &[&'a Finding],
) -> (Vec<ReportingDescriptor>, BTreeMap<&'a str, usize>) {
    let mut by_id: BTreeMap<&str, ReportingDescriptor> = BTreeMap::new();
    for meta in rules {
        by_id
            .entry(meta.id.as_ref())
            .or_insert_with(|| descriptor(meta));
    }
    // A finding of a rule the caller did not describe (a report read back
    // from JSON by an older catalogue) still gets a descriptor, so every
    // result has a valid ruleIndex; its severity is the worst seen.
    let mut unknown: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in findings {
        if !by_id.contains_key(f.rule_id.as_str()) {
            let worst = unknown.entry(f.rule_id.as_str()).or_insert(f.severity);
            *worst = (*worst).max(f.severity);
        }
    }
    for (id, severity) in unknown {
        by_id.insert(id, unknown_descriptor(id, severity));
    }
    let index = by_id.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    (by_id.into_values().collect(), index)
}

fn descriptor(meta: &RuleMeta) -> ReportingDescriptor {
    let markdown = help_markdown(meta);
    let text = markdown_to_text(&markdown);
    let mut d = ReportingDescriptor::builder()
        .id(meta.id.to_string())
        .name(meta.name.to_string())
        .short_description(
            MultiformatMessageString::builder()
                .text(meta.summary.to_string())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(full_description(meta))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(text)
                .markdown(markdown)
                .build(),
        )
        .default_configuration(default_configuration(meta.severity))
        .properties(rule_properties(tags(meta), meta.severity))
        .build();
    d.help_uri = meta
        .references
        .iter()
        .find(|r| r.starts_with("https://") || r.starts_with("http://"))
        .map(|r| r.to_string());
    d
}

fn unknown_descriptor(id: &str, severity: Severity) -> ReportingDescriptor {
    let summary = format!("findings of rule {id}, whose metadata this sslaudit does not have");
    ReportingDescriptor::builder()
        .id(id)
        .name(id)
        .short_description(
            MultiformatMessageString::builder()
                .text(summary.clone())
                .build(),
        )
        .full_description(MultiformatMessageString::builder().text(summary).build())
        .default_configuration(default_configuration(severity))
        .properties(rule_properties(
            vec!["security".into(), "tls".into(), family(id).into()],
            severity,
        ))
        .build()
}

fn default_configuration(severity: Severity) -> ReportingConfiguration {
    ReportingConfiguration::builder()
        .level(level_for(severity))
        .build()
}

fn rule_properties(tags: Vec<String>, severity: Severity) -> PropertyBag {
    PropertyBag::builder()
        .tags(tags)
        .additional_properties(BTreeMap::from([
            ("precision".to_string(), json!("high")),
            (
                "security-severity".to_string(),
                json!(security_severity(severity)),
            ),
        ]))
        .build()
}

/// `security`, `tls`, the family (`mysql` for SSLxxx, `scan` for SCANxxx,
/// `rule-pack` for user-defined ids), `cis` when a CIS control is cited,
/// then the mapped controls (`NIST-800-53:SC-8(1)`, `PCI-DSS-4.0:4.2.1`).
fn tags(meta: &RuleMeta) -> Vec<String> {
    let mut tags = vec![
        "security".to_string(),
        "tls".to_string(),
        family(&meta.id).to_string(),
    ];
    if meta.references.iter().any(|r| r.starts_with("CIS"))
        || meta.controls.iter().any(|c| c.framework.starts_with("CIS"))
    {
        tags.push("cis".to_string());
    }
    for control in meta.controls {
        let tag = control.tag();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

fn family(id: &str) -> &'static str {
    let numbered = |prefix: &str| {
        id.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    if numbered("SSL") {
        "mysql"
    } else if numbered("SCAN") {
        "scan"
    } else {
        "rule-pack"
    }
}

/// The help as written, plus the references when the help does not list them.
fn help_markdown(meta: &RuleMeta) -> String {
    let mut md = meta.help.trim_end().to_string();
    if md.is_empty() {
        md = meta.summary.to_string();
    }
    if !meta.references.is_empty() && !md.contains("## References") {
        md.push_str("\n\n## References\n\n");
        for r in meta.references.iter() {
            md.push_str("- ");
            md.push_str(r);
            md.push('\n');
        }
    }
    md.truncate(md.trim_end().len());
    md.push('\n');
    md
}

/// Summary, then the first paragraph of "What it checks", cut to GitHub's limit.
fn full_description(meta: &RuleMeta) -> String {
    let mut text = meta.summary.trim().to_string();
    if let Some(paragraph) = first_paragraph(&meta.help, "What it checks") {
        if !text.is_empty() {
            text.push_str(". ");
        }
        text.push_str(&strip_inline_markdown(&paragraph));
    }
    truncate_chars(&text, MAX_FULL_DESCRIPTION_CHARS)
}

/// The first paragraph under the heading titled `title` (any level), joined
/// into one line.
fn first_paragraph(markdown: &str, title: &str) -> Option<String> {
    let mut lines = markdown.lines().skip_while(|l| {
        let t = l.trim();
        !(t.starts_with('#') && t.trim_start_matches('#').trim().eq_ignore_ascii_case(title))
    });
    lines.next()?;
    let paragraph: Vec<&str> = lines
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    (!paragraph.is_empty()).then(|| paragraph.join(" "))
}

fn strip_inline_markdown(s: &str) -> String {
    s.replace("**", "").replace('`', "")
}

/// Plain text for viewers without Markdown: headings lose their `#`s, code
/// fences and inline marks go, everything else stays as written.
fn markdown_to_text(markdown: &str) -> String {
    let mut out = String::new();
    for line in markdown.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            continue;
        }
        if t.starts_with('#') {
            out.push_str(t.trim_start_matches('#').trim());
        } else {
            out.push_str(&strip_inline_markdown(line));
        }
        out.push('\n');
    }
    out
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// `MAJOR.MINOR.PATCH[-pre][+build]` with numeric core parts.
fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Where results point: the hosts' base ids for their files, their
/// declarations and file extents, and the fallback for hosts without one.
struct Places<'a> {
    bases: HostBases,
    hosts: BTreeMap<(&'a str, &'a str), &'a HostSummary>,
    inventory: String,
}

impl<'a> Places<'a> {
    fn new(
        findings: &[&Finding],
        hosts: BTreeMap<(&'a str, &'a str), &'a HostSummary>,
        inventory: String,
    ) -> Self {
        let mut places = Places {
            bases: HostBases {
                by_host: BTreeMap::new(),
            },
            hosts,
            inventory,
        };
        let on_file: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| places.file_region(f).is_some())
            .collect();
        places.bases = HostBases::new(&on_file);
        places
    }

    fn host(&self, f: &Finding) -> Option<&HostSummary> {
        self.hosts
            .get(&(f.environment.as_str(), f.host.as_str()))
            .copied()
    }

    /// The region of a finding that points into a file: its line, or the
    /// whole file. `None` for a path the host does not have: such a finding
    /// points at the host's declaration instead.
    fn file_region(&self, f: &Finding) -> Option<Region> {
        let path = file_of(f)?;
        if let Some(l) = f.location.line.filter(|l| *l >= 1) {
            return Some(Region::builder().start_line(i64::from(l)).build());
        }
        let extent = self.host(f).and_then(|h| h.files.get(path));
        match extent {
            Some(FileExtent::Lines(n)) if *n >= 1 => Some(
                Region::builder()
                    .start_line(1)
                    .end_line(i64::from(*n))
                    .build(),
            ),
            Some(FileExtent::Lines(_)) => {
                Some(Region::builder().byte_offset(0).byte_length(0).build())
            }
            Some(FileExtent::Bytes(n)) => Some(
                Region::builder()
                    .byte_offset(0)
                    .byte_length(i64::try_from(*n).unwrap_or(i64::MAX))
                    .build(),
            ),
            Some(FileExtent::Absent) => None,
            // A report without extents (hand-made, or from before they
            // were recorded): the file's start.
            None => Some(Region::builder().start_line(1).build()),
        }
    }

    /// The line that declares the finding's host, or the inventory's first.
    fn declaration(&self, f: &Finding) -> PhysicalLocation {
        let declared = self.host(f).and_then(|h| h.declared_at.as_ref());
        let (uri, line) = match declared.and_then(|d| Some((d.file.as_deref()?, d.line))) {
            Some((file, line)) => (file_uri(file), line.unwrap_or(1).max(1)),
            None => (self.inventory.clone(), 1),
        };
        PhysicalLocation::builder()
            .artifact_location(ArtifactLocation::builder().uri(uri).build())
            .region(Region::builder().start_line(i64::from(line)).build())
            .build()
    }
}

/// The uriBaseId of each host that has a finding pointing into one of its files.
pub(crate) struct HostBases {
    pub(crate) by_host: BTreeMap<String, String>,
}

impl HostBases {
    fn new(findings: &[&Finding]) -> Self {
        Self::of_hosts(findings.iter().map(|f| f.host.as_str()).collect())
    }

    /// The base ids of these hosts (also what `merge` recomputes).
    pub(crate) fn of_hosts(hosts: BTreeSet<&str>) -> Self {
        let mut by_host = BTreeMap::new();
        let mut taken = BTreeSet::new();
        for host in hosts {
            let sanitized: String = host
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let base = format!("HOST_{sanitized}");
            // `db-1` and `db_1` sanitize alike; hosts come sorted, so the
            // suffixes are the same on every run.
            let mut id = base.clone();
            let mut n = 2;
            while taken.contains(&id) {
                id = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(id.clone());
            by_host.insert(host.to_string(), id);
        }
        HostBases { by_host }
    }

    pub(crate) fn original_uri_base_ids(&self) -> BTreeMap<String, ArtifactLocation> {
        self.by_host
            .iter()
            .map(|(host, id)| {
                let location = ArtifactLocation::builder()
                    .uri(format!("ssh://{}/", encode(host, AUTHORITY)))
                    .description(Message::builder().text(format!("host {host}")).build())
                    .build();
                (id.clone(), location)
            })
            .collect()
    }
}

fn file_of(f: &Finding) -> Option<&str> {
    f.location.file.as_deref().filter(|p| !p.trim().is_empty())
}

fn result(f: &Finding, rule_index: usize, places: &Places<'_>) -> SarifResult {
    let mut properties = BTreeMap::from([
        ("host".to_string(), json!(f.host)),
        ("environment".to_string(), json!(f.environment)),
        ("severity".to_string(), json!(f.severity.as_str())),
    ]);
    if !f.evidence.is_empty() {
        properties.insert("evidence".to_string(), json!(f.evidence));
    }
    let fingerprint = if f.fingerprint.is_empty() {
        fingerprint(&f.rule_id, &f.environment, &f.host, &f.location)
    } else {
        f.fingerprint.clone()
    };
    let mut r = SarifResult::builder()
        .rule_id(f.rule_id.clone())
        .rule_index(i64::try_from(rule_index).unwrap_or(i64::MAX))
        .level(result_level(f.severity))
        // GitHub shows the message and the path, never the properties: without
        // the host, twenty hosts' `etc/mysql/my.cnf` alerts look alike.
        .message(
            Message::builder()
                .text(result_text(&f.environment, &f.host, &f.message))
                .build(),
        )
        .locations(vec![location(f, places)])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT_KEY.to_string(), fingerprint)]))
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    if let Some(s) = &f.suppressed {
        r.suppressions = Some(vec![suppression(s)]);
    }
    r
}

/// A result's message: the finding's, after its environment and host.
pub(crate) fn result_text(environment: &str, host: &str, message: &str) -> String {
    format!("{environment}/{host}: {message}")
}

fn location(f: &Finding, places: &Places<'_>) -> SarifLocation {
    let in_file = places
        .file_region(f)
        .zip(file_of(f))
        .zip(places.bases.by_host.get(&f.host));
    let points_into_file = in_file.is_some();
    let physical = match in_file {
        Some(((region, path), base)) => PhysicalLocation::builder()
            .artifact_location(
                ArtifactLocation::builder()
                    .uri(encode_relative_path(path.trim_start_matches('/')))
                    .uri_base_id(base.clone())
                    .build(),
            )
            .region(region)
            .build(),
        None => places.declaration(f),
    };
    let object = f.location.object.as_deref().filter(|o| !o.is_empty());
    let mut logical = Vec::new();
    match object {
        Some(object) => logical.push(host_object(&f.host, object)),
        // Neither file nor object: the host itself (an unreachable host).
        None if file_of(f).is_none() => logical.push(host_object(&f.host, "")),
        None => {}
    }
    // A path that is not on the host: named, since the physical location
    // is the host's declaration.
    if let Some(path) = file_of(f).filter(|_| !points_into_file) {
        logical.push(missing_file(&f.host, path));
    }
    let mut location = SarifLocation::builder().physical_location(physical).build();
    if !logical.is_empty() {
        location.logical_locations = Some(logical);
    }
    location
}

/// The kind of the logical location naming a file a finding is about that
/// the host does not have.
pub(crate) const MISSING_FILE_KIND: &str = "file";

fn missing_file(host: &str, path: &str) -> LogicalLocation {
    LogicalLocation::builder()
        .name(path)
        .fully_qualified_name(format!(
            "ssh://{}/{}",
            encode(host, AUTHORITY),
            encode_relative_path(path.trim_start_matches('/'))
        ))
        .kind(MISSING_FILE_KIND)
        .build()
}

fn host_object(host: &str, object: &str) -> LogicalLocation {
    LogicalLocation::builder()
        .name(if object.is_empty() { host } else { object })
        .fully_qualified_name(format!("mysql://{host}/{object}"))
        .kind("resource")
        .build()
}

fn suppression(s: &Suppression) -> SarifSuppression {
    let mut out = SarifSuppression::builder()
        .kind("external")
        .status("accepted")
        .justification(s.justification.clone())
        .build();
    if let Some(expires) = &s.expires {
        out.properties = Some(
            PropertyBag::builder()
                .additional_properties(BTreeMap::from([("expires".to_string(), json!(expires))]))
                .build(),
        );
    }
    out
}

fn invocation(report: &ScanReport, opts: &SarifOptions) -> Invocation {
    let mut hosts: Vec<&HostSummary> = report.hosts.iter().collect();
    hosts.sort_by(|a, b| (&a.environment, &a.name).cmp(&(&b.environment, &b.name)));
    let execution: Vec<Notification> = hosts
        .iter()
        .flat_map(|h| host_notifications(report, h))
        .collect();
    let configuration: Vec<Notification> = report
        .expired_waivers
        .iter()
        .map(|w| {
            let object = w.object.as_deref().map(|o| format!(" ({o})")).unwrap_or_default();
            notification(
                "warning",
                format!(
                    "waiver for {} on {}{object} expired on {} ({}): its findings are reported again",
                    w.rule, w.host, w.expires, w.origin
                ),
                None,
            )
        })
        .collect();
    let mut inv = Invocation::builder().execution_successful(true).build();
    inv.start_time_utc = opts.start_time.clone();
    inv.end_time_utc = opts.end_time.clone();
    inv.tool_execution_notifications = (!execution.is_empty()).then_some(execution);
    inv.tool_configuration_notifications = (!configuration.is_empty()).then_some(configuration);
    inv
}

/// An error for an unreachable host, a warning for a partially scanned one
/// (quoting the SCAN001/SCAN002 finding when there is one), and a note for
/// a host audited from the wire alone, naming the rules that did not judge
/// it.
fn host_notifications(report: &ScanReport, host: &HostSummary) -> Vec<Notification> {
    let mut out = Vec::new();
    let status = match host.status {
        HostStatus::Scanned => None,
        HostStatus::Unreachable => Some(("error", "SCAN001", "was not scanned")),
        HostStatus::Partial => Some(("warning", "SCAN002", "was scanned partially")),
    };
    if let Some((level, rule, what)) = status {
        let reasons: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| {
                f.rule_id == rule && f.host == host.name && f.environment == host.environment
            })
            .map(|f| f.message.as_str())
            .collect();
        let mut message = format!("host {} ({}) {what}", host.name, host.environment);
        if !reasons.is_empty() {
            message.push_str(": ");
            message.push_str(&reasons.join("; "));
        }
        out.push(host_note(host, level, message));
    }
    if !host.access.is_ssh() {
        let ids: Vec<&str> = host
            .not_applicable
            .iter()
            .map(|n| n.rule.as_str())
            .collect();
        out.push(host_note(
            host,
            "note",
            format!(
                "host {} ({}) was audited from the wire (no SSH: SQL and the TLS probe); \
                 the rules that read files on the host did not judge it: {}",
                host.name,
                host.environment,
                if ids.is_empty() {
                    "none".to_string()
                } else {
                    ids.join(", ")
                }
            ),
        ));
    }
    out
}

/// A notification about a host, saying which (`merge` orders shards'
/// notifications by it).
fn host_note(host: &HostSummary, level: &str, message: String) -> Notification {
    let mut n = notification(level, message, Some(host_object(&host.name, "")));
    n.properties = Some(
        PropertyBag::builder()
            .additional_properties(BTreeMap::from([
                ("environment".to_string(), json!(host.environment)),
                ("host".to_string(), json!(host.name)),
            ]))
            .build(),
    );
    n
}

fn notification(level: &str, message: String, at: Option<LogicalLocation>) -> Notification {
    let mut n = Notification::builder()
        .level(Value::from(level))
        .message(Message::builder().text(message).build())
        .build();
    n.locations = at.map(|l| vec![SarifLocation::builder().logical_locations(vec![l]).build()]);
    n
}

/// RFC 3986 sub-delimiters, which URI components may hold as they are.
const SUB_DELIMS: &[u8] = b"!$&'()*+,;=";

/// What an authority (`ssh://HOST/`) percent-encodes: all but unreserved
/// characters, sub-delimiters, `:` and the brackets of an IPv6 literal.
const AUTHORITY: &AsciiSet = &keep(NON_ALPHANUMERIC, b"-._~:[]");

/// What a relative reference's path percent-encodes: all but unreserved
/// characters, sub-delimiters, `/` and `@`; `:`, which in its first segment
/// would read as a scheme, is encoded.
const RELATIVE_PATH: &AsciiSet = &keep(NON_ALPHANUMERIC, b"-._~/@");

/// An absolute path's segments may hold `:`.
const ABSOLUTE_PATH: &AsciiSet = &RELATIVE_PATH.remove(b':');

/// `set` without the sub-delimiters and `extra`.
const fn keep(set: &AsciiSet, extra: &[u8]) -> AsciiSet {
    let mut set = set.remove(b'!');
    let mut i = 0;
    while i < SUB_DELIMS.len() {
        set = set.remove(SUB_DELIMS[i]);
        i += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        set = set.remove(extra[i]);
        i += 1;
    }
    set
}

fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

fn encode_relative_path(path: &str) -> String {
    encode(path, RELATIVE_PATH)
}

/// A path on the scanning machine as a URI reference: `file:///abs/path`
/// for an absolute path (a relative reference must not start with `/`), a
/// percent-encoded relative reference otherwise.
fn file_uri(path: &str) -> String {
    let path = without_dot_segments(path);
    if path.starts_with('/') {
        format!("file://{}", encode(&path, ABSOLUTE_PATH))
    } else {
        encode_relative_path(&path)
    }
}

/// `a/./b/../c` -> `a/c`: URIs must not hold dot segments (RFC 3986 5.2.4;
/// SARIF validators reject them). A relative path keeps the `..` that
/// climb above its start.
fn without_dot_segments(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut kept: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => match kept.last() {
                Some(&last) if last != ".." => {
                    kept.pop();
                }
                _ if absolute => {}
                _ => kept.push(".."),
            },
            seg => kept.push(seg),
        }
    }
    let joined = kept.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// A URI (`scheme:...`) is kept as given; a path is a `file://` URI or a
/// relative reference (see [`file_uri`]).
fn encode_inventory_uri(uri: &str) -> String {
    let has_scheme = uri.split_once(':').is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    });
    if has_scheme {
        uri.to_string()
    } else {
        file_uri(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "## What it checks\n\nThat `have_ssl` is\n**YES** on every server.\n\nMore.\n\n## Why it matters\n\nx\n\n## How to fix\n\n```sh\n/etc/init.d/mysql restart\n```\n";

    #[test]
    fn first_paragraph_of_a_section() {
        assert_eq!(
            first_paragraph(HELP, "What it checks").as_deref(),
            Some("That `have_ssl` is **YES** on every server.")
        );
        assert_eq!(first_paragraph(HELP, "Nowhere"), None);
        assert_eq!(
            first_paragraph("## What it checks\n\n## Next\n", "What it checks"),
            None
        );
    }

    #[test]
    fn full_description_is_cut_at_the_limit() {
        let long = format!("## What it checks\n\n{}\n", "word ".repeat(400));
        let meta = RuleMeta::new("SSL900", "x", Severity::Low, "summary", "", &[]);
        let meta = RuleMeta {
            help: long.into(),
            ..meta
        };
        let d = full_description(&meta);
        assert_eq!(d.chars().count(), MAX_FULL_DESCRIPTION_CHARS);
        assert!(d.starts_with("summary. word word"));
        assert!(d.ends_with('…'));
    }

    #[test]
    fn help_text_drops_markdown_syntax() {
        let text = markdown_to_text(HELP);
        assert!(text.starts_with("What it checks\n\nThat have_ssl is\nYES on every server."));
        assert!(text.contains("/etc/init.d/mysql restart\n"));
        assert!(!text.contains("```"));
    }

    #[test]
    fn families() {
        assert_eq!(family("SSL001"), "mysql");
        assert_eq!(family("SCAN002"), "scan");
        assert_eq!(family("ACME-7"), "rule-pack");
        assert_eq!(family("SSL"), "rule-pack");
        assert_eq!(family("SSLX1"), "rule-pack");
    }

    #[test]
    fn semver_detection() {
        assert!(is_semver("0.1.0"));
        assert!(is_semver("1.2.3-rc.1+build.5"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("dev"));
        assert!(!is_semver("1.x.0"));
    }

    #[test]
    fn file_uris_have_no_dot_segments() {
        assert_eq!(
            file_uri("/work/scanner/../fixtures/./x.toml"),
            "file:///work/fixtures/x.toml"
        );
        assert_eq!(file_uri("/../x"), "file:///x");
        assert_eq!(file_uri("./fleet/../fleet.yaml"), "fleet.yaml");
        assert_eq!(file_uri("../shared/fleet.yaml"), "../shared/fleet.yaml");
        assert_eq!(file_uri("/srv/a b.yaml"), "file:///srv/a%20b.yaml");
        // Sub-delimiters, `@` and `:` (absolute only) stay; the rest, bytes
        // of UTF-8 included, is encoded in uppercase hex.
        assert_eq!(
            file_uri("/srv/a:b@c,d;e=f!(g)'h*+$&~"),
            "file:///srv/a:b@c,d;e=f!(g)'h*+$&~"
        );
        assert_eq!(
            file_uri("inv/a:b ü#?%.yaml"),
            "inv/a%3Ab%20%C3%BC%23%3F%25.yaml"
        );
        assert_eq!(encode("[::1]:22@h/x", AUTHORITY), "[::1]:22%40h%2Fx");
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(encode_relative_path("etc/mysql/my.cnf"), "etc/mysql/my.cnf");
        assert_eq!(
            encode_relative_path("etc/my cnf/a:b%"),
            "etc/my%20cnf/a%3Ab%25"
        );
        assert_eq!(encode_relative_path("home/zoë"), "home/zo%C3%AB");
        assert_eq!(encode("db master", AUTHORITY), "db%20master");
        assert_eq!(encode_inventory_uri("fleet/prod.toml"), "fleet/prod.toml");
        assert_eq!(encode_inventory_uri("file:///srv/x"), "file:///srv/x");
        assert_eq!(encode_inventory_uri("C:\\inv"), "C%3A%5Cinv");
    }

    fn finding_at(host: &str, file: &str) -> Finding {
        Finding::new(
            "SSL001",
            Severity::High,
            host,
            "production",
            "m",
            sslaudit_rules::Location::file(file, None),
        )
    }

    #[test]
    fn colliding_host_names_get_distinct_base_ids() {
        let a = finding_at("db-1", "/etc/my.cnf");
        let b = finding_at("db_1", "/etc/my.cnf");
        let c = finding_at("db.1", "/etc/my.cnf");
        let bases = HostBases::new(&[&c, &a, &b]);
        let ids: BTreeSet<&String> = bases.by_host.values().collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(bases.by_host["db-1"], "HOST_db_1");
        assert_eq!(bases.by_host["db.1"], "HOST_db_1_2");
        assert_eq!(bases.by_host["db_1"], "HOST_db_1_3");
    }
}
