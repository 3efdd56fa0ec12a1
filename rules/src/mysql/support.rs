//! What several MySQL-server rules need to agree on: whether the running
//! server has TLS at all, which version it is, what the option files say
//! about SSL, and how MySQL prints certificate dates.

use crate::facts::{FileStatus, HostFacts, MysqlFacts, MysqlVersion, OptionSet, OptionValue};
use crate::parse::mycnf::unquote_value;

/// The server's own ssl options, in the order messages name them.
pub(crate) const SSL_FILE_OPTIONS: [&str; 3] = ["ssl_ca", "ssl_cert", "ssl_key"];

/// The kind of evidence a verdict rests on, strongest first. Findings name
/// it (evidence key `source`), so a reader knows whether a verdict came from
/// the server's own variables or from what it did on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Source {
    /// The server's variables and status, queried over SQL.
    Sql,
    /// The credential-less TLS probe of the server's port.
    Probe,
    /// The scanner's own MySQL connection (its session, or the greeting
    /// that made it refuse to log in).
    Session,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Sql => "sql",
            Source::Probe => "probe",
            Source::Session => "session",
        }
    }
}

/// What the facts say about TLS on the running server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsVerdict {
    /// `Some(true)` enabled, `Some(false)` disabled, `None` the facts cannot tell.
    pub enabled: Option<bool>,
    /// The fact the verdict rests on, as a location object (`variable:have_ssl`).
    pub object: String,
    /// The same fact for people: `have_ssl is DISABLED`.
    pub basis: String,
    /// `have_ssl = NO`: the binary has no TLS; no configuration or restart helps.
    pub built_without_ssl: bool,
    pub source: Source,
}

impl TlsVerdict {
    fn new(enabled: Option<bool>, object: &str, basis: String) -> Self {
        TlsVerdict {
            enabled,
            object: object.to_string(),
            basis,
            built_without_ssl: false,
            source: Source::Sql,
        }
    }

    fn from(source: Source, enabled: bool, object: String, basis: String) -> Self {
        TlsVerdict {
            enabled: Some(enabled),
            object,
            basis,
            built_without_ssl: false,
            source,
        }
    }
}

/// Decides whether the running server accepts TLS connections, from the
/// strongest evidence the host gave: its SQL variables ([`sql_tls`]), then
/// the TLS probe's greeting and handshake, then the scanner's own
/// connection (an encrypted TCP session, or a greeting without TLS that
/// made the scanner refuse to log in). `enabled` is `None` only when no
/// evidence can tell.
pub(crate) fn server_tls(host: &HostFacts) -> TlsVerdict {
    let sql = host.mysql.as_ref().map(|m| sql_tls(host, m));
    if let Some(v) = &sql
        && v.enabled.is_some()
    {
        return v.clone();
    }
    if let Some(p) = &host.probe
        && p.greeting_version.is_some()
    {
        let object = format!("probe:{}", p.address);
        if !p.advertises_ssl {
            return TlsVerdict::from(
                Source::Probe,
                false,
                object,
                format!(
                    "the server at {} offers no SSL in its protocol greeting",
                    p.address
                ),
            );
        }
        if p.error.is_none()
            && let Some(proto) = &p.protocol
        {
            return TlsVerdict::from(
                Source::Probe,
                true,
                object,
                format!("the server at {} completed a {proto} handshake", p.address),
            );
        }
    }
    if let Some(c) = &host.connection
        && c.is_tcp()
        && c.is_encrypted()
    {
        return TlsVerdict::from(
            Source::Session,
            true,
            format!("connection:{}", c.endpoint),
            format!(
                "the scanner's {} session to {} is encrypted",
                c.via, c.endpoint
            ),
        );
    }
    if let Some(p) = host.problems.iter().find(|p| p.is_tls_not_offered()) {
        return TlsVerdict::from(
            Source::Session,
            false,
            "connection:greeting".to_string(),
            format!(
                "the server offered no SSL to the scanner's connection: {}",
                p.message.trim()
            ),
        );
    }
    sql.unwrap_or_else(|| {
        TlsVerdict::new(
            None,
            "variable:have_ssl",
            "neither SQL facts nor a TLS probe tell".into(),
        )
    })
}

