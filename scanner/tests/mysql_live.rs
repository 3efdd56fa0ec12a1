//! The MySQL collector against real MariaDB servers started by the test
//! (temporary data directories, loopback ports, sockets in the temp dir):
//! the host's own client through `LocalExec` and the scanner's own TLS
//! connection, with accounts of every REQUIRE type, a configured replica
//! channel, the documented least-privilege scanner account, a refused
//! login, a denied SELECT, a server without TLS and a TLS 1.1-only one.
//!
//! Runs only with SSLAUDIT_LIVE=1 (it needs mariadb-server and
//! mariadb-client installed); otherwise it says why it skips and passes.
#![allow(
    clippy::unwrap_used,
    reason = "test setup helpers: a failing step should panic right there"
)]

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};
use sslaudit_rules::facts::{CollectionProblem, Require};
use sslaudit_scanner::collect::mysql::{
    CertCheck, ClientSettings, Collected, Secret, TcpSettings, TlsMode, collect_via_client,
    collect_via_tcp,
};
use sslaudit_scanner::remote::LocalExec;

const SCANNER_PASSWORD: &str = "Sc4n\"ner#'x $y\\z";

fn live() -> bool {
    if std::env::var("SSLAUDIT_LIVE").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "skipping the live MySQL tests: set SSLAUDIT_LIVE=1 (needs mariadb-server and mariadb-client)"
    );
    false
}

// ---- certificates -------------------------------------------------------

struct Pki {
    dir: PathBuf,
}

fn name(cn: &str) -> openssl::x509::X509Name {
    let mut n = X509NameBuilder::new().unwrap();
    n.append_entry_by_text("CN", cn).unwrap();
    n.build()
}

fn key() -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()
}

fn cert(
    cn: &str,
    serial: u32,
    pkey: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    san_ip: bool,
) -> X509 {
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(serial).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name(cn)).unwrap();
    b.set_pubkey(pkey).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    match issuer {
        None => {
            b.set_issuer_name(&name(cn)).unwrap();
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.sign(pkey, MessageDigest::sha256()).unwrap();
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).unwrap();
            if san_ip {
                let san = SubjectAlternativeName::new()
                    .ip("127.0.0.1")
                    .build(&b.x509v3_context(Some(ca), None))
                    .unwrap();
                b.append_extension(san).unwrap();
            }
            b.sign(ca_key, MessageDigest::sha256()).unwrap();
        }
    }
    b.build()
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let write = |f: &str, pem: Vec<u8>| std::fs::write(dir.join(f), pem).unwrap();
        let ca_key = key();
        let ca = cert("sslaudit test CA", 1, &ca_key, None, false);
        let server_key = key();
        let server = cert("db-master", 2, &server_key, Some((&ca, &ca_key)), true);
        let client_key = key();
        let client = cert("sslaudit", 3, &client_key, Some((&ca, &ca_key)), false);
        let other_key = key();
        let other = cert("some other CA", 4, &other_key, None, false);
        write("ca.pem", ca.to_pem().unwrap());
        write("server-cert.pem", server.to_pem().unwrap());
        write(
            "server-key.pem",
            server_key.private_key_to_pem_pkcs8().unwrap(),
        );
        write("client-cert.pem", client.to_pem().unwrap());
        write(
            "client-key.pem",
            client_key.private_key_to_pem_pkcs8().unwrap(),
        );
        write("other-ca.pem", other.to_pem().unwrap());
        Pki {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.join(f)
    }
}

// ---- servers ------------------------------------------------------------

