//! The collector script run for real (LocalExec) over a temporary tree
//! that mimics a database host, including the awkward cases.

use std::collections::BTreeMap;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use sslaudit_rules::facts::FileStatus;
use sslaudit_rules::layout::Layout;

use super::*;
use crate::evidence::HostMeta;
use crate::remote::{ExecOutput, LocalExec, RemoteError};

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fn write(root: &Path, rel: &str, content: &[u8], mode: u32) -> String {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, content).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p.to_str().unwrap().to_string()
}

fn rsa_key_pem() -> Vec<u8> {
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    rsa.private_key_to_pem().unwrap()
}

/// A `perl` that is not there (what `command -v` finds, then exit 127).
const NO_PERL: &str = "#!/bin/sh\nexit 127\n";

/// LocalExec with fake `ls` and `dd` first on PATH, to make files vanish or
/// shrink at the worst moment.
struct RacyExec {
    inner: LocalExec,
    fakebin: String,
    calls: std::sync::atomic::AtomicU32,
}

impl Exec for RacyExec {
    fn host(&self) -> &str {
        "local"
    }
    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let cmd = format!(
            "PATH={}:$PATH; export PATH; {command}",
            shell_quote(&self.fakebin)
        );
        self.inner.exec(&cmd, stdin)
    }
}

fn fake_bin(root: &Path) -> String {
    let ls = "#!/bin/sh\nfor a; do case $a in *vanish*) rm -f -- \"$a\";; esac; done\nexec /bin/ls \"$@\"\n";
    let dd = "#!/bin/sh\nfor a; do case $a in if=*shrink*) f=${a#if=}; : > \"$f\"; printf abc > \"$f\";; esac; done\nexec /bin/dd \"$@\"\n";
    write(root, "fakebin/ls", ls.as_bytes(), 0o755);
    write(root, "fakebin/dd", dd.as_bytes(), 0o755);
    // The races are staged in ls and dd: files.sh, not the Perl collector.
    write(root, "fakebin/perl", NO_PERL.as_bytes(), 0o755);
    root.join("fakebin").to_str().unwrap().to_string()
}

/// The host `local` of environment `test`, laid out as `overrides` say.
fn local_meta(overrides: BTreeMap<String, String>) -> HostMeta {
    HostMeta {
        aliases: Vec::new(),
        named_users: Vec::new(),
        name: "local".into(),
        environment: "test".into(),
        roles: vec![],
        address: None,
        layout: "engineyard".into(),
        layout_overrides: overrides,
        app_user: None,
        database_yml: vec![],
        reachability: sslaudit_rules::facts::Reachability::Reachable,
        access: Default::default(),
        problems: vec![],
    }
}

