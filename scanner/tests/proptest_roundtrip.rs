//! Property test: any host's evidence written as a snapshot folder
//! (`write_host`) reads back (`read_host`) as the same evidence, text
//! files redacted as the writer promises, problems folded into host.toml.
#![allow(clippy::unwrap_used)] // helpers of integration tests panic like the tests do

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use sslaudit_rules::facts::{
    Access, CensusSource, CollectionProblem, ConnectionFacts, FileMeta, FileStatus, GaleraPort,
    KeyAlgorithm, LiveSession, PrivateKeyFacts, Reachability, Role, SessionCensus,
    SessionTransport,
};
use sslaudit_scanner::evidence::{FileEntry, HostEvidence, HostMeta, MysqlRecord, ProbeRecord};
use sslaudit_scanner::snapshot::{Written, as_written, read_host, write_host};

/// Any text (control characters and non-ASCII included).
fn text() -> impl Strategy<Value = String> {
    "(?s).{0,20}"
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,10}"
}

fn problem() -> impl Strategy<Value = CollectionProblem> {
    (text(), option::of(text()), option::of(1u32..10_000), text()).prop_map(
        |(what, path, line, message)| CollectionProblem {
            what,
            path,
            line,
            message,
        },
    )
}

fn meta() -> impl Strategy<Value = HostMeta> {
    (
        "[a-z][a-z0-9.-]{0,15}",
        "[a-z][a-z0-9_-]{0,10}",
        prop::sample::subsequence(vec![Role::DbMaster, Role::DbReplica, Role::App], 0..=3),
        option::of("[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"),
        prop::sample::select(vec!["engineyard".to_string(), "debian".to_string()]),
        btree_map(word(), text(), 0..3),
        option::of(word()),
        vec("/[a-z]{1,8}/config/database\\.yml", 0..2),
        option::of(text()),
        vec(problem(), 0..3),
        vec(word(), 0..2),
        vec(word(), 0..2),
    )
        .prop_map(
            |(
                name,
                environment,
                roles,
                address,
                layout,
                overrides,
                app_user,
                dbyml,
                down,
                problems,
                aliases,
                named_users,
            )| {
                HostMeta {
                    // Twelve strategies is a tuple's limit: the name's
                    // length picks the access, both occur.
                    access: if name.len() % 2 == 0 {
                        Access::Wire
                    } else {
                        Access::Ssh
                    },
                    aliases,
                    named_users,
                    name,
                    environment,
                    roles,
                    address,
                    layout,
                    layout_overrides: overrides,
                    app_user,
                    database_yml: dbyml,
                    reachability: match down {
                        Some(reason) => Reachability::Unreachable { reason },
                        None => Reachability::Reachable,
                    },
                    problems,
                }
            },
        )
}

fn key() -> impl Strategy<Value = PrivateKeyFacts> {
    (
        prop_oneof![
            Just(KeyAlgorithm::Rsa),
            Just(KeyAlgorithm::Ec),
            Just(KeyAlgorithm::Ed25519),
            Just(KeyAlgorithm::Dsa),
            word().prop_map(KeyAlgorithm::Other),
        ],
        any::<u32>(),
        option::of(word()),
        any::<bool>(),
        option::of("[0-9a-f]{64}"),
        prop::sample::select(vec!["RSA PRIVATE KEY", "PRIVATE KEY", "DER"]),
    )
        .prop_map(
            |(algorithm, bits, curve, encrypted, spki, format)| PrivateKeyFacts {
                algorithm,
                bits,
                curve,
                encrypted,
                spki_sha256: spki,
                format: format.to_string(),
            },
        )
}

