//! A small YAML tree with the line of every node, built from saphyr-parser
//! events, so that every inventory error can name its line. Anchors, aliases
//! and `<<` merge keys are resolved; alias expansion is capped.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Most nodes aliases may add to a document ("billion laughs").
const MAX_EXPANDED_NODES: usize = 200_000;
/// Deepest nesting of collections.
const MAX_DEPTH: usize = 64;

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

enum Frame {
    Seq {
        items: Vec<Rc<Node>>,
        line: u32,
        anchor: usize,
    },
    Map {
        /// Keys as written, with the line of each, and values.
        entries: Vec<MapEntry>,
        /// Mappings merged in with `<<`, in the order written.
        merges: Vec<(u32, Rc<Node>)>,
        key: Option<(Rc<Node>, u32)>,
        line: u32,
        anchor: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Rc<Node>, usize)>,
    root: Option<Rc<Node>>,
    expanded: usize,
}

fn line_of(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// The first document of `text`, or `None` when the stream is empty.
pub(crate) fn parse(text: &str) -> Result<Option<Rc<Node>>, Failure> {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        expanded: 0,
    };
    for event in Parser::new_from_str(text) {
        let (event, span) =
            event.map_err(|e| (line_of(e.marker().line()), e.info().to_string()))?;
        let line = line_of(span.start.line());
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => {}
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Alias(id) => {
                let Some((node, size)) = b.anchors.get(&id).cloned() else {
                    return Err((line, "alias to an anchor that is not complete".to_string()));
                };
                b.expanded += size;
                if b.expanded > MAX_EXPANDED_NODES {
                    return Err((
                        line,
                        format!("aliases expand to more than {MAX_EXPANDED_NODES} nodes"),
                    ));
                }
                b.add(node, line)?;
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let node = Rc::new(Node::Scalar {
                    text: value.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    line,
                });
                if anchor > 0 {
                    b.anchors.insert(anchor, (node.clone(), 1));
                }
                b.add(node, line)?;
            }
            Event::SequenceStart(anchor, _) => {
                b.push(
                    Frame::Seq {
                        items: Vec::new(),
                        line,
                        anchor,
                    },
                    line,
                )?;
            }
            Event::MappingStart(anchor, _) => {
                b.push(
                    Frame::Map {
                        entries: Vec::new(),
                        merges: Vec::new(),
                        key: None,
                        line,
                        anchor,
                    },
                    line,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match b.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        line,
                        anchor,
                    }) => (Rc::new(Node::Seq { items, line }), anchor),
                    Some(Frame::Map {
                        entries,
                        merges,
                        line,
                        anchor,
                        ..
                    }) => (Rc::new(merge(entries, merges, line)?), anchor),
                    None => return Err((line, "unbalanced collection end".to_string())),
                };
                if anchor > 0 {
                    b.anchors.insert(anchor, (node.clone(), size_of(&node)));
                }
                b.add(node, line)?;
            }
        }
    }
    Ok(b.root)
}

fn size_of(node: &Node) -> usize {
    match node {
        Node::Scalar { .. } => 1,
        Node::Seq { items, .. } => 1 + items.iter().map(|n| size_of(n)).sum::<usize>(),
        Node::Map { entries, .. } => {
            1 + entries.iter().map(|e| 1 + size_of(&e.value)).sum::<usize>()
        }
    }
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

impl Builder {
    fn push(&mut self, frame: Frame, line: u32) -> Result<(), Failure> {
        if self.stack.len() >= MAX_DEPTH {
            return Err((line, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.stack.push(frame);
        Ok(())
    }

    fn add(&mut self, node: Rc<Node>, line: u32) -> Result<(), Failure> {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                merges,
                key,
                ..
            }) => match key.take() {
                None => *key = Some((node, line)),
                Some((k, key_line)) => {
                    let Node::Scalar { text, plain, .. } = &*k else {
                        return Err((key_line, format!("a {} cannot be a mapping key", k.kind())));
                    };
                    if *plain && text == "<<" {
                        merges.push((key_line, node));
                    } else if entries.iter().any(|e| e.key == *text) {
                        return Err((key_line, format!("duplicate key `{text}`")));
                    } else {
                        entries.push(MapEntry {
                            key: text.clone(),
                            key_line,
                            value: node,
                        });
                    }
                }
            },
        }
        Ok(())
    }
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

    #[test]
    fn alias_bombs_are_refused() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        assert!(parse(&doc).unwrap_err().1.contains("expand"));
    }
}
