//! What a finding is about beyond its file: the object of its
//! [`crate::Location`] (`account:deploy@%`, `option:ssl-ca`,
//! `database.yml:production:sslca`).
//!
//! A [`Subject`] is its text, as every report writes it and as
//! fingerprints, baselines and waivers match it, together with its typed
//! reading ([`SubjectKind`]), which remediation matches on. Rules build
//! subjects with the constructors here, so the wording lives in one place
//! and a runner never parses a string: a rule that reworded its objects
//! would change this module, and its tests.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A location's object: its text, and what the text says.
#[derive(Debug, Clone)]
pub struct Subject {
    text: String,
    kind: SubjectKind,
}

/// The typed reading of a [`Subject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectKind {
    /// `variable:<name>`: a server variable.
    Variable(String),
    /// `option:<name>`: an option of the server's option files.
    Option(String),
    /// `account:<user>@<host>`: a MySQL account.
    Account { user: String, host: String },
    /// `key:<path>`: a private key file.
    Key(String),
    /// `server-key:<path>`: the key of a server certificate.
    ServerKey(String),
    /// `autogen:<dir>`: the keys the server generated itself in a directory.
    Autogen(String),
    /// `database.yml:<environment>` or `database.yml:<environment>:<setting>`.
    /// Read back from a report's text, an environment name holding `:` is
    /// taken up to the last `:` (rules build these with
    /// [`Subject::database_yml`], never from text).
    DatabaseYml {
        environment: String,
        setting: Option<String>,
    },
    /// `channel:<name>`: a replication channel.
    Channel(String),
    /// `probe:<what>`: what the TLS probe saw (an address, a protocol).
    Probe(String),
    /// `host:<what>`: the host as a whole.
    Host(String),
    /// Any other object (certificates, identities, collection problems,
    /// rule packs' own): the text alone says it.
    Other,
}

impl Subject {
    pub fn variable(name: &str) -> Self {
        Self::built(
            format!("variable:{name}"),
            SubjectKind::Variable(name.into()),
        )
    }

    pub fn option(name: &str) -> Self {
        Self::built(format!("option:{name}"), SubjectKind::Option(name.into()))
    }

    pub fn account(user: &str, host: &str) -> Self {
        Self::built(
            format!("account:{user}@{host}"),
            SubjectKind::Account {
                user: user.into(),
                host: host.into(),
            },
        )
    }

    pub fn key(path: &str) -> Self {
        Self::built(format!("key:{path}"), SubjectKind::Key(path.into()))
    }

    pub fn server_key(path: &str) -> Self {
        Self::built(
            format!("server-key:{path}"),
            SubjectKind::ServerKey(path.into()),
        )
    }

    pub fn autogen(dir: &str) -> Self {
        Self::built(format!("autogen:{dir}"), SubjectKind::Autogen(dir.into()))
    }

    /// A database.yml environment, or one of its settings.
    pub fn database_yml(environment: &str, setting: Option<&str>) -> Self {
        let text = match setting {
            Some(s) => format!("database.yml:{environment}:{s}"),
            None => format!("database.yml:{environment}"),
        };
        Self::built(
            text,
            SubjectKind::DatabaseYml {
                environment: environment.into(),
                setting: setting.map(str::to_string),
            },
        )
    }

    pub fn channel(name: &str) -> Self {
        Self::built(format!("channel:{name}"), SubjectKind::Channel(name.into()))
    }

    pub fn probe(what: &str) -> Self {
        Self::built(format!("probe:{what}"), SubjectKind::Probe(what.into()))
    }

    /// `galera:<setting>`: a Galera setting a cluster's members compare
    /// (`galera:socket.ssl_cipher`, `galera:sst-tls`).
    pub fn galera(setting: &str) -> Self {
        Self::built(format!("galera:{setting}"), SubjectKind::Other)
    }

    fn built(text: String, kind: SubjectKind) -> Self {
        Subject { text, kind }
    }

    /// The text, as reports write it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the text says.
    pub fn kind(&self) -> &SubjectKind {
        &self.kind
    }