/// Decides whether the running server accepts TLS connections from its SQL
/// facts alone.
///
/// `have_ssl` answers on every server that still has it. MySQL 8.0.26
/// deprecated it and 8.4 removed it, so without it the runtime TLS channel
/// (`performance_schema.tls_channel_status`, which also sees `ALTER INSTANCE
/// RELOAD TLS`) and the certificate status variables decide. MariaDB 11.4+
/// turns TLS on with an auto-generated certificate when nothing is configured.
pub(crate) fn sql_tls(host: &HostFacts, m: &MysqlFacts) -> TlsVerdict {
    let channel = main_channel_enabled(m);
    if let Some(have) = m.variable("have_ssl") {
        let have = have.trim();
        return match have.to_ascii_uppercase().as_str() {
            "YES" => TlsVerdict::new(Some(true), "variable:have_ssl", "have_ssl is YES".into()),
            "NO" => TlsVerdict {
                built_without_ssl: true,
                ..TlsVerdict::new(Some(false), "variable:have_ssl", "have_ssl is NO".into())
            },
            // have_ssl is set once at startup; a TLS context loaded later
            // with ALTER INSTANCE RELOAD TLS shows only in the channel status.
            "DISABLED" if channel == Some(true) => TlsVerdict::new(
                Some(true),
                "tls_channel:mysql_main",
                "tls_channel_status reports mysql_main Enabled = Yes".into(),
            ),
            "DISABLED" => TlsVerdict::new(
                Some(false),
                "variable:have_ssl",
                "have_ssl is DISABLED".into(),
            ),
            _ => TlsVerdict::new(None, "variable:have_ssl", format!("have_ssl is `{have}`")),
        };
    }
    if let Some(v) = &m.version
        && v.is_mariadb()
        && v.at_least(11, 4, 0)
    {
        return TlsVerdict::new(
            Some(true),
            "variable:version",
            format!("MariaDB {v} enables TLS without configuration"),
        );
    }
    if let Some(enabled) = channel {
        let shown = if enabled { "Yes" } else { "No" };
        return TlsVerdict::new(
            Some(enabled),
            "tls_channel:mysql_main",
            format!("tls_channel_status reports mysql_main Enabled = {shown}"),
        );
    }
    if let Some(after) = m.status_value("ssl_server_not_after") {
        let after = after.trim();
        return if after.is_empty() {
            TlsVerdict::new(
                Some(false),
                "status:Ssl_server_not_after",
                "Ssl_server_not_after is empty (no server certificate loaded)".into(),
            )
        } else {
            TlsVerdict::new(
                Some(true),
                "status:Ssl_server_not_after",
                format!("Ssl_server_not_after is {after}"),
            )
        };
    }
    if let Some(cert) = m.variable("ssl_cert") {
        let cert = cert.trim();
        if cert.is_empty() {
            return TlsVerdict::new(Some(false), "variable:ssl_cert", "ssl_cert is empty".into());
        }
        let path = resolve_server_path(host, m, cert);
        if matches!(
            host.file(&path).map(|f| &f.status),
            Some(FileStatus::Missing)
        ) {
            return TlsVerdict::new(
                Some(false),
                "variable:ssl_cert",
                format!("ssl_cert names {path}, which does not exist"),
            );
        }
        if host.file_exists(&path) {
            return TlsVerdict::new(
                Some(true),
                "variable:ssl_cert",
                format!("ssl_cert is {path}"),
            );
        }
    }
    TlsVerdict::new(
        None,
        "variable:have_ssl",
        "have_ssl was not reported".into(),
    )
}

/// `Enabled` of the `mysql_main` TLS channel, when the server reports it.
fn main_channel_enabled(m: &MysqlFacts) -> Option<bool> {
    let props = m
        .tls_channels
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("mysql_main"))?
        .1;
    let value = props
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("enabled"))?
        .1;
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" | "true" => Some(true),
        "no" | "off" | "0" | "false" => Some(false),
        _ => None,
    }
}

