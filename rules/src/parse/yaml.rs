//! A YAML tree with the line of every node, built from `saphyr-parser`
//! events, for parsers whose errors and facts must name the file's line
//! (database.yml, the scanner's inventory).
//!
//! Contract of [`parse_first_document`]:
//! - Only the first document of the stream is read (what Psych's `load` and
//!   most loaders read); an empty stream is `Ok(None)`.
//! - Anchors and aliases are resolved by sharing: an alias is the same
//!   [`Rc`] as the node its anchor names, so it keeps the anchor's lines.
//! - Alias expansion is capped ([`Limits::max_expanded_nodes`]): each alias
//!   adds the expanded size of what it names to a per-document budget, so a
//!   "billion laughs" document is refused before it costs anything.
//! - Nesting is capped ([`Limits::max_depth`]) with aliases expanded, so a
//!   caller may walk the tree recursively without exhausting the stack.
//! - Nothing is interpreted: tags are ignored, scalars stay text (with
//!   whether they were plain, for null detection), mapping keys may be any
//!   node, duplicate keys are kept in order, and `<<` is an ordinary key.
//!   Merge keys and key rules differ between loaders (Psych, YAML 1.1), so
//!   they are the caller's.

use std::collections::HashMap;
use std::rc::Rc;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Bounds on what one document may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most nodes aliases may add (each alias adds the expanded size of what
    /// it names). Nodes written out in the text are bounded by its length.
    pub max_expanded_nodes: usize,
    /// Deepest nesting of collections, aliases expanded.
    pub max_depth: usize,
}

/// A node of the tree; `line` is 1-based, where the node starts.
#[derive(Debug)]
pub enum Node {
    Scalar {
        text: String,
        /// Unquoted (plain style): only then are `~`, `null` and the empty
        /// scalar null.
        plain: bool,
        line: u32,
    },
    Seq {
        items: Vec<Rc<Node>>,
        line: u32,
    },
    Map {
        /// In the order written, duplicates and `<<` included.
        entries: Vec<Entry>,
        line: u32,
    },
}

/// One `key: value` of a mapping.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Rc<Node>,
    /// Where the key is written (for a collection key, where it ends):
    /// differs from `key.line()` when the key is an alias (`*k : v`), which
    /// keeps its anchor's line.
    pub key_line: u32,
    pub value: Rc<Node>,
}

impl Node {
    pub fn line(&self) -> u32 {
        match self {
            Node::Scalar { line, .. } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    /// `scalar`, `sequence` or `mapping`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Scalar { .. } => "scalar",
            Node::Seq { .. } => "sequence",
            Node::Map { .. } => "mapping",
        }
    }

    /// A plain `~`, `null`, `Null`, `NULL` or empty scalar (YAML core
    /// schema).
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, plain: true, .. }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }
}

/// Why the YAML could not be read: 1-based line and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    pub line: u32,
    pub message: String,
}

/// The first document of `text` as a tree, or `None` for an empty stream.
/// Errors carry the line of the offending event: syntax errors as the
/// parser reports them, the alias that goes over the budget, the collection
/// or alias that goes too deep.
pub fn parse_first_document(text: &str, limits: &Limits) -> Result<Option<Rc<Node>>, YamlError> {
    let err = |line: u32, message: String| YamlError { line, message };
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        expanded: 0,
    };
    let last = last_line(text);
    for event in Parser::new_from_str(text) {
        // At the end of the input the scanner may point one line past it
        // (an error there, or the empty node of a bare `---`): name the
        // file's last line instead.
        let (event, span) =
            event.map_err(|e| err(line_of(e.marker().line()).min(last), e.info().into()))?;
        let line = line_of(span.start.line()).min(last);
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => {}
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Alias(id) => {
                let Some(target) = b.anchors.get(&id).cloned() else {
                    return Err(err(
                        line,
                        "alias to an anchor that is not complete (recursive alias)".to_string(),
                    ));
                };
                b.expanded = b.expanded.saturating_add(target.size);
                if b.expanded > limits.max_expanded_nodes {
                    return Err(err(
                        line,
                        format!(
                            "aliases expand to more than {} nodes (an alias bomb?)",
                            limits.max_expanded_nodes
                        ),
                    ));
                }
                if b.stack.len() + target.height > limits.max_depth {
                    return Err(too_deep(line, limits));
                }
                b.add(target, line);
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let built = Built {
                    node: Rc::new(Node::Scalar {
                        text: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                        line,
                    }),
                    size: 1,
                    height: 1,
                };
                if anchor > 0 {
                    b.anchors.insert(anchor, built.clone());
                }
                b.add(built, line);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if b.stack.len() >= limits.max_depth {
                    return Err(too_deep(line, limits));
                }
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq(Vec::new())
                } else {
                    Open::Map {
                        entries: Vec::new(),
                        key: None,
                    }
                };
                b.stack.push(Frame {
                    kind,
                    line,
                    anchor,
                    size: 1,
                    height: 1,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = b.stack.pop() else {
                    return Err(err(line, "unbalanced YAML events".to_string()));
                };
                let node = match frame.kind {
                    Open::Seq(items) => Node::Seq {
                        items,
                        line: frame.line,
                    },
                    Open::Map { entries, .. } => Node::Map {
                        entries,
                        line: frame.line,
                    },
                };
                let built = Built {
                    node: Rc::new(node),
                    size: frame.size,
                    height: frame.height,
                };
                if frame.anchor > 0 {
                    b.anchors.insert(frame.anchor, built.clone());
                }
                b.add(built, line);
            }
        }
    }
    Ok(b.root)
}

