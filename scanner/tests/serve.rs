//! `sslaudit serve`: what it answers from memory (the demo snapshot, no
//! root), and, with SSLAUDIT_LIVE=1, a real Prometheus (Debian's
//! `prometheus`) scraping it while it scans a test fleet with a stalled
//! host (subnet 75): a scrape during the stalled scan returns at once with
//! the last good results, and Prometheus's API has `up == 1`, a known
//! certificate's expiry and the stalled host's finding.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleet_util::{Fleet, live, root};

/// A child process killed (by its own id) and reaped when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sslaudit serve ARGS --listen 127.0.0.1:0`, and the address it listens on.
fn serve(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        while stderr.read_line(&mut rest).unwrap_or(0) > 0 {
            eprint!("serve: {rest}");
            rest.clear();
        }
    });
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (Running(child), addr)
}

/// GET `path` from `addr`: status, body, and how long it took.
fn get(addr: &str, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let took = started.elapsed();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    (status, body.to_string(), took)
}

/// Polls until `f` gives `Some`, at most `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn serve_answers_from_memory() {
    let (_server, addr) = serve(&["--snapshot", "fixtures/demo-fleet", "--interval", "1h"]);
    let body = wait_for("the first scan", Duration::from_secs(60), || {
        let (status, body, _) = get(&addr, "/metrics");
        assert_eq!(status, 200);
        body.contains("sslaudit_scans_total 1\n").then_some(body)
    });
    for series in [
        "sslaudit_host_up{environment=\"staging\",host=\"db-replica-1\"} 0\n",
        "sslaudit_findings{environment=\"production\",host=\"db-master\",rule=\"SSL004\",severity=\"critical\"} 1\n",
        "sslaudit_scan_failures_total 0\n",
        "sslaudit_scan_running 0\n",
        "# TYPE sslaudit_last_scan_timestamp_seconds gauge\n",
    ] {
        assert!(body.contains(series), "{series} in\n{body}");
    }
    promtool_check_metrics(&body);
    let (status, health, _) = get(&addr, "/healthz");
    assert_eq!(status, 200, "{health}");
    assert!(health.starts_with("last scan finished "), "{health}");
    assert!(health.contains("(9 hosts)"), "{health}");
    let (status, page, _) = get(&addr, "/");
    assert_eq!(status, 200);
    assert!(
        page.starts_with("<!doctype html>"),
        "{}",
        &page[..80.min(page.len())]
    );
    assert_eq!(get(&addr, "/nothing").0, 404);
    // Scrapes never start a scan: the count stays at one.
    for _ in 0..5 {
        assert!(
            get(&addr, "/metrics")
                .1
                .contains("sslaudit_scans_total 1\n")
        );
    }
}

