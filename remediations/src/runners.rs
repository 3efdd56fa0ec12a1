//! Runners: turn what a remediation must produce into a [`Plan`] (pure),
//! with the secret parts kept out of the plan in a generated-content store.

use std::collections::{BTreeMap, BTreeSet};

use crate::keygen::KeyFile;
use crate::plan::{Action, Applicability, Content, Plan, Step};

/// A plan that lays key files out (directories first, then files), and the
/// store holding the private keys it refers to: a plan printed or saved as
/// JSON never contains key material.
///
/// `host_of` maps a key file's host to the plan host that receives it;
/// `with_owners` keeps the files' owners (false when writing to a local
/// folder, where the service users may not exist).
pub fn key_files_plan(
    files: &[KeyFile],
    run_id: &str,
    created_at: &str,
    title: &str,
    host_of: impl Fn(&KeyFile) -> (String, String),
    with_owners: bool,
) -> (Plan, BTreeMap<String, Vec<u8>>) {
    let mut steps = Vec::new();
    let mut store = BTreeMap::new();
    let placed: Vec<(String, String, &KeyFile)> = files
        .iter()
        .map(|f| {
            let (host, path) = host_of(f);
            (host, path, f)
        })
        .collect();
    let dirs: BTreeSet<(String, String)> = placed
        .iter()
        .filter_map(|(host, path, _)| {
            path.rsplit_once('/')
                .map(|(dir, _)| (host.clone(), dir.to_string()))
        })
        .filter(|(_, dir)| !dir.is_empty())
        .collect();
    for (host, dir) in dirs {
        steps.push(Step {
            id: steps.len() + 1,
            host,
            action: Action::MakeDir {
                path: dir,
                mode: 0o755,
                owner: None,
            },
            why: "the layout's key directory".into(),
            precondition: None,
            undo: None,
            applicability: Applicability::Safe,
        });
    }
    for (host, path, f) in placed {
        let content = if f.private {
            let id = format!("{host}:{path}");
            store.insert(id.clone(), f.content.clone().into_bytes());
            Content::Generated { id }
        } else {
            Content::Text(f.content.clone())
        };
        steps.push(Step {
            id: steps.len() + 1,
            host,
            action: Action::WriteFile {
                path,
                content,
                mode: f.mode,
                owner: with_owners.then(|| f.owner.clone()),
                group: with_owners.then(|| f.group.clone()),
            },
            why: if f.private {
                format!(
                    "private key for {} (mode {:04o} from creation)",
                    f.host, f.mode
                )
            } else {
                format!("certificate for {}", f.host)
            },
            precondition: None,
            undo: None,
            applicability: Applicability::Safe,
        });
    }
    let plan = Plan {
        run_id: run_id.to_string(),
        created_at: created_at.to_string(),
        title: title.to_string(),
        steps,
    };
    (plan, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, private: bool) -> KeyFile {
        KeyFile {
            host: "db-master".into(),
            path: path.into(),
            content: if private {
                "-----BEGIN RSA PRIVATE KEY-----".into()
            } else {
                "cert".into()
            },
            mode: if private { 0o600 } else { 0o644 },
            owner: "mysql".into(),
            group: "mysql".into(),
            private,
        }
    }

    #[test]
    fn keys_stay_out_of_the_plan() {
        let files = [
            file("/db/k/server.key", true),
            file("/db/k/server.crt", false),
        ];
        let (plan, store) = key_files_plan(
            &files,
            "run-1",
            "2026-11-30T00:00:00Z",
            "keygen",
            |f| (f.host.clone(), f.path.clone()),
            false,
        );
        plan.validate().unwrap();
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("PRIVATE KEY"));
        assert_eq!(store.len(), 1);
        assert!(matches!(plan.steps[0].action, Action::MakeDir { .. }));
        assert_eq!(plan.steps.len(), 3);
    }
}