/// A path from a server variable, made absolute the way mysqld does: relative
/// to the data directory.
pub(crate) fn resolve_server_path(host: &HostFacts, m: &MysqlFacts, path: &str) -> String {
    let datadir = m.variable("datadir").map(str::to_string).or_else(|| {
        host.server_options
            .as_ref()
            .and_then(|o| o.get("datadir"))
            .and_then(|o| o.value.clone())
    });
    under_datadir(host, datadir, path)
}

/// `path` made absolute the way mysqld does: a relative one is taken from
/// the data directory, `datadir` when known, else the layout's first
/// concrete data directory (what the loader does for identities).
fn under_datadir(host: &HostFacts, datadir: Option<String>, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let datadir = datadir.or_else(|| {
        host.layout
            .data_dirs
            .iter()
            .find(|d| !d.contains('*'))
            .cloned()
    });
    match datadir {
        Some(d) => format!("{}/{}", d.trim_end_matches('/'), path),
        None => path.to_string(),
    }
}

/// The server's version: what SQL reported, else the protocol greeting.
pub(crate) fn server_version(host: &HostFacts) -> Option<MysqlVersion> {
    if let Some(v) = host.mysql.as_ref().and_then(|m| m.version.clone()) {
        return Some(v);
    }
    let greeting = host.probe.as_ref()?.greeting_version.as_deref()?;
    crate::parse::version::parse_version(greeting, None)
}

/// An option with a usable (non-empty) value.
pub(crate) fn set_option<'a>(opts: &'a OptionSet, name: &str) -> Option<&'a OptionValue> {
    opts.get(name)
        .filter(|o| !unquote_value(o.as_str()).is_empty())
}

/// The server's ssl-ca/ssl-cert/ssl-key options that are set, by normalized name.
pub(crate) fn configured_ssl_files(opts: &OptionSet) -> Vec<(&'static str, &OptionValue)> {
    SSL_FILE_OPTIONS
        .iter()
        .filter_map(|n| set_option(opts, n).map(|o| (*n, o)))
        .collect()
}

/// A server ssl file option whose path the collector found missing or unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadSslPath<'a> {
    /// Normalized option name (`ssl_cert`).
    pub option: &'static str,
    pub value: &'a OptionValue,
    /// The absolute path mysqld opens.
    pub path: String,
    /// `does not exist`, `is unreadable (Permission denied)`.
    pub problem: String,
}

/// The server's ssl-ca/ssl-cert/ssl-key options naming a file the collector
/// saw missing or could not read. A path never collected is unknown, not bad.
pub(crate) fn bad_ssl_paths<'a>(host: &HostFacts, opts: &'a OptionSet) -> Vec<BadSslPath<'a>> {
    let identity = host.server_identity();
    let mut bad = Vec::new();
    for (option, value) in configured_ssl_files(opts) {
        let from_identity = identity.and_then(|i| match option {
            "ssl_ca" => i.ca.clone(),
            "ssl_cert" => i.cert.clone(),
            _ => i.key.clone(),
        });
        let path = from_identity.unwrap_or_else(|| resolve_option_path(host, opts, value));
        let problem = match host.file(&path).map(|f| &f.status) {
            Some(FileStatus::Missing) => "does not exist".to_string(),
            Some(FileStatus::Unreadable { reason }) => format!("is unreadable ({reason})"),
            Some(FileStatus::Present) | None => continue,
        };
        bad.push(BadSslPath {
            option,
            value,
            path,
            problem,
        });
    }
    bad
}

/// An option's path made absolute against the `datadir` option, else the
/// layout's first concrete data directory (what the loader does for identities).
fn resolve_option_path(host: &HostFacts, opts: &OptionSet, value: &OptionValue) -> String {
    let datadir = set_option(opts, "datadir").map(|o| unquote_value(o.as_str()).to_string());
    under_datadir(host, datadir, unquote_value(value.as_str()))
}

/// `ssl-ca configured in /etc/mysql/my.cnf:12`.
pub(crate) fn describe_option(o: &OptionValue) -> String {
    format!("{} configured in {}:{}", o.spelled, o.file, o.line)
}

