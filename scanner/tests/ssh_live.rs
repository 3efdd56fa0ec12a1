//! The SSH transport against real sshd processes started here on
//! 127.0.0.1 (free ports, generated host keys, a temp authorized_keys):
//! exec, file collection, host key verification, authentication failures,
//! a server that never answers, and a jump host.
//!
//! Needs /usr/sbin/sshd and ssh-keygen (Debian: openssh-server), and runs
//! only with SSLAUDIT_LIVE=1; otherwise each test says why it skips.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sslaudit_rules::facts::{FileStatus, Role};
use sslaudit_rules::layout::Layout;
use sslaudit_scanner::collect::files;
use sslaudit_scanner::inventory::{HostDefaults, Inventory, InventoryHost};
use sslaudit_scanner::remote::ssh::SshHost;
use sslaudit_scanner::remote::{Exec, RemoteError};

fn live(test: &str) -> bool {
    if std::env::var("SSLAUDIT_LIVE").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("skipping {test}: live tests run only with SSLAUDIT_LIVE=1 (they start sshd)");
    false
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path, kind: &str, passphrase: &str) {
    run(Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            kind,
            "-N",
            passphrase,
            "-C",
            "sslaudit-test",
            "-f",
        ])
        .arg(path));
}

/// `type base64` of a public key file.
fn pub_key(path: &Path) -> String {
    let text = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Client keys shared by the servers of one test.
struct Keys {
    dir: tempfile::TempDir,
}

impl Keys {
    fn new() -> Keys {
        let dir = tempfile::tempdir().unwrap();
        keygen(&dir.path().join("id_ed25519"), "ed25519", "");
        keygen(&dir.path().join("other"), "ed25519", "");
        keygen(&dir.path().join("locked"), "ed25519", "a passphrase");
        keygen(&dir.path().join("id_rsa"), "rsa", "");
        keygen(&dir.path().join("id_ecdsa"), "ecdsa", "");
        let authorized: String = ["id_ed25519", "id_rsa", "id_ecdsa"]
            .iter()
            .map(|k| format!("{}\n", pub_key(&dir.path().join(k))))
            .collect();
        std::fs::write(dir.path().join("authorized_keys"), authorized).unwrap();
        Keys { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

struct Sshd {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sshd {
    fn start(keys: &Keys) -> Sshd {
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "SSLAUDIT_LIVE=1 but /usr/sbin/sshd is missing: apt-get install -y openssh-server"
        );
        std::fs::create_dir_all("/run/sshd").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_ed25519"), "ed25519", "");
        keygen(&d.join("host_ecdsa"), "ecdsa", "");
        let config = format!(
            "HostKey {d}/host_ed25519\nHostKey {d}/host_ecdsa\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {auth}\nStrictModes no\nPubkeyAuthentication yes\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             PermitRootLogin yes\nAllowTcpForwarding yes\nLogLevel ERROR\nMaxStartups 100\n",
            d = d.display(),
            auth = keys.path("authorized_keys").display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        for _ in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(d.join("sshd.log")).unwrap();
            let mut child = Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .args(["-p", &port.to_string(), "-o", "ListenAddress=127.0.0.1"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    let mut banner = [0u8; 4];
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    if s.read_exact(&mut banner).is_ok() && &banner == b"SSH-" {
                        return Sshd { child, port, dir };
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            // Port taken in between, or sshd refused the config: try again.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "sshd did not start: {}",
            std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
        );
    }

    fn host_key(&self, kind: &str) -> String {
        pub_key(&self.dir.path().join(format!("host_{kind}")))
    }

    /// A known_hosts line for this server's key of `kind`.
    fn known_line(&self, kind: &str) -> String {
        format!("[127.0.0.1]:{} {}\n", self.port, self.host_key(kind))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn known_hosts(dir: &Path, lines: &[String]) -> PathBuf {
    let p = dir.join(format!(
        "known_hosts-{}",
        lines.len() + lines.iter().map(String::len).sum::<usize>()
    ));
    std::fs::write(&p, lines.concat()).unwrap();
    p
}

fn host(port: u16, identity: &Path, known: &Path, jump: Option<String>) -> InventoryHost {
    let defaults = HostDefaults {
        identity_file: Some(identity.to_path_buf()),
        known_hosts: Some(known.to_path_buf()),
        timeout: Some(Duration::from_secs(5)),
        jump,
        ..HostDefaults::default()
    };
    let inv = Inventory::adhoc(
        &[format!("root@127.0.0.1:{port}")],
        Role::DbMaster,
        &defaults,
    )
    .unwrap();
    inv.hosts.into_iter().next().unwrap()
}

/// A small host tree under `root`, and a layout pointing into it.
fn tree(root: &Path) -> (Layout, sslaudit_scanner::evidence::HostMeta) {
    let r = root.display().to_string();
    let w = |rel: &str, body: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    w(
        "etc/my.cnf",
        &format!("[mysqld]\nssl-ca={r}/certs/ca.pem\n!includedir {r}/etc/conf.d\n"),
    );
    w("etc/conf.d/ssl.cnf", "[mysqld]\nssl-cipher=AES256-SHA\n");
    w(
        "certs/ca.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    w(
        "data/5.6/data/server.crt",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    let overrides = BTreeMap::from([
        ("option_files".to_string(), format!("{r}/etc/my.cnf")),
        ("data_dirs".to_string(), format!("{r}/data/*/data")),
        ("keygen_dir".to_string(), format!("{r}/keygen")),
    ]);
    let layout = Layout::with_overrides("engineyard", &overrides).unwrap();
    let mut meta = host(22, Path::new("/x"), Path::new("/x"), None).host_meta();
    meta.layout_overrides = overrides;
    (layout, meta)
}

#[test]
fn exec_and_collect_files() {
    if !live("exec_and_collect_files") {
        return;
    }
    let keys = Keys::new();
    let sshd = Sshd::start(&keys);
    let kh = known_hosts(keys.dir.path(), &[sshd.known_line("ed25519")]);
    let h = host(sshd.port, &keys.path("id_ed25519"), &kh, None);
    let t = Instant::now();
    let ssh = SshHost::connect(&h).unwrap();
    let connect = t.elapsed();
    assert!(!ssh.via_jump());

    let out = ssh.exec("echo out; echo err >&2; exit 3", b"").unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status, Some(3));
    // Large input and output both ways through one channel.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = ssh.exec("cat", &big).unwrap();
    assert_eq!(out.stdout.len(), big.len());
    assert!(out.stdout == big);
    let out = ssh.exec("kill -9 $$", b"").unwrap();
    assert_eq!(out.status, None, "killed by a signal");

    let t = Instant::now();
    for _ in 0..20 {
        assert!(ssh.exec("true", b"").unwrap().success());
    }
    let rtt = t.elapsed() / 20;

    let tmp = tempfile::tempdir().unwrap();
    let (layout, meta) = tree(tmp.path());
    let t = Instant::now();
    let c = files::collect(&ssh, &layout, &meta, files::DEFAULT_MAX_BYTES);
    let collect = t.elapsed();
    let r = tmp.path().display().to_string();
    assert_eq!(c.rounds, 2, "{:?}", c.problems);
    for p in [
        "etc/my.cnf",
        "etc/conf.d/ssl.cnf",
        "certs/ca.pem",
        "data/5.6/data/server.crt",
    ] {
        let e = &c.files[&format!("{r}/{p}")];
        assert!(e.content.is_some(), "{p}");
    }
    assert_eq!(
        c.files[&format!("{r}/keygen")].meta.status,
        FileStatus::Missing
    );
    eprintln!(
        "ssh: connect {connect:?}, exec round trip {rtt:?}, collect {collect:?} \
         ({} rounds, {} paths, {} bytes)",
        c.rounds,
        c.files.len(),
        c.bytes
    );
}

#[test]
fn host_keys_are_verified() {
    if !live("host_keys_are_verified") {
        return;
    }
    let keys = Keys::new();
    let sshd = Sshd::start(&keys);
    let id = keys.path("id_ed25519");
    let dir = keys.dir.path();

    // Unknown: nothing about this host (a missing file is the same).
    for kh in [known_hosts(dir, &[]), dir.join("no-such-file")] {
        let err = SshHost::connect(&host(sshd.port, &id, &kh, None))
            .err()
            .unwrap();
        let RemoteError::HostKey { message, .. } = &err else {
            panic!("{err}")
        };
        assert!(message.contains("unknown host key"), "{message}");
        assert!(
            message.contains(&format!("(not in {})", kh.display())),
            "{message}"
        );
    }
    // Changed: another ed25519 key on file for this host.
    let other = format!(
        "[127.0.0.1]:{} {}\n",
        sshd.port,
        pub_key(&keys.path("other"))
    );
    let kh = known_hosts(dir, &[other]);
    let err = SshHost::connect(&host(sshd.port, &id, &kh, None))
        .err()
        .unwrap();
    assert!(
        matches!(&err, RemoteError::HostKey { message, .. } if message.contains("host key changed")),
        "{err}"
    );
    // Known by its ECDSA key only (libssh2 would pick ed25519 first): accepted,
    // because the handshake asks for the key types on file.
    let kh = known_hosts(dir, &[sshd.known_line("ecdsa")]);
    SshHost::connect(&host(sshd.port, &id, &kh, None)).unwrap();
    // Revoked.
    let kh = known_hosts(
        dir,
        &[
            sshd.known_line("ed25519"),
            format!("@revoked {}", sshd.known_line("ed25519")),
        ],
    );
    let err = SshHost::connect(&host(sshd.port, &id, &kh, None))
        .err()
        .unwrap();
    assert!(err.to_string().contains("@revoked"), "{err}");
}

#[test]
fn port_forwards_reach_what_the_host_sees() {
    if !live("port_forwards_reach_what_the_host_sees") {
        return;
    }
    let keys = Keys::new();
    let sshd = Sshd::start(&keys);
    let kh = known_hosts(keys.dir.path(), &[sshd.known_line("ed25519")]);
    let h = host(sshd.port, &keys.path("id_ed25519"), &kh, None);
    // The host's own sshd, reached through the forward: its banner comes back.
    let fwd = SshHost::forward(&h, "127.0.0.1", sshd.port).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", fwd.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut banner = [0u8; 8];
    s.read_exact(&mut banner).unwrap();
    assert_eq!(&banner, b"SSH-2.0-");
    // A port nobody listens on fails at once, not on first use.
    let err = SshHost::forward(&h, "127.0.0.1", free_port())
        .err()
        .unwrap();
    assert!(err.to_string().contains("forwarded connection"), "{err}");
}

#[test]
fn rsa_and_ecdsa_identities_log_in() {
    if !live("rsa_and_ecdsa_identities_log_in") {
        return;
    }
    let keys = Keys::new();
    let sshd = Sshd::start(&keys);
    let kh = known_hosts(keys.dir.path(), &[sshd.known_line("ed25519")]);
    for key in ["id_rsa", "id_ecdsa"] {
        let ssh = SshHost::connect(&host(sshd.port, &keys.path(key), &kh, None))
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(ssh.exec("id -u", b"").unwrap().stdout, b"0\n");
    }
}

#[test]
fn bad_credentials_are_refused_clearly() {
    if !live("bad_credentials_are_refused_clearly") {
        return;
    }
    let keys = Keys::new();
    let sshd = Sshd::start(&keys);
    let kh = known_hosts(keys.dir.path(), &[sshd.known_line("ed25519")]);
    for (key, want) in [
        ("other", "was refused for user root"),
        ("locked", "passphrase"),
        ("missing", "identity file"),
    ] {
        let err = SshHost::connect(&host(sshd.port, &keys.path(key), &kh, None))
            .err()
            .unwrap();
        assert!(matches!(err, RemoteError::Auth { .. }), "{key}: {err}");
        assert!(err.to_string().contains(want), "{key}: {err}");
    }
}

#[test]
fn silent_and_closed_ports_fail_within_the_timeout() {
    if !live("silent_and_closed_ports_fail_within_the_timeout") {
        return;
    }
    let keys = Keys::new();
    let kh = known_hosts(keys.dir.path(), &[]);
    // Accepts TCP and never says a word.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        std::thread::sleep(Duration::from_secs(4));
        drop(s);
    });
    let mut h = host(port, &keys.path("id_ed25519"), &kh, None);
    h.ssh.timeout = Duration::from_secs(1);
    let t = Instant::now();
    let err = SshHost::connect(&h).err().unwrap();
    let took = t.elapsed();
    assert!(matches!(err, RemoteError::Timeout { .. }), "{err}");
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    eprintln!("silent sshd: {err} after {took:?}");
    holder.join().unwrap();

    let closed = free_port();
    let t = Instant::now();
    let err = SshHost::connect(&host(closed, &keys.path("id_ed25519"), &kh, None))
        .err()
        .unwrap();
    assert!(matches!(err, RemoteError::Connect { .. }), "{err}");
    assert!(t.elapsed() < Duration::from_secs(1));
}

#[test]
fn through_a_jump_host() {
    if !live("through_a_jump_host") {
        return;
    }
    let keys = Keys::new();
    let bastion = Sshd::start(&keys);
    let target = Sshd::start(&keys);
    let kh = known_hosts(
        keys.dir.path(),
        &[bastion.known_line("ed25519"), target.known_line("ed25519")],
    );
    let jump = Some(format!("root@127.0.0.1:{}", bastion.port));
    let h = host(target.port, &keys.path("id_ed25519"), &kh, jump.clone());
    let t = Instant::now();
    let ssh = SshHost::connect(&h).unwrap();
    let connect = t.elapsed();
    assert!(ssh.via_jump());
    let out = ssh.exec("echo $SSH_CONNECTION", b"").unwrap();
    // The target sees the connection coming from the bastion's side.
    assert!(String::from_utf8_lossy(&out.stdout).contains(&target.port.to_string()));
    let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 13) as u8).collect();
    assert_eq!(ssh.exec("cat", &big).unwrap().stdout, big);
    let t = Instant::now();
    for _ in 0..20 {
        assert!(ssh.exec("true", b"").unwrap().success());
    }
    let rtt = t.elapsed() / 20;
    let tmp = tempfile::tempdir().unwrap();
    let (layout, meta) = tree(tmp.path());
    let t = Instant::now();
    let c = files::collect(&ssh, &layout, &meta, files::DEFAULT_MAX_BYTES);
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    eprintln!(
        "jump: connect {connect:?}, exec round trip {rtt:?}, collect {:?} ({} rounds)",
        t.elapsed(),
        c.rounds
    );
    drop(ssh);

    // The bastion's key is verified too.
    let kh = known_hosts(keys.dir.path(), &[target.known_line("ed25519")]);
    let h = host(target.port, &keys.path("id_ed25519"), &kh, jump);
    let err = SshHost::connect(&h).err().unwrap();
    assert!(err.to_string().contains("jump host 127.0.0.1"), "{err}");
    assert!(matches!(err, RemoteError::HostKey { .. }), "{err}");
}
