//! Injection: host names (inventory), file paths, MySQL account names and
//! database.yml values holding quotes, `$(...)`, backticks, `;`, newlines,
//! `%` and HTML are data, never code: no remote shell, local shell or MySQL
//! runs any of it (a canary file `sslaudit-injected-*` never appears, the
//! `sslaudit_canary` database survives an account named
//! `x';DROP DATABASE sslaudit_canary;--`), through a scan, a collect and a
//! REQUIRE X509 remediation of those accounts; and the HTML report shows
//! them escaped: their `<script>` never runs in headless Chromium. The
//! hostile values come from the test fleet's `hostile` fault (testfleet/fleet
//! seed_hostile). Runs only with SSLAUDIT_LIVE=1; subnet 73.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fleet_util::{Fleet, assert_sane, by_host, files_under, live, report, sslaudit, text};

const SPEC: &str = "\
db-master  production  db_master  hostile
app-1      production  app        hostile
";

/// Inventory names (no `/` nor control characters: they name snapshot
/// folders, so the inventory refuses those).
const MASTER_NAME: &str = r#"db-master'$(touch sslaudit-injected-host1)`touch sslaudit-injected-host2`;touch sslaudit-injected-host3;%s%n<img src=x onerror="document.title='XSS-FIRED'">"#;
const APP_NAME: &str =
    r#"app-1 %n"x;touch sslaudit-injected-host4 <svg onload=document.title='XSS-FIRED'>"#;
const CANARY_SCRIPT: &str = "<script>document.title='XSS-FIRED'</script>";

fn is_canary(p: &Path) -> bool {
    p.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("sslaudit-injected-"))
}

/// Every file named sslaudit-injected-* under `deep` (recursively) and
/// directly in `shallow` (shared folders such as /tmp, where an injected
/// `touch` with a bare name would land, and whose other contents belong to
/// other programs).
fn injected(deep: &[PathBuf], shallow: &[PathBuf]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = deep
        .iter()
        .flat_map(|d| files_under(d))
        .filter(|p| is_canary(p))
        .collect();
    for d in shallow {
        if let Ok(entries) = std::fs::read_dir(d) {
            found.extend(entries.flatten().map(|e| e.path()).filter(|p| is_canary(p)));
        }
    }
    found
}

fn esc(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

/// `Some(chromium)` when installed; skipping is allowed only without
/// SSLAUDIT_REQUIRE_CHROMIUM (CI sets it).
fn chromium() -> Option<&'static Path> {
    let path = Path::new("/usr/bin/chromium");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("SSLAUDIT_REQUIRE_CHROMIUM").is_none(),
        "SSLAUDIT_REQUIRE_CHROMIUM is set but /usr/bin/chromium does not exist"
    );
    eprintln!("skipped the browser check: /usr/bin/chromium not found");
    None
}

/// The DOM headless Chromium builds from `page`, scripts run.
fn dump_dom(chromium: &Path, page: &Path, profile: &Path) -> String {
    let out_path = profile.with_extension("dom");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::read_to_string(&out_path).unwrap()
}

