//! `scan --shard K/N` then `merge`: shards hold whole environments, and the
//! merge of all N shards' JSON and SARIF is byte for byte the single scan
//! (same `--as-of`), for N = 1..5, on the demo snapshot and on a generated
//! snapshot of many environments of unequal sizes. `merge` refuses a
//! missing shard, a shard given twice, and parts of other scans.

#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

mod fleet_util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use fleet_util::{demo, root};
use serde_json::Value;

const AS_OF: &str = "2026-11-30";

fn sslaudit(args: &[&str]) -> Output {
    fleet_util::sslaudit(args, &[], &root())
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Scans `snapshot` (one shard of it with `shard`), writing `<stem>.json`
/// and `<stem>.sarif` into `out`; returns stderr.
fn scan(snapshot: &Path, shard: Option<&str>, out: &Path, stem: &str) -> String {
    scan_with(snapshot, shard, None, out, stem)
}

/// [`scan`] with `--policy policy` when given.
fn scan_with(
    snapshot: &Path,
    shard: Option<&str>,
    policy: Option<&Path>,
    out: &Path,
    stem: &str,
) -> String {
    let json = out.join(format!("{stem}.json"));
    let sarif = out.join(format!("{stem}.sarif"));
    let mut args = vec![
        "scan",
        "--snapshot",
        p(snapshot),
        "--as-of",
        AS_OF,
        "-q",
        "--fail-on",
        "never",
        "--json",
        p(&json),
        "--sarif",
        p(&sarif),
    ];
    if let Some(s) = shard {
        args.extend(["--shard", s]);
    }
    if let Some(policy) = policy {
        args.extend(["--policy", p(policy)]);
    }
    ok(&sslaudit(&args))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Host count per environment of a JSON report.
fn environments(report: &str) -> BTreeMap<String, usize> {
    let v: Value = serde_json::from_str(report).unwrap();
    let mut out = BTreeMap::new();
    for h in v["hosts"].as_array().unwrap() {
        *out.entry(h["environment"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

/// How many findings compare a host with a host of another environment
/// (a server key reused across environments), and how many of them are
/// waived; all of them at medium.
fn across_environments(report: &str) -> (usize, usize) {
    let v: Value = serde_json::from_str(report).unwrap();
    let across: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let env = f["environment"].as_str().unwrap_or("");
            f["evidence"]["shared_with"]
                .as_str()
                .is_some_and(|w| !w.starts_with(&format!("{env}/")))
        })
        .collect();
    assert!(across.iter().all(|f| f["severity"] == "medium"));
    let waived = across
        .iter()
        .filter(|f| f.get("suppressed").is_some())
        .count();
    (across.len(), waived)
}

/// Merging the JSON, and the SARIF, of all N shards gives byte for byte
/// the whole scan's, for N = 1..5; comparisons across environments
/// included (each shard leaves them pending, merge completes them).
fn check_shards_merge_to_the_whole(snapshot: &Path, policy: Option<&Path>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    scan_with(snapshot, None, policy, out, "whole");
    let whole_json = read(&out.join("whole.json"));
    let whole_sarif = read(&out.join("whole.sarif"));
    let whole_envs = environments(&whole_json);
    assert!(!whole_envs.is_empty());
    for n in 1..=5u32 {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for kind in ["json", "sarif"] {
            let mut args: Vec<String> = vec!["merge".into()];
            for k in 1..=n {
                let stem = format!("{k}-of-{n}");
                if kind == "json" {
                    scan_with(snapshot, Some(&format!("{k}/{n}")), policy, out, &stem);
                    // Whole environments: each as large as in the whole scan,
                    // in one shard only.
                    for (env, hosts) in environments(&read(&out.join(format!("{stem}.json")))) {
                        assert_eq!(hosts, whole_envs[&env], "{env} split in {k}/{n}");
                        assert!(seen.insert(env.clone()), "{env} in two shards of {n}");
                    }
                }
                args.push(p(&out.join(format!("{stem}.{kind}"))).to_string());
            }
            let merged = out.join(format!("merged-{n}.{kind}"));
            args.extend(["-o".into(), p(&merged).to_string()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok(&sslaudit(&args));
            let want = if kind == "json" {
                &whole_json
            } else {
                &whole_sarif
            };
            let got = read(&merged);
            if &got != want {
                let diff: Vec<String> = got
                    .lines()
                    .zip(want.lines())
                    .enumerate()
                    .filter(|(_, (a, b))| a != b)
                    .take(5)
                    .map(|(i, (a, b))| format!("line {}: merged `{a}`, whole `{b}`", i + 1))
                    .collect();
                panic!(
                    "{kind}: the merge of {n} shards differs from the whole scan:\n{}",
                    diff.join("\n")
                );
            }
        }
        assert_eq!(
            seen.len(),
            whole_envs.len(),
            "every environment in a shard of {n}"
        );
    }
    whole_json
}

#[test]
fn demo_shards_merge_into_the_whole_scan() {
    check_shards_merge_to_the_whole(&demo(), None);
}

/// Copies environments of the demo fleet under new names, some whole and
/// some in part, so environments differ in size (1 to 5 hosts).
fn generated_fleet(dir: &Path) -> PathBuf {
    let root = dir.join("fleet");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(demo().join("snapshot.toml"), root.join("snapshot.toml")).unwrap();
    let plan: [(&str, &str, &[&str]); 7] = [
        ("alpha", "production", &[]),
        ("bravo", "staging", &[]),
        ("charlie", "production", &["db-master", "app-1"]),
        ("delta", "staging", &["db-master"]),
        ("echo", "production", &[]),
        (
            "foxtrot",
            "production",
            &["db-master", "db-replica-1", "app-2"],
        ),
        ("golf", "staging", &["db-master", "app-1"]),
    ];
    for (env, from, only) in plan {
        for entry in std::fs::read_dir(demo().join(from)).unwrap() {
            let src = entry.unwrap().path();
            let name = src.file_name().unwrap().to_str().unwrap().to_string();
            if !only.is_empty() && !only.contains(&name.as_str()) {
                continue;
            }
            let dst = root.join(env).join(&name);
            copy_tree(&src, &dst);
            let host = dst.join("host.toml");
            let text = read(&host).replace(
                &format!("environment = \"{from}\""),
                &format!("environment = \"{env}\""),
            );
            std::fs::write(&host, text).unwrap();
        }
    }
    root
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

#[test]
fn generated_shards_merge_into_the_whole_scan() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = generated_fleet(dir.path());
    // The policy reaches the findings merge completes as it reaches any:
    // a severity and a waiver of the rule that compares environments.
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[rules.SSL012]\nseverity = \"medium\"\n\n[[waiver]]\nrule = \"SSL012\"\n\
         host = \"db-replica-*\"\njustification = \"rebuilt from production with the Q1 rotation\"\n",
    )
    .unwrap();
    let whole = check_shards_merge_to_the_whole(&fleet, Some(&policy));
    // Its environments are copies of the demo's: they share keys, which
    // only a comparison across shards can see.
    let (across, waived) = across_environments(&whole);
    assert!(across > 0 && waived > 0, "{across} across, {waived} waived");
}

#[test]
fn oversized_and_empty_shards_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // The demo fleet: production (5 hosts) and staging (4) in 3 shards.
    let first = scan(&demo(), Some("1/3"), out, "a");
    assert!(
        first.contains("environment production has 5 hosts, more than a fair share (3 of 9 in 3 shards): it stays whole in shard 1/3"),
        "{first}"
    );
    let third = scan(&demo(), Some("3/3"), out, "c");
    assert!(third.contains("shard 3/3 holds no environment"), "{third}");
    let empty: Value = serde_json::from_str(&read(&out.join("c.json"))).unwrap();
    assert_eq!(empty["hosts"], serde_json::json!([]));
    assert_eq!(empty["scope"]["shard"], "3/3");
}

#[test]
fn merge_refuses_missing_repeated_and_foreign_shards() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    for k in 1..=3 {
        scan(&demo(), Some(&format!("{k}/3")), out, &format!("s{k}"));
    }
    let merge = |inputs: &[&str]| {
        let mut args = vec!["merge"];
        let paths: Vec<PathBuf> = inputs.iter().map(|i| out.join(i)).collect();
        args.extend(paths.iter().map(|x| p(x)));
        let target = out.join("m.out");
        args.extend(["-o", p(&target)]);
        let o = sslaudit(&args);
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert!(!target.exists(), "nothing written on a refusal");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    for kind in ["json", "sarif"] {
        let e = merge(&[&format!("s1.{kind}"), &format!("s2.{kind}")]);
        assert!(
            e.contains("shard 3/3 of 3 missing (got 1/3, 2/3)"),
            "{kind}: {e}"
        );
        let e = merge(&[
            &format!("s1.{kind}"),
            &format!("s1.{kind}"),
            &format!("s2.{kind}"),
            &format!("s3.{kind}"),
        ]);
        assert!(e.contains("are both shard 1/3"), "{kind}: {e}");
    }
    // A shard of another fleet, and of another policy.
    let other = generated_fleet(out);
    scan(&other, Some("3/3"), out, "other");
    let e = merge(&["s1.json", "s2.json", "other.json"]);
    assert!(e.contains("inventory (scope.source) differs"), "{e}");
    let policy = out.join("policy.toml");
    std::fs::write(&policy, "[thresholds]\nexpiry_medium_days = 10\n").unwrap();
    let o = sslaudit(&[
        "scan",
        "--snapshot",
        p(&demo()),
        "--as-of",
        AS_OF,
        "-q",
        "--fail-on",
        "never",
        "--policy",
        p(&policy),
        "--shard",
        "3/3",
        "--json",
        p(&out.join("policy.json")),
    ]);
    ok(&o);
    let e = merge(&["s1.json", "s2.json", "policy.json"]);
    assert!(
        e.contains("policy and rule packs (scope.policy) differs"),
        "{e}"
    );
}

/// `merge --fail-on X` judges the merged report as `scan --fail-on X`
/// judges the whole scan, at every threshold, from JSON or SARIF: the
/// findings merge completes count (here the cross-environment SSL012
/// findings, made critical by the policy).
#[test]
fn the_merged_gate_is_the_whole_scans_gate() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let fleet = generated_fleet(out);
    let policy = out.join("policy.toml");
    std::fs::write(&policy, "[rules.SSL012]\nseverity = \"critical\"\n").unwrap();
    for k in 1..=3 {
        scan_with(
            &fleet,
            Some(&format!("{k}/3")),
            Some(&policy),
            out,
            &format!("s{k}"),
        );
    }
    for fail_on in ["critical", "high", "low", "never"] {
        let whole = sslaudit(&[
            "scan",
            "--snapshot",
            p(&fleet),
            "--as-of",
            AS_OF,
            "-q",
            "--policy",
            p(&policy),
            "--fail-on",
            fail_on,
        ]);
        let want = whole.status.code();
        assert!(matches!(want, Some(0 | 1)), "{whole:?}");
        for kind in ["json", "sarif"] {
            let merged = out.join(format!("m.{kind}"));
            let o = sslaudit(&[
                "merge",
                p(&out.join(format!("s1.{kind}"))),
                p(&out.join(format!("s2.{kind}"))),
                p(&out.join(format!("s3.{kind}"))),
                "-o",
                p(&merged),
                "--fail-on",
                fail_on,
            ]);
            assert_eq!(o.status.code(), want, "{kind} --fail-on {fail_on}: {o:?}");
            let stderr = String::from_utf8_lossy(&o.stderr);
            let line = if want == Some(0) {
                "gate: "
            } else {
                "gate: FAILED"
            };
            assert!(stderr.contains(line), "{stderr}");
        }
    }
    // The critical findings of keys shared across environments, which the
    // merged gate counts, are the merge's own: no shard holds one.
    let critical_ssl012 = |text: &str| {
        let v: Value = serde_json::from_str(text).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "critical" && f["evidence"].get("shared_with").is_some())
            .count()
    };
    assert!(critical_ssl012(&read(&out.join("m.json"))) > 0);
    for k in 1..=3 {
        assert_eq!(
            critical_ssl012(&read(&out.join(format!("s{k}.json")))),
            0,
            "s{k}"
        );
    }
}
