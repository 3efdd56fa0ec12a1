//! Rule help in the page: the Markdown subset rule help is written in
//! (headings, paragraphs, lists, fenced code, inline `code` and
//! `**strong**`) parsed into blocks of plain-text spans, which the template
//! escapes like any other string. Nothing in the help is ever marked safe.

use serde::Serialize;

use super::{c, clean};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(super) enum Block {
    Heading {
        level: u8,
        spans: Vec<Span>,
    },
    Paragraph {
        spans: Vec<Span>,
    },
    List {
        ordered: bool,
        start: u32,
        items: Vec<Vec<Span>>,
    },
    Code {
        lang: String,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(super) struct Span {
    text: String,
    code: bool,
    strong: bool,
}

impl Span {
    fn plain(text: &str) -> Self {
        Span {
            text: c(text),
            code: false,
            strong: false,
        }
    }
}

/// `## heading`, paragraphs, `- ` / `* ` / `1. ` lists (continuation lines
/// indented or lazy), fenced code blocks, and inline `code` and `**strong**`.
/// Anything else is kept as literal text, which the template escapes.
pub(super) fn markdown(src: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut para: Vec<&str> = Vec::new();
    // (ordered, start, items' raw text)
    let mut list: Option<(bool, u32, Vec<String>)> = None;
    let mut blank_in_list = false;

    fn flush_para(para: &mut Vec<&str>, blocks: &mut Vec<Block>) {
        if !para.is_empty() {
            blocks.push(Block::Paragraph {
                spans: inline(&para.join(" ")),
            });
            para.clear();
        }
    }
    fn flush_list(list: &mut Option<(bool, u32, Vec<String>)>, blocks: &mut Vec<Block>) {
        if let Some((ordered, start, items)) = list.take() {
            blocks.push(Block::List {
                ordered,
                start,
                items: items.iter().map(|i| inline(i)).collect(),
            });
        }
    }

    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() {
            flush_para(&mut para, &mut blocks);
            blank_in_list = list.is_some();
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("```") {
            flush_para(&mut para, &mut blocks);
            flush_list(&mut list, &mut blocks);
            blank_in_list = false;
            let lang = rest.split_whitespace().next().unwrap_or("").to_string();
            let mut code = Vec::new();
            for l in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                // Fences indented inside a list item indent their content too.
                let cut = (l.len() - l.trim_start().len()).min(indent);
                code.push(clean(l.get(cut..).unwrap_or(l), true));
            }
            blocks.push(Block::Code {
                lang: c(&lang),
                text: code.join("\n"),
            });
            continue;
        }
        if indent < 4
            && let Some((level, text)) = heading(trimmed)
        {
            flush_para(&mut para, &mut blocks);
            flush_list(&mut list, &mut blocks);
            blank_in_list = false;
            blocks.push(Block::Heading {
                level,
                spans: inline(text),
            });
            continue;
        }
        if indent < 4
            && let Some((ordered, number, text)) = list_item(trimmed)
        {
            flush_para(&mut para, &mut blocks);
            match &mut list {
                Some((o, _, items)) if *o == ordered => items.push(text.to_string()),
                _ => {
                    flush_list(&mut list, &mut blocks);
                    list = Some((ordered, number, vec![text.to_string()]));
                }
            }
            blank_in_list = false;
            continue;
        }
        if let Some((_, _, items)) = &mut list {
            // An indented line continues the item, even after a blank line;
            // an unindented one does only directly after it (lazy continuation).
            if indent >= 2 || !blank_in_list {
                if let Some(last) = items.last_mut() {
                    last.push(' ');
                    last.push_str(trimmed);
                }
                blank_in_list = false;
                continue;
            }
            flush_list(&mut list, &mut blocks);
            blank_in_list = false;
        }
        para.push(trimmed);
    }
    flush_para(&mut para, &mut blocks);
    flush_list(&mut list, &mut blocks);
    blocks
}

fn heading(line: &str) -> Option<(u8, &str)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if rest.is_empty() {
        return Some((hashes as u8, ""));
    }
    rest.strip_prefix(' ')
        .map(|t| (hashes as u8, t.trim().trim_end_matches('#').trim_end()))
}

fn list_item(line: &str) -> Option<(bool, u32, &str)> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some((false, 1, rest.trim_start()));
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=9).contains(&digits) {
        let rest = &line[digits..];
        if let Some(text) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            let n = line[..digits].parse().unwrap_or(1);
            return Some((true, n, text.trim_start()));
        }
    }
    None
}