/// One file: with content (metadata all set, as the collectors record
/// it), or without (missing, unreadable, a directory, a key as facts).
fn entry(path: String) -> impl Strategy<Value = FileEntry> {
    let owner = || prop::sample::select(vec!["root".to_string(), "mysql".to_string()]);
    let with_content = (vec(any::<u8>(), 0..200), 0u32..0o7777, owner(), owner()).prop_map({
        let path = path.clone();
        move |(content, mode, owner, group)| FileEntry {
            meta: FileMeta {
                path: path.clone(),
                status: FileStatus::Present,
                mode: Some(mode),
                owner: Some(owner),
                group: Some(group),
                size: Some(content.len() as u64),
                lines: None,
            },
            content: Some(content),
            key: None,
        }
    });
    let status = prop_oneof![
        Just(FileStatus::Missing),
        text().prop_map(|reason| FileStatus::Unreadable { reason }),
        Just(FileStatus::Present),
    ];
    let without = (
        status,
        option::of(0u32..0o7777),
        option::of(owner()),
        option::of(any::<u64>()),
        option::of(key()),
    )
        .prop_map(move |(status, mode, owner, size, key)| FileEntry {
            meta: FileMeta {
                path: path.clone(),
                status,
                mode,
                owner: owner.clone(),
                group: owner,
                size,
                lines: None,
            },
            content: None,
            key,
        });
    prop_oneof![with_content, without]
}

/// Host paths: no two where one is a directory of the other (a snapshot
/// cannot hold `/a` as a file and `/a/b`).
fn files() -> impl Strategy<Value = BTreeMap<String, FileEntry>> {
    // Some end in .cnf: option files, which are kept redacted.
    vec("(/[a-zA-Z0-9_][a-zA-Z0-9._ -]{0,8}){1,4}(\\.cnf)?", 0..8)
        .prop_map(|paths| {
            let mut kept: Vec<String> = Vec::new();
            for p in paths {
                let clash = kept.iter().any(|k| {
                    *k == p || k.starts_with(&format!("{p}/")) || p.starts_with(&format!("{k}/"))
                });
                if !clash {
                    kept.push(p);
                }
            }
            kept
        })
        .prop_flat_map(|paths| {
            let entries: Vec<_> = paths.into_iter().map(entry).collect();
            entries
        })
        .prop_map(|entries| {
            entries
                .into_iter()
                .map(|e| (e.meta.path.clone(), e))
                .collect()
        })
}

fn mysql() -> impl Strategy<Value = MysqlRecord> {
    (
        btree_map(word(), text(), 0..4),
        btree_map(word(), text(), 0..3),
        btree_map(word(), btree_map(word(), text(), 0..2), 0..2),
        option::of(census()),
    )
        .prop_map(|(variables, status, tls_channels, sessions)| MysqlRecord {
            variables,
            status,
            accounts: None,
            replication: None,
            tls_channels,
            sessions,
        })
}

fn census() -> impl Strategy<Value = SessionCensus> {
    let transport = prop_oneof![
        Just(SessionTransport::Tls),
        Just(SessionTransport::Tcp),
        Just(SessionTransport::Local),
        Just(SessionTransport::Unknown),
    ];
    let session = (
        word(),
        text(),
        transport,
        option::of(text()),
        option::of(text()),
        1u32..50,
        option::of(1u32..40),
    )
        .prop_map(
            |(user, host, transport, cipher, program, count, seen)| LiveSession {
                user,
                host,
                transport,
                cipher,
                program,
                count,
                seen,
            },
        );
    let source = prop_oneof![
        Just(CensusSource::PerformanceSchema),
        Just(CensusSource::Processlist),
        Just(CensusSource::Unavailable),
    ];
    (
        source,
        option::of(text()),
        vec(session, 0..3),
        1u32..40,
        0u32..600,
    )
        .prop_map(
            |(source, note, sessions, samples, window_secs)| SessionCensus {
                samples,
                window_secs,
                ..SessionCensus::single(source, note, sessions)
            },
        )
}

