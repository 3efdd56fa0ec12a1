//! The files and evidence of one synthetic host: option files, openssl.cnf,
//! /etc/passwd, keys and certificates where the layout puts them, database.yml,
//! and the SQL evidence a collector would have recorded.

use super::*;

/// A host folder being assembled: fs/ contents and files.json entries.
#[derive(Default)]
pub(super) struct HostFiles {
    pub(super) fs: BTreeMap<String, String>,
    pub(super) records: BTreeMap<String, Value>,
}

impl HostFiles {
    pub(super) fn add(&mut self, path: &str, content: String, mode: &str, owner: &str) {
        self.records.insert(
            path.to_string(),
            json!({"status": "present", "mode": mode, "owner": owner, "group": owner, "size": content.len()}),
        );
        self.fs.insert(path.to_string(), content);
    }
    pub(super) fn key(&mut self, path: &str, key: &KeyPair, mode: &str, owner: &str) {
        self.records.insert(
            path.to_string(),
            json!({"status": "present", "mode": mode, "owner": owner, "group": owner, "size": 227, "key": key.facts()}),
        );
    }
    pub(super) fn dir(&mut self, path: &str) {
        self.records.insert(
            path.to_string(),
            json!({"status": "present", "mode": "0755", "owner": "root", "group": "root"}),
        );
    }
    pub(super) fn missing(&mut self, path: &str) {
        self.records
            .insert(path.to_string(), json!({"status": "missing"}));
    }
}

pub(super) const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
systemd-network:x:998:998:systemd Network Management:/:/usr/sbin/nologin
messagebus:x:100:107::/nonexistent:/usr/sbin/nologin
sshd:x:101:65534::/run/sshd:/usr/sbin/nologin
mysql:x:102:110:MySQL Server,,,:/nonexistent:/bin/false
deploy:x:1000:1000:Application deploy user:/home/deploy:/bin/bash
";

pub(super) fn openssl_cnf(randfile: bool) -> String {
    let rnd = if randfile {
        "RANDFILE\t\t= $ENV::HOME/.rnd\n"
    } else {
        "#RANDFILE\t\t= $ENV::HOME/.rnd\n"
    };
    format!(
        "#\n# OpenSSL configuration file.\n#\n\nHOME\t\t\t= .\n{rnd}oid_section\t\t= new_oids\n\n\
         [ new_oids ]\ntsa_policy1 = 1.2.3.4.1\n\n[ req ]\ndefault_bits\t\t= 2048\n\
         distinguished_name\t= req_distinguished_name\nx509_extensions\t= v3_ca\nstring_mask = utf8only\n\n\
         [ req_distinguished_name ]\ncountryName\t\t\t= Country Name (2 letter code)\n\
         commonName\t\t\t= Common Name (e.g. server FQDN or YOUR name)\n\n\
         [ v3_ca ]\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always,issuer\n\
         basicConstraints = critical,CA:true\n"
    )
}

