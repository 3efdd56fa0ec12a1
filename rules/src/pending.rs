//! Findings that compare environments with each other, which a shard of a
//! scan (`--shard K/N`) cannot finish alone: today one, SSL012's server key
//! shared between environments.
//!
//! The rule writes such a finding for every server key it sees, complete
//! but for its message and the evidence naming the other environment, and
//! marks it with the key ([`Finding::awaiting`]). The policy and the fix
//! commands apply to it like to any finding (they depend on the rule, the
//! host and the location only). A whole scan then [`settle`]s them over its
//! hosts; a shard writes them as [`Pending`] into its reports, and `merge`
//! settles the union of every shard's, so that the merged report is exactly
//! the whole scan's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Finding;

/// A host's server certificate key, as the comparison across environments
/// needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySighting {
    /// SHA-256 of the certificate's SubjectPublicKeyInfo.
    pub spki_sha256: String,
    /// The host is its environment's db_master (named first when it shares
    /// the key).
    pub master: bool,
    /// The certificate file.
    pub path: String,
    /// The certificate as messages name it (`CN=db-master`).
    pub name: String,
}

/// A finding waiting for the hosts of other shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub key: KeySighting,
    /// The finding as far as the shard can write it: without its message
    /// and the evidence that names the other environment.
    pub finding: Finding,
}

/// What completes a pending finding reported on its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub message: String,
    /// `evidence.shared_with`: `<environment>/<host>` of the host named.
    pub shared_with: String,
}

/// For each `(environment, host, key)`, in order, how its finding reads,
/// or `None` when it is not reported (no other environment has the key, or
/// its environment is the first, by name, that has it). One key, many
/// environments: every host of the later environments (by name) is
/// reported, naming the first environment's db_master if it has the key,
/// else its first host by name.
pub fn completions(keys: &[(&str, &str, &KeySighting)]) -> Vec<Option<Completion>> {
    type Envs<'a> = BTreeMap<&'a str, Vec<usize>>;
    let mut by_key: BTreeMap<&str, Envs<'_>> = BTreeMap::new();
    for (i, (env, _, key)) in keys.iter().enumerate() {
        by_key
            .entry(key.spki_sha256.as_str())
            .or_default()
            .entry(env)
            .or_default()
            .push(i);
    }
    let mut out = vec![None; keys.len()];
    for envs in by_key.values() {
        let mut iter = envs.iter();
        let Some((first_env, first_hosts)) = iter.next() else {
            continue;
        };
        let Some(&other) = first_hosts
            .iter()
            .min_by_key(|&&i| (!keys[i].2.master, keys[i].1))
        else {
            continue;
        };
        let (_, other_host, other_key) = keys[other];
        for (_, hosts) in iter {
            for &i in hosts {
                let key = keys[i].2;
                out[i] = Some(Completion {
                    message: format!(
                        "server certificate {} ({}) uses the same key as {first_env}/{other_host} ({})",
                        key.path, key.name, other_key.path
                    ),
                    shared_with: format!("{first_env}/{other_host}"),
                });
            }
        }
    }
    out
}

/// Completes the awaiting findings among `findings` over the hosts they
/// hold (a whole scan): those reported go to the end, the others are
/// dropped.
pub fn settle(findings: &mut Vec<Finding>) {
    let pending = take(findings);
    findings.extend(complete(pending));
}

/// Moves the awaiting findings out of `findings`.
pub fn take(findings: &mut Vec<Finding>) -> Vec<Pending> {
    let mut pending = Vec::new();
    findings.retain_mut(|f| match f.awaiting.take() {
        Some(key) => {
            pending.push(Pending {
                key: *key,
                finding: f.clone(),
            });
            false
        }
        None => true,
    });
    pending
}

/// The findings the pending ones of every host of a scan give.
pub fn complete(pending: Vec<Pending>) -> Vec<Finding> {
    complete_with(
        pending,
        |p| {
            (
                p.finding.environment.as_str(),
                p.finding.host.as_str(),
                &p.key,
            )
        },
        |p, c| {
            let mut f = p.finding;
            f.message = c.message;
            f.evidence.insert("shared_with".to_string(), c.shared_with);
            f
        },
    )
}

/// Completes pending items of any form (findings here, SARIF results in
/// `merge`): `sighting` says each one's environment, host and key; the
/// ones [`completions`] reports are finished by `finish`, the others dropped.
pub fn complete_with<T, U>(
    pending: Vec<T>,
    sighting: impl for<'a> Fn(&'a T) -> (&'a str, &'a str, &'a KeySighting),
    mut finish: impl FnMut(T, Completion) -> U,
) -> Vec<U> {
    let done = completions(&pending.iter().map(sighting).collect::<Vec<_>>());
    pending
        .into_iter()
        .zip(done)
        .filter_map(|(p, c)| c.map(|c| finish(p, c)))
        .collect()
}
