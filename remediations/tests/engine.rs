//! The remediation engine end to end: apply, crash, resume, rollback and
//! dry-run, on the in-memory target and on real files under a temp dir.

use sslaudit_remediations::apply::{
    ApplyError, ApplyOptions, StepOutcome, apply, backup_path, resume, rollback,
};
use sslaudit_remediations::journal::{Journal, Record, RunLock};
use sslaudit_remediations::plan::{Action, Applicability, Content, Plan, Precondition, Step};
use sslaudit_remediations::target::{
    CommandOutput, LocalTarget, MemEntry, MemoryTarget, Target, TargetError,
};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const RUN: &str = "run-20260601";
const OLD_KEY: &[u8] = b"-----BEGIN RSA PRIVATE KEY-----\nold\n-----END RSA PRIVATE KEY-----\n";
const NEW_KEY: &[u8] = b"-----BEGIN RSA PRIVATE KEY-----\nnew\n-----END RSA PRIVATE KEY-----\n";
const CNF: &str = "[ ca ]\nHOME = .\nRANDFILE = $ENV::HOME/.rnd\noid_section = new_oids\n";
const CNF_FIXED: &str = "[ ca ]\nHOME = .\n#RANDFILE = $ENV::HOME/.rnd\noid_section = new_oids\n";

fn step(id: usize, action: Action) -> Step {
    Step {
        id,
        host: "db-master".into(),
        action,
        why: "Key Maintenance".into(),
        precondition: None,
        undo: None,
        undo_last: false,
        applicability: Applicability::Safe,
    }
}

/// The seed's Key Maintenance in miniature: back up the old key, write a
/// new one, comment out RANDFILE, then a last command or SQL step.
fn five_step_plan(last: Action, last_undo: Action) -> Plan {
    let backup_dir = format!("/db/old_keys/server/{RUN}");
    Plan {
        run_id: RUN.into(),
        created_at: "2026-06-01T00:00:00Z".into(),
        title: "rotate server key".into(),
        generate: Vec::new(),
        steps: vec![
            step(
                1,
                Action::MakeDir {
                    path: backup_dir.clone(),
                    mode: 0o700,
                    owner: None,
                },
            ),
            Step {
                precondition: Some(Precondition::FileExists {
                    path: "/db/mysql/5.6/data/server.key".into(),
                }),
                ..step(
                    2,
                    Action::MoveFile {
                        from: "/db/mysql/5.6/data/server.key".into(),
                        to: format!("{backup_dir}/server.key"),
                    },
                )
            },
            step(
                3,
                Action::WriteFile {
                    path: "/db/mysql/5.6/data/server.key".into(),
                    content: Content::Generated {
                        id: "server.key".into(),
                    },
                    mode: 0o600,
                    owner: None,
                    group: None,
                },
            ),
            step(
                4,
                Action::WriteFile {
                    path: "/etc/ssl/openssl.cnf".into(),
                    content: Content::Text(CNF_FIXED.into()),
                    mode: 0o644,
                    owner: None,
                    group: None,
                },
            ),
            Step {
                undo: Some(last_undo),
                ..step(5, last)
            },
        ],
    }
}

fn sql_plan() -> Plan {
    five_step_plan(
        Action::RunSql {
            sql: "ALTER USER 'deploy'@'%' REQUIRE X509".into(),
        },
        Action::RunSql {
            sql: "ALTER USER 'deploy'@'%' REQUIRE NONE".into(),
        },
    )
}

fn keys() -> BTreeMap<String, Vec<u8>> {
    BTreeMap::from([("server.key".to_string(), NEW_KEY.to_vec())])
}

fn memory_host() -> MemoryTarget {
    let t = MemoryTarget::new("db-master");
    t.add_file(
        "/db/mysql/5.6/data/server.key",
        OLD_KEY,
        0o600,
        Some("mysql"),
    );
    t.add_file("/etc/ssl/openssl.cnf", CNF.as_bytes(), 0o644, Some("root"));
    t
}

