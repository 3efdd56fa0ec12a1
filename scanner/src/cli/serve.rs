//! `sslaudit serve`: scans on a schedule and serves the last good result.
//!
//! One thread scans (the first at once, then every `--interval` from the
//! start of the previous scan, never two at a time) and, when a scan
//! succeeds, swaps in its metrics and HTML report. HTTP workers answer from
//! memory: a scrape never starts a scan and never waits for one (the lock
//! they share with the scanner guards a pointer swap, not a scan), a failed
//! scan keeps the previous results with their timestamp.
//!
//! - `/metrics`: the last good scan's metrics (docs/metrics.md), with the
//!   server's own (`sslaudit_scans_total`, `sslaudit_scan_failures_total`,
//!   `sslaudit_scan_running`);
//! - `/healthz`: 200 while the last scan attempt succeeded and the last good
//!   scan is recent (or the first is still running), 503 otherwise;
//! - `/`: the last good scan's HTML report.

use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::Args;
use sslaudit_reports::{html, prometheus};
use sslaudit_rules::policy::Policy;
use sslaudit_scanner::engine::{Gate, RuleSet};

use super::source::{self, SourceArgs};
use super::values::FailOn;

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    judge: super::JudgeArgs,
    /// Address to serve /metrics, /healthz and / on (port 0: any free port, printed on stderr)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9947")]
    listen: String,
    /// Time from the start of one scan to the start of the next (e.g. 10m, 1h)
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    interval: String,
    /// Title of the HTML report
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
}

/// The results of the last good scan, as served.
struct Results {
    metrics: String,
    html: String,
    /// When the scan finished.
    finished: time::OffsetDateTime,
    hosts: usize,
}

/// What the scanner thread and the HTTP workers share.
#[derive(Default)]
struct State {
    latest: Option<Arc<Results>>,
    scans: u64,
    failures: u64,
    running: bool,
    /// Why the last attempt failed; `None` once one succeeds.
    last_error: Option<String>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking holder only ever leaves consistent counters behind.
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let interval = sslaudit_scanner::inventory::parse_duration(&args.interval)
        .map_err(|e| anyhow::anyhow!("--interval: {e}"))?;
    if interval < Duration::from_secs(1) {
        anyhow::bail!("--interval {}: at least 1s", args.interval);
    }
    // Everything a scan needs is read now: a bad file is exit 2, not a
    // server that never has results.
    let (rules, policy) = args.judge.load()?;
    let server = tiny_http::Server::http(&args.listen)
        .map_err(|e| anyhow::anyhow!("--listen {}: {e}", args.listen))?;
    let addr = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_else(|| args.listen.clone());
    eprintln!(
        "sslaudit serve: listening on http://{addr}/ (/metrics, /healthz), a scan every {}",
        args.interval
    );

    // Running from the start: the first scan begins before any request
    // can be answered.
    let state = Arc::new(Mutex::new(State {
        running: true,
        ..State::default()
    }));
    let scanner = {
        let state = Arc::clone(&state);
        std::thread::Builder::new()
            .name("scanner".into())
            .spawn(move || scan_loop(&args, &rules, &policy, interval, &state))
            .context("starting the scanner thread")?
    };
    let server = Arc::new(server);
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || {
                    for request in server.incoming_requests() {
                        respond(request, &state, interval);
                    }
                })
        })
        .collect::<std::io::Result<_>>()
        .context("starting the HTTP workers")?;
    // Neither loop ends on its own: serve until killed.
    for w in workers {
        let _ = w.join();
    }
    let _ = scanner.join();
    Ok(ExitCode::SUCCESS)
}

fn scan_loop(
    args: &ServeArgs,
    rules: &RuleSet,
    policy: &Policy,
    interval: Duration,
    state: &Mutex<State>,
) {
    loop {
        let started = Instant::now();
        lock(state).running = true;
        // A scan that panics is a failed scan, not a server that stops
        // scanning while it goes on answering.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            scan_once(args, rules, policy)
        }))
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the scan panicked")));
        let mut s = lock(state);
        s.running = false;
        s.scans += 1;
        match outcome {
            Ok(results) => {
                tracing::info!(hosts = results.hosts, elapsed = ?started.elapsed(), "scan done");
                s.latest = Some(Arc::new(results));
                s.last_error = None;
            }
            Err(e) => {
                eprintln!("sslaudit serve: scan failed (the last good results stay): {e:#}");
                s.failures += 1;
                s.last_error = Some(format!("{e:#}"));
            }
        }
        drop(s);
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
    }
}

