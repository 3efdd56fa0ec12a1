//! The option-file editor: sets server options in the option files mysqld
//! reads, as minimal text edits (a filled-in empty value, or lines added
//! beside the TLS options or at the end of the last `[mysqld]` group, in
//! the file's own style), and proves each edit by parsing the edited file
//! again with the scanner's own parser.

use std::collections::BTreeMap;

use sslaudit_rules::facts::{HostFacts, OptionSet, OptionValue};
use sslaudit_rules::parse::mycnf::{effective, parse_option_files, server_groups, unquote_value};
use sslaudit_rules::parse::{FileSource, SourceError};

use crate::runners::server::server_version;
use crate::runners::{Builder, Refusal, bare, indent_of, line_ending, split_lines};

/// Options that sit with the TLS settings; new ssl lines go right after the
/// last of them that mysqld reads.
const TLS_NEIGHBOURS: [&str; 8] = [
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
    "ssl_capath",
    "ssl_cipher",
    "ssl_crl",
    "tls_version",
    "require_secure_transport",
];

pub(super) fn set_option<'o>(opts: &'o OptionSet, name: &str) -> Option<&'o OptionValue> {
    opts.get(name)
        .filter(|o| !unquote_value(o.as_str()).is_empty())
}

/// A path as an option value: quoted when it holds blanks or `#`; `None`
/// for what an option file cannot hold unchanged (quotes, backslashes,
/// control characters).
pub(super) fn option_value(path: &str) -> Option<String> {
    if path
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return None;
    }
    if path
        .chars()
        .any(|c| c.is_whitespace() || c == '#' || c == '\'')
    {
        Some(format!("\"{path}\""))
    } else {
        Some(path.to_string())
    }
}

/// `name<sep>value` in the style of `like` (an option line of the same
/// file): its indentation, and its `=` either aligned at the same column
/// (padded files) or with the same spacing.
fn option_line(like: Option<&str>, name: &str, value: &str) -> String {
    let Some(like) = like.map(bare) else {
        return format!("{name} = {value}");
    };
    let indent = indent_of(like);
    let body = &like[indent.len()..];
    let Some(eq) = body.find('=') else {
        return format!("{indent}{name} = {value}");
    };
    let key_len = body[..eq].trim_end().len();
    let after = body[eq + 1..].len() - body[eq + 1..].trim_start().len();
    let before = eq - key_len;
    let gap_after = " ".repeat(after);
    if before > 1 {
        // Aligned: put `=` in the same column when the name fits.
        let pad = if name.len() < eq {
            " ".repeat(eq - name.len())
        } else {
            " ".to_string()
        };
        format!("{indent}{name}{pad}={gap_after}{value}")
    } else {
        format!("{indent}{name}{}={gap_after}{value}", " ".repeat(before))
    }
}

/// An option-file line that sets an option (not blank, a comment, a group
/// header or a directive).
fn is_option_line(line: &str) -> bool {
    let t = bare(line).trim();
    !(t.is_empty()
        || t.starts_with('#')
        || t.starts_with(';')
        || t.starts_with('[')
        || t.starts_with('!'))
}

fn group_header(line: &str) -> Option<String> {
    let t = bare(line).trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim().to_ascii_lowercase())
}

/// The line (0-based) after which options go at the end of the last
/// `[mysqld]` group of a file: its last option line, or its header.
fn end_of_mysqld(lines: &[&str]) -> Option<usize> {
    let mut found = None;
    let mut in_group = false;
    for (i, l) in lines.iter().enumerate() {
        if let Some(g) = group_header(l) {
            in_group = g == "mysqld";
            if in_group {
                found = Some(i);
            }
            continue;
        }
        if in_group && is_option_line(l) {
            found = Some(i);
        }
    }
    found
}

/// One file, as a [`FileSource`] for re-parsing an edited option file.
struct OneFile<'t> {
    path: &'t str,
    text: &'t str,
}

impl FileSource for OneFile<'_> {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        if path == self.path {
            Ok(self.text.as_bytes().to_vec())
        } else {
            Err(SourceError::Missing)
        }
    }

    fn list_dir(&self, _path: &str) -> Result<Vec<String>, SourceError> {
        Err(SourceError::Missing)
    }
}

