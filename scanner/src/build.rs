//! Evidence to facts: runs the parsers over what a collector gathered and
//! works out which TLS files belong together (identities), following the
//! host's layout. Pure: it reads only the evidence it is given.

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::Location;
use sslaudit_rules::facts::{
    CollectionProblem, FileStatus, HostFacts, IdentityKind, MysqlFacts, OptionSet, PlaintextAnswer,
    ProbeFacts, Reachability, TlsIdentity, what,
};
use sslaudit_rules::layout::Layout;
use sslaudit_rules::parse::{
    dbyml, galera, gemfile_lock, mycnf, openssl_cnf, passwd, version, x509,
};

use crate::evidence::{HostEvidence, MysqlRecord, ProbeRecord};

fn problem(
    what: &str,
    path: Option<&str>,
    line: Option<u32>,
    message: String,
) -> CollectionProblem {
    CollectionProblem {
        what: what.to_string(),
        path: path.map(str::to_string),
        line,
        message,
    }
}

/// Builds the facts of one host. A layout error (unknown name or key) is a
/// problem on the host; the engineyard layout is used instead.
pub fn build_host(ev: &HostEvidence) -> HostFacts {
    let mut problems = Vec::new();
    let layout =
        Layout::with_overrides(&ev.meta.layout, &ev.meta.layout_overrides).unwrap_or_else(|e| {
            problems.push(problem(
                "host layout",
                Some(&format!("{}/host.toml", ev.origin)),
                None,
                e.to_string(),
            ));
            Layout::engineyard()
        });
    let mut h = HostFacts::new(&ev.meta.name, &ev.meta.environment, layout);
    h.roles = ev.meta.roles.iter().copied().collect();
    h.declared_at = ev.declared_at.clone();
    h.address = ev.meta.address.clone();
    h.aliases = ev.meta.aliases.clone();
    h.app_user = ev.meta.app_user.clone();
    h.named_users = ev.meta.named_users.clone();
    h.reachability = ev.meta.reachability.clone();
    h.access = ev.meta.access;
    h.problems = ev.meta.problems.clone();
    h.problems.extend(ev.problems.iter().cloned());
    h.problems.extend(problems);
    if let Reachability::Unreachable { .. } = h.reachability {
        return h;
    }

    h.files = ev
        .files
        .iter()
        .map(|(p, e)| {
            let mut meta = e.meta.clone();
            meta.lines = e.content.as_deref().and_then(text_lines);
            (p.clone(), meta)
        })
        .collect();

    h.mysql = ev.mysql.as_ref().map(mysql_facts);
    let server_version = h.mysql.as_ref().and_then(|m| m.version.as_ref());

    // Option files: the layout's roots, includes followed.
    let parsed = mycnf::parse_option_files(&h.layout.option_files, ev);
    h.problems.extend(parsed.problems.iter().cloned());
    if !parsed.files_read.is_empty() {
        h.server_options = Some(mycnf::effective(
            &parsed.entries,
            &mycnf::server_groups(server_version),
        ));
        h.client_options = Some(mycnf::effective(
            &parsed.entries,
            &mycnf::client_groups(server_version),
        ));
    }
    h.galera = galera::galera_facts(&parsed.entries, server_version, h.mysql.as_ref());
    if let Some(g) = h.galera.as_mut() {
        g.ports = ev.galera_ports.clone();
    }
    h.option_files = parsed.files_read;

    if let Some(text) = text_of(ev, "/etc/passwd", &mut h.problems) {
        let (users, bad) = passwd::parse_passwd(&text);
        for (line, msg) in bad {
            h.problems.push(problem(
                "passwd entry",
                Some("/etc/passwd"),
                Some(line),
                msg,
            ));
        }
        h.os_users = Some(users);
    }
    let cnf = h.layout.openssl_cnf.clone();
    if let Some(text) = text_of(ev, &cnf, &mut h.problems) {
        h.openssl_cnf = Some(openssl_cnf::parse_openssl_cnf(&cnf, &text));
    }
    if !ev.meta.database_yml.is_empty() {
        for (package, family) in gemfile_lock::LIBRARY_PACKAGES {
            for arch in gemfile_lock::DPKG_ARCHES {
                let path = gemfile_lock::shlibs_path(package, arch);
                if let Some(lib) = text_of(ev, &path, &mut h.problems)
                    .and_then(|t| gemfile_lock::parse_shlibs(&path, package, family, &t))
                {
                    h.client_libraries.push(lib);
                }
            }
        }
    }
    for path in &ev.meta.database_yml {
        match text_of(ev, path, &mut h.problems) {
            Some(text) => match dbyml::parse_database_yml(path, &text) {
                Ok(mut y) => {
                    let lock = gemfile_lock::path_for(path);
                    y.gemfile_lock = text_of(ev, &lock, &mut h.problems)
                        .map(|t| gemfile_lock::parse_gemfile_lock(&lock, &t));
                    h.database_ymls.push(y);
                }
                Err(e) => h.problems.push(problem(
                    "database.yml",
                    Some(path),
                    Some(e.line),
                    e.message.clone(),
                )),
            },
            None if !ev.files.contains_key(path.as_str()) => h.problems.push(problem(
                "database.yml",
                Some(path),
                None,
                "file listed in host.toml was not collected".into(),
            )),
            None => {}
        }
    }

    h.identities = identities(&h);
    load_keys_and_certs(ev, &mut h);
    h.connection = ev.connection.clone();
    h.probe = ev.probe.as_ref().map(|p| probe_facts(p, &mut h.problems));
    h.problems.sort();
    h.problems.dedup();
    h
}

