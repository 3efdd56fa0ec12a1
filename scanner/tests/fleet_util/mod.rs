//! The one live-fleet guard and its helpers, shared by every test that runs
//! on the test fleet (live_fleet.rs, remediate_live.rs, faults_live.rs,
//! load_live.rs, secrets_live.rs, injection_live.rs, probe_hygiene_live.rs,
//! shards_live.rs, probe_plaintext_live.rs, wire_live.rs, serve.rs): bringing a
//! fleet up on a subnet of its own and always down again, running
//! sslaudit, and reading its JSON report. Each test binary uses a part of
//! it. Subnets, one per test (docs/testfleet.md): 41 live_fleet, 51..56
//! remediate_live, 70..79 the reliability and security tests (75 serve,
//! 78 probe_plaintext_live, 79 wire_live).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// True with SSLAUDIT_LIVE=1 (root, `testfleet/fleet deps`); otherwise says
/// why the test skips.
pub fn live(test: &str) -> bool {
    if std::env::var("SSLAUDIT_LIVE").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "skipped {test}: set SSLAUDIT_LIVE=1 (root, testfleet/fleet deps) to run it on the test fleet"
    );
    false
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo fleet's snapshot folder.
pub fn demo() -> PathBuf {
    root().join("fixtures/demo-fleet")
}

/// The demo fleet's own collection day, so expiry findings never rot.
pub fn demo_as_of() -> String {
    let m = sslaudit_scanner::snapshot::read_manifest(&demo()).expect("demo fleet manifest");
    m.collected_at.expect("demo fleet has collected_at")[..10].to_string()
}

/// `promtool ARGS...` in the repository (stdin from `stdin`); `None` (the
/// test says it skips) when promtool is not installed, unless
/// SSLAUDIT_REQUIRE_PROMTOOL is set (CI: it must run).
pub fn promtool(args: &[&str], stdin: Option<&Path>) -> Option<Output> {
    let mut cmd = Command::new("promtool");
    cmd.args(args).current_dir(root());
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) if std::env::var_os("SSLAUDIT_REQUIRE_PROMTOOL").is_some() => {
            panic!("SSLAUDIT_REQUIRE_PROMTOOL is set but promtool does not run: {e}")
        }
        Err(_) => {
            eprintln!("skipped: promtool is not installed (apt-get install prometheus)");
            None
        }
    }
}