/// Server variables beyond the TLS ones: a realistic `SHOW GLOBAL
/// VARIABLES` is hundreds of rows, and the engine must not keep them.
pub(super) const FILLER_VARIABLES: &[(&str, &str)] = &[
    ("auto_increment_increment", "1"),
    ("autocommit", "ON"),
    ("back_log", "80"),
    ("binlog_cache_size", "32768"),
    ("binlog_format", "ROW"),
    ("bulk_insert_buffer_size", "8388608"),
    ("character_set_server", "utf8mb4"),
    ("collation_server", "utf8mb4_general_ci"),
    ("connect_timeout", "10"),
    ("default_storage_engine", "InnoDB"),
    ("expire_logs_days", "7"),
    ("general_log", "OFF"),
    ("innodb_buffer_pool_instances", "8"),
    ("innodb_buffer_pool_size", "5368709120"),
    ("innodb_file_per_table", "ON"),
    ("innodb_flush_log_at_trx_commit", "1"),
    ("innodb_flush_method", "O_DIRECT"),
    ("innodb_io_capacity", "200"),
    ("innodb_log_buffer_size", "16777216"),
    ("innodb_log_file_size", "268435456"),
    ("innodb_read_io_threads", "4"),
    ("innodb_write_io_threads", "4"),
    ("interactive_timeout", "28800"),
    ("join_buffer_size", "262144"),
    ("key_buffer_size", "134217728"),
    ("log_bin", "ON"),
    ("log_error", "/db/mysql/log/mysqld.err"),
    ("long_query_time", "10.000000"),
    ("lower_case_table_names", "0"),
    ("max_allowed_packet", "33554432"),
    ("max_connect_errors", "100"),
    ("max_connections", "300"),
    ("max_heap_table_size", "16777216"),
    ("net_buffer_length", "16384"),
    ("net_read_timeout", "30"),
    ("net_write_timeout", "60"),
    ("open_files_limit", "65535"),
    ("port", "3306"),
    ("query_cache_size", "0"),
    ("read_buffer_size", "131072"),
    ("read_rnd_buffer_size", "262144"),
    ("skip_name_resolve", "ON"),
    ("slow_query_log", "OFF"),
    ("socket", "/var/run/mysqld/mysqld.sock"),
    ("sort_buffer_size", "2097152"),
    (
        "sql_mode",
        "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
    ),
    ("sync_binlog", "1"),
    ("table_definition_cache", "2000"),
    ("table_open_cache", "4096"),
    ("thread_cache_size", "32"),
    ("thread_stack", "299008"),
    ("time_zone", "SYSTEM"),
    ("tmp_table_size", "16777216"),
    ("tmpdir", "/mnt/mysql/tmp"),
    ("transaction_isolation", "REPEATABLE-READ"),
    ("wait_timeout", "28800"),
];

