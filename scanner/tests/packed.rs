//! The packed snapshot (docs/snapshot-format.md, "The packed form"): a
//! folder and its packed file scan to the same reports byte for byte (the
//! demo fleet, and a snapshot written by collect's own writers, folder and
//! packed), a changed member is caught by SHA256SUMS and named, and a
//! broken archive stops with an error naming it.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod fleet_util;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

use fleet_util::{demo, demo_as_of};
use sslaudit_scanner::snapshot::{self, FORMAT, Manifest, pack::PackedWriter};

/// Runs sslaudit in `cwd`.
fn sslaudit(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sslaudit"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run sslaudit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Scans `name` (a folder or a packed file) from inside `cwd`, so the
/// reports name it by the same relative path whichever form it is; the
/// JSON and SARIF reports' bytes.
fn scan(cwd: &Path, name: &str, as_of: &str) -> (Vec<u8>, Vec<u8>) {
    let out = sslaudit(
        cwd,
        &[
            "scan",
            "--snapshot",
            name,
            "--as-of",
            as_of,
            "--fail-on",
            "never",
            "--no-progress",
            "--json",
            "report.json",
            "--sarif",
            "report.sarif",
        ],
    );
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let json = fs::read(cwd.join("report.json")).unwrap();
    let sarif = fs::read(cwd.join("report.sarif")).unwrap();
    fs::remove_file(cwd.join("report.json")).unwrap();
    fs::remove_file(cwd.join("report.sarif")).unwrap();
    (json, sarif)
}

fn assert_same(a: &(Vec<u8>, Vec<u8>), b: &(Vec<u8>, Vec<u8>), what: &str) {
    assert!(a.0 == b.0, "{what}: the JSON reports differ");
    assert!(a.1 == b.1, "{what}: the SARIF reports differ");
    assert!(a.0.len() > 1000, "{what}: a report with findings");
}

fn pack(cwd: &Path, dir: &str, out: &str) {
    let o = sslaudit(cwd, &["snapshot", "pack", dir, "-o", out]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_demo_fleet_packed_scans_to_the_same_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (folder, packed) = (tmp.path().join("folder"), tmp.path().join("packed"));
    copy_dir(&demo(), &folder.join("demo-fleet"));
    fs::create_dir_all(&packed).unwrap();
    pack(
        tmp.path(),
        "folder/demo-fleet",
        packed.join("demo-fleet").to_str().unwrap(),
    );
    let as_of = demo_as_of();
    let a = scan(&folder, "demo-fleet", &as_of);
    let b = scan(&packed, "demo-fleet", &as_of);
    assert_same(&a, &b, "demo fleet");
    // Packing refuses to replace anything.
    let again = sslaudit(
        tmp.path(),
        &[
            "snapshot",
            "pack",
            "folder/demo-fleet",
            "-o",
            "packed/demo-fleet",
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    // `facts` reads it too, the same way.
    let fa = sslaudit(
        &folder,
        &["facts", "--snapshot", "demo-fleet", "--limit", "db-master"],
    );
    let fb = sslaudit(
        &packed,
        &["facts", "--snapshot", "demo-fleet", "--limit", "db-master"],
    );
    assert!(
        fa.status.success() && fb.status.success(),
        "{}",
        stderr(&fb)
    );
    assert_eq!(fa.stdout, fb.stdout);
}

/// What `collect` writes, without live hosts: the demo fleet's evidence
/// through collect's own writers, the folder one (`write_host`,
/// `write_manifest`: real SHA256SUMS) and the packed one (`collect
/// --packed`'s `write_host_packed`, hosts in any order).
fn collected(folder: &Path, packed: &Path) -> Manifest {
    let manifest = Manifest {
        format: FORMAT,
        tool: Some("sslaudit test".into()),
        collected_at: Some(format!("{}T04:00:00Z", demo_as_of())),
        description: Some("collected from the demo fleet's evidence".into()),
        inventory: Some("fleet.yaml".into()),
    };
    let mut hosts = snapshot::host_dirs(&demo()).unwrap();
    let writer = Mutex::new(PackedWriter::create(packed, 0).unwrap());
    // collect --packed appends hosts as they finish: any order.
    hosts.reverse();
    for dir in hosts {
        let ev = snapshot::read_host(&dir).unwrap();
        snapshot::write_host(folder, &ev).unwrap();
        snapshot::write_host_packed(&writer, &ev).unwrap();
    }
    snapshot::write_manifest(folder, &manifest).unwrap();
    let mut w = writer.into_inner().unwrap();
    w.add(
        "snapshot.toml",
        fs::read(folder.join("snapshot.toml")).unwrap().as_slice(),
    )
    .unwrap();
    w.finish().unwrap();
    manifest
}

#[test]
fn a_collected_snapshot_scans_the_same_folder_packed_and_repacked() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["folder", "collected-packed", "repacked", "unpacked"] {
        fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    let folder = tmp.path().join("folder/ev");
    let packed = tmp.path().join("collected-packed/ev");
    collected(&folder, &packed);
    assert!(folder.join("SHA256SUMS").is_file());
    let as_of = demo_as_of();
    let a = scan(&tmp.path().join("folder"), "ev", &as_of);
    let b = scan(&tmp.path().join("collected-packed"), "ev", &as_of);
    assert_same(&a, &b, "collect --packed");
    // A collected folder is checked against its SHA256SUMS and packed.
    pack(tmp.path(), "folder/ev", "repacked/ev");
    let c = scan(&tmp.path().join("repacked"), "ev", &as_of);
    assert_same(&a, &c, "snapshot pack");
    // Unpacked, it is the folder again: same files, same SHA256SUMS.
    let o = sslaudit(
        tmp.path(),
        &["snapshot", "unpack", "repacked/ev", "-o", "unpacked/ev"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(folder.join("SHA256SUMS")).unwrap(),
        fs::read_to_string(tmp.path().join("unpacked/ev/SHA256SUMS")).unwrap()
    );
    let d = scan(&tmp.path().join("unpacked"), "ev", &as_of);
    assert_same(&a, &d, "snapshot unpack");
    // A packed snapshot is its own tar: `tar -x` gives the folder, and
    // `sha256sum -c SHA256SUMS` checks it there as in a collected folder.
    let extracted = tmp.path().join("extracted/ev");
    fs::create_dir_all(&extracted).unwrap();
    let tar = Command::new("tar")
        .arg("-xf")
        .arg(&packed)
        .arg("-C")
        .arg(&extracted)
        .status();
    if tar.is_ok_and(|s| s.success()) {
        assert!(!extracted.join("pax_global_header").exists());
        let check = Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(&extracted)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stdout)
        );
        let e = scan(&tmp.path().join("extracted"), "ev", &as_of);
        assert_same(&a, &e, "tar -x");
    }
}

/// The offset of the first occurrence of `needle` in `file`.
fn offset_of(file: &Path, needle: &[u8]) -> usize {
    let bytes = fs::read(file).unwrap();
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| {
            panic!(
                "{} not in {}",
                String::from_utf8_lossy(needle),
                file.display()
            )
        })
}

/// Overwrites `file` at `at` with `with` (same length: the tar stays valid).
fn patch(file: &Path, at: usize, with: &[u8]) {
    let mut bytes = fs::read(file).unwrap();
    bytes[at..at + with.len()].copy_from_slice(with);
    fs::write(file, bytes).unwrap();
}

#[test]
fn a_changed_member_fails_its_sha256sums_check_and_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("p")).unwrap();
    let folder = tmp.path().join("ev");
    let packed = tmp.path().join("p/ev");
    collected(&folder, &packed);
    let as_of = demo_as_of();
    let clean = scan(&tmp.path().join("p"), "ev", &as_of);

    // A changed option file: the scan goes on, and the host's SCAN002 names
    // the member; its content is not used.
    let at = offset_of(&packed, b"# /etc/mysql/my.cnf - managed by Chef");
    patch(&packed, at, b"# /etc/mysql/my.cnf - MANAGED by Chef");
    let (json, _) = scan(&tmp.path().join("p"), "ev", &as_of);
    assert!(json != clean.0);
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let problems: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "SCAN002" && f["evidence"]["what"] == "snapshot member")
        .collect();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let text = problems[0].to_string();
    assert!(text.contains("\"ev/"), "{text}");
    assert!(text.contains("/fs/etc/mysql/my.cnf"), "{text}");
    assert!(text.contains("changed since it was packed"), "{text}");
    // ... and the rules see the file as unreadable, not its changed text.
    assert!(
        report["findings"]
            .to_string()
            .contains("cannot read /etc/mysql/my.cnf"),
        "the changed content was used"
    );

    // Unpacking checks every member: it stops, names it, leaves nothing.
    let o = sslaudit(tmp.path(), &["snapshot", "unpack", "p/ev", "-o", "out"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/fs/etc/mysql/my.cnf"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("SHA256SUMS"), "{}", stderr(&o));
    assert!(!tmp.path().join("out").exists());

    // A changed host.toml is the snapshot's structure: the scan stops.
    let at = offset_of(&packed, b"roles = [");
    patch(&packed, at, b"Roles = [");
    let o = sslaudit(
        &tmp.path().join("p"),
        &["scan", "--snapshot", "ev", "--as-of", &as_of],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("host.toml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("SHA256SUMS"), "{}", stderr(&o));

    // Packing a folder whose file changed since collection is refused.
    let cnf = snapshot::host_dirs(&folder).unwrap()[0].join("host.toml");
    let mut text = fs::read_to_string(&cnf).unwrap();
    text.push('\n');
    fs::write(&cnf, text).unwrap();
    let o = sslaudit(tmp.path(), &["snapshot", "pack", "ev", "-o", "again"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("host.toml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("SHA256SUMS"), "{}", stderr(&o));
    assert!(!tmp.path().join("again").exists(), "no partial archive");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        2,
        "no temporary file left behind"
    );
}

#[test]
fn a_truncated_or_foreign_archive_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let packed = tmp.path().join("ev.sslsnap");
    collected(&tmp.path().join("ev"), &packed);
    let bytes = fs::read(&packed).unwrap();
    let cut = tmp.path().join("cut.sslsnap");
    // Cut inside a header, inside a member's content or its padding, at a
    // member's boundary (the archive seems to just end there), inside the
    // end-of-archive blocks: each is named as a truncation. Opening seeks
    // over the content it does not keep, so these are checked apart.
    let len = bytes.len();
    let boundary = (len / 2) / 512 * 512;
    for at in [
        len / 2 + 100,
        len / 3 + 7,
        boundary,
        len - 512,
        len - 1024,
        len - 1536,
    ] {
        fs::write(&cut, &bytes[..at]).unwrap();
        let o = sslaudit(tmp.path(), &["scan", "--snapshot", "cut.sslsnap"]);
        assert_eq!(o.status.code(), Some(2), "cut at {at} of {len}");
        let err = stderr(&o);
        assert!(err.contains("cut.sslsnap"), "{err}");
        assert!(err.contains("truncated"), "cut at {at} of {len}: {err}");
    }

    // Not a packed snapshot at all.
    let other = tmp.path().join("notes.txt");
    fs::write(&other, "just some text\n".repeat(100)).unwrap();
    let o = sslaudit(tmp.path(), &["scan", "--snapshot", "notes.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("notes.txt"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a packed snapshot"),
        "{}",
        stderr(&o)
    );

    // A later packed format is named as such.
    let v2 = tmp.path().join("v2.sslsnap");
    let mut b = bytes.clone();
    let at = b
        .windows(17)
        .position(|w| w == b"SSLAUDIT.packed=1")
        .unwrap();
    b[at + 16] = b'2';
    fs::write(&v2, b).unwrap();
    let o = sslaudit(tmp.path(), &["scan", "--snapshot", "v2.sslsnap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("format 2 is not supported"),
        "{}",
        stderr(&o)
    );
}
