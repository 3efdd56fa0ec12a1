//! Size and shape limits, end to end: hostile files go through the snapshot
//! loader (or the live file collector) and the fact builder, and each comes
//! out as a problem naming the file, in bounded time and memory, while the
//! rest of the host is still read. docs/RELIABILITY.md ("Limits") points
//! here.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use sslaudit_rules::facts::{CollectionProblem, FileStatus, HostFacts};
use sslaudit_rules::layout::Layout;
use sslaudit_scanner::build::build_host;
use sslaudit_scanner::collect::files;
use sslaudit_scanner::evidence::{HostEvidence, HostMeta};
use sslaudit_scanner::remote::LocalExec;
use sslaudit_scanner::snapshot::read_host;
use sslaudit_scanner::{inventory, limits};

const GIB: u64 = 1024 * 1024 * 1024;
/// Generous on a loaded 2-core machine; each case takes well under a second.
const BOUND: Duration = Duration::from_secs(30);

fn write(root: &Path, rel: &str, content: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
}

/// A file of `len` bytes that takes no disk space (all holes).
fn sparse(root: &Path, rel: &str, len: u64) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::File::create(&p).unwrap().set_len(len).unwrap();
}

/// A snapshot host folder `<tmp>/production/db-master/` with `files`
/// (host paths -> bytes) under fs/.
fn host_dir(tmp: &Path, host_toml: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
    let dir = tmp.join("production/db-master");
    write(
        &dir,
        "host.toml",
        format!("name = \"db-master\"\nenvironment = \"production\"\nroles = [\"db_master\"]\n{host_toml}")
            .as_bytes(),
    );
    for (path, bytes) in files {
        write(&dir.join("fs"), path.trim_start_matches('/'), bytes);
    }
    dir
}

/// Reads and builds a host folder, checking the time bound.
fn load(dir: &Path) -> (HostEvidence, HostFacts) {
    let started = Instant::now();
    let ev = read_host(dir).unwrap();
    let facts = build_host(&ev);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    (ev, facts)
}

/// The problems about `path` (exactly), for assertions with context.
fn about<'a>(facts: &'a HostFacts, path: &str) -> Vec<&'a CollectionProblem> {
    facts
        .problems
        .iter()
        .filter(|p| p.path.as_deref() == Some(path))
        .collect()
}

fn has(facts: &HostFacts, path: &str, needle: &str) -> bool {
    about(facts, path)
        .iter()
        .any(|p| p.message.contains(needle))
}

const CLIENT_CNF: &[u8] = b"[client]\nssl-ca=/etc/mysql/ssl/ca.pem\n";

#[test]
fn a_sparse_gigabyte_option_file_in_a_snapshot_is_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = host_dir(tmp.path(), "", &[("/etc/my.cnf", CLIENT_CNF)]);
    sparse(&dir.join("fs"), "etc/mysql/my.cnf", GIB);
    let (ev, facts) = load(&dir);
    let entry = &ev.files["/etc/mysql/my.cnf"];
    assert!(entry.content.is_none());
    assert_eq!(entry.meta.size, Some(GIB));
    assert!(
        has(&facts, "/etc/mysql/my.cnf", "over the 16777216 byte cap"),
        "{:#?}",
        facts.problems
    );
    // The other option file is still read.
    assert_eq!(
        facts
            .client_options
            .unwrap()
            .get("ssl_ca")
            .unwrap()
            .as_str(),
        "/etc/mysql/ssl/ca.pem"
    );
}

#[test]
fn snapshot_evidence_json_over_the_cap_is_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = host_dir(tmp.path(), "", &[("/etc/mysql/my.cnf", CLIENT_CNF)]);
    sparse(&dir, "mysql.json", limits::SNAPSHOT_JSON_BYTES + 1);
    let (ev, facts) = load(&dir);
    assert!(ev.mysql.is_none());
    let path = dir.join("mysql.json").display().to_string();
    assert!(has(&facts, &path, "byte cap"), "{:#?}", facts.problems);
}

#[test]
fn a_fifo_in_a_snapshot_does_not_block_the_loader() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = host_dir(tmp.path(), "", &[("/etc/mysql/conf.d/a.cnf", CLIENT_CNF)]);
    let fifo = dir.join("fs/etc/mysql/my.cnf");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let (ev, facts) = load(&dir);
    assert!(matches!(
        ev.files["/etc/mysql/my.cnf"].meta.status,
        FileStatus::Unreadable { .. }
    ));
    assert!(
        has(&facts, "/etc/mysql/my.cnf", "not a regular file"),
        "{:#?}",
        facts.problems
    );
}