fn opts<'a>(state: &Path, keys: &'a BTreeMap<String, Vec<u8>>) -> ApplyOptions<'a> {
    ApplyOptions {
        generated: Some(keys),
        ..ApplyOptions::new(state)
    }
}

fn file(t: &MemoryTarget, path: &str) -> Option<Vec<u8>> {
    t.read_file(path).expect("readable").map(|f| f.content)
}

#[test]
fn memory_five_steps_apply_and_journal_every_step() {
    let state = tempfile::tempdir().expect("tempdir");
    let host = memory_host();
    let keys = keys();
    let plan = sql_plan();
    let targets = |h: &str| (h == "db-master").then_some(&host as &dyn Target);
    let report = apply(&plan, &targets, &opts(state.path(), &keys)).expect("applies");
    assert!(report.steps.iter().all(|s| s.outcome == StepOutcome::Done));

    assert_eq!(
        file(&host, "/db/mysql/5.6/data/server.key").as_deref(),
        Some(NEW_KEY)
    );
    assert_eq!(
        file(&host, &format!("/db/old_keys/server/{RUN}/server.key")).as_deref(),
        Some(OLD_KEY)
    );
    assert_eq!(
        file(&host, "/etc/ssl/openssl.cnf").as_deref(),
        Some(CNF_FIXED.as_bytes())
    );
    assert_eq!(
        file(&host, &backup_path("/etc/ssl/openssl.cnf", RUN, 4)).as_deref(),
        Some(CNF.as_bytes()),
        "the edited file was backed up first"
    );
    assert_eq!(host.sql(), vec!["ALTER USER 'deploy'@'%' REQUIRE X509"]);

    let journal = Journal::open(state.path(), RUN).expect("journal exists");
    assert_eq!(journal.load_plan().expect("plan.json"), plan);
    let events: Vec<(String, usize)> = journal
        .records()
        .expect("records")
        .iter()
        .map(|r| match r {
            Record::Started { step, .. } => ("started".to_string(), *step),
            Record::Done { step, .. } => ("done".to_string(), *step),
            other => panic!("unexpected record {other:?}"),
        })
        .collect();
    let expected: Vec<(String, usize)> = (1..=5)
        .flat_map(|i| [("started".to_string(), i), ("done".to_string(), i)])
        .collect();
    assert_eq!(events, expected);
    // The journal holds hashes, never the keys themselves.
    let raw = fs::read_to_string(journal.journal_path()).expect("journal text");
    assert!(!raw.contains("PRIVATE KEY"), "{raw}");
    let audit = fs::read_to_string(journal.audit_path()).expect("audit log");
    assert_eq!(audit.matches("outcome=done").count(), 5, "{audit}");
    assert!(audit.lines().all(|l| l.contains(" user=")), "{audit}");
    assert!(audit.contains("outcome=finished"), "{audit}");
    assert!(
        !state.path().join(format!("{RUN}.lock")).exists(),
        "lock released"
    );

    // The same run id cannot be applied twice; resume finds nothing to do.
    assert!(matches!(
        apply(&plan, &targets, &opts(state.path(), &keys)),
        Err(ApplyError::AlreadyStarted { .. })
    ));
    let again = resume(RUN, &targets, &opts(state.path(), &keys)).expect("resumes");
    assert!(
        again
            .steps
            .iter()
            .all(|s| s.outcome == StepOutcome::AlreadyDone)
    );
    assert_eq!(host.sql().len(), 1, "a done step is never done twice");
}

