//! `sslaudit keygen --out DIR`: a CA, server and client certificates laid
//! out in the layout's shape in a local folder, as a plan applied through
//! the remediation engine (journaled, keys 0600 from creation).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use sslaudit_remediations::apply::{self, ApplyOptions};
use sslaudit_remediations::keygen::{self, Ca, CertSpec, KeyAlgo, KeyFile};
use sslaudit_remediations::runners::key_files_plan;
use sslaudit_remediations::target::{LocalTarget, Target};
use sslaudit_rules::layout::Layout;

use super::state::state_dir;
use super::values::{KeyTypeArg, LayoutArg};

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Folder to write into: DIR/<server-name>/<layout path> per host, DIR/ca/ for a new CA
    #[arg(
        long,
        short = 'o',
        value_name = "DIR",
        required_unless_present = "inventory"
    )]
    pub out: Option<PathBuf>,
    /// Generate the environment's missing keys and distribute them to its hosts instead
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "out",
        requires = "environment"
    )]
    pub inventory: Option<PathBuf>,
    /// The environment to give keys (with --inventory)
    #[arg(long, value_name = "NAME", requires = "inventory")]
    pub environment: Option<String>,
    /// A database server to issue a certificate for (repeatable): its name, also its SAN
    #[arg(
        long = "server-name",
        value_name = "NAME",
        required_unless_present = "inventory"
    )]
    pub servers: Vec<String>,
    /// A MySQL user to issue a client certificate for (repeatable; CN = the user)
    #[arg(long = "user", value_name = "NAME")]
    pub users: Vec<String>,
    /// Validity of the server and client certificates, in days
    #[arg(long, value_name = "N", default_value_t = keygen::DEFAULT_DAYS)]
    pub days: u32,
    /// Sign with this existing CA certificate (with --ca-key) instead of a new CA
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    pub ca_cert: Option<PathBuf>,
    /// The existing CA's private key (PEM, unencrypted)
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    pub ca_key: Option<PathBuf>,
    /// Key type of every key
    #[arg(long, value_name = "TYPE", value_enum, default_value_t = KeyTypeArg::Rsa)]
    pub key_type: KeyTypeArg,
    /// Layout whose paths the files follow
    #[arg(long, value_name = "NAME", value_enum, default_value_t = LayoutArg::Engineyard)]
    pub layout: LayoutArg,
    /// The server's data directory inside the layout (engineyard: /db/mysql/<version>/data; default: the newest version the layout knows, /db/mysql/5.7/data)
    #[arg(long, value_name = "PATH")]
    pub datadir: Option<String>,
    /// Show the plan and what each step would change, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Write the plan as JSON here and stop (private keys are never in it)
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
    /// Where run journals and audit logs go (default: $XDG_STATE_HOME/sslaudit or ~/.local/state/sslaudit)
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// With --inventory: apply without asking
    #[arg(long, requires = "inventory")]
    pub yes: bool,
    /// With --inventory: keep what was done when a step or the verification fails
    #[arg(long, requires = "inventory")]
    pub no_rollback: bool,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `sslaudit keygen --out DIR` (`--inventory` is
/// `keygen_inventory` in rotate.rs, dispatched to by `cli::run`).
pub fn run(args: KeygenArgs) -> Result<ExitCode> {
    let Some(out_dir) = args.out.clone() else {
        bail!("give --out DIR or --inventory FILE --environment NAME");
    };
    let layout = Layout::named(args.layout.name())?;
    let algo = KeyAlgo::from(args.key_type);
    let datadir = match (&args.datadir, layout.default_data_dir()) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => {
            if layout.data_dirs.first().is_some_and(|p| p.contains('*')) {
                eprintln!(
                    "note: no --datadir: the server keys go to {d}, the {} layout's data \
                     directory for MySQL {} (the newest it knows); give --datadir for another \
                     version",
                    layout.name,
                    sslaudit_rules::layout::NEWEST_KNOWN_VERSION
                );
            }
            d
        }
        (None, None) => bail!(
            "the {} layout names no data directory: give --datadir",
            layout.name
        ),
    };
    if out_dir.exists()
        && std::fs::read_dir(&out_dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{} exists and is not empty: keygen never writes over existing keys",
            out_dir.display()
        );
    }
    let (ca, new_ca) = match (&args.ca_cert, &args.ca_key) {
        (Some(c), Some(k)) => (Ca::from_pem(&read(c)?, &read(k)?)?, false),
        _ => (Ca::generate("sslaudit MySQL CA", 3650, algo)?, true),
    };
    let spec = |cn: &str| CertSpec {
        common_name: cn.to_string(),
        sans: vec![cn.to_string()],
        days: args.days,
        algo,
    };
    let mut servers = Vec::new();
    for name in &args.servers {
        servers.push((name.clone(), datadir.clone(), ca.issue_server(&spec(name))?));
    }
    let mut users = Vec::new();
    for user in &args.users {
        let client = CertSpec {
            sans: Vec::new(),
            ..spec(user)
        };
        users.push((user.clone(), ca.issue_client(&client)?));
    }
    let mut files = keygen::layout_files(&layout, &ca, &servers, &users, &[]);
    if new_ca {
        for (name, content, private) in [
            ("root.crt", ca.cert_pem(), false),
            ("root.key", ca.key_pem(), true),
        ] {
            files.push(KeyFile {
                host: "ca".into(),
                path: format!("/{name}"),
                content,
                mode: if private { 0o600 } else { 0o644 },
                owner: String::new(),
                group: String::new(),
                private,
            });
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let created_at = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let run_id = format!("keygen-{}-{}", now.unix_timestamp(), std::process::id());
    // Every host's files go under DIR/<host>/ on this machine.
    let (plan, store) = key_files_plan(
        &files,
        &run_id,
        &created_at,
        &format!("keygen into {}", out_dir.display()),
        |f| ("local".to_string(), format!("/{}{}", f.host, f.path)),
        false,
    );
    let mut out = plan.to_text();
    if let Some(p) = &args.plan_out {
        let json = serde_json::to_string_pretty(&plan)? + "\n";
        std::fs::write(p, json).with_context(|| format!("writing {}", p.display()))?;
        out.push_str(&format!(
            "plan written to {} (nothing applied)\n",
            p.display()
        ));
        std::io::stdout().write_all(out.as_bytes())?;
        return Ok(ExitCode::SUCCESS);
    }
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let target = LocalTarget::new("local", &out_dir);
    let targets = |host: &str| (host == "local").then_some(&target as &dyn Target);
    let store: BTreeMap<String, Vec<u8>> = store;
    let mut opts = ApplyOptions::new(state_dir(args.state_dir.as_deref())?);
    opts.dry_run = args.dry_run;
    opts.yes = true;
    opts.generated = Some(&store);
    let report = apply::apply(&plan, &targets, &opts)?;
    out.push_str(&format!(
        "{} {} step(s); run {} (journal in {})\n",
        if args.dry_run { "would run" } else { "ran" },
        report.steps.len(),
        report.run_id,
        opts.state_dir.display()
    ));
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