/// Inline `code` (any run of backticks closed by the same run) and `**strong**`.
fn inline(text: &str) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        let ticks = rest[i..].bytes().take_while(|&b| b == b'`').count();
        let after = &rest[i + ticks..];
        match closing_run(after, ticks) {
            Some(end) => {
                strong_spans(&rest[..i], &mut out);
                let code = &after[..end];
                // CommonMark: one space on each side is padding.
                let code = if code.len() > 2 && code.starts_with(' ') && code.ends_with(' ') {
                    &code[1..code.len() - 1]
                } else {
                    code
                };
                out.push(Span {
                    text: c(code),
                    code: true,
                    strong: false,
                });
                rest = &after[end + ticks..];
            }
            None => {
                strong_spans(&rest[..i + ticks], &mut out);
                rest = after;
            }
        }
    }
    strong_spans(rest, &mut out);
    // Merge neighbours of the same kind (literal backticks split them).
    let mut merged: Vec<Span> = Vec::with_capacity(out.len());
    for s in out {
        match merged.last_mut() {
            Some(last) if !last.code && !s.code && last.strong == s.strong => {
                last.text.push_str(&s.text)
            }
            _ => merged.push(s),
        }
    }
    merged
}

fn closing_run(s: &str, n: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let start = i;
            while i < b.len() && b[i] == b'`' {
                i += 1;
            }
            if i - start == n {
                return Some(start);
            }
        } else {
            i += 1;
        }
    }
    None
}

fn strong_spans(s: &str, out: &mut Vec<Span>) {
    let mut rest = s;
    while let Some(i) = rest.find("**") {
        match rest[i + 2..].find("**") {
            Some(j) if j > 0 => {
                if i > 0 {
                    out.push(Span::plain(&rest[..i]));
                }
                out.push(Span {
                    text: c(&rest[i + 2..i + 2 + j]),
                    code: false,
                    strong: true,
                });
                rest = &rest[i + 2 + j + 2..];
            }
            _ => break,
        }
    }
    if !rest.is_empty() {
        out.push(Span::plain(rest));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(spans: &[Span]) -> String {
        spans
            .iter()
            .map(|s| {
                if s.code {
                    format!("[{}]", s.text)
                } else if s.strong {
                    format!("*{}*", s.text)
                } else {
                    s.text.clone()
                }
            })
            .collect()
    }

    #[test]
    fn markdown_subset_of_rule_help() {
        let help = "## What it checks\n\nThat `have_ssl` is `YES`\nacross lines.\n\n\
            - one `a`\n  continued\n- two\n\n1. first\n2. **second**\n\n\
            ## How to fix\n\n```sh\n/etc/init.d/mysql restart\n  indented\n```\nafter `` a`b `` end\n";
        let blocks = markdown(help);
        assert_eq!(blocks.len(), 7, "{blocks:#?}");
        assert!(
            matches!(&blocks[0], Block::Heading { level: 2, spans } if text(spans) == "What it checks")
        );
        assert!(
            matches!(&blocks[1], Block::Paragraph { spans } if text(spans) == "That [have_ssl] is [YES] across lines.")
        );
        match &blocks[2] {
            Block::List {
                ordered: false,
                items,
                ..
            } => {
                assert_eq!(items.len(), 2);
                assert_eq!(text(&items[0]), "one [a] continued");
            }
            b => panic!("{b:?}"),
        }
        match &blocks[3] {
            Block::List {
                ordered: true,
                start: 1,
                items,
            } => assert_eq!(text(&items[1]), "*second*"),
            b => panic!("{b:?}"),
        }
        assert!(
            matches!(&blocks[5], Block::Code { lang, text } if lang == "sh" && text == "/etc/init.d/mysql restart\n  indented")
        );
        assert!(
            matches!(&blocks[6], Block::Paragraph { spans } if text(spans) == "after [a`b] end")
        );
    }

    #[test]
    fn markdown_keeps_odd_input_literal() {
        // Unclosed backticks and bold, an unclosed fence, html: all plain text.
        let blocks = markdown("a ` b ** c <b>x</b>\n\n```\nnever closed");
        assert!(
            matches!(&blocks[0], Block::Paragraph { spans } if text(spans) == "a ` b ** c <b>x</b>")
        );
        assert!(matches!(&blocks[1], Block::Code { text, .. } if text == "never closed"));
        assert!(markdown("").is_empty());
        // A list item separated by a blank line stays one list.
        let blocks = markdown("- a\n\n- b\n\nafter");
        assert!(matches!(&blocks[0], Block::List { items, .. } if items.len() == 2));
        assert!(matches!(&blocks[1], Block::Paragraph { .. }));
    }
}
