//! The host client's `--batch` output: tab-separated rows under a header
//! line, one result set after the other, with section markers between them;
//! and the `ERROR ... at line N` lines `--force` leaves on stderr.
//!
//! Batch mode (unlike `--raw`) escapes the bytes that would break the
//! format: a tab in a value is `\t`, a newline `\n`, a backslash `\\`, a NUL
//! `\0`; SQL NULL is the word `NULL` (so a value that *is* the string
//! `NULL` reads as NULL too: no query here depends on telling them apart).
//! An empty result set prints nothing at all, not even its header.

use std::collections::BTreeMap;

use super::ResultSet;

/// Column names of the marker statement that opens every section.
pub(crate) const MARKER_HEADER: &str = "sslaudit_section\tsslaudit_name";

/// The section name of the marker that closes the batch.
pub(crate) const END_SECTION: &str = "--end--";

/// What the batch printed, by section name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// Each section whose marker was printed, with its result set (no
    /// columns when the statement printed nothing: an empty result).
    pub sections: BTreeMap<String, ResultSet>,
    /// Sections whose output could not be read, with why.
    pub malformed: BTreeMap<String, String>,
    /// The closing marker was printed: the client ran to the end.
    pub complete: bool,
}

/// Undoes batch-mode escaping. A lone trailing backslash or an unknown
/// escape is kept as written.
pub(crate) fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn field(raw: &str) -> Option<String> {
    if raw == "NULL" {
        None
    } else {
        Some(unescape(raw))
    }
}

/// The section a marker row names, when `line` is the marker row of this
/// run (its first field is the run's nonce).
fn marker_name<'a>(line: &'a str, nonce: &str) -> Option<&'a str> {
    let (first, name) = line.split_once('\t')?;
    (first == nonce).then_some(name)
}

/// Splits the client's stdout into sections. `nonce` is the random token the
/// markers of this run carry, so that no value in a result can pass for a
/// marker.
pub fn parse_batch(stdout: &str, nonce: &str) -> Batch {
    let mut batch = Batch::default();
    let lines: Vec<&str> = stdout
        .strip_suffix('\n')
        .unwrap_or(stdout)
        .split('\n')
        .collect();
    let mut current: Option<(String, ResultSet)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let marker = (line == MARKER_HEADER)
            .then(|| lines.get(i + 1).and_then(|l| marker_name(l, nonce)))
            .flatten();
        if let Some(name) = marker {
            if let Some((done, set)) = current.take() {
                batch.sections.insert(done, set);
            }
            if name == END_SECTION {
                batch.complete = true;
            } else {
                current = Some((name.to_string(), ResultSet::default()));
            }
            i += 2;
            continue;
        }
        i += 1;
        // Lines outside any section (a banner from a wrapper, or output after
        // the end marker) carry nothing the scanner asked for.
        let Some((name, set)) = current.as_mut() else {
            continue;
        };
        if batch.malformed.contains_key(name.as_str()) {
            continue;
        }
        if set.columns.is_empty() {
            set.columns = line.split('\t').map(unescape).collect();
            continue;
        }
        let row: Vec<Option<String>> = line.split('\t').map(field).collect();
        if row.len() == set.columns.len() {
            set.rows.push(row);
        } else {
            batch.malformed.insert(
                name.clone(),
                format!(
                    "a row has {} fields under a header of {} columns: {}",
                    row.len(),
                    set.columns.len(),
                    truncate(line, 120)
                ),
            );
        }
    }
    if let Some((name, set)) = current.take() {
        // The output stopped inside this section (the client was killed, or
        // the connection dropped): its rows may be incomplete.
        if batch.complete {
            batch.sections.insert(name, set);
        } else {
            batch
                .malformed
                .entry(name)
                .or_insert_with(|| "the client's output ended inside this query".to_string());
        }
    }
    batch
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// One `ERROR` line of the client's stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientError {
    /// The script line of the failing statement; `None` for errors before
    /// any statement ran (connecting, logging in).
    pub line: Option<u32>,
    /// `ERROR 1142 (42000): SELECT command denied ...`, as the TCP path
    /// reports server errors too.
    pub message: String,
}

