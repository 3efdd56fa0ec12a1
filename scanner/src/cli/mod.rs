//! Command-line interface: argument parsing and the subcommands.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};

mod keygen;
mod live;
#[cfg(test)]
mod next_steps_tests;
mod remediate;
mod rotate;
mod run;
mod serve;
mod source;
mod state;
mod values;

use source::SourceArgs;
use sslaudit_reports::baseline::{self, Baseline, Comparison};
use sslaudit_reports::markdown::{self, GateVerdict, MarkdownOptions};
use sslaudit_reports::merge::{self, MergeOptions};
use sslaudit_reports::{html, json, junit, oscal, prometheus, sarif, terminal};
use sslaudit_rules::Finding;
use sslaudit_rules::policy::{Policy, parse_date};
use sslaudit_rules::readiness::NextCa;
use sslaudit_rules::report::scope_digest;
use sslaudit_rules::{Evidence, Rule, RuleMeta, pack};
use sslaudit_scanner::engine::{self, Gate, RuleSet};
use values::{ColorWhen, FailOn};

#[derive(Debug, Parser)]
#[command(
    name = "sslaudit",
    version,
    about = "Audit the SSL/TLS posture of MySQL and MariaDB fleets",
    long_about = "Audit the SSL/TLS posture of MySQL and MariaDB fleets: database masters, \
replicas and the application hosts that connect to them. Runs the rule catalogue \
(`sslaudit rules`) over a snapshot of the fleet and reports findings for people \
(terminal), CI gates (exit code, SARIF) and machines (JSON).",
    after_help = "Examples:\n  sslaudit scan --snapshot fixtures/demo-fleet --sarif out.sarif --json out.json\n  \
sslaudit scan --snapshot evidence/ --baseline main.json --fail-on-new --markdown \"$GITHUB_STEP_SUMMARY\"\n  \
sslaudit merge production.json staging.json -o fleet.json\n  sslaudit rules\n  sslaudit explain SSL004"
)]
pub struct Cli {
    /// More output on stderr: -v for progress notes, -vv for debugging (RUST_LOG overrides)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan a fleet and report findings
    #[command(
        after_help = "Examples:\n  sslaudit scan --snapshot fixtures/demo-fleet\n  \
sslaudit scan --snapshot evidence/ --as-of 2026-11-30 --json out.json --sarif out.sarif --fail-on medium\n  \
sslaudit scan --snapshot evidence/ --policy policy.toml --rules our-rules.toml --limit 'production'\n  \
sslaudit scan --snapshot evidence/ --sarif sslaudit.sarif --html report.html --markdown \"$GITHUB_STEP_SUMMARY\" --junit junit.xml\n  \
sslaudit scan --snapshot evidence/ --baseline main.json --fail-on-new --json current.json\n\n\
Exit status: 0 the gate passed; 1 a finding at or above --fail-on (only new ones with \
--fail-on-new), or a host that could not be scanned (unless --fail-on never); 2 the scan \
could not run.\n\
Expired waivers are warned about on stderr. See docs/ci.md for CI jobs."
    )]
    Scan(Box<ScanArgs>),
    /// Scan on a schedule and serve the results: /metrics for Prometheus, /healthz, / the HTML report
    #[command(
        after_help = "Examples:\n  sslaudit serve --inventory fleet.yaml --listen 0.0.0.0:9947 --interval 10m\n  \
sslaudit serve --inventory fleet.yaml --next-ca production=rds-ca-rsa2048-g1.pem --policy policy.toml\n\n\
A scrape never starts a scan and never waits for one: /metrics serves the last good scan's \
metrics (docs/metrics.md) with its time (sslaudit_last_scan_timestamp_seconds), and a failed scan \
keeps them. /healthz is 503 while the last scan failed or is older than three intervals."
    )]
    Serve(Box<serve::ServeArgs>),
    /// List the rule catalogue
    #[command(
        after_help = "Examples:\n  sslaudit rules\n  sslaudit rules --json\n  sslaudit rules --markdown\n  sslaudit rules --rules our-rules.toml"
    )]
    Rules {
        /// Print JSON instead of a table
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print a Markdown table (the README's rule table)
        #[arg(long)]
        markdown: bool,
        /// Also list the rules of these rule packs
        #[arg(long = "rules", value_name = "FILE")]
        packs: Vec<PathBuf>,
    },
    /// Explain a rule: what it checks, why it matters, how to fix it
    #[command(
        after_help = "Examples:\n  sslaudit explain SSL004\n  sslaudit explain certificate-expiry"
    )]
    Explain {
        /// Rule id (SSL004) or name (certificate-expiry)
        rule: String,
        /// Also look in these rule packs
        #[arg(long = "rules", value_name = "FILE")]
        packs: Vec<PathBuf>,
    },
    /// Merge the JSON reports, or the SARIF logs, of several shards of one scan
    #[command(
        long_about = "Merge the JSON reports, or the SARIF logs, of several shards of one scan \
(the N jobs of --shard K/N, or one job per environment with --limit) into exactly what one scan \
of them all writes. The inputs must share the sslaudit version, as_of, inventory and policy; \
shards must share N and --limit, each given once, none missing. JSON: the union of hosts, \
findings, expired waivers and certificates, sorted, without repeats. SARIF: one run whose rules \
are the union sorted by id, with every result's ruleIndex rewritten, results sorted, host base \
ids recomputed and one invocation. The shards' pending findings (server keys to compare across \
environments) are completed over all of them, as one scan completes them. The kind is read from \
the content; JSON and SARIF cannot be mixed. With --fail-on, the merged report is gated as a \
scan is.",
        after_help = "Examples:\n  sslaudit merge s1.json s2.json s3.json -o fleet.json\n  \
sslaudit merge production.sarif staging.sarif -o fleet.sarif --category sslaudit/fleet/\n  \
sslaudit merge s1.json s2.json s3.json -o fleet.json --fail-on high\n\n\
Exit status: 0 merged (and with --fail-on, the gate passed), 1 the gate failed, 2 an input \
could not be read or the inputs do not belong together."
    )]
    Merge {
        /// The reports to merge: sslaudit JSON reports, or sslaudit SARIF logs
        #[arg(required = true, value_name = "FILE")]
        inputs: Vec<PathBuf>,
        /// Where to write the merged report (`-` for stdout)
        ///
        /// Example: -o fleet.sarif
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// SARIF only: automationDetails.id of the merged run (required when the inputs' categories differ)
        ///
        /// Example: --category sslaudit/fleet/
        #[arg(long, value_name = "ID")]
        category: Option<String>,
        /// Gate the merged report: lowest severity that fails, or never
        ///
        /// Judged as `scan --fail-on` judges a scan: waived findings never count, a host
        /// that could not be scanned always fails unless `never`. Without it, merge does
        /// not gate. Example: --fail-on high
        #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true)]
        fail_on: Option<FailOn>,
    },
    /// Collect evidence from live hosts into a snapshot folder (secrets excluded)
    #[command(
        long_about = "Collect evidence from live hosts into a snapshot folder: per host the files \
the rules need (secret values redacted in place, private keys described by derived facts only), \
the SQL facts and the TLS probe, plus snapshot.toml (tool, collection time) and SHA256SUMS. \
Audits keep it as evidence; `sslaudit scan --snapshot DIR --as-of <collection day>` gives \
the same findings as the live scan. With --packed the same content is one file (a tar; \
docs/snapshot-format.md, \"The packed form\"), written beside its destination and renamed \
into place once complete.",
        after_help = "Examples:\n  sslaudit collect --inventory fleet.yaml --out evidence/2026-11-30\n  \
sslaudit collect --inventory fleet.yaml --packed --out evidence/2026-11-30.sslsnap\n  \
sslaudit collect --host root@127.0.10.1 --identity-file id_ed25519 --known-hosts known_hosts --out ev/"
    )]
    Collect {
        #[command(flatten)]
        source: SourceArgs,
        /// The snapshot folder to create (must not exist or be empty), or with --packed the file (must not exist)
        #[arg(long, short = 'o', value_name = "DIR|FILE")]
        out: PathBuf,
        /// Write one packed file instead of a folder (for large fleets: one file, not a million)
        #[arg(long)]
        packed: bool,
        /// No summary line
        #[arg(short, long)]
        quiet: bool,
    },
    /// Convert a snapshot between its folder and packed forms
    #[command(
        subcommand,
        after_help = "Examples:\n  sslaudit snapshot pack evidence/2026-11-30 -o evidence/2026-11-30.sslsnap\n  \
sslaudit snapshot unpack evidence/2026-11-30.sslsnap -o /tmp/evidence\n\n\
Both forms hold the same content and SHA256SUMS; every --snapshot reads either \
(docs/snapshot-format.md, \"The packed form\")."
    )]
    Snapshot(SnapshotCommand),
    /// Probe the TLS of MySQL ports, without credentials
    #[command(
        long_about = "Probe the TLS of MySQL ports without credentials: speak the MySQL protocol \
up to the SSLRequest, complete a TLS handshake, record the greeting's version, the negotiated \
protocol and cipher, the presented chain, and which protocol versions the server accepts \
(TLS 1.0/1.1 included), whether the server asks for a client certificate, and how it answers \
a plaintext login attempt for the user sslaudit-probe-nonexistent with no credential \
(docs/scanner-queries.md, \"What the probe sends\"), then judge them with the rules (SSL004, SSL008, SSL009, SSL015, SSL016, \
SSL018...). Like sslscan --starttls-mysql, with findings.",
        after_help = "Examples:\n  sslaudit probe 127.0.0.1:3306\n  sslaudit probe 127.0.10.1 127.0.10.2:3307 --timeout 3s --json probe.json\n\n\
Exit status: 0 the gate passed, 1 findings at or above --fail-on, 2 bad arguments."
    )]
    Probe {
        /// Servers to probe: HOST[:PORT] (default port 3306)
        #[arg(required = true, value_name = "HOST[:PORT]")]
        targets: Vec<String>,
        /// Per connection timeout (`3s`, `500ms`, `1m`)
        #[arg(long, value_name = "DURATION", default_value = "5s")]
        timeout: String,
        /// Skip testing which protocol versions each server accepts
        #[arg(long)]
        no_versions: bool,
        /// Lowest severity that fails the run, or never
        #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true, default_value_t = FailOn::High)]
        fail_on: FailOn,
        /// Write the JSON report here
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Generate a CA, server and client certificates in the layout's shape, into a local folder
    #[command(
        long_about = "Generate a CA (or use an existing one), a server certificate per database \
server (its name as SAN) and a client certificate per MySQL user, laid out as the layout \
expects (engineyard: <datadir>/{root.crt,server.crt,server.key}, /db/mysql/keygen/<user>/ \
{root.crt,mysql.crt,mysql.key}), under DIR/<server-name>/. The files are written by the \
remediation engine from a plan: the plan is printed first, private keys are created 0600 and \
never appear in the plan, and the run is journaled. Default validity 1825 days, as the seed's \
db_user_ssl_keys.sh.",
        after_help = "Examples:\n  sslaudit keygen --out keys/ --server-name db-master --server-name db-replica-1 --user deploy --datadir /db/mysql/5.7/data\n  \
sslaudit keygen --out keys/ --server-name db-master --user deploy --ca-cert ca.crt --ca-key ca.key --layout debian\n  \
sslaudit keygen --out keys/ --server-name db-master --datadir /db/mysql/5.7/data --plan-out plan.json"
    )]
    Keygen(Box<keygen::KeygenArgs>),
    /// Rotate an environment's server and user keys without downtime (the seed's Key Maintenance, made safe)
    #[command(
        long_about = "Rotate the server and user keys of one environment, keeping its CA (a leaf \
rotation: clients and replicas keep trusting the servers, no downtime). The environment is \
scanned first and the plan printed; then, per database host, master first: the current keys \
are copied to /db/old_keys/{server,user}/<run id>/, the new key and certificate (signed where \
the CA key is: on the db_master, or --ca-cert/--ca-key files) replace the files ssl-cert and \
ssl-key name, the server loads them (FLUSH SSL on MariaDB 10.4+, ALTER INSTANCE RELOAD TLS on \
MySQL 8.0.16+, else its restart command) and must present the new certificate before the next \
host is touched; then the users' keys on the database hosts and in ~/.mysql on the application \
hosts. A rescan verifies the run; a failure rolls everything back (unless --no-rollback).",
        after_help = "Examples:\n  sslaudit rotate --inventory fleet.yaml --environment production --dry-run\n  \
sslaudit rotate --inventory fleet.yaml --environment production --yes\n  \
sslaudit rotate --inventory fleet.yaml --environment staging --plan-out rotate.json"
    )]
    Rotate(Box<rotate::RotateArgs>),
    /// Plan, apply, resume and roll back fixes of findings
    #[command(
        subcommand,
        after_help = "Examples:\n  sslaudit remediate plan --inventory fleet.yaml --rule SSL006 -o plan.json\n  \
sslaudit remediate apply plan.json --inventory fleet.yaml --dry-run\n  \
sslaudit remediate apply plan.json --inventory fleet.yaml --yes\n  \
sslaudit remediate resume rotate-1796000000-4242 --inventory fleet.yaml\n  \
sslaudit remediate rollback rotate-1796000000-4242 --inventory fleet.yaml"
    )]
    Remediate(remediate::RemediateCommand),
    /// Inventory tools
    #[command(subcommand)]
    Inventory(InventoryCommand),
    /// Print the facts the scanner builds for each host, as JSON (for debugging rules and packs)
    #[command(
        after_help = "Examples:\n  sslaudit facts --snapshot fixtures/demo-fleet --limit db-master"
    )]
    Facts {
        #[command(flatten)]
        source: SourceArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// Pack a snapshot folder into one file (docs/snapshot-format.md, "The packed form")
    #[command(
        long_about = "Pack a snapshot folder into one file with the same content: every file \
of the folder as a member of a tar, and SHA256SUMS over them all. A folder with its own \
SHA256SUMS (every collected one) is checked against it first: a file that changed, is missing \
or is not listed stops the packing. `scan --snapshot FILE` reads the file as it reads the \
folder, with the same findings. The file is written beside its destination and renamed into \
place once complete; an existing file is never replaced.",
        after_help = "Examples:\n  sslaudit snapshot pack evidence/2026-11-30 -o evidence/2026-11-30.sslsnap\n  \
sslaudit scan --snapshot evidence/2026-11-30.sslsnap --as-of 2026-11-30"
    )]
    Pack {
        /// The snapshot folder
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// The packed file to create (must not exist)
        #[arg(long, short = 'o', value_name = "FILE")]
        out: PathBuf,
    },
    /// Unpack a packed snapshot into a folder, every member checked against its SHA256SUMS
    #[command(
        long_about = "Unpack a packed snapshot into a new folder: the folder form of the same \
content, SHA256SUMS included (so `sha256sum -c SHA256SUMS` works in it). Every member is \
checked against SHA256SUMS; one that does not match stops the unpacking and names it, and no \
folder is left behind.",
        after_help = "Examples:\n  sslaudit snapshot unpack evidence/2026-11-30.sslsnap -o /tmp/evidence"
    )]
    Unpack {
        /// The packed snapshot file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The folder to create (must not exist)
        #[arg(long, short = 'o', value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum InventoryCommand {
    /// Validate an inventory and try each host's SSH and MySQL login, printing a table
    #[command(
        after_help = "Examples:\n  sslaudit inventory check --inventory fleet.yaml\n  \
sslaudit inventory check --inventory hosts.ini --limit production\n\n\
Exit status: 0 every host is ready to scan, 1 some are not, 2 the inventory is invalid."
    )]
    Check {
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// What findings are judged against: the policy, rule packs and the next
/// CAs of an announced rotation (`scan`, `serve`).
#[derive(Debug, Args)]
pub(super) struct JudgeArgs {
    /// Policy file: rule settings, thresholds and waivers (see docs/policy.md)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Rule pack with extra declarative rules (repeatable; see docs/rule-packs.md)
    #[arg(long = "rules", value_name = "FILE")]
    packs: Vec<PathBuf>,
    /// The CA servers' certificates will come from after an announced rotation (PEM; repeatable)
    ///
    /// Every client trust store the scan finds (database.yml sslca, ~/.mysql/root.crt,
    /// [client] ssl-ca) is checked against it: one that will not trust its server after the
    /// rotation is SSL021, and the reports' readiness table says per application host whether
    /// it trusts the current chain and the next CA. `ENV=FILE` is for the servers of one
    /// environment; a store must trust every next CA of its environment. Examples:
    /// --next-ca rds-ca-rsa2048-g1.pem, --next-ca production=new-ca/root.crt
    #[arg(long = "next-ca", value_name = "[ENV=]FILE")]
    next_ca: Vec<String>,
}

impl JudgeArgs {
    /// The rules (the catalogue and the packs) and the policy with its next
    /// CAs, every file read now: a bad one is an error naming it.
    pub(super) fn load(&self) -> Result<(RuleSet, Policy)> {
        let rules = RuleSet::new(load_packs(&self.packs)?);
        let mut policy = match &self.policy {
            Some(p) => Policy::load(p, &rules.ids())?,
            None => Policy::default(),
        };
        policy.next_ca = self
            .next_ca
            .iter()
            .map(|a| load_next_ca(a))
            .collect::<Result<_>>()?;
        Ok((rules, policy))
    }
}

#[derive(Debug, Args)]
struct ScanArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    judge: JudgeArgs,
    /// Judge expiry and waivers as of this date (YYYY-MM-DD) or instant (RFC 3339); default: now
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Write the JSON report here (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a SARIF 2.1.0 report here (`-` for stdout)
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// SARIF automationDetails.id, to tell apart several scans uploaded for one commit
    #[arg(long, value_name = "ID")]
    category: Option<String>,
    /// Write a JUnit XML report here (`-` for stdout): a test suite per host, a test case per rule
    ///
    /// Each active finding is a <failure>, a rule whose findings are all waived is <skipped>,
    /// an unreachable host is one failing SCAN001 test case. Above 500 hosts, a test suite per
    /// environment, each rule's case failing once with a count and its first 20 findings
    /// (docs/large-fleets.md). For GitLab's artifacts:reports:junit, Jenkins and the like.
    /// Example: --junit junit.xml
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary here (`-` for stdout): gate verdict, counts, top findings
    ///
    /// For a pull-request comment or GitHub's job summary.
    /// Example: --markdown "$GITHUB_STEP_SUMMARY"
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the HTML report here (`-` for stdout)
    ///
    /// One self-contained page: the gate verdict and the counts first, then the findings by
    /// rule and by environment, filters and the lists. For a large fleet it stays bounded:
    /// long lists are paged, and past documented limits a section lists what needs attention
    /// and counts the rest (docs/large-fleets.md). Example: --html report.html
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write Prometheus metrics here (`-` for stdout), for node_exporter's textfile collector
    ///
    /// Certificate expiry (sslaudit_cert_not_after), accepted TLS versions, findings by rule,
    /// severity and host, host status, CA-rotation readiness, and the scan's time and
    /// duration; written atomically (a reader sees the old file or the new one). Metrics,
    /// labels and alerts: docs/metrics.md.
    /// Example: --prometheus /var/lib/prometheus/node-exporter/sslaudit.prom
    #[arg(long, value_name = "FILE")]
    prometheus: Option<PathBuf>,
    /// Write OSCAL assessment results (JSON) here (`-` for stdout), for GRC tools
    ///
    /// Every host an inventory item, every finding an observation and, per NIST SP
    /// 800-53 control its rule maps to, a not-satisfied finding; waived findings are
    /// risks with their justification and expiry. UUIDs derive from the findings'
    /// fingerprints: the same state gives the same identifiers (docs/oscal.md).
    /// Example: --oscal assessment-results.json
    #[arg(long, value_name = "FILE")]
    oscal: Option<PathBuf>,
    /// Title of the HTML report and the Markdown summary
    ///
    /// Example: --title "sslaudit: production"
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// Compare with a previous scan: its JSON report or SARIF log
    ///
    /// Findings are matched by fingerprint: each is new or unchanged, and the baseline's
    /// findings that are gone are absent. The JSON report gets a `baseline` block, SARIF
    /// results a baselineState (absent ones are added with level none), the Markdown
    /// summary a column. Example: --baseline main.json
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Only findings new since --baseline fail the gate
    ///
    /// A host that could not be scanned (SCAN001) still fails, new or not, unless
    /// --fail-on never. Example: --baseline main.json --fail-on-new
    #[arg(long, requires = "baseline")]
    fail_on_new: bool,
    /// Lowest severity that fails the run, or never
    ///
    /// Waived findings never count; a host that could not be scanned always fails
    /// unless `never`. Example: --fail-on medium
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true, default_value_t = FailOn::High)]
    fail_on: FailOn,
    /// No terminal summary (reports and exit code only)
    #[arg(short, long)]
    quiet: bool,
    /// List every finding in the terminal summary
    ///
    /// By default, with more than 50 active findings the summary counts them by rule and
    /// lists the 50 worst, and every other list (trust stores that break, hosts audited from
    /// the wire, waived findings) shows its first 50 (docs/large-fleets.md). The reports
    /// written to files are not affected.
    #[arg(long, conflicts_with = "quiet")]
    all: bool,
    /// Colors in the terminal summary
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(*args),
        Command::Serve(args) => serve::serve(*args),
        Command::Rules {
            json,
            markdown,
            packs,
        } => rules(json, markdown, &packs),
        Command::Explain { rule, packs } => explain(&rule, &packs),
        Command::Merge {
            inputs,
            output,
            category,
            fail_on,
        } => merge_reports(&inputs, &output, category, fail_on.map(Gate::from)),
        Command::Facts { source } => facts(&source),
        Command::Collect {
            source,
            out,
            packed,
            quiet,
        } => live::collect(&source, &out, packed, quiet),
        Command::Snapshot(cmd) => snapshot_command(cmd),
        Command::Probe {
            targets,
            timeout,
            no_versions,
            fail_on,
            json,
        } => {
            let timeout = sslaudit_scanner::inventory::parse_duration(&timeout)
                .map_err(|e| anyhow::anyhow!("--timeout `{timeout}`: {e}"))?;
            live::probe(
                &targets,
                timeout,
                !no_versions,
                Gate::from(fail_on),
                json.as_deref(),
            )
        }
        Command::Inventory(InventoryCommand::Check { source }) => live::inventory_check(&source),
        // With --inventory, keygen plans from a scan of the environment and
        // runs like rotate does.
        Command::Keygen(args) if args.inventory.is_some() => rotate::keygen_inventory(*args),
        Command::Keygen(args) => keygen::run(*args),
        Command::Rotate(args) => rotate::rotate(*args),
        Command::Remediate(cmd) => remediate::remediate(cmd),
    }
}

