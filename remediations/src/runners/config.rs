//! Config fixes: the server's ssl-ca/ssl-cert/ssl-key options (SSL002),
//! stale auto-generated keys (SSL009), the RANDFILE line of openssl.cnf
//! (SSL010) and private key modes (SSL014).
//!
//! Edits are minimal text edits of the collected file: lines are added or
//! commented out, every other byte (comments, alignment, line endings)
//! stays as it was, and the result is parsed again with the scanner's own
//! parser to prove it says what the fix intends before it is planned.

use std::collections::{BTreeMap, BTreeSet};

use sslaudit_rules::facts::{HostFacts, IdentityKind, OptionSet, OptionValue};
use sslaudit_rules::parse::mycnf::{effective, parse_option_files, server_groups};
use sslaudit_rules::parse::openssl_cnf::parse_openssl_cnf;
use sslaudit_rules::parse::{FileSource, SourceError};
use sslaudit_rules::{Finding, SubjectKind};

use super::server::server_version;
use super::{Builder, Draft, Phase, Refusal, bare, indent_of, line_ending, split_lines};
use crate::plan::{Action, Applicability, Precondition};

/// The server options SSL002 fixes: (normalized name, name written).
const SSL_FILES: [(&str, &str); 3] = [
    ("ssl_ca", "ssl-ca"),
    ("ssl_cert", "ssl-cert"),
    ("ssl_key", "ssl-key"),
];

/// Options that sit with the TLS settings; new ssl lines go right after the
/// last of them that mysqld reads.
const TLS_NEIGHBOURS: [&str; 8] = [
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
    "ssl_capath",
    "ssl_cipher",
    "ssl_crl",
    "tls_version",
    "require_secure_transport",
];

fn explain_hint(rule: &str) -> String {
    format!("fix it by hand as `sslaudit explain {rule}` describes")
}

/// An option value without the quotes an option file may keep around it.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.trim();
        }
    }
    v
}

fn set_option<'o>(opts: &'o OptionSet, name: &str) -> Option<&'o OptionValue> {
    opts.get(name).filter(|o| !unquote(o.as_str()).is_empty())
}

/// A path as an option value: quoted when it holds blanks or `#`; `None`
/// for what an option file cannot hold unchanged (quotes, backslashes,
/// control characters).
fn option_value(path: &str) -> Option<String> {
    if path
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return None;
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || c == '#' || c == '\'')
    {
        Some(format!("\"{path}\""))
    } else {
        Some(path.to_string())
    }
}

/// `name<sep>value` in the style of `like` (an option line of the same
/// file): its indentation, and its `=` either aligned at the same column
/// (padded files) or with the same spacing.
fn option_line(like: Option<&str>, name: &str, value: &str) -> String {
    let Some(like) = like.map(bare) else {
        return format!("{name} = {value}");
    };
    let indent = indent_of(like);
    let body = &like[indent.len()..];
    let Some(eq) = body.find('=') else {
        return format!("{indent}{name} = {value}");
    };
    let key_len = body[..eq].trim_end().len();
    let after = body[eq + 1..].len() - body[eq + 1..].trim_start().len();
    let before = eq - key_len;
    let gap_after = " ".repeat(after);
    if before > 1 {
        // Aligned: put `=` in the same column when the name fits.
        let pad = if name.len() < eq {
            " ".repeat(eq - name.len())
        } else {
            " ".to_string()
        };
        format!("{indent}{name}{pad}={gap_after}{value}")
    } else {
        format!("{indent}{name}{}={gap_after}{value}", " ".repeat(before))
    }
}

/// An option-file line that sets an option (not blank, a comment, a group
/// header or a directive).
fn is_option_line(line: &str) -> bool {
    let t = bare(line).trim();
    !(t.is_empty()
        || t.starts_with('#')
        || t.starts_with(';')
        || t.starts_with('[')
        || t.starts_with('!'))
}

fn group_header(line: &str) -> Option<String> {
    let t = bare(line).trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim().to_ascii_lowercase())
}

/// The line (0-based) after which options go at the end of the last
/// `[mysqld]` group of a file: its last option line, or its header.
fn end_of_mysqld(lines: &[&str]) -> Option<usize> {
    let mut found = None;
    let mut in_group = false;
    for (i, l) in lines.iter().enumerate() {
        if let Some(g) = group_header(l) {
            in_group = g == "mysqld";
            if in_group {
                found = Some(i);
            }
            continue;
        }
        if in_group && is_option_line(l) {
            found = Some(i);
        }
    }
    found
}

