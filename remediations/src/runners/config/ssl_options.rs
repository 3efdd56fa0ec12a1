//! SSL002: the server's ssl-ca, ssl-cert and ssl-key options, set to the
//! layout's server key files in the data directory.

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::facts::HostFacts;
use sslaudit_rules::parse::mycnf::unquote_value;
use sslaudit_rules::{Finding, SubjectKind};

use super::explain_hint;
use super::option_file::{insert_options, option_value, set_in_place, set_option};
use crate::runners::{Builder, Refusal};

/// The server options SSL002 fixes: (normalized name, name written).
const SSL_FILES: [(&str, &str); 3] = [
    ("ssl_ca", "ssl-ca"),
    ("ssl_cert", "ssl-cert"),
    ("ssl_key", "ssl-key"),
];

/// The data directories worth looking in for the layout's server keys:
/// the `datadir` option, the server's `datadir` variable, the layout's
/// concrete data directories, then those its patterns match in the facts.
fn data_dir_candidates(host: &HostFacts) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |d: String| {
        let d = d.trim_end_matches('/').to_string();
        if !d.is_empty() && !out.contains(&d) {
            out.push(d);
        }
    };
    if let Some(d) = host
        .server_options
        .as_ref()
        .and_then(|o| set_option(o, "datadir"))
    {
        push(unquote_value(d.as_str()).to_string());
    }
    if let Some(d) = host.mysql.as_ref().and_then(|m| m.variable("datadir")) {
        push(d.to_string());
    }
    for d in &host.layout.data_dirs {
        if !d.contains('*') {
            push(d.clone());
        }
    }
    for path in host.files.keys() {
        if host.layout.in_data_dir(path)
            && let Some((dir, _)) = path.rsplit_once('/')
            && host
                .layout
                .data_dirs
                .iter()
                .any(|d| d.matches('/').count() == dir.matches('/').count())
        {
            push(dir.to_string());
        }
    }
    out
}

/// The server key files of the layout in the data directory that holds
/// them all (else the one holding at least the `wanted` ones).
fn server_files(
    b: &Builder,
    host: &HostFacts,
    wanted: &BTreeSet<&str>,
) -> Result<BTreeMap<&'static str, String>, Refusal> {
    let l = &host.layout;
    let paths = |dir: &str| -> BTreeMap<&'static str, String> {
        [
            ("ssl_ca", format!("{dir}/{}", l.server_ca)),
            ("ssl_cert", format!("{dir}/{}", l.server_cert)),
            ("ssl_key", format!("{dir}/{}", l.server_key)),
        ]
        .into()
    };
    let candidates = data_dir_candidates(host);
    let complete = |dir: &String, names: &[&str]| {
        let p = paths(dir);
        names
            .iter()
            .all(|n| p.get(n).is_some_and(|path| host.file_exists(path)))
    };
    let all: Vec<&str> = SSL_FILES.iter().map(|(n, _)| *n).collect();
    let some: Vec<&str> = wanted.iter().copied().collect();
    let chosen = candidates
        .iter()
        .find(|d| complete(d, &all))
        .or_else(|| candidates.iter().find(|d| complete(d, &some)));
    let Some(dir) = chosen else {
        let missing = match candidates.first() {
            Some(d) => {
                let p = paths(d);
                wanted
                    .iter()
                    .filter_map(|n| p.get(n).cloned())
                    .filter(|path| !host.file_exists(path))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            None => format!("no data directory of the {} layout was found", l.name),
        };
        return Err(Refusal::ServerKeysMissing {
            host: host.name.clone(),
            missing,
            instead: b.env.keygen_hint(),
        });
    };
    let files = paths(dir);
    let (cert, key) = (&files["ssl_cert"], &files["ssl_key"]);
    if let (Some(leaf), Some(k)) = (host.leaf_certificate(cert), host.private_keys.get(key))
        && k.matches(leaf) == Some(false)
    {
        return Err(Refusal::NotFixable {
            host: host.name.clone(),
            reason: format!("{key} is not the key of {cert} (SSL011)"),
            instead: format!("issue matching keys with `{}`", b.env.rotate_command()),
        });
    }
    Ok(files)
}

