//! Tests of `mycnf.rs`, kept apart so that the parser is a file one
//! can read whole.

use std::path::{Path, PathBuf};

use super::*;
use crate::testkit::MemFs;

#[test]
fn unquote_value_trims_and_strips_one_pair_of_quotes() {
    assert_eq!(unquote_value(" '/x' "), "/x");
    assert_eq!(unquote_value("\" /x \""), "/x");
    assert_eq!(unquote_value("'/x\""), "'/x\"");
    assert_eq!(unquote_value("\"'/x'\""), "'/x'");
    assert_eq!(unquote_value(r"a\tb"), r"a\tb");
    assert_eq!(unquote_value(""), "");
}
use crate::facts::Flavor;

/// Loads a fixture tree: `DIR/etc/mysql/my.cnf` becomes `/etc/mysql/my.cnf`.
fn from_fixture(name: &str) -> MemFs {
    fn walk(root: &Path, dir: &Path, fs: &mut MemFs) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("fixture directory is readable")
            .map(|e| e.expect("fixture entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, fs);
            } else {
                let rel = path.strip_prefix(root).expect("under the root");
                let key = format!("/{}", rel.to_string_lossy());
                fs.files
                    .insert(key, std::fs::read(&path).expect("fixture file"));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/parsers/mycnf")
        .join(name);
    let mut fs = MemFs::default();
    walk(&root, &root, &mut fs);
    assert!(!fs.files.is_empty(), "fixture {name} is empty");
    fs
}

fn roots(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|s| s.to_string()).collect()
}

fn version(flavor: Flavor, major: u32, minor: u32, patch: u32) -> MysqlVersion {
    MysqlVersion {
        flavor,
        major,
        minor,
        patch,
        raw: format!("{major}.{minor}.{patch}"),
    }
}

fn parse_one(text: &str) -> ParsedOptions {
    let fs = MemFs::with(&[("/etc/my.cnf", text)]);
    parse_option_files(&roots(&["/etc/my.cnf"]), &fs)
}

fn value_of(set: &OptionSet, name: &str) -> Option<String> {
    set.get(name).and_then(|v| v.value.clone())
}

fn messages(parsed: &ParsedOptions) -> Vec<String> {
    parsed.problems.iter().map(|p| p.message.clone()).collect()
}

const DEBIAN_ROOTS: &[&str] = &["/etc/my.cnf", "/etc/mysql/my.cnf", "/root/.my.cnf"];

#[test]
fn debian12_mariadb_layout() {
    let fs = from_fixture("debian12-mariadb");
    let parsed = parse_option_files(&roots(DEBIAN_ROOTS), &fs);
    assert_eq!(parsed.problems, vec![], "a stock layout has no problems");
    assert_eq!(
        parsed.files_read,
        vec![
            "/etc/mysql/my.cnf",
            "/etc/mysql/conf.d/mysql.cnf",
            "/etc/mysql/conf.d/mysqldump.cnf",
            "/etc/mysql/mariadb.conf.d/50-client.cnf",
            "/etc/mysql/mariadb.conf.d/50-mysql-clients.cnf",
            "/etc/mysql/mariadb.conf.d/50-mysqld_safe.cnf",
            "/etc/mysql/mariadb.conf.d/50-server.cnf",
            "/etc/mysql/mariadb.conf.d/60-galera.cnf",
            "/etc/mysql/mariadb.conf.d/99-ssl-local.cnf",
        ]
    );

    let v = version(Flavor::Mariadb, 10, 11, 6);
    let server = effective(&parsed.entries, &server_groups(Some(&v)));
    let ca = server.get("ssl-ca").expect("ssl-ca is set");
    assert_eq!(ca.as_str(), "/etc/mysql/ssl/ca.pem");
    assert_eq!(ca.spelled, "ssl-ca");
    assert_eq!(ca.group, "mysqld");
    assert_eq!(ca.file, "/etc/mysql/mariadb.conf.d/50-server.cnf");
    assert_eq!(ca.line, 69);
    // `ssl_cert = "..."` in 50-server.cnf, overridden by 99-ssl-local.cnf.
    let cert = server.get("ssl_cert").expect("ssl_cert is set");
    assert_eq!(cert.as_str(), "/etc/mysql/ssl/server-cert-2025.pem");
    assert_eq!(cert.spelled, "ssl-cert");
    assert_eq!(cert.group, "mariadb");
    assert_eq!(cert.file, "/etc/mysql/mariadb.conf.d/99-ssl-local.cnf");
    assert_eq!(cert.line, 6);
    // A trailing comment after a quoted value with a `#` inside it.
    assert_eq!(
        value_of(&server, "ssl_key"),
        Some("/etc/mysql/ssl/server#1-key.pem".to_string())
    );
    assert_eq!(
        value_of(&server, "require_secure_transport"),
        Some("ON".to_string())
    );
    assert_eq!(
        value_of(&server, "tls_version"),
        Some("TLSv1.2,TLSv1.3".to_string())
    );
    // [client-server] in my.cnf reaches the server too.
    assert_eq!(
        value_of(&server, "socket"),
        Some("/run/mysqld/mysqld.sock".to_string())
    );
    // Commented-out options are not options.
    assert!(server.get("skip_name_resolve").is_none());
    assert!(server.get("log_bin").is_none());
    // [mysqld_safe] and [embedded] are not read by the server.
    assert!(server.get("nice").is_none());
    // The stale dpkg copy and the README in the directory are not read.
    assert_ne!(
        value_of(&server, "ssl_ca"),
        Some("/etc/mysql/old-ca.pem".to_string())
    );

    let client = effective(&parsed.entries, &client_groups(Some(&v)));
    assert_eq!(
        value_of(&client, "default-character-set"),
        Some("utf8mb4".to_string())
    );
    assert_eq!(
        value_of(&client, "ssl-verify-server-cert"),
        Some("on".to_string())
    );
    assert!(client.get("ssl_ca").is_none(), "server options stay out");
}

#[test]
fn debian12_mariadb_ignores_non_cnf_files_in_includedir() {
    let fs = from_fixture("debian12-mariadb");
    // The fixture has them, so the test would pass for the wrong reason
    // if they were absent.
    assert!(
        fs.files
            .contains_key("/etc/mysql/mariadb.conf.d/50-server.cnf.dpkg-old")
    );
    assert!(fs.files.contains_key("/etc/mysql/conf.d/README"));
    let parsed = parse_option_files(&roots(DEBIAN_ROOTS), &fs);
    assert!(
        parsed
            .files_read
            .iter()
            .all(|f| f.ends_with(".cnf") && !f.contains("dpkg-old"))
    );
    assert!(
        parsed
            .entries
            .iter()
            .all(|e| e.value.as_deref() != Some("/etc/mysql/old-ca.pem"))
    );
}

#[test]
fn engineyard_mysql56_my_cnf() {
    let fs = from_fixture("engineyard-mysql56");
    let parsed = parse_option_files(&roots(&["/etc/my.cnf", "/etc/mysql/my.cnf"]), &fs);
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(
        parsed.files_read,
        vec!["/etc/mysql/my.cnf", "/etc/mysql/conf.d/custom.cnf"]
    );
    let v56 = version(Flavor::Mysql, 5, 6, 21);
    let server = effective(&parsed.entries, &server_groups(Some(&v56)));
    for (name, path, line) in [
        ("ssl-ca", "/db/mysql/5.6/data/root.crt", 59),
        ("ssl-cert", "/db/mysql/5.6/data/server.crt", 60),
        ("ssl-key", "/db/mysql/5.6/data/server.key", 61),
    ] {
        let v = server.get(name).expect("ssl option is set");
        assert_eq!(v.as_str(), path);
        assert_eq!(v.file, "/etc/mysql/my.cnf");
        assert_eq!(v.line, line, "{name}");
        assert_eq!(v.group, "mysqld");
    }
    // Overridden in conf.d/custom.cnf, read after my.cnf's own lines.
    let max = server.get("max_connections").expect("set");
    assert_eq!(max.as_str(), "500");
    assert_eq!(max.file, "/etc/mysql/conf.d/custom.cnf");
    // A bare flag.
    let flag = server.get("skip-name-resolve").expect("set");
    assert_eq!(flag.value, None);
    assert_eq!(flag.as_str(), "");
    // [mysqld-5.6] applies to 5.6 only; [mysqld-5.7] does not.
    assert_eq!(
        value_of(&server, "ssl_cipher"),
        Some("DHE-RSA-AES256-SHA:AES128-SHA".to_string())
    );
    assert!(server.get("tls_version").is_none());

    let v57 = version(Flavor::Mysql, 5, 7, 44);
    let server57 = effective(&parsed.entries, &server_groups(Some(&v57)));
    assert!(server57.get("ssl_cipher").is_none());
    assert_eq!(
        value_of(&server57, "tls_version"),
        Some("TLSv1.2".to_string())
    );
    // Unknown version: no versioned group at all.
    let unknown = effective(&parsed.entries, &server_groups(None));
    assert!(unknown.get("ssl_cipher").is_none());
    assert!(unknown.get("tls_version").is_none());
    assert!(unknown.get("ssl_ca").is_some());

    let client = effective(&parsed.entries, &client_groups(Some(&v56)));
    assert_eq!(value_of(&client, "port"), Some("3306".to_string()));
    // The password is never kept, but that one is set is.
    assert_eq!(value_of(&client, "password"), Some(REDACTED.to_string()));
    assert!(
        parsed
            .entries
            .iter()
            .all(|e| e.value.as_deref() != Some("s3cr3t#pass"))
    );
}

#[test]
fn last_value_wins_across_files_and_groups() {
    let fs = MemFs::with(&[
        (
            "/etc/mysql/my.cnf",
            "[mysqld]\nssl-ca=/a.pem\n!include /etc/mysql/extra.cnf\n[server]\nssl_ca=/c.pem\n",
        ),
        ("/etc/mysql/extra.cnf", "[mysqld]\nSSL-CA = /b.pem\n"),
        ("/root/.my.cnf", "[client]\nssl-ca=/client.pem\n"),
    ]);
    let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf", "/root/.my.cnf"]), &fs);
    let entries: Vec<(&str, u32, Option<&str>)> = parsed
        .entries
        .iter()
        .map(|e| (e.file.as_str(), e.line, e.value.as_deref()))
        .collect();
    assert_eq!(
        entries,
        vec![
            ("/etc/mysql/my.cnf", 2, Some("/a.pem")),
            ("/etc/mysql/extra.cnf", 2, Some("/b.pem")),
            ("/etc/mysql/my.cnf", 5, Some("/c.pem")),
            ("/root/.my.cnf", 2, Some("/client.pem")),
        ]
    );
    let server = effective(&parsed.entries, &roots(&["mysqld"]));
    let ca = server.get("ssl_ca").expect("set");
    assert_eq!((ca.as_str(), ca.spelled.as_str()), ("/b.pem", "SSL-CA"));
    assert_eq!(ca.file, "/etc/mysql/extra.cnf");
    let both = effective(&parsed.entries, &roots(&["MYSQLD", "server"]));
    assert_eq!(value_of(&both, "ssl-ca"), Some("/c.pem".to_string()));
}

#[test]
fn group_names_are_trimmed_and_case_insensitive() {
    let parsed = parse_one("[ MySQLd ] # the server\nport=3306\n");
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(parsed.entries[0].group, "mysqld");
    let set = effective(&parsed.entries, &roots(&["mysqld"]));
    assert_eq!(value_of(&set, "port"), Some("3306".to_string()));
}

#[test]
fn values_quotes_escapes_and_comments() {
    let text = concat!(
        "[client]\n",
        "a = plain value   \n",
        "b=\"double quoted # not a comment\"  # comment\n",
        "c='single \\'quoted\\''\n",
        "d=tab\\there\\snew\\nline\\\\back\n",
        "e=C:\\Program Files\\x\n",
        "f=unquoted#comment\n",
        "g=\"\"\n",
        "h=\n",
        "i=\"\n",
        "j=trailing\\\n",
        "k=\"mismatched'\n",
        "l='bell\\b\\rcr'\n",
        "m='say \\\"hi\\\"'\n",
        "n=\"esc \\\" # still quoted\" #gone\n",
        "o = a=b=c\n",
    );
    let parsed = parse_one(text);
    assert_eq!(parsed.problems, vec![]);
    let set = effective(&parsed.entries, &roots(&["client"]));
    let expect = [
        ("a", "plain value"),
        ("b", "double quoted # not a comment"),
        ("c", "single 'quoted'"),
        ("d", "tab\there new\nline\\back"),
        ("e", "C:\\Program Files\\x"),
        ("f", "unquoted"),
        ("g", ""),
        ("h", ""),
        ("i", "\""),
        ("j", "trailing\\"),
        ("k", "\"mismatched'"),
        ("l", "bell\u{8}\rcr"),
        ("m", "say \"hi\""),
        ("n", "esc \" # still quoted"),
        ("o", "a=b=c"),
    ];
    for (name, value) in expect {
        assert_eq!(
            value_of(&set, name).as_deref(),
            Some(value),
            "option {name}"
        );
    }
}

#[test]
fn names_are_normalized_and_spelling_kept() {
    let parsed =
        parse_one("[mysqld]\nloose-ssl-ca=/x.pem\nSkip_SSL # off\n  ssl_Cert\t=\t/y.pem\n");
    let got: Vec<(&str, &str, Option<&str>)> = parsed
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.spelled.as_str(), e.value.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("ssl_ca", "loose-ssl-ca", Some("/x.pem")),
            ("skip_ssl", "Skip_SSL", None),
            ("ssl_cert", "ssl_Cert", Some("/y.pem")),
        ]
    );
}