#[test]
fn an_include_cycle_is_reported_once_and_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = host_dir(
        tmp.path(),
        "",
        &[
            (
                "/etc/mysql/my.cnf",
                b"[mysqld]\nssl-ca=/a.pem\n!include /etc/mysql/a.cnf\n",
            ),
            (
                "/etc/mysql/a.cnf",
                b"[mysqld]\n!include /etc/mysql/my.cnf\nssl-cert=/b.pem\n",
            ),
        ],
    );
    let (_, facts) = load(&dir);
    let cycles: Vec<_> = facts
        .problems
        .iter()
        .filter(|p| p.message.contains("include cycle"))
        .collect();
    assert_eq!(cycles.len(), 1, "{:#?}", facts.problems);
    assert_eq!(cycles[0].path.as_deref(), Some("/etc/mysql/a.cnf"));
    assert_eq!(cycles[0].line, Some(2));
    let server = facts.server_options.unwrap();
    assert_eq!(server.get("ssl_cert").unwrap().as_str(), "/b.pem");
}

#[test]
fn an_includedir_symlink_loop_in_a_snapshot_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = host_dir(
        tmp.path(),
        "",
        &[
            (
                "/etc/mysql/my.cnf",
                b"[mysqld]\nssl-ca=/a.pem\n!includedir /etc/mysql/conf.d\n",
            ),
            (
                "/etc/mysql/conf.d/00-real.cnf",
                b"[mysqld]\n!includedir /etc/mysql/conf.d/loop\n",
            ),
        ],
    );
    // conf.d/loop -> conf.d, and a .cnf link back to my.cnf.
    symlink("../conf.d", dir.join("fs/etc/mysql/conf.d/loop")).unwrap();
    symlink("../my.cnf", dir.join("fs/etc/mysql/conf.d/10-back.cnf")).unwrap();
    let (ev, facts) = load(&dir);
    for link in ["/etc/mysql/conf.d/loop", "/etc/mysql/conf.d/10-back.cnf"] {
        assert!(
            matches!(ev.files[link].meta.status, FileStatus::Unreadable { .. }),
            "{link}"
        );
    }
    assert!(
        has(&facts, "/etc/mysql/my.cnf", "10-back.cnf: symbolic link"),
        "{:#?}",
        facts.problems
    );
    assert!(
        has(
            &facts,
            "/etc/mysql/conf.d/00-real.cnf",
            "!includedir /etc/mysql/conf.d/loop"
        ),
        "{:#?}",
        facts.problems
    );
    assert_eq!(
        facts
            .server_options
            .unwrap()
            .get("ssl_ca")
            .unwrap()
            .as_str(),
        "/a.pem"
    );
}

fn bundle(copies: usize) -> Vec<u8> {
    let cert = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/parsers/x509/server.crt"
    ))
    .unwrap();
    cert.repeat(copies)
}

#[test]
fn a_bundle_of_ten_thousand_certificates_is_refused_with_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let pem = bundle(10_000);
    let dir = host_dir(
        tmp.path(),
        "",
        &[
            (
                "/etc/mysql/my.cnf",
                b"[mysqld]\nssl-ca=/etc/mysql/ssl/ca.pem\nssl-cert=/etc/mysql/ssl/server.crt\n",
            ),
            ("/etc/mysql/ssl/ca.pem", &pem),
            ("/etc/mysql/ssl/server.crt", &bundle(1)),
        ],
    );
    let (_, facts) = load(&dir);
    assert!(
        has(
            &facts,
            "/etc/mysql/ssl/ca.pem",
            "more than 1000 certificates in one file"
        ),
        "{:#?}",
        facts.problems
    );
    assert!(!facts.certificates.contains_key("/etc/mysql/ssl/ca.pem"));
    assert_eq!(facts.certificates["/etc/mysql/ssl/server.crt"].len(), 1);
}

const BILLION_LAUGHS: &str = "\
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
production:
  adapter: mysql2
  sslca: *i
";

#[test]
fn a_database_yml_alias_bomb_is_refused_with_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let yml = "/data/shop/current/config/database.yml";
    let dir = host_dir(
        tmp.path(),
        &format!("database_yml = [\"{yml}\"]\n"),
        &[(yml, BILLION_LAUGHS.as_bytes())],
    );
    let (_, facts) = load(&dir);
    let problems = about(&facts, yml);
    assert_eq!(problems.len(), 1, "{:#?}", facts.problems);
    assert!(
        problems[0].message.contains("alias bomb"),
        "{}",
        problems[0].message
    );
    assert!(facts.database_ymls.is_empty());
}