/// A database and application host under `root`, with the awkward cases:
/// a symlinked option file (returned), includes across rounds, keys, a
/// file over the cap, names with tabs and newlines, files the racy
/// helpers make vanish or shrink.
fn host_tree(root: &Path) -> (Layout, HostMeta, String) {
    let r = root.to_str().unwrap().to_string();
    let key = rsa_key_pem();
    // The option files: a symlinked root that includes a directory outside
    // the round-1 trees and a file that includes another (rounds 2 and 3).
    let real = write(
        root,
        "etc/alternatives/my.cnf",
        format!(
            "[mysqld]\ndatadir={r}/db/mysql/5.6/data\nssl-ca=root.crt\nssl-cert={r}/certs/server.crt\n\
             ssl-key=server.key\nssl-crl={r}/missing.crl\nssl-capath={r}/capath\n\
             !includedir {r}/etc/conf.d\n!include {r}/elsewhere/extra.cnf\n"
        )
        .as_bytes(),
        0o644,
    );
    symlink(&real, root.join("etc/my.cnf")).unwrap();
    write(
        root,
        "etc/conf.d/a.cnf",
        b"[client]\nssl-ca=/nonexistent/ca.pem\n",
        0o644,
    );
    write(
        root,
        "elsewhere/extra.cnf",
        format!("[mysqld]\n!include {r}/deeper/x.cnf\n").as_bytes(),
        0o644,
    );
    write(
        root,
        "deeper/x.cnf",
        b"[mysqld]\nssl-cipher=AES256-SHA\n",
        0o644,
    );
    write(root, "certs/server.crt", CERT.as_bytes(), 0o644);
    write(root, "capath/a.pem", CERT.as_bytes(), 0o644);
    write(root, "db/mysql/5.6/data/root.crt", CERT.as_bytes(), 0o644);
    write(root, "db/mysql/5.6/data/server.key", &key, 0o600);
    write(root, "db/mysql/5.6/data/ibdata1", &[0u8; 4096], 0o660);
    write(
        root,
        "db/mysql/5.6/data/big.pem",
        &vec![b'x'; 2 * 1024 * 1024],
        0o644,
    );
    write(
        root,
        "db/mysql/keygen/deploy/mysql.crt",
        CERT.as_bytes(),
        0o644,
    );
    write(root, "db/mysql/keygen/deploy/mysql.key", &key, 0o600);
    write(
        root,
        "db/mysql/keygen/deploy/odd\tname\nx.pem",
        b"odd\n",
        0o640,
    );
    std::fs::create_dir_all(root.join("db/mysql/keygen/empty")).unwrap();
    write(root, "db/mysql/keygen/deploy/vanish.pem", b"gone\n", 0o644);
    write(
        root,
        "db/mysql/keygen/deploy/shrink.pem",
        b"0123456789",
        0o644,
    );
    write(
        root,
        "app/config/database.yml",
        format!("production:\n  adapter: mysql2\n  sslca: ./config/../config//ca.pem\n  sslkey: {r}/appkeys/client.key\n")
            .as_bytes(),
        0o644,
    );
    write(root, "app/config/ca.pem", CERT.as_bytes(), 0o644);
    write(root, "appkeys/client.key", &key, 0o400);

    let overrides = BTreeMap::from([
        ("option_files".to_string(), format!("{r}/etc/my.cnf")),
        ("data_dirs".to_string(), format!("{r}/db/mysql/*/data")),
        ("keygen_dir".to_string(), format!("{r}/db/mysql/keygen")),
        (
            "openssl_cnf".to_string(),
            format!("{r}/etc/ssl/openssl.cnf"),
        ),
    ]);
    let layout = Layout::with_overrides("engineyard", &overrides).unwrap();
    let meta = HostMeta {
        app_user: Some("deploy".into()),
        database_yml: vec![format!("{r}/app/config/database.yml")],
        ..local_meta(overrides)
    };
    (layout, meta, real)
}

