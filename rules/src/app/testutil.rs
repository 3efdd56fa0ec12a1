//! Hand-built facts for the app family's unit tests.

use crate::facts::{
    DatabaseYml, DbEnvironment, FileMeta, FileStatus, Fleet, HostFacts, Role, YmlValue,
};
use crate::layout::Layout;
use crate::policy::Thresholds;
use crate::{Context, Finding, Rule};

pub(crate) const YML: &str = "/data/shop/current/config/database.yml";

pub(crate) fn yv(value: &str, line: u32) -> YmlValue {
    YmlValue {
        value: value.to_string(),
        line,
        erb: false,
    }
}

pub(crate) fn erb(value: &str, line: u32) -> YmlValue {
    YmlValue {
        value: value.to_string(),
        line,
        erb: true,
    }
}

/// An environment with nothing set.
pub(crate) fn env(name: &str, line: u32) -> DbEnvironment {
    DbEnvironment {
        name: name.to_string(),
        line,
        adapter: None,
        host: None,
        port: None,
        socket: None,
        username: None,
        database: None,
        sslca: None,
        sslkey: None,
        sslcert: None,
        sslcapath: None,
        sslcipher: None,
        ssl_mode: None,
        sslverify: None,
        url: None,
    }
}

/// A mysql2 environment connecting to `host` (line + 1 .. + 2).
pub(crate) fn tcp_env(name: &str, line: u32, host: &str) -> DbEnvironment {
    let mut e = env(name, line);
    e.adapter = Some(yv("mysql2", line + 1));
    e.host = Some(yv(host, line + 2));
    e
}

/// The seed's three client key settings.
pub(crate) fn with_seed_keys(mut e: DbEnvironment) -> DbEnvironment {
    let l = e.line;
    e.sslca = Some(yv("/home/deploy/.mysql/root.crt", l + 5));
    e.sslkey = Some(yv("/home/deploy/.mysql/mysql.key", l + 6));
    e.sslcert = Some(yv("/home/deploy/.mysql/mysql.crt", l + 7));
    e
}

/// An app host whose one database.yml holds `envs`.
pub(crate) fn app_host(envs: Vec<DbEnvironment>) -> HostFacts {
    let mut h = HostFacts::new("app-1", "production", Layout::engineyard());
    h.roles.insert(Role::App);
    h.app_user = Some("deploy".into());
    h.database_ymls.push(DatabaseYml {
        path: YML.into(),
        environments: envs,
    });
    h
}

pub(crate) fn set_file(h: &mut HostFacts, path: &str, status: FileStatus) {
    h.files.insert(
        path.to_string(),
        FileMeta {
            path: path.to_string(),
            status,
            mode: None,
            owner: None,
            group: None,
            size: None,
            lines: None,
        },
    );
}

pub(crate) fn run_with(rule: &dyn Rule, host: &HostFacts, thresholds: &Thresholds) -> Vec<Finding> {
    let fleet = Fleet {
        hosts: vec![host.clone()],
    };
    let cx = Context {
        as_of: 1_796_083_200,
        thresholds,
        fleet: &fleet,
    };
    let mut out = Vec::new();
    rule.check_host(&cx, host, &mut out);
    out
}

pub(crate) fn run(rule: &dyn Rule, host: &HostFacts) -> Vec<Finding> {
    run_with(rule, host, &Thresholds::default())
}
