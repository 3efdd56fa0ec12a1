//! Every statement the scanner sends to a MySQL/MariaDB server, grouped in
//! sections. Both collectors run exactly these statements: the host's own
//! client (all sections in one batch) and the scanner's TCP connection (one
//! statement at a time). docs/scanner-queries.md lists them for DBAs; keep
//! the two in step.
//!
//! Each section ends in at most one result set. Sections whose SQL differs
//! between versions choose their table on the server side (a `PREPARE` of a
//! string built from `@@version`), so the batch never needs a second round
//! trip to learn the version first. The replica status statement has no
//! spelling that every version accepts and cannot be chosen that way
//! reliably on every version, so the batch sends the three spellings and the
//! collector keeps the one that applies (the others fail with a syntax
//! error, before any privilege check).

use sslaudit_rules::facts::{Flavor, MysqlVersion};

/// A group of statements whose last one yields the section's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Section {
    Variables,
    SessionStatus,
    GlobalStatus,
    Accounts,
    /// MariaDB: every replication connection.
    AllSlavesStatus,
    /// MySQL 8.0.22 and later.
    ReplicaStatus,
    /// MySQL before 8.0.22 (removed in 8.4).
    SlaveStatus,
    TlsChannels,
    /// Who is connected now, and how (the session census).
    Sessions,
}

/// In the order the batch runs them.
pub(crate) const SECTIONS: [Section; 9] = [
    Section::Variables,
    Section::SessionStatus,
    Section::GlobalStatus,
    Section::Accounts,
    Section::AllSlavesStatus,
    Section::ReplicaStatus,
    Section::SlaveStatus,
    Section::TlsChannels,
    Section::Sessions,
];

/// The global variables the rules (and a reader of the evidence) need: the
/// version, every ssl/tls setting, where relative ssl paths resolve, the
/// server's host name (which database.yml `host:` values name it), whether
/// its host cache counts the probe's connections, and a Galera node's
/// cluster and TLS settings (never `wsrep_sst_auth`, a password).
const VARIABLES: &str = "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', \
    'version_comment', 'version_ssl_library', 'have_ssl', 'have_openssl', 'datadir', 'hostname', \
    'require_secure_transport', 'auto_generate_certs', 'port', 'bind_address', \
    'skip_networking', 'skip_name_resolve', 'max_connect_errors', 'host_cache_size', \
    'wsrep_on', 'wsrep_provider', 'wsrep_provider_options', 'wsrep_cluster_name', \
    'wsrep_cluster_address', 'wsrep_node_address', 'wsrep_node_incoming_address', \
    'wsrep_sst_method', 'wsrep_sst_receive_address', 'wsrep_ssl_mode', \
    'pxc_encrypt_cluster_traffic') OR Variable_name LIKE 'ssl\\_%' OR Variable_name LIKE 'tls\\_%' \
    OR Variable_name LIKE 'admin\\_ssl\\_%' OR Variable_name LIKE 'admin\\_tls\\_%'";

/// The scanner's own session: `Ssl_cipher` and `Ssl_version` are empty when
/// it is not encrypted. Also carries the loaded certificate's dates.
const SESSION_STATUS: &str = "SHOW SESSION STATUS LIKE 'Ssl\\_%'";

/// The dates of the certificate the server loaded (`Dec  1 00:00:00 2030
/// GMT`), and a Galera node's view of its cluster.
const GLOBAL_STATUS: &str = "SHOW GLOBAL STATUS WHERE Variable_name LIKE 'Ssl\\_server\\_not\\_%' \
    OR Variable_name IN ('wsrep_incoming_addresses', 'wsrep_cluster_size', \
    'wsrep_cluster_status', 'wsrep_local_state_comment')";

/// `@@version` as a number (`10.11.19-MariaDB-...` -> 101119, `8.0.36-28` -> 80036).
const SET_VERSION_ID: &str = "SET @sslaudit_version_id := \
    SUBSTRING_INDEX(SUBSTRING_INDEX(@@version, '-', 1), '.', 1) * 10000 \
    + SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(@@version, '-', 1), '.', 2), '.', -1) * 100 \
    + SUBSTRING_INDEX(SUBSTRING_INDEX(SUBSTRING_INDEX(@@version, '-', 1), '.', 3), '.', -1)";