/// `promtool check metrics` on what /metrics served (fleet_util::promtool:
/// it must run in CI, says it skips elsewhere).
fn promtool_check_metrics(text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.prom");
    std::fs::write(&file, text).unwrap();
    let Some(out) = fleet_util::promtool(&["check", "metrics"], Some(&file)) else {
        return;
    };
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_refuses_a_bad_interval_or_address_before_listening() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sslaudit"))
            .arg("serve")
            .args(["--snapshot", "fixtures/demo-fleet"])
            .args(args)
            .current_dir(root())
            .output()
            .unwrap()
    };
    let out = run(&["--interval", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval"));
    let out = run(&["--listen", "not an address"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}

const SUBNET: u8 = 75;
/// A master, an application host, and one whose SSH never answers: every
/// scan waits the inventories' SSH timeout on it.
const SPEC: &str = "\
db     production  db_master
app-1  production  app
stuck  production  app        stall-ssh
";

/// A port nobody listens on now (for Prometheus, which must be told one).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `query` through Prometheus's HTTP API: the result vector.
fn query(prometheus: &str, query: &str) -> Vec<serde_json::Value> {
    let encoded: String = query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, body, _) = get(prometheus, &format!("/api/v1/query?query={encoded}"));
    assert_eq!(status, 200, "{query}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["result"].as_array().unwrap().clone()
}

/// The one sample's value of `query`, once Prometheus has it.
fn value_of(prometheus: &str, q: &str) -> f64 {
    wait_for(q, Duration::from_secs(60), || {
        let r = query(prometheus, q);
        (r.len() == 1).then(|| r[0]["value"][1].as_str().unwrap().parse::<f64>().unwrap())
    })
}

#[test]
fn a_real_prometheus_scrapes_serve_during_a_stalled_scan() {
    if !live("a_real_prometheus_scrapes_serve_during_a_stalled_scan") {
        return;
    }
    assert!(
        Path::new("/usr/bin/prometheus").exists(),
        "SSLAUDIT_LIVE=1 needs Debian's prometheus (.ci/run installs it)"
    );
    let fleet = Fleet::up(SUBNET, SPEC, &["--scan-timeout", "8s"], &[]);
    let inventory = fleet.path("inventory.yaml");
    // Scans back to back: each waits 8 s on `stuck`.
    let (_server, addr) = serve(&["--inventory", &inventory, "--interval", "1s"]);

    // During the first scan: answers at once, no results yet.
    let (status, body, took) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(body.contains("sslaudit_scan_running 1\n"), "{body}");
    assert!(body.contains("sslaudit_scans_total 0\n"), "{body}");
    let (status, health, _) = get(&addr, "/healthz");
    assert_eq!(
        (status, health.as_str()),
        (200, "the first scan is running\n")
    );
    assert_eq!(get(&addr, "/").0, 503);

    // During the second: the first scan's results, at once.
    let first = wait_for("the second scan to start", Duration::from_secs(90), || {
        let (_, body, took) = get(&addr, "/metrics");
        assert!(took < Duration::from_secs(1), "a scrape took {took:?}");
        (body.contains("sslaudit_scans_total 1\n") && body.contains("sslaudit_scan_running 1\n"))
            .then_some(body)
    });
    for series in [
        "sslaudit_host_up{environment=\"production\",host=\"stuck\"} 0\n",
        "sslaudit_host_up{environment=\"production\",host=\"db\"} 1\n",
        "sslaudit_findings{environment=\"production\",host=\"stuck\",rule=\"SCAN001\",severity=\"high\"} 1\n",
    ] {
        assert!(first.contains(series), "{series} in\n{first}");
    }
    for _ in 0..10 {
        let (status, _, took) = get(&addr, "/metrics");
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(1),
            "a scrape during a scan took {took:?}"
        );
    }

    // A real Prometheus scraping it every second, with the example alerts.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let prometheus = format!("127.0.0.1:{port}");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             rule_files: [{}]\n\
             scrape_configs:\n  - job_name: sslaudit\n    static_configs: [{{ targets: ['{addr}'] }}]\n",
            root()
                .join("examples/prometheus/sslaudit-alerts.yml")
                .display()
        ),
    )
    .unwrap();
    let _prom = Running(
        Command::new("/usr/bin/prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for("Prometheus to be ready", Duration::from_secs(60), || {
        TcpStream::connect(&prometheus)
            .ok()
            .and_then(|_| (get(&prometheus, "/-/ready").0 == 200).then_some(()))
    });
    assert_eq!(value_of(&prometheus, "up{job=\"sslaudit\"} == 1"), 1.0);
    // The master's server certificate: its NotAfter as the file says.
    let server_crt = std::fs::read_dir(fleet.upper("db").join("db/mysql"))
        .unwrap()
        .map(|e| e.unwrap().path().join("data/server.crt"))
        .find(|p| p.exists())
        .unwrap();
    let cert = openssl::x509::X509::from_pem(&std::fs::read(&server_crt).unwrap()).unwrap();
    let epoch = openssl::asn1::Asn1Time::from_unix(0).unwrap();
    let diff = epoch.diff(cert.not_after()).unwrap();
    let not_after = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    let file = server_crt
        .strip_prefix(fleet.upper("db"))
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        value_of(
            &prometheus,
            &format!("sslaudit_cert_not_after{{host=\"db\",file=\"/{file}\"}}")
        ),
        not_after as f64
    );
    assert_eq!(
        value_of(
            &prometheus,
            "sslaudit_findings{host=\"stuck\",rule=\"SCAN001\"}"
        ),
        1.0
    );
    assert_eq!(
        value_of(&prometheus, "sslaudit_host_up{host=\"stuck\"}"),
        0.0
    );
    // The example rules see it: the unreachable host's alert is pending
    // (it fires after 30 minutes).
    assert_eq!(
        value_of(
            &prometheus,
            "ALERTS{alertname=\"SslauditHostUnreachable\",host=\"stuck\"}"
        ),
        1.0
    );
}
