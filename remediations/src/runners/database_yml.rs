//! database-yml (SSL006): adds `sslca`/`sslkey`/`sslcert` (trilogy:
//! `ssl_ca`/`ssl_key`/`ssl_cert`) naming the application user's client
//! keys to each environment SSL006 names, or repoints a key that names a
//! missing file, as a minimal text edit: lines are inserted at the end of
//! the environment's own block (after its `<<: *default` merge, outside
//! ERB conditionals, in the block's indentation), and comments, ERB,
//! anchors and key order stay as they were. The edited file is parsed again
//! with the scanner's parser to prove the environment now says what the
//! fix intends. Then the application restarts (when the inventory names
//! its command), and a step shown to the user explains that stacks which
//! render database.yml from configuration management need the same change
//! in their template.

use std::collections::BTreeMap;

use sslaudit_rules::Finding;
use sslaudit_rules::facts::{DbEnvironment, HostFacts, YmlValue};
use sslaudit_rules::parse::dbyml::parse_database_yml;

use super::{
    Builder, ClientFiles, Refusal, bare, client_files, indent_of, line_ending, not_present,
    split_lines,
};

/// The three settings, as (field, mysql2 key, trilogy key).
const KEYS: [(&str, &str, &str); 3] = [
    ("sslca", "sslca", "ssl_ca"),
    ("sslkey", "sslkey", "ssl_key"),
    ("sslcert", "sslcert", "ssl_cert"),
];

fn field_of<'e>(env: &'e DbEnvironment, name: &str) -> &'e Option<YmlValue> {
    match name {
        "sslca" => &env.sslca,
        "sslkey" => &env.sslkey,
        _ => &env.sslcert,
    }
}

fn is_trilogy(env: &DbEnvironment) -> bool {
    env.adapter
        .as_ref()
        .is_some_and(|a| !a.erb && a.value.trim().eq_ignore_ascii_case("trilogy"))
}

/// A YAML single-quoted scalar (`'` doubled).
fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn path_of(files: &ClientFiles, name: &str) -> String {
    match name {
        "sslca" => files.ca.clone(),
        "sslkey" => files.key.clone(),
        _ => files.cert.clone(),
    }
}

/// What an ERB-only line does to conditional nesting.
fn erb_change(line: &str) -> Option<i32> {
    let t = bare(line).trim();
    if !(t.starts_with("<%") && t.ends_with("%>")) || t.starts_with("<%=") {
        return None;
    }
    let code = t
        .trim_start_matches("<%")
        .trim_end_matches("%>")
        .trim_matches('-')
        .trim();
    if code.starts_with('#') {
        return Some(0);
    }
    let first = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find(|w| !w.is_empty())
        .unwrap_or("");
    if first == "end" || code.starts_with('}') {
        return Some(-1);
    }
    let opens = matches!(
        first,
        "if" | "unless" | "case" | "while" | "until" | "for" | "begin"
    ) && !code.split_whitespace().any(|w| w == "end");
    if opens || code.ends_with(" do") || code.ends_with('{') || code.ends_with('|') {
        return Some(1);
    }
    Some(0)
}

fn is_content(line: &str) -> bool {
    let t = bare(line).trim();
    !(t.is_empty() || t.starts_with('#') || erb_change(line).is_some())
}

/// The last key of an environment name (`production.primary` -> `primary`).
fn key_of(env: &str) -> &str {
    env.rsplit_once('.').map_or(env, |(_, k)| k)
}