/// MariaDB 10.4 and later keep accounts in `mysql.global_priv` (JSON);
/// `mysql.user` is a view there without the lock flag. Only the REQUIRE
/// fields are read, never the password hash. `ssl_type` is mapped to the
/// `mysql.user` spelling ('' ANY X509 SPECIFIED).
const SET_ACCOUNTS_SQL: &str = "SET @sslaudit_sql := IF(@@version LIKE '%MariaDB%' \
    AND @sslaudit_version_id >= 100400, \
    'SELECT User AS user, Host AS host, \
    ELT(IFNULL(JSON_VALUE(Priv, ''$.ssl_type''), 0) + 1, '''', ''ANY'', ''X509'', ''SPECIFIED'') AS ssl_type, \
    JSON_VALUE(Priv, ''$.ssl_cipher'') AS ssl_cipher, \
    JSON_VALUE(Priv, ''$.x509_issuer'') AS x509_issuer, \
    JSON_VALUE(Priv, ''$.x509_subject'') AS x509_subject, \
    JSON_VALUE(Priv, ''$.account_locked'') AS account_locked, \
    JSON_VALUE(Priv, ''$.is_role'') AS is_role FROM mysql.global_priv', \
    CONCAT('SELECT User AS user, Host AS host, ssl_type, ssl_cipher, x509_issuer, x509_subject, ', \
    IF(EXISTS(SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' \
    AND TABLE_NAME = 'user' AND COLUMN_NAME = 'account_locked'), 'account_locked', 'NULL'), \
    ' AS account_locked, ', \
    IF(EXISTS(SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' \
    AND TABLE_NAME = 'user' AND COLUMN_NAME = 'is_role'), 'is_role', 'NULL'), \
    ' AS is_role FROM mysql.user'))";

/// `performance_schema.tls_channel_status` exists from MySQL 8.0.21; elsewhere
/// the section is an empty result rather than an error.
const SET_TLS_CHANNELS_SQL: &str = "SET @sslaudit_sql := IF(@@version NOT LIKE '%MariaDB%' \
    AND @sslaudit_version_id >= 80021, \
    'SELECT CHANNEL AS channel, PROPERTY AS property, VALUE AS value \
    FROM performance_schema.tls_channel_status', \
    'SELECT NULL AS channel, NULL AS property, NULL AS value FROM DUAL WHERE 1 = 0')";

/// The session census: with `performance_schema` on (MariaDB 10.5 and
/// later, MySQL 5.7 and later: `threads.CONNECTION_TYPE`), every foreground
/// session's account, client host, connection type, `Ssl_cipher` and the
/// client's `program_name` attribute; otherwise `information_schema.PROCESSLIST`
/// (account and host only, and only the scanner's own sessions without the
/// PROCESS privilege). The scanner's own session is left out; no query text
/// is read.
const SET_SESSIONS_SQL: &str = "SET @sslaudit_sql := IF(@@performance_schema = 1 \
    AND IF(@@version LIKE '%MariaDB%', @sslaudit_version_id >= 100500, @sslaudit_version_id >= 50700), \
    'SELECT ''performance_schema'' AS source, t.PROCESSLIST_USER AS user, t.PROCESSLIST_HOST AS host, \
    t.CONNECTION_TYPE AS connection_type, s.VARIABLE_VALUE AS ssl_cipher, a.ATTR_VALUE AS program \
    FROM performance_schema.threads t \
    LEFT JOIN performance_schema.status_by_thread s ON s.THREAD_ID = t.THREAD_ID AND s.VARIABLE_NAME = ''Ssl_cipher'' \
    LEFT JOIN performance_schema.session_connect_attrs a ON a.PROCESSLIST_ID = t.PROCESSLIST_ID AND a.ATTR_NAME = ''program_name'' \
    WHERE t.TYPE = ''FOREGROUND'' AND t.PROCESSLIST_USER IS NOT NULL AND t.PROCESSLIST_ID <> CONNECTION_ID()', \
    'SELECT ''processlist'' AS source, USER AS user, HOST AS host, NULL AS connection_type, \
    NULL AS ssl_cipher, NULL AS program FROM information_schema.PROCESSLIST \
    WHERE ID <> CONNECTION_ID() AND USER NOT IN (''system user'', ''event_scheduler'', ''unauthenticated user'')')";

