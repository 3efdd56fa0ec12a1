//! Property test: option files rendered from generated groups and options
//! (any spacing, quoting, escapes, comments, `loose-` prefixes, a
//! `!includedir` of several files) parse back to exactly those options, in
//! order, with their files and lines, and nothing reported as a problem.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::{BTreeMap, BTreeSet};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use sslaudit_rules::facts::normalize_option_name;
use sslaudit_rules::parse::mycnf::{self, OptionEntry};
use sslaudit_rules::parse::{FileSource, SourceError};

struct MemFs(BTreeMap<String, Vec<u8>>);

impl FileSource for MemFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.0.get(path).cloned().ok_or(SourceError::Missing)
    }

    fn list_dir(&self, path: &str) -> Result<Vec<String>, SourceError> {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let names: BTreeSet<String> = self
            .0
            .keys()
            .filter_map(|p| p.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        if names.is_empty() {
            return Err(SourceError::Missing);
        }
        Ok(names.into_iter().collect())
    }
}

#[derive(Debug, Clone)]
struct Opt {
    spelled: String,
    value: Option<String>,
    indent: &'static str,
    sep: &'static str,
    quote: bool,
    comment: bool,
    /// Blank or comment lines before the option.
    filler: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct Group {
    name: String,
    pad: &'static str,
    opts: Vec<Opt>,
}

fn opt() -> impl Strategy<Value = Opt> {
    (
        (option::of(Just("loose-")), "[a-zA-Z][a-zA-Z0-9_-]{0,15}"),
        option::of("[ -~\t\n\r\u{8}\u{b}\u{c}éß€]{0,16}"),
        prop::sample::select(vec!["", "  ", "\t"]),
        prop::sample::select(vec!["=", " = ", "= ", " =", "\t=\t"]),
        any::<bool>(),
        any::<bool>(),
        vec(
            prop::sample::select(vec!["", "# a comment", "; another", "   "]),
            0..2,
        ),
    )
        .prop_map(
            |((loose, name), value, indent, sep, quote, comment, filler)| Opt {
                spelled: format!("{}{name}", loose.unwrap_or("")),
                value,
                indent,
                sep,
                quote,
                comment,
                filler,
            },
        )
}

fn group() -> impl Strategy<Value = Group> {
    (
        "[a-zA-Z][a-zA-Z0-9_.-]{0,12}",
        prop::sample::select(vec!["", " ", "  "]),
        vec(opt(), 0..6),
    )
        .prop_map(|(name, pad, opts)| Group { name, pad, opts })
}

/// Written as is only when nothing in it means something to the parser.
fn plain(v: &str) -> bool {
    !v.is_empty()
        && !v.starts_with(|c: char| c.is_ascii_whitespace() || c == '\u{b}')
        && !v.ends_with(|c: char| c.is_ascii_whitespace() || c == '\u{b}')
        && !v.contains(['#', '"', '\'', '\\', '\n', '\r', '\u{8}'])
}

fn quoted(v: &str) -> String {
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_secret(name: &str) -> bool {
    name == "password"
        || name.ends_with("_password")
        || name.ends_with("passwd")
        || name.contains("passphrase")
        || name == "wsrep_sst_auth"
}

/// Renders one file, appending what the parser must find to `want`.
fn render(path: &str, groups: &[Group], tail: &str, want: &mut Vec<OptionEntry>) -> Vec<u8> {
    let mut lines: Vec<String> = vec!["# generated".to_string()];
    for g in groups {
        lines.push(format!("[{pad}{}{pad}]", g.name, pad = g.pad));
        for o in &g.opts {
            lines.extend(o.filler.iter().map(|f| f.to_string()));
            let mut line = format!("{}{}", o.indent, o.spelled);
            if let Some(v) = &o.value {
                line.push_str(o.sep);
                if plain(v) && !o.quote {
                    line.push_str(v);
                } else {
                    line.push_str(&quoted(v));
                }
            }
            if o.comment {
                line.push_str(" # trailing comment");
            }
            lines.push(line);
            let name = normalize_option_name(&o.spelled);
            let value = match &o.value {
                Some(_) if is_secret(&name) => Some(mycnf::REDACTED.to_string()),
                Some(v) if plain(v) && !o.quote => Some(v.trim().to_string()),
                v => v.clone(),
            };
            want.push(OptionEntry {
                group: g.name.to_ascii_lowercase(),
                name,
                spelled: o.spelled.clone(),
                value,
                file: path.to_string(),
                line: u32::try_from(lines.len()).unwrap(),
            });
        }
    }
    if !tail.is_empty() {
        lines.push(tail.to_string());
    }
    (lines.join("\n") + "\n").into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_of_render_is_identity(
        root in vec(group(), 0..4),
        included in vec(vec(group(), 0..3), 0..4),
    ) {
        let mut want = Vec::new();
        let mut files = BTreeMap::new();
        let root_path = "/etc/mysql/my.cnf";
        let tail = if included.is_empty() { "" } else { "!includedir /etc/mysql/conf.d" };
        files.insert(root_path.to_string(), render(root_path, &root, tail, &mut want));
        for (i, groups) in included.iter().enumerate() {
            let path = format!("/etc/mysql/conf.d/{i:02}.cnf");
            files.insert(path.clone(), render(&path, groups, "", &mut want));
        }
        let fs = MemFs(files);
        let parsed = mycnf::parse_option_files(&[root_path.to_string()], &fs);
        prop_assert_eq!(&parsed.problems, &vec![]);
        prop_assert_eq!(&parsed.entries, &want);
        prop_assert_eq!(parsed.files_read.len(), 1 + included.len());

        // Effective options: the last line of any wanted group wins.
        let groups: Vec<String> = want.iter().map(|e| e.group.clone()).collect();
        let set = mycnf::effective(&parsed.entries, &groups);
        let mut last: BTreeMap<&str, &OptionEntry> = BTreeMap::new();
        for e in &want {
            last.insert(e.name.as_str(), e);
        }
        prop_assert_eq!(set.options.len(), last.len());
        for (name, e) in last {
            let v = &set.options[name];
            prop_assert_eq!((&v.value, &v.file, v.line), (&e.value, &e.file, e.line));
        }
    }
}