struct Server {
    child: Child,
    port: u16,
    socket: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM by pid for a clean shutdown; SIGKILL if it lingers.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs SQL as the server's root over its socket.
fn root_sql(socket: &Path, sql: &str) -> String {
    let mut child = Command::new("mariadb")
        .arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        // TLS does not matter on the socket, and a TLS 1.1-only server
        // would fail this OpenSSL 3 client's handshake.
        .args(["--skip-ssl", "-u", "root", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the mariadb client");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{sql}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh server in `dir/name`: its own data directory, tmpdir, socket and
/// loopback port.
fn start(dir: &Path, name: &str, extra: &[String]) -> Server {
    let base = dir.join(name);
    let data = base.join("data");
    let tmp = base.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let user = if is_root() {
        vec!["--user=root".to_string()]
    } else {
        vec![]
    };
    let out = Command::new("mariadb-install-db")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=socket")
        .arg("--skip-test-db")
        .args(&user)
        .env("TMPDIR", &tmp)
        .output()
        .expect("mariadb-install-db (apt-get install mariadb-server)");
    assert!(
        out.status.success(),
        "mariadb-install-db: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let socket = base.join("mysqld.sock");
    let child = Command::new("mariadbd")
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg("--skip-name-resolve")
        .arg(format!("--tmpdir={}", tmp.display()))
        .arg(format!("--pid-file={}", base.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", base.join("error.log").display()))
        .arg("--server-id=1")
        .args(&user)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mariadbd (apt-get install mariadb-server)");
    let server = Server {
        child,
        port,
        socket,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", server.socket.display()))
            .args(["--skip-ssl", "-u", "root", "-e", "SELECT 1"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not start: {}",
            std::fs::read_to_string(base.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The accounts and replica channel the tests look for, plus the scanner
/// accounts exactly as docs/scanner-queries.md grants them on MariaDB 10.5.9+.
fn seed(server: &Server, pki: &Pki) {
    let pw = sql_str(SCANNER_PASSWORD);
    root_sql(
        &server.socket,
        &format!(
            "DROP USER IF EXISTS ''@'localhost';
             CREATE USER 'sslaudit'@'%' IDENTIFIED BY {pw} REQUIRE SSL;
             CREATE USER 'sslaudit'@'localhost' IDENTIFIED BY {pw};
             GRANT SELECT ON mysql.global_priv TO 'sslaudit'@'%', 'sslaudit'@'localhost';
             GRANT SLAVE MONITOR ON *.* TO 'sslaudit'@'%', 'sslaudit'@'localhost';
             CREATE USER 'scanner_x509'@'%' IDENTIFIED BY {pw} REQUIRE X509;
             GRANT SELECT ON mysql.global_priv TO 'scanner_x509'@'%';
             GRANT SLAVE MONITOR ON *.* TO 'scanner_x509'@'%';
             CREATE USER 'limited'@'%' IDENTIFIED BY {pw} REQUIRE SSL;
             CREATE USER 'limited'@'localhost' IDENTIFIED BY {pw};
             GRANT SLAVE MONITOR ON *.* TO 'limited'@'%', 'limited'@'localhost';
             CREATE USER 'deploy'@'%' IDENTIFIED BY 'x' REQUIRE X509;
             CREATE USER 'plain'@'%' IDENTIFIED BY 'x' REQUIRE NONE;
             CREATE USER 'repl'@'10.0.0.%' IDENTIFIED BY 'x' REQUIRE SSL;
             CREATE USER 'audit'@'%' IDENTIFIED BY 'x' REQUIRE SUBJECT '/CN=audit' \
                 AND ISSUER '/CN=sslaudit test CA' AND CIPHER 'ECDHE-RSA-AES256-GCM-SHA384';
             CREATE USER 'old'@'%' IDENTIFIED BY 'x' REQUIRE SSL ACCOUNT LOCK;
             CREATE ROLE 'app_role';
             CHANGE MASTER 'east' TO MASTER_HOST='127.0.0.2', MASTER_PORT=3306, \
                 MASTER_USER='repl', MASTER_PASSWORD='x', MASTER_SSL=1, \
                 MASTER_SSL_CA={}, MASTER_SSL_VERIFY_SERVER_CERT=0;",
            sql_str(&pki.path("ca.pem").display().to_string())
        ),
    );
}

// ---- helpers ------------------------------------------------------------

fn exec() -> LocalExec {
    LocalExec {
        name: "db-master".into(),
    }
}

fn timed(label: &str, f: impl FnOnce() -> Collected) -> Collected {
    let t = Instant::now();
    let r = f();
    eprintln!("timing: {label}: {:?}", t.elapsed());
    r
}

fn only_problem<'a>(problems: &'a [CollectionProblem], what: &str) -> &'a CollectionProblem {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].what, what, "{problems:#?}");
    &problems[0]
}

fn tcp_settings(pki: &Pki, user: &str) -> TcpSettings {
    TcpSettings {
        user: user.to_string(),
        password: Some(Secret::new(SCANNER_PASSWORD)),
        ca: Some(pki.path("ca.pem")),
        timeout: Duration::from_secs(10),
        ..TcpSettings::default()
    }
}

fn scanner_client(server: &Server, user: &str) -> ClientSettings {
    ClientSettings {
        user: Some(user.to_string()),
        password: Some(Secret::new(SCANNER_PASSWORD)),
        socket: Some(server.socket.display().to_string()),
        ..ClientSettings::default()
    }
}

// ---- the tests ----------------------------------------------------------

#[test]
fn collects_from_live_mariadb() {
    if !live() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let tls_args = vec![
        format!("--ssl-ca={}", pki.path("ca.pem").display()),
        format!("--ssl-cert={}", pki.path("server-cert.pem").display()),
        format!("--ssl-key={}", pki.path("server-key.pem").display()),
    ];
    let server = start(dir.path(), "tls", &tls_args);
    seed(&server, &pki);

    // 1. The host's client as root over the socket, as the seed does it.
    let root = ClientSettings {
        socket: Some(server.socket.display().to_string()),
        ..ClientSettings::default()
    };
    let (rec, conn, problems) = timed("via ssh, root, socket", || {
        collect_via_client(&exec(), &root)
    });
    assert!(problems.is_empty(), "{problems:#?}");
    let rec = rec.expect("record");
    assert_eq!(rec.variables["have_ssl"], "YES");
    assert!(rec.variables["version"].contains("MariaDB"));
    assert_eq!(
        rec.variables["ssl_cert"],
        pki.path("server-cert.pem").display().to_string()
    );
    assert!(rec.status["Ssl_server_not_after"].ends_with(" GMT"));
    let accounts = rec.accounts.as_ref().expect("accounts");
    let find = |u: &str| {
        accounts
            .iter()
            .find(|a| a.user == u)
            .unwrap_or_else(|| panic!("account {u} in {accounts:#?}"))
    };
    assert_eq!(find("deploy").require, Require::X509);
    assert_eq!(find("plain").require, Require::None);
    assert_eq!(find("repl").require, Require::Ssl);
    assert_eq!(find("repl").host, "10.0.0.%");
    assert_eq!(
        find("audit").require,
        Require::Specified {
            issuer: Some("/CN=sslaudit test CA".into()),
            subject: Some("/CN=audit".into()),
            cipher: Some("ECDHE-RSA-AES256-GCM-SHA384".into()),
        }
    );
    assert!(find("old").locked);
    assert!(!find("deploy").locked);
    assert!(find("app_role").is_role);
    assert!(!find("plain").is_role);
    let channels = rec.replication.as_ref().expect("replication");
    assert_eq!(channels.len(), 1, "{channels:#?}");
    assert_eq!(channels[0].name, "east");
    assert_eq!(channels[0].source_host, "127.0.0.2");
    assert_eq!(channels[0].source_user.as_deref(), Some("repl"));
    assert!(channels[0].ssl_allowed);
    assert!(!channels[0].ssl_verify_server_cert);
    assert_eq!(
        channels[0].ssl_ca.as_deref(),
        Some(pki.path("ca.pem").display().to_string().as_str())
    );
    assert!(
        rec.tls_channels.is_empty(),
        "MariaDB has no tls_channel_status"
    );
    let conn = conn.expect("session facts");
    assert_eq!(
        (conn.via.as_str(), conn.endpoint.as_str()),
        ("ssh", "socket")
    );
    assert!(!conn.is_tcp());
    eprintln!("socket session as root: {conn:?}");

    // 2. The least-privilege scanner account (docs/scanner-queries.md) over
    // the socket, password through stdin: everything, no problem.
    let (srec, sconn, problems) = timed("via ssh, sslaudit, socket", || {
        collect_via_client(&exec(), &scanner_client(&server, "sslaudit"))
    });
    assert!(problems.is_empty(), "{problems:#?}");
    let srec = srec.unwrap();
    assert_eq!(srec.accounts, rec.accounts);
    assert_eq!(srec.replication, rec.replication);
    assert_eq!(srec.variables, rec.variables);
    assert_eq!(sconn.unwrap().endpoint, "socket");

    // 2b. A configured option file (like /etc/mysql/debian.cnf) with a
    // stale password: the configured password still wins.
    let cnf = dir.path().join("scanner.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nsocket={}\nuser=sslaudit\npassword=stale\n",
            server.socket.display()
        ),
    )
    .unwrap();
    let with_file = ClientSettings {
        defaults_file: Some(cnf.display().to_string()),
        password: Some(Secret::new(SCANNER_PASSWORD)),
        ..ClientSettings::default()
    };
    let (frec, _, problems) = collect_via_client(&exec(), &with_file);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(frec.unwrap().accounts, rec.accounts);

    // 3. The host's client over TCP on the host: TLS, with its cipher.
    let tcp_client = ClientSettings {
        tcp: Some(("127.0.0.1".into(), server.port)),
        ..scanner_client(&server, "sslaudit")
    };
    let (trec, tconn, problems) = timed("via ssh, sslaudit, tcp", || {
        collect_via_client(&exec(), &tcp_client)
    });
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(trec.unwrap().accounts, rec.accounts);
    let tconn = tconn.unwrap();
    assert_eq!(tconn.endpoint, format!("127.0.0.1:{}", server.port));
    assert!(tconn.is_tcp() && tconn.is_encrypted(), "{tconn:?}");
    assert!(
        tconn
            .tls_version
            .as_deref()
            .unwrap_or("")
            .starts_with("TLSv1.")
    );

    // 4. A denied SELECT: accounts unset, the server's message kept, the
    // rest collected.
    let (lrec, _, problems) = timed("via ssh, limited, socket", || {
        collect_via_client(&exec(), &scanner_client(&server, "limited"))
    });
    let p = only_problem(&problems, "mysql accounts");
    assert!(
        p.message
            .contains("SELECT command denied to user 'limited'@'localhost'"),
        "{}",
        p.message
    );
    let lrec = lrec.unwrap();
    assert_eq!(lrec.accounts, None);
    assert_eq!(lrec.replication, rec.replication);
    assert_eq!(lrec.variables["have_ssl"], "YES");

    // 5. A refused login through the client.
    let wrong = ClientSettings {
        password: Some(Secret::new("wrong")),
        ..scanner_client(&server, "sslaudit")
    };
    let (none, nconn, problems) = collect_via_client(&exec(), &wrong);
    assert!(none.is_none() && nconn.is_none());
    let p = only_problem(&problems, "mysql login");
    assert!(
        p.message.starts_with("ERROR 1045 (28000): Access denied"),
        "{}",
        p.message
    );
    assert!(!p.message.contains("wrong"));

    // 6. The scanner's own TLS connection, the server verified against the CA.
    let (crec, cconn, problems) = timed("via tcp, sslaudit", || {
        collect_via_tcp("127.0.0.1", server.port, &tcp_settings(&pki, "sslaudit"))
    });
    assert!(problems.is_empty(), "{problems:#?}");
    let crec = crec.unwrap();
    assert_eq!(crec.accounts, rec.accounts);
    assert_eq!(crec.replication, rec.replication);
    assert_eq!(crec.variables, rec.variables);
    assert_eq!(
        crec.status["Ssl_server_not_after"],
        rec.status["Ssl_server_not_after"]
    );
    let cconn = cconn.unwrap();
    assert_eq!(cconn.via, "tcp");
    assert_eq!(cconn.endpoint, format!("127.0.0.1:{}", server.port));
    assert!(cconn.is_encrypted(), "{cconn:?}");
    eprintln!("tcp session: {cconn:?}");

    // Hostname verification: the certificate names 127.0.0.1.
    let identity = TcpSettings {
        verify: CertCheck::Identity,
        ..tcp_settings(&pki, "sslaudit")
    };
    let (_, _, problems) = collect_via_tcp("127.0.0.1", server.port, &identity);
    assert!(problems.is_empty(), "{problems:#?}");

    // 7. REQUIRE X509: in with the scanner's client identity, out without.
    let x509 = TcpSettings {
        cert: Some(pki.path("client-cert.pem")),
        key: Some(pki.path("client-key.pem")),
        ..tcp_settings(&pki, "scanner_x509")
    };
    let (xrec, _, problems) = timed("via tcp, scanner_x509 with identity", || {
        collect_via_tcp("127.0.0.1", server.port, &x509)
    });
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(xrec.unwrap().accounts.is_some());
    let (none, _, problems) = collect_via_tcp(
        "127.0.0.1",
        server.port,
        &tcp_settings(&pki, "scanner_x509"),
    );
    assert!(none.is_none());
    let p = only_problem(&problems, "mysql login");
    assert!(p.message.contains("Access denied"), "{}", p.message);

    // 8. A refused login over TCP.
    let wrong = TcpSettings {
        password: Some(Secret::new("wrong")),
        ..tcp_settings(&pki, "sslaudit")
    };
    let (none, _, problems) = collect_via_tcp("127.0.0.1", server.port, &wrong);
    assert!(none.is_none());
    let p = only_problem(&problems, "mysql login");
    assert!(p.message.contains("ERROR 1045 (28000)"), "{}", p.message);

    // 9. A denied SELECT over TCP.
    let (lrec, _, problems) =
        collect_via_tcp("127.0.0.1", server.port, &tcp_settings(&pki, "limited"));
    let p = only_problem(&problems, "mysql accounts");
    assert!(
        p.message
            .starts_with("SELECT ... FROM mysql.global_priv / mysql.user: ERROR 1142 (42000)"),
        "{}",
        p.message
    );
    assert_eq!(lrec.unwrap().accounts, None);

    // 10. A certificate from another CA is refused, never used.
    let other = TcpSettings {
        ca: Some(pki.path("other-ca.pem")),
        ..tcp_settings(&pki, "sslaudit")
    };
    let (none, _, problems) = collect_via_tcp("127.0.0.1", server.port, &other);
    assert!(none.is_none());
    let p = only_problem(&problems, "mysql tls");
    assert!(
        p.message.contains("certificate verify failed"),
        "{}",
        p.message
    );
    // ...unless checking is explicitly off.
    let off = TcpSettings {
        verify: CertCheck::Off,
        ..other
    };
    let (rec_off, _, problems) = collect_via_tcp("127.0.0.1", server.port, &off);
    assert!(problems.is_empty() && rec_off.is_some(), "{problems:#?}");
}

#[test]
fn servers_without_modern_tls() {
    if !live() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());

    // No TLS at all: required -> a problem and no session; preferred -> a
    // plaintext session whose facts say so (SSL018's input).
    let plain = start(dir.path(), "plain", &["--skip-ssl".to_string()]);
    seed(&plain, &pki);
    let (none, conn, problems) =
        collect_via_tcp("127.0.0.1", plain.port, &tcp_settings(&pki, "sslaudit"));
    assert!(none.is_none() && conn.is_none());
    // Not an access failure: the server's state (SSL001 from the greeting).
    let p = only_problem(&problems, "mysql no tls");
    assert!(p.message.contains("does not offer TLS"), "{}", p.message);
    assert!(!p.is_access_failure() && p.is_tls_not_offered());
    root_sql(
        &plain.socket,
        &format!(
            "CREATE USER 'nossl'@'%' IDENTIFIED BY {}; GRANT SELECT ON mysql.global_priv TO 'nossl'@'%'; GRANT SLAVE MONITOR ON *.* TO 'nossl'@'%';",
            sql_str(SCANNER_PASSWORD)
        ),
    );
    let preferred = TcpSettings {
        tls: TlsMode::Preferred,
        ..tcp_settings(&pki, "nossl")
    };
    let (rec, conn, problems) = collect_via_tcp("127.0.0.1", plain.port, &preferred);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(rec.unwrap().variables["have_ssl"], "DISABLED");
    let conn = conn.unwrap();
    assert!(conn.is_tcp() && !conn.is_encrypted(), "{conn:?}");
    // The host's client over TCP asks for TLS but gets none: recorded.
    let tcp_client = ClientSettings {
        tcp: Some(("127.0.0.1".into(), plain.port)),
        ..scanner_client(&plain, "nossl")
    };
    let (_, conn, problems) = collect_via_client(&exec(), &tcp_client);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(!conn.unwrap().is_encrypted());
    drop(plain);

    // TLS 1.1 only (a legacy server): the crate's OpenSSL client keeps its
    // default security level, so the handshake fails; a problem, no
    // plaintext fallback.
    let legacy = start(
        dir.path(),
        "legacy",
        &[
            format!("--ssl-ca={}", pki.path("ca.pem").display()),
            format!("--ssl-cert={}", pki.path("server-cert.pem").display()),
            format!("--ssl-key={}", pki.path("server-key.pem").display()),
            "--tls-version=TLSv1.1".to_string(),
            "--ssl-cipher=DEFAULT:@SECLEVEL=0".to_string(),
        ],
    );
    seed(&legacy, &pki);
    let preferred = TcpSettings {
        tls: TlsMode::Preferred,
        ..tcp_settings(&pki, "sslaudit")
    };
    let (none, conn, problems) = collect_via_tcp("127.0.0.1", legacy.port, &preferred);
    assert!(none.is_none() && conn.is_none());
    let p = only_problem(&problems, "mysql tls");
    eprintln!("legacy server over tcp: {}", p.message);
}