/// One file, as a [`FileSource`] for re-parsing an edited option file.
struct OneFile<'t> {
    path: &'t str,
    text: &'t str,
}

impl FileSource for OneFile<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if path == self.path {
            Ok(self.text.as_bytes().to_vec())
        } else {
            Err(SourceError::Missing)
        }
    }

    fn list_dir(&self, _path: &str) -> Result<Vec<String>, SourceError> {
        Err(SourceError::Missing)
    }
}

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
        push(unquote(d.as_str()).to_string());
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
pub(crate) fn ssl_options(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
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
                if let Err(r) = fill_empty(b, host, empty, &values[n], &why_of(n)) {
                    return refuse_all(b, r);
                }
            }
            None => rest.push(n),
        }
    }
    if !rest.is_empty()
        && let Err(r) = insert_options(b, host, opts, &rest, &values)
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

fn fill_empty(
    b: &mut Builder,
    host: &HostFacts,
    empty: &OptionValue,
    value: &str,
    why: &str,
) -> Result<(), Refusal> {
    let text = b.text(host, &empty.file)?;
    let lines = split_lines(&text);
    let idx = usize::try_from(empty.line).unwrap_or(0).wrapping_sub(1);
    let Some(line) = lines.get(idx).filter(|l| {
        bare(l)
            .to_ascii_lowercase()
            .contains(&empty.spelled.to_ascii_lowercase())
    }) else {
        return Err(Refusal::CannotEdit {
            host: host.name.clone(),
            path: empty.file.clone(),
            reason: format!("line {} no longer sets {}", empty.line, empty.spelled),
            instead: "rescan the host and plan again".into(),
        });
    };
    let body = bare(line);
    let ending = &line[body.len()..];
    let new = match body.find('=') {
        Some(eq) => {
            let space = if body[..eq].ends_with(' ') { " " } else { "" };
            format!("{}{space}{value}{ending}", &body[..=eq])
        }
        None => format!("{body} = {value}{ending}"),
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[idx] = new;
    let new_text = out.concat();
    verify_options(host, &empty.file, &new_text, &[(&empty.spelled, value)])?;
    b.edit(
        host,
        &empty.file,
        new_text,
        format!("set {} in [{}] ({why})", empty.spelled, empty.group),
    );
    Ok(())
}

fn insert_options(
    b: &mut Builder,
    host: &HostFacts,
    opts: &OptionSet,
    names: &[&str],
    values: &BTreeMap<&str, String>,
) -> Result<(), Refusal> {
    // Beside the TLS options mysqld reads last, else at the end of the last
    // [mysqld] group of the last option file that has one.
    let neighbour = TLS_NEIGHBOURS
        .iter()
        .filter_map(|n| opts.get(n))
        .max_by_key(|o| host.option_read_order(o));
    let (path, after, group) = match neighbour {
        Some(o) => {
            let text = b.text(host, &o.file)?;
            let lines = split_lines(&text);
            let idx = usize::try_from(o.line).unwrap_or(0).wrapping_sub(1);
            let holds = lines.get(idx).is_some_and(|l| {
                bare(l)
                    .to_ascii_lowercase()
                    .contains(&o.spelled.to_ascii_lowercase())
            });
            if !holds {
                return Err(Refusal::CannotEdit {
                    host: host.name.clone(),
                    path: o.file.clone(),
                    reason: format!("line {} no longer sets {}", o.line, o.spelled),
                    instead: "rescan the host and plan again".into(),
                });
            }
            (o.file.clone(), idx, o.group.clone())
        }
        None => {
            let files: Vec<String> = if host.option_files.is_empty() {
                host.layout.option_files.clone()
            } else {
                host.option_files.clone()
            };
            let mut unread = None;
            let mut found = None;
            for f in files.iter().rev() {
                match b.text(host, f) {
                    Ok(text) => {
                        if let Some(i) = end_of_mysqld(&split_lines(&text)) {
                            found = Some((f.clone(), i, "mysqld".to_string()));
                            break;
                        }
                    }
                    Err(r) => {
                        unread.get_or_insert(r);
                    }
                }
            }
            match (found, unread) {
                (Some(f), _) => f,
                (None, Some(r)) => return Err(r),
                (None, None) => {
                    return Err(Refusal::CannotEdit {
                        host: host.name.clone(),
                        path: files.join(", "),
                        reason: "no option file mysqld reads has a [mysqld] group".into(),
                        instead: "add a [mysqld] group with ssl-ca, ssl-cert and ssl-key by hand (`sslaudit explain SSL002`)".into(),
                    });
                }
            }
        }
    };
    let text = b.text(host, &path)?;
    let lines = split_lines(&text);
    let nl = line_ending(&text);
    let like = lines
        .get(after)
        .copied()
        .filter(|l| is_option_line(l) && l.contains('='))
        .or_else(|| {
            lines[..after.min(lines.len())]
                .iter()
                .rev()
                .copied()
                .find(|l| is_option_line(l) && l.contains('='))
        });
    let mut added = String::new();
    // A file whose last line has no newline gets one before ours.
    let last_unterminated = lines.get(after).is_some_and(|l| !l.ends_with('\n'));
    if last_unterminated {
        added.push_str(nl);
    }
    added.push_str(&format!(
        "{}# TLS keys of the {} layout (added by sslaudit run {}){nl}",
        like.map(indent_of).unwrap_or(""),
        host.layout.name,
        b.meta.run_id
    ));
    let mut expect = Vec::new();
    for n in names {
        let spelled = n.replace('_', "-");
        added.push_str(&option_line(like, &spelled, &values[n]));
        added.push_str(nl);
        expect.push((spelled, values[n].clone()));
    }
    let mut out: Vec<&str> = lines.clone();
    let insert_at = (after + 1).min(out.len());
    out.insert(insert_at, &added);
    let new_text = out.concat();
    let expect_ref: Vec<(&str, &str)> = expect
        .iter()
        .map(|(a, v)| (a.as_str(), v.as_str()))
        .collect();
    verify_options(host, &path, &new_text, &expect_ref)?;
    let shown: Vec<String> = expect.iter().map(|(a, _)| a.clone()).collect();
    b.edit(
        host,
        &path,
        new_text,
        format!(
            "add {} to [{group}] of {path} naming the server keys in the data directory (SSL002)",
            shown.join(", ")
        ),
    );
    if let Some(note) = managed_note(&text) {
        b.display(
            &host.name,
            format!(
                "{path} says \"{note}\": configuration management may revert this edit at its next run; put the same lines in its template (for the seed's stack, a custom chef recipe or a file under /etc/mysql/conf.d/)"
            ),
            format!("[{group}]{nl}{}", added.trim_start_matches(['\r', '\n'])),
        );
    }
    Ok(())
}

/// The "generated by" line of a file managed by configuration management.
fn managed_note(text: &str) -> Option<String> {
    text.lines().take(5).find_map(|l| {
        let lower = l.to_ascii_lowercase();
        (l.trim_start().starts_with('#')
            && (lower.contains("generated by chef")
                || lower.contains("managed by")
                || lower.contains("will be overwritten")))
        .then(|| l.trim_start_matches(['#', ' ']).trim().to_string())
    })
}

/// The edited file, parsed alone as mysqld would, sets each option to the
/// value in a group mysqld reads.
fn verify_options(
    host: &HostFacts,
    path: &str,
    text: &str,
    expect: &[(&str, &str)],
) -> Result<(), Refusal> {
    let parsed = parse_option_files(&[path.to_string()], &OneFile { path, text });
    let version = server_version(host);
    let set = effective(&parsed.entries, &server_groups(version.as_ref()));
    for (name, value) in expect {
        let got = set.get(name).map(|o| o.as_str().to_string());
        if got.as_deref() != Some(unquote(value)) {
            return Err(Refusal::CannotEdit {
                host: host.name.clone(),
                path: path.to_string(),
                reason: format!("the edited file would set {name} to {got:?}, not {value}"),
                instead: explain_hint("SSL002"),
            });
        }
    }
    Ok(())
}

/// SSL010: comments out every active RANDFILE line of openssl.cnf (the
/// seed's Key Maintenance step 2).
pub(crate) fn randfile(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    let refuse_all = |b: &mut Builder, r: Refusal| {
        for f in findings {
            b.refuse(f, r.clone());
        }
    };
    let Some(cnf) = &host.openssl_cnf else {
        return refuse_all(
            b,
            Refusal::NotCollected {
                host: host.name.clone(),
                what: host.layout.openssl_cnf.clone(),
            },
        );
    };
    let path = cnf.path.clone();
    let text = match b.text(host, &path) {
        Ok(t) => t,
        Err(r) => return refuse_all(b, r),
    };
    let active = parse_openssl_cnf(&path, &text).randfile;
    if active.is_empty() {
        return refuse_all(
            b,
            Refusal::AlreadyFixed {
                host: host.name.clone(),
                what: format!("RANDFILE in {path}"),
            },
        );
    }
    let lines = split_lines(&text);
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut numbers = Vec::new();
    for (n, _) in &active {
        let i = usize::try_from(*n).unwrap_or(0).wrapping_sub(1);
        if let Some(l) = out.get_mut(i) {
            let ind = indent_of(l).len();
            l.insert(ind, '#');
            numbers.push(n.to_string());
        }
    }
    let new_text = out.concat();
    if !parse_openssl_cnf(&path, &new_text).randfile.is_empty() {
        return refuse_all(
            b,
            Refusal::CannotEdit {
                host: host.name.clone(),
                path,
                reason: "a RANDFILE line stays active after commenting out".into(),
                instead: explain_hint("SSL010"),
            },
        );
    }
    b.edit(
        host,
        &path,
        new_text,
        format!(
            "comment out RANDFILE (line {}): with it active, key generation fails when $HOME/.rnd does not exist (the seed's Key Maintenance step 2; SSL010)",
            numbers.join(", ")
        ),
    );
    b.fixes("SSL010");
}

/// Who must own a private key, by where it is (as SSL014 judges).
fn key_owner(
    host: &HostFacts,
    path: &str,
    current: Option<&str>,
) -> (Option<String>, Option<String>) {
    let service = &host.layout.service_user;
    if host
        .server_identity()
        .is_some_and(|id| id.key.as_deref() == Some(path))
    {
        return (Some(service.clone()), Some(service.clone()));
    }
    if let Some(keygen) = host.layout.keygen_dir.as_deref()
        && path.starts_with(&format!("{}/", keygen.trim_end_matches('/')))
    {
        // root generates them; the service user may own them too.
        return match current {
            Some(o) if o == "root" || o == service => (None, None),
            _ => (Some("root".into()), None),
        };
    }
    for id in &host.identities {
        if let IdentityKind::UserHome { user } = &id.kind
            && id.key.as_deref() == Some(path)
        {
            return (Some(user.clone()), None);
        }
    }
    if let Some(users) = &host.os_users {
        for u in users.values() {
            let dir = host.layout.client_dir_for(&u.home);
            if path.starts_with(&format!("{dir}/")) {
                return (Some(u.name.clone()), None);
            }
        }
    }
    (None, None)
}

/// SSL014: sets keys that are too open to 0600, owned by the service user
/// (server keys, with its group), the user whose `~/.mysql` holds them, or
/// root (keygen directory).
pub(crate) fn key_modes(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    for f in findings {
        let path = match f.subject_kind() {
            Some(SubjectKind::Key(path)) => Some(path.as_str()),
            _ => None,
        }
        .or(f.location.file.as_deref())
        .unwrap_or("")
        .to_string();
        let Some(meta) = host.file(&path).filter(|_| host.file_exists(&path)) else {
            b.refuse(
                f,
                Refusal::NotCollected {
                    host: host.name.clone(),
                    what: format!("the mode and owner of {path}"),
                },
            );
            continue;
        };
        let (owner, group) = key_owner(host, &path, meta.owner.as_deref());
        let owner = owner.filter(|o| meta.owner.as_deref() != Some(o.as_str()) || group.is_some());
        let was = format!(
            "{}{}",
            meta.mode
                .map(|m| format!("mode {m:04o}"))
                .unwrap_or_else(|| "mode unknown".into()),
            match (&meta.owner, &meta.group) {
                (Some(o), Some(g)) => format!(", owned by {o}:{g}"),
                (Some(o), None) => format!(", owned by {o}"),
                _ => String::new(),
            }
        );
        let leaked = meta.mode.is_some_and(|m| m & 0o004 != 0);
        let mut why = format!("private key {path} was {was}: only its owner may read it (SSL014)");
        if leaked {
            why.push_str(&format!(
                "; it was readable by every user, so treat it as leaked and replace it (`{}`)",
                b.env.rotate_command()
            ));
        }
        b.push(Draft {
            phase: Phase::Files,
            host: host.name.clone(),
            action: Action::SetMode {
                path: path.clone(),
                mode: 0o600,
                owner,
                group,
            },
            why,
            precondition: Some(Precondition::FileExists { path }),
            undo: None,
            undo_last: false,
            applicability: Applicability::Safe,
        });
        b.fixes("SSL014");
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn file_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, f)| f)
}

