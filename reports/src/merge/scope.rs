//! The scope of a merged report, for JSON and SARIF alike: the inputs must
//! record one inventory and policy; shards must share N and `--limit` and
//! all be there, each once.

use std::collections::BTreeMap;

use sslaudit_rules::report::Scope;

use super::MergeError;

/// The scope of the merged report: the inputs must come from one source
/// and policy; shards (`K/N`) must share N and `--limit` and be all there,
/// each once; inputs without shards (one `--limit` job per environment)
/// merge their globs. `None` when no input records a scope (older reports).
pub(super) fn merge_scopes(inputs: &[(&str, Option<&Scope>)]) -> Result<Option<Scope>, MergeError> {
    type Part = fn(&Scope) -> String;
    let describe =
        |s: Option<&Scope>, f: Part| s.map_or_else(|| "nothing (an older report?)".to_string(), f);
    let Some(&(first_name, first)) = inputs.first() else {
        return Ok(None);
    };
    let checks: [(&'static str, Part); 2] = [
        ("inventory (scope.source)", |s| s.source.clone()),
        ("policy and rule packs (scope.policy)", |s| s.policy.clone()),
    ];
    for &(name, scope) in &inputs[1..] {
        for &(what, of) in &checks {
            if scope.map(of) != first.map(of) {
                return Err(MergeError::ScopeDiffers {
                    what,
                    first: first_name.to_string(),
                    first_value: describe(first, of),
                    other: name.to_string(),
                    other_value: describe(scope, of),
                });
            }
        }
    }
    let Some(first) = first else {
        return Ok(None);
    };
    let shard_of: Part = |s| {
        s.shard
            .map_or_else(|| "a whole scan".to_string(), |k| format!("shard {k}"))
    };
    let limit_of: Part = |s| format!("{:?}", s.limit);
    let differs = |what: &'static str, name: &str, s: &Scope, of: Part| MergeError::ScopeDiffers {
        what,
        first: first_name.to_string(),
        first_value: of(first),
        other: name.to_string(),
        other_value: of(s),
    };
    let scopes: Vec<(&str, &Scope)> = inputs
        .iter()
        .filter_map(|(n, s)| Some((*n, (*s)?)))
        .collect();
    let mut merged = first.clone();
    merged.shard = None;
    if first.shard.is_none() {
        for &(name, s) in &scopes[1..] {
            if s.shard.is_some() {
                return Err(differs("part", name, s, shard_of));
            }
            for g in &s.limit {
                if !merged.limit.contains(g) {
                    merged.limit.push(g.clone());
                }
            }
        }
        return Ok(Some(merged));
    }
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let count = first.shard.map_or(1, |k| k.count);
    for &(name, s) in &scopes {
        let Some(k) = s.shard.filter(|k| k.count == count) else {
            return Err(differs("part", name, s, shard_of));
        };
        if s.limit != first.limit {
            return Err(differs("--limit", name, s, limit_of));
        }
        if let Some(other) = seen.insert(k.index, name) {
            return Err(MergeError::ShardTwice {
                first: other.to_string(),
                other: name.to_string(),
                shard: k.to_string(),
            });
        }
    }
    let missing: Vec<String> = (1..=count)
        .filter(|k| !seen.contains_key(k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::ShardsMissing {
            missing: missing.join(", "),
            count,
            got: seen
                .keys()
                .map(|k| format!("{k}/{count}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(Some(merged))
}