#[test]
fn hostile_names_are_never_executed_and_shown_escaped() {
    if !live("hostile_names_are_never_executed_and_shown_escaped") {
        return;
    }
    let fleet = Fleet::up(73, SPEC, &[], &[]);
    // The inventory's own names are hostile too.
    let yaml = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let rename = |inv: &str| {
        inv.replace("name: db-master,", &format!("name: {},", yaml(MASTER_NAME)))
            .replace("name: app-1,", &format!("name: {},", yaml(APP_NAME)))
    };
    let inv = fleet.write("hostile.yaml", &rename(&fleet.read("inventory.yaml")));
    let work = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let home_s = home.path().display().to_string();
    let env = [("HOME", home_s.as_str())];
    let o = |name: &str| work.path().join(name).display().to_string();
    let run = |args: &[&str]| {
        let out = sslaudit(args, &env, work.path());
        assert_sane(&out);
        out
    };

    let out = run(&[
        "scan",
        "--inventory",
        &inv,
        "--json",
        &o("scan.json"),
        "--html",
        &o("scan.html"),
        "--sarif",
        &o("scan.sarif"),
        "--junit",
        &o("junit.xml"),
        "--markdown",
        &o("summary.md"),
        "-v",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = report(&o("scan.json"));
    let got = by_host(&r);
    let master = got
        .keys()
        .find(|k| k.starts_with("db-master'"))
        .unwrap_or_else(|| panic!("the hostile name is not in the report: {got:?}"))
        .clone();
    let app = got
        .keys()
        .find(|k| k.starts_with("app-1 "))
        .unwrap()
        .clone();
    assert_eq!((master.as_str(), app.as_str()), (MASTER_NAME, APP_NAME));
    // The hostile values reached the rules, as data: the accounts lack
    // REQUIRE X509, the hostile keygen user's key is not its certificate's,
    // the <script> environment of database.yml has no sslcert.
    let messages =
        |host: &str, rule: &str| got[host].get(rule).cloned().unwrap_or_default().join("\n");
    let ssl005 = messages(&master, "SSL005");
    for part in [
        "DROP DATABASE sslaudit_canary",
        "$(touch sslaudit-injected-acct1)",
        CANARY_SCRIPT,
    ] {
        assert!(ssl005.contains(part), "SSL005 lacks {part:?}:\n{ssl005}");
    }
    let ssl011 = messages(&master, "SSL011");
    assert!(
        ssl011.contains("$(touch sslaudit-injected-keygena)"),
        "{got:?}"
    );
    let ssl006 = messages(&app, "SSL006");
    assert!(ssl006.contains(CANARY_SCRIPT), "{got:?}");
    assert!(
        ssl006.contains("$(touch sslaudit-injected-yml3)"),
        "{got:?}"
    );

    // The same over the scanner's own MySQL session, and as evidence.
    let tcp = fleet.write(
        "hostile-tcp.yaml",
        &rename(&fleet.read("inventory-tcp.yaml")),
    );
    let pw = fleet.read("secrets/sslaudit.password");
    let out = sslaudit(
        &["scan", "--inventory", &tcp, "--json", &o("tcp.json"), "-q"],
        &[("SSLAUDIT_MYSQL_PASSWORD", pw.trim()), ("HOME", &home_s)],
        work.path(),
    );
    assert_sane(&out);
    assert!(by_host(&report(&o("tcp.json")))[&master].contains_key("SSL005"));
    let out = run(&[
        "collect",
        "--inventory",
        &inv,
        "--out",
        &o("snapshot"),
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&[
        "scan",
        "--snapshot",
        &o("snapshot"),
        "--json",
        &o("offline.json"),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(report(&o("offline.json"))["findings"], r["findings"]);

    // REQUIRE X509 for those accounts: quoted as SQL strings (the one with a
    // newline is refused by the planner, never sent).
    let out = run(&[
        "remediate",
        "plan",
        "--inventory",
        &inv,
        "--rule",
        "SSL005",
        "-o",
        &o("plan.json"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&[
        "remediate",
        "apply",
        &o("plan.json"),
        "--inventory",
        &inv,
        "--yes",
        "--state-dir",
        &o("state"),
    ]);
    eprintln!("enforce-x509 on hostile accounts: {}", text(&out));
    let accounts = fleet.ssh(
        "db-master",
        "mysql -N -e \"SELECT CONCAT('[', user, ']', JSON_VALUE(priv, '$.ssl_type')) FROM mysql.global_priv; SHOW DATABASES LIKE 'sslaudit_canary'\"",
    );
    let accounts = String::from_utf8_lossy(&accounts.stdout).into_owned();
    assert!(
        accounts.lines().any(|l| l == "sslaudit_canary"),
        "the canary database is gone:\n{accounts}"
    );
    if out.status.success() {
        assert!(
            accounts.contains("[x';DROP DATABASE sslaudit_canary;--]2"),
            "REQUIRE X509 not set:\n{accounts}"
        );
    }

    // No canary file anywhere: on the hosts (their files, /tmp, /var/tmp),
    // here (working directory, HOME, /tmp, /var/tmp).
    let mut deep = vec![work.path().to_path_buf(), home.path().to_path_buf()];
    let mut shallow = vec![
        PathBuf::from("/tmp"),
        PathBuf::from("/var/tmp"),
        std::env::current_dir().unwrap(),
    ];
    for host in ["db-master", "app-1"] {
        deep.push(fleet.upper(host));
        let live_root = fleet.host_root(host).expect("host running");
        // Where a remote shell runs (root's home) and its /tmp; anything a
        // command wrote is also in the host's upper layer, searched deeply.
        shallow.push(live_root.join("tmp"));
        shallow.push(live_root.join("root"));
    }
    let found = injected(&deep, &shallow);
    assert!(found.is_empty(), "injected commands ran: {found:?}");

    // A name with a newline is refused by the inventory, naming the line.
    let newline = fleet.write(
        "newline.yaml",
        &fleet.read("inventory.yaml").replace(
            "name: app-1,",
            "name: \"app-1\\n;touch sslaudit-injected-host5\",",
        ),
    );
    let out = run(&["scan", "--inventory", &newline, "-q"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("control characters"),
        "{}",
        text(&out)
    );

    // HTML: every hostile value escaped, the page's own script the only one.
    let html = std::fs::read_to_string(o("scan.html")).unwrap();
    assert!(!html.contains(CANARY_SCRIPT), "raw <script> in the report");
    assert!(!html.contains("<img src=x"), "raw <img> in the report");
    assert!(!html.contains("<svg onload"), "raw <svg> in the report");
    assert!(
        html.contains(&esc("<svg onload=")),
        "the escaped host name is missing"
    );
    assert_eq!(html.matches("<script").count(), 1);
    assert!(
        html.contains(&esc(CANARY_SCRIPT)),
        "the escaped canary is missing"
    );
    if let Some(chromium) = chromium() {
        let dom = dump_dom(
            chromium,
            Path::new(&o("scan.html")),
            &work.path().join("profile"),
        );
        assert!(dom.contains("</html>"), "no DOM: {dom:.200}");
        assert!(!dom.contains("XSS-FIRED</title>"), "an injected script ran");
        assert!(
            !dom.contains("<img src=\"x\""),
            "an injected element exists"
        );
        assert!(!dom.contains("<svg onload"), "an injected element exists");
    }
}
