use super::*;
use crate::facts::GemfileLock;
use crate::facts::Role;
use crate::parse::dbyml::parse_database_yml;
use crate::testkit::host;

const K: &str = "/home/deploy/.mysql";

fn debian_libmariadb() -> ClientLibrary {
    ClientLibrary {
        family: LibraryFamily::Libmariadb,
        package: "libmariadb3".into(),
        version: Some("1:10.11.19".into()),
        evidence: "/var/lib/dpkg/info/libmariadb3:amd64.shlibs".into(),
    }
}

/// The verdict for one environment written as YAML lines, on a host with
/// `libs` and a Gemfile.lock pinning mysql2 `mysql2` (if any).
fn judge(body: &str, mysql2: Option<&str>, libs: Vec<ClientLibrary>) -> EnvTls {
    let text = format!("production:\n  adapter: mysql2\n  host: db-master\n{body}");
    let mut yml = parse_database_yml("/app/config/database.yml", &text).unwrap();
    yml.gemfile_lock = mysql2.map(|v| GemfileLock {
        path: "/app/Gemfile.lock".into(),
        mysql2: Some(v.into()),
        ..GemfileLock::default()
    });
    let mut h = host("app-1", "production", &[Role::App]);
    h.client_libraries = libs;
    h.database_ymls.push(yml);
    client_tls(&h).remove(0)
}

fn measured(body: &str) -> (Tri, Tri, Tri) {
    let e = judge(body, Some("0.5.3"), vec![debian_libmariadb()]);
    assert_eq!(e.rows, ["mysql2-0.5.3-connector-c"], "{body}");
    (e.encrypted, e.verified, e.identity)
}

/// The real-driver matrix of scanner/tests/rails_live.rs, as the table
/// predicts it: mysql2 0.5.3 on Debian's libmariadb3 (Connector/C 3.3).
#[test]
fn the_measured_row_matches_the_matrix() {
    use Tri::{No, Yes};
    let cases: &[(&str, (Tri, Tri, Tri))] = &[
        ("", (No, No, No)),
        (&format!("  sslca: {K}/root.crt\n"), (Yes, Yes, No)),
        (
            &format!("  sslca: {K}/root.crt\n  sslverify: true\n"),
            (Yes, Yes, No),
        ),
        (
            &format!("  sslca: {K}/root.crt\n  sslverify: false\n"),
            (Yes, Yes, No),
        ),
        ("  sslverify: true\n", (Yes, No, No)),
        ("  sslverify: false\n", (Yes, No, No)),
        (
            &format!("  sslkey: {K}/mysql.key\n  sslcert: {K}/mysql.crt\n"),
            (Yes, No, No),
        ),
        ("  sslcipher: ECDHE-RSA-AES256-GCM-SHA384\n", (Yes, No, No)),
        (
            &format!("  sslca: {K}/root.crt\n  ssl_mode: disabled\n"),
            (Yes, Yes, No),
        ),
        ("  ssl_mode: disabled\n", (No, No, No)),
        ("  ssl_mode: required\n", (No, No, No)),
        ("  ssl_mode: verify_identity\n", (No, No, No)),
        (
            &format!("  sslca: {K}/root.crt\n  ssl_mode: verify_identity\n"),
            (Yes, Yes, No),
        ),
        (
            &format!("  ssl_ca: {K}/root.crt\n  ssl_mode: verify_identity\n"),
            (No, No, No),
        ),
        (
            "  sslmode: verify_identity\n  ssl_verify: true\n",
            (No, No, No),
        ),
        (
            "  sslca: <%= \"/home/deploy/\" + \".mysql/root.crt\" %>\n  sslverify: true\n",
            (Yes, Yes, No),
        ),
        (
            &format!("  url: mysql2://deploy@db-master/shop?sslca={K}/root.crt&sslverify=false\n"),
            (Yes, Yes, No),
        ),
        (
            "  url: mysql2://deploy@db-master/shop?sslverify=false\n",
            (Yes, No, No),
        ),
    ];
    for (body, want) in cases {
        assert_eq!(measured(body), *want, "{body}");
    }
}

#[test]
fn ssl_mode_is_reported_ignored_where_the_driver_ignores_it() {
    let e = judge(
        "  ssl_mode: verify_identity\n",
        Some("0.5.3"),
        vec![debian_libmariadb()],
    );
    assert_eq!(e.ignored.len(), 1);
    assert_eq!(e.ignored[0].key, "ssl_mode");
    assert_eq!(e.ignored[0].line, 4);
    let e = judge(
        "  ssl_mode: verify_identity\n",
        Some("0.5.6"),
        vec![debian_libmariadb()],
    );
    assert!(e.ignored.is_empty());
    assert_eq!(e.rows, ["mysql2-0.5.4-connector-c"]);
    assert_eq!((e.encrypted, e.verified), (Tri::Yes, Tri::Yes));
}