#[test]
fn comments_blank_lines_crlf_and_bom() {
    let text = "\u{feff}# top comment\r\n; semicolon comment\r\n\r\n   \t\r\n[mysqld]\r\n  # indented comment\r\nssl-ca = /etc/ca.pem\r\nskip-ssl\r\n";
    let parsed = parse_one(text);
    assert_eq!(parsed.problems, vec![]);
    let got: Vec<(&str, Option<&str>, u32)> = parsed
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_deref(), e.line))
        .collect();
    assert_eq!(
        got,
        vec![("ssl_ca", Some("/etc/ca.pem"), 7), ("skip_ssl", None, 8)]
    );
}

#[test]
fn option_before_any_group_is_a_problem_per_file() {
    let fs = MemFs::with(&[
        (
            "/etc/mysql/my.cnf",
            "ssl-ca=/early.pem\n[mysqld]\n!include /etc/mysql/inc.cnf\nport=3306\n",
        ),
        // Each file starts with no group, even when included from inside one.
        (
            "/etc/mysql/inc.cnf",
            "# hello\nssl-key=/k.pem\n[mysqld]\nssl-cert=/c.pem\n",
        ),
    ]);
    let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
    let problems: Vec<(Option<&str>, Option<u32>, &str)> = parsed
        .problems
        .iter()
        .map(|p| (p.path.as_deref(), p.line, p.message.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (
                Some("/etc/mysql/my.cnf"),
                Some(1),
                "option ssl-ca appears before any [group] header and is ignored (mysqld refuses such a file)"
            ),
            (
                Some("/etc/mysql/inc.cnf"),
                Some(2),
                "option ssl-key appears before any [group] header and is ignored (mysqld refuses such a file)"
            ),
        ]
    );
    assert!(parsed.problems.iter().all(|p| p.what == "option file"));
    let set = effective(&parsed.entries, &roots(&["mysqld"]));
    assert!(set.get("ssl_ca").is_none());
    assert!(set.get("ssl_key").is_none());
    assert_eq!(value_of(&set, "ssl_cert"), Some("/c.pem".to_string()));
    // The including file's group resumes after the include.
    assert_eq!(set.get("port").map(|v| v.group.as_str()), Some("mysqld"));
}