/// The number of lines of text (a last line without its newline counts),
/// or `None` for bytes that are not UTF-8 text (a DER file).
fn text_lines(bytes: &[u8]) -> Option<u32> {
    std::str::from_utf8(bytes).ok()?;
    let newlines = bytes.iter().filter(|b| **b == b'\n').count();
    let unterminated = usize::from(bytes.last().is_some_and(|b| *b != b'\n'));
    u32::try_from(newlines + unterminated).ok()
}

/// The text of a file, or `None` when absent. Unreadable files and non-UTF-8
/// content are problems.
fn text_of(ev: &HostEvidence, path: &str, problems: &mut Vec<CollectionProblem>) -> Option<String> {
    let entry = ev.files.get(path)?;
    if let FileStatus::Unreadable { reason } = &entry.meta.status {
        problems.push(problem("file", Some(path), None, reason.clone()));
        return None;
    }
    let bytes = entry.content.as_ref()?;
    match String::from_utf8(bytes.clone()) {
        Ok(s) => Some(s),
        Err(e) => {
            problems.push(problem(
                "file",
                Some(path),
                None,
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            ));
            None
        }
    }
}

fn mysql_facts(rec: &MysqlRecord) -> MysqlFacts {
    let lower = |m: &BTreeMap<String, String>| {
        m.iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let variables = lower(&rec.variables);
    let version = variables.get("version").and_then(|v| {
        version::parse_version(v, variables.get("version_comment").map(String::as_str))
    });
    MysqlFacts {
        version,
        variables,
        status: lower(&rec.status),
        accounts: rec.accounts.clone(),
        replication: rec.replication.clone(),
        tls_channels: rec.tls_channels.clone(),
        sessions: rec.sessions.clone(),
    }
}

fn probe_facts(rec: &ProbeRecord, problems: &mut Vec<CollectionProblem>) -> ProbeFacts {
    let origin = format!("probe:{}", rec.address);
    // No greeting: the probe says nothing about TLS (a failed handshake
    // after a greeting is SSL018's), but the rules that read the wire
    // checked nothing, which the report must say.
    if rec.greeting_version.is_none()
        && let Some(err) = &rec.error
    {
        problems.push(CollectionProblem::new(
            what::TLS_PROBE,
            format!("{}: {err}", rec.address),
        ));
    }
    let mut chain = Vec::new();
    for (i, pem) in rec.chain_pem.iter().enumerate() {
        match crate::certcache::parse_certificates(&origin, pem.as_bytes()) {
            Ok(certs) => chain.extend(certs.into_iter().map(|mut c| {
                c.index = i;
                c
            })),
            Err(e) => problems.push(problem(
                "presented certificate",
                Some(&origin),
                None,
                format!("certificate {i} of the chain: {e}"),
            )),
        }
    }
    ProbeFacts {
        address: rec.address.clone(),
        greeting_version: rec.greeting_version.clone(),
        advertises_ssl: rec.advertises_ssl,
        protocol: rec.protocol.clone(),
        cipher: rec.cipher.clone(),
        chain,
        accepted: rec.accepted.clone(),
        error: rec.error.clone(),
        plaintext: rec.plaintext.clone().map(PlaintextAnswer::normalized),
        requests_client_cert: rec.requests_client_cert,
        client_ca_names: rec.client_ca_names.clone(),
    }
}

/// Resolves an ssl-* option value against the data directory, as mysqld does.
fn resolve(path: &str, datadir: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{}", datadir.trim_end_matches('/'), path)
    }
}