/// SSL009: moves MySQL's auto-generated certificates (and the keys that
/// belong to them) out of a data directory the server is not configured
/// with, into `<old_keys_dir>/server/<run id>/`; restarts a server that
/// presents an auto-generated certificate although its own is configured.
pub(crate) fn stale_autogenerated(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    let configured: BTreeSet<&str> = host
        .identities
        .iter()
        .filter(|i| matches!(i.kind, IdentityKind::Server | IdentityKind::ClientOptions))
        .flat_map(|i| [&i.ca, &i.cert, &i.key])
        .flatten()
        .map(String::as_str)
        .collect();
    let mut moves: Vec<(String, Vec<String>)> = Vec::new();
    for f in findings {
        let object = f.location.object.as_deref().unwrap_or("");
        if let Some(SubjectKind::Autogen(dir)) = f.subject_kind() {
            let certs: Vec<_> = host
                .certificates
                .iter()
                .filter(|(p, _)| parent(p) == dir)
                .filter_map(|(p, c)| c.iter().find(|c| c.is_auto_generated()).map(|c| (p, c)))
                .collect();
            let spkis: BTreeSet<&str> = certs.iter().map(|(_, c)| c.spki_sha256.as_str()).collect();
            let mut files: BTreeSet<String> = certs.iter().map(|(p, _)| (*p).clone()).collect();
            files.extend(
                host.private_keys
                    .iter()
                    .filter(|(p, k)| {
                        parent(p) == dir
                            && k.spki_sha256.as_deref().is_some_and(|s| spkis.contains(s))
                    })
                    .map(|(p, _)| p.clone()),
            );
            // Never move what the server or its clients are configured with.
            files.retain(|p| !configured.contains(p.as_str()) && host.file_exists(p));
            if files.is_empty() {
                b.refuse(
                    f,
                    Refusal::AlreadyFixed {
                        host: host.name.clone(),
                        what: format!("auto-generated keys in {dir}"),
                    },
                );
                continue;
            }
            moves.push((dir.to_string(), files.into_iter().collect()));
        } else if let Some(SubjectKind::Probe(_)) = f.subject_kind() {
            let own = host
                .server_identity()
                .and_then(|i| i.cert.as_deref())
                .and_then(|c| host.leaf_certificate(c))
                .filter(|c| !c.is_auto_generated());
            match own {
                Some(c) => {
                    b.restart_mysql(
                        &host.name,
                        format!(
                            "the server presents MySQL's auto-generated certificate, not the configured {}: restart it so it loads its own keys (the seed's Caveats: Pre-existing MySQL 5.7; SSL009)",
                            c.path
                        ),
                    );
                    b.fixes("SSL009");
                }
                None => b.refuse(
                    f,
                    Refusal::NotFixable {
                        host: host.name.clone(),
                        reason: "the server presents MySQL's auto-generated certificate and no certificate of its own is configured".into(),
                        instead: b.env.keygen_hint(),
                    },
                ),
            }
        } else {
            // The configured certificate is itself auto-generated: moving
            // it would break the server; new keys replace it.
            b.refuse(
                f,
                Refusal::NotFixable {
                    host: host.name.clone(),
                    reason: format!("{object} is MySQL's auto-generated certificate and the server is configured with it"),
                    instead: format!(
                        "issue the layout's keys with `{}` (or keygen)",
                        b.env.rotate_command()
                    ),
                },
            );
        }
    }
    if moves.is_empty() {
        return;
    }
    let base = format!(
        "{}/server/{}",
        host.layout.old_keys_dir.trim_end_matches('/'),
        b.meta.run_id
    );
    // Files of one name in two directories keep their directory below the
    // backup folder, so neither overwrites the other.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, files) in &moves {
        for p in files {
            *names.entry(file_name(p)).or_default() += 1;
        }
    }
    let mirror = names.values().any(|n| *n > 1);
    let mut dirs: Vec<String> = Vec::new();
    let mut steps: Vec<(String, String, String)> = Vec::new();
    for (dir, files) in &moves {
        let dest_dir = if mirror {
            format!("{base}{dir}")
        } else {
            base.clone()
        };
        if !dirs.contains(&dest_dir) {
            dirs.push(dest_dir.clone());
        }
        for p in files {
            steps.push((
                p.clone(),
                format!("{dest_dir}/{}", file_name(p)),
                dir.clone(),
            ));
        }
    }
    for d in dirs {
        b.push(Draft {
            phase: Phase::Files,
            host: host.name.clone(),
            action: Action::MakeDir {
                path: d,
                mode: 0o700,
                owner: None,
            },
            why: "backup folder of this run for the auto-generated keys (the seed's /db/old_keys/server; private keys inside, so 0700)".into(),
            precondition: None,
            undo: None,
            undo_last: false,
            applicability: Applicability::Safe,
        });
    }
    for (from, to, dir) in steps {
        b.push(Draft {
            phase: Phase::Files,
            host: host.name.clone(),
            action: Action::MoveFile {
                from: from.clone(),
                to,
            },
            why: format!(
                "MySQL's auto-generated key file in {dir}, not the configured keys: moved aside so a later start cannot pick it up (the seed's Caveats: Pre-existing MySQL 5.7; SSL009)"
            ),
            precondition: Some(Precondition::FileExists { path: from }),
            undo: None,
            undo_last: false,
            applicability: Applicability::Safe,
        });
    }
    b.fixes("SSL009");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runners::testutil::*;
    use crate::target::Target;
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::{Flavor, OpensslCnf};

    const EY_MY_CNF: &str =
        include_str!("../../../fixtures/parsers/mycnf/engineyard-mysql56/etc/mysql/my.cnf");
    const DEBIAN_SERVER_CNF: &str = include_str!(
        "../../../fixtures/parsers/mycnf/debian12-mariadb/etc/mysql/mariadb.conf.d/50-server.cnf"
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

    const UBUNTU_CNF: &str = "#\n# OpenSSL example configuration file.\n#\n\n# This definition stops the following lines choking if HOME isn't\n# defined.\nHOME\t\t\t= .\nRANDFILE\t\t= $ENV::HOME/.rnd\n\n[ CA_default ]\ndir\t\t= ./demoCA\n  RANDFILE = $dir/private/.rand\t# private random number file\n";

    #[test]
    fn ssl010_comments_out_every_active_randfile_line_and_rolls_back() {
        let mut h = db_host("db-master");
        h.openssl_cnf = Some(OpensslCnf {
            path: "/etc/ssl/openssl.cnf".into(),
            randfile: vec![(8, "RANDFILE\t\t= $ENV::HOME/.rnd".into())],
        });
        file(&mut h, "/etc/ssl/openssl.cnf", 0o644, "root", "root");
        let mut w = World::new(vec![h]);
        w.text("db-master", "/etc/ssl/openssl.cnf", UBUNTU_CNF);
        let f = finding(
            "SSL010",
            "db-master",
            Location::file("/etc/ssl/openssl.cnf", Some(8)).with_object("openssl-cnf:RANDFILE"),
        );
        let (plan, refusals) = w.plan(std::slice::from_ref(&f));
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, "/etc/ssl/openssl.cnf");
        assert_eq!(
            new,
            UBUNTU_CNF
                .replace("RANDFILE\t\t=", "#RANDFILE\t\t=")
                .replace("  RANDFILE = $dir", "  #RANDFILE = $dir")
        );
        assert_eq!(plan.steps[0].applicability, Applicability::Safe);
        let hosts = w.targets();
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        assert_eq!(
            read(&hosts["db-master"], "/etc/ssl/openssl.cnf").as_deref(),
            Some(new.as_str())
        );
        rollback_on(&plan.run_id, &hosts, state.path());
        assert_eq!(
            read(&hosts["db-master"], "/etc/ssl/openssl.cnf").as_deref(),
            Some(UBUNTU_CNF)
        );

        // Already commented out in the collected text: nothing to do.
        w.text("db-master", "/etc/ssl/openssl.cnf", &new);
        let (plan, refusals) = w.plan(&[f]);
        assert!(plan.steps.is_empty());
        assert!(matches!(refusals[0].1, Refusal::AlreadyFixed { .. }));
    }

    #[test]
    fn ssl014_tightens_keys_to_their_expected_owners_and_rolls_back() {
        let mut h = db_host("db-master");
        server_keys(&mut h, DATA);
        let server_key = format!("{DATA}/server.key");
        key(&mut h, &server_key, 0o644, "root", None);
        key(
            &mut h,
            "/db/mysql/keygen/deploy/mysql.key",
            0o640,
            "root",
            None,
        );
        let mut app = app_host("app-1");
        client_keys(&mut app, PROD_DEPLOY);
        key(
            &mut app,
            "/home/deploy/.mysql/mysql.key",
            0o644,
            "root",
            None,
        );
        let w = World::new(vec![h, app]);
        let f = |host: &str, p: &str| {
            finding(
                "SSL014",
                host,
                Location::file(p, None).with_object(format!("key:{p}")),
            )
        };
        let findings = [
            f("app-1", "/home/deploy/.mysql/mysql.key"),
            f("db-master", &server_key),
            f("db-master", "/db/mysql/keygen/deploy/mysql.key"),
        ];
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        let modes: Vec<(&str, &Action)> = plan
            .steps
            .iter()
            .map(|s| (s.host.as_str(), &s.action))
            .collect();
        assert_eq!(
            modes,
            [
                (
                    "db-master",
                    &Action::SetMode {
                        path: server_key.clone(),
                        mode: 0o600,
                        owner: Some("mysql".into()),
                        group: Some("mysql".into())
                    }
                ),
                (
                    "db-master",
                    &Action::SetMode {
                        path: "/db/mysql/keygen/deploy/mysql.key".into(),
                        mode: 0o600,
                        owner: None,
                        group: None
                    }
                ),
                (
                    "app-1",
                    &Action::SetMode {
                        path: "/home/deploy/.mysql/mysql.key".into(),
                        mode: 0o600,
                        owner: Some("deploy".into()),
                        group: None
                    }
                ),
            ]
        );
        assert!(
            plan.steps[0].why.contains("treat it as leaked"),
            "{}",
            plan.steps[0].why
        );
        let hosts = w.targets();
        hosts["db-master"].add_file(&server_key, b"k", 0o644, Some("root"));
        hosts["db-master"].add_file(
            "/db/mysql/keygen/deploy/mysql.key",
            b"k",
            0o640,
            Some("root"),
        );
        hosts["app-1"].add_file("/home/deploy/.mysql/mysql.key", b"k", 0o644, Some("root"));
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        let m = hosts["db-master"]
            .read_file(&server_key)
            .expect("read")
            .expect("there");
        assert_eq!(
            (m.mode, m.owner.as_deref(), m.group.as_deref()),
            (0o600, Some("mysql"), Some("mysql"))
        );
        let m = hosts["app-1"]
            .read_file("/home/deploy/.mysql/mysql.key")
            .expect("read")
            .expect("there");
        assert_eq!((m.mode, m.owner.as_deref()), (0o600, Some("deploy")));
        rollback_on(&plan.run_id, &hosts, state.path());
        for (host, path, mode) in [
            ("db-master", server_key.as_str(), 0o644),
            ("db-master", "/db/mysql/keygen/deploy/mysql.key", 0o640),
            ("app-1", "/home/deploy/.mysql/mysql.key", 0o644),
        ] {
            let m = hosts[host].read_file(path).expect("read").expect("there");
            assert_eq!((m.mode, m.owner.as_deref()), (mode, Some("root")), "{path}");
        }
    }

    fn autogen_master() -> (HostFacts, Vec<Finding>) {
        let mut h = db_host("db-master");
        server_keys(&mut h, DATA);
        let old = "/db/mysql/5.7/data";
        // Stand-ins for MySQL's auto-generated files: certificates whose
        // subject says Auto_Generated, and the keys that match them.
        let mut c = leaf(&format!("{old}/ca.pem"), PROD_CA);
        c.subject = "CN=MySQL_Server_5.7.44_Auto_Generated_CA_Certificate".into();
        let mut s = leaf(&format!("{old}/server-cert.pem"), PROD_DEPLOY);
        s.subject = "CN=MySQL_Server_5.7.44_Auto_Generated_Server_Certificate".into();
        for cert in [&c, &s] {
            file(&mut h, &cert.path, 0o644, "mysql", "mysql");
            h.certificates.insert(cert.path.clone(), vec![cert.clone()]);
        }
        key(
            &mut h,
            &format!("{old}/ca-key.pem"),
            0o600,
            "mysql",
            Some(&c.spki_sha256),
        );
        key(
            &mut h,
            &format!("{old}/server-key.pem"),
            0o600,
            "mysql",
            Some(&s.spki_sha256),
        );
        // RSA keys for sha256_password: not TLS keys, never moved.
        key(
            &mut h,
            &format!("{old}/private_key.pem"),
            0o600,
            "mysql",
            Some("other"),
        );
        let f = finding(
            "SSL009",
            "db-master",
            Location::file(format!("{old}/server-cert.pem"), None)
                .with_object(format!("autogen:{old}")),
        );
        (h, vec![f])
    }

    #[test]
    fn ssl009_moves_autogenerated_keys_aside_and_rolls_back() {
        let (h, findings) = autogen_master();
        let w = World::new(vec![h]);
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        let backup = "/db/old_keys/server/run-20260601";
        assert_eq!(
            plan.steps[0].action,
            Action::MakeDir {
                path: backup.into(),
                mode: 0o700,
                owner: None
            }
        );
        let moved: Vec<String> = plan.steps[1..]
            .iter()
            .map(|s| match &s.action {
                Action::MoveFile { from, to } => format!("{from} -> {to}"),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            moved,
            [
                format!("/db/mysql/5.7/data/ca-key.pem -> {backup}/ca-key.pem"),
                format!("/db/mysql/5.7/data/ca.pem -> {backup}/ca.pem"),
                format!("/db/mysql/5.7/data/server-cert.pem -> {backup}/server-cert.pem"),
                format!("/db/mysql/5.7/data/server-key.pem -> {backup}/server-key.pem"),
            ]
        );
        let hosts = w.targets();
        let t = &hosts["db-master"];
        for f in [
            "ca-key.pem",
            "ca.pem",
            "server-cert.pem",
            "server-key.pem",
            "private_key.pem",
        ] {
            t.add_file(
                &format!("/db/mysql/5.7/data/{f}"),
                f.as_bytes(),
                0o600,
                Some("mysql"),
            );
        }
        let before = t.snapshot();
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &hosts, state.path());
        assert_eq!(
            read(t, &format!("{backup}/ca.pem")).as_deref(),
            Some("ca.pem")
        );
        assert!(read(t, "/db/mysql/5.7/data/private_key.pem").is_some());
        assert!(read(t, "/db/mysql/5.7/data/ca.pem").is_none());
        rollback_on(&plan.run_id, &hosts, state.path());
        assert_eq!(t.snapshot(), before);
    }

    #[test]
    fn ssl009_restarts_for_a_presented_autogen_cert_and_refuses_a_configured_one() {
        let (mut h, _) = autogen_master();
        let leaf_cert = leaf(&format!("{DATA}/server.crt"), PROD_DEPLOY);
        h.certificates
            .insert(leaf_cert.path.clone(), vec![leaf_cert]);
        let w = World::new(vec![h]);
        let probe = finding(
            "SSL009",
            "db-master",
            Location::object("probe:10.0.0.10:3306"),
        );
        let configured = finding(
            "SSL009",
            "db-master",
            Location::file(MY_CNF, Some(60))
                .with_object("identity:server:/db/mysql/5.6/data/server.crt"),
        );
        let (plan, refusals) = w.plan(&[probe, configured]);
        assert_eq!(plan.steps.len(), 1);
        assert!(plan.steps[0].why.contains("auto-generated certificate"));
        assert_eq!(refusals.len(), 1);
        assert!(
            refusals[0].1.to_string().contains("sslaudit rotate"),
            "{}",
            refusals[0].1
        );
    }

    #[test]
    fn option_lines_follow_the_file_style() {
        assert_eq!(option_line(None, "ssl-ca", "/a"), "ssl-ca = /a");
        assert_eq!(
            option_line(Some("ssl-cert=/x\n"), "ssl-ca", "/a"),
            "ssl-ca=/a"
        );
        assert_eq!(
            option_line(Some("  port = 1\n"), "ssl-ca", "/a"),
            "  ssl-ca = /a"
        );
        assert_eq!(
            option_line(
                Some("port                           = 3306"),
                "ssl-cert",
                "/a"
            ),
            "ssl-cert                       = /a"
        );
        assert_eq!(option_value("/a b/#c"), Some("\"/a b/#c\"".into()));
        assert_eq!(option_value("/a\"b"), None);
        assert_eq!(option_value("/a\\b"), None);
    }
}