/// The option that turns TLS off for mysqld, if one is in effect: `skip-ssl`,
/// `disable-ssl`, `ssl=0|OFF|FALSE`, or an empty `tls_version` (MySQL 8).
/// A later `ssl`/`ssl=ON`/`enable-ssl` wins over an earlier switch-off, as
/// mysqld reads options in order.
pub(crate) fn ssl_switched_off<'a>(
    host: &HostFacts,
    opts: &'a OptionSet,
) -> Option<&'a OptionValue> {
    let order = |o: &'a OptionValue| host.option_read_order(o);
    let mut off: Vec<&OptionValue> = Vec::new();
    let mut on: Vec<&OptionValue> = Vec::new();
    for name in ["skip_ssl", "disable_ssl"] {
        if let Some(o) = opts.get(name)
            && !is_false(o.value.as_deref())
        {
            off.push(o);
        }
    }
    if let Some(o) = opts.get("enable_ssl") {
        on.push(o);
    }
    if let Some(o) = opts.get("ssl") {
        if is_false(o.value.as_deref()) {
            off.push(o);
        } else {
            on.push(o);
        }
    }
    if let Some(o) = opts.get("tls_version")
        && o.value
            .as_deref()
            .is_some_and(|v| unquote_value(v).is_empty())
    {
        off.push(o);
    }
    let last_off = off.into_iter().max_by_key(|o| order(o))?;
    match on.into_iter().max_by_key(|o| order(o)) {
        Some(last_on) if order(last_on) > order(last_off) => None,
        _ => Some(last_off),
    }
}

/// `0`, `OFF`, `FALSE`, `NO` (option values are case-insensitive).
fn is_false(v: Option<&str>) -> bool {
    v.is_some_and(|v| {
        matches!(
            unquote_value(v).to_ascii_lowercase().as_str(),
            "0" | "off" | "false" | "no"
        )
    })
}

/// The option file to point at when an option is missing altogether.
pub(crate) fn main_option_file(host: &HostFacts) -> String {
    host.option_files
        .first()
        .or_else(|| host.layout.option_files.first())
        .cloned()
        .unwrap_or_else(|| "/etc/mysql/my.cnf".to_string())
}

