//! Key generation: certificates parse with the project's own parsers,
//! verify with the openssl CLI, are accepted by a real MariaDB server
//! (SSLAUDIT_LIVE=1), and the engineyard layout of a keygen run passes the
//! certificate and key rules.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sslaudit_remediations::keygen::{
    Ca, CertSpec, DEFAULT_DAYS, Issued, KeyAlgo, KeyFile, KeygenError, layout_files,
};
use sslaudit_rules::certs::{
    CertificateExpiry, KeyCertificateMismatch, PrivateKeyPermissions, UserKeyMissing, WeakCrypto,
};
use sslaudit_rules::facts::{
    Certificate, FileMeta, FileStatus, Fleet, HostFacts, IdentityKind, KeyAlgorithm, Role,
    TlsIdentity,
};
use sslaudit_rules::layout::Layout;
use sslaudit_rules::parse::x509::{is_issued_by, parse_certificates, parse_private_key};
use sslaudit_rules::policy::Thresholds;
use sslaudit_rules::{Context, Location, Rule};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn certs(pem: &str) -> Vec<Certificate> {
    parse_certificates("test.crt", pem.as_bytes()).expect("certificate parses")
}

fn server_spec(cn: &str, sans: &[&str]) -> CertSpec {
    CertSpec {
        sans: sans.iter().map(|s| s.to_string()).collect(),
        ..CertSpec::new(cn)
    }
}

#[test]
fn rsa_ca_server_and_client_parse_and_chain() {
    let ca = Ca::generate("sslaudit test CA", DEFAULT_DAYS, KeyAlgo::Rsa(2048)).unwrap();
    let ca_cert = certs(&ca.cert_pem()).remove(0);
    assert!(ca_cert.is_ca);
    assert!(ca_cert.is_self_signed());
    assert_eq!(ca_cert.common_name(), Some("sslaudit test CA"));
    assert_eq!(ca_cert.spki_sha256, ca.spki_sha256());

    let spec = server_spec("db-master", &["db-master.internal", "10.0.0.10", "::1"]);
    assert_eq!(spec.days, 1825, "the seed's default");
    assert_eq!(spec.algo, KeyAlgo::Rsa(2048));
    let server = ca.issue_server(&spec).unwrap();
    assert!(
        server
            .key_pem
            .starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "PKCS#1 for yaSSL builds"
    );
    let leaf = certs(&server.cert_pem).remove(0);
    assert!(!leaf.is_ca);
    assert_eq!(leaf.common_name(), Some("db-master"));
    assert_eq!(
        leaf.subject_alt_names,
        ["db-master", "db-master.internal", "10.0.0.10", "::1"]
    );
    assert_eq!(leaf.signature_algorithm, "sha256WithRSAEncryption");
    assert_eq!(leaf.public_key.algorithm, KeyAlgorithm::Rsa);
    assert_eq!(leaf.public_key.bits, 2048);
    assert_eq!(leaf.spki_sha256, server.spki_sha256);
    assert_eq!(leaf.not_after, server.not_after);
    let t = now();
    assert!((leaf.not_after - t - 1825 * 86_400).abs() < 120);
    assert!(
        leaf.not_before < t - 60,
        "backdated for clock skew: {}",
        leaf.not_before
    );
    assert!(is_issued_by(&leaf, &ca_cert));
    assert!(!is_issued_by(&ca_cert, &leaf));

    let key = parse_private_key(server.key_pem.as_bytes()).unwrap();
    assert_eq!(key.format, "RSA PRIVATE KEY");
    assert_eq!(key.bits, 2048);
    assert_eq!(key.matches(&leaf), Some(true));
    assert_eq!(key.matches(&ca_cert), Some(false));

    let client = ca.issue_client(&CertSpec::new("deploy")).unwrap();
    let c = certs(&client.cert_pem).remove(0);
    assert_eq!(
        c.subject, "CN=deploy",
        "REQUIRE SUBJECT '/CN=deploy' matches"
    );
    assert!(is_issued_by(&c, &ca_cert));
    assert!(c.subject_alt_names.is_empty());

    // Serials are random, never shared.
    let again = certs(&ca.issue_server(&spec).unwrap().cert_pem).remove(0);
    assert_ne!(again.serial, leaf.serial);
    assert!(leaf.serial.len() >= 30, "128-bit serial: {}", leaf.serial);
}

