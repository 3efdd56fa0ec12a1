//! `--shard K/N`: which environments one job of a CI matrix scans.
//!
//! Fleet rules compare the hosts of an environment with each other (an
//! application's database.yml with its db_master's accounts, a replica's CA
//! with its master's), so a shard holds whole environments, never part of
//! one. The assignment is a function of the selected environments and their
//! host counts alone, so N jobs on N machines agree without talking:
//!
//! 1. the environments the scan selected (after `--limit`) are ordered by
//!    host count, largest first, then by name (byte order);
//! 2. each in turn goes to the shard holding the fewest hosts so far, the
//!    lowest-numbered one on a tie.
//!
//! An environment larger than a fair share (`ceil(hosts / N)`) still stays
//! whole, in one shard; a shard may hold no environment at all when N
//! exceeds their number (its reports are then empty, and merging all N
//! still gives the whole scan).

use std::collections::{BTreeMap, BTreeSet};

pub use sslaudit_rules::report::Shard;

/// The environments of one shard, and what the user should know about the split.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pick {
    pub environments: BTreeSet<String>,
    /// Lines for stderr: environments too large for a fair share, an empty shard.
    pub notes: Vec<String>,
}

/// The environments shard `shard` scans, given the host count of every
/// selected environment (see the module docs).
pub fn pick(shard: Shard, sizes: &BTreeMap<String, usize>) -> Pick {
    let assigned = assign(sizes, shard.count);
    let total: usize = sizes.values().sum();
    let fair = total.div_ceil(shard.count as usize);
    let mut pick = Pick::default();
    for (env, k) in &assigned {
        if *k != shard.index {
            continue;
        }
        pick.environments.insert(env.clone());
        let hosts = sizes[env];
        if shard.count > 1 && hosts > fair {
            pick.notes.push(format!(
                "note: environment {env} has {hosts} hosts, more than a fair share ({fair} of \
                 {total} in {} shards): it stays whole in shard {shard}, since fleet rules \
                 compare the hosts of an environment",
                shard.count
            ));
        }
    }
    if pick.environments.is_empty() {
        pick.notes.push(format!(
            "note: shard {shard} holds no environment (the selection has {} for {} shards): \
             its reports list no host",
            sizes.len(),
            shard.count
        ));
    }
    pick
}

/// The 1-based shard of every environment among `count` (module docs).
pub fn assign(sizes: &BTreeMap<String, usize>, count: u32) -> BTreeMap<String, u32> {
    let mut order: Vec<(&String, usize)> = sizes.iter().map(|(e, n)| (e, *n)).collect();
    // BTreeMap order is byte order of the names; a stable sort keeps it
    // among environments of one size.
    order.sort_by_key(|e| std::cmp::Reverse(e.1));
    let mut load = vec![0usize; count.max(1) as usize];
    let mut out = BTreeMap::new();
    for (env, hosts) in order {
        let (i, _) = load
            .iter()
            .enumerate()
            .min_by_key(|(i, l)| (**l, *i))
            .expect("at least one shard");
        load[i] += hosts;
        // `i` < `count`, itself a u32.
        out.insert(env.clone(), u32::try_from(i).unwrap_or(u32::MAX) + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(list: &[(&str, usize)]) -> BTreeMap<String, usize> {
        list.iter().map(|(e, n)| (e.to_string(), *n)).collect()
    }

    #[test]
    fn parse_and_display() {
        assert!(Shard::parse("0/3").is_err());
        assert!(Shard::parse("4/3").is_err());
        assert!(Shard::parse("2").is_err());
        assert!(Shard::parse("a/3").is_err());
        assert_eq!(Shard::parse(" 2/3").unwrap(), Shard { index: 2, count: 3 });
        assert_eq!(Shard { index: 2, count: 3 }.to_string(), "2/3");
    }

    #[test]
    fn largest_first_to_the_lightest_shard() {
        // Pinned: other tools reimplementing the documented algorithm agree.
        let s = sizes(&[("a", 1), ("b", 2), ("c", 5), ("d", 2), ("e", 3)]);
        let got = assign(&s, 3);
        // c(5) -> 1, e(3) -> 2, b(2) -> 3, d(2) -> 3 (the lightest, 2),
        // a(1) -> 2 (3 against 4): loads 5, 4, 4.
        assert_eq!(
            got,
            BTreeMap::from([
                ("a".to_string(), 2),
                ("b".to_string(), 3),
                ("c".to_string(), 1),
                ("d".to_string(), 3),
                ("e".to_string(), 2),
            ])
        );
    }

    #[test]
    fn every_environment_in_exactly_one_shard() {
        let s = sizes(&[
            ("prod", 40),
            ("staging", 3),
            ("qa", 3),
            ("dev", 1),
            ("perf", 7),
        ]);
        for n in 1..=7 {
            let mut seen = BTreeSet::new();
            for k in 1..=n {
                for e in pick(Shard { index: k, count: n }, &s).environments {
                    assert!(seen.insert(e), "in two shards of {n}");
                }
            }
            assert_eq!(seen.len(), s.len(), "all covered with {n} shards");
        }
    }

    #[test]
    fn notes_for_oversized_environments_and_empty_shards() {
        let s = sizes(&[("prod", 40), ("staging", 3)]);
        let one = pick(Shard { index: 1, count: 3 }, &s);
        assert_eq!(one.environments, BTreeSet::from(["prod".to_string()]));
        assert_eq!(one.notes.len(), 1);
        assert!(one.notes[0].contains("environment prod has 40 hosts, more than a fair share (15 of 43 in 3 shards): it stays whole in shard 1/3"), "{}", one.notes[0]);
        let three = pick(Shard { index: 3, count: 3 }, &s);
        assert!(three.environments.is_empty());
        assert!(three.notes[0].contains("shard 3/3 holds no environment"));
        assert!(pick(Shard { index: 1, count: 1 }, &s).notes.is_empty());
    }
}