/// `--as-of`: a date (midnight UTC) or an RFC 3339 instant; returns (unix, label).
fn parse_as_of(s: Option<&str>) -> Result<(i64, String)> {
    match s {
        None => {
            let now = time::OffsetDateTime::now_utc();
            let label = now
                .format(&time::format_description::well_known::Rfc3339)
                .context("formatting the current time")?;
            Ok((now.unix_timestamp(), label))
        }
        Some(s) if s.len() == 10 => {
            let t = parse_date(s).map_err(|e| anyhow::anyhow!("--as-of: {e}"))?;
            Ok((t, s.to_string()))
        }
        Some(s) => {
            let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    anyhow::anyhow!("--as-of `{s}` is neither YYYY-MM-DD nor RFC 3339: {e}")
                })?;
            Ok((t.unix_timestamp(), s.to_string()))
        }
    }
}

/// A `--next-ca [ENV=]FILE`: PEM (or DER) certificates, at least one, for
/// the servers of environment ENV or of every environment.
fn load_next_ca(arg: &str) -> Result<NextCa> {
    let (environment, path) = match arg.split_once('=') {
        Some((env, path)) if !env.is_empty() && !env.contains('/') => (Some(env.to_string()), path),
        _ => (None, arg),
    };
    let bytes = std::fs::read(path).with_context(|| format!("reading --next-ca {path}"))?;
    let certificates = sslaudit_rules::parse::x509::parse_certificates(path, &bytes)
        .map_err(|e| anyhow::anyhow!("--next-ca {path}: {e}"))?;
    if certificates.is_empty() {
        bail!("--next-ca {path}: no certificate in the file");
    }
    Ok(NextCa {
        path: path.to_string(),
        environment,
        certificates,
    })
}

