//! Text edits of configuration files: line diffs for people (dry runs)
//! and line edits for plans. A plan carries only the lines it changes and
//! a hash of the file it changes them in, never the rest of the file,
//! which may hold passwords (database.yml, a my.cnf `[client]` group).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use similar::algorithms::{Capture, Replace, myers};
use similar::{DiffOp, DiffTag, group_diff_ops};
use sslaudit_rules::parse::redact;

/// Replace `delete` lines starting at line `at` (0-based, of the file the
/// plan was made from) with `insert` (whole lines, with their endings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineEdit {
    pub at: usize,
    pub delete: usize,
    pub insert: String,
}

/// SHA-256 of a text, lowercase hex (the `base_sha256` of an edit): the
/// rules crate's one digest spelling, re-exported.
pub use sslaudit_rules::digest::sha256_hex;

/// The edits that turn `old` into `new`, line by line (line endings kept).
pub fn line_edits(old: &str, new: &str) -> Vec<LineEdit> {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut out: Vec<LineEdit> = Vec::new();
    for op in diff_ops(&a, &b) {
        let (tag, del, ins) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            continue;
        }
        let (at, delete, insert) = (del.start, del.len(), b[ins].concat());
        match out.last_mut() {
            Some(last) if last.at + last.delete == at => {
                last.delete += delete;
                last.insert.push_str(&insert);
            }
            _ => out.push(LineEdit { at, delete, insert }),
        }
    }
    out
}

/// Applies `edits` (sorted, not overlapping) to `base`.
pub fn apply_edits(base: &str, edits: &[LineEdit]) -> Result<String, String> {
    let lines: Vec<&str> = base.split_inclusive('\n').collect();
    let mut out = String::with_capacity(base.len());
    let mut next = 0;
    for e in edits {
        if e.at < next || e.at + e.delete > lines.len() {
            return Err(format!(
                "edit at line {} ({} deleted) does not fit a file of {} lines",
                e.at + 1,
                e.delete,
                lines.len()
            ));
        }
        out.extend(lines[next..e.at].iter().copied());
        out.push_str(&e.insert);
        next = e.at + e.delete;
    }
    out.extend(lines[next..].iter().copied());
    Ok(out)
}

/// The diff a person is shown of an edit: both texts redacted by the
/// file's structure first ([`redact`]), so that no secret appears in a
/// changed line or in its context, whatever its style (a folded block, a
/// flow mapping). A file whose structure cannot be read gets no diff.
pub fn redacted_diff(path: &str, old: &str, new: &str) -> String {
    let Some(kind) = redact::Kind::of_path(path) else {
        return format!("--- {path}\n(no diff shown: not a kind of file sslaudit redacts)\n");
    };
    let clean = |text: &str| {
        redact::redact(kind, text.as_bytes())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|w| w.reason)
    };
    match (clean(old), clean(new)) {
        (Ok(a), Ok(b)) => line_diff(path, &a, &b),
        (Err(why), _) | (_, Err(why)) => {
            format!("--- {path}\n(no diff shown: {why})\n")
        }
    }
}

/// A unified-style line diff (`---`/`+++` headers, `@@` hunks with three
/// lines of context, every range with its length: `@@ -1,1 +1,2 @@`).
fn line_diff(path: &str, old: &str, new: &str) -> String {
    const CONTEXT: usize = 3;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut out = format!("--- {path}\n+++ {path} (planned)\n");
    for hunk in group_diff_ops(diff_ops(&a, &b), CONTEXT) {
        let (Some(first), Some(last)) = (hunk.first(), hunk.last()) else {
            continue;
        };
        let range = |start: usize, end: usize| match end - start {
            0 => format!("{start},0"),
            len => format!("{},{len}", start + 1),
        };
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            range(first.old_range().start, last.old_range().end),
            range(first.new_range().start, last.new_range().end)
        );
        for op in &hunk {
            let (tag, del, ins) = op.as_tag_tuple();
            if tag == DiffTag::Equal {
                for l in &a[del] {
                    let _ = writeln!(out, " {l}");
                }
                continue;
            }
            // Deletions before insertions, as diff(1) prints them.
            for l in &a[del] {
                let _ = writeln!(out, "-{l}");
            }
            for l in &b[ins] {
                let _ = writeln!(out, "+{l}");
            }
        }
    }
    out
}