    /// Reads a subject from its text (a report read back, a rule pack's
    /// object): the text is kept as it is, and the kind is what it says.
    pub fn parse(text: impl Into<String>) -> Self {
        let text = text.into();
        let kind = kind_of(&text);
        Subject { text, kind }
    }
}

fn kind_of(text: &str) -> SubjectKind {
    let Some((prefix, rest)) = text.split_once(':') else {
        return SubjectKind::Other;
    };
    let rest = rest.to_string();
    match prefix {
        "variable" => SubjectKind::Variable(rest),
        "option" => SubjectKind::Option(rest),
        "account" => match rest.rsplit_once('@') {
            Some((user, host)) => SubjectKind::Account {
                user: user.into(),
                host: host.into(),
            },
            None => SubjectKind::Other,
        },
        "key" => SubjectKind::Key(rest),
        "server-key" => SubjectKind::ServerKey(rest),
        "autogen" => SubjectKind::Autogen(rest),
        "database.yml" => match rest.rsplit_once(':') {
            Some((environment, setting)) => SubjectKind::DatabaseYml {
                environment: environment.into(),
                setting: Some(setting.into()),
            },
            None => SubjectKind::DatabaseYml {
                environment: rest,
                setting: None,
            },
        },
        "channel" => SubjectKind::Channel(rest),
        "probe" => SubjectKind::Probe(rest),
        "host" => SubjectKind::Host(rest),
        _ => SubjectKind::Other,
    }
}

impl From<String> for Subject {
    fn from(text: String) -> Self {
        Subject::parse(text)
    }
}

impl From<&str> for Subject {
    fn from(text: &str) -> Self {
        Subject::parse(text)
    }
}

impl Deref for Subject {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// Equal, ordered and hashed as their text: the text is what reports sort,
// fingerprint and match by.
impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Subject {}

impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Subject {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl std::hash::Hash for Subject {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Serialize for Subject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Subject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Subject::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every constructor's text reads back as the same kind: a report read
    /// back is the finding that was written.
    #[test]
    fn constructed_subjects_read_back_as_themselves() {
        let all = [
            Subject::variable("have_ssl"),
            Subject::option("ssl-ca"),
            Subject::account("deploy", "%"),
            Subject::account("odd@user", "10.0.0.%"),
            Subject::key("/db/mysql/5.7/data/server.key"),
            Subject::server_key("/db/mysql/5.7/data/server.crt"),
            Subject::autogen("/var/lib/mysql"),
            Subject::database_yml("production", None),
            Subject::database_yml("production", Some("sslca")),
            Subject::channel("default"),
            Subject::probe("10.0.0.10:3306"),
        ];
        for s in all {
            let back = Subject::parse(s.as_str());
            assert_eq!(back.kind(), s.kind(), "{s}");
            assert_eq!(back.as_str(), s.as_str());
        }
    }

    /// Today's wording, which fingerprints and waivers depend on.
    #[test]
    fn the_texts_are_the_reports_object_strings() {
        assert_eq!(Subject::account("deploy", "%").as_str(), "account:deploy@%");
        assert_eq!(Subject::option("ssl-ca").as_str(), "option:ssl-ca");
        assert_eq!(
            Subject::database_yml("staging", Some("sslverify")).as_str(),
            "database.yml:staging:sslverify"
        );
        assert_eq!(Subject::autogen("/d").as_str(), "autogen:/d");
        assert_eq!(Subject::key("/k").as_str(), "key:/k");
    }

    #[test]
    fn any_text_is_kept_as_it_is() {
        for text in [
            "",
            ":",
            "account:",
            "account:nobody",
            "cert:/a#0",
            "x:y:z",
            "é:\n",
        ] {
            let s = Subject::parse(text);
            assert_eq!(s.as_str(), text);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
        assert_eq!(Subject::parse("account:nobody").kind(), &SubjectKind::Other);
        assert_eq!(Subject::parse("cert:/a#0").kind(), &SubjectKind::Other);
    }
}