#[test]
fn collects_a_host_tree_in_few_rounds() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let r = root.to_str().unwrap().to_string();
    let (layout, meta, real) = host_tree(&root);
    let exec = RacyExec {
        inner: LocalExec {
            name: "local".into(),
        },
        fakebin: fake_bin(&root),
        calls: Default::default(),
    };
    let started = std::time::Instant::now();
    let c = collect(&exec, &layout, &meta, 1024 * 1024);
    eprintln!(
        "collected {} paths in {} rounds, {} bytes, {:?}",
        c.files.len(),
        c.rounds,
        c.bytes,
        started.elapsed()
    );
    let f = |p: &str| {
        c.files.get(&format!("{r}/{p}")).unwrap_or_else(|| {
            panic!(
                "{p} not collected: {:#?}",
                c.files.keys().collect::<Vec<_>>()
            )
        })
    };
    // One command per round; round 3 exists only for deeper/x.cnf.
    assert_eq!(c.rounds, 3, "{:?}", c.problems);
    assert_eq!(exec.calls.load(std::sync::atomic::Ordering::SeqCst), 3);

    // The symlinked root: content and metadata of the target, link recorded.
    let my = f("etc/my.cnf");
    assert!(my.content.as_ref().unwrap().starts_with(b"[mysqld]"));
    assert_eq!(my.meta.mode, Some(0o644));
    assert_eq!(c.links.get(&format!("{r}/etc/my.cnf")), Some(&real));
    // Includes followed to closure.
    assert!(f("etc/conf.d/a.cnf").content.is_some());
    assert!(f("deeper/x.cnf").content.is_some());
    // ssl-* paths: relative ones against datadir, absolute, missing, a capath dir.
    assert!(f("certs/server.crt").content.is_some());
    assert_eq!(f("missing.crl").meta.status, FileStatus::Missing);
    assert!(f("capath/a.pem").content.is_some());
    assert_eq!(f("capath").meta.size, None, "a directory has no size");
    assert_eq!(
        c.files.get("/nonexistent/ca.pem").map(|e| &e.meta.status),
        Some(&FileStatus::Missing)
    );
    // Data dir: certificate/key files only, the key turned into facts.
    let sk = f("db/mysql/5.6/data/server.key");
    assert!(sk.content.is_none(), "private key bytes must be dropped");
    assert_eq!(sk.key.as_ref().unwrap().bits, 2048);
    assert_eq!(
        (sk.meta.mode, sk.meta.owner.as_deref()),
        (Some(0o600), Some("root"))
    );
    assert!(
        !c.files
            .contains_key(&format!("{r}/db/mysql/5.6/data/ibdata1"))
    );
    // Over the cap: listed with its size, not read, and said so.
    let big = f("db/mysql/5.6/data/big.pem");
    assert!(big.content.is_none());
    assert_eq!(big.meta.size, Some(2 * 1024 * 1024));
    assert!(c.problems.iter().any(|p| p.path.as_deref() == Some(big.meta.path.as_str())
        && p.message.contains("cap")));
    // The keygen tree, names with tabs and newlines included.
    assert!(f("db/mysql/keygen/deploy/mysql.key").key.is_some());
    assert_eq!(
        f("db/mysql/keygen/deploy/odd\tname\nx.pem")
            .content
            .as_deref(),
        Some(&b"odd\n"[..])
    );
    assert_eq!(
        f("db/mysql/keygen/deploy/odd\tname\nx.pem").meta.mode,
        Some(0o640)
    );
    assert_eq!(f("db/mysql/keygen/empty").meta.status, FileStatus::Present);
    // Races: a file gone between listing and stat, one shrunk while read.
    assert_eq!(
        f("db/mysql/keygen/deploy/vanish.pem").meta.status,
        FileStatus::Missing
    );
    assert!(matches!(
        f("db/mysql/keygen/deploy/shrink.pem").meta.status,
        FileStatus::Unreadable { .. }
    ));
    assert!(f("db/mysql/keygen/deploy/shrink.pem").content.is_none());
    // database.yml and what it names (relative to the app root, folded as
    // the rules look it up).
    assert!(f("app/config/database.yml").content.is_some());
    assert!(f("app/config/ca.pem").content.is_some());
    assert!(f("appkeys/client.key").key.is_some());
    // Missing layout files are recorded as missing.
    assert_eq!(f("etc/ssl/openssl.cnf").meta.status, FileStatus::Missing);
    assert!(c.files.contains_key("/etc/passwd"));
    // No private key bytes anywhere.
    for e in c.files.values() {
        if let Some(b) = &e.content {
            assert!(!x509::looks_like_private_key(b), "{}", e.meta.path);
        }
    }
}

#[test]
fn a_failing_transport_is_a_problem_not_a_panic() {
    struct Down;
    impl Exec for Down {
        fn host(&self) -> &str {
            "down"
        }
        fn exec(&self, _: &str, _: &[u8]) -> Result<ExecOutput, RemoteError> {
            Err(RemoteError::Timeout {
                host: "down".into(),
                after: std::time::Duration::from_secs(1),
                during: "reading".into(),
            })
        }
    }
    let meta = HostMeta {
        aliases: Vec::new(),
        named_users: Vec::new(),
        name: "down".into(),
        environment: "t".into(),
        roles: vec![],
        address: None,
        layout: "debian".into(),
        layout_overrides: BTreeMap::new(),
        app_user: None,
        database_yml: vec![],
        reachability: sslaudit_rules::facts::Reachability::Reachable,
        access: Default::default(),
        problems: vec![],
    };
    let c = collect(&Down, &Layout::debian(), &meta, DEFAULT_MAX_BYTES);
    assert!(c.files.is_empty());
    assert_eq!(c.rounds, 1);
    assert!(
        c.problems[0].message.contains("timed out"),
        "{:?}",
        c.problems
    );
}

