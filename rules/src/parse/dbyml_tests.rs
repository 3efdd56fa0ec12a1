//! Tests of `dbyml.rs`, kept apart so that the parser is a file one
//! can read whole.

use super::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../fixtures/parsers/dbyml/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> DatabaseYml {
    parse_database_yml(name, &fixture(name)).unwrap()
}

fn parse_text(text: &str) -> DatabaseYml {
    parse_database_yml("database.yml", text).unwrap()
}

fn error(text: &str) -> YmlError {
    parse_database_yml("database.yml", text).unwrap_err()
}

fn env<'a>(yml: &'a DatabaseYml, name: &str) -> &'a DbEnvironment {
    yml.environments
        .iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no environment {name} in {yml:#?}"))
}

fn val(value: &str, line: u32) -> Option<YmlValue> {
    Some(YmlValue {
        value: value.to_string(),
        line,
        erb: false,
    })
}

fn erb(value: &str, line: u32) -> Option<YmlValue> {
    Some(YmlValue {
        value: value.to_string(),
        line,
        erb: true,
    })
}

#[test]
fn realistic_rails_file() {
    let yml = parse("rails-app.yml");
    assert_eq!(yml.path, "rails-app.yml");
    let names: Vec<(&str, u32)> = yml
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.line))
        .collect();
    assert_eq!(
        names,
        [
            ("default", 6),
            ("development", 15),
            ("test", 21),
            ("production", 27)
        ]
    );

    let dev = env(&yml, "development");
    assert_eq!(dev.adapter, val("mysql2", 7), "merged from the anchor");
    assert_eq!(dev.username, val("deploy", 10));
    assert_eq!(dev.port, val("3306", 13), "an int becomes a string");
    assert_eq!(
        dev.host,
        val("localhost", 18),
        "explicit key overrides the merge"
    );
    assert_eq!(dev.database, val("shop_development", 17));

    let test = env(&yml, "test");
    assert_eq!(
        test.database,
        erb("shop_test<%= ENV['TEST_ENV_NUMBER'] %>", 23)
    );
    assert_eq!(test.socket, val("/var/run/mysqld/mysqld.sock", 24));

    let prod = env(&yml, "production");
    assert_eq!(
        prod.host,
        erb(r#"<%= ENV.fetch("DB_HOST") { "db-master" } %>"#, 12)
    );
    assert!(prod.is_mysql());
    assert_eq!(prod.database, val("shop_production", 29));
    assert_eq!(prod.sslca, val("/home/deploy/.mysql/root.crt", 30));
    assert_eq!(prod.sslkey, val("/home/deploy/.mysql/mysql.key", 31));
    assert_eq!(prod.sslcert, val("/home/deploy/.mysql/mysql.crt", 32));
    assert_eq!(prod.sslverify, val("true", 33));
    // Written inside `<% if ENV['DB_SSL_CIPHER'] %>`: may not apply.
    assert_eq!(prod.sslcipher, erb("<%= ENV['DB_SSL_CIPHER'] %>", 35));
    assert_eq!(prod.ssl_mode, erb("VERIFY_IDENTITY", 36));
    assert_eq!(prod.url, None);

    let shown = format!("{yml:?}");
    for secret in ["devsecret", "DB_PASSWORD", "password"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn multi_database_environments_are_flattened() {
    let yml = parse("multi-db.yml");
    let names: Vec<(&str, u32)> = yml
        .environments
        .iter()
        .map(|e| (e.name.as_str(), e.line))
        .collect();
    assert_eq!(
        names,
        [
            ("default", 1),
            ("production.primary", 8),
            ("production.primary_replica", 13),
            ("production.animals", 18)
        ]
    );
    let primary = env(&yml, "production.primary");
    assert_eq!(primary.adapter, val("trilogy", 2));
    assert_eq!(primary.host, val("db-master.internal", 11));
    assert_eq!(primary.ssl_mode, val("REQUIRED", 12));
    assert_eq!(
        primary.sslca,
        val("/etc/mysql/ca.pem", 5),
        "trilogy's ssl_ca"
    );
    assert_eq!(
        env(&yml, "production.primary_replica").host,
        val("db-replica.internal", 16)
    );
    let animals = env(&yml, "production.animals");
    assert_eq!(animals.adapter, val("mysql2", 19));
    assert_eq!(animals.sslca, val("/etc/mysql/animals-ca.pem", 22));
    assert!(!format!("{yml:?}").contains("redacted"));
}

#[test]
fn url_is_folded_in_and_its_password_dropped() {
    let yml = parse("url.yml");
    let prod = env(&yml, "production");
    assert_eq!(
        prod.url,
        val(
            "mysql2://deploy:<redacted>@db.internal:3307/shop?sslca=/etc/mysql/root.crt&password=<redacted>&sslverify=true",
            5
        )
    );
    // Rails merges the URL's values over the explicit keys.
    assert_eq!(prod.host, val("db.internal", 5));
    assert_eq!(prod.adapter, val("mysql2", 5));
    assert_eq!(prod.port, val("3307", 5));
    assert_eq!(prod.username, val("deploy", 5));
    assert_eq!(prod.database, val("shop", 5));
    assert_eq!(prod.sslca, val("/etc/mysql/root.crt", 5));
    assert_eq!(prod.sslverify, val("true", 5));
    assert_eq!(prod.sslcert, val("/home/deploy/.mysql/mysql.crt", 4));

    let staging = env(&yml, "staging");
    assert_eq!(staging.url, erb("<%= ENV['DATABASE_URL'] %>", 8));
    assert_eq!(staging.host, None);

    let replica = env(&yml, "replica");
    assert_eq!(
        replica.url,
        val("mysql2://repl:<redacted>@[fd00::10]/shop", 11)
    );
    assert_eq!(replica.host, val("fd00::10", 11));
    assert_eq!(replica.username, val("repl", 11));

    let shown = format!("{yml:?}");
    for secret in ["S3cr3t", "Pa55", "Query-S3cret", "REPL_PASSWORD"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn url_forms() {
    let yml = parse_text(
        "a:\n  url: mysql2://db.example/shop\n\
         b:\n  url: trilogy:///shop?socket=/tmp/mysql.sock&ssl_mode=DISABLED\n\
         c:\n  url: mysql2:shop\n\
         d:\n  url: jdbc:mysql://u:pw@h/db\n\
         e:\n  url: mysql2://u:p%40ss@h:3306\n\
         f:\n  url: mysql2:u:pw@db\n",
    );
    let a = env(&yml, "a");
    assert_eq!(
        (a.host.clone(), a.port.clone()),
        (val("db.example", 2), None)
    );
    let b = env(&yml, "b");
    assert_eq!(b.adapter, val("trilogy", 4));
    assert_eq!(b.host, None);
    assert_eq!(b.socket, val("/tmp/mysql.sock", 4));
    assert_eq!(b.ssl_mode, val("DISABLED", 4));
    assert_eq!(env(&yml, "c").database, val("shop", 6));
    let d = env(&yml, "d");
    assert_eq!(
        d.url,
        val("jdbc:mysql://u:<redacted>@h/db", 8),
        "not parsed, still redacted"
    );
    assert_eq!(d.host, None);
    let e = env(&yml, "e");
    assert_eq!(e.url, val("mysql2://u:<redacted>@h:3306", 10));
    let f = env(&yml, "f");
    assert_eq!(f.url, val("mysql2:u:<redacted>@db", 12));
    assert_eq!(
        f.database,
        val("u:<redacted>@db", 12),
        "opaque, still redacted"
    );
    let shown = format!("{yml:?}");
    assert!(!shown.contains("ss@") && !shown.contains("pw@"), "{shown}");
}

#[test]
fn oversized_file_is_refused() {
    let text = format!(
        "production:\n  adapter: mysql2\n{}",
        "# pad\n".repeat(200_000)
    );
    assert!(text.len() > MAX_INPUT_BYTES);
    let err = error(&text);
    assert_eq!(err.line, 1);
    assert_eq!(
        err.message,
        format!("file is {} bytes, over the 1048576-byte limit", text.len())
    );
}

#[test]
fn alias_bomb_is_refused() {
    let err = parse_database_yml("bomb.yml", &fixture("alias-bomb.yml")).unwrap_err();
    assert_eq!(err.path, "bomb.yml");
    assert_eq!(err.line, 7);
    assert!(err.message.contains("alias bomb"), "{err}");
}

#[test]
fn malformed_yaml_reports_the_file_line() {
    // A three-line ERB tag sits above the error: lines must not shift.
    let err = parse_database_yml("malformed.yml", &fixture("malformed.yml")).unwrap_err();
    assert_eq!(err.line, 10, "{err}");
    assert!(err.to_string().starts_with("malformed.yml:10: "), "{err}");
}

#[test]
fn top_level_must_be_a_mapping() {
    let err = parse_database_yml("list.yml", &fixture("not-a-mapping.yml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "list.yml:2: the top level is a sequence, expected a mapping of environments"
    );
    assert!(
        error("just a string\n")
            .message
            .contains("top level is a scalar")
    );
    assert_eq!(
        error("# nothing\n").message,
        "the document is empty, expected a mapping of environments"
    );
}

#[test]
fn erb_tags_of_every_kind() {
    let yml = parse_text(
        "<%# a comment\n   over two lines %>\n\
         production:\n\
         <%- if true -%>\n  host: a\n<%- else -%>\n  host: b\n<%- end -%>\n\
         \x20 port: <%= 3306 -%>\n\
         \x20 database: \"<%= ENV.fetch('DB') {\n    'shop'\n  } %>\" # three lines\n\
         \x20 username: app\n\
         \x20 sslcipher: '<%%= not a tag'\n",
    );
    let prod = env(&yml, "production");
    assert_eq!(prod.line, 3);
    // Both branches are visible; Psych keeps the last, and it is flagged.
    assert_eq!(prod.host, erb("b", 7));
    assert_eq!(prod.port, erb("<%= 3306 -%>", 9));
    assert_eq!(
        prod.database,
        erb("<%= ENV.fetch('DB') {\n    'shop'\n  } %>", 10)
    );
    assert_eq!(
        prod.username,
        val("app", 13),
        "line kept after a multi-line tag"
    );
    assert_eq!(prod.sslcipher, val("<%= not a tag", 14));

    let err = error("production:\n  host: <%= ENV['X']\n");
    assert_eq!(
        (err.line, err.message.as_str()),
        (2, "ERB tag `<%` is never closed by `%>`")
    );
}

#[test]
fn merge_keys_follow_psych() {
    let yml = parse_text(
        "base: &base\n  host: base-host\n  port: 1\n\
         tls: &tls\n  host: tls-host\n  sslca: /ca.pem\n\
         list: &list\n  <<: [*tls, *base]\n  port: 2\n\
         before:\n  host: mine\n  <<: *base\n\
         inline:\n  <<: {host: inline-host, sslkey: /k}\n\
         nested:\n  <<: *list\n  database: d\n",
    );
    let list = env(&yml, "list");
    assert_eq!(
        list.host,
        val("tls-host", 5),
        "earlier mapping of the list wins"
    );
    assert_eq!(list.sslca, val("/ca.pem", 6));
    assert_eq!(list.port, val("2", 9));
    // Psych's merge! overwrites keys written before the `<<`.
    assert_eq!(env(&yml, "before").host, val("base-host", 2));
    let inline = env(&yml, "inline");
    assert_eq!(inline.host, val("inline-host", 14));
    assert_eq!(inline.sslkey, val("/k", 14));
    let nested = env(&yml, "nested");
    assert_eq!(nested.host, val("tls-host", 5));
    assert_eq!(nested.port, val("2", 9));
    assert_eq!(nested.database, val("d", 17));
}

#[test]
fn scalars_nulls_keys_and_aliases() {
    let yml = parse_text(
        "production:\n  adapter: mysql2\n  host: ~\n  socket:\n  port: !!str 3306\n\
         \x20 sslverify: yes\n  :sslca: /sym.pem\n  user: legacy\n  hostname: h\n\
         \x20 database: \"\"\n  ssl_ca: /not-for-mysql2.pem\n  sslkey: &k /k.pem\n  sslcert: *k\n\
         \x20 ? [complex, key]\n  : ignored\n\
         scalar_env: hello\n\
         list_env: [1, 2]\n",
    );
    assert_eq!(yml.environments.len(), 1);
    let prod = env(&yml, "production");
    // A null host lets mysql2 fall back to `hostname`.
    assert_eq!(
        (prod.host.clone(), prod.socket.clone()),
        (val("h", 9), None)
    );
    assert_eq!(prod.port, val("3306", 5));
    assert_eq!(prod.sslverify, val("yes", 6));
    assert_eq!(prod.sslca, val("/sym.pem", 7), "symbol keys");
    assert_eq!(prod.username, val("legacy", 8), "mysql2 reads user");
    assert_eq!(prod.database, val("", 10));
    assert_eq!(prod.sslkey, val("/k.pem", 12));
    assert_eq!(
        prod.sslcert,
        val("/k.pem", 12),
        "an alias keeps the anchor's line"
    );

    let yml = parse_text("production:\n  hostname: h\n  host: real\n");
    assert_eq!(env(&yml, "production").host, val("real", 3));
}

#[test]
fn only_the_first_document_is_read() {
    let yml = parse_text("---\na:\n  host: one\n...\n---\nb:\n  host: two\n");
    assert_eq!(yml.environments.len(), 1);
    assert_eq!(env(&yml, "a").host, val("one", 3));
}

#[test]
fn crlf_and_bom() {
    let yml = parse_text("\u{feff}production:\r\n  host: <%= h %>\r\n  port: 3306\r\n");
    let prod = env(&yml, "production");
    assert_eq!(prod.host, erb("<%= h %>", 2));
    assert_eq!(prod.port, val("3306", 3));
}

#[test]
fn damaged_inputs_never_panic() {
    for name in ["rails-app.yml", "multi-db.yml", "url.yml", "malformed.yml"] {
        let text = fixture(name);
        for (end, _) in text.char_indices() {
            let _ = parse_database_yml(name, &text[..end]);
        }
    }
}