#[test]
fn extensions_as_openssl_prints_them() {
    let ca = Ca::generate("ext CA", 30, KeyAlgo::Rsa(2048)).unwrap();
    let server = ca.issue_server(&server_spec("db", &["127.0.0.1"])).unwrap();
    let client = ca.issue_client(&CertSpec::new("deploy")).unwrap();
    let text = |pem: &str| {
        openssl::x509::X509::from_pem(pem.as_bytes())
            .unwrap()
            .to_text()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap()
    };
    let ca_text = text(&ca.cert_pem());
    assert!(
        ca_text.contains("X509v3 Basic Constraints: critical"),
        "{ca_text}"
    );
    assert!(ca_text.contains("CA:TRUE"));
    assert!(ca_text.contains("Certificate Sign, CRL Sign"));
    assert!(ca_text.contains("X509v3 Subject Key Identifier"));
    assert!(ca_text.contains("Version: 3"));
    let s = text(&server.cert_pem);
    assert!(s.contains("CA:FALSE"), "{s}");
    assert!(s.contains("Digital Signature, Key Encipherment"));
    assert!(s.contains("TLS Web Server Authentication"));
    assert!(s.contains("DNS:db, IP Address:127.0.0.1"));
    assert!(s.contains("X509v3 Authority Key Identifier"));
    assert!(s.contains("sha256WithRSAEncryption"));
    let c = text(&client.cert_pem);
    assert!(c.contains("TLS Web Client Authentication"), "{c}");
    assert!(!c.contains("TLS Web Server Authentication"));
}