/// Parses a date as OpenSSL's `ASN1_TIME_print` writes it, which is what
/// MySQL and MariaDB show in `Ssl_server_not_after`/`Ssl_server_not_before`:
/// `Dec  1 00:00:00 2030 GMT` (the day is space-padded, so single-digit days
/// come after two spaces). Also accepts fractional seconds
/// (`Dec  1 00:00:00.5 2030 GMT`) and a missing or `UTC` zone. Unix seconds.
pub(crate) fn parse_openssl_time(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let (mon, day, clock, year) = match parts.as_slice() {
        [mon, day, clock, year] => (mon, day, clock, year),
        [mon, day, clock, year, zone]
            if zone.eq_ignore_ascii_case("GMT")
                || zone.eq_ignore_ascii_case("UTC")
                || *zone == "Z" =>
        {
            (mon, day, clock, year)
        }
        _ => return None,
    };
    let month = match mon.to_ascii_lowercase().as_str() {
        "jan" => time::Month::January,
        "feb" => time::Month::February,
        "mar" => time::Month::March,
        "apr" => time::Month::April,
        "may" => time::Month::May,
        "jun" => time::Month::June,
        "jul" => time::Month::July,
        "aug" => time::Month::August,
        "sep" => time::Month::September,
        "oct" => time::Month::October,
        "nov" => time::Month::November,
        "dec" => time::Month::December,
        _ => return None,
    };
    let day: u8 = day.parse().ok()?;
    let year: i32 = year.parse().ok()?;
    let mut hms = clock.split(':');
    let hour: u8 = hms.next()?.parse().ok()?;
    let minute: u8 = hms.next()?.parse().ok()?;
    let second_field = hms.next()?;
    if hms.next().is_some() {
        return None;
    }
    // Fractions below a second do not matter to any comparison here.
    let second: u8 = second_field.split('.').next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(hour, minute, second).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// `deploy@'%'`: the way MySQL statements name an account (the anonymous
/// user is `''@'%'`).
pub(crate) fn sql_account(user: &str, host: &str) -> String {
    if user.is_empty() {
        format!("''@'{host}'")
    } else {
        format!("{user}@'{host}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{FileMeta, FileStatus, Flavor};
    use crate::testkit::*;

    #[test]
    fn openssl_dates_with_double_space_and_variants() {
        let t = parse_openssl_time("Dec  1 00:00:00 2030 GMT").unwrap();
        assert_eq!(crate::facts::format_date(t), "2030-12-01");
        assert_eq!(parse_openssl_time("Dec 1 00:00:00 2030 GMT"), Some(t));
        assert_eq!(parse_openssl_time(" Dec  1 00:00:00 2030 "), Some(t));
        assert_eq!(parse_openssl_time("Dec  1 00:00:00.250 2030 GMT"), Some(t));
        assert_eq!(
            parse_openssl_time("Nov 30 12:34:56 2031 GMT").unwrap() - t,
            365 * 86_400 - 86_400 + 12 * 3600 + 34 * 60 + 56
        );
        for bad in [
            "",
            "2030-12-01",
            "Foo  1 00:00:00 2030 GMT",
            "Feb 30 00:00:00 2030 GMT",
            "Dec  1 25:00:00 2030 GMT",
            "Dec  1 00:00 2030 GMT",
            "Dec  1 00:00:00 2030 CET",
        ] {
            assert_eq!(parse_openssl_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn have_ssl_decides_when_present() {
        let h = db_host("db");
        let server_tls = sql_tls;
        let m = mysql(&[("have_ssl", "YES")]);
        assert_eq!(server_tls(&h, &m).enabled, Some(true));
        let m = mysql(&[("have_ssl", "disabled")]);
        assert_eq!(server_tls(&h, &m).enabled, Some(false));
        let m = mysql(&[("have_ssl", "NO")]);
        let v = server_tls(&h, &m);
        assert_eq!(v.enabled, Some(false));
        assert!(v.built_without_ssl);
        let mut m = mysql(&[("have_ssl", "DISABLED")]);
        channel(&mut m, "Yes");
        assert_eq!(server_tls(&h, &m).enabled, Some(true));
        let m = mysql(&[("have_ssl", "MAYBE")]);
        assert_eq!(server_tls(&h, &m).enabled, None);
    }

    #[test]
    fn mysql_84_without_have_ssl_uses_channel_then_status_then_cert() {
        let server_tls = sql_tls;
        let mut h = db_host("db");
        let mut m = mysql(&[("version", "8.4.3")]);
        m.version = Some(version(Flavor::Mysql, "8.4.3"));
        assert_eq!(server_tls(&h, &m).enabled, None);
        channel(&mut m, "No");
        let v = server_tls(&h, &m);
        assert_eq!(v.enabled, Some(false));
        assert_eq!(v.object, "tls_channel:mysql_main");

        let mut m = mysql(&[]);
        m.status.insert(
            "ssl_server_not_after".into(),
            "Dec  1 00:00:00 2030 GMT".into(),
        );
        assert_eq!(server_tls(&h, &m).enabled, Some(true));
        m.status
            .insert("ssl_server_not_after".into(), String::new());
        assert_eq!(server_tls(&h, &m).enabled, Some(false));

        let m = mysql(&[
            ("ssl_cert", "server-cert.pem"),
            ("datadir", "/var/lib/mysql/"),
        ]);
        assert_eq!(server_tls(&h, &m).enabled, None, "file never collected");
        h.files.insert(
            "/var/lib/mysql/server-cert.pem".into(),
            FileMeta {
                path: "/var/lib/mysql/server-cert.pem".into(),
                status: FileStatus::Missing,
                mode: None,
                owner: None,
                group: None,
                size: None,
                lines: None,
            },
        );
        assert_eq!(server_tls(&h, &m).enabled, Some(false));
        present(&mut h, "/var/lib/mysql/server-cert.pem");
        assert_eq!(server_tls(&h, &m).enabled, Some(true));
        let m = mysql(&[("ssl_cert", "")]);
        assert_eq!(server_tls(&h, &m).enabled, Some(false));
    }

    #[test]
    fn mariadb_114_without_have_ssl_counts_as_enabled() {
        let server_tls = sql_tls;
        let h = db_host("db");
        let mut m = mysql(&[]);
        m.version = Some(version(Flavor::Mariadb, "11.4.5-MariaDB-ubu2404"));
        assert_eq!(server_tls(&h, &m).enabled, Some(true));
        m.version = Some(version(Flavor::Mariadb, "10.11.9-MariaDB"));
        assert_eq!(server_tls(&h, &m).enabled, None);
    }

    #[test]
    fn switch_off_options_and_their_order() {
        let mut h = db_host("db");
        h.option_files = vec!["/etc/mysql/my.cnf".into(), "/etc/mysql/conf.d/z.cnf".into()];
        let mut o = OptionSet::default();
        assert!(ssl_switched_off(&h, &o).is_none());
        add(&mut o, "skip_ssl", None, "/etc/mysql/my.cnf", 5);
        assert_eq!(ssl_switched_off(&h, &o).map(|o| o.line), Some(5));
        add(&mut o, "ssl", Some("ON"), "/etc/mysql/conf.d/z.cnf", 1);
        assert!(ssl_switched_off(&h, &o).is_none(), "a later ssl=ON wins");
        add(&mut o, "ssl", Some("0"), "/etc/mysql/conf.d/z.cnf", 1);
        assert!(ssl_switched_off(&h, &o).is_some());
        let mut o = OptionSet::default();
        add(&mut o, "tls_version", Some("''"), "/etc/mysql/my.cnf", 9);
        assert!(ssl_switched_off(&h, &o).is_some());
        add(
            &mut o,
            "tls_version",
            Some("TLSv1.2"),
            "/etc/mysql/my.cnf",
            9,
        );
        assert!(ssl_switched_off(&h, &o).is_none());
    }

    #[test]
    fn the_wire_decides_when_sql_cannot() {
        // No SQL facts: the probe's greeting proves SSL is off.
        let mut h = db_host("db");
        h.mysql = None;
        assert_eq!(server_tls(&h).enabled, None);
        let mut p = probe("10.0.0.10:3306");
        p.greeting_version = Some("10.11.9-MariaDB".into());
        p.advertises_ssl = false;
        h.probe = Some(p.clone());
        let v = server_tls(&h);
        assert_eq!(v.enabled, Some(false));
        assert_eq!(v.source, Source::Probe);
        assert_eq!(v.object, "probe:10.0.0.10:3306");
        assert_eq!(
            v.basis,
            "the server at 10.0.0.10:3306 offers no SSL in its protocol greeting"
        );
        // A probe that never got a greeting proves nothing.
        p.greeting_version = None;
        p.error = Some("connection refused".into());
        h.probe = Some(p);
        assert_eq!(server_tls(&h).enabled, None);
        // The scanner's own refusal to log in without TLS is evidence too.
        h.problems.push(crate::facts::CollectionProblem::new(
            crate::facts::what::MYSQL_NO_TLS,
            "10.0.0.10:3306 does not offer TLS",
        ));
        let v = server_tls(&h);
        assert_eq!((v.enabled, v.source), (Some(false), Source::Session));
        // SQL facts, when they tell, come first.
        set_mysql(&mut h, mysql(&[("have_ssl", "YES")]));
        assert_eq!(server_tls(&h).source, Source::Sql);
        assert_eq!(server_tls(&h).enabled, Some(true));
    }

    #[test]
    fn greeting_version_is_the_fallback() {
        let mut h = db_host("db");
        h.mysql = None;
        assert!(server_version(&h).is_none());
        h.probe = Some(probe("10.0.0.10:3306"));
        h.probe.as_mut().unwrap().greeting_version = Some("5.6.21-log".into());
        assert_eq!(server_version(&h).map(|v| v.triple()), Some((5, 6, 21)));
    }
}
