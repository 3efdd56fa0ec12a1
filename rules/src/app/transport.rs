//! How a database.yml environment reaches its server, shared by SSL006 and
//! SSL007 so that every MySQL environment is judged by exactly one of them:
//! TCP environments must carry client keys (SSL006), socket ones can never
//! negotiate TLS (SSL007).

use crate::facts::{DbEnvironment, YmlValue};

/// The transport the client library will pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport<'a> {
    /// TCP to a remote (or ERB-computed, hence unknown) host.
    Tcp,
    /// The Unix socket, where TLS is never negotiated, and why the client picks it.
    Socket(SocketReason<'a>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketReason<'a> {
    /// No `host:` (or an empty one): libmysqlclient falls back to `localhost`.
    NoHost,
    /// `host: localhost`, which libmysqlclient maps to the Unix socket.
    Localhost(&'a YmlValue),
    /// `socket:` is set and the client library honours it.
    Socket(&'a YmlValue),
}

impl SocketReason<'_> {
    /// The line to point at, if the reason is a value.
    pub(crate) fn line(&self) -> Option<u32> {
        match self {
            SocketReason::NoHost => None,
            SocketReason::Localhost(v) | SocketReason::Socket(v) => Some(v.line),
        }
    }
}

/// A value that is set: ERB (unknown at scan time, so assumed set) or a
/// non-blank literal.
pub(crate) fn set_value(v: &Option<YmlValue>) -> Option<&YmlValue> {
    v.as_ref().filter(|v| v.erb || !v.value.trim().is_empty())
}

/// A non-blank literal value (ERB values are unknown at scan time).
pub(crate) fn literal(v: &Option<YmlValue>) -> Option<&YmlValue> {
    v.as_ref().filter(|v| !v.erb && !v.value.trim().is_empty())
}

fn is_trilogy(env: &DbEnvironment) -> bool {
    literal(&env.adapter).is_some_and(|a| a.value.trim().eq_ignore_ascii_case("trilogy"))
}

/// Decides the transport like the client library does.
///
/// libmysqlclient (mysql2, mysql, makara) uses the socket only when the host
/// is absent or exactly `localhost`; a `socket:` next to a remote host is
/// ignored. Trilogy never maps `localhost` to the socket, but Rails' Trilogy
/// adapter drops `host` whenever `socket` is set, so there the socket wins.
pub(crate) fn transport(env: &DbEnvironment) -> Transport<'_> {
    // `url: <%= ENV["DATABASE_URL"] %>`: the host is only known at runtime.
    if env.host.is_none() && env.url.as_ref().is_some_and(|u| u.erb) {
        return Transport::Tcp;
    }
    let socket = set_value(&env.socket);
    if is_trilogy(env) {
        return match socket {
            Some(s) => Transport::Socket(SocketReason::Socket(s)),
            None => Transport::Tcp,
        };
    }
    match set_value(&env.host) {
        Some(h) if h.erb => Transport::Tcp,
        Some(h) if h.value.trim().eq_ignore_ascii_case("localhost") => {
            Transport::Socket(SocketReason::Localhost(h))
        }
        Some(_) => Transport::Tcp,
        None => match socket {
            Some(s) => Transport::Socket(SocketReason::Socket(s)),
            None => Transport::Socket(SocketReason::NoHost),
        },
    }
}

/// The host as written, for messages.
pub(crate) fn host_display(env: &DbEnvironment) -> &str {
    env.host.as_ref().map_or("(no host)", |h| h.value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{env, erb, yv};

    #[test]
    fn libmysqlclient_uses_the_socket_only_for_localhost_or_no_host() {
        let mut e = env("production", 1);
        assert_eq!(transport(&e), Transport::Socket(SocketReason::NoHost));
        e.host = Some(yv("", 2));
        assert_eq!(transport(&e), Transport::Socket(SocketReason::NoHost));
        e.host = Some(yv("LocalHost", 2));
        assert!(matches!(
            transport(&e),
            Transport::Socket(SocketReason::Localhost(_))
        ));
        e.host = Some(yv("127.0.0.1", 2));
        assert_eq!(transport(&e), Transport::Tcp);
        e.socket = Some(yv("/var/run/mysqld/mysqld.sock", 3));
        assert_eq!(
            transport(&e),
            Transport::Tcp,
            "socket ignored with a remote host"
        );
        e.host = None;
        assert!(matches!(
            transport(&e),
            Transport::Socket(SocketReason::Socket(_))
        ));
        e.host = Some(erb("<%= ENV['DB_HOST'] %>", 2));
        assert_eq!(transport(&e), Transport::Tcp);
        // A URL from the environment names its host at runtime.
        let mut u = env("production", 1);
        u.url = Some(erb("<%= ENV['DATABASE_URL'] %>", 2));
        assert_eq!(transport(&u), Transport::Tcp);
    }

    #[test]
    fn trilogy_honours_socket_and_resolves_localhost_over_tcp() {
        let mut e = env("production", 1);
        e.adapter = Some(yv("trilogy", 2));
        e.host = Some(yv("localhost", 3));
        assert_eq!(transport(&e), Transport::Tcp);
        e.host = Some(yv("db.internal", 3));
        e.socket = Some(yv("/tmp/mysql.sock", 4));
        assert!(matches!(
            transport(&e),
            Transport::Socket(SocketReason::Socket(_))
        ));
    }

    #[test]
    fn templates_are_recognised_by_name() {
        assert!(env("default", 1).is_template());
        assert!(env("Defaults", 1).is_template());
        assert!(env(".base", 1).is_template());
        assert!(!env("production", 1).is_template());
    }
}