#[test]
fn what_candidate_drivers_disagree_on_is_unknown() {
    // No Gemfile.lock and no library: every mysql2 row is possible.
    let e = judge(&format!("  sslca: {K}/root.crt\n"), None, vec![]);
    assert_eq!(e.rows.len(), 4);
    assert_eq!(e.encrypted, Tri::Yes, "every driver encrypts with sslca");
    assert_eq!(e.verified, Tri::Unknown);
    // Both families installed: the gem's is not known.
    let mysql = ClientLibrary {
        family: LibraryFamily::Libmysqlclient,
        package: "libmysqlclient21".into(),
        version: Some("8.0.36".into()),
        evidence: "x".into(),
    };
    let e = judge("", Some("0.5.3"), vec![debian_libmariadb(), mysql.clone()]);
    assert_eq!(
        e.encrypted,
        Tri::Unknown,
        "libmysqlclient's PREFERRED encrypts"
    );
    let e = judge("  ssl_mode: required\n", Some("0.5.6"), vec![mysql]);
    assert_eq!(
        (e.encrypted, e.verified, e.identity),
        (Tri::Yes, Tri::No, Tri::No)
    );
}

#[test]
fn connector_c_3_4_and_the_socket() {
    let newer = ClientLibrary {
        version: Some("1:11.4.5".into()),
        ..debian_libmariadb()
    };
    let e = judge("  ssl_mode: disabled\n", Some("0.5.6"), vec![newer]);
    assert_eq!(e.rows, ["mysql2-connector-c-3.4"]);
    assert_eq!(
        (e.encrypted, e.verified, e.identity),
        (Tri::Yes, Tri::Yes, Tri::Yes)
    );
    assert_eq!(e.ignored.len(), 1);
    let text = "production:\n  adapter: mysql2\n  host: localhost\n  sslca: /ca.pem\n";
    let mut h = host("app-1", "production", &[Role::App]);
    h.database_ymls
        .push(parse_database_yml("/app/config/database.yml", text).unwrap());
    let e = &client_tls(&h)[0];
    assert_eq!(e.encrypted, Tri::No);
    assert_eq!(e.host, None);
}

#[test]
fn trilogy_needs_ssl_mode_and_reads_its_own_spelling() {
    let text = "production:\n  adapter: trilogy\n  host: db\n  sslca: /ca.pem\n  ssl_ca: /ca.pem\nreporting:\n  adapter: trilogy\n  host: db\n  ssl_mode: verify_ca\n  ssl_ca: /ca.pem\n";
    let mut h = host("app-1", "production", &[Role::App]);
    h.database_ymls
        .push(parse_database_yml("/app/config/database.yml", text).unwrap());
    let t = client_tls(&h);
    assert_eq!(t[0].encrypted, Tri::No, "no ssl_mode: plaintext");
    assert_eq!(
        (t[1].encrypted, t[1].verified, t[1].identity),
        (Tri::Yes, Tri::Yes, Tri::No)
    );
    assert_eq!(t[1].rows, ["rails-trilogy"]);
}

#[test]
fn a_url_only_the_process_knows_is_unknown() {
    let e = judge(
        "  url: <%= ENV['DATABASE_URL'] %>\n",
        Some("0.5.3"),
        vec![debian_libmariadb()],
    );
    assert_eq!(
        (e.encrypted, e.verified, e.identity),
        (Tri::Unknown, Tri::Unknown, Tri::Unknown)
    );
}

#[test]
fn versions_compare_numerically() {
    use std::cmp::Ordering::{Equal, Greater, Less};
    assert_eq!(cmp_versions("0.5.10", "0.5.9"), Greater);
    assert_eq!(cmp_versions("0.5.3", "0.5.4"), Less);
    assert_eq!(cmp_versions("0.5", "0.5.0"), Equal);
    assert!(in_range(Some("0.5.3"), (None, Some("0.5.4"))));
    assert!(!in_range(Some("0.5.4"), (None, Some("0.5.4"))));
    assert!(in_range(None, (Some("1"), Some("2"))));
    let lib = |v: &str| {
        library_version(&ClientLibrary {
            version: Some(v.into()),
            ..debian_libmariadb()
        })
    };
    assert_eq!(lib("1:10.11.19").as_deref(), Some("3.3"));
    assert_eq!(lib("1:11.4.2-1").as_deref(), Some("3.4"));
    assert_eq!(lib("3.4.1").as_deref(), Some("3.4.1"));
}

#[test]
fn docs_hold_the_table() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/drivers.md"))
        .expect("docs/drivers.md");
    let (_, rest) = doc
        .split_once("<!-- drivers:begin -->\n")
        .expect("docs/drivers.md has <!-- drivers:begin -->");
    let (table, _) = rest
        .split_once("<!-- drivers:end -->")
        .expect("docs/drivers.md has <!-- drivers:end -->");
    assert_eq!(
        table,
        markdown_table(),
        "docs/drivers.md's table is not the compiled one: paste `markdown_table()`'s output"
    );
}

/// `SSLAUDIT_BLESS=1 cargo test -p sslaudit-rules --lib driver` rewrites
/// docs/drivers.md's table.
#[test]
fn bless_docs() {
    if std::env::var_os("SSLAUDIT_BLESS").is_none() {
        return;
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/drivers.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (head, rest) = doc.split_once("<!-- drivers:begin -->\n").unwrap();
    let (_, tail) = rest.split_once("<!-- drivers:end -->").unwrap();
    std::fs::write(
        path,
        format!(
            "{head}<!-- drivers:begin -->\n{}<!-- drivers:end -->{tail}",
            markdown_table()
        ),
    )
    .unwrap();
}