#[test]
fn binary_garbage_where_text_is_expected_is_a_problem_per_file() {
    // Deterministic noise with NULs and invalid UTF-8 throughout.
    let mut x: u32 = 0x1234_5678;
    let garbage: Vec<u8> = (0..512 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let yml = "/data/shop/current/config/database.yml";
    let tmp = tempfile::tempdir().unwrap();
    let dir = host_dir(
        tmp.path(),
        &format!("database_yml = [\"{yml}\"]\n"),
        &[
            ("/etc/mysql/my.cnf", &garbage),
            (yml, &garbage),
            ("/etc/mysql/ssl/ca.pem", &garbage),
            ("/etc/passwd", &garbage),
        ],
    );
    let (_, facts) = load(&dir);
    for (path, needle) in [
        ("/etc/mysql/my.cnf", "binary data"),
        (yml, "not UTF-8 text"),
        ("/etc/mysql/ssl/ca.pem", "not PEM"),
        ("/etc/passwd", "not UTF-8 text"),
    ] {
        let p = about(&facts, path);
        assert_eq!(p.len(), 1, "{path}: {:#?}", facts.problems);
        assert!(p[0].message.contains(needle), "{path}: {}", p[0].message);
    }
    assert!(facts.problems.len() < 20, "{:#?}", facts.problems);
}

#[test]
fn a_binary_inventory_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("fleet.yml");
    std::fs::write(
        &path,
        b"environments:\n  production:\n\xff\xfe\x00\x01garbage",
    )
    .unwrap();
    let err = inventory::load(&path).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}:3:", path.display())), "{err}");
    assert!(err.contains("not UTF-8"), "{err}");
}

// --- the live collector (its script run locally) ----------------------------

fn live_meta(overrides: &BTreeMap<String, String>) -> HostMeta {
    HostMeta {
        aliases: Vec::new(),
        named_users: Vec::new(),
        name: "local".into(),
        environment: "test".into(),
        roles: vec![],
        address: None,
        layout: "engineyard".into(),
        layout_overrides: overrides.clone(),
        app_user: None,
        database_yml: vec![],
        reachability: sslaudit_rules::facts::Reachability::Reachable,
        access: Default::default(),
        problems: vec![],
    }
}

/// Collects `option_files` (comma-separated) with the collector script run
/// locally, then builds the facts.
fn collect_live(root: &str, option_files: &str) -> (files::Collected, HostFacts) {
    let overrides = BTreeMap::from([
        ("option_files".to_string(), option_files.to_string()),
        ("data_dirs".to_string(), format!("{root}/data/*/x")),
        ("keygen_dir".to_string(), format!("{root}/keygen")),
        ("openssl_cnf".to_string(), format!("{root}/openssl.cnf")),
    ]);
    let layout = Layout::with_overrides("engineyard", &overrides).unwrap();
    let meta = live_meta(&overrides);
    let exec = LocalExec {
        name: "local".into(),
    };
    let started = Instant::now();
    let c = files::collect(&exec, &layout, &meta, files::DEFAULT_MAX_BYTES);
    let ev = HostEvidence {
        meta,
        origin: "local".into(),
        declared_at: None,
        files: c.files.clone(),
        mysql: None,
        connection: None,
        probe: None,
        galera_ports: Vec::new(),
        problems: c.problems.clone(),
    };
    let facts = build_host(&ev);
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
    assert!(c.rounds <= files::MAX_ROUNDS);
    (c, facts)
}

#[test]
fn the_live_collector_lists_a_sparse_gigabyte_option_file_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let r = root.to_str().unwrap();
    sparse(&root, "etc/mysql/my.cnf", GIB);
    write(&root, "etc/my.cnf", CLIENT_CNF);
    let (c, facts) = collect_live(r, &format!("{r}/etc/my.cnf,{r}/etc/mysql/my.cnf"));
    let big = format!("{r}/etc/mysql/my.cnf");
    let entry = &c.files[&big];
    assert!(entry.content.is_none());
    assert_eq!(entry.meta.size, Some(GIB));
    assert!(c.bytes < 64 * 1024, "the host sent {} bytes", c.bytes);
    assert!(
        has(&facts, &big, "over the 1048576-byte cap"),
        "{:#?}",
        facts.problems
    );
    let client = facts.client_options.unwrap();
    assert_eq!(
        client.get("ssl_ca").unwrap().as_str(),
        "/etc/mysql/ssl/ca.pem"
    );
}