#[test]
fn ecdsa_p256_works() {
    let ca = Ca::generate("ec CA", 365, KeyAlgo::EcdsaP256).unwrap();
    let spec = CertSpec {
        algo: KeyAlgo::EcdsaP256,
        ..server_spec("db-ec", &[])
    };
    let issued = ca.issue_server(&spec).unwrap();
    assert!(issued.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let leaf = certs(&issued.cert_pem).remove(0);
    assert_eq!(leaf.public_key.algorithm, KeyAlgorithm::Ec);
    assert_eq!(leaf.public_key.curve.as_deref(), Some("prime256v1"));
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256");
    let key = parse_private_key(issued.key_pem.as_bytes()).unwrap();
    assert_eq!(key.format, "EC PRIVATE KEY");
    assert_eq!(key.matches(&leaf), Some(true));
    assert!(is_issued_by(&leaf, &certs(&ca.cert_pem())[0]));
    // An RSA leaf under an EC CA is fine too.
    let rsa = ca.issue_client(&CertSpec::new("deploy")).unwrap();
    assert!(is_issued_by(
        &certs(&rsa.cert_pem)[0],
        &certs(&ca.cert_pem())[0]
    ));
}

#[test]
fn from_pem_round_trips_and_refuses_wrong_input() {
    let ca = Ca::generate("round trip CA", 100, KeyAlgo::Rsa(2048)).unwrap();
    assert!(ca.key_pem().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let back = Ca::from_pem(&ca.cert_pem(), &ca.key_pem()).unwrap();
    assert_eq!(back.cert_pem(), ca.cert_pem());
    let issued = back.issue_client(&CertSpec::new("deploy")).unwrap();
    assert!(is_issued_by(
        &certs(&issued.cert_pem)[0],
        &certs(&ca.cert_pem())[0]
    ));

    let other = Ca::generate("other CA", 100, KeyAlgo::Rsa(2048)).unwrap();
    let err = Ca::from_pem(&ca.cert_pem(), &other.key_pem()).unwrap_err();
    assert!(matches!(err, KeygenError::KeyMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the CA private key does not belong to the CA certificate (CN=round trip CA)"
    );
    let err = Ca::from_pem(&issued.cert_pem, &issued.key_pem).unwrap_err();
    assert!(matches!(err, KeygenError::NotCa { .. }), "{err}");
    let err = Ca::from_pem("not a certificate", &ca.key_pem()).unwrap_err();
    assert!(matches!(err, KeygenError::CaCertificate(_)), "{err}");
    let err = Ca::from_pem(&ca.cert_pem(), "garbage").unwrap_err();
    assert!(matches!(err, KeygenError::CaKey(_)), "{err}");
    assert!(
        !err.to_string().contains("garbage"),
        "no input echoed in errors"
    );
}

#[test]
fn bad_specs_are_refused() {
    assert!(matches!(
        Ca::generate("x", 10, KeyAlgo::Rsa(1024)),
        Err(KeygenError::RsaBits(1024))
    ));
    assert!(matches!(
        Ca::generate("x", 0, KeyAlgo::EcdsaP256),
        Err(KeygenError::Days(0))
    ));
    assert!(matches!(
        Ca::generate("", 10, KeyAlgo::EcdsaP256),
        Err(KeygenError::CommonName { .. })
    ));
    let ca = Ca::generate("x", 10, KeyAlgo::EcdsaP256).unwrap();
    let long = "u".repeat(65);
    assert!(matches!(
        ca.issue_client(&CertSpec::new(&long)),
        Err(KeygenError::CommonName { .. })
    ));
    let err = ca
        .issue_server(&server_spec("db", &["bad name!"]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid subject alternative name `bad name!`: not an IP address, and not a DNS name \
         (letters, digits, `-`, `_` in dot-separated labels)"
    );
    // A MySQL user name with unusual characters is still a valid CN.
    let odd = ca.issue_client(&CertSpec::new("o'brien")).unwrap();
    assert_eq!(certs(&odd.cert_pem)[0].common_name(), Some("o'brien"));
    assert!(format!("{odd:?}").contains("spki_sha256"));
    assert!(
        !format!("{odd:?}").contains("PRIVATE"),
        "Debug hides the key"
    );
}

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn openssl_cli_verifies_the_chain() {
    if !openssl_available() {
        eprintln!("skipped: no openssl binary on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for algo in [KeyAlgo::Rsa(2048), KeyAlgo::EcdsaP256] {
        let ca = Ca::generate("cli CA", DEFAULT_DAYS, algo).unwrap();
        let server = ca
            .issue_server(&CertSpec {
                algo,
                ..server_spec("db-master", &["127.0.0.1"])
            })
            .unwrap();
        let client = ca.issue_client(&CertSpec::new("deploy")).unwrap();
        let ca_path = dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.cert_pem()).unwrap();
        for (name, issued, purpose) in [
            ("server.pem", &server, "sslserver"),
            ("client.pem", &client, "sslclient"),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, &issued.cert_pem).unwrap();
            let out = Command::new("openssl")
                .arg("verify")
                .arg("-purpose")
                .arg(purpose)
                .arg("-CAfile")
                .arg(&ca_path)
                .arg(&p)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{algo:?} {name}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // And the key belongs to the certificate, as openssl sees it.
        let key_path = dir.path().join("server.key");
        std::fs::write(&key_path, &server.key_pem).unwrap();
        let out = Command::new("openssl")
            .args(["pkey", "-pubout", "-outform", "DER", "-in"])
            .arg(&key_path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let digest = openssl::sha::sha256(&out.stdout);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, server.spki_sha256);
    }
    // A server certificate of another CA does not verify.
    let other = Ca::generate("other", 10, KeyAlgo::Rsa(2048)).unwrap();
    let foreign = other.issue_server(&server_spec("x", &[])).unwrap();
    let p = dir.path().join("foreign.pem");
    std::fs::write(&p, &foreign.cert_pem).unwrap();
    let status = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(dir.path().join("ca.pem"))
        .arg(&p)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

// --- the engineyard layout, judged by the rules ---------------------------

const DATADIR: &str = "/db/mysql/5.6/data";

struct Generated {
    ca: Ca,
    servers: Vec<(String, String, Issued)>,
    users: Vec<(String, Issued)>,
}

fn generate_fleet() -> Generated {
    let ca = Ca::generate("production CA", DEFAULT_DAYS, KeyAlgo::Rsa(2048)).unwrap();
    let servers = [("db-master", "10.0.0.10"), ("db-replica", "10.0.0.11")]
        .into_iter()
        .map(|(h, ip)| {
            let issued = ca.issue_server(&server_spec(h, &[ip])).unwrap();
            (h.to_string(), DATADIR.to_string(), issued)
        })
        .collect();
    let users = ["mysql", "deploy"]
        .into_iter()
        .map(|u| (u.to_string(), ca.issue_client(&CertSpec::new(u)).unwrap()))
        .collect();
    Generated { ca, servers, users }
}

/// HostFacts as the snapshot loader would build them from these files.
fn host_facts(name: &str, roles: &[Role], files: &[&KeyFile]) -> HostFacts {
    let layout = Layout::engineyard();
    let mut h = HostFacts::new(name, "production", layout.clone());
    h.roles = roles.iter().copied().collect();
    h.app_user = roles.contains(&Role::App).then(|| "deploy".to_string());
    for f in files {
        h.files.insert(
            f.path.clone(),
            FileMeta {
                path: f.path.clone(),
                status: FileStatus::Present,
                mode: Some(f.mode),
                owner: Some(f.owner.clone()),
                group: Some(f.group.clone()),
                size: Some(f.content.len() as u64),
                lines: None,
            },
        );
        if f.private {
            h.private_keys.insert(
                f.path.clone(),
                parse_private_key(f.content.as_bytes()).expect("key parses"),
            );
        } else {
            h.certificates.insert(
                f.path.clone(),
                parse_certificates(&f.path, f.content.as_bytes()).expect("certificate parses"),
            );
        }
    }
    let exists = |p: &str| h.files.contains_key(p).then(|| p.to_string());
    let mut ids = Vec::new();
    let server_ca = format!("{DATADIR}/{}", layout.server_ca);
    if h.files.contains_key(&server_ca) {
        ids.push(TlsIdentity {
            kind: IdentityKind::Server,
            origin: Location::file("/etc/mysql/my.cnf", Some(10)),
            ca: exists(&server_ca),
            cert: exists(&format!("{DATADIR}/{}", layout.server_cert)),
            key: exists(&format!("{DATADIR}/{}", layout.server_key)),
        });
    }
    let mut dirs: BTreeMap<String, IdentityKind> = BTreeMap::new();
    for p in h.files.keys() {
        if let Some(rest) = p.strip_prefix("/db/mysql/keygen/")
            && let Some((user, _)) = rest.split_once('/')
        {
            dirs.insert(
                format!("/db/mysql/keygen/{user}"),
                IdentityKind::Keygen { user: user.into() },
            );
        }
        if let Some(rest) = p.strip_prefix("/home/")
            && let Some((user, _)) = rest.split_once("/.mysql/")
        {
            dirs.insert(
                format!("/home/{user}/.mysql"),
                IdentityKind::UserHome { user: user.into() },
            );
        }
    }
    for (dir, kind) in dirs {
        ids.push(TlsIdentity {
            kind,
            origin: Location::file(dir.clone(), None),
            ca: exists(&format!("{dir}/{}", layout.client_ca)),
            cert: exists(&format!("{dir}/{}", layout.client_cert)),
            key: exists(&format!("{dir}/{}", layout.client_key)),
        });
    }
    h.identities = ids;
    h
}

#[test]
fn engineyard_layout_files() {
    let g = generate_fleet();
    let apps = [(
        "app-1".to_string(),
        "deploy".to_string(),
        "/home/deploy".to_string(),
    )];
    let files = layout_files(&Layout::engineyard(), &g.ca, &g.servers, &g.users, &apps);
    let summary: Vec<String> = files
        .iter()
        .map(|f| {
            format!(
                "{} {} {:04o} {}:{}{}",
                f.host,
                f.path,
                f.mode,
                f.owner,
                f.group,
                if f.private { " private" } else { "" }
            )
        })
        .collect();
    let mut expected = vec![
        "app-1 /home/deploy/.mysql/mysql.crt 0644 deploy:deploy".to_string(),
        "app-1 /home/deploy/.mysql/mysql.key 0600 deploy:deploy private".to_string(),
        "app-1 /home/deploy/.mysql/root.crt 0644 deploy:deploy".to_string(),
    ];
    for h in ["db-master", "db-replica"] {
        expected.extend([
            format!("{h} /db/mysql/5.6/data/root.crt 0644 mysql:mysql"),
            format!("{h} /db/mysql/5.6/data/server.crt 0644 mysql:mysql"),
            format!("{h} /db/mysql/5.6/data/server.key 0600 mysql:mysql private"),
        ]);
        for u in ["deploy", "mysql"] {
            expected.extend([
                format!("{h} /db/mysql/keygen/{u}/mysql.crt 0644 root:root"),
                format!("{h} /db/mysql/keygen/{u}/mysql.key 0600 root:root private"),
                format!("{h} /db/mysql/keygen/{u}/root.crt 0644 root:root"),
            ]);
        }
    }
    expected.sort();
    assert_eq!(summary, expected);
    assert!(
        !format!("{files:?}").contains("PRIVATE KEY"),
        "Debug hides keys"
    );
    // The app host gets the deploy user's own certificate.
    let app_cert = files
        .iter()
        .find(|f| f.path == "/home/deploy/.mysql/mysql.crt")
        .unwrap();
    assert_eq!(certs(&app_cert.content)[0].common_name(), Some("deploy"));

    // Debian has no keygen directory: server files only on database hosts.
    let debian = layout_files(&Layout::debian(), &g.ca, &g.servers, &g.users, &[]);
    assert_eq!(debian.len(), 6);
    assert!(
        debian
            .iter()
            .all(|f| f.path.starts_with("/db/mysql/5.6/data/"))
    );
    assert!(debian.iter().any(|f| f.path.ends_with("/server-key.pem")));
}

#[test]
fn generated_layout_passes_the_certificate_rules() {
    let g = generate_fleet();
    let apps = [(
        "app-1".to_string(),
        "deploy".to_string(),
        "/home/deploy".to_string(),
    )];
    let files = layout_files(&Layout::engineyard(), &g.ca, &g.servers, &g.users, &apps);
    let on = |host: &str| files.iter().filter(|f| f.host == host).collect::<Vec<_>>();
    let hosts = vec![
        host_facts("db-master", &[Role::DbMaster], &on("db-master")),
        host_facts("db-replica", &[Role::DbReplica], &on("db-replica")),
        host_facts("app-1", &[Role::App], &on("app-1")),
    ];
    assert_eq!(hosts[0].identities.len(), 3, "server + two keygen users");
    assert_eq!(hosts[2].identities.len(), 1);
    let fleet = Fleet { hosts };
    let thresholds = Thresholds::default();
    let cx = Context {
        as_of: now(),
        thresholds: &thresholds,
        fleet: &fleet,
        next_ca: &[],
    };
    let rules: [&dyn Rule; 5] = [
        &CertificateExpiry,
        &KeyCertificateMismatch,
        &UserKeyMissing,
        &PrivateKeyPermissions,
        &WeakCrypto,
    ];
    let mut out = Vec::new();
    for r in rules {
        for h in &fleet.hosts {
            r.check_host(&cx, h, &mut out);
        }
        r.check_fleet(&cx, &mut out);
    }
    let messages: Vec<String> = out
        .iter()
        .map(|f| format!("{} {}: {}", f.rule_id, f.host, f.message))
        .collect();
    assert!(messages.is_empty(), "{messages:#?}");

    // The check can fail: a key from another run is a mismatch (SSL011), a
    // key left 0644 is reported (SSL014).
    let mut broken = fleet.hosts[0].clone();
    let key = format!("{DATADIR}/server.key");
    let stray = g.ca.issue_server(&server_spec("db-master", &[])).unwrap();
    broken.private_keys.insert(
        key.clone(),
        parse_private_key(stray.key_pem.as_bytes()).unwrap(),
    );
    if let Some(m) = broken.files.get_mut(&key) {
        m.mode = Some(0o644);
    }
    let mut out = Vec::new();
    KeyCertificateMismatch.check_host(&cx, &broken, &mut out);
    PrivateKeyPermissions.check_host(&cx, &broken, &mut out);
    let ids: Vec<&str> = out.iter().map(|f| f.rule_id.as_ref()).collect();
    assert_eq!(ids, ["SSL011", "SSL014"], "{out:#?}");
}

// --- a real MariaDB server (SSLAUDIT_LIVE=1) --------------------------------

/// Kills the server when the test ends, passing or not.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn write_private(path: &Path, content: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    f.write_all(content.as_bytes()).unwrap();
}

#[test]
fn mariadb_accepts_the_generated_keys() {
    if std::env::var("SSLAUDIT_LIVE").as_deref() != Ok("1") {
        eprintln!("skipped: set SSLAUDIT_LIVE=1 to start a MariaDB server");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let tmp = w.join("tmp");
    let data = w.join("data");
    std::fs::create_dir_all(&tmp).unwrap();

    let ca = Ca::generate("live CA", DEFAULT_DAYS, KeyAlgo::Rsa(2048)).unwrap();
    let server = ca
        .issue_server(&server_spec("localhost", &["127.0.0.1"]))
        .unwrap();
    let client = ca.issue_client(&CertSpec::new("x509user")).unwrap();
    std::fs::write(w.join("root.crt"), ca.cert_pem()).unwrap();
    std::fs::write(w.join("server.crt"), &server.cert_pem).unwrap();
    write_private(&w.join("server.key"), &server.key_pem);
    std::fs::write(w.join("mysql.crt"), &client.cert_pem).unwrap();
    write_private(&w.join("mysql.key"), &client.key_pem);

    let root = is_root();
    let mut install = Command::new("mariadb-install-db");
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=socket")
        .arg("--skip-test-db")
        .env("TMPDIR", &tmp);
    if root {
        install.arg("--user=root");
    }
    run_ok(&mut install, "mariadb-install-db");

    let port = free_port();
    let socket = w.join("mysqld.sock");
    let mut cmd = Command::new("mariadbd");
    cmd.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", w.join("mysqld.pid").display()))
        .arg(format!("--log-error={}", w.join("error.log").display()))
        .arg(format!("--tmpdir={}", tmp.display()))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--port={port}"))
        .arg("--skip-name-resolve")
        .arg(format!("--ssl-ca={}", w.join("root.crt").display()))
        .arg(format!("--ssl-cert={}", w.join("server.crt").display()))
        .arg(format!("--ssl-key={}", w.join("server.key").display()))
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if root {
        cmd.arg("--user=root");
    }
    let _server = Server(cmd.spawn().expect("mariadbd starts"));

    let admin = |sql: &str| {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .arg(format!("--socket={}", socket.display()))
            .arg("-uroot")
            .args(["-N", "-B", "-e", sql]);
        c
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = admin("SELECT 1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(w.join("error.log")).unwrap_or_default();
            panic!("mariadbd did not come up within 60 s:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let have_ssl = run_ok(&mut admin("SELECT @@have_ssl"), "reading have_ssl");
    assert_eq!(
        have_ssl.trim(),
        "YES",
        "the server loaded the generated keys"
    );
    run_ok(
        &mut admin("CREATE USER 'x509user'@'%' REQUIRE X509"),
        "creating the X509 account",
    );

    let client_cmd = |with_cert: bool| {
        let mut c = Command::new("mariadb");
        c.arg("--no-defaults")
            .args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "x509user"])
            .arg(format!("--ssl-ca={}", w.join("root.crt").display()))
            .arg("--ssl-verify-server-cert");
        if with_cert {
            c.arg(format!("--ssl-cert={}", w.join("mysql.crt").display()))
                .arg(format!("--ssl-key={}", w.join("mysql.key").display()));
        }
        c.args(["-N", "-B", "-e", "SHOW STATUS LIKE 'Ssl_cipher'"]);
        c
    };
    let out = run_ok(
        &mut client_cmd(true),
        "connecting with the client certificate",
    );
    let cipher = out.split_whitespace().nth(1).unwrap_or("");
    assert!(!cipher.is_empty(), "no cipher in use: {out}");
    eprintln!("x509user connected with cipher {cipher}");

    // The same account without its certificate is refused: REQUIRE X509 is
    // what let the first connection in.
    let refused = client_cmd(false).output().unwrap();
    assert!(!refused.status.success(), "connected without a certificate");
}