/// Sets an option to `value` in place, on the line that sets it (an empty
/// `ssl-key=`, or `require_secure_transport = OFF`): the name, its spacing
/// and a trailing comment stay as written.
pub(super) fn set_in_place(
    b: &mut Builder,
    host: &HostFacts,
    empty: &OptionValue,
    value: &str,
    why: &str,
) -> Result<(), Refusal> {
    let text = b.text(host, &empty.file)?;
    let lines = split_lines(&text);
    let idx = usize::try_from(empty.line).unwrap_or(0).wrapping_sub(1);
    let Some(line) = lines.get(idx).filter(|l| {
        bare(l)
            .to_ascii_lowercase()
            .contains(&empty.spelled.to_ascii_lowercase())
    }) else {
        return Err(Refusal::CannotEdit {
            host: host.name.clone(),
            path: empty.file.clone(),
            reason: format!("line {} no longer sets {}", empty.line, empty.spelled),
            instead: "rescan the host and plan again".into(),
        });
    };
    let body = bare(line);
    let ending = &line[body.len()..];
    let new = match body.find('=') {
        Some(eq) => {
            let space = if body[..eq].ends_with(' ') { " " } else { "" };
            // ` # why it is off`: kept after the new value.
            let comment = body[eq + 1..]
                .find(" #")
                .or_else(|| body[eq + 1..].find("\t#"))
                .map_or("", |c| &body[eq + 1 + c..]);
            format!("{}{space}{value}{comment}{ending}", &body[..=eq])
        }
        None => format!("{body} = {value}{ending}"),
    };
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out[idx] = new;
    let new_text = out.concat();
    verify_options(host, &empty.file, &new_text, &[(&empty.spelled, value)])?;
    b.edit(
        host,
        &empty.file,
        new_text,
        format!("set {} in [{}] ({why})", empty.spelled, empty.group),
    );
    Ok(())
}

/// Adds the `names` options, set to their `values`, as new lines in the
/// style of the file; where, and the warning for a file configuration
/// management owns, are in the body.
pub(super) fn insert_options(
    b: &mut Builder,
    host: &HostFacts,
    opts: &OptionSet,
    names: &[&str],
    values: &BTreeMap<&str, String>,
    label: &str,
) -> Result<(), Refusal> {
    // Beside the TLS options mysqld reads last, else at the end of the last
    // [mysqld] group of the last option file that has one.
    let neighbour = TLS_NEIGHBOURS
        .iter()
        .filter_map(|n| opts.get(n))
        .max_by_key(|o| host.option_read_order(o));
    let (path, after, group) = match neighbour {
        Some(o) => {
            let text = b.text(host, &o.file)?;
            let lines = split_lines(&text);
            let idx = usize::try_from(o.line).unwrap_or(0).wrapping_sub(1);
            let holds = lines.get(idx).is_some_and(|l| {
                bare(l)
                    .to_ascii_lowercase()
                    .contains(&o.spelled.to_ascii_lowercase())
            });
            if !holds {
                return Err(Refusal::CannotEdit {
                    host: host.name.clone(),
                    path: o.file.clone(),
                    reason: format!("line {} no longer sets {}", o.line, o.spelled),
                    instead: "rescan the host and plan again".into(),
                });
            }
            (o.file.clone(), idx, o.group.clone())
        }
        None => {
            let files: Vec<String> = if host.option_files.is_empty() {
                host.layout.option_files.clone()
            } else {
                host.option_files.clone()
            };
            let mut unread = None;
            let mut found = None;
            for f in files.iter().rev() {
                match b.text(host, f) {
                    Ok(text) => {
                        if let Some(i) = end_of_mysqld(&split_lines(&text)) {
                            found = Some((f.clone(), i, "mysqld".to_string()));
                            break;
                        }
                    }
                    Err(r) => {
                        unread.get_or_insert(r);
                    }
                }
            }
            match (found, unread) {
                (Some(f), _) => f,
                (None, Some(r)) => return Err(r),
                (None, None) => {
                    return Err(Refusal::CannotEdit {
                        host: host.name.clone(),
                        path: files.join(", "),
                        reason: "no option file mysqld reads has a [mysqld] group".into(),
                        instead: "add a [mysqld] group with ssl-ca, ssl-cert and ssl-key by hand (`sslaudit explain SSL002`)".into(),
                    });
                }
            }
        }
    };
    let text = b.text(host, &path)?;
    let lines = split_lines(&text);
    let nl = line_ending(&text);
    let like = lines
        .get(after)
        .copied()
        .filter(|l| is_option_line(l) && l.contains('='))
        .or_else(|| {
            lines[..after.min(lines.len())]
                .iter()
                .rev()
                .copied()
                .find(|l| is_option_line(l) && l.contains('='))
        });
    let mut added = String::new();
    // A file whose last line has no newline gets one before ours.
    let last_unterminated = lines.get(after).is_some_and(|l| !l.ends_with('\n'));
    if last_unterminated {
        added.push_str(nl);
    }
    added.push_str(&format!(
        "{}# {label} (added by sslaudit run {}){nl}",
        like.map(indent_of).unwrap_or(""),
        b.meta.run_id
    ));
    let mut expect = Vec::new();
    for n in names {
        let spelled = n.replace('_', "-");
        added.push_str(&option_line(like, &spelled, &values[n]));
        added.push_str(nl);
        expect.push((spelled, values[n].clone()));
    }
    let mut out: Vec<&str> = lines.clone();
    let insert_at = (after + 1).min(out.len());
    out.insert(insert_at, &added);
    let new_text = out.concat();
    let expect_ref: Vec<(&str, &str)> = expect
        .iter()
        .map(|(a, v)| (a.as_str(), v.as_str()))
        .collect();
    verify_options(host, &path, &new_text, &expect_ref)?;
    let shown: Vec<String> = expect.iter().map(|(a, _)| a.clone()).collect();
    b.edit(
        host,
        &path,
        new_text,
        format!(
            "add {} to [{group}] of {path} naming the server keys in the data directory (SSL002)",
            shown.join(", ")
        ),
    );
    if let Some(note) = managed_note(&text) {
        b.display(
            &host.name,
            format!(
                "{path} says \"{note}\": configuration management may revert this edit at its next run; put the same lines in its template (for the seed's stack, a custom chef recipe or a file under /etc/mysql/conf.d/)"
            ),
            format!("[{group}]{nl}{}", added.trim_start_matches(['\r', '\n'])),
        );
    }
    Ok(())
}