/// A sampled census looks once, then once per interval through its window.
pub(crate) const CENSUS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The looks a census window adds after the first (`--census 30s`: 30).
pub(crate) fn census_looks(window: std::time::Duration) -> u32 {
    let n = window.as_millis() / CENSUS_INTERVAL.as_millis();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The window in whole seconds, as the census records it.
pub(crate) fn census_window_secs(window: std::time::Duration) -> u32 {
    u32::try_from(window.as_secs()).unwrap_or(u32::MAX)
}

impl Section {
    /// The section's name in the batch output and in the docs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Variables => "variables",
            Section::SessionStatus => "session_status",
            Section::GlobalStatus => "global_status",
            Section::Accounts => "accounts",
            Section::AllSlavesStatus => "all_slaves_status",
            Section::ReplicaStatus => "replica_status",
            Section::SlaveStatus => "slave_status",
            Section::TlsChannels => "tls_channels",
            Section::Sessions => "sessions",
        }
    }

    /// `CollectionProblem::what` when the section fails.
    pub(crate) fn what(self) -> &'static str {
        match self {
            Section::Variables => "mysql variables",
            Section::SessionStatus => "mysql session status",
            Section::GlobalStatus => "mysql status",
            Section::Accounts => "mysql accounts",
            Section::AllSlavesStatus | Section::ReplicaStatus | Section::SlaveStatus => {
                "mysql replication"
            }
            Section::TlsChannels => "mysql tls channels",
            Section::Sessions => "mysql sessions",
        }
    }

    /// A short name of the query, for problem messages.
    pub(crate) fn query(self) -> &'static str {
        match self {
            Section::Variables => "SHOW GLOBAL VARIABLES",
            Section::SessionStatus => "SHOW SESSION STATUS LIKE 'Ssl_%'",
            Section::GlobalStatus => {
                "SHOW GLOBAL STATUS WHERE Variable_name LIKE 'Ssl_server_not_%' OR ..."
            }
            Section::Accounts => "SELECT ... FROM mysql.global_priv / mysql.user",
            Section::AllSlavesStatus => "SHOW ALL SLAVES STATUS",
            Section::ReplicaStatus => "SHOW REPLICA STATUS",
            Section::SlaveStatus => "SHOW SLAVE STATUS",
            Section::TlsChannels => "SELECT ... FROM performance_schema.tls_channel_status",
            Section::Sessions => {
                "SELECT ... FROM performance_schema.threads / information_schema.PROCESSLIST"
            }
        }
    }

    /// The statements, each a single line, in order.
    pub(crate) fn statements(self) -> &'static [&'static str] {
        match self {
            Section::Variables => &[VARIABLES],
            Section::SessionStatus => &[SESSION_STATUS],
            Section::GlobalStatus => &[GLOBAL_STATUS],
            Section::Accounts => &[
                SET_VERSION_ID,
                SET_ACCOUNTS_SQL,
                "PREPARE sslaudit_accounts FROM @sslaudit_sql",
                "EXECUTE sslaudit_accounts",
                "DEALLOCATE PREPARE sslaudit_accounts",
            ],
            Section::AllSlavesStatus => &["SHOW ALL SLAVES STATUS"],
            Section::ReplicaStatus => &["SHOW REPLICA STATUS"],
            Section::SlaveStatus => &["SHOW SLAVE STATUS"],
            Section::TlsChannels => &[
                SET_VERSION_ID,
                SET_TLS_CHANNELS_SQL,
                "PREPARE sslaudit_tls_channels FROM @sslaudit_sql",
                "EXECUTE sslaudit_tls_channels",
                "DEALLOCATE PREPARE sslaudit_tls_channels",
            ],
            Section::Sessions => &[
                SET_VERSION_ID,
                SET_SESSIONS_SQL,
                "PREPARE sslaudit_sessions FROM @sslaudit_sql",
                "EXECUTE sslaudit_sessions",
                "DEALLOCATE PREPARE sslaudit_sessions",
            ],
        }
    }

    pub(crate) fn is_replication(self) -> bool {
        matches!(
            self,
            Section::AllSlavesStatus | Section::ReplicaStatus | Section::SlaveStatus
        )
    }
}

/// The replica status spellings to use, best first: the one the version
/// accepts, or all of them in order of likelihood when the version is unknown.
pub(crate) fn replication_sections(version: Option<&MysqlVersion>) -> &'static [Section] {
    match version {
        Some(v) if v.flavor == Flavor::Mariadb => &[Section::AllSlavesStatus],
        Some(v) if v.at_least(8, 0, 22) => &[Section::ReplicaStatus],
        Some(_) => &[Section::SlaveStatus],
        None => &[
            Section::ReplicaStatus,
            Section::AllSlavesStatus,
            Section::SlaveStatus,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sslaudit_rules::parse::version::parse_version;

    #[test]
    fn statements_are_single_lines_without_terminators() {
        // The batch maps the client's "at line N" back to a section, which
        // needs one statement per line.
        for s in SECTIONS {
            for st in s.statements() {
                assert!(!st.contains('\n'), "{st}");
                assert!(!st.trim_end().ends_with(';'), "{st}");
                assert!(!st.contains("  "), "collapsed whitespace: {st}");
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let names: std::collections::BTreeSet<&str> = SECTIONS.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), SECTIONS.len());
    }

    #[test]
    fn replica_spelling_follows_the_version() {
        let v = |s: &str, c: &str| parse_version(s, Some(c));
        assert_eq!(
            replication_sections(v("10.11.19-MariaDB-0+deb12u1", "Debian 12").as_ref()),
            &[Section::AllSlavesStatus]
        );
        assert_eq!(
            replication_sections(v("8.0.22", "MySQL Community Server - GPL").as_ref()),
            &[Section::ReplicaStatus]
        );
        assert_eq!(
            replication_sections(v("8.4.3", "MySQL Community Server - GPL").as_ref()),
            &[Section::ReplicaStatus]
        );
        assert_eq!(
            replication_sections(v("8.0.21", "MySQL Community Server - GPL").as_ref()),
            &[Section::SlaveStatus]
        );
        assert_eq!(
            replication_sections(v("5.6.21-log", "MySQL Community Server (GPL)").as_ref()),
            &[Section::SlaveStatus]
        );
        assert_eq!(replication_sections(None).len(), 3);
    }
}