#[test]
fn memory_crash_after_each_step_then_resume_ends_like_an_uninterrupted_run() {
    let keys = keys();
    let plan = sql_plan();
    let reference = {
        let state = tempfile::tempdir().expect("tempdir");
        let host = memory_host();
        let targets = |_: &str| Some(&host as &dyn Target);
        apply(&plan, &targets, &opts(state.path(), &keys)).expect("applies");
        host.snapshot()
    };
    for n in 1..=5 {
        let state = tempfile::tempdir().expect("tempdir");
        let host = memory_host();
        let targets = |_: &str| Some(&host as &dyn Target);
        let crashing = ApplyOptions {
            crash_after_step: Some(n),
            ..opts(state.path(), &keys)
        };
        match apply(&plan, &targets, &crashing) {
            Err(ApplyError::Crashed { step }) => assert_eq!(step, n),
            other => panic!("expected a crash after step {n}, got {other:?}"),
        }
        let report = resume(RUN, &targets, &opts(state.path(), &keys)).expect("resumes");
        let already = report
            .steps
            .iter()
            .filter(|s| s.outcome == StepOutcome::AlreadyDone)
            .count();
        assert_eq!(already, n, "crash after step {n}");
        assert_eq!(host.snapshot(), reference, "crash after step {n}");
        assert_eq!(host.sql().len(), 1, "crash after step {n}: SQL ran once");
    }
}

#[test]
fn memory_crash_then_rollback_restores_the_original_tree() {
    let keys = keys();
    let plan = sql_plan();
    for n in 1..=5 {
        let state = tempfile::tempdir().expect("tempdir");
        let host = memory_host();
        let original = host.snapshot();
        let targets = |_: &str| Some(&host as &dyn Target);
        let crashing = ApplyOptions {
            crash_after_step: Some(n),
            ..opts(state.path(), &keys)
        };
        assert!(matches!(
            apply(&plan, &targets, &crashing),
            Err(ApplyError::Crashed { .. })
        ));
        let report = rollback(RUN, &targets, &opts(state.path(), &keys)).expect("rolls back");
        let expected: Vec<usize> = (1..=n).rev().collect();
        assert_eq!(report.undone, expected, "crash after step {n}");
        assert_eq!(host.snapshot(), original, "crash after step {n}");
        if n == 5 {
            assert_eq!(
                host.sql().last().map(String::as_str),
                Some("ALTER USER 'deploy'@'%' REQUIRE NONE")
            );
        }
        // A rolled-back run cannot be resumed, and rolling back again is a no-op.
        assert!(matches!(
            resume(RUN, &targets, &opts(state.path(), &keys)),
            Err(ApplyError::RolledBack { .. })
        ));
        let again = rollback(RUN, &targets, &opts(state.path(), &keys)).expect("idempotent");
        assert!(again.undone.is_empty());
    }
}

#[test]
fn memory_step_started_but_not_recorded_done_is_rechecked_not_redone() {
    let state = tempfile::tempdir().expect("tempdir");
    let keys = keys();
    let plan = sql_plan();
    let host = memory_host();
    let targets = |_: &str| Some(&host as &dyn Target);
    let crashing = ApplyOptions {
        crash_after_step: Some(4),
        ..opts(state.path(), &keys)
    };
    assert!(apply(&plan, &targets, &crashing).is_err());
    // Simulate a kill between the write of step 4 and its `done` record,
    // plus a record cut short mid-append.
    let journal = Journal::open(state.path(), RUN).expect("journal");
    let text = fs::read_to_string(journal.journal_path()).expect("read");
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.pop().is_some_and(|l| l.contains("\"done\"")));
    fs::write(
        journal.journal_path(),
        format!("{}\n{{\"event\":\"do", lines.join("\n")),
    )
    .expect("rewrite");

    let report = resume(RUN, &targets, &opts(state.path(), &keys)).expect("resumes");
    let outcomes: Vec<&StepOutcome> = report.steps.iter().map(|s| &s.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            &StepOutcome::AlreadyDone,
            &StepOutcome::AlreadyDone,
            &StepOutcome::AlreadyDone,
            &StepOutcome::Verified,
            &StepOutcome::Done
        ]
    );
    assert_eq!(
        file(&host, &backup_path("/etc/ssl/openssl.cnf", RUN, 4)).as_deref(),
        Some(CNF.as_bytes()),
        "the backup still holds the original, not the edited file"
    );
}

