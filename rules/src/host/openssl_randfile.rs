//! SSL010: an active `RANDFILE` line in the system openssl.cnf of a database
//! host, which breaks the stack's key generation on Ubuntu (stable-v6).

use crate::facts::HostFacts;
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct OpensslRandfile;

const HELP: &str = r#"## What it checks

On database hosts (master and replicas), an active (not commented out)
`RANDFILE = ...` line in the system OpenSSL configuration
(`/etc/ssl/openssl.cnf`, or the layout's `openssl_cnf`), such as Ubuntu's
default `RANDFILE = $ENV::HOME/.rnd`.

## Why it matters

On the stable-v6 stack (Ubuntu with OpenSSL 1.1.1) `openssl req` aborts with
"Can't load /root/.rnd into RNG" when the file named by RANDFILE does not
exist, so `/engineyard/bin/db_server_ssl_keys.sh` and
`db_user_ssl_keys.sh` cannot generate keys. It only shows when keys are due:
during Key Maintenance, after booting from a snapshot, or when certificates
have expired and must be renewed under time pressure. Keys are generated on
the database master; replicas are checked too because a replica can be
promoted and then becomes the host that generates them. Application hosts
never run key generation, so they are not checked.

## How to fix

Comment the line out before running the Key Maintenance steps: connect to the
database master as the super user, `vim /etc/ssl/openssl.cnf`, press `i`,
add a `#` in front of the `RANDFILE` line, press Escape and type `:wq`. Or,
non-interactively:

```sh
sudo sed -i 's/^\s*RANDFILE\s*=/#&/' /etc/ssl/openssl.cnf
```

Then run `/engineyard/bin/db_server_ssl_keys.sh`, restart MySQL and click
"Apply" on the cloud dashboard.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL010",
    "openssl-randfile",
    Severity::Low,
    "an active RANDFILE line in openssl.cnf on a database host breaks key generation on stable-v6",
    HELP,
    &[
        "MySQL SSL Support: Key Maintenance",
        "OpenSSL 1.1.1 manual: req(1), CONFIGURATION FILE FORMAT (RANDFILE)",
    ],
)
.controls(&[
    Control::nist("SC-12", "key establishment: key generation fails or is weakened on hosts with an active RANDFILE (seed: Key Maintenance)"),
])
.from_host_files();

impl Rule for OpensslRandfile {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        // Only database hosts generate keys (the master, or a replica once
        // promoted); an app host's openssl.cnf never meets the key scripts.
        if !host.is_db() {
            return;
        }
        let Some(cnf) = &host.openssl_cnf else { return };
        let Some((first_line, first_text)) = cnf.randfile.first() else {
            return;
        };
        let lines: Vec<String> = cnf.randfile.iter().map(|(l, _)| l.to_string()).collect();
        let also = match cnf.randfile.len() {
            1 => String::new(),
            n => format!(
                " (and {} more active RANDFILE line{})",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        let msg = format!(
            "`{}` is active in {}:{first_line}{also}: key generation fails on stable-v6 when the file does not exist",
            first_text.trim(),
            cnf.path
        );
        // One finding per file: the fix is the same for every line, and the
        // fingerprint must not move with line numbers.
        let loc =
            Location::file(cnf.path.clone(), Some(*first_line)).with_object("openssl-cnf:RANDFILE");
        out.push(
            self.finding(host, msg, loc)
                .evidence("randfile", first_text.trim())
                .evidence("lines", lines.join(", ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{OpensslCnf, Role};
    use crate::layout::Layout;

    fn host(role: Role, randfile: &[(u32, &str)]) -> HostFacts {
        let mut h = HostFacts::new("db-master", "production", Layout::engineyard());
        h.roles.insert(role);
        h.openssl_cnf = Some(OpensslCnf {
            path: "/etc/ssl/openssl.cnf".into(),
            randfile: randfile.iter().map(|(l, t)| (*l, t.to_string())).collect(),
        });
        h
    }

    fn run(h: &HostFacts) -> Vec<Finding> {
        crate::testkit::run(&OpensslRandfile, h)
    }

    #[test]
    fn active_randfile_on_the_master_is_reported() {
        let f = run(&host(
            Role::DbMaster,
            &[(13, "RANDFILE\t\t= $ENV::HOME/.rnd")],
        ));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "`RANDFILE\t\t= $ENV::HOME/.rnd` is active in /etc/ssl/openssl.cnf:13: key generation fails on stable-v6 when the file does not exist"
        );
        assert_eq!(f[0].location.line, Some(13));
        assert_eq!(f[0].severity, Severity::Low);
    }

    #[test]
    fn replicas_count_and_several_lines_make_one_finding() {
        let f = run(&host(
            Role::DbReplica,
            &[
                (13, "RANDFILE = $ENV::HOME/.rnd"),
                (40, "RANDFILE = /root/.rnd"),
            ],
        ));
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("(and 1 more active RANDFILE line)"));
        assert_eq!(f[0].evidence["lines"], "13, 40");
    }

    #[test]
    fn app_hosts_commented_lines_and_missing_files_pass() {
        assert!(run(&host(Role::App, &[(13, "RANDFILE = $ENV::HOME/.rnd")])).is_empty());
        assert!(run(&host(Role::DbMaster, &[])).is_empty());
        let mut h = host(Role::DbMaster, &[]);
        h.openssl_cnf = None;
        assert!(run(&h).is_empty());
    }
}