/// The text with the settings added to the environment's block; `Err`
/// why not.
fn add_to_block(
    text: &str,
    env: &DbEnvironment,
    add: &[(String, String)],
) -> Result<String, String> {
    let lines = split_lines(text);
    let nl = line_ending(text);
    let idx = usize::try_from(env.line).unwrap_or(0).wrapping_sub(1);
    let Some(key_line) = lines.get(idx) else {
        return Err(format!("line {} is past the end of the file", env.line));
    };
    let name = key_of(&env.name);
    let body = bare(key_line).trim_start();
    let after_key = [
        name.to_string(),
        format!("'{name}'"),
        format!("\"{name}\""),
        format!(":{name}"),
    ]
    .iter()
    .find_map(|k| {
        body.strip_prefix(k.as_str())
            .and_then(|r| r.trim_start().strip_prefix(':'))
    })
    .map(str::trim);
    let Some(rest) = after_key else {
        return Err(format!(
            "line {} does not start environment {name}",
            env.line
        ));
    };
    let key_indent = indent_of(key_line).len();
    let value = rest.split(" #").next().unwrap_or("").trim();
    if value.starts_with('{') {
        return Err(format!(
            "environment {name} is a flow mapping ({{...}}) on one line"
        ));
    }
    if let Some(alias) = value.strip_prefix('*') {
        // `production: *default`: the block becomes a merge of the alias
        // plus the new settings.
        let child = " ".repeat(key_indent + 2);
        let head = &bare(key_line)[..bare(key_line).len() - rest.len()];
        let mut new = format!("{}{nl}{child}<<: *{}{nl}", head.trim_end(), alias.trim());
        for (k, v) in add {
            new.push_str(&format!("{child}{k}: {v}{nl}"));
        }
        let mut out: Vec<&str> = lines.clone();
        out[idx] = &new;
        return Ok(out.concat());
    }
    if !(value.is_empty() || value.starts_with('&')) || value.split_whitespace().count() > 1 {
        return Err(format!("environment {name} is not a block mapping"));
    }
    // The block: deeper-indented content lines, plus ERB blocks opened and
    // closed inside it; trailing comments and blank lines belong to what
    // follows.
    let mut last = idx;
    let mut depth = 0i32;
    let mut depth_at_last = 0i32;
    let mut child_indent: Option<&str> = None;
    for (i, l) in lines.iter().enumerate().skip(idx + 1) {
        if let Some(change) = erb_change(l) {
            if change < 0 && depth == 0 {
                break;
            }
            depth += change;
            if change < 0 && depth == 0 {
                last = i;
                depth_at_last = 0;
            }
            continue;
        }
        if !is_content(l) {
            continue;
        }
        if indent_of(l).len() <= key_indent || indent_of(l).contains('\t') {
            break;
        }
        child_indent.get_or_insert(indent_of(l));
        last = i;
        depth_at_last = depth;
    }
    if depth_at_last != 0 {
        return Err(format!(
            "the end of environment {name} is inside an ERB conditional"
        ));
    }
    let Some(child) = child_indent else {
        return Err(format!("environment {name} has no settings to add to"));
    };
    let mut added = String::new();
    if !lines[last].ends_with('\n') {
        added.push_str(nl);
    }
    for (k, v) in add {
        added.push_str(&format!("{child}{k}: {v}{nl}"));
    }
    let mut out: Vec<&str> = lines.clone();
    out.insert(last + 1, &added);
    Ok(out.concat())
}

/// The text with the value at `line` (a `key: value` line) replaced.
fn replace_value(text: &str, line: u32, keys: &[&str], value: &str) -> Result<String, String> {
    let lines = split_lines(text);
    let idx = usize::try_from(line).unwrap_or(0).wrapping_sub(1);
    let Some(l) = lines.get(idx) else {
        return Err(format!("line {line} is past the end of the file"));
    };
    let b = bare(l);
    let indent = indent_of(b);
    let Some((key, _)) = b[indent.len()..].split_once(':') else {
        return Err(format!("line {line} is not a key: value line"));
    };
    if !keys.contains(&key.trim().trim_start_matches(':')) {
        return Err(format!("line {line} sets {key}, not {}", keys.join("/")));
    }
    let new = format!("{indent}{key}: {value}{}", &l[b.len()..]);
    let mut out: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    out[idx] = new;
    Ok(out.concat())
}

/// Plans the database.yml fixes of one application host.
pub(crate) fn plan(b: &mut Builder, host: &HostFacts, findings: &[&Finding]) {
    let settings = b.env.settings_of(&host.name);
    // Per file: the environments changed and the settings they got.
    let mut changed: BTreeMap<String, Vec<(String, Settings)>> = BTreeMap::new();
    for f in findings {
        match fix_one(b, host, f) {
            Ok(Some((path, env, lines))) => {
                changed.entry(path).or_default().push((env, lines));
                b.fixes("SSL006");
            }
            Ok(None) => {}
            Err(r) => b.refuse(f, r),
        }
    }
    if changed.is_empty() {
        return;
    }
    match settings.app_restart_command.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(cmd) => b.restart_app(
            &host.name,
            cmd,
            "the application reads database.yml only at start: restart it to connect with its client keys (app.restart_command)".into(),
        ),
        None => b.display(
            &host.name,
            "no app.restart_command in the inventory: restart the application yourself so it reads the new database.yml".into(),
            "restart the application\n".into(),
        ),
    }
    for (path, envs) in changed {
        let mut snippet = String::new();
        for (env, lines) in &envs {
            let mut indent = String::new();
            for part in env.split('.') {
                snippet.push_str(&format!("{indent}{part}:\n"));
                indent.push_str("  ");
            }
            for (k, v) in lines {
                snippet.push_str(&format!("{indent}{k}: {v}\n"));
            }
        }
        b.display(
            &host.name,
            format!(
                "stacks that render {path} from configuration management revert a direct edit at their next run: put these settings in the template too (the seed: override the database.yml template on Stable-v5, or use the database_yml_custom cookbook on Stable-v4)"
            ),
            snippet,
        );
    }
}