/// The data directory (see [`Layout::data_dir`]).
fn data_dir(h: &HostFacts) -> String {
    let option = h
        .server_options
        .as_ref()
        .and_then(|o| o.get("datadir"))
        .map(|d| d.as_str());
    h.layout
        .data_dir(option, h.files.keys().map(String::as_str))
}

fn existing(h: &HostFacts, path: String) -> Option<String> {
    h.file_exists(&path).then_some(path)
}

fn option_identity(opts: &OptionSet, kind: IdentityKind, datadir: &str) -> Option<TlsIdentity> {
    let get = |n: &str| opts.get(n).filter(|v| !v.as_str().is_empty());
    let (ca, cert, key) = (get("ssl_ca"), get("ssl_cert"), get("ssl_key"));
    let origin = [cert, ca, key].into_iter().flatten().next()?.location();
    let path =
        |v: Option<&sslaudit_rules::facts::OptionValue>| v.map(|v| resolve(v.as_str(), datadir));
    Some(TlsIdentity {
        kind,
        origin,
        ca: path(ca),
        cert: path(cert),
        key: path(key),
    })
}

fn identities(h: &HostFacts) -> Vec<TlsIdentity> {
    let mut out = Vec::new();
    let datadir = data_dir(h);
    if let Some(opts) = &h.server_options
        && let Some(id) = option_identity(opts, IdentityKind::Server, &datadir)
    {
        out.push(id);
    }
    let l = &h.layout;
    let dir_files = |dir: &str| -> BTreeSet<String> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        h.files
            .iter()
            .filter(|(p, m)| p.starts_with(&prefix) && m.status != FileStatus::Missing)
            .filter_map(|(p, _)| p[prefix.len()..].split('/').next().map(str::to_string))
            .collect()
    };
    let trio = |dir: &str, kind: IdentityKind| TlsIdentity {
        kind,
        origin: Location::file(dir.to_string(), None),
        ca: existing(h, format!("{dir}/{}", l.client_ca)),
        cert: existing(h, format!("{dir}/{}", l.client_cert)),
        key: existing(h, format!("{dir}/{}", l.client_key)),
    };
    if let Some(keygen) = &l.keygen_dir {
        for user in dir_files(keygen) {
            let dir = format!("{}/{user}", keygen.trim_end_matches('/'));
            let id = trio(&dir, IdentityKind::Keygen { user });
            if id.ca.is_some() || id.cert.is_some() || id.key.is_some() {
                out.push(id);
            }
        }
    }
    if let Some(users) = &h.os_users {
        for u in users.values() {
            let dir = l.client_dir_for(&u.home);
            if dir_files(&dir).is_empty() {
                continue;
            }
            out.push(trio(
                &dir,
                IdentityKind::UserHome {
                    user: u.name.clone(),
                },
            ));
        }
    }
    if let Some(opts) = &h.client_options
        && let Some(id) = option_identity(opts, IdentityKind::ClientOptions, &datadir)
    {
        out.push(id);
    }
    for yml in &h.database_ymls {
        for env in &yml.environments {
            // Literal values, as the paths the files were collected under.
            let lit = |v: &Option<sslaudit_rules::facts::YmlValue>| {
                v.as_ref().filter(|v| !v.erb).map(|v| match v.value.trim() {
                    "" => String::new(),
                    path => yml.resolve(path),
                })
            };
            let (ca, cert, key) = (lit(&env.sslca), lit(&env.sslcert), lit(&env.sslkey));
            if ca.is_none() && cert.is_none() && key.is_none() {
                continue;
            }
            out.push(TlsIdentity {
                kind: IdentityKind::App {
                    path: yml.path.clone(),
                    environment: env.name.clone(),
                },
                origin: Location::file(yml.path.clone(), Some(env.line)),
                ca,
                cert,
                key,
            });
        }
    }
    out
}