#[test]
fn backups_never_overwrite_an_older_one() {
    let keys = keys();
    let host = memory_host();
    let targets = |_: &str| Some(&host as &dyn Target);
    let write = |run: &str, text: &str| Plan {
        run_id: run.into(),
        created_at: String::new(),
        title: "edit".into(),
        generate: Vec::new(),
        steps: vec![step(
            1,
            Action::WriteFile {
                path: "/etc/ssl/openssl.cnf".into(),
                content: Content::Text(text.into()),
                mode: 0o644,
                owner: None,
                group: None,
            },
        )],
    };
    let state = tempfile::tempdir().expect("tempdir");
    apply(&write("a", "first\n"), &targets, &opts(state.path(), &keys)).expect("run a");
    apply(
        &write("b", "second\n"),
        &targets,
        &opts(state.path(), &keys),
    )
    .expect("run b");
    assert_eq!(
        file(&host, &backup_path("/etc/ssl/openssl.cnf", "a", 1)).as_deref(),
        Some(CNF.as_bytes())
    );
    assert_eq!(
        file(&host, &backup_path("/etc/ssl/openssl.cnf", "b", 1)).as_deref(),
        Some(b"first\n".as_slice())
    );

    // A file already at the backup path (e.g. left by a run whose journal
    // was lost) is never replaced: the step refuses.
    host.add_file(
        &backup_path("/etc/ssl/openssl.cnf", "c", 1),
        b"precious",
        0o600,
        None,
    );
    match apply(&write("c", "third\n"), &targets, &opts(state.path(), &keys)) {
        Err(ApplyError::Conflict { path, message, .. }) => {
            assert!(path.ends_with(".sslaudit-c-1.bak"), "{path}");
            assert!(message.contains("older backup"), "{message}");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        file(&host, &backup_path("/etc/ssl/openssl.cnf", "c", 1)).as_deref(),
        Some(b"precious".as_slice())
    );
    assert_eq!(
        file(&host, "/etc/ssl/openssl.cnf").as_deref(),
        Some(b"second\n".as_slice())
    );

    // A move never replaces its destination either.
    let mv = Plan {
        run_id: "d".into(),
        created_at: String::new(),
        title: "move".into(),
        generate: Vec::new(),
        steps: vec![step(
            1,
            Action::MoveFile {
                from: "/etc/ssl/openssl.cnf".into(),
                to: backup_path("/etc/ssl/openssl.cnf", "a", 1),
            },
        )],
    };
    assert!(matches!(
        apply(&mv, &targets, &opts(state.path(), &keys)),
        Err(ApplyError::Conflict { .. })
    ));
}

#[test]
fn confirmation_display_only_and_preconditions() {
    let state = tempfile::tempdir().expect("tempdir");
    let keys = keys();
    let host = memory_host();
    let targets = |_: &str| Some(&host as &dyn Target);
    let mut plan = sql_plan();
    plan.steps[4].applicability = Applicability::NeedsConfirmation;
    match apply(&plan, &targets, &opts(state.path(), &keys)) {
        Err(ApplyError::NeedsConfirmation { steps }) => assert_eq!(steps, vec![5]),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!state.path().join(RUN).exists(), "nothing started");

    plan.steps[4].applicability = Applicability::DisplayOnly;
    let report = apply(&plan, &targets, &opts(state.path(), &keys)).expect("applies");
    assert!(matches!(
        report.steps[4].outcome,
        StepOutcome::Skipped { .. }
    ));
    assert!(host.sql().is_empty(), "display-only steps never run");

    let fresh = memory_host();
    let targets = |_: &str| Some(&fresh as &dyn Target);
    let mut plan = sql_plan();
    plan.run_id = "pre".into();
    plan.steps[0].precondition = Some(Precondition::FileContains {
        path: "/etc/ssl/openssl.cnf".into(),
        text: "no such text".into(),
    });
    match apply(&plan, &targets, &opts(state.path(), &keys)) {
        Err(ApplyError::Precondition { step, message, .. }) => {
            assert_eq!(step, 1);
            assert!(message.contains("does not contain"), "{message}");
        }
        other => panic!("expected a precondition failure, got {other:?}"),
    }
    assert!(fresh.read_file("/db/old_keys").expect("read").is_none());
}

#[test]
fn failing_command_stops_the_run_and_names_the_status() {
    let state = tempfile::tempdir().expect("tempdir");
    let keys = keys();
    let host = memory_host();
    host.set_command_output(
        "/etc/init.d/mysql restart",
        CommandOutput {
            status: 1,
            stdout: String::new(),
            stderr: "mysql failed to start\n".into(),
        },
    );
    let targets = |_: &str| Some(&host as &dyn Target);
    let plan = five_step_plan(
        Action::RunCommand {
            command: "/etc/init.d/mysql restart".into(),
            expect_status: 0,
        },
        Action::RunCommand {
            command: "/etc/init.d/mysql restart".into(),
            expect_status: 0,
        },
    );
    let err = apply(&plan, &targets, &opts(state.path(), &keys)).expect_err("fails");
    assert_eq!(
        err.to_string(),
        "step 5 on db-master: `/etc/init.d/mysql restart` exited with 1, expected 0: mysql failed to start"
    );
    let journal = Journal::open(state.path(), RUN).expect("journal");
    assert!(matches!(
        journal.records().expect("records").last(),
        Some(Record::Failed { step: 5, .. })
    ));
}

/// Every file and directory under `root` with its mode and content.
fn tree(root: &Path) -> BTreeMap<String, (u32, Option<Vec<u8>>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            let meta = fs::symlink_metadata(&path).expect("metadata");
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                stack.push(path);
                out.insert(rel, (mode, None));
            } else {
                out.insert(rel, (mode, Some(fs::read(&path).expect("readable file"))));
            }
        }
    }
    out
}