/// Settings written, as (key, quoted value).
type Settings = Vec<(String, String)>;

/// A fix made: (file, environment, settings written).
type Fixed = (String, String, Settings);

fn fix_one(b: &mut Builder, host: &HostFacts, f: &Finding) -> Result<Option<Fixed>, Refusal> {
    let object = f.location.object.as_deref().unwrap_or("");
    let path = f.location.file.clone().unwrap_or_default();
    let not_fixable = |reason: String| Refusal::NotFixable {
        host: host.name.clone(),
        reason,
        instead: "fix it by hand as `sslaudit explain SSL006` describes".into(),
    };
    // The environment, or one of its keys (one naming a missing file).
    let (env_name, key) = match f.subject_kind() {
        Some(sslaudit_rules::SubjectKind::DatabaseYml {
            environment,
            setting,
        }) if !environment.is_empty() && !path.is_empty() => (environment.clone(), setting.clone()),
        _ => {
            return Err(not_fixable(format!(
                "finding names no database.yml environment ({object})"
            )));
        }
    };
    if !host.database_ymls.iter().any(|y| y.path == path) {
        return Err(Refusal::NotCollected {
            host: host.name.clone(),
            what: path.clone(),
        });
    }
    let text = b.text(host, &path)?;
    let current = parse_database_yml(&path, &text).map_err(|e| Refusal::CannotEdit {
        host: host.name.clone(),
        path: path.clone(),
        reason: e.to_string(),
        instead: "fix the file by hand".into(),
    })?;
    let env = current
        .environments
        .iter()
        .find(|e| e.name == env_name)
        .ok_or_else(|| Refusal::AlreadyFixed {
            host: host.name.clone(),
            what: format!("environment {env_name} of {path}"),
        })?;
    let user = b
        .env
        .app_user_of(host)
        .or_else(|| {
            env.username
                .as_ref()
                .filter(|u| !u.erb)
                .map(|u| u.value.trim().to_string())
        })
        .ok_or_else(|| Refusal::NotCollected {
            host: host.name.clone(),
            what: "the application user (set app_user in the inventory)".into(),
        })?;
    let files = client_files(host, &user).ok_or_else(|| Refusal::ClientKeysMissing {
        host: host.name.clone(),
        user: user.clone(),
        missing: format!(
            "the home of {user} is unknown (no /etc/passwd entry, no ~/{})",
            host.layout.client_dir
        ),
        instead: b.env.keygen_hint(),
    })?;
    let missing = not_present(host, &[&files.ca, &files.key, &files.cert]);
    if !missing.is_empty() {
        return Err(Refusal::ClientKeysMissing {
            host: host.name.clone(),
            user,
            missing: missing.join(", "),
            instead: b.env.keygen_hint(),
        });
    }
    let trilogy = is_trilogy(env);
    let spelled = |field: &str| -> &'static str {
        KEYS.iter()
            .find(|(f, _, _)| *f == field)
            .map_or("sslca", |(_, m, t)| if trilogy { *t } else { *m })
    };
    let cannot = |reason: String| Refusal::CannotEdit {
        host: host.name.clone(),
        path: path.clone(),
        reason,
        instead: format!(
            "add the settings by hand:\n  sslca: {}\n  sslkey: {}\n  sslcert: {}",
            yaml_quote(&files.ca),
            yaml_quote(&files.key),
            yaml_quote(&files.cert)
        ),
    };
    let (new_text, lines, what) = match key.as_deref() {
        Some(k) => {
            let field = match k {
                "sslcapath" => {
                    return Err(not_fixable(format!(
                        "sslcapath of {env_name} names a missing directory"
                    )));
                }
                "sslca" | "sslkey" | "sslcert" => k,
                other => return Err(not_fixable(format!("{other} is not a key setting"))),
            };
            let Some(v) = field_of(env, field).as_ref().filter(|v| !v.erb) else {
                return Err(Refusal::AlreadyFixed {
                    host: host.name.clone(),
                    what: format!("{field} of {env_name}"),
                });
            };
            let value = yaml_quote(&path_of(&files, field));
            let keys = [
                field,
                KEYS.iter()
                    .find(|(f, _, _)| *f == field)
                    .map_or(field, |(_, _, t)| *t),
            ];
            let t = replace_value(&text, v.line, &keys, &value).map_err(&cannot)?;
            let shown = vec![(spelled(field).to_string(), value)];
            (
                t,
                shown,
                format!("repoint {field} of environment {env_name} (it named a missing file)"),
            )
        }
        None => {
            let has_ca = env.sslca.is_some() || env.sslcapath.is_some();
            let add: Vec<(String, String)> = KEYS
                .iter()
                .filter(|(f, _, _)| {
                    if *f == "sslca" {
                        !has_ca
                    } else {
                        field_of(env, f).is_none()
                    }
                })
                .map(|(f, _, _)| (spelled(f).to_string(), yaml_quote(&path_of(&files, f))))
                .collect();
            if add.is_empty() {
                return Err(Refusal::AlreadyFixed {
                    host: host.name.clone(),
                    what: format!("the key settings of {env_name}"),
                });
            }
            let t = add_to_block(&text, env, &add).map_err(&cannot)?;
            let names: Vec<&str> = add.iter().map(|(k, _)| k.as_str()).collect();
            let what = format!("add {} to environment {env_name}", names.join(", "));
            (t, add, what)
        }
    };
    // The edited file must parse and give the environment the new values,
    // and no other environment may change but by merging this one.
    let after = parse_database_yml(&path, &new_text)
        .map_err(|e| cannot(format!("the edited file would not parse: {e}")))?;
    let Some(new_env) = after.environments.iter().find(|e| e.name == env_name) else {
        return Err(cannot(format!(
            "environment {env_name} is gone after the edit"
        )));
    };
    for (field, _, _) in KEYS {
        let want_new = lines.iter().any(|(k, _)| *k == spelled(field));
        let got = field_of(new_env, field)
            .as_ref()
            .filter(|v| !v.erb)
            .map(|v| v.value.trim().to_string());
        if want_new && got.as_deref() != Some(path_of(&files, field).as_str()) {
            return Err(cannot(format!(
                "after the edit {field} of {env_name} would be {got:?}"
            )));
        }
    }
    let others: Vec<&str> = after
        .environments
        .iter()
        .filter(|e| e.name != env_name)
        .filter(|e| {
            let before = current.environments.iter().find(|o| o.name == e.name);
            before.is_none_or(|o| !same_but_lines(o, e))
        })
        .map(|e| e.name.as_str())
        .collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(
            "; environment(s) {} merge it and get them too",
            others.join(", ")
        )
    };
    let dir = files.cert.rsplit_once('/').map_or("", |(d, _)| d);
    b.edit(
        host,
        &path,
        new_text,
        format!("{what} of {path}, naming {user}'s client keys in {dir} (SSL006; the seed's Enforce SSL Connections){also}"),
    );
    Ok(Some((path, env_name, lines)))
}

