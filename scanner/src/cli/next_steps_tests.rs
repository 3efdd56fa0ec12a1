//! Every command sslaudit prints as a next step must run as printed: the
//! fix command of every finding of a real scan (the demo fleet), the
//! commands refusals and plans name (built by
//! `sslaudit_remediations::commands`), the examples of every `--help`, and
//! the commands the README shows. Each is split as a POSIX shell would and
//! parsed with the CLI's own parser.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use sslaudit_remediations::commands;

use super::Cli;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Parses one command line (`sslaudit ...`); `Err` says why it would not run.
fn parses(line: &str) -> Result<(), String> {
    let words = shlex::split(line).ok_or_else(|| format!("unbalanced quotes: {line}"))?;
    if words.first().map(String::as_str) != Some("sslaudit") {
        return Err(format!("does not start with sslaudit: {line}"));
    }
    match Cli::try_parse_from(&words) {
        Ok(_) => Ok(()),
        Err(e) => Err(format!(
            "{line}\n    {}",
            e.to_string().lines().next().unwrap_or("")
        )),
    }
}

/// The commands quoted in backticks in a message.
fn backticked(message: &str) -> Vec<String> {
    message
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("sslaudit "))
        .map(str::to_string)
        .collect()
}

fn check_all(what: &str, lines: &[String]) {
    assert!(!lines.is_empty(), "{what}: no commands found");
    let bad: Vec<String> = lines.iter().filter_map(|l| parses(l).err()).collect();
    assert!(
        bad.is_empty(),
        "{what}: {} command(s) do not run as printed:\n  {}",
        bad.len(),
        bad.join("\n  ")
    );
}

/// A scan of the demo fleet, through the real `scan` path: each finding's
/// `fix` as the JSON report carries it.
#[test]
fn the_fix_commands_of_a_real_scan_parse() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("demo.json");
    let demo = root().join("fixtures/demo-fleet");
    let cli = Cli::parse_from([
        "sslaudit",
        "scan",
        "--snapshot",
        demo.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--fail-on",
        "never",
        "--color",
        "never",
        "--quiet",
    ]);
    super::run(cli).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let fixes: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["fix"].as_str().map(str::to_string))
        .collect();
    check_all("fix commands of the demo scan", &fixes);
}

/// What plans, refusals and the lock say to run next, with the awkward
/// names real fleets have (spaces, quotes, a `;`).
#[test]
fn the_commands_messages_name_parse() {
    let inv = "/srv/fleet inventories/it's prod.yaml";
    let env = "prod; staging";
    let plan_message = super::run::plan_written(Path::new("plans/my plan.json"), Path::new(inv));
    let mut lines = backticked(&plan_message);
    lines.extend(
        [
            commands::apply("plan.json", inv),
            commands::resume("keygen-1796617765-24432", inv),
            commands::rollback("keygen-1796617765-24432", inv),
            commands::keygen(inv, env, false),
            commands::keygen(inv, env, true),
            commands::rotate(inv, env, false),
            commands::rotate(inv, env, true),
            commands::plan_finding(inv, env, "0123456789abcdef0123456789abcdef"),
            commands::scan_snapshot("evidence/2026-12-07 prod"),
            commands::explain("SSL004"),
        ]
        .iter()
        .map(ToString::to_string),
    );
    check_all("commands named by messages", &lines);
    assert!(
        plan_message.contains("--inventory"),
        "apply needs the inventory: {plan_message}"
    );
}

/// The examples every `--help` shows.
#[test]
fn the_help_examples_parse() {
    fn collect(cmd: &clap::Command, out: &mut Vec<String>) {
        if let Some(help) = cmd.get_after_help() {
            out.extend(
                help.to_string()
                    .lines()
                    .map(str::trim)
                    .filter(|l| l.starts_with("sslaudit "))
                    .map(str::to_string),
            );
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut lines = Vec::new();
    collect(&Cli::command(), &mut lines);
    check_all("--help examples", &lines);
}

/// The commands the README shows in its shell blocks (comments after `#`
/// and `\` continuations handled as a shell would; a usage synopsis with
/// `[--optional]` parts is notation, not a command).
#[test]
fn the_readme_commands_parse() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut lines = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = match line.find(" # ") {
            Some(i) => &line[..i],
            None => line,
        };
        pending.push_str(code.trim_end().trim_end_matches('\\'));
        pending.push(' ');
        if code.trim_end().ends_with('\\') {
            continue;
        }
        let cmd = pending.trim().to_string();
        pending.clear();
        if let Some(rest) = cmd.strip_prefix("cargo run --release -p sslaudit-scanner -- ") {
            lines.push(format!("sslaudit {rest}"));
        } else if cmd.starts_with("sslaudit ") && !cmd.contains(" [--") {
            lines.push(cmd);
        }
    }
    check_all("README commands", &lines);
}