/// Loads the rule packs named on the command line, in order.
fn load_packs(paths: &[PathBuf]) -> Result<Vec<Box<dyn Rule>>> {
    let mut taken = RuleSet::new(Vec::new()).ids();
    let mut out: Vec<Box<dyn Rule>> = Vec::new();
    for p in paths {
        for r in pack::load(p, &taken)? {
            taken.insert(r.meta().id.to_string());
            out.push(Box::new(r));
        }
    }
    Ok(out)
}

fn write_output(path: &Path, content: &str) -> Result<()> {
    write_output_with(path, |out| out.write_all(content.as_bytes()))
}

/// [`write_output`] of what `write` writes, as it writes it: a report is
/// streamed to its file instead of being built in memory first.
fn write_output_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    if path == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        write(&mut stdout)?;
        stdout.flush()?;
        return Ok(());
    }
    let write_file = |target: &Path| -> std::io::Result<()> {
        let mut file = std::fs::File::create(target)?;
        write(&mut file)?;
        file.flush()
    };
    // A device, a pipe or a symlink (`/dev/stderr`, a FIFO, a runner's
    // summary file behind a link) is written in place: renaming onto it
    // would replace it.
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && !meta.file_type().is_file()
    {
        return write_file(path).with_context(|| format!("writing {}", path.display()));
    }
    // Write beside the target then rename, so a reader never sees half a report.
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    if let Err(e) = write_file(&tmp) {
        // Half a report is no use to anyone; the error says what happened.
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", tmp.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Writes a metrics textfile: to stdout for `-`, in place onto a device or
/// pipe, else atomically and flushed to disk (the textfile collector may
/// read it at any moment).
fn write_textfile(path: &Path, content: &str) -> Result<()> {
    let regular = std::fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_file());
    if path == Path::new("-") || !regular {
        return write_output(path, content);
    }
    sslaudit_scanner::textfile::write_atomic(path, content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// A baseline as read, with the name it was given by.
struct LoadedBaseline {
    source: String,
    baseline: Baseline,
}

fn load_baseline(path: &Path) -> Result<LoadedBaseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading baseline {}", path.display()))?;
    let baseline =
        baseline::parse(&text).with_context(|| format!("baseline {}", path.display()))?;
    Ok(LoadedBaseline {
        source: path.display().to_string(),
        baseline,
    })
}

/// The gate's decision. With `new_only`, findings the baseline already had
/// do not count; an unwaived audit gap (SCAN001, a high SCAN002) fails the
/// gate in every mode but `never` (`Gate::passes`), new or not: an audit
/// never passes by silence.
fn decide(
    gate: Gate,
    findings: &[Finding],
    comparison: Option<&Comparison>,
    new_only: bool,
) -> GateVerdict {
    let failing = gate
        .failing(findings)
        .into_iter()
        .filter(|f| !new_only || comparison.is_none_or(|c| c.is_new(f)))
        .count();
    let audit_gap = gate.0.is_some() && engine::has_audit_gap(findings);
    let passed = if new_only {
        gate.0.is_none() || (failing == 0 && !audit_gap)
    } else {
        gate.passes(findings)
    };
    GateVerdict {
        fail_on: gate.0,
        passed,
        failing,
        new_only,
        audit_gap,
    }
}

fn gate_line(v: &GateVerdict) -> String {
    let Some(min) = v.fail_on else {
        return "gate: never fails (--fail-on never)\n".to_string();
    };
    let new = if v.new_only { "new " } else { "" };
    if v.passed {
        return format!("gate: passed (no {new}findings at or above {min})\n");
    }
    let mut reasons = Vec::new();
    if v.failing > 0 {
        reasons.push(format!(
            "{} {new}finding{} at or above {min}",
            v.failing,
            if v.failing == 1 { "" } else { "s" }
        ));
    }
    if v.audit_gap {
        reasons.push("hosts that could not be (fully) scanned always fail an audit".to_string());
    }
    format!("gate: FAILED ({})\n", reasons.join("; "))
}

fn scan(args: ScanArgs) -> Result<ExitCode> {
    let gate = Gate::from(args.fail_on);
    let (as_of, as_of_label) = parse_as_of(args.as_of.as_deref())?;
    let color = args.color.enabled();
    let outputs = [
        ("--json", &args.json),
        ("--sarif", &args.sarif),
        ("--junit", &args.junit),
        ("--markdown", &args.markdown),
        ("--html", &args.html),
        ("--prometheus", &args.prometheus),
        ("--oscal", &args.oscal),
    ];
    let to_stdout: Vec<&str> = outputs
        .iter()
        .filter(|(_, p)| p.as_deref() == Some(Path::new("-")))
        .map(|(flag, _)| *flag)
        .collect();
    if to_stdout.len() > 1 {
        bail!(
            "{} all write to stdout (`-`): give all but one a file",
            to_stdout.join(", ")
        );
    }
    // Read the baseline first: a wrong path should not cost a whole scan.
    let loaded = args.baseline.as_deref().map(load_baseline).transpose()?;
    let (rules, policy) = args.judge.load()?;
    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    // An empty policy file is the default policy, like no file at all.
    let policy_bytes = args
        .judge
        .policy
        .as_ref()
        .map(read)
        .transpose()?
        .unwrap_or_default();
    let pack_bytes = args
        .judge
        .packs
        .iter()
        .map(read)
        .collect::<Result<Vec<_>>>()?;
    // The next CAs by scope and content (not by path: shards may run on
    // machines that keep the file elsewhere).
    let next_ca_bytes: Vec<Vec<u8>> = policy
        .next_ca
        .iter()
        .map(|n| {
            let mut b = n.environment.clone().unwrap_or_default().into_bytes();
            b.push(0);
            b.extend(n.certificates.iter().flat_map(|c| c.der.iter().copied()));
            b
        })
        .collect();
    // What the findings were judged against: shards merged together must
    // agree on all of it.
    let policy_digest = scope_digest(
        [b"policy".as_slice(), &policy_bytes, b"rules"]
            .into_iter()
            .chain(pack_bytes.iter().map(Vec::as_slice))
            .chain((!next_ca_bytes.is_empty()).then_some(b"next-ca".as_slice()))
            .chain(next_ca_bytes.iter().map(Vec::as_slice)),
    );
    let started = time::OffsetDateTime::now_utc();
    let mut report = source::scan(
        &args.source,
        args.quiet,
        &rules,
        &policy,
        as_of,
        &as_of_label,
    )?;
    // Fix commands name the inventory the facts came from: the scan's, or
    // the one a snapshot was collected with.
    let inventory = match (&args.source.inventory, &args.source.snapshot) {
        (Some(p), _) => Some(p.display().to_string()),
        (None, Some(_)) => args
            .source
            .open_snapshot()
            .ok()
            .flatten()
            .and_then(|s| s.manifest().ok())
            .and_then(|m| m.inventory),
        (None, None) => None,
    }
    .unwrap_or_else(|| "INVENTORY".to_string());
    sslaudit_scanner::remediate::annotate_fixes(&mut report.findings, &inventory);
    for p in &mut report.pending {
        sslaudit_scanner::remediate::annotate_fixes(
            std::slice::from_mut(&mut p.finding),
            &inventory,
        );
    }
    // After the scan: a missing snapshot or inventory is its error to name.
    report.scope = Some(args.source.scope(policy_digest)?);
    let ended = time::OffsetDateTime::now_utc();
    let metas = rules.metas();
    // JUnit lists a test case per rule evaluated: the enabled ones.
    let enabled: Vec<&RuleMeta> = metas
        .iter()
        .copied()
        .filter(|m| policy.is_enabled(&m.id))
        .collect();

    for w in &report.expired_waivers {
        let object = w
            .object
            .as_deref()
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        eprintln!(
            "warning: waiver for {} on {}{object} expired on {} ({}): its findings count again",
            w.rule, w.host, w.expires, w.origin
        );
    }

    let comparison = loaded
        .as_ref()
        .map(|l| baseline::compare(&report, &l.baseline));
    let verdict = decide(
        gate,
        &report.findings,
        comparison.as_ref(),
        args.fail_on_new,
    );

    if let Some(path) = &args.json {
        match (&loaded, &comparison) {
            (Some(l), Some(c)) => write_output(
                path,
                &baseline::to_json_with_baseline(&report, &c.summary(&l.source, l.baseline.format)),
            )?,
            _ => write_output_with(path, |out| json::write_json(&report, out))?,
        }
    }
    if let Some(path) = &args.sarif {
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        };
        // With --as-of the outputs are a function of the inputs alone (shards
        // merge into exactly the whole scan): no clock reading goes in.
        let clock = args.as_of.is_none();
        let opts = sarif::SarifOptions {
            category: args.category.clone(),
            inventory_uri: Some(args.source.label()),
            start_time: rfc(started).filter(|_| clock),
            end_time: rfc(ended).filter(|_| clock),
        };
        let text = match &comparison {
            Some(c) => {
                let mut log = serde_json::to_value(sarif::to_sarif(&report, &metas, &opts))
                    .context("building the SARIF log")?;
                baseline::apply_to_sarif(&mut log, c, &metas, &opts);
                serde_json::to_string_pretty(&log).context("writing the SARIF log")? + "\n"
            }
            None => sarif::to_sarif_string(&report, &metas, &opts),
        };
        write_output(path, &text)?;
    }
    if let Some(path) = &args.junit {
        write_output(path, &junit::to_junit(&report, &enabled))?;
    }
    if let Some(path) = &args.oscal {
        let rfc = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        // With --as-of the document is a function of the inputs alone: the
        // scan is dated at that instant, as SARIF leaves the clock out.
        let (start, end) = if args.as_of.is_some() {
            let at =
                time::OffsetDateTime::from_unix_timestamp(as_of).context("the --as-of instant")?;
            (rfc(at), rfc(at))
        } else {
            (rfc(started), rfc(ended))
        };
        let opts = oscal::OscalOptions {
            title: args.title.clone(),
            start,
            end,
            source: Some(args.source.label()),
        };
        write_output(path, &oscal::to_oscal_string(&report, &enabled, &opts))?;
    }
    if let Some(path) = &args.markdown {
        let opts = MarkdownOptions {
            title: args.title.clone(),
            gate: Some(verdict.clone()),
            baseline: loaded
                .as_ref()
                .zip(comparison.as_ref())
                .map(|(l, c)| (c, l.source.as_str())),
            ..MarkdownOptions::default()
        };
        write_output(path, &markdown::to_markdown(&report, &metas, &opts))?;
    }
    if let Some(path) = &args.html {
        let opts = html::HtmlOptions {
            gate: gate.0,
            title: args.title.clone(),
            new_only: comparison
                .as_ref()
                .filter(|_| args.fail_on_new)
                .map(|c| c.new.clone()),
        };
        let page = html::render(&report, &metas, &opts).context("rendering the HTML report")?;
        write_output(path, &page)?;
    }
    if let Some(path) = &args.prometheus {
        let run = prometheus::ScanRun {
            finished: (ended - time::OffsetDateTime::UNIX_EPOCH).as_seconds_f64(),
            duration: (ended - started).as_seconds_f64().max(0.0),
        };
        let text = prometheus::to_prometheus(&report, Some(&run));
        write_textfile(path, &text)?;
    }

    if !args.quiet {
        let opts = terminal::TerminalOptions {
            color,
            limit: (!args.all).then_some(terminal::DEFAULT_LIMIT),
        };
        let mut out = terminal::summary_with(&report, &metas, &opts);
        if let (Some(l), Some(c)) = (&loaded, &comparison) {
            out.push_str(&format!(
                "baseline {}: {} new, {} unchanged, {} fixed\n",
                l.source,
                c.new.len(),
                c.unchanged.len(),
                c.absent.len()
            ));
        }
        out.push_str(&gate_line(&verdict));
        if !report.pending.is_empty() {
            out.push_str(&format!(
                "pending: {} server key{} to compare with the other shards' environments: \
                 `sslaudit merge --fail-on` judges them\n",
                report.pending.len(),
                if report.pending.len() == 1 { "" } else { "s" }
            ));
        }
        // With a report on stdout, the summary goes to stderr so the report
        // stays parseable.
        if to_stdout.is_empty() {
            std::io::stdout().write_all(out.as_bytes())?;
        } else {
            std::io::stderr().write_all(out.as_bytes())?;
        }
    }
    Ok(if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn merge_reports(
    inputs: &[PathBuf],
    output: &Path,
    category: Option<String>,
    gate: Option<Gate>,
) -> Result<ExitCode> {
    let mut texts = Vec::with_capacity(inputs.len());
    for p in inputs {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        texts.push((p.display().to_string(), text));
    }
    let refs: Vec<(&str, &str)> = texts
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let merged = merge::merge(
        &refs,
        &MergeOptions {
            category: category.clone(),
        },
    )?;
    if category.is_some() && matches!(merged, merge::Merged::Json(_)) {
        eprintln!(
            "warning: --category applies to SARIF logs only; the JSON reports were merged without it"
        );
    }
    write_output(output, &merged.to_text())?;
    let Some(gate) = gate else {
        return Ok(ExitCode::SUCCESS);
    };
    let findings = merged
        .findings()
        .map_err(|e| anyhow::anyhow!("judging the merged report: {e}"))?;
    let verdict = decide(gate, &findings, None, false);
    // The merged report may be on stdout: the verdict goes to stderr.
    eprint!("{}", gate_line(&verdict));
    Ok(if verdict.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn rules(as_json: bool, markdown: bool, packs: &[PathBuf]) -> Result<ExitCode> {
    let rules = RuleSet::new(load_packs(packs)?);
    let metas = rules.metas();
    let mut out = String::new();
    if as_json {
        out = serde_json::to_string_pretty(&metas)? + "\n";
    } else if markdown {
        out = sslaudit_rules::registry::markdown_table(metas.iter().copied());
    } else {
        for m in &metas {
            out.push_str(&format!(
                "{:<8} {:<9} {:<32} {}\n",
                m.id, m.severity, m.name, m.summary
            ));
        }
        if let Some(first) = metas.first() {
            out.push_str(&format!(
                "\nRun `{}` (or any other id) for what a rule checks, why it matters and how to \
                 fix it.\n",
                sslaudit_remediations::commands::explain(&first.id)
            ));
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

fn explain(rule: &str, packs: &[PathBuf]) -> Result<ExitCode> {
    let rules = RuleSet::new(load_packs(packs)?);
    let Some(r) = rules
        .iter()
        .find(|r| r.meta().id.eq_ignore_ascii_case(rule) || r.meta().name == rule)
    else {
        let known: BTreeSet<String> = rules.ids();
        bail!(
            "no rule `{rule}` (known: {})",
            known.into_iter().collect::<Vec<_>>().join(", ")
        );
    };
    let m = r.meta();
    let mut out = format!(
        "{} {} (default severity: {})\n{}\n\n{}\n",
        m.id,
        m.name,
        m.severity,
        m.summary,
        m.help.trim_end()
    );
    if m.evidence == Evidence::HostFiles {
        out.push_str(
            "\nJudges files on the host: not applicable to hosts audited from the wire \
             (`ssh: none`), whose reports list it as such.\n",
        );
    }
    if !m.references.is_empty() {
        out.push_str("\nReferences:\n");
        for reference in m.references.iter() {
            out.push_str(&format!("  - {reference}\n"));
        }
    }
    if !m.controls.is_empty() {
        out.push_str("\nControls (a finding is evidence against them; why each applies):\n");
        for c in m.controls {
            out.push_str(&format!("  - {} {}: {}\n", c.framework, c.id, c.source));
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `sslaudit snapshot pack|unpack`.
fn snapshot_command(cmd: SnapshotCommand) -> Result<ExitCode> {
    use sslaudit_scanner::snapshot::pack;
    match cmd {
        SnapshotCommand::Pack { dir, out } => {
            let p = pack::pack(&dir, &out)?;
            eprintln!(
                "packed {} files of {} into {}{}",
                p.files,
                dir.display(),
                out.display(),
                if p.sums_checked {
                    " (checked against its SHA256SUMS first)"
                } else {
                    " (the folder had no SHA256SUMS: the file's was made now)"
                }
            );
        }
        SnapshotCommand::Unpack { file, out } => {
            let n = pack::unpack(&file, &out)?;
            eprintln!(
                "unpacked {n} files of {} into {}, each matching its SHA256SUMS",
                file.display(),
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn facts(source: &SourceArgs) -> Result<ExitCode> {
    let fleet = source::load_fleet(source, false)?;
    let out = serde_json::to_string_pretty(&fleet)? + "\n";
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