#[test]
fn malformed_lines_are_problems_and_parsing_goes_on() {
    let text = concat!(
        "[mysqld]\n",
        "=hunter2\n",
        "ssl ca = /x.pem\n",
        "port=3306\n",
        "[unterminated\n",
        "ssl-ca=/lost.pem\n",
        "[]\n",
        "ssl-ca=/lost-too.pem\n",
        "[mysqld]\n",
        "ssl-cert=/ok.pem\n",
        "!frobnicate /x\n",
    );
    let parsed = parse_one(text);
    let problems: Vec<(Option<u32>, &str)> = parsed
        .problems
        .iter()
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (Some(2), "option line without a name before '='"),
            (
                Some(3),
                "malformed option name \"ssl ca\" (contains whitespace)"
            ),
            (
                Some(5),
                "unterminated group header [unterminated, options up to the next header are ignored"
            ),
            (
                Some(7),
                "empty group name [], options up to the next header are ignored"
            ),
            (Some(11), "unknown directive !frobnicate /x ignored"),
        ]
    );
    assert!(!format!("{:?}", parsed.problems).contains("hunter2"));
    let set = effective(&parsed.entries, &roots(&["mysqld"]));
    let names: Vec<&str> = set.options.keys().map(String::as_str).collect();
    assert_eq!(names, vec!["port", "ssl_cert"]);
}