fn probe() -> impl Strategy<Value = ProbeRecord> {
    (
        "127\\.0\\.0\\.[0-9]{1,3}:[0-9]{1,5}",
        option::of(text()),
        any::<bool>(),
        option::of(text()),
        vec(text(), 0..2),
        btree_map(word(), any::<bool>(), 0..3),
        option::of(text()),
        (
            option::of(plaintext_answer()),
            option::of(any::<bool>()),
            vec(text(), 0..2),
        ),
    )
        .prop_map(
            |(
                address,
                greeting_version,
                advertises_ssl,
                protocol,
                chain_pem,
                accepted,
                error,
                (plaintext, requests_client_cert, client_ca_names),
            )| {
                ProbeRecord {
                    address,
                    greeting_version,
                    advertises_ssl,
                    protocol,
                    cipher: None,
                    chain_pem,
                    accepted,
                    error,
                    plaintext,
                    requests_client_cert,
                    client_ca_names,
                }
            },
        )
}

fn plaintext_answer() -> impl Strategy<Value = sslaudit_rules::facts::PlaintextAnswer> {
    use sslaudit_rules::facts::{PlaintextAnswer, PlaintextOutcome};
    prop_oneof![
        (any::<u16>(), option::of("[0-9A-Z]{5}"), text())
            .prop_map(|(code, state, message)| PlaintextAnswer::error(code, state, message)),
        text().prop_map(PlaintextAnswer::none),
        Just(PlaintextAnswer {
            outcome: PlaintextOutcome::LoggedIn,
            code: None,
            sql_state: None,
            message: String::new(),
        }),
    ]
}

fn galera_port() -> impl Strategy<Value = GaleraPort> {
    (
        "127\\.0\\.0\\.[0-9]{1,3}:[0-9]{1,5}",
        option::of(any::<bool>()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(address, tls, protocol, cipher, error)| GaleraPort {
            address,
            tls,
            protocol,
            cipher,
            error,
        })
}

fn evidence() -> impl Strategy<Value = HostEvidence> {
    (
        meta(),
        files(),
        option::of(mysql()),
        option::of(
            (word(), text(), option::of(text())).prop_map(|(via, endpoint, tls)| ConnectionFacts {
                via,
                endpoint,
                tls_version: tls,
                cipher: None,
            }),
        ),
        option::of(probe()),
        vec(galera_port(), 0..2),
        vec(problem(), 0..3),
    )
        .prop_map(
            |(meta, files, mysql, connection, probe, galera_ports, problems)| HostEvidence {
                meta,
                origin: "proptest".into(),
                declared_at: None,
                files,
                mysql,
                connection,
                probe,
                galera_ports,
                problems,
            },
        )
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn snapshot_write_then_read_is_identity(ev in evidence()) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = write_host(tmp.path(), &ev).unwrap();
        let back = read_host(&dir).unwrap();

        let mut want_meta = ev.meta.clone();
        want_meta.problems.extend(ev.problems.iter().cloned());
        prop_assert_eq!(json(&back.meta), json(&want_meta));

        let paths: Vec<&String> = back.files.keys().collect();
        prop_assert_eq!(paths, ev.files.keys().collect::<Vec<_>>());
        let mut withheld = Vec::new();
        for (path, want) in &ev.files {
            let got = &back.files[path];
            prop_assert_eq!(&got.meta, &want.meta, "{}", path);
            let want_content = match want.content.as_deref().map(|c| as_written(&ev, path, c)) {
                Some(Written::Redacted(c)) => Some(c),
                Some(Written::Withheld(_)) => {
                    withheld.push(path.clone());
                    None
                }
                Some(Written::NotKept) | None => None,
            };
            prop_assert_eq!(got.content.as_deref(), want_content.as_deref(), "{}", path);
            prop_assert_eq!(&got.key, &want.key, "{}", path);
        }
        // A withheld file is the only problem reading the snapshot adds.
        let problem_paths: Vec<String> =
            back.problems.iter().filter_map(|p| p.path.clone()).collect();
        prop_assert_eq!(problem_paths, withheld);
        prop_assert_eq!(back.mysql.as_ref().map(json), ev.mysql.as_ref().map(json));
        prop_assert_eq!(back.connection.as_ref(), ev.connection.as_ref());
        prop_assert_eq!(back.probe.as_ref().map(json), ev.probe.as_ref().map(json));
        prop_assert_eq!(&back.galera_ports, &ev.galera_ports);
    }
}
