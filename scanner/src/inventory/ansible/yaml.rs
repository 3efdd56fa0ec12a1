//! Ansible YAML inventories: groups with `hosts:`, `children:` and `vars:`.

use super::*;

pub(in crate::inventory) fn load_yaml(root: &Node, ctx: &Ctx) -> Result<Inventory> {
    let mut p = Parsed::default();
    let Some(top) = root.entries() else {
        return Err(ctx.err(root.line(), "expected a mapping of groups".to_string()));
    };
    let is_group = |v: &Node| {
        v.is_null()
            || v.entries().is_some_and(|m| {
                m.iter()
                    .any(|x| matches!(x.key.as_str(), "hosts" | "children" | "vars"))
            })
    };
    if !top.iter().any(|e| is_group(&e.value)) {
        return Err(ctx.err(
            root.line(),
            "not an inventory: expected `environments:` (sslaudit's format) or Ansible groups \
             with `hosts:`, `children:` or `vars:`"
                .to_string(),
        ));
    }
    for e in top {
        check_group_name(&e.key).map_err(|m| ctx.err(e.key_line, m))?;
        yaml_group(&mut p, &e.key, &e.value, ctx, 0)?;
        if e.key != "all" {
            // Top-level groups are children of `all`, as in Ansible.
            let all = p.group("all");
            if !all.children.iter().any(|c| c == &e.key) {
                all.children.push(e.key.clone());
            }
        }
    }
    finish(p, ctx, InventoryFormat::AnsibleYaml)
}

pub(super) fn yaml_group(
    p: &mut Parsed,
    name: &str,
    node: &Node,
    ctx: &Ctx,
    depth: usize,
) -> Result<()> {
    p.group(name);
    if node.is_null() {
        return Ok(());
    }
    if depth > 32 {
        return Err(ctx.err(node.line(), "groups nested too deeply".to_string()));
    }
    let Some(m) = node.entries() else {
        return Err(ctx.err(
            node.line(),
            format!("group {name} is a {}, expected a mapping", node.kind()),
        ));
    };
    for e in m {
        match e.key.as_str() {
            "hosts" => {
                if e.value.is_null() {
                    continue;
                }
                let Some(hosts) = e.value.entries() else {
                    return Err(ctx.err(
                        e.value.line(),
                        format!("`hosts:` of group {name} must be a mapping of host names"),
                    ));
                };
                for h in hosts {
                    let vars = yaml_vars(&h.value, ctx, &format!("host {}", h.key))?;
                    p.add_pattern(name, &h.key, &vars, h.key_line, ctx)?;
                }
            }
            "vars" => {
                let vars = yaml_vars(&e.value, ctx, &format!("vars of group {name}"))?;
                p.group(name).vars.extend(vars);
            }
            "children" => {
                if e.value.is_null() {
                    continue;
                }
                let Some(children) = e.value.entries() else {
                    return Err(ctx.err(
                        e.value.line(),
                        format!("`children:` of group {name} must be a mapping of groups"),
                    ));
                };
                for c in children {
                    check_group_name(&c.key).map_err(|m| ctx.err(c.key_line, m))?;
                    let g = p.group(name);
                    if !g.children.iter().any(|x| x == &c.key) {
                        g.children.push(c.key.clone());
                    }
                    yaml_group(p, &c.key, &c.value, ctx, depth + 1)?;
                }
            }
            other => {
                return Err(ctx.err(
                    e.key_line,
                    format!(
                        "unknown key `{other}` in group {name} (expected hosts, children or vars)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

pub(super) fn yaml_vars(node: &Node, ctx: &Ctx, what: &str) -> Result<BTreeMap<String, Var>> {
    let mut out = BTreeMap::new();
    if node.is_null() {
        return Ok(out);
    }
    let Some(m) = node.entries() else {
        return Err(ctx.err(
            node.line(),
            format!(
                "{what} is a {}, expected a mapping of variables",
                node.kind()
            ),
        ));
    };
    for MapEntry {
        key,
        key_line,
        value,
    } in m
    {
        let v = match &**value {
            // A YAML null is Ansible's None: an empty value, whatever its spelling.
            Node::Scalar { .. } if value.is_null() => Value::Scalar(String::new()),
            Node::Scalar { text, .. } => Value::Scalar(text.clone()),
            Node::Seq { items, .. } => match items
                .iter()
                .map(|i| i.scalar().map(str::to_string))
                .collect::<Option<Vec<_>>>()
            {
                Some(list) => Value::List(list),
                None => Value::Other("nested list"),
            },
            Node::Map { .. } => Value::Other("mapping"),
        };
        out.insert(
            key.clone(),
            Var {
                value: v,
                line: *key_line,
            },
        );
    }
    Ok(out)
}