/// Finds the client's error lines: `ERROR 1142 (42000) at line 9: msg`,
/// `ERROR 1045 (28000): msg`, `ERROR at line 3: msg` (client-side errors).
/// Other stderr lines (the failing statement `--force` echoes, warnings) are
/// skipped.
pub fn parse_errors(stderr: &str) -> Vec<ClientError> {
    stderr
        .lines()
        .filter_map(|l| parse_error_line(l.trim_end_matches('\r')))
        .collect()
}

fn parse_error_line(l: &str) -> Option<ClientError> {
    let rest = l.strip_prefix("ERROR")?;
    // `ERROR 1142 (42000) at line 9: msg` -> head `ERROR 1142 (42000)`.
    let (head, line, message) = match rest.find(" at line ") {
        Some(at) if rest[..at].find(':').is_none() => {
            let after = &rest[at + " at line ".len()..];
            let (num, msg) = after.split_once(':')?;
            // `at line 9 in file: 'x.sql'` when sourcing files: keep the number.
            let num = num.split_whitespace().next()?;
            (&rest[..at], Some(num.parse::<u32>().ok()?), msg)
        }
        _ => {
            let (head, msg) = rest.split_once(':')?;
            (head, None, msg)
        }
    };
    let head = head.trim();
    if !head.is_empty() && !head.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let message = if head.is_empty() {
        format!("ERROR: {}", message.trim())
    } else {
        format!("ERROR {head}: {}", message.trim())
    };
    Some(ClientError { line, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "n0nce";

    fn set(columns: &[&str], rows: &[&[Option<&str>]]) -> ResultSet {
        ResultSet {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect(),
        }
    }

    #[test]
    fn unescapes_batch_fields() {
        assert_eq!(unescape(r"a\tb\nc\\d\0e"), "a\tb\nc\\d\0e");
        assert_eq!(unescape(r"C:\\x\q"), r"C:\x\q");
        assert_eq!(unescape("end\\"), "end\\");
        assert_eq!(field("NULL"), None);
        assert_eq!(field(""), Some(String::new()));
    }

    /// Real output of MariaDB 10.11.19 (`mariadb --batch --force` as root
    /// over the socket, fed `client::script(CAPTURED_NONCE, 0).sql`): ssl_capath
    /// names a directory whose name holds a tab, a newline and a backslash;
    /// the replica sections are empty result sets (a primary); global_priv
    /// gives NULLs; the certificate expires on a single-digit day.
    const CAPTURED: &str = include_str!("testdata/mariadb-10.11-batch.txt");
    const CAPTURED_NONCE: &str = "b9d2c4e01f7a4c3e";

    #[test]
    fn parses_captured_mariadb_output() {
        let b = parse_batch(CAPTURED, CAPTURED_NONCE);
        assert!(b.complete);
        assert!(b.malformed.is_empty(), "{:?}", b.malformed);
        let vars = &b.sections["variables"];
        assert_eq!(vars.columns, ["Variable_name", "Value"]);
        let get = |set: &ResultSet, name: &str| {
            set.rows
                .iter()
                .find(|r| r[0].as_deref() == Some(name))
                .and_then(|r| r[1].clone())
        };
        assert_eq!(get(vars, "have_ssl").as_deref(), Some("YES"));
        assert_eq!(
            get(vars, "ssl_capath").as_deref(),
            Some("/tmp/mdb-probe/tls/ca\tdir\nwith\\bs")
        );
        assert_eq!(get(vars, "ssl_crl").as_deref(), Some(""));
        // Empty result sets: the section exists, with no header and no rows.
        assert_eq!(b.sections["all_slaves_status"], ResultSet::default());
        assert_eq!(b.sections["tls_channels"], ResultSet::default());
        let acc = &b.sections["accounts"];
        assert_eq!(acc.columns[0], "user");
        let row = |user: &str| {
            acc.rows
                .iter()
                .find(|r| r[0].as_deref() == Some(user))
                .expect("account")
        };
        assert_eq!(row("root")[3], None, "ssl_cipher NULL");
        assert_eq!(row("spec")[5].as_deref(), Some("/CN=a\tb"));
        assert_eq!(row("sslu")[6].as_deref(), Some("1"));
        assert_eq!(
            get(&b.sections["global_status"], "Ssl_server_not_after").as_deref(),
            Some("Dec  1 05:40:54 2026 GMT"),
            "the double space is kept"
        );
        assert_eq!(
            get(&b.sections["session_status"], "Ssl_version").as_deref(),
            Some("TLSv1.3")
        );
    }

    #[test]
    fn a_value_cannot_forge_a_marker() {
        let out = format!(
            "{MARKER_HEADER}\n{NONCE}\tvariables\nVariable_name\tValue\n\
             {MARKER_HEADER}\nforged\taccounts\n\
             {MARKER_HEADER}\n{NONCE}\t{END_SECTION}\n"
        );
        let b = parse_batch(&out, NONCE);
        assert!(b.complete);
        assert!(!b.sections.contains_key("accounts"));
        assert_eq!(
            b.sections["variables"],
            set(
                &["Variable_name", "Value"],
                &[
                    &[Some("sslaudit_section"), Some("sslaudit_name")],
                    &[Some("forged"), Some("accounts")]
                ]
            )
        );
    }

    #[test]
    fn output_cut_short_marks_the_open_section() {
        let out = format!(
            "{MARKER_HEADER}\n{NONCE}\tvariables\nVariable_name\tValue\nhave_ssl\tYES\n\
             {MARKER_HEADER}\n{NONCE}\taccounts\nuser\thost\nroot\tlocalhost\n"
        );
        let b = parse_batch(&out, NONCE);
        assert!(!b.complete);
        assert_eq!(b.sections["variables"].rows.len(), 1);
        assert!(!b.sections.contains_key("accounts"));
        assert!(b.malformed["accounts"].contains("ended inside"));
    }

    #[test]
    fn ragged_rows_are_reported_not_guessed() {
        let out = format!(
            "{MARKER_HEADER}\n{NONCE}\tvariables\nVariable_name\tValue\nhave_ssl\tYES\textra\n\
             {MARKER_HEADER}\n{NONCE}\t{END_SECTION}\n"
        );
        let b = parse_batch(&out, NONCE);
        assert!(b.malformed["variables"].contains("3 fields under a header of 2"));
    }

    #[test]
    fn nothing_printed_is_no_section() {
        let b = parse_batch("", NONCE);
        assert!(!b.complete);
        assert!(b.sections.is_empty());
        assert!(b.malformed.is_empty());
    }

    #[test]
    fn parses_error_lines() {
        let stderr = "--------------\nSELECT * FROM performance_schema.tls_channel_status\n\
            --------------\n\nERROR 1142 (42000) at line 9: SELECT command denied to user \
            'sslaudit'@'localhost' for table `performance_schema`.`tls_channel_status`\n\
            mysql: [Warning] something\n\
            ERROR 1064 (42000) at line 12 in file: 'q.sql': You have an error in your SQL syntax\n\
            ERROR at line 3: Unknown command '\\q'.\n";
        let e = parse_errors(stderr);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].line, Some(9));
        assert_eq!(
            e[0].message,
            "ERROR 1142 (42000): SELECT command denied to user 'sslaudit'@'localhost' \
             for table `performance_schema`.`tls_channel_status`"
        );
        assert_eq!(e[1].line, Some(12));
        assert_eq!(e[2].line, Some(3));
        assert_eq!(e[2].message, "ERROR: Unknown command '\\q'.");
        let login = parse_errors(
            "ERROR 1045 (28000): Access denied for user 'x'@'localhost' (using password: YES)\n",
        );
        assert_eq!(login[0].line, None);
        assert!(
            login[0]
                .message
                .starts_with("ERROR 1045 (28000): Access denied")
        );
        let socket = parse_errors(
            "ERROR 2002 (HY000): Can't connect to local server through socket '/x' (2)\n",
        );
        assert_eq!(socket[0].line, None);
        // A message that mentions "at line" itself is not a line number.
        let odd = parse_errors("ERROR 1064 (42000): near 'x' at line 1\n");
        assert_eq!(odd[0].line, None);
        assert!(parse_errors("ERRORS everywhere: no").is_empty());
    }
}
