//! Ansible INI inventories: `[group]`, `[group:vars]` and `[group:children]`
//! sections, host lines with their variables, and host patterns
//! (`db[01:10]`).

use super::*;

pub(super) enum Section {
    Hosts(String),
    Vars(String),
    Children(String),
}

pub(in crate::inventory) fn load_ini(text: &str, ctx: &Ctx) -> Result<Inventory> {
    let mut p = Parsed::default();
    let mut section = Section::Hosts("ungrouped".to_string());
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let t = raw.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') {
            let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) else {
                return Err(ctx.err(line, format!("malformed section header `{t}`")));
            };
            let (name, kind) = match inner.split_once(':') {
                Some((n, k)) => (n.trim(), Some(k.trim())),
                None => (inner.trim(), None),
            };
            check_group_name(name).map_err(|m| ctx.err(line, m))?;
            section = match kind {
                None => Section::Hosts(name.to_string()),
                Some("vars") => Section::Vars(name.to_string()),
                Some("children") => Section::Children(name.to_string()),
                Some(other) => {
                    return Err(ctx.err(
                        line,
                        format!("unknown section kind `:{other}` (expected :vars or :children)"),
                    ));
                }
            };
            p.group(name);
            continue;
        }
        match &section {
            Section::Hosts(group) => {
                let group = group.clone();
                let words = split_words(t).map_err(|m| ctx.err(line, m))?;
                let Some((pattern, vars)) = words.split_first() else {
                    continue;
                };
                let mut assigned = BTreeMap::new();
                for w in vars {
                    let Some((k, v)) = w.split_once('=') else {
                        return Err(ctx.err(
                            line,
                            format!("`{w}` after host {pattern} is not a key=value variable"),
                        ));
                    };
                    assigned.insert(
                        k.to_string(),
                        Var {
                            value: Value::Scalar(v.to_string()),
                            line,
                        },
                    );
                }
                p.add_pattern(&group, pattern, &assigned, line, ctx)?;
            }
            Section::Vars(group) => {
                let Some((k, v)) = t.split_once('=') else {
                    return Err(ctx.err(
                        line,
                        format!("`{t}` in [{group}:vars] is not a key=value variable"),
                    ));
                };
                let value = Value::Scalar(unquote(v.trim()));
                let group = group.clone();
                p.group(&group)
                    .vars
                    .insert(k.trim().to_string(), Var { value, line });
            }
            Section::Children(group) => {
                check_group_name(t).map_err(|m| ctx.err(line, m))?;
                let group = group.clone();
                let g = p.group(&group);
                if !g.children.iter().any(|c| c == t) {
                    g.children.push(t.to_string());
                }
                p.group(t);
            }
        }
    }
    finish(p, ctx, InventoryFormat::AnsibleIni)
}

/// Splits a host line into words: whitespace separates, quotes group, and
/// an unquoted `#` at the start of a word starts a comment.
pub(super) fn split_words(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    in_word = true;
                }
                '#' if !in_word => break,
                c if c.is_whitespace() => {
                    if in_word {
                        words.push(std::mem::take(&mut cur));
                        in_word = false;
                    }
                }
                c => {
                    cur.push(c);
                    in_word = true;
                }
            },
        }
    }
    if quote.is_some() {
        return Err("unclosed quote".to_string());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

pub(super) fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

pub(super) fn check_group_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("invalid group name `{name}`"));
    }
    Ok(())
}

/// `db[01:03].example.com:2222` -> `db01.example.com`... with port 2222.
/// Ranges are numeric (zero-padded when the start is) or single letters,
/// with an optional stride: `[1:9:2]`, `[a:f]`.
pub(super) fn expand_host(
    pattern: &str,
) -> std::result::Result<Vec<(String, Option<u16>)>, String> {
    let names = expand_ranges(pattern)?;
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        // `host:port`, but not a bare IPv6 address (several colons).
        let (host, port) = match n.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') && !h.is_empty() => {
                (h.to_string(), Some(parse_port(p)?))
            }
            _ => (n.clone(), None),
        };
        check_name("host", &host)?;
        out.push((host, port));
    }
    Ok(out)
}

pub(super) fn expand_ranges(pattern: &str) -> std::result::Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let Some(close) = pattern[open..].find(']').map(|c| open + c) else {
        return Err(format!("host pattern `{pattern}` has an unclosed `[`"));
    };
    let inner = &pattern[open + 1..close];
    if !inner.contains(':') {
        return Err(format!(
            "host pattern `{pattern}`: `[{inner}]` is not a range like [1:3] or [a:c]"
        ));
    }
    let parts: Vec<&str> = inner.split(':').collect();
    let (start, end, stride) = match parts[..] {
        [s, e] => (s, e, 1usize),
        [s, e, st] => (
            s,
            e,
            st.parse::<usize>()
                .ok()
                .filter(|&x| x > 0)
                .ok_or_else(|| format!("host pattern `{pattern}`: bad stride `{st}`"))?,
        ),
        _ => return Err(format!("host pattern `{pattern}`: bad range `[{inner}]`")),
    };
    let bad = || format!("host pattern `{pattern}`: bad range `[{inner}]`");
    let mut items = Vec::new();
    if !start.is_empty() && start.bytes().all(|b| b.is_ascii_digit()) {
        let a: u64 = start.parse().map_err(|_| bad())?;
        let b: u64 = end.parse().map_err(|_| bad())?;
        if b < a {
            return Err(bad());
        }
        let width = if start.len() > 1 && start.starts_with('0') {
            start.len()
        } else {
            0
        };
        let mut n = a;
        while n <= b {
            items.push(format!("{n:0width$}"));
            if items.len() > MAX_PATTERN_HOSTS {
                return Err(format!(
                    "host pattern `{pattern}` expands to more than {MAX_PATTERN_HOSTS} hosts"
                ));
            }
            n += stride as u64;
        }
    } else if start.len() == 1 && end.len() == 1 {
        let (a, b) = (start.as_bytes()[0], end.as_bytes()[0]);
        if !a.is_ascii_alphabetic() || !b.is_ascii_alphabetic() || b < a {
            return Err(bad());
        }
        items.extend((a..=b).step_by(stride).map(|c| (c as char).to_string()));
    } else {
        return Err(bad());
    }
    let head = &pattern[..open];
    let mut out = Vec::new();
    for tail in expand_ranges(&pattern[close + 1..])? {
        for item in &items {
            out.push(format!("{head}{item}{tail}"));
            if out.len() > MAX_PATTERN_HOSTS {
                return Err(format!(
                    "host pattern `{pattern}` expands to more than {MAX_PATTERN_HOSTS} hosts"
                ));
            }
        }
    }
    Ok(out)
}