pub(super) fn ssl_date(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {:>2} {:02}:{:02}:{:02} {} GMT",
        months[usize::from(u8::from(t.month())) - 1],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

pub(super) fn master_address(h: &HostPlan, all: &[HostPlan]) -> String {
    all.iter()
        .find(|o| o.env == h.env && o.kind == Kind::Master)
        .map(|o| o.address.clone())
        .unwrap_or_default()
}

pub(super) fn write_host(
    root: &Path,
    h: &HostPlan,
    kit: &Kit,
    rogue: &Kit,
    all: &[HostPlan],
    now: i64,
) -> Result<usize> {
    let env = env_name(h.env);
    let dir = root.join(&env).join(&h.name);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let roles = match h.kind {
        Kind::Master => "db_master",
        Kind::Replica => "db_replica",
        Kind::App => "app",
    };
    let mut toml = format!(
        "name = \"{}\"\nenvironment = \"{env}\"\nroles = [\"{roles}\"]\naddress = \"{}\"\nlayout = \"engineyard\"\n",
        h.name, h.address
    );
    let yml = "/data/shop/current/config/database.yml";
    if h.kind == Kind::App {
        toml.push_str(&format!(
            "app_user = \"deploy\"\ndatabase_yml = [\"{yml}\"]\n"
        ));
    }
    if h.unreachable {
        toml.push_str(&format!(
            "\n[reachability]\nstatus = \"unreachable\"\nreason = \"ssh: connection timed out ({}:22)\"\n",
            h.address
        ));
        fs::write(dir.join("host.toml"), toml)?;
        return Ok(1);
    }
    let mut f = HostFiles::default();
    f.add("/etc/passwd", PASSWD.to_string(), "0644", "root");
    match h.kind {
        Kind::Master | Kind::Replica => db_files(h, kit, &mut f, all, now)?,
        Kind::App => app_files(h, kit, rogue, &mut f, all, yml),
    }
    let mut n = 2;
    fs::write(dir.join("host.toml"), toml)?;
    for (path, content) in &f.fs {
        let target = dir.join("fs").join(path.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&target, content).with_context(|| format!("writing {}", target.display()))?;
        n += 1;
    }
    fs::write(
        dir.join("files.json"),
        serde_json::to_string_pretty(&f.records)? + "\n",
    )?;
    if h.kind != Kind::App {
        for (name, value) in db_json(h, kit, all, now) {
            fs::write(dir.join(name), serde_json::to_string_pretty(&value)? + "\n")?;
            n += 1;
        }
    }
    Ok(n)
}

pub(super) fn db_files(
    h: &HostPlan,
    kit: &Kit,
    f: &mut HostFiles,
    all: &[HostPlan],
    now: i64,
) -> Result<()> {
    let _ = now;
    let data = data_dir(h);
    let fault = h.fault.unwrap_or("");
    let server_id = h.index + 1;
    let mut my = String::from(
        "# /etc/mysql/my.cnf - managed by Chef (Engine Yard stack, mysql recipe).\n\
         # Local changes are overwritten on the next \"Apply\".\n\n[client]\nport = 3306\n\
         socket = /var/run/mysqld/mysqld.sock\n\n[mysqld_safe]\nsocket = /var/run/mysqld/mysqld.sock\nnice = 0\n\n\
         [mysqld]\nuser = mysql\npid-file = /var/run/mysqld/mysqld.pid\nsocket = /var/run/mysqld/mysqld.sock\n\
         port = 3306\nbasedir = /usr\n",
    );
    let _ = writeln!(
        my,
        "datadir = {data}\ntmpdir = /mnt/mysql/tmp\nbind-address = 0.0.0.0\nskip-name-resolve\n"
    );
    let _ = writeln!(
        my,
        "server-id = {server_id}\nlog-bin = /db/mysql/binlogs/binlog\nbinlog_format = ROW\n"
    );
    my.push_str("!includedir /etc/mysql/conf.d/\n");
    if h.kind == Kind::Replica {
        my.push_str("!include /etc/mysql/replication.cnf\n");
    }
    my.push_str(
        "\n[mysqldump]\nquick\nquote-names\nmax_allowed_packet = 32M\n\n[mysql]\nno-auto-rehash\n",
    );
    f.add("/etc/mysql/my.cnf", my, "0644", "root");
    f.missing("/etc/my.cnf");
    f.dir("/etc/mysql/conf.d");
    f.add(
        "/etc/mysql/conf.d/tuning.cnf",
        "[mysqld]\nmax_connections = 300\nmax_allowed_packet = 32M\nthread_cache_size = 32\n\
         table_open_cache = 4096\ninnodb_buffer_pool_size = 5G\ninnodb_log_file_size = 256M\n\
         innodb_flush_log_at_trx_commit = 1\ninnodb_flush_method = O_DIRECT\n"
            .to_string(),
        "0644",
        "root",
    );
    if fault != "config-missing" {
        let mut ssl = format!(
            "# SSL: keys generated by /engineyard/bin/db_server_ssl_keys.sh on the master\n\
             [mysqld]\nssl-ca = {data}/root.crt\nssl-cert = {data}/server.crt\nssl-key = {data}/server.key\n"
        );
        if fault != "no-secure-transport" {
            ssl.push_str("require_secure_transport = ON\n");
        }
        if fault == "tls11" {
            ssl.push_str("tls_version = TLSv1.1,TLSv1.2,TLSv1.3\n");
        } else {
            ssl.push_str("tls_version = TLSv1.2,TLSv1.3\n");
        }
        f.add("/etc/mysql/conf.d/ssl.cnf", ssl, "0644", "root");
    }
    if h.kind == Kind::Replica {
        let verify = if fault == "repl-no-verify" { 0 } else { 1 };
        f.add(
            "/etc/mysql/replication.cnf",
            format!(
                "[mysqld]\nrelay-log = /db/mysql/binlogs/relay-log\nread_only = 1\n\
                 # master-ssl-verify-server-cert = {verify}\nreport-host = {}\n",
                h.name
            ),
            "0644",
            "root",
        );
    }
    f.add(
        &format!("{data}/root.crt"),
        kit.ca_pem.clone(),
        "0644",
        "mysql",
    );
    let server = if fault == "expired-cert" {
        &kit.expired_server_pem
    } else {
        &kit.server_pem
    };
    f.add(
        &format!("{data}/server.crt"),
        server.clone(),
        "0644",
        "mysql",
    );
    let key_mode = if fault == "key-0644" { "0644" } else { "0600" };
    f.key(
        &format!("{data}/server.key"),
        &kit.server,
        key_mode,
        "mysql",
    );
    f.add(
        "/etc/ssl/openssl.cnf",
        openssl_cnf(fault == "randfile"),
        "0644",
        "root",
    );
    if h.kind == Kind::Master {
        for user in ["deploy", "reports"] {
            let dir = format!("/db/mysql/keygen/{user}");
            let (key, cert) = &kit.clients[user];
            f.add(
                &format!("{dir}/root.crt"),
                kit.ca_pem.clone(),
                "0644",
                "root",
            );
            f.add(&format!("{dir}/mysql.crt"), cert.clone(), "0644", "root");
            f.key(&format!("{dir}/mysql.key"), key, "0600", "root");
        }
    } else {
        let (key, cert) = &kit.clients["repl"];
        f.add("/root/.mysql/root.crt", kit.ca_pem.clone(), "0644", "root");
        f.add("/root/.mysql/mysql.crt", cert.clone(), "0644", "root");
        f.key("/root/.mysql/mysql.key", key, "0600", "root");
    }
    let _ = all;
    Ok(())
}

pub(super) fn app_files(
    h: &HostPlan,
    kit: &Kit,
    rogue: &Kit,
    f: &mut HostFiles,
    all: &[HostPlan],
    yml: &str,
) {
    let fault = h.fault.unwrap_or("");
    let home = "/home/deploy/.mysql";
    let ca = if fault == "other-ca" {
        &rogue.ca_pem
    } else {
        &kit.ca_pem
    };
    let (key, cert) = &kit.clients["deploy"];
    f.add(&format!("{home}/root.crt"), ca.clone(), "0644", "deploy");
    f.add(&format!("{home}/mysql.crt"), cert.clone(), "0644", "deploy");
    if fault == "missing-key" {
        f.missing(&format!("{home}/mysql.key"));
    } else {
        let mode = if fault == "key-0644" { "0644" } else { "0600" };
        f.key(&format!("{home}/mysql.key"), key, mode, "deploy");
    }
    // The distribution's CA bundle plus the environment's CA.
    f.add(
        "/etc/ssl/certs/internal-ca-bundle.pem",
        format!("{}{}", kit.ca_pem, rogue.ca_pem),
        "0644",
        "root",
    );
    f.add(
        "/etc/mysql/my.cnf",
        "[client]\nport = 3306\nsocket = /var/run/mysqld/mysqld.sock\ndefault-character-set = utf8mb4\n\n\
         !includedir /etc/mysql/conf.d/\n"
            .to_string(),
        "0644",
        "root",
    );
    f.missing("/etc/my.cnf");
    f.dir("/etc/mysql/conf.d");
    f.add(
        "/etc/mysql/conf.d/client.cnf",
        format!("[mysql]\nno-auto-rehash\nprompt = \"{}> \"\n", h.name),
        "0644",
        "root",
    );
    let host = if fault == "yml-localhost" {
        "localhost".to_string()
    } else {
        master_address(h, all)
    };
    let ssl = if fault == "yml-no-ssl" {
        String::new()
    } else {
        format!(
            "  sslca: '{home}/root.crt'\n  sslkey: '{home}/mysql.key'\n  sslcert: '{home}/mysql.crt'\n"
        )
    };
    f.add(
        yml,
        format!(
            "# Generated by Chef (Engine Yard stack, database.yml template).\n\
             default: &default\n  adapter: mysql2\n  encoding: utf8mb4\n  reconnect: false\n  pool: 25\n\
             \x20 database: shop\n  username: deploy\n  password: <redacted>\n  host: {host}\n  port: 3306\n{ssl}\n\
             production:\n  <<: *default\n"
        ),
        "0640",
        "deploy",
    );
}

/// mysql.json, connection.json and probe.json of a database host.
pub(super) fn db_json(
    h: &HostPlan,
    kit: &Kit,
    all: &[HostPlan],
    now: i64,
) -> Vec<(&'static str, Value)> {
    let fault = h.fault.unwrap_or("");
    let data = data_dir(h);
    let (version, comment) = if h.mariadb {
        ("10.11.6-MariaDB-0+deb12u1-log", "Debian 12")
    } else {
        ("8.0.36", "MySQL Community Server - GPL")
    };
    let mut vars: BTreeMap<String, String> = FILLER_VARIABLES
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ssl_on = fault != "have-ssl-disabled" && fault != "config-missing";
    let tls = if fault == "tls11" {
        "TLSv1.1,TLSv1.2,TLSv1.3"
    } else {
        "TLSv1.2,TLSv1.3"
    };
    for (k, v) in [
        ("version", version),
        ("version_comment", comment),
        ("have_ssl", if ssl_on { "YES" } else { "DISABLED" }),
        ("have_openssl", if ssl_on { "YES" } else { "DISABLED" }),
        ("ssl_cipher", ""),
        ("tls_version", tls),
        (
            "require_secure_transport",
            if fault == "no-secure-transport" || !ssl_on {
                "OFF"
            } else {
                "ON"
            },
        ),
        ("datadir", &format!("{data}/")),
        ("server_id", &(h.index + 1).to_string()),
        (
            "read_only",
            if h.kind == Kind::Replica { "ON" } else { "OFF" },
        ),
    ] {
        vars.insert(k.to_string(), v.to_string());
    }
    if fault != "config-missing" {
        for (k, file) in [
            ("ssl_ca", "root.crt"),
            ("ssl_cert", "server.crt"),
            ("ssl_key", "server.key"),
        ] {
            vars.insert(k.to_string(), format!("{data}/{file}"));
        }
    }
    let (nb, na) = if fault == "expired-cert" {
        (now - 800 * DAY, now - 35 * DAY)
    } else {
        (now - 200 * DAY, now + 500 * DAY)
    };
    let mut status = json!({"Uptime": "1836800", "Threads_connected": "12"});
    if ssl_on {
        status["Ssl_server_not_before"] = json!(ssl_date(nb));
        status["Ssl_server_not_after"] = json!(ssl_date(na));
        status["Ssl_version"] = json!("TLSv1.3");
        status["Ssl_cipher"] = json!("TLS_AES_256_GCM_SHA384");
    }
    let net = h
        .address
        .rsplit_once('.')
        .map(|(n, _)| n)
        .unwrap_or("10.0.0");
    let deploy_require = if fault == "account-no-x509" {
        json!({"type": "none"})
    } else {
        json!({"type": "x509"})
    };
    let mut accounts = vec![
        json!({"user": "root", "host": "localhost", "require": {"type": "none"}}),
        json!({"user": "mysql", "host": "localhost", "require": {"type": "none"}, "locked": true}),
        json!({"user": "deploy", "host": "%", "require": deploy_require}),
        json!({"user": "reports", "host": format!("{net}.%"), "require": {"type": "x509"}}),
        json!({"user": "repl", "host": format!("{net}.%"), "require": {"type": "x509"}}),
        json!({"user": "sslaudit", "host": "%", "require": {"type": "x509"}}),
    ];
    if h.mariadb {
        accounts.push(json!({"user": "mariadb.sys", "host": "localhost", "require": {"type": "none"}, "locked": true}));
    } else {
        accounts.push(json!({"user": "mysql.sys", "host": "localhost", "require": {"type": "none"}, "locked": true}));
        accounts.push(json!({"user": "mysql.session", "host": "localhost", "require": {"type": "none"}, "locked": true}));
    }
    let replication = if h.kind == Kind::Replica {
        json!([{
            "name": "", "source_host": master_address(h, all), "source_user": "repl",
            "ssl_allowed": true, "ssl_verify_server_cert": fault != "repl-no-verify",
            "ssl_ca": format!("{data}/root.crt"),
            "ssl_cert": "/root/.mysql/mysql.crt", "ssl_key": "/root/.mysql/mysql.key"
        }])
    } else {
        json!([])
    };
    let mysql = json!({
        "variables": vars, "status": status, "accounts": accounts, "replication": replication
    });
    let endpoint = format!("{}:3306", h.address);
    let connection = if ssl_on {
        json!({"via": "tcp", "endpoint": endpoint, "tls_version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"})
    } else {
        json!({"via": "ssh", "endpoint": "socket"})
    };
    let chain = if fault == "expired-cert" {
        &kit.expired_server_pem
    } else {
        &kit.server_pem
    };
    let probe = if ssl_on {
        json!({
            "address": endpoint, "greeting_version": version, "advertises_ssl": true,
            "protocol": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "chain_pem": [chain],
            "accepted": {"TLSv1": false, "TLSv1.1": fault == "tls11", "TLSv1.2": true, "TLSv1.3": true},
            "error": null
        })
    } else {
        json!({
            "address": endpoint, "greeting_version": version, "advertises_ssl": false,
            "chain_pem": [], "accepted": {}, "error": null
        })
    };
    vec![
        ("mysql.json", mysql),
        ("connection.json", connection),
        ("probe.json", probe),
    ]
}