#[test]
fn the_live_collector_stops_on_an_includedir_symlink_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let r = root.to_str().unwrap();
    write(
        &root,
        "etc/mysql/my.cnf",
        format!("[mysqld]\nssl-ca=/a.pem\n!includedir {r}/etc/mysql/conf.d\n").as_bytes(),
    );
    // A relative includedir into a link to its own directory: every level
    // is a new path (conf.d/loop/loop/...), so only the bounds stop it.
    write(
        &root,
        "etc/mysql/conf.d/00.cnf",
        b"[mysqld]\n!includedir loop\n",
    );
    symlink(".", root.join("etc/mysql/conf.d/loop")).unwrap();
    // And a .cnf link back to the root file: a cycle by content.
    symlink("../my.cnf", root.join("etc/mysql/conf.d/10-back.cnf")).unwrap();
    let (c, facts) = collect_live(r, &format!("{r}/etc/mysql/my.cnf"));
    assert!(c.files.len() < 500, "{} files", c.files.len());
    let my = format!("{r}/etc/mysql/my.cnf");
    assert!(
        facts
            .problems
            .iter()
            .any(|p| p.message.contains("include cycle")
                && p.message
                    .contains(&format!("{r}/etc/mysql/conf.d/10-back.cnf"))),
        "{:#?}",
        facts.problems
    );
    assert!(
        facts
            .problems
            .iter()
            .any(|p| p.message.contains("nest deeper than")
                || p.message.contains("maximum include depth")),
        "{:#?}",
        facts.problems
    );
    assert_eq!(
        facts
            .server_options
            .unwrap()
            .get("ssl_ca")
            .unwrap()
            .as_str(),
        "/a.pem"
    );
    assert!(facts.option_files.contains(&my));
}

#[test]
fn an_inventory_host_pattern_over_the_cap_is_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hosts");
    std::fs::write(&path, "[db_master]\ndb1\n\n[app]\napp[0:99999]\n").unwrap();
    let started = Instant::now();
    let err = inventory::load(&path).unwrap_err().to_string();
    assert!(started.elapsed() < BOUND);
    assert!(err.starts_with(&format!("{}:5:", path.display())), "{err}");
    assert!(err.contains("expands to more than 10000 hosts"), "{err}");
}

#[test]
fn an_inventory_alias_bomb_is_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("fleet.yml");
    let bomb = BILLION_LAUGHS.replace(
        "production:\n  adapter: mysql2\n  sslca: *i\n",
        "environments:\n  production:\n    hosts: *i\n",
    );
    std::fs::write(&path, bomb).unwrap();
    let started = Instant::now();
    let err = inventory::load(&path).unwrap_err().to_string();
    assert!(started.elapsed() < BOUND);
    assert!(err.starts_with(&format!("{}:", path.display())), "{err}");
    assert!(err.contains("alias bomb"), "{err}");
}

#[test]
fn the_live_collector_stops_at_the_record_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let r = root.to_str().unwrap();
    write(&root, "etc/mysql/my.cnf", b"[mysqld]\nssl-ca=/a.pem\n");
    let dir = root.join("keygen/deploy");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..limits::COLLECT_RECORDS + 100 {
        std::fs::File::create(dir.join(format!("f{i:05}.pem"))).unwrap();
    }
    let (c, facts) = collect_live(r, &format!("{r}/etc/mysql/my.cnf"));
    assert!(
        c.files.len() <= limits::COLLECT_RECORDS as usize + 50,
        "{}",
        c.files.len()
    );
    assert!(
        facts
            .problems
            .iter()
            .any(|p| p.message.contains("more than 5000 files and directories")),
        "{:#?}",
        facts.problems
    );
}

#[test]
fn the_live_collector_stops_reading_at_the_round_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let r = root.to_str().unwrap();
    write(&root, "etc/mysql/my.cnf", b"[mysqld]\nssl-ca=/a.pem\n");
    // 70 files of exactly the per-file cap: 70 MiB, over the 64 MiB budget.
    for i in 0..70 {
        sparse(
            &root,
            &format!("keygen/u{i:02}/mysql.crt"),
            files::DEFAULT_MAX_BYTES,
        );
    }
    let (c, facts) = collect_live(r, &format!("{r}/etc/mysql/my.cnf"));
    assert!(
        c.bytes <= limits::COLLECT_ROUND_BYTES + 1024 * 1024,
        "{}",
        c.bytes
    );
    let unread: Vec<_> = facts
        .problems
        .iter()
        .filter(|p| p.message.contains("this round already sent"))
        .collect();
    assert!(
        !unread.is_empty() && unread.len() < 70,
        "{:#?}",
        facts.problems
    );
    assert!(
        unread
            .iter()
            .all(|p| p.path.as_deref().is_some_and(|p| p.ends_with("mysql.crt")))
    );
}