fn local_host(root: &Path) -> LocalTarget {
    let put = |rel: &str, content: &[u8], mode: u32| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, content).expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
    };
    put("db/mysql/5.6/data/server.key", OLD_KEY, 0o600);
    put("etc/ssl/openssl.cnf", CNF.as_bytes(), 0o644);
    LocalTarget::new("db-master", root)
}

fn command_plan() -> Plan {
    five_step_plan(
        Action::RunCommand {
            command: "test -f db/mysql/5.6/data/server.key".into(),
            expect_status: 0,
        },
        Action::RunCommand {
            command: "true".into(),
            expect_status: 0,
        },
    )
}

#[test]
fn local_apply_crash_resume_and_rollback_on_real_files() {
    let keys = keys();
    let plan = command_plan();
    let reference = {
        let root = tempfile::tempdir().expect("tempdir");
        let state = tempfile::tempdir().expect("tempdir");
        let host = local_host(root.path());
        let targets = |_: &str| Some(&host as &dyn Target);
        apply(&plan, &targets, &opts(state.path(), &keys)).expect("applies");
        let key = root.path().join("db/mysql/5.6/data/server.key");
        assert_eq!(fs::read(&key).expect("key"), NEW_KEY);
        assert_eq!(
            fs::metadata(&key).expect("meta").permissions().mode() & 0o7777,
            0o600
        );
        tree(root.path())
    };
    for n in 1..=5 {
        let root = tempfile::tempdir().expect("tempdir");
        let state = tempfile::tempdir().expect("tempdir");
        let host = local_host(root.path());
        let original = tree(root.path());
        let targets = |_: &str| Some(&host as &dyn Target);
        let crashing = ApplyOptions {
            crash_after_step: Some(n),
            ..opts(state.path(), &keys)
        };
        assert!(matches!(
            apply(&plan, &targets, &crashing),
            Err(ApplyError::Crashed { .. })
        ));
        let crashed_at = tree(root.path());

        // Resume on a copy of the crashed state.
        let copy = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", root.path().display()))
            .arg(copy.path())
            .status()
            .expect("cp runs");
        assert!(status.success());
        let copy_state = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", state.path().display()))
            .arg(copy_state.path())
            .status()
            .expect("cp runs");
        assert!(status.success());
        assert_eq!(tree(copy.path()), crashed_at);
        let copy_host = LocalTarget::new("db-master", copy.path());
        let copy_targets = |_: &str| Some(&copy_host as &dyn Target);
        resume(RUN, &copy_targets, &opts(copy_state.path(), &keys)).expect("resumes");
        assert_eq!(tree(copy.path()), reference, "resume after step {n}");

        rollback(RUN, &targets, &opts(state.path(), &keys)).expect("rolls back");
        assert_eq!(tree(root.path()), original, "rollback after step {n}");
    }
}