fn too_deep(line: u32, limits: &Limits) -> YamlError {
    YamlError {
        line,
        message: format!("nesting deeper than {} levels", limits.max_depth),
    }
}

fn line_of(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// The line of the end of `text` (after a final line break, the empty
/// line that follows it), counting YAML's line breaks: LF, CRLF, a lone CR.
fn last_line(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    line_of(breaks.saturating_add(1))
}

/// A finished node with its expanded size and height, which an alias to it
/// adds to the budget and the depth.
#[derive(Clone)]
struct Built {
    node: Rc<Node>,
    size: usize,
    height: usize,
}

enum Open {
    Seq(Vec<Rc<Node>>),
    Map {
        entries: Vec<Entry>,
        /// A key waiting for its value, with the line it is written on.
        key: Option<(Rc<Node>, u32)>,
    },
}

struct Frame {
    kind: Open,
    line: u32,
    anchor: usize,
    size: usize,
    height: usize,
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Built>,
    root: Option<Rc<Node>>,
    expanded: usize,
}

impl Builder {
    /// Adds a finished node (written at `line`) to the open collection.
    fn add(&mut self, child: Built, line: u32) {
        let Some(frame) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(child.node);
            }
            return;
        };
        frame.size = frame.size.saturating_add(child.size);
        frame.height = frame.height.max(child.height + 1);
        match &mut frame.kind {
            Open::Seq(items) => items.push(child.node),
            Open::Map { entries, key } => match key.take() {
                None => *key = Some((child.node, line)),
                Some((key, key_line)) => entries.push(Entry {
                    key,
                    key_line,
                    value: child.node,
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_expanded_nodes: 100_000,
        max_depth: 64,
    };

    fn parse(text: &str) -> Result<Option<Rc<Node>>, YamlError> {
        parse_first_document(text, &LIMITS)
    }

    fn entries(node: &Node) -> &[Entry] {
        match node {
            Node::Map { entries, .. } => entries,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    fn text(node: &Node) -> &str {
        match node {
            Node::Scalar { text, .. } => text,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn lines_keys_and_raw_merge_keys() {
        let root = parse("a: &x\n  p: 1\nb:\n  <<: *x\n  p: 2\n  p: 3\n? [c]\n: 'null'\n")
            .unwrap()
            .unwrap();
        let top = entries(&root);
        assert_eq!(top.len(), 3);
        assert_eq!((text(&top[1].key), top[1].key_line), ("b", 3));
        let b = entries(&top[1].value);
        let keys: Vec<(&str, u32)> = b.iter().map(|e| (text(&e.key), e.key_line)).collect();
        assert_eq!(keys, [("<<", 4), ("p", 5), ("p", 6)], "nothing resolved");
        assert!(Rc::ptr_eq(&b[0].value, &top[0].value), "an alias is shared");
        assert_eq!(b[0].value.line(), 1, "an alias keeps the anchor's line");
        assert_eq!(top[2].key.kind(), "sequence");
        assert!(!top[2].value.is_null(), "a quoted null is text");
    }

    #[test]
    fn alias_keys_are_marked_where_written() {
        let root = parse("k: &k key\nm:\n  *k : v\n").unwrap().unwrap();
        let m = entries(&entries(&root)[1].value);
        assert_eq!((m[0].key.line(), m[0].key_line), (1, 3));
    }

    #[test]
    fn nulls_empty_streams_and_the_first_document() {
        let root = parse("a: ~\nb:\nc: NULL\nd: \"\"\n").unwrap().unwrap();
        let nulls: Vec<bool> = entries(&root).iter().map(|e| e.value.is_null()).collect();
        assert_eq!(nulls, [true, true, true, false]);
        assert!(parse("").unwrap().is_none());
        assert!(parse("# nothing\n").unwrap().is_none());
        let root = parse("---\na: 1\n...\n---\nb: [\n").unwrap().unwrap();
        assert_eq!(text(&entries(&root)[0].key), "a");
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
        assert!(err.to_string().starts_with(&format!("line {}: ", err.line)));
    }

    #[test]
    fn errors_at_the_end_name_a_line_of_the_file() {
        // Found by fuzzing (fuzz/corpus/dbyml/regress-error-past-the-end):
        // the error at the end of input was reported one line past it.
        for (text, last) in [
            ("default: &default\n  adapter: mysql2\n  pool: 5\nde", 4),
            ("a: [1,\n", 2),
            ("a: [1,\r\nb", 2),
            ("a: [1,\rb\r", 2),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.line >= 1 && err.line <= last, "{text:?}: {err}");
        }
        // The empty document of a bare `---` (fuzz/corpus/dbyml/regress-bare-document-start).
        let root = parse("---").unwrap().unwrap();
        assert!(root.is_null());
        assert_eq!(root.line(), 1);
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
        assert!(parse(&doc).unwrap_err().message.contains("expand"));
    }

    #[test]
    fn billion_laughs_stops_at_the_alias_over_budget() {
        let mut doc = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g"])
        {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            doc.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let err = parse(&doc).unwrap_err();
        // 10 + 9 * 10 + ... : the first `*e` of `f` goes over 100 000.
        assert_eq!(err.line, 6, "{err}");
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("a: {}1{}\n", "[".repeat(200), "]".repeat(200));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nesting deeper than 64"), "{err}");
        // Aliases count with the depth of what they expand to.
        let mut text = String::from("a0: &a0 [1]\n");
        for i in 1..70 {
            text.push_str(&format!("a{i}: &a{i} [*a{}]\n", i - 1));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("nesting deeper than 64"), "{err}");
        // Exactly at the limit is fine.
        let ok = format!("{}1{}\n", "[".repeat(64), "]".repeat(64));
        assert!(parse(&ok).unwrap().is_some());
    }
}
