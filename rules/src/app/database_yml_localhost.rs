//! SSL007: a database.yml environment whose client ends up on the Unix
//! socket (`localhost`, no host, or a socket the client library honours),
//! where TLS is never negotiated.

use crate::app::transport::{SocketReason, Transport, transport};
use crate::facts::HostFacts;
use crate::rule::Control;
use crate::rule::{Context, Rule, RuleMeta};
use crate::{Finding, Location, Severity};

pub struct DatabaseYmlLocalhost;

const HELP: &str = r#"## What it checks

Every environment of every database.yml that uses a MySQL adapter and whose
client will connect through the Unix socket rather than TCP:

- `host: localhost`: libmysqlclient (mysql2) treats the name `localhost` as
  "use the socket", not as a TCP address;
- no `host:` at all (or an empty one), which defaults to `localhost`;
- a `socket:` the client honours: with libmysqlclient only when the host is
  absent or `localhost`; with Rails' Trilogy adapter always, since it then
  drops `host`.

Environments named `development` or `test` are reported at low severity:
developer and CI databases are often local on purpose.

## Why it matters

TLS is only negotiated over TCP. On the socket the session is never
encrypted, so the verification in "Verify SSL Connections" never shows a
cipher, and an account set to `REQUIRE X509` cannot log in through it. An
application that should use the database master's SSL keys silently does
not.

## How to fix

Set `host:` to the database master's address (or `127.0.0.1` if the server
really is local and TCP is wanted) and remove `socket:`, then add the client
keys:

```yaml
host: <db_master address>
sslca: '/home/deploy/.mysql/root.crt'
sslkey: '/home/deploy/.mysql/mysql.key'
sslcert: '/home/deploy/.mysql/mysql.crt'
```

Check the connection the same way: `mysql -u <user> -h <hostname> <dbname>`,
then `\s` must show `SSL: Cipher in use is ...`. As the seed says, make sure
you are not using `localhost` as the hostname.
"#;

static META: RuleMeta = RuleMeta::new(
    "SSL007",
    "database-yml-localhost",
    Severity::Medium,
    "a database.yml environment connects through the Unix socket, where TLS is never negotiated",
    HELP,
    &[
        "MySQL SSL Support: Verify SSL Connections",
        "MySQL Reference Manual: Connecting to the MySQL Server Using Command Options",
    ],
)
.controls(&[
    Control::nist("SC-8", "transmission confidentiality: the socket connection never negotiates TLS, so the rule cannot confirm protection (seed: Verify SSL Connections)"),
    Control::nist("CM-6", "configuration settings: host localhost in database.yml silently selects the Unix socket"),
])
.from_host_files();

/// Local development and CI databases are commonly reached over the socket
/// on purpose; they still deserve a mention, not an alarm.
fn is_dev_or_test(name: &str) -> bool {
    name.eq_ignore_ascii_case("development") || name.eq_ignore_ascii_case("test")
}

impl Rule for DatabaseYmlLocalhost {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check_host(&self, _cx: &Context<'_>, host: &HostFacts, out: &mut Vec<Finding>) {
        for yml in &host.database_ymls {
            for env in &yml.environments {
                if env.is_template() || !env.is_mysql() {
                    continue;
                }
                let Transport::Socket(reason) = transport(env) else {
                    continue;
                };
                let line = reason.line().unwrap_or(env.line);
                let (cause, evidence) = match reason {
                    SocketReason::NoHost => ("sets no host".to_string(), "no host".to_string()),
                    SocketReason::Localhost(h) => (
                        format!("connects to {}", h.value.trim()),
                        format!("host: {}", h.value.trim()),
                    ),
                    SocketReason::Socket(s) => (
                        format!("sets socket {}", s.value.trim()),
                        format!("socket: {}", s.value.trim()),
                    ),
                };
                let msg = format!(
                    "database.yml environment {} {cause} ({}:{line}): the client uses the Unix socket, where TLS is never negotiated",
                    env.name, yml.path
                );
                let loc = Location::file(yml.path.clone(), Some(line))
                    .with_object(crate::Subject::database_yml(&env.name, None));
                let mut f = self
                    .finding(host, msg, loc)
                    .evidence("environment", env.name.clone())
                    .evidence("transport", evidence);
                if is_dev_or_test(&env.name) {
                    f.severity = Severity::Low;
                }
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{YML, app_host, env, run, tcp_env, yv};

    #[test]
    fn localhost_is_reported_at_the_host_line() {
        let f = run(
            &DatabaseYmlLocalhost,
            &app_host(vec![tcp_env("production", 10, "localhost")]),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            format!(
                "database.yml environment production connects to localhost ({YML}:12): the client uses the Unix socket, where TLS is never negotiated"
            )
        );
        assert_eq!(f[0].location.line, Some(12));
        assert_eq!(
            f[0].location.object.as_deref(),
            Some("database.yml:production")
        );
        assert_eq!(f[0].severity, Severity::Medium);
    }

    #[test]
    fn no_host_and_socket_are_reported() {
        let mut sock = env("staging", 20);
        sock.socket = Some(yv("/var/run/mysqld/mysqld.sock", 23));
        let f = run(
            &DatabaseYmlLocalhost,
            &app_host(vec![env("production", 1), sock]),
        );
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("production sets no host"));
        assert_eq!(f[0].location.line, Some(1));
        assert!(
            f[1].message
                .contains("staging sets socket /var/run/mysqld/mysqld.sock")
        );
        assert_eq!(f[1].location.line, Some(23));
    }

    #[test]
    fn development_and_test_are_low() {
        let h = app_host(vec![
            tcp_env("development", 1, "localhost"),
            tcp_env("test", 10, "localhost"),
        ]);
        let f = run(&DatabaseYmlLocalhost, &h);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.severity == Severity::Low));
    }

    #[test]
    fn remote_hosts_templates_and_other_adapters_pass() {
        let mut remote_with_socket = tcp_env("production", 1, "10.0.0.10");
        remote_with_socket.socket = Some(yv("/tmp/mysql.sock", 4));
        let mut sqlite = env("cache", 20);
        sqlite.adapter = Some(yv("sqlite3", 21));
        let h = app_host(vec![
            remote_with_socket,
            tcp_env("staging", 10, "127.0.0.1"),
            env("default", 30),
            sqlite,
        ]);
        assert!(run(&DatabaseYmlLocalhost, &h).is_empty());
    }
}