/// LocalExec with `path` first on PATH.
struct PathExec {
    inner: LocalExec,
    path: String,
}

impl Exec for PathExec {
    fn host(&self) -> &str {
        "local"
    }
    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        let cmd = format!(
            "PATH={}:$PATH; export PATH; {command}",
            shell_quote(&self.path)
        );
        self.inner.exec(&cmd, stdin)
    }
}

/// Runs rounds through files.sh (a `perl` that is not there), or through
/// the Perl collector with every start of perl counted in `bin/perl.log`.
fn exec_with(root: &Path, perl: bool) -> PathExec {
    let bin = if perl { "bin-perl" } else { "bin-sh" };
    let counting = format!(
        "#!/bin/sh\necho run >> {}\nexec /usr/bin/perl \"$@\"\n",
        shell_quote(root.join(bin).join("perl.log").to_str().unwrap())
    );
    let script = if perl { counting.as_str() } else { NO_PERL };
    write(root, &format!("{bin}/perl"), script.as_bytes(), 0o755);
    PathExec {
        inner: LocalExec {
            name: "local".into(),
        },
        path: root.join(bin).to_str().unwrap().to_string(),
    }
}

#[test]
fn the_script_refuses_a_bad_header() {
    let tmp = tempfile::tempdir().unwrap();
    for perl in [true, false] {
        let e = exec_with(tmp.path(), perl);
        let out = e.exec(round_command(), b"not-hex\n1\n1\n1\n").unwrap();
        assert_eq!(out.status, Some(3), "perl: {perl}");
        assert!(out.stdout.is_empty());
    }
    assert!(tmp.path().join("bin-perl/perl.log").exists());
}

