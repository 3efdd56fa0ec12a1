//! Text edits of configuration files: line diffs for people (dry runs)
//! and line edits for plans. A plan carries only the lines it changes and
//! a hash of the file it changes them in, never the rest of the file,
//! which may hold passwords (database.yml, a my.cnf `[client]` group).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sslaudit_rules::parse::redact;

/// Replace `delete` lines starting at line `at` (0-based, of the file the
/// plan was made from) with `insert` (whole lines, with their endings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineEdit {
    pub at: usize,
    pub delete: usize,
    pub insert: String,
}

/// SHA-256 of a text, lowercase hex (the `base_sha256` of an edit).
pub fn sha256_hex(text: &[u8]) -> String {
    hex::encode(Sha256::digest(text))
}

/// The edits that turn `old` into `new`, line by line (line endings kept).
pub fn line_edits(old: &str, new: &str) -> Vec<LineEdit> {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut out: Vec<LineEdit> = Vec::new();
    for op in diff_ops(&a, &b) {
        let (at, del, ins) = match op {
            Op::Same(..) => continue,
            Op::Del(ai, _) => (ai, 1, ""),
            Op::Ins(ai, bi) => (ai, 0, b[bi]),
        };
        match out.last_mut() {
            Some(last) if last.at + last.delete == at => {
                last.delete += del;
                last.insert.push_str(ins);
            }
            _ => out.push(LineEdit {
                at,
                delete: del,
                insert: ins.to_string(),
            }),
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
/// lines of context). Longest common subsequence over lines; for very large
/// files it falls back to replacing the whole file.
fn line_diff(path: &str, old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = diff_ops(&a, &b);
    let mut out = format!("--- {path}\n+++ {path} (planned)\n");
    const CONTEXT: usize = 3;
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Same(..)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(CONTEXT);
        let mut end = changed[i] + CONTEXT + 1;
        while i + 1 < changed.len() && changed[i + 1] <= end + CONTEXT {
            i += 1;
            end = changed[i] + CONTEXT + 1;
        }
        let end = end.min(ops.len());
        let (mut a_start, mut b_start) = (None, None);
        let (mut a_len, mut b_len) = (0, 0);
        let mut body = String::new();
        for op in &ops[start..end] {
            match op {
                Op::Same(ai, bi) => {
                    a_start.get_or_insert(*ai);
                    b_start.get_or_insert(*bi);
                    a_len += 1;
                    b_len += 1;
                    let _ = writeln!(body, " {}", a[*ai]);
                }
                Op::Del(ai, bi) => {
                    a_start.get_or_insert(*ai);
                    b_start.get_or_insert(*bi);
                    a_len += 1;
                    let _ = writeln!(body, "-{}", a[*ai]);
                }
                Op::Ins(ai, bi) => {
                    a_start.get_or_insert(*ai);
                    b_start.get_or_insert(*bi);
                    b_len += 1;
                    let _ = writeln!(body, "+{}", b[*bi]);
                }
            }
        }
        let header = |s: Option<usize>, len: usize| {
            let s = s.unwrap_or(0);
            if len == 0 {
                format!("{s},0")
            } else {
                format!("{},{len}", s + 1)
            }
        };
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            header(a_start, a_len),
            header(b_start, b_len)
        );
        out.push_str(&body);
        i += 1;
    }
    out
}

/// A line operation with the positions in the old and new file where it
/// happens (for an insertion, the old position is where it goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same(usize, usize),
    Del(usize, usize),
    Ins(usize, usize),
}

fn diff_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    // Trim the common prefix and suffix first: edits are usually small.
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<Op> = (0..pre).map(|i| Op::Same(i, i)).collect();
    if am.len().saturating_mul(bm.len()) > 4_000_000 {
        ops.extend((0..am.len()).map(|i| Op::Del(pre + i, pre)));
        ops.extend((0..bm.len()).map(|j| Op::Ins(pre + am.len(), pre + j)));
    } else {
        let (n, m) = (am.len(), bm.len());
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if am[i] == bm[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push(Op::Same(pre + i, pre + j));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                // Deletions before insertions, as diff(1) prints them.
                ops.push(Op::Del(pre + i, pre + j));
                i += 1;
            } else {
                ops.push(Op::Ins(pre + i, pre + j));
                j += 1;
            }
        }
    }
    let (a_off, b_off) = (a.len() - suf, b.len() - suf);
    ops.extend((0..suf).map(|k| Op::Same(a_off + k, b_off + k)));
    ops
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