/// Checks a SARIF log with Microsoft's validator (`.ci/sarif-validate`:
/// zero errors and zero warnings) when SSLAUDIT_SARIF_VALIDATE=1, as CI
/// sets it; otherwise says that it skips (the validator comes from npm).
pub fn assert_sarif_validates(path: &Path) {
    if std::env::var("SSLAUDIT_SARIF_VALIDATE").as_deref() != Ok("1") {
        eprintln!(
            "skipped validating {} with sarif-multitool: set SSLAUDIT_SARIF_VALIDATE=1 \
             (needs npm; .ci/run sets it)",
            path.display()
        );
        return;
    }
    let out = Command::new(root().join(".ci/sarif-validate"))
        .arg(path)
        .output()
        .expect("run .ci/sarif-validate");
    assert!(
        out.status.success(),
        "sarif-multitool validate found problems in {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks an OSCAL assessment-results document against NIST's schema and
/// by loading it in compliance-trestle (`.ci/oscal-validate`) when
/// SSLAUDIT_OSCAL_VALIDATE=1, as CI sets it; otherwise says that it skips
/// (both validators come from PyPI).
pub fn assert_oscal_validates(path: &Path) {
    if std::env::var("SSLAUDIT_OSCAL_VALIDATE").as_deref() != Ok("1") {
        eprintln!(
            "skipped validating {} with the OSCAL schema and compliance-trestle: set \
             SSLAUDIT_OSCAL_VALIDATE=1 (needs python3 and PyPI; .ci/run sets it)",
            path.display()
        );
        return;
    }
    let out = Command::new(root().join(".ci/oscal-validate"))
        .arg(path)
        .output()
        .expect("run .ci/oscal-validate");
    assert!(
        out.status.success(),
        "OSCAL validation found problems in {}:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running fleet, taken down when dropped (also when the test fails).
pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub subnet: u8,
    /// What `up` printed, and how long it took.
    pub summary: String,
    pub up_took: Duration,
}

impl Fleet {
    /// `testfleet/fleet up` with `spec` (a spec file's text, or `N`), EC
    /// keys (fast), and `extra` options; `env` for the fleet script.
    pub fn up(subnet: u8, spec: &str, extra: &[&str], env: &[(&str, &str)]) -> Fleet {
        let mut args = vec!["--key-type", "ec"];
        args.extend_from_slice(extra);
        Fleet::up_with(subnet, spec, &args, env)
    }

    /// `testfleet/fleet up` with `spec` (a spec file's text, a spec file's
    /// path or `N`) and exactly the `extra` options given.
    pub fn up_with(subnet: u8, spec: &str, extra: &[&str], env: &[(&str, &str)]) -> Fleet {
        assert!(
            // 78: probe_plaintext_live; 80, 81: galera_live.
            subnet == 41 || (51..=58).contains(&subnet) || (70..=81).contains(&subnet),
            "subnet {subnet} is not one of the live tests' (docs/testfleet.md)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let hosts = if spec.contains(' ') {
            let p = dir.path().join("fleet.spec");
            std::fs::write(&p, spec).unwrap();
            p.display().to_string()
        } else {
            spec.to_string()
        };
        let mut cmd = Command::new(root().join("testfleet/fleet"));
        cmd.args(["up", "--dir"])
            .arg(dir.path())
            .args(["--subnet", &subnet.to_string(), "--hosts", &hosts])
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let out = cmd.output().expect("run testfleet/fleet up");
        let up_took = started.elapsed();
        let fleet = Fleet {
            dir,
            subnet,
            summary: String::from_utf8_lossy(&out.stdout).into_owned(),
            up_took,
        };
        assert!(
            out.status.success(),
            "fleet up failed:\n{}\n{}",
            fleet.summary,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("fleet up on 127.0.{subnet}.x took {up_took:?}");
        fleet
    }

    /// The address of host number `n` (1-based, in spec order).
    pub fn address(&self, n: u8) -> String {
        format!("127.0.{}.{n}", self.subnet)
    }

    /// The scanner account's MySQL password (`sslaudit.env`).
    pub fn sslaudit_password(&self) -> String {
        self.read("sslaudit.env")
            .lines()
            .find_map(|l| l.strip_prefix("export SSLAUDIT_MYSQL_PASSWORD="))
            .expect("sslaudit.env holds SSLAUDIT_MYSQL_PASSWORD")
            .trim()
            .to_string()
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    pub fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.path().join(name), text).unwrap();
        self.path(name)
    }

    /// A host's overlay upper layer: every file the fleet wrote for it.
    pub fn upper(&self, host: &str) -> PathBuf {
        self.dir.path().join("hosts").join(host).join("upper")
    }

    /// A host's filesystem as its processes see it (tmpfs /tmp included),
    /// through its namespace init; None when the host is not running.
    pub fn host_root(&self, host: &str) -> Option<PathBuf> {
        let hd = self.dir.path().join("hosts").join(host);
        let pid = std::fs::read_to_string(hd.join("init.pid")).ok()?;
        let p = PathBuf::from(format!("/proc/{}/root", pid.trim()))
            .join(hd.join("root").strip_prefix("/").ok()?);
        p.join("etc").exists().then_some(p)
    }

    /// Runs a command on a host with the system ssh client (as root).
    pub fn ssh(&self, host: &str, command: &str) -> Output {
        Command::new("ssh")
            .args(["-F", &self.path("ssh_config"), host, command])
            .stdin(Stdio::null())
            .output()
            .expect("run ssh")
    }

    /// The inventory's `name: X, address: A, roles: [...]` line of a host
    /// with everything after the roles removed (its own `mysql:`, `ssh:`...).
    pub fn strip_host_overrides(inventory: &str, host: &str) -> String {
        inventory
            .lines()
            .map(|l| {
                if l.contains(&format!("name: {host},")) {
                    let end = l.find(']').unwrap() + 1;
                    format!("{} }}", &l[..end])
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = Command::new(root().join("testfleet/fleet"))
            .args(["down", "--dir"])
            .arg(self.dir.path())
            .output();
    }
}

/// sslaudit with these arguments and environment, in `cwd`.
pub fn sslaudit(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sslaudit"));
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run sslaudit")
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// No panic, no file-descriptor exhaustion in what sslaudit printed.
pub fn assert_sane(out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{}", text(out));
    assert!(!err.contains("Too many open files"), "{}", text(out));
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        text(out)
    );
}

pub fn report(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// host -> rule -> messages.
pub fn by_host(report: &serde_json::Value) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for h in report["hosts"].as_array().unwrap() {
        out.entry(h["name"].as_str().unwrap().to_string())
            .or_default();
    }
    for f in report["findings"].as_array().unwrap() {
        out.entry(f["host"].as_str().unwrap().to_string())
            .or_default()
            .entry(f["rule_id"].as_str().unwrap().to_string())
            .or_default()
            .push(f["message"].as_str().unwrap().to_string());
    }
    out
}

/// What one host must show: `(host, [(rule, message part)], rules allowed besides)`.
pub type Expect<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);

/// Asserts each host's rules: every `(rule, message part)` of `must`, and no
/// rule outside `must` and `may`.
pub fn check(report: &serde_json::Value, expect: &[Expect<'_>]) {
    let got = by_host(report);
    let mut errors = Vec::new();
    for (host, must, may) in expect {
        let Some(rules) = got.get(*host) else {
            errors.push(format!("{host}: not in the report"));
            continue;
        };
        for (rule, part) in *must {
            match rules.get(*rule) {
                None => errors.push(format!("{host}: expected {rule}, got {rules:?}")),
                Some(msgs) if !msgs.iter().any(|m| m.contains(part)) => errors.push(format!(
                    "{host}: no {rule} message contains {part:?}: {msgs:?}"
                )),
                Some(_) => {}
            }
        }
        let allowed: BTreeSet<&str> = must
            .iter()
            .map(|(r, _)| *r)
            .chain(may.iter().copied())
            .collect();
        for r in rules.keys() {
            if !allowed.contains(r.as_str()) {
                errors.push(format!("{host}: unexpected {r}: {:?}", rules[r]));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// Every file under `dir` (recursively, symlinks not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out
}

/// Peak resident set size and peak open descriptors of a running child,
/// sampled from /proc until it exits, with its output.
pub struct Measured {
    pub output: Output,
    pub peak_rss_kib: u64,
    pub peak_fds: usize,
    pub took: Duration,
}

pub fn measure(mut cmd: Command) -> Measured {
    use std::io::Read;
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    // Drain the pipes meanwhile, or a chatty child blocks on them.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let (mut rss, mut fds) = (0u64, 0usize);
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            // VmHWM: the high-water mark of the resident set.
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                rss = rss.max(kib);
            }
        }
        if let Ok(d) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
            fds = fds.max(d.count());
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    };
    Measured {
        output,
        peak_rss_kib: rss,
        peak_fds: fds,
        took: started.elapsed(),
    }
}