#[test]
fn dry_run_changes_nothing_and_shows_the_diff() {
    let keys = keys();
    let root = tempfile::tempdir().expect("tempdir");
    let state = tempfile::tempdir().expect("tempdir");
    let state_dir = state.path().join("state");
    let host = local_host(root.path());
    let before = tree(root.path());
    let targets = |_: &str| Some(&host as &dyn Target);
    let dry = ApplyOptions {
        dry_run: true,
        ..opts(&state_dir, &keys)
    };
    let report = apply(&command_plan(), &targets, &dry).expect("previews");
    assert!(report.dry_run);
    assert_eq!(tree(root.path()), before);
    assert!(!state_dir.exists(), "a dry run writes no state either");
    let previews: Vec<_> = report
        .steps
        .iter()
        .map(|s| match &s.outcome {
            StepOutcome::WouldChange { preview } => preview.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(
        previews[0]
            .summary
            .starts_with("would create directory /db/old_keys/server/")
    );
    assert!(
        previews[1].summary.contains("precondition holds now"),
        "{}",
        previews[1].summary
    );
    assert!(previews[2].diff.is_none(), "no diff of a private key");
    let diff = previews[3].diff.as_deref().expect("diff of openssl.cnf");
    assert!(
        diff.contains("\n-RANDFILE = $ENV::HOME/.rnd\n+#RANDFILE = $ENV::HOME/.rnd\n"),
        "{diff}"
    );
    assert_eq!(
        previews[4].summary,
        "would run `test -f db/mysql/5.6/data/server.key`"
    );
}

#[test]
fn local_private_key_is_0600_from_creation() {
    let root = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(root.path().join("keys")).expect("mkdir");
    let host = LocalTarget::new("h", root.path());
    let dir = root.path().join("keys");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Watch the directory while keys are written: every temp file seen
    // must already be private (mode given to open(2), not chmod-ed later).
    let watcher = {
        let stop = stop.clone();
        let dir = dir.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if let Ok(meta) = entry.metadata() {
                        seen.push(meta.permissions().mode() & 0o777);
                    }
                }
            }
            seen
        })
    };
    let big = vec![b'k'; 4 << 20];
    for i in 0..10 {
        host.write_file_atomic(&format!("/keys/server{i}.key"), &big, 0o600, None, None)
            .expect("writes");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = watcher.join().expect("watcher");
    assert!(seen.iter().all(|m| *m == 0o600), "modes seen: {seen:?}");
    let names: Vec<String> = fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 10, "no temp file left behind: {names:?}");
    for i in 0..10 {
        let meta = fs::metadata(dir.join(format!("server{i}.key"))).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    }
    // Owner and group by name are applied (to ourselves: tests do not run as root).
    let me = host
        .read_file("/keys/server0.key")
        .expect("read")
        .expect("exists");
    host.write_file_atomic(
        "/keys/owned.key",
        b"x",
        0o600,
        me.owner.as_deref(),
        me.group.as_deref(),
    )
    .expect("chown to self works");
    assert!(matches!(
        host.write_file_atomic(
            "/keys/x.key",
            b"x",
            0o600,
            Some("no-such-user-sslaudit"),
            None
        ),
        Err(TargetError::UnknownAccount { .. })
    ));
}