/// The Perl collector and files.sh see a host alike: the same entries,
/// metadata, contents, link targets and problems, over the awkward tree
/// and more (a dangling link, a link loop, a link to a device, a fifo, a
/// setuid file, an unreadable directory, names no UTF-8 can hold).
#[test]
fn perl_and_sh_collect_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let (layout, meta, _) = host_tree(&root);
    let keygen = root.join("db/mysql/keygen/deploy");
    symlink(root.join("nowhere/x.pem"), keygen.join("dangling.pem")).unwrap();
    symlink(keygen.join("loop-b.pem"), keygen.join("loop-a.pem")).unwrap();
    symlink(keygen.join("loop-a.pem"), keygen.join("loop-b.pem")).unwrap();
    symlink("/dev/null", keygen.join("null.pem")).unwrap();
    symlink("../deploy/./mysql.crt", keygen.join("relative.pem")).unwrap();
    let fifo = keygen.join("fifo.pem");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    write(&root, "db/mysql/keygen/deploy/suid.pem", b"s\n", 0o4755);
    write(&root, "db/mysql/keygen/deploy/.hidden.pem", b"h\n", 0o600);
    write(&root, "db/mysql/keygen/deploy/..dots.pem", b"d\n", 0o600);
    write(&root, "db/mysql/keygen/locked/inside.pem", b"i\n", 0o600);
    std::fs::set_permissions(
        root.join("db/mysql/keygen/locked"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"latin1-\xe9.pem");
        std::fs::write(keygen.join(name), b"l\n").unwrap();
    }
    write(&root, "db/mysql/keygen/deploy/empty.pem", b"", 0o644);

    let run = |perl: bool| {
        let c = collect(&exec_with(&root, perl), &layout, &meta, 1024 * 1024);
        (
            format!("{:#?}", c.files),
            format!("{:#?}", c.links),
            format!("{:#?}", c.problems),
            c.rounds,
            c.bytes,
        )
    };
    let (sh, perl) = (run(false), run(true));
    assert!(
        sh.0.contains("fifo.pem") && sh.0.contains("latin1-"),
        "{}",
        sh.0
    );
    // Compared piece by piece for a readable failure.
    assert_eq!(perl.0, sh.0, "files");
    assert_eq!(perl.1, sh.1, "links");
    assert_eq!(perl.2, sh.2, "problems");
    assert_eq!((perl.3, perl.4), (sh.3, sh.4), "rounds, bytes");
    let runs = std::fs::read_to_string(root.join("bin-perl/perl.log")).unwrap();
    assert_eq!(runs.lines().count() as u32, perl.3, "one perl per round");
    std::fs::set_permissions(
        root.join("db/mysql/keygen/locked"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
}

/// The certificates and keys only Galera names (wsrep_provider_options
/// socket.ssl_*, [sst] tca/tcert/tkey) are collected too, from an
/// included 60-galera.cnf: the certificate rules (SSL004) judge them.
#[test]
fn galera_certificates_are_collected() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let r = root.to_str().unwrap().to_string();
    let key = rsa_key_pem();
    write(
        &root,
        "etc/my.cnf",
        format!("[mysqld]\ndatadir={r}/data\n!includedir {r}/etc/mariadb.conf.d\n").as_bytes(),
        0o644,
    );
    write(
        &root,
        "etc/mariadb.conf.d/60-galera.cnf",
        format!(
            "[galera]\nwsrep_on=ON\nwsrep_provider_options=\"gcache.size=16M;socket.ssl_cert={r}/galera/g.crt;\
             socket.ssl_key={r}/galera/g.key;socket.ssl_ca=ca.pem\"\n[sst]\ntcert={r}/sst/s.crt\ntkey={r}/sst/s.key\n"
        )
        .as_bytes(),
        0o644,
    );
    write(&root, "galera/g.crt", CERT.as_bytes(), 0o644);
    write(&root, "galera/g.key", &key, 0o600);
    write(&root, "sst/s.crt", CERT.as_bytes(), 0o644);
    write(&root, "sst/s.key", &key, 0o600);
    write(&root, "data/ca.pem", CERT.as_bytes(), 0o644);
    let overrides = BTreeMap::from([
        ("option_files".to_string(), format!("{r}/etc/my.cnf")),
        ("data_dirs".to_string(), format!("{r}/nodata")),
    ]);
    let layout = Layout::with_overrides("engineyard", &overrides).unwrap();
    let meta = local_meta(overrides);
    let exec = LocalExec {
        name: "local".into(),
    };
    let c = collect(&exec, &layout, &meta, 1024 * 1024);
    for p in ["galera/g.crt", "sst/s.crt", "data/ca.pem"] {
        let e = c
            .files
            .get(&format!("{r}/{p}"))
            .unwrap_or_else(|| panic!("{p} not collected: {:#?}", c.files.keys()));
        assert_eq!(e.content.as_deref(), Some(CERT.as_bytes()), "{p}");
    }
    for p in ["galera/g.key", "sst/s.key"] {
        let e = &c.files[&format!("{r}/{p}")];
        assert!(e.key.is_some(), "{p}: a key, turned into facts");
        assert!(e.content.is_none(), "{p}: key bytes are dropped");
    }
}

/// Counts the commands an [`Exec`] runs.
struct Counting<'a> {
    inner: &'a dyn Exec,
    calls: std::sync::atomic::AtomicU32,
}

impl Exec for Counting<'_> {
    fn host(&self) -> &str {
        self.inner.host()
    }
    fn exec(&self, command: &str, stdin: &[u8]) -> Result<ExecOutput, RemoteError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.exec(command, stdin)
    }
}

