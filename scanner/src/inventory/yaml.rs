//! The inventory's YAML: the shared line-marked tree
//! ([`sslaudit_rules::parse::yaml`]) resolved into mappings with string keys,
//! so that every inventory error can name its line. `<<` merge keys follow
//! YAML 1.1 (keys written in the mapping win, then the first mapping
//! merged); a collection as a key and a duplicate key are errors.

use std::collections::HashMap;
use std::rc::Rc;

use sslaudit_rules::parse::yaml::{self as tree, Limits};

const LIMITS: Limits = Limits {
    // Most nodes aliases may add to a document ("billion laughs").
    max_expanded_nodes: crate::limits::INVENTORY_YAML_EXPANDED_NODES,
    // Deepest nesting of collections, aliases expanded.
    max_depth: crate::limits::INVENTORY_YAML_DEPTH,
};

#[derive(Debug)]
pub(crate) enum Node {
    Scalar {
        text: String,
        /// Unquoted: `~`, `null` and the empty scalar are null.
        plain: bool,
        line: u32,
    },
    Seq {
        items: Vec<Rc<Node>>,
        line: u32,
    },
    Map {
        /// Keys are scalars (a collection used as a key is an error).
        entries: Vec<MapEntry>,
        line: u32,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct MapEntry {
    pub key: String,
    pub key_line: u32,
    pub value: Rc<Node>,
}

impl Node {
    pub fn line(&self) -> u32 {
        match self {
            Node::Scalar { line, .. } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Node::Scalar { .. } if self.is_null() => "null",
            Node::Scalar { .. } => "scalar",
            Node::Seq { .. } => "list",
            Node::Map { .. } => "mapping",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, plain: true, .. }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn scalar(&self) -> Option<&str> {
        match self {
            Node::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    pub fn entries(&self) -> Option<&[MapEntry]> {
        match self {
            Node::Map { entries, .. } => Some(entries),
            _ => None,
        }
    }
}

/// `(line, message)`.
pub(crate) type Failure = (u32, String);

/// The first document of `text`, or `None` when the stream is empty.
pub(crate) fn parse(text: &str) -> Result<Option<Rc<Node>>, Failure> {
    let root = tree::parse_first_document(text, &LIMITS).map_err(|e| (e.line, e.message))?;
    let mut done = HashMap::new();
    root.map(|root| resolve(&root, &mut done)).transpose()
}

/// The raw node as an inventory node. An aliased node is resolved once
/// (`done`, by address) and shared, as in the raw tree, so expansion costs
/// stay within the parser's budget. Recursion is bounded by the parser's
/// depth limit.
fn resolve(
    raw: &Rc<tree::Node>,
    done: &mut HashMap<*const tree::Node, Rc<Node>>,
) -> Result<Rc<Node>, Failure> {
    if let Some(node) = done.get(&Rc::as_ptr(raw)) {
        return Ok(Rc::clone(node));
    }
    let node = match &**raw {
        tree::Node::Scalar { text, plain, line } => Node::Scalar {
            text: text.clone(),
            plain: *plain,
            line: *line,
        },
        tree::Node::Seq { items, line } => Node::Seq {
            items: items
                .iter()
                .map(|item| resolve(item, done))
                .collect::<Result<_, _>>()?,
            line: *line,
        },
        tree::Node::Map { entries: raw, line } => {
            let mut entries: Vec<MapEntry> = Vec::new();
            let mut merges = Vec::new();
            for entry in raw {
                // In document order: what is wrong inside the key, then
                // inside the value, then with the key itself.
                let key = resolve(&entry.key, done)?;
                let value = resolve(&entry.value, done)?;
                let key_line = entry.key_line;
                let Node::Scalar { text, plain, .. } = &*key else {
                    return Err((
                        key_line,
                        format!("a {} cannot be a mapping key", key.kind()),
                    ));
                };
                if *plain && text == "<<" {
                    merges.push((key_line, value));
                } else if entries.iter().any(|e| e.key == *text) {
                    return Err((key_line, format!("duplicate key `{text}`")));
                } else {
                    entries.push(MapEntry {
                        key: text.clone(),
                        key_line,
                        value,
                    });
                }
            }
            merge(entries, merges, *line)?
        }
    };
    let node = Rc::new(node);
    done.insert(Rc::as_ptr(raw), Rc::clone(&node));
    Ok(node)
}

/// Applies `<<` merges: keys written in the mapping win over merged ones,
/// and among merged mappings the first one written wins (YAML 1.1 merge).
fn merge(
    mut entries: Vec<MapEntry>,
    merges: Vec<(u32, Rc<Node>)>,
    line: u32,
) -> Result<Node, Failure> {
    for (merge_line, value) in merges {
        let sources: Vec<Rc<Node>> = match &*value {
            Node::Map { .. } => vec![value.clone()],
            Node::Seq { items, .. } => items.clone(),
            other => {
                return Err((
                    merge_line,
                    format!(
                        "`<<` merges a mapping or a list of mappings, not a {}",
                        other.kind()
                    ),
                ));
            }
        };
        for source in sources {
            let Some(source_entries) = source.entries() else {
                return Err((
                    merge_line,
                    format!("`<<` merges mappings, not a {}", source.kind()),
                ));
            };
            for e in source_entries {
                if !entries.iter().any(|have| have.key == e.key) {
                    entries.push(e.clone());
                }
            }
        }
    }
    Ok(Node::Map { entries, line })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_anchors_and_merges() {
        let doc = "a: &x\n  p: 1\n  q: 2\nb:\n  <<: *x\n  q: 3\n";
        let root = parse(doc).unwrap().unwrap();
        let entries = root.entries().unwrap();
        assert_eq!(entries[1].key, "b");
        assert_eq!(entries[1].key_line, 4);
        let b = entries[1].value.entries().unwrap();
        let q = b.iter().find(|e| e.key == "q").unwrap();
        assert_eq!(q.value.scalar(), Some("3"));
        assert!(b.iter().any(|e| e.key == "p"));
    }

    #[test]
    fn duplicate_keys_and_syntax_errors_name_the_line() {
        assert_eq!(parse("a: 1\nb: 2\na: 3\n").unwrap_err().0, 3);
        assert!(parse("a: [1, 2\nb: 3\n").unwrap_err().0 > 0);
        assert!(parse("").unwrap().is_none());
    }
}
