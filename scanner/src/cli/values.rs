//! The closed sets of values the command line accepts, as clap
//! [`ValueEnum`]s: clap checks them, lists them in `--help` and words the
//! error for a bad one. Types of the library crates (the rules crate must
//! not depend on clap) get a CLI-side twin here with a conversion.

use clap::ValueEnum;
use sslaudit_remediations::keygen::KeyAlgo;
use sslaudit_remediations::plan::KeyType;
use sslaudit_rules::Severity;
use sslaudit_rules::facts::Role;
use sslaudit_scanner::engine::Gate;
use sslaudit_scanner::inventory::Via;

/// The longest `--census` window: the census is a look at who connects,
/// not a monitoring agent.
pub const MAX_CENSUS_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// `--census DURATION` (`30s`, `2m`), at most [`MAX_CENSUS_WINDOW`].
pub fn census_window(s: &str) -> Result<std::time::Duration, String> {
    let d = sslaudit_scanner::inventory::parse_duration(s)?;
    if d > MAX_CENSUS_WINDOW {
        return Err(format!(
            "a census window of {s} is longer than {} s: sample for at most 10m",
            MAX_CENSUS_WINDOW.as_secs()
        ));
    }
    Ok(d)
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When stdout is a terminal and NO_COLOR is not set
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Whether to color the terminal summary.
    pub fn enabled(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => {
                use std::io::IsTerminal;
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

/// `--fail-on`: a severity, or `never`. Case-insensitive, as it always was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
    /// Never fail (not even for a host that could not be scanned)
    Never,
}

impl From<FailOn> for Gate {
    fn from(f: FailOn) -> Gate {
        Gate(match f {
            FailOn::Critical => Some(Severity::Critical),
            FailOn::High => Some(Severity::High),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::Low => Some(Severity::Low),
            FailOn::Never => None,
        })
    }
}

/// `--role` of `--host` targets (spelled as in inventories: `db_master`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    #[value(name = "db_master")]
    DbMaster,
    #[value(name = "db_replica")]
    DbReplica,
    App,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::DbMaster => Role::DbMaster,
            RoleArg::DbReplica => Role::DbReplica,
            RoleArg::App => Role::App,
        }
    }
}

/// `--via` of `--host` targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViaArg {
    /// The host's own mysql client, over SSH
    Ssh,
    /// A direct TLS connection from this machine
    Tcp,
    /// A TCP connection through the host's SSH connection
    Tunnel,
}

impl From<ViaArg> for Via {
    fn from(v: ViaArg) -> Via {
        match v {
            ViaArg::Ssh => Via::Ssh,
            ViaArg::Tcp => Via::Tcp,
            ViaArg::Tunnel => Via::Tunnel,
        }
    }
}

/// `--key-type` of `keygen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyTypeArg {
    /// RSA 2048 bits, PKCS#1 (what yaSSL-era 5.5/5.6 servers read)
    Rsa,
    /// EC P-256
    Ec,
}

impl From<KeyTypeArg> for KeyAlgo {
    fn from(k: KeyTypeArg) -> KeyAlgo {
        match k {
            KeyTypeArg::Rsa => KeyAlgo::Rsa(2048),
            KeyTypeArg::Ec => KeyAlgo::EcdsaP256,
        }
    }
}

impl From<KeyTypeArg> for KeyType {
    fn from(k: KeyTypeArg) -> KeyType {
        match k {
            KeyTypeArg::Rsa => KeyType::Rsa2048,
            KeyTypeArg::Ec => KeyType::EcdsaP256,
        }
    }
}

/// `--layout` of `keygen`: the layouts the rules crate knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LayoutArg {
    Engineyard,
    Debian,
}

impl LayoutArg {
    /// The name [`sslaudit_rules::layout::Layout::named`] takes.
    pub fn name(self) -> &'static str {
        match self {
            LayoutArg::Engineyard => "engineyard",
            LayoutArg::Debian => "debian",
        }
    }
}

/// The name a value is spelled with on the command line.
pub fn spelling<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_those_accepted_before() {
        let all = |v: Vec<String>| v.join(",");
        assert_eq!(
            all(ColorWhen::value_variants().iter().map(spelling).collect()),
            "auto,always,never"
        );
        assert_eq!(
            all(FailOn::value_variants().iter().map(spelling).collect()),
            "critical,high,medium,low,never"
        );
        assert_eq!(
            all(RoleArg::value_variants().iter().map(spelling).collect()),
            "db_master,db_replica,app"
        );
        assert_eq!(
            all(ViaArg::value_variants().iter().map(spelling).collect()),
            "ssh,tcp,tunnel"
        );
        assert_eq!(
            all(KeyTypeArg::value_variants().iter().map(spelling).collect()),
            "rsa,ec"
        );
        assert_eq!(
            all(LayoutArg::value_variants().iter().map(spelling).collect()),
            "engineyard,debian"
        );
        for l in LayoutArg::value_variants() {
            assert_eq!(spelling(l), l.name());
            sslaudit_rules::layout::Layout::named(l.name()).unwrap();
        }
    }
}