#[test]
fn a_second_apply_on_the_same_run_fails_naming_the_lock_holder() {
    let state = tempfile::tempdir().expect("tempdir");
    let keys = keys();
    let plan = sql_plan();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();

    /// Blocks inside the first step until the test lets it go.
    struct Gate {
        inner: MemoryTarget,
        entered: std::sync::mpsc::Sender<()>,
        release: std::sync::mpsc::Receiver<()>,
        gated: std::cell::Cell<bool>,
    }
    impl Target for Gate {
        fn host(&self) -> &str {
            self.inner.host()
        }
        fn metadata(
            &self,
            path: &str,
        ) -> Result<Option<sslaudit_remediations::target::EntryMeta>, TargetError> {
            self.inner.metadata(path)
        }
        fn read_file(
            &self,
            path: &str,
        ) -> Result<Option<sslaudit_remediations::target::FileState>, TargetError> {
            self.inner.read_file(path)
        }
        fn write_file_atomic(
            &self,
            path: &str,
            content: &[u8],
            mode: u32,
            owner: Option<&str>,
            group: Option<&str>,
        ) -> Result<(), TargetError> {
            self.inner
                .write_file_atomic(path, content, mode, owner, group)
        }
        fn make_dir(&self, path: &str, mode: u32, owner: Option<&str>) -> Result<(), TargetError> {
            // Step 1 creates three directories: hold only the first.
            if !self.gated.replace(true) {
                let _ = self.entered.send(());
                let _ = self.release.recv();
            }
            self.inner.make_dir(path, mode, owner)
        }
        fn rename(&self, from: &str, to: &str) -> Result<(), TargetError> {
            self.inner.rename(from, to)
        }
        fn remove_file(&self, path: &str) -> Result<(), TargetError> {
            self.inner.remove_file(path)
        }
        fn remove_dir(&self, path: &str) -> Result<(), TargetError> {
            self.inner.remove_dir(path)
        }
        fn run_command(&self, command: &str) -> Result<CommandOutput, TargetError> {
            self.inner.run_command(command)
        }
        fn run_sql(&self, sql: &str) -> Result<(), TargetError> {
            self.inner.run_sql(sql)
        }
        fn set_mode(
            &self,
            path: &str,
            mode: u32,
            owner: Option<&str>,
            group: Option<&str>,
        ) -> Result<(), TargetError> {
            self.inner.set_mode(path, mode, owner, group)
        }
    }

    let state_path = state.path().to_path_buf();
    let first_plan = plan.clone();
    let first = std::thread::spawn(move || {
        let gate = Gate {
            inner: memory_host(),
            entered: entered_tx,
            release: release_rx,
            gated: std::cell::Cell::new(false),
        };
        let keys = crate::keys();
        let targets = |_: &str| Some(&gate as &dyn Target);
        apply(&first_plan, &targets, &opts(&state_path, &keys)).map(|_| ())
    });
    entered_rx.recv().expect("first run reached step 1");
    let other = memory_host();
    let targets = |_: &str| Some(&other as &dyn Target);
    match apply(&plan, &targets, &opts(state.path(), &keys)) {
        Err(ApplyError::Locked { holder, path }) => {
            assert!(
                holder.contains(&format!("pid={}", std::process::id())),
                "{holder}"
            );
            assert!(holder.contains("user="), "{holder}");
            assert!(path.ends_with(format!("{RUN}.lock")), "{}", path.display());
        }
        other => panic!("expected a lock error, got {other:?}"),
    }
    assert!(
        other.snapshot() == memory_host().snapshot(),
        "second run touched nothing"
    );
    release_tx.send(()).expect("release");
    first
        .join()
        .expect("first run")
        .expect("first run succeeds");

    // An explicit lock blocks resume and rollback too.
    let _held = RunLock::acquire(state.path(), RUN).expect("free again");
    assert!(matches!(
        rollback(RUN, &targets, &opts(state.path(), &keys)),
        Err(ApplyError::Locked { .. })
    ));
}

#[test]
fn memory_entries_compare_by_content_and_mode() {
    let a = memory_host();
    let b = memory_host();
    assert_eq!(a.snapshot(), b.snapshot());
    b.write_file_atomic(
        "/etc/ssl/openssl.cnf",
        CNF.as_bytes(),
        0o600,
        Some("root"),
        None,
    )
    .expect("write");
    let snap = b.snapshot();
    assert!(matches!(snap.get("/etc/ssl/openssl.cnf"), Some(MemEntry::File(f)) if f.mode == 0o600));
    assert_ne!(a.snapshot(), snap);
}