/// One scan, as `scan` runs it, rendered to metrics and HTML.
fn scan_once(args: &ServeArgs, rules: &RuleSet, policy: &Policy) -> Result<Results> {
    let (as_of, as_of_label) = super::parse_as_of(None)?;
    let started = time::OffsetDateTime::now_utc();
    // Each round reads the snapshot as it is now.
    args.source.forget_snapshot();
    let mut report = source::scan(&args.source, true, rules, policy, as_of, &as_of_label)?;
    let inventory = args
        .source
        .inventory
        .as_ref()
        .map_or_else(|| "INVENTORY".to_string(), |p| p.display().to_string());
    sslaudit_scanner::remediate::annotate_fixes(&mut report.findings, &inventory);
    let finished = time::OffsetDateTime::now_utc();
    let run = prometheus::ScanRun {
        finished: (finished - time::OffsetDateTime::UNIX_EPOCH).as_seconds_f64(),
        duration: (finished - started).as_seconds_f64().max(0.0),
    };
    let metas = rules.metas();
    let opts = html::HtmlOptions {
        gate: Gate::from(FailOn::High).0,
        title: args.title.clone(),
        new_only: None,
    };
    Ok(Results {
        metrics: prometheus::to_prometheus(&report, Some(&run)),
        html: html::render(&report, &metas, &opts).context("rendering the HTML report")?,
        finished,
        hosts: report.hosts.len(),
    })
}

/// The server's own metrics, after the last good scan's.
fn server_metrics(s: &State) -> String {
    let mut out = s
        .latest
        .as_ref()
        .map(|r| r.metrics.clone())
        .unwrap_or_default();
    out.push_str(&format!(
        "# HELP sslaudit_scans_total Scans sslaudit serve has finished, failed ones included.\n\
         # TYPE sslaudit_scans_total counter\n\
         sslaudit_scans_total {}\n\
         # HELP sslaudit_scan_failures_total Scans that could not run (an unreadable inventory...); hosts that could not be reached do not count.\n\
         # TYPE sslaudit_scan_failures_total counter\n\
         sslaudit_scan_failures_total {}\n\
         # HELP sslaudit_scan_running 1 while a scan is running.\n\
         # TYPE sslaudit_scan_running gauge\n\
         sslaudit_scan_running {}\n",
        s.scans,
        s.failures,
        u8::from(s.running)
    ));
    out
}

fn respond(request: tiny_http::Request, state: &Mutex<State>, interval: Duration) {
    let path = request.url().split('?').next().unwrap_or("").to_string();
    let get = matches!(
        request.method(),
        tiny_http::Method::Get | tiny_http::Method::Head
    );
    let (status, content_type, body) = if !get {
        (405, "text/plain; charset=utf-8", "GET only\n".to_string())
    } else {
        // Copy what the answer needs and let go of the lock before writing.
        let s = lock(state);
        match path.as_str() {
            "/metrics" => (
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                server_metrics(&s),
            ),
            "/healthz" => health(&s, interval),
            "/" => match &s.latest {
                Some(r) => (200, "text/html; charset=utf-8", r.html.clone()),
                None => (
                    503,
                    "text/plain; charset=utf-8",
                    "no scan has finished yet\n".to_string(),
                ),
            },
            _ => (404, "text/plain; charset=utf-8", "not found\n".to_string()),
        }
    };
    let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
        .expect("a valid header");
    let response = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(header);
    if let Err(e) = request.respond(response) {
        tracing::debug!("answering {path}: {e}");
    }
}

/// 200 while the last attempt succeeded and the last good scan is no older
/// than three intervals, or the first scan is still running; 503 otherwise.
fn health(s: &State, interval: Duration) -> (u16, &'static str, String) {
    let text = "text/plain; charset=utf-8";
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    if let Some(e) = &s.last_error {
        return (503, text, format!("the last scan failed: {e}\n"));
    }
    match &s.latest {
        None if s.running => (200, text, "the first scan is running\n".to_string()),
        None => (503, text, "no scan has finished\n".to_string()),
        Some(r) => {
            let age = time::OffsetDateTime::now_utc() - r.finished;
            let stale = age > interval * 3;
            let line = format!(
                "last scan finished {} ({} hosts){}\n",
                rfc(r.finished),
                r.hosts,
                if stale { ": stale" } else { "" }
            );
            (if stale { 503 } else { 200 }, text, line)
        }
    }
}