/// SSL002: adds the missing ssl-ca/ssl-cert/ssl-key (or fills an empty
/// one) so they name the layout's server key files in the data directory,
/// then restarts mysqld, which reads option files only at start.
pub(crate) fn plan(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    let Some(opts) = &host.server_options else {
        for f in findings {
            b.refuse(
                f,
                Refusal::NotCollected {
                    host: host.name.clone(),
                    what: "the server option files".into(),
                },
            );
        }
        return;
    };
    let mut wanted: BTreeSet<&'static str> = BTreeSet::new();
    let mut fixing: Vec<&Finding> = Vec::new();
    for f in findings {
        let object = f.location.object.as_deref().unwrap_or("");
        let option = match f.subject_kind() {
            Some(SubjectKind::Option(name)) => name.as_str(),
            _ => "",
        };
        let Some((name, spelled)) = SSL_FILES.iter().find(|(n, _)| option == *n) else {
            b.refuse(
                f,
                Refusal::NotFixable {
                    host: host.name.clone(),
                    reason: format!("{object} is not one of ssl-ca, ssl-cert, ssl-key"),
                    instead: explain_hint("SSL002"),
                },
            );
            continue;
        };
        if f.evidence.contains_key("path") {
            // The option is there but names a missing or unreadable file:
            // the keys are what is missing, not the configuration.
            b.refuse(
                f,
                Refusal::ServerKeysMissing {
                    host: host.name.clone(),
                    missing: f.message.clone(),
                    instead: format!(
                        "issue the server keys with `{}` (or keygen), or make the file readable by {}",
                        b.env.rotate_command(),
                        host.layout.service_user
                    ),
                },
            );
            continue;
        }
        if set_option(opts, name).is_some()
            || (*name == "ssl_ca" && set_option(opts, "ssl_capath").is_some())
        {
            b.refuse(
                f,
                Refusal::AlreadyFixed {
                    host: host.name.clone(),
                    what: spelled.to_string(),
                },
            );
            continue;
        }
        wanted.insert(name);
        fixing.push(f);
    }
    if wanted.is_empty() {
        return;
    }
    let refuse_all = |b: &mut Builder, r: Refusal| {
        for f in &fixing {
            b.refuse(f, r.clone());
        }
    };
    let files = match server_files(b, host, &wanted) {
        Ok(f) => f,
        Err(r) => return refuse_all(b, r),
    };
    let mut values: BTreeMap<&str, String> = BTreeMap::new();
    for n in &wanted {
        match option_value(&files[n]) {
            Some(v) => {
                values.insert(n, v);
            }
            None => {
                return refuse_all(
                    b,
                    Refusal::NotFixable {
                        host: host.name.clone(),
                        reason: format!("{} cannot be written in an option file as is", files[n]),
                        instead: explain_hint("SSL002"),
                    },
                );
            }
        }
    }
    let why_of = |n: &str| format!("{} was not set (SSL002)", n.replace('_', "-"));
    // Empty values (`ssl-key=`): filled in place.
    let mut rest: Vec<&str> = Vec::new();
    for n in wanted.iter().copied() {
        match opts.get(n) {
            Some(empty) => {
                if let Err(r) = set_in_place(b, host, empty, &values[n], &why_of(n)) {
                    return refuse_all(b, r);
                }
            }
            None => rest.push(n),
        }
    }
    if !rest.is_empty()
        && let Err(r) = insert_options(
            b,
            host,
            opts,
            &rest,
            &values,
            &format!("TLS keys of the {} layout", host.layout.name),
        )
    {
        return refuse_all(b, r);
    }
    let main = fixing
        .first()
        .and_then(|f| f.location.file.clone())
        .unwrap_or_default();
    b.restart_mysql(
        &host.name,
        format!(
            "mysqld reads its option files only at start: restart it to load the ssl options (SSL002; a brief downtime, the master before its replicas, as in the seed's Caveats){}",
            if main.is_empty() { String::new() } else { format!("; options read from {main}") }
        ),
    );
    b.fixes("SSL002");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Applicability};
    use crate::runners::testutil::*;
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::Flavor;

    const EY_MY_CNF: &str =
        include_str!("../../../../fixtures/parsers/mycnf/engineyard-mysql56/etc/mysql/my.cnf");

    const DEBIAN_SERVER_CNF: &str = include_str!(
        "../../../../fixtures/parsers/mycnf/debian12-mariadb/etc/mysql/mariadb.conf.d/50-server.cnf"
    );

    const SERVER_CNF: &str = "/etc/mysql/mariadb.conf.d/50-server.cnf";

    /// The engineyard my.cnf with its SSL block removed.
    fn ey_without_ssl() -> String {
        EY_MY_CNF
            .lines()
            .filter(|l| !l.starts_with("ssl-") && !l.starts_with("# SSL"))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn ssl002(host: &str, option: &str, file: &str) -> Finding {
        finding(
            "SSL002",
            host,
            Location::file(file, None).with_object(format!("option:{option}")),
        )
        .evidence("option_files", file)
    }

    fn ey_master() -> HostFacts {
        let mut h = db_host("db-master");
        options(
            &mut h,
            MY_CNF,
            &[("datadir", Some(DATA), 25), ("port", Some("3306"), 23)],
        );
        server_keys(&mut h, DATA);
        h.identities.clear();
        h
    }

    #[test]
    fn ssl002_adds_the_three_options_at_the_end_of_mysqld_and_restarts() {
        let mut w = World::new(vec![ey_master()]);
        let text = ey_without_ssl();
        w.text("db-master", MY_CNF, &text);
        let findings: Vec<Finding> = ["ssl_ca", "ssl_cert", "ssl_key"]
            .iter()
            .map(|o| ssl002("db-master", o, MY_CNF))
            .collect();
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        assert_eq!(plan.steps.len(), 3, "{}", plan.to_text());
        let new = w.written(&plan, MY_CNF);
        // Only lines were added, right after the last [mysqld] option, in
        // the file's aligned style; everything else is byte for byte.
        let added: Vec<&str> = new
            .lines()
            .filter(|l| !text.lines().any(|o| o == *l))
            .collect();
        assert_eq!(
            added,
            [
                "# TLS keys of the engineyard layout (added by sslaudit run run-20260601)",
                "ssl-ca                         = /db/mysql/5.6/data/root.crt",
                "ssl-cert                       = /db/mysql/5.6/data/server.crt",
                "ssl-key                        = /db/mysql/5.6/data/server.key",
            ]
        );
        let removed: Vec<&str> = text
            .lines()
            .filter(|l| !new.lines().any(|n| n == *l))
            .collect();
        assert!(removed.is_empty(), "{removed:?}");
        let at = new.find("ssl-ca ").expect("added");
        assert!(new[..at].ends_with("long_query_time                = 2\n# TLS keys of the engineyard layout (added by sslaudit run run-20260601)\n"));
        assert!(new[at..].contains("\n[mysqldump]"));
        // The restart needs confirmation and runs again on rollback.
        let restart = &plan.steps[1];
        assert_eq!(restart.applicability, Applicability::NeedsConfirmation);
        assert!(
            matches!(&restart.action, Action::RunCommand { command, .. } if command.contains("/etc/init.d/mysql restart"))
        );
        assert!(restart.undo_last && restart.undo.is_some());
        // The file says chef overwrites it: shown as a warning, with the
        // lines to put in the template.
        assert_eq!(plan.steps[2].applicability, Applicability::DisplayOnly);
        assert!(
            plan.steps[2]
                .why
                .contains("Local changes will be overwritten")
        );
    }

    #[test]
    fn ssl002_goes_beside_an_existing_ssl_option_and_fills_empty_ones() {
        let mut h = db_host("db-1");
        h.mysql.as_mut().expect("mysql").version =
            Some(version(Flavor::Mariadb, "10.11.6-MariaDB-0+deb12u1"));
        h.layout = sslaudit_rules::layout::Layout::debian();
        // 50-server.cnf with the ssl-ca line removed and ssl_key emptied.
        let text: String = DEBIAN_SERVER_CNF
            .lines()
            .filter(|l| !l.starts_with("ssl-ca"))
            .map(|l| {
                if l.starts_with("ssl_key") {
                    "ssl_key =\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.starts_with(needle))
                .expect("line") as u32
                + 1
        };
        options(
            &mut h,
            SERVER_CNF,
            &[
                (
                    "ssl_cert",
                    Some("\"/etc/mysql/ssl/server-cert.pem\""),
                    line_of("ssl_cert"),
                ),
                ("ssl_key", Some(""), line_of("ssl_key")),
                (
                    "tls_version",
                    Some("TLSv1.2,TLSv1.3"),
                    line_of("tls_version"),
                ),
            ],
        );
        h.option_files = vec!["/etc/mysql/my.cnf".into(), SERVER_CNF.into()];
        for f in ["ca.pem", "server-cert.pem", "server-key.pem"] {
            file(
                &mut h,
                &format!("/var/lib/mysql/{f}"),
                0o600,
                "mysql",
                "mysql",
            );
        }
        let mut w = World::new(vec![h]);
        w.text("db-1", SERVER_CNF, &text);
        let findings = [
            ssl002("db-1", "ssl_ca", SERVER_CNF),
            ssl002("db-1", "ssl_key", SERVER_CNF),
        ];
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, SERVER_CNF);
        assert!(new.contains("ssl_key = /var/lib/mysql/server-key.pem\nrequire-secure-transport = on\ntls_version = TLSv1.2,TLSv1.3\n# TLS keys of the debian layout (added by sslaudit run run-20260601)\nssl-ca = /var/lib/mysql/ca.pem\n"), "{new}");
        assert_eq!(new.lines().count(), text.lines().count() + 2);
        // The cert is still the one configured: nothing else changed.
        assert!(new.contains("ssl_cert = \"/etc/mysql/ssl/server-cert.pem\"\n"));
    }

    #[test]
    fn ssl002_refuses_without_keys_or_text_and_for_bad_paths() {
        let mut h = ey_master();
        h.files.retain(|p, _| !p.ends_with("server.key"));
        let mut w = World::new(vec![h]);
        w.text("db-master", MY_CNF, &ey_without_ssl());
        let (plan, refusals) = w.plan(&[ssl002("db-master", "ssl_key", MY_CNF)]);
        assert!(plan.steps.is_empty());
        let msg = refusals[0].1.to_string();
        assert!(
            msg.contains("server keys are missing (/db/mysql/5.6/data/server.key)")
                && msg.contains("sslaudit keygen --inventory fleet.yaml --environment production"),
            "{msg}"
        );

        let mut w = World::new(vec![ey_master()]);
        let (_, refusals) = w.plan(&[ssl002("db-master", "ssl_key", MY_CNF)]);
        assert!(
            matches!(refusals[0].1, Refusal::FileNotRead { .. }),
            "{refusals:?}"
        );
        w.text("db-master", MY_CNF, &ey_without_ssl());
        let bad = finding(
            "SSL002",
            "db-master",
            Location::file(MY_CNF, Some(60)).with_object("option:ssl_cert"),
        )
        .evidence("path", "/x/server.crt");
        let (plan, refusals) = w.plan(&[bad]);
        assert!(plan.steps.is_empty());
        assert!(matches!(refusals[0].1, Refusal::ServerKeysMissing { .. }));
    }

    #[test]
    fn ssl002_applies_and_rolls_back_on_a_memory_host() {
        let mut w = World::new(vec![ey_master()]);
        let text = ey_without_ssl();
        w.text("db-master", MY_CNF, &text);
        let findings: Vec<Finding> = ["ssl_ca", "ssl_cert", "ssl_key"]
            .iter()
            .map(|o| ssl002("db-master", o, MY_CNF))
            .collect();
        let (plan, _) = w.plan(&findings);
        let hosts = w.targets();
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        let t = &hosts["db-master"];
        let now = read(t, MY_CNF).expect("my.cnf");
        assert!(now.contains("ssl-key                        = /db/mysql/5.6/data/server.key\n"));
        assert_eq!(t.commands().len(), 1);
        rollback_on(&plan.run_id, &hosts, state.path());
        assert_eq!(read(t, MY_CNF).as_deref(), Some(text.as_str()));
        assert_eq!(
            t.commands().len(),
            2,
            "restarted again to load the old file"
        );
    }
}