/// The "generated by" line of a file managed by configuration management.
fn managed_note(text: &str) -> Option<String> {
    text.lines().take(5).find_map(|l| {
        let lower = l.to_ascii_lowercase();
        (l.trim_start().starts_with('#')
            && (lower.contains("generated by chef")
                || lower.contains("managed by")
                || lower.contains("will be overwritten")))
        .then(|| l.trim_start_matches(['#', ' ']).trim().to_string())
    })
}

/// The edited file, parsed alone as mysqld would, sets each option to the
/// value in a group mysqld reads.
fn verify_options(
    host: &HostFacts,
    path: &str,
    text: &str,
    expect: &[(&str, &str)],
) -> Result<(), Refusal> {
    let parsed = parse_option_files(&[path.to_string()], &OneFile { path, text });
    let version = server_version(host);
    let set = effective(&parsed.entries, &server_groups(version.as_ref()));
    for (name, value) in expect {
        let got = set.get(name).map(|o| o.as_str().to_string());
        if got.as_deref() != Some(unquote_value(value)) {
            return Err(Refusal::CannotEdit {
                host: host.name.clone(),
                path: path.to_string(),
                reason: format!("the edited file would set {name} to {got:?}, not {value}"),
                instead: "set it by hand in the file mysqld reads, then rescan".into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_lines_follow_the_file_style() {
        assert_eq!(option_line(None, "ssl-ca", "/a"), "ssl-ca = /a");
        assert_eq!(
            option_line(Some("ssl-cert=/x\n"), "ssl-ca", "/a"),
            "ssl-ca=/a"
        );
        assert_eq!(
            option_line(Some("  port = 1\n"), "ssl-ca", "/a"),
            "  ssl-ca = /a"
        );
        assert_eq!(
            option_line(
                Some("port                           = 3306"),
                "ssl-cert",
                "/a"
            ),
            "ssl-cert                       = /a"
        );
        assert_eq!(option_value("/a b/#c"), Some("\"/a b/#c\"".into()));
        assert_eq!(option_value("/a\"b"), None);
        assert_eq!(option_value("/a\\b"), None);
    }
}