#[test]
fn option_files_are_redacted_line_for_line() {
    let text = "\u{feff}[client]\npassword = \"p#ss word\" # old: x\npassword\n\
                #password=old\n; pass = y\n[mysqld]\nloose-ssl-key-password=k\n\
                wsrep_sst_auth=root:pw\nssl-ca=/etc/ca.pem # password: z\n\
                [mysqld_safe]\nmalloc-lib = x\nexec = mysqladmin --password=q -pw2 ping\r\n\
                !include /etc/mysql/secret.cnf\ndefault_password_lifetime = 90\n";
    let out = redact_option_file(text).unwrap();
    assert_eq!(
        out,
        "\u{feff}[client]\npassword = <redacted> # old: x\npassword\n\
         #password=<redacted>\n; pass = <redacted>\n[mysqld]\nloose-ssl-key-password=<redacted>\n\
         wsrep_sst_auth=<redacted>\nssl-ca=/etc/ca.pem # password: <redacted>\n\
         [mysqld_safe]\nmalloc-lib = x\nexec = mysqladmin --password=<redacted> -p<redacted> ping\r\n\
         !include /etc/mysql/secret.cnf\ndefault_password_lifetime = 90\n"
    );
    assert_eq!(out.lines().count(), text.lines().count());
    for secret in ["p#ss", "=old", "k\n", "root:pw", "=q", "w2", "= y"] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }
    assert_eq!(
        redact_option_file("[client\npassword=x\n"),
        Err((1, "unterminated group header".to_string()))
    );
    assert!(redact_option_file("[client]\npass word=x\n").is_err());
}