/// The line operations that turn `a` into `b`: Myers' diff, whose cost
/// grows with the size of the change rather than of the files (the runners
/// change a few lines). Between two unchanged runs there is one operation:
/// a deletion, an insertion, or a replacement of the one by the other.
///
/// Not `similar::capture_diff_slices`: the `Compact` step it adds can leave
/// an insertion at the wrong old position (see
/// `edits_round_trip_when_lines_repeat`), and these edits are applied.
fn diff_ops(a: &[&str], b: &[&str]) -> Vec<DiffOp> {
    let mut ops = Replace::new(Capture::new());
    match myers::diff(&mut ops, a, 0..a.len(), b, 0..b.len()) {
        Ok(()) => ops.into_inner().into_ops(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_shows_only_changed_lines_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\nRANDFILE = $ENV::HOME/.rnd\ni\n";
        let new = "a\nb\nc\nd\ne\nf\ng\nh\n#RANDFILE = $ENV::HOME/.rnd\ni\n";
        let d = line_diff("/etc/ssl/openssl.cnf", old, new);
        assert_eq!(
            d,
            "--- /etc/ssl/openssl.cnf\n+++ /etc/ssl/openssl.cnf (planned)\n@@ -6,5 +6,5 @@\n f\n g\n h\n-RANDFILE = $ENV::HOME/.rnd\n+#RANDFILE = $ENV::HOME/.rnd\n i\n"
        );
    }

    #[test]
    fn diff_of_insertion_at_end_and_empty_old() {
        let d = line_diff("/x", "", "a\n");
        assert!(d.ends_with("@@ -0,0 +1,1 @@\n+a\n"), "{d}");
        let d = line_diff("/x", "[mysqld]\n", "[mysqld]\nssl-ca=/a\n");
        assert!(
            d.ends_with("@@ -1,1 +1,2 @@\n [mysqld]\n+ssl-ca=/a\n"),
            "{d}"
        );
    }

    #[test]
    fn edits_round_trip_and_carry_only_changed_lines() {
        let old = "production:\n  password: s3cret\n  host: db\n";
        let new = "production:\n  password: s3cret\n  host: db\n  sslca: /a\n";
        let e = line_edits(old, new);
        assert_eq!(
            e,
            vec![LineEdit {
                at: 3,
                delete: 0,
                insert: "  sslca: /a\n".into()
            }]
        );
        assert_eq!(apply_edits(old, &e).unwrap(), new);
        let swapped = "a\nB\nc\nD";
        let e = line_edits("a\nb\nc\nd", swapped);
        assert_eq!(apply_edits("a\nb\nc\nd", &e).unwrap(), swapped);
        assert!(
            apply_edits(
                "a\n",
                &[LineEdit {
                    at: 3,
                    delete: 1,
                    insert: String::new()
                }]
            )
            .is_err()
        );
    }

    #[test]
    fn edits_round_trip_when_lines_repeat() {
        // similar's compacting capture placed the insertion here at old
        // line 3 instead of 4: the edits must still give `new`.
        let old = "c\nc\nx\n[mysqld]\n";
        let new = "[mysqld]\n[mysqld]\n\nd\n";
        assert_eq!(apply_edits(old, &line_edits(old, new)).unwrap(), new);
        let old = "a\n\n\nb\n\n";
        let new = "a\n#\n\n\nb\n";
        assert_eq!(apply_edits(old, &line_edits(old, new)).unwrap(), new);
    }

    #[test]
    fn diffs_never_show_a_password() {
        let old = "[client]\npassword = hunter2\n";
        let new = "[client]\npassword = hunter2\nssl-ca = /a\n";
        let d = redacted_diff("/etc/mysql/my.cnf", old, new);
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains(" password = <redacted>"), "{d}");
        // A folded secret in the context of a database.yml edit.
        let old = "production:\n  password: >-\n    hunter3\n  host: db\n";
        let new = format!("{old}  sslca: /a\n");
        let d = redacted_diff("/data/app/config/database.yml", old, &new);
        assert!(!d.contains("hunter3"), "{d}");
        assert!(d.contains("+  sslca: /a"), "{d}");
        let d = redacted_diff("/etc/mysql/my.cnf", "[client\npassword=x\n", "x");
        assert!(
            d.contains("no diff shown") && !d.contains("password=x"),
            "{d}"
        );
    }
}
