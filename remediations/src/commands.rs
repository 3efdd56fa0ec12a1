//! Every sslaudit command line the tool prints as a next step: a finding's
//! fix, "apply it with ...", "resume or roll back with ...", "run keygen
//! first". Built in one place, each word quoted for a POSIX shell, so that
//! each one runs as printed; the CLI's tests parse every one of them.

use std::fmt;

use sslaudit_rules::Finding;

use crate::runners::runner_for;
use crate::shell;

/// A command line: `sslaudit` and its words, shown quoted where a shell
/// needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    words: Vec<String>,
}

impl Command {
    fn sslaudit(words: &[&str]) -> Self {
        Command {
            words: std::iter::once("sslaudit")
                .chain(words.iter().copied())
                .map(str::to_string)
                .collect(),
        }
    }

    fn arg(mut self, word: impl Into<String>) -> Self {
        self.words.push(word.into());
        self
    }

    /// The words after `sslaudit`, as a parser receives them.
    pub fn args(&self) -> &[String] {
        &self.words[1..]
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&shell::quote_if_needed(w))?;
        }
        Ok(())
    }
}

/// `sslaudit keygen --inventory INV --environment ENV [--dry-run]`.
pub fn keygen(inventory: &str, environment: &str, dry_run: bool) -> Command {
    for_environment("keygen", inventory, environment, dry_run)
}

/// `sslaudit rotate --inventory INV --environment ENV [--dry-run]`.
pub fn rotate(inventory: &str, environment: &str, dry_run: bool) -> Command {
    for_environment("rotate", inventory, environment, dry_run)
}

fn for_environment(command: &str, inventory: &str, environment: &str, dry_run: bool) -> Command {
    let c = Command::sslaudit(&[command, "--inventory"])
        .arg(inventory)
        .arg("--environment")
        .arg(environment);
    if dry_run { c.arg("--dry-run") } else { c }
}

/// `sslaudit remediate plan ... --finding FP -o plan.json`.
pub fn plan_finding(inventory: &str, environment: &str, fingerprint: &str) -> Command {
    Command::sslaudit(&["remediate", "plan", "--inventory"])
        .arg(inventory)
        .arg("--environment")
        .arg(environment)
        .arg("--finding")
        .arg(fingerprint)
        .arg("-o")
        .arg("plan.json")
}

/// `sslaudit remediate apply PLAN --inventory INV`.
pub fn apply(plan: &str, inventory: &str) -> Command {
    Command::sslaudit(&["remediate", "apply"])
        .arg(plan)
        .arg("--inventory")
        .arg(inventory)
}

/// `sslaudit remediate resume RUN --inventory INV`.
pub fn resume(run: &str, inventory: &str) -> Command {
    Command::sslaudit(&["remediate", "resume"])
        .arg(run)
        .arg("--inventory")
        .arg(inventory)
}

/// `sslaudit remediate rollback RUN --inventory INV`.
pub fn rollback(run: &str, inventory: &str) -> Command {
    Command::sslaudit(&["remediate", "rollback"])
        .arg(run)
        .arg("--inventory")
        .arg(inventory)
}

/// `sslaudit scan --snapshot DIR`.
pub fn scan_snapshot(dir: &str) -> Command {
    Command::sslaudit(&["scan", "--snapshot"]).arg(dir)
}

/// `sslaudit explain ID`.
pub fn explain(rule: &str) -> Command {
    Command::sslaudit(&["explain"]).arg(rule)
}

/// The command that plans a finding's fix, for reports: `inventory` is the
/// inventory the scan used (or the one a snapshot remembers). `None` when
/// no runner fixes the rule.
pub fn fix(finding: &Finding, inventory: &str) -> Option<Command> {
    let env = finding.environment.as_str();
    Some(match runner_for(&finding.rule_id)? {
        "rotate" => rotate(inventory, env, true),
        "keygen" => keygen(inventory, env, true),
        _ => plan_finding(inventory, env, &finding.fingerprint),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_commands_quote_what_a_shell_would_split() {
        let f = Finding::new(
            "SSL004",
            sslaudit_rules::Severity::High,
            "db",
            "prod; rm -rf /",
            "m",
            sslaudit_rules::Location::default(),
        );
        let cmd = fix(&f, "/etc/fleet.yaml").unwrap();
        assert_eq!(
            shlex::split(&cmd.to_string()).unwrap(),
            [
                "sslaudit",
                "rotate",
                "--inventory",
                "/etc/fleet.yaml",
                "--environment",
                "prod; rm -rf /",
                "--dry-run"
            ]
        );
        let f = Finding {
            rule_id: "SSL005".into(),
            environment: "production".into(),
            ..f
        };
        let cmd = fix(&f, "my fleet.yaml").unwrap().to_string();
        assert!(
            cmd.starts_with(
                "sslaudit remediate plan --inventory 'my fleet.yaml' --environment production --finding "
            ),
            "{cmd}"
        );
        let f = Finding {
            rule_id: "SSL007".into(),
            ..f
        };
        assert_eq!(fix(&f, "x"), None);
    }

    #[test]
    fn words_are_quoted_only_where_a_shell_needs_it() {
        let c = apply("plans/it's here.json", "fleet.yaml");
        assert_eq!(
            c.to_string(),
            r#"sslaudit remediate apply "plans/it's here.json" --inventory fleet.yaml"#
        );
        assert_eq!(
            shlex::split(&c.to_string()).unwrap()[1..],
            *c.args(),
            "a shell gets the words back"
        );
        assert_eq!(
            resume("20261207-abc", "/srv/inv/fleet.yaml").to_string(),
            "sslaudit remediate resume 20261207-abc --inventory /srv/inv/fleet.yaml"
        );
    }
}