/// Parses every certificate and private key the host handed over: files
/// named by an identity must parse (else a problem); other files are parsed
/// when they look like a certificate or key.
fn load_keys_and_certs(ev: &HostEvidence, h: &mut HostFacts) {
    let named_certs: BTreeSet<&str> = h
        .identities
        .iter()
        .flat_map(|i| [i.ca.as_deref(), i.cert.as_deref()])
        .flatten()
        .collect();
    let named_keys: BTreeSet<&str> = h
        .identities
        .iter()
        .filter_map(|i| i.key.as_deref())
        .collect();
    let mut certs = BTreeMap::new();
    let mut keys = BTreeMap::new();
    let mut problems = Vec::new();
    for (path, entry) in &ev.files {
        if let Some(k) = &entry.key {
            keys.insert(path.clone(), k.clone());
            continue;
        }
        let Some(bytes) = &entry.content else {
            continue;
        };
        let p = path.as_str();
        // A public key (MySQL's public_key.pem, beside its private_key.pem
        // for sha256_password) is no certificate, whatever its extension.
        if x509::looks_like_public_key(bytes) {
            if named_certs.contains(p) {
                problems.push(problem(
                    "certificate",
                    Some(p),
                    None,
                    "the file holds a public key, not a certificate".to_string(),
                ));
            }
            continue;
        }
        if x509::looks_like_private_key(bytes)
            || (named_keys.contains(p) && !x509::looks_like_certificate(bytes))
        {
            match x509::parse_private_key(bytes) {
                Ok(k) => {
                    keys.insert(path.clone(), k);
                }
                Err(e) => problems.push(problem("private key", Some(p), None, e.to_string())),
            }
        } else if x509::looks_like_certificate(bytes)
            || named_certs.contains(p)
            || has_cert_extension(p)
        {
            match crate::certcache::parse_certificates(p, bytes) {
                Ok(c) => {
                    certs.insert(path.clone(), c);
                }
                Err(e) => problems.push(problem("certificate", Some(p), None, e.to_string())),
            }
        }
    }
    h.certificates = certs;
    h.private_keys = keys;
    h.problems.extend(problems);
}

fn has_cert_extension(path: &str) -> bool {
    [".crt", ".pem", ".cer", ".der"]
        .iter()
        .any(|e| path.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts_of_text_only() {
        assert_eq!(text_lines(b""), Some(0));
        assert_eq!(text_lines(b"a\nb\n"), Some(2));
        assert_eq!(text_lines(b"a\nb"), Some(2));
        assert_eq!(text_lines(&[0x30, 0x82, 0xff, 0xfe]), None);
    }

    #[test]
    fn relative_paths_resolve_against_the_data_dir() {
        assert_eq!(
            resolve("server.crt", "/var/lib/mysql/"),
            "/var/lib/mysql/server.crt"
        );
        assert_eq!(resolve("/etc/x.crt", "/var/lib/mysql"), "/etc/x.crt");
    }
}