#[test]
fn a_redaction_never_moves_where_a_comment_starts() {
    // Found by the fuzzer: a `-p` word that swallowed an odd number of
    // quotes let the next `#` fall inside a quote, so a second pass read
    // the comment as value and redacted more. The whole value goes instead.
    let line = "opts = x''' # -pab'''# c''\n";
    let once = redact_option_file(line).unwrap();
    assert_eq!(once, "opts = <redacted># c''\n");
    assert_eq!(redact_option_file(&once).unwrap(), once);
    // Balanced, the word alone goes.
    assert_eq!(
        redact_option_file("opts = mysql -pab # c\n").unwrap(),
        "opts = mysql -p<redacted> # c\n"
    );
}

#[test]
fn secrets_are_redacted() {
    let parsed = parse_one(
        "[client]\npassword = \"p#ss\"\npassword\n[mysqld]\nwsrep_sst_auth=root:pw\n\
         ssl-passphrase=x\nloose-ldap-bind-password=y\ndefault_password_lifetime=90\n",
    );
    let got: Vec<(&str, Option<&str>)> = parsed
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("password", Some(REDACTED)),
            ("password", None),
            ("wsrep_sst_auth", Some(REDACTED)),
            ("ssl_passphrase", Some(REDACTED)),
            ("ldap_bind_password", Some(REDACTED)),
            ("default_password_lifetime", Some("90")),
        ]
    );
}

#[test]
fn relative_includes_resolve_against_the_including_file() {
    let fs = MemFs::with(&[
        (
            "/etc/mysql/my.cnf",
            "!include ./local/./ssl.cnf\n!includedir ../mysql/conf.d//\n",
        ),
        ("/etc/mysql/local/ssl.cnf", "[mysqld]\nssl-ca=ca.pem\n"),
        ("/etc/mysql/conf.d/b.cnf", "[mysqld]\nssl-key=b\n"),
        ("/etc/mysql/conf.d/a.cnf", "[mysqld]\nssl-key=a\n"),
    ]);
    let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(
        parsed.files_read,
        vec![
            "/etc/mysql/my.cnf",
            "/etc/mysql/local/ssl.cnf",
            "/etc/mysql/conf.d/a.cnf",
            "/etc/mysql/conf.d/b.cnf",
        ]
    );
    let set = effective(&parsed.entries, &roots(&["mysqld"]));
    assert_eq!(value_of(&set, "ssl_key"), Some("b".to_string()));
}