/// Another command riding along with the first round (the host's MySQL
/// client, `via: ssh`) costs no exec of its own, with files.pl and with
/// files.sh alike: the files are those of rounds on their own, and the
/// rider gets exactly its input and its own output, whatever it prints.
#[test]
fn a_command_riding_along_with_the_first_round_costs_no_exec() {
    use crate::remote::joint::Rider;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let (layout, meta, _) = host_tree(&root);
    let comparable = |c: &Collected| {
        c.files
            .iter()
            .map(|(p, e)| (p.clone(), e.meta.clone(), e.content.clone()))
            .collect::<Vec<_>>()
    };
    // The rider's input holds what looks like either side's framing.
    let sql = b"SELECT '\n@@0123abcd 1 0\n' AS x;\n\n@@0123abcd E\n";
    let riders: [(&str, &[u8]); 4] = [
        // Echoes its input, then fakes the collector's and the joint's markers.
        (
            "cat; printf '\\n@@%s E\\n\\n@@%s 2 0\\n' 0123abcd 0123abcd",
            sql,
        ),
        // Prints nothing.
        (":", b""),
        // Fails, as a client that finds no server does.
        (
            "cat >/dev/null; echo 'ERROR 2002 (HY000): no socket' >&2; exit 1",
            sql,
        ),
        // Never reads its input.
        ("echo ran", sql),
    ];
    for perl in [true, false] {
        let exec = exec_with(&root, perl);
        let alone = collect(&exec, &layout, &meta, 1024 * 1024);
        assert!(alone.rounds >= 2, "{:?}", alone.problems);
        for (command, stdin) in riders {
            let counting = Counting {
                inner: &exec,
                calls: Default::default(),
            };
            let rider = Rider::new(&counting, command, stdin);
            let c = collect_with_first(&counting, &rider, &layout, &meta, 1024 * 1024);
            let out = rider.answer().unwrap();
            let calls = counting.calls.load(std::sync::atomic::Ordering::SeqCst);
            assert_eq!(calls, c.rounds, "perl {perl}, {command}");
            assert_eq!(c.rounds, alone.rounds, "perl {perl}, {command}");
            assert_eq!(comparable(&c), comparable(&alone), "perl {perl}, {command}");
            assert_eq!(c.problems, alone.problems, "perl {perl}, {command}");
            match command {
                ":" => assert_eq!((out.stdout, out.status), (vec![], Some(0))),
                "echo ran" => assert_eq!((out.stdout, out.status), (b"ran\n".to_vec(), Some(0))),
                c if c.starts_with("cat;") => {
                    let mut want = sql.to_vec();
                    want.extend_from_slice(b"\n@@0123abcd E\n\n@@0123abcd 2 0\n");
                    assert_eq!(out.stdout, want);
                    assert_eq!(out.status, Some(0));
                }
                _ => {
                    assert_eq!(out.status, Some(1));
                    assert_eq!(out.stderr, b"ERROR 2002 (HY000): no socket\n");
                    assert!(out.stdout.is_empty());
                }
            }
        }
    }
}

/// The host's real client command riding along: a client that cannot
/// reach its server is a MySQL problem, and the files are still collected.
#[test]
fn a_failing_client_beside_the_first_round_is_a_mysql_problem() {
    use crate::collect::mysql::{ClientRun, ClientSettings, Secret};
    use crate::remote::joint::Rider;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let (layout, meta, _) = host_tree(&root);
    // A `mariadb` that says what a client without a server says, and the
    // first word of its input: the SQL, the password line having gone to
    // the command's private option file.
    write(
        &root,
        "bin-perl/mariadb",
        b"#!/bin/sh\nIFS= read -r p\ncat >/dev/null\n\
          echo \"ERROR 2002 (HY000): Can't connect to local server through socket (${p%% *})\" >&2\nexit 1\n",
        0o755,
    );
    let exec = exec_with(&root, true);
    let run = ClientRun::new(&ClientSettings {
        user: Some("sslaudit".into()),
        password: Some(Secret::new("pw")),
        ..ClientSettings::default()
    });
    let rider = Rider::new(&exec, run.command(), run.stdin());
    let c = collect_with_first(&exec, &rider, &layout, &meta, 1024 * 1024);
    assert!(c.files.len() > 10, "{:?}", c.problems);
    let (rec, conn, problems) = run.finish(rider.answer());
    assert!(rec.is_none() && conn.is_none());
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].what, "mysql connection");
    assert!(
        problems[0].message.contains("socket (SELECT)"),
        "{}",
        problems[0].message
    );
    assert!(c.problems.iter().all(|p| p.what == "file collection"));
}