/// Equal apart from line numbers (an insertion moves the lines after it).
fn same_but_lines(a: &DbEnvironment, b: &DbEnvironment) -> bool {
    let strip = |e: &DbEnvironment| {
        let v = |x: &Option<YmlValue>| x.as_ref().map(|y| (y.value.clone(), y.erb));
        [
            v(&e.adapter),
            v(&e.host),
            v(&e.port),
            v(&e.socket),
            v(&e.username),
            v(&e.database),
            v(&e.sslca),
            v(&e.sslkey),
            v(&e.sslcert),
            v(&e.sslcapath),
            v(&e.sslcipher),
            v(&e.ssl_mode),
            v(&e.sslverify),
            v(&e.url),
        ]
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{self, ApplyOptions};
    use crate::plan::{Action, Applicability};
    use crate::runners::HostSettings;
    use crate::runners::testutil::*;
    use crate::target::{MemoryTarget, Target};
    use sslaudit_rules::Location;
    use sslaudit_rules::facts::Require;

    /// A Rails database.yml with a comment header, an anchor, ERB, a
    /// conditional block at column 0 and a production that lacks keys.
    const RAILS: &str = "\
# MySQL. Versions 5.5.8 and up are supported.
#
default: &default
  adapter: mysql2
  encoding: utf8mb4
  pool: <%= ENV.fetch(\"RAILS_MAX_THREADS\") { 5 } %>
  username: deploy
  password: <%= ENV['DB_PASSWORD'] %>
  host: <%= ENV.fetch(\"DB_HOST\") { \"db-master\" } %>

development:
  <<: *default
  database: shop_development
  host: localhost

# The live site.
production:
  <<: *default
  database: shop_production   # the main schema
<% if ENV['DB_SSL_CIPHER'] %>
  sslcipher: <%= ENV['DB_SSL_CIPHER'] %>
<% end %>

# Shared settings end here.
staging: *default
";

    fn ssl006(env: &str) -> Finding {
        finding(
            "SSL006",
            "app-1",
            Location::file(YML, Some(1)).with_object(format!("database.yml:{env}")),
        )
    }

    fn world(yml: &str) -> World {
        let mut app = app_host("app-1");
        client_keys(&mut app, PROD_DEPLOY);
        database_yml(&mut app, yml);
        let mut w = World::new(vec![app]);
        w.text("app-1", YML, yml);
        w
    }

    #[test]
    fn adds_keys_after_the_block_keeping_comments_erb_and_anchors() {
        let w = world(RAILS);
        let (plan, refusals) = w.plan(&[ssl006("production")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, YML);
        let expected = RAILS.replace(
            "<% end %>\n",
            "<% end %>\n  sslca: '/home/deploy/.mysql/root.crt'\n  sslkey: '/home/deploy/.mysql/mysql.key'\n  sslcert: '/home/deploy/.mysql/mysql.crt'\n",
        );
        assert_eq!(new, expected);
        let write = &plan.steps[0];
        assert!(
            matches!(&write.action, Action::WriteFile { mode: 0o640, owner: Some(o), group: Some(g), .. } if o == "deploy" && g == "deploy")
        );
        // The plan holds only the added lines, never the password.
        let json = serde_json::to_string(&plan).unwrap();
        assert!(!json.contains("password"), "{json}");
        assert!(write.precondition.is_none());
        // No restart command: the user is told; the chef snippet is shown.
        let shown: Vec<&Applicability> = plan.steps[1..].iter().map(|s| &s.applicability).collect();
        assert_eq!(
            shown,
            [&Applicability::DisplayOnly, &Applicability::DisplayOnly]
        );
        assert!(plan.steps[2].why.contains("database_yml_custom"));
        assert!(
            matches!(&plan.steps[2].action, Action::RunCommand { command, .. } if command.contains("production:\n  sslca: '/home/deploy/.mysql/root.crt'\n"))
        );
    }

    #[test]
    fn an_aliased_environment_becomes_a_merge_plus_keys() {
        let w = world(RAILS);
        let (plan, refusals) = w.plan(&[ssl006("staging"), ssl006("production")]);
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, YML);
        assert!(new.ends_with("staging:\n  <<: *default\n  sslca: '/home/deploy/.mysql/root.crt'\n  sslkey: '/home/deploy/.mysql/mysql.key'\n  sslcert: '/home/deploy/.mysql/mysql.crt'\n"), "{new}");
        assert!(
            new.contains("<% end %>\n  sslca:"),
            "both environments in one write"
        );
        assert_eq!(
            plan.steps
                .iter()
                .filter(|s| matches!(s.action, Action::WriteFile { .. }))
                .count(),
            1
        );
    }

    #[test]
    fn multi_database_trilogy_and_a_missing_file() {
        let yml = "production:\n  primary:\n    adapter: trilogy\n    database: shop\n    host: db-master.internal\n  animals:\n    adapter: mysql2\n    host: animals-db.internal\n    sslca: /etc/mysql/animals-ca.pem\n    sslkey: /etc/mysql/gone.key\n";
        let mut w = world(yml);
        missing(&mut w.hosts[0], "/etc/mysql/gone.key");
        let key = finding(
            "SSL006",
            "app-1",
            Location::file(YML, Some(10)).with_object("database.yml:production.animals:sslkey"),
        );
        let (plan, refusals) = w.plan(&[
            ssl006("production.primary"),
            ssl006("production.animals"),
            key,
        ]);
        assert!(refusals.is_empty(), "{refusals:?}");
        let new = w.written(&plan, YML);
        assert_eq!(
            new,
            "production:\n  primary:\n    adapter: trilogy\n    database: shop\n    host: db-master.internal\n    ssl_ca: '/home/deploy/.mysql/root.crt'\n    ssl_key: '/home/deploy/.mysql/mysql.key'\n    ssl_cert: '/home/deploy/.mysql/mysql.crt'\n  animals:\n    adapter: mysql2\n    host: animals-db.internal\n    sslca: /etc/mysql/animals-ca.pem\n    sslkey: '/home/deploy/.mysql/mysql.key'\n    sslcert: '/home/deploy/.mysql/mysql.crt'\n"
        );
    }

    #[test]
    fn refuses_without_client_keys_or_for_flow_mappings() {
        let mut w = world(RAILS);
        w.hosts[0].files.remove("/home/deploy/.mysql/mysql.key");
        let (plan, refusals) = w.plan(&[ssl006("production")]);
        assert!(plan.steps.is_empty());
        let msg = refusals[0].1.to_string();
        assert!(
            msg.contains("client keys of deploy are missing (/home/deploy/.mysql/mysql.key)")
                && msg.contains("sslaudit keygen --inventory fleet.yaml --environment production"),
            "{msg}"
        );
        let flow = "production: {adapter: mysql2, host: db, username: deploy}\n";
        let w = world(flow);
        let (_, refusals) = w.plan(&[ssl006("production")]);
        assert!(
            refusals[0].1.to_string().contains("flow mapping"),
            "{}",
            refusals[0].1
        );
    }

    #[test]
    fn applies_restarts_and_rolls_back_on_memory_hosts() {
        let mut w = world(RAILS);
        w.settings.insert(
            "app-1".into(),
            HostSettings {
                app_restart_command: Some("touch /data/shop/current/tmp/restart.txt".into()),
                ..HostSettings::default()
            },
        );
        let (plan, _) = w.plan(&[ssl006("production")]);
        assert!(
            matches!(&plan.steps[1].action, Action::RunCommand { command, .. } if command.starts_with("touch"))
        );
        assert_eq!(
            plan.steps[1].applicability,
            Applicability::NeedsConfirmation
        );
        let hosts = w.targets();
        let state = tempfile::tempdir().expect("tempdir");
        let before = hosts["app-1"].snapshot();
        apply_to(&plan, &hosts, state.path());
        let now = read(&hosts["app-1"], YML).expect("yml");
        assert!(now.contains("  sslcert: '/home/deploy/.mysql/mysql.crt'\n"));
        // What the application reads now has the keys.
        let parsed = parse_database_yml(YML, &now).expect("parses");
        let prod = parsed
            .environments
            .iter()
            .find(|e| e.name == "production")
            .expect("env");
        assert_eq!(
            prod.sslkey.as_ref().map(|v| v.value.as_str()),
            Some("/home/deploy/.mysql/mysql.key")
        );
        rollback_on(&plan.run_id, &hosts, state.path());
        assert_eq!(hosts["app-1"].snapshot(), before);
        assert_eq!(hosts["app-1"].commands().len(), 2);
    }

    /// An app host whose database.yml lacks its keys (the keys exist) and a
    /// master whose `deploy` account does not require X509.
    fn combined_world() -> (World, [Finding; 3]) {
        let mut w = world(
            RAILS
                .replace(
                    "host: <%= ENV.fetch(\"DB_HOST\") { \"db-master\" } %>",
                    "host: 10.0.0.10",
                )
                .as_str(),
        );
        w.texts.insert(
            ("app-1".into(), YML.into()),
            RAILS.replace(
                "host: <%= ENV.fetch(\"DB_HOST\") { \"db-master\" } %>",
                "host: 10.0.0.10",
            ),
        );
        let mut master = db_host("db-master");
        server_keys(&mut master, DATA);
        master.mysql.as_mut().expect("mysql").accounts =
            Some(vec![account("deploy", "%", Require::None)]);
        w.hosts.insert(0, master);
        // staging aliases default and has no keys either: enforcing would
        // lock it out, so both environments are fixed.
        let findings = [
            ssl006("production"),
            ssl006("staging"),
            finding("SSL005", "db-master", Location::object("account:deploy@%")),
        ];
        (w, findings)
    }

    #[test]
    fn with_the_app_restart_enforce_x509_follows_in_the_same_plan() {
        let (mut w, findings) = combined_world();
        let (_, refusals) = w.plan(&findings);
        assert_eq!(
            refusals.len(),
            1,
            "no restart command: the app still runs the old file"
        );
        assert!(
            refusals[0]
                .1
                .to_string()
                .contains("names no client certificate"),
            "{}",
            refusals[0].1
        );
        w.settings.insert(
            "app-1".into(),
            HostSettings {
                app_restart_command: Some("sudo monit restart all -g shop".into()),
                ..HostSettings::default()
            },
        );
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        let kinds: Vec<(&str, &str)> = plan
            .steps
            .iter()
            .map(|s| (s.host.as_str(), s.action.kind()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("app-1", "write_file"),
                ("app-1", "run_command"),
                ("db-master", "run_sql"),
                ("app-1", "run_command")
            ]
        );
        assert_eq!(plan.steps[3].applicability, Applicability::DisplayOnly);
    }

    /// Issue 7's crash-safety for enforce-x509: the combined plan (edit,
    /// application restart, REQUIRE X509) killed after every step in turn;
    /// resume ends where an uninterrupted run ends, rollback restores the
    /// file byte for byte and undoes the REQUIRE if it was set.
    #[test]
    fn killed_after_any_step_enforce_x509_resumes_or_rolls_back_consistently() {
        let (mut w, findings) = combined_world();
        w.settings.insert(
            "app-1".into(),
            HostSettings {
                app_restart_command: Some("sudo monit restart all -g shop".into()),
                ..HostSettings::default()
            },
        );
        let (plan, refusals) = w.plan(&findings);
        assert!(refusals.is_empty(), "{refusals:?}");
        let full = w.targets();
        let state = tempfile::tempdir().expect("tempdir");
        apply_to(&plan, &full, state.path());
        let finished: Vec<_> = full.values().map(MemoryTarget::snapshot).collect();
        let (alter, revert) = plan
            .steps
            .iter()
            .find_map(|s| match (&s.action, &s.undo) {
                (Action::RunSql { sql }, Some(Action::RunSql { sql: undo })) => {
                    Some((sql.clone(), undo.clone()))
                }
                _ => None,
            })
            .expect("the plan requires X509");
        assert!(alter.ends_with("REQUIRE X509") && revert.ends_with("REQUIRE NONE"));
        for crash in plan.steps.iter().map(|s| s.id) {
            for undo in [false, true] {
                let hosts = w.targets();
                let original: Vec<_> = hosts.values().map(MemoryTarget::snapshot).collect();
                let state = tempfile::tempdir().expect("tempdir");
                let targets = |h: &str| hosts.get(h).map(|t| t as &dyn Target);
                let opts = ApplyOptions {
                    yes: true,
                    crash_after_step: Some(crash),
                    ..ApplyOptions::new(state.path())
                };
                let crashed = apply::apply(&plan, &targets, &opts);
                if plan
                    .step(crash)
                    .is_some_and(|s| s.applicability == Applicability::DisplayOnly)
                    && crashed.is_ok()
                {
                    continue;
                }
                assert!(
                    matches!(crashed, Err(apply::ApplyError::Crashed { .. })),
                    "{crashed:?}"
                );
                let opts = ApplyOptions {
                    yes: true,
                    ..ApplyOptions::new(state.path())
                };
                let sql = || hosts["db-master"].sql();
                if undo {
                    let ran = sql().contains(&alter);
                    apply::rollback(&plan.run_id, &targets, &opts).expect("rolls back");
                    let now: Vec<_> = hosts.values().map(MemoryTarget::snapshot).collect();
                    assert_eq!(now, original, "rollback after step {crash}");
                    if ran {
                        assert_eq!(sql().last(), Some(&revert), "after step {crash}");
                    }
                } else {
                    apply::resume(&plan.run_id, &targets, &opts).expect("resumes");
                    let now: Vec<_> = hosts.values().map(MemoryTarget::snapshot).collect();
                    assert_eq!(now, finished, "resume after step {crash}");
                    assert!(sql().contains(&alter), "after step {crash}");
                }
            }
        }
    }
}