#[test]
fn include_cycle_is_reported_and_not_followed() {
    let fs = MemFs::with(&[
        (
            "/etc/mysql/my.cnf",
            "[mysqld]\nport=1\n!include /etc/mysql/a.cnf\n",
        ),
        (
            "/etc/mysql/a.cnf",
            "[mysqld]\nport=2\n!include /etc/mysql/b.cnf\n",
        ),
        (
            "/etc/mysql/b.cnf",
            "[mysqld]\nport=3\n!include ../mysql/my.cnf\n",
        ),
    ]);
    let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    let p = &parsed.problems[0];
    assert_eq!(p.path.as_deref(), Some("/etc/mysql/b.cnf"));
    assert_eq!(p.line, Some(3));
    assert_eq!(
        p.message,
        "include cycle /etc/mysql/my.cnf -> /etc/mysql/a.cnf -> /etc/mysql/b.cnf -> /etc/mysql/my.cnf is not followed"
    );
    assert_eq!(parsed.entries.len(), 3);
}

#[test]
fn includedir_including_itself_is_a_cycle() {
    let fs = MemFs::with(&[(
        "/etc/mysql/conf.d/loop.cnf",
        "!includedir /etc/mysql/conf.d\n[mysqld]\nport=1\n",
    )]);
    let parsed = parse_option_files(&roots(&["/etc/mysql/conf.d/loop.cnf"]), &fs);
    assert_eq!(messages(&parsed).len(), 1);
    assert!(messages(&parsed)[0].starts_with("include cycle "));
    assert_eq!(parsed.entries.len(), 1);
}

#[test]
fn depth_limit_skips_directives_like_mysqld() {
    // A chain of 12 distinct files: f0 includes f1 ... includes f11.
    let mut fs = MemFs::default();
    for i in 0..12 {
        fs.add(
            &format!("/etc/mysql/f{i}.cnf"),
            &format!("[mysqld]\nlevel={i}\n!include /etc/mysql/f{}.cnf\n", i + 1),
        );
    }
    let parsed = parse_option_files(&roots(&["/etc/mysql/f0.cnf"]), &fs);
    // Files at depth 0..=10 are read; the directive in f10 is skipped.
    assert_eq!(parsed.files_read.len(), 11);
    assert_eq!(
        messages(&parsed),
        vec![
            "!include /etc/mysql/f11.cnf skipped: maximum include depth 10 reached (as mysqld does)"
        ]
    );
    assert_eq!(
        parsed.problems[0].path.as_deref(),
        Some("/etc/mysql/f10.cnf")
    );
    let set = effective(&parsed.entries, &roots(&["mysqld"]));
    assert_eq!(value_of(&set, "level"), Some("10".to_string()));
}

#[test]
fn include_fan_out_is_bounded() {
    // Every file includes the directory holding 20 files, each of which
    // includes a second directory of 20: 400+ reads without a cycle.
    let mut fs = MemFs::default();
    fs.add("/etc/my.cnf", "!includedir /d1\n");
    for i in 0..20 {
        fs.add(&format!("/d1/{i:02}.cnf"), "!includedir /d2\n");
        fs.add(&format!("/d2/{i:02}.cnf"), "[mysqld]\nport=1\n");
    }
    let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
    // my.cnf, then 12 x (one d1 file + 20 d2 files) = 253 reads, then
    // d1/12, d2/00 and d2/01: 256.
    assert_eq!(parsed.entries.len(), 12 * 20 + 2);
    assert_eq!(
        messages(&parsed),
        vec!["more than 256 option files included, /d2/02.cnf and later ones not read"]
    );
    assert_eq!(parsed.problems[0].path.as_deref(), Some("/d1/12.cnf"));
}

#[test]
fn missing_and_unreadable_targets_are_problems() {
    let mut fs = MemFs::with(&[(
        "/etc/mysql/my.cnf",
        concat!(
            "!include /etc/mysql/nope.cnf\n",
            "!includedir /etc/mysql/nodir/\n",
            "!include /etc/mysql/secret.cnf\n",
            "!include sub/../gone.cnf\n",
            "!includedir /etc/mysql/locked\n",
            "!include\n",
            "!includedir   \n",
            "!include ~/.my.cnf\n",
            "!includedir /etc/mysql/empty\n",
            "[mysqld]\nport=3306\n",
        ),
    )]);
    fs.add("/etc/mysql/secret.cnf", "[mysqld]\nport=1\n");
    fs.unreadable.insert("/etc/mysql/secret.cnf".to_string());
    fs.unreadable.insert("/etc/mysql/locked".to_string());
    fs.dirs.insert("/etc/mysql/empty".to_string());
    let parsed = parse_option_files(&roots(&["/etc/mysql/my.cnf"]), &fs);
    let problems: Vec<(Option<&str>, Option<u32>, &str)> = parsed
        .problems
        .iter()
        .map(|p| (p.path.as_deref(), p.line, p.message.as_str()))
        .collect();
    let f = Some("/etc/mysql/my.cnf");
    assert_eq!(
        problems,
        vec![
            (
                f,
                Some(1),
                "!include /etc/mysql/nope.cnf: no such file or directory"
            ),
            (
                f,
                Some(2),
                "!includedir /etc/mysql/nodir/: no such directory (mysqld refuses this file)"
            ),
            (
                f,
                Some(3),
                "!include /etc/mysql/secret.cnf: Permission denied"
            ),
            (
                f,
                Some(4),
                "!include sub/../gone.cnf: /etc/mysql/gone.cnf: no such file or directory"
            ),
            (
                f,
                Some(5),
                "!includedir /etc/mysql/locked: cannot list the directory: Permission denied"
            ),
            (
                f,
                Some(6),
                "!include without a path (mysqld refuses this file)"
            ),
            (
                f,
                Some(7),
                "!includedir without a path (mysqld refuses this file)"
            ),
            (
                f,
                Some(8),
                "!include ~/.my.cnf: a path relative to a home directory cannot be resolved here"
            ),
        ]
    );
    assert_eq!(parsed.files_read, vec!["/etc/mysql/my.cnf"]);
    assert_eq!(parsed.entries.len(), 1);
}

#[test]
fn roots_missing_silently_unreadable_loudly() {
    let mut fs = MemFs::with(&[("/etc/mysql/my.cnf", "[mysqld]\nport=1\n")]);
    fs.add("/root/.my.cnf", "[client]\nuser=root\n");
    fs.unreadable.insert("/root/.my.cnf".to_string());
    let parsed = parse_option_files(
        &roots(&[
            "/etc/my.cnf",
            "/etc/mysql/my.cnf",
            "/root/.my.cnf",
            "relative.cnf",
        ]),
        &fs,
    );
    assert_eq!(parsed.files_read, vec!["/etc/mysql/my.cnf"]);
    let problems: Vec<(Option<&str>, &str)> = parsed
        .problems
        .iter()
        .map(|p| (p.path.as_deref(), p.message.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (
                Some("/root/.my.cnf"),
                "cannot read /root/.my.cnf: Permission denied"
            ),
            (
                Some("relative.cnf"),
                "option file path relative.cnf is not absolute"
            ),
        ]
    );
}

#[test]
fn oversized_file_is_not_parsed() {
    let mut text = String::from("[mysqld]\nssl-ca=/x.pem\n");
    while text.len() <= MAX_FILE_SIZE {
        text.push_str("# padding padding padding padding padding padding padding\n");
    }
    let parsed = parse_one(&text);
    assert!(parsed.entries.is_empty());
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.problems[0].path.as_deref(), Some("/etc/my.cnf"));
    assert!(
        parsed.problems[0]
            .message
            .ends_with("over the 1048576-byte limit for an option file; not parsed"),
        "{}",
        parsed.problems[0].message
    );
}

#[test]
fn a_file_included_many_times_is_bounded_in_all() {
    // 200 includes of the same 512 KiB file is no cycle and stays under
    // the read count, but would be 100 MiB and 10 million entries.
    let mut big = String::from("[mysqld]\n");
    while big.len() < 512 * 1024 {
        big.push_str("a=1\nb=2\nc=3\nd=4\n");
    }
    let mut fs = MemFs::with(&[("/etc/mysql/big.cnf", big.as_str())]);
    fs.add("/etc/my.cnf", &"!include /etc/mysql/big.cnf\n".repeat(200));
    // The budget is in bytes parsed, not time: a timed assertion would
    // only measure the machine (docs/BENCHMARKS.md has the speed).
    let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
    let parsed_bytes = parsed.entries.iter().filter(|e| e.name == "a").count() * 16;
    assert!(parsed_bytes <= OPTION_FILES_TOTAL_BYTES, "{parsed_bytes}");
    let budget: Vec<_> = parsed
        .problems
        .iter()
        .filter(|p| p.message.contains("in all"))
        .collect();
    assert_eq!(budget.len(), 1, "{:?}", messages(&parsed));
    assert_eq!(budget[0].path.as_deref(), Some("/etc/mysql/big.cnf"));
}

#[test]
fn loose_prefix_alone_is_not_an_option() {
    // Found by fuzzing (fuzz/corpus/mycnf/regress-loose-alone): the
    // prefix normalized away left an entry with an empty name.
    let parsed = parse_one("[mysqld]\nloose_\nloose-=1\nssl\n");
    assert_eq!(parsed.entries.len(), 1);
    assert_eq!(parsed.entries[0].name, "ssl");
    assert_eq!(
        messages(&parsed),
        vec![
            "malformed option name \"loose_\" (nothing after loose-)",
            "malformed option name \"loose-\" (nothing after loose-)",
        ]
    );
    assert_eq!(parsed.problems[1].line, Some(3));
}

#[test]
fn binary_garbage_is_refused_with_one_problem() {
    let mut garbage: Vec<u8> = (0..=255u8).cycle().take(256 * 1024).collect();
    garbage.splice(0..0, b"[mysqld]\nssl-ca=/x.pem\n".iter().copied());
    let mut fs = MemFs::default();
    fs.files.insert("/etc/my.cnf".to_string(), garbage);
    let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
    assert!(parsed.entries.is_empty());
    assert_eq!(parsed.files_read, vec!["/etc/my.cnf"]);
    assert_eq!(
        messages(&parsed),
        vec!["binary data (a NUL byte at offset 23), not an option file; not parsed"]
    );
    assert_eq!(parsed.problems[0].path.as_deref(), Some("/etc/my.cnf"));
}

#[test]
fn problems_of_one_file_are_capped() {
    // Text garbage without NULs: every line is a problem, 50 are kept.
    let text = "garbage line\n".repeat(10_000);
    let parsed = parse_one(&text);
    assert_eq!(parsed.problems.len(), OPTION_PROBLEMS_PER_FILE + 1);
    let last = parsed.problems.last().unwrap();
    assert_eq!(last.path.as_deref(), Some("/etc/my.cnf"));
    assert_eq!(
        last.message,
        "9950 more problems in this file not shown (at most 50 per file)"
    );
}

#[test]
fn invalid_utf8_does_not_stop_parsing() {
    let mut fs = MemFs::default();
    fs.files.insert(
        "/etc/my.cnf".to_string(),
        b"# caf\xe9 latin-1 comment\n[mysqld]\nssl-ca=/x.pem\n".to_vec(),
    );
    let parsed = parse_option_files(&roots(&["/etc/my.cnf"]), &fs);
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(parsed.entries[0].line, 3);
}

#[test]
fn server_groups_by_flavor_and_version() {
    assert_eq!(
        server_groups(Some(&version(Flavor::Mysql, 5, 6, 21))),
        vec!["mysqld", "server", "mysqld-5.6"]
    );
    assert_eq!(
        server_groups(Some(&version(Flavor::Percona, 8, 0, 36))),
        vec!["mysqld", "server", "mysqld-8.0"]
    );
    assert_eq!(
        server_groups(Some(&version(Flavor::Mariadb, 10, 11, 6))),
        vec![
            "mysqld",
            "server",
            "mysqld-10.11",
            "mariadb",
            "mariadb-10.11",
            "mariadbd",
            "mariadbd-10.11",
            "client-server",
            "galera"
        ]
    );
    assert_eq!(
        server_groups(Some(&version(Flavor::Mariadb, 10, 3, 39))),
        vec![
            "mysqld",
            "server",
            "mysqld-10.3",
            "mariadb",
            "mariadb-10.3",
            "client-server",
            "galera"
        ]
    );
    let unknown = server_groups(None);
    assert!(unknown.iter().all(|g| !g.contains('.')));
    assert!(unknown.contains(&"mysqld".to_string()));
    assert!(unknown.contains(&"mariadb".to_string()));
}

#[test]
fn client_groups_by_flavor_and_version() {
    assert_eq!(
        client_groups(Some(&version(Flavor::Mysql, 8, 0, 36))),
        vec!["mysql", "client"]
    );
    assert_eq!(
        client_groups(Some(&version(Flavor::Mariadb, 10, 11, 6))),
        vec![
            "mysql",
            "mariadb-client",
            "client",
            "client-server",
            "client-mariadb"
        ]
    );
    assert!(client_groups(None).contains(&"client-mariadb".to_string()));
    assert!(!client_groups(None).contains(&"mysqld".to_string()));
}
