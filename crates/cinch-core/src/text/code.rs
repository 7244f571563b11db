//! Source code: the outline stays, function bodies go to the store one by one.
//!
//! The file is parsed with the tree-sitter grammar of its language (Rust, Python, Go,
//! JavaScript, TypeScript, Ruby, Java); other languages get an outline by indentation (blocks
//! under function-like headers). Everything outside function bodies stays byte for byte:
//! imports, type, struct, enum, trait and class definitions, signatures, comments. The body of
//! each function or method is replaced by one line, `<<ccr:KEY N lines; calls a, b, c>>`,
//! unless it is short or the query is about it (the function's name, or the class or impl it
//! sits in, is among the query's terms), or it does not parse cleanly. Each elided body is
//! stored on its own, so it can be retrieved alone. A Python docstring keeps its first line;
//! comment blocks keep their first line (the rest of all of them is stored together, under one
//! marker at the end); long runs of imports keep their first lines and a count per module.

use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::detect::Language;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use tree_sitter::{Node, Parser, Point, Range};

/// Bodies of at most this many lines stay.
const SHORT_BODY: usize = 3;
/// Files from this size on are parsed in two halves at once (parsing is most of the time).
const SPLIT_PARSE_MIN: usize = 32 * 1024;
/// Runs of imports longer than this many lines keep their first [`IMPORTS_SHOWN`] lines.
const LONG_IMPORTS: usize = 10;
const IMPORTS_SHOWN: usize = 3;

/// Node kinds that are imports.
const IMPORTS: &[&str] = &[
    "use_declaration",
    "import_statement",
    "import_from_statement",
    "import_declaration",
];

fn grammar(lang: Language) -> Option<tree_sitter::Language> {
    Some(match lang {
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::Go => tree_sitter_go::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
        Language::Java => tree_sitter_java::LANGUAGE.into(),
        Language::Other => return None,
    })
}

/// Loads every grammar and parses a line with it, so that a first real call finds them ready.
pub(crate) fn warm() {
    let langs = [
        Language::Rust,
        Language::Python,
        Language::Go,
        Language::JavaScript,
        Language::TypeScript,
        Language::Ruby,
        Language::Java,
    ];
    let mut parser = Parser::new();
    for grammar in langs.into_iter().filter_map(grammar) {
        if parser.set_language(&grammar).is_ok() {
            let _ = parser.parse("x = f(1)\n", None);
        }
    }
}

/// Parses `text` and walks its tree: in two halves on two threads when it is large and has a
/// top-level item near its middle. Each half is parsed as an included range of the whole text,
/// so positions in its tree are positions in `text`. If either half does not parse cleanly (a
/// cut inside a string or a comment, say) the whole text is parsed at once, so the outline never
/// depends on the cut.
fn walk_source<'a>(
    grammar: &tree_sitter::Language,
    text: &'a str,
    lines: &[&str],
    terms: &'a [String],
) -> Option<Walk<'a>> {
    if text.len() >= SPLIT_PARSE_MIN {
        if let Some((byte, row)) = top_level_split(lines) {
            let head = Range {
                start_byte: 0,
                end_byte: byte,
                start_point: Point::new(0, 0),
                end_point: Point::new(row, 0),
            };
            let tail = Range {
                start_byte: byte,
                end_byte: text.len(),
                start_point: Point::new(row, 0),
                end_point: Point::new(lines.len(), 0),
            };
            let (head, tail) = std::thread::scope(|s| {
                let tail = s.spawn(|| walk_range(grammar, text, terms, Some(tail)));
                let head = walk_range(grammar, text, terms, Some(head));
                (head, tail.join().ok().flatten())
            });
            if let (Some(mut head), Some(tail)) = (head, tail) {
                head.absorb(tail);
                return Some(head);
            }
        }
    }
    walk_range(grammar, text, terms, None)
}

/// Parses `range` of `text` (all of it if `None`) and walks the tree. A range that does not
/// parse cleanly gives `None`; the whole text is walked errors and all.
fn walk_range<'a>(
    grammar: &tree_sitter::Language,
    text: &'a str,
    terms: &'a [String],
    range: Option<Range>,
) -> Option<Walk<'a>> {
    let mut parser = Parser::new();
    parser.set_language(grammar).ok()?;
    if let Some(range) = range {
        parser.set_included_ranges(&[range]).ok()?;
    }
    let tree = parser.parse(text, None)?;
    if range.is_some() && tree.root_node().has_error() {
        return None;
    }
    let mut walk = Walk::new(text, terms);
    walk.visit(tree.root_node(), 0);
    walk.trees = 1;
    Some(walk)
}

/// Where to cut `lines` in two for parsing: the start of a line nearest the middle that begins
/// a top-level item (text at column 0 after a blank line), as (byte offset, row), if it leaves
/// at least an eighth of the text on each side.
fn top_level_split(lines: &[&str]) -> Option<(usize, usize)> {
    let total: usize = lines.iter().map(|l| l.len()).sum();
    let mut at = 0usize;
    let mut best: Option<(usize, usize)> = None;
    for (row, pair) in lines.windows(2).enumerate() {
        at += pair[0].len();
        let starts_item = content(pair[0]).trim().is_empty()
            && pair[1]
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'@' | b'#' | b'/'));
        if starts_item && best.is_none_or(|(b, _)| at.abs_diff(total / 2) < b.abs_diff(total / 2)) {
            best = Some((at, row + 1));
        }
    }
    best.filter(|&(b, _)| b >= total / 8 && total - b >= total / 8)
}

/// Node kinds that are functions with a body, in any of the grammars.
const FUNCTIONS: &[&str] = &[
    "function_item",
    "function_definition",
    "function_declaration",
    "method_declaration",
    "constructor_declaration",
    "method_definition",
    "function_expression",
    "generator_function_declaration",
    "arrow_function",
    "method",
    "singleton_method",
];

/// Node kinds that contain functions and carry a name the query may use.
const CONTAINERS: &[&str] = &[
    "impl_item",
    "trait_item",
    "mod_item",
    "class_definition",
    "class_declaration",
    "class",
    "module",
    "interface_declaration",
];

fn calls_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(").expect("valid pattern"))
}

const NOT_CALLS: &[&str] = &[
    "if", "for", "while", "match", "switch", "return", "catch", "fn", "function", "def", "elif",
    "Some", "Ok", "Err", "new", "super", "print", "len", "Box", "Vec", "String",
];

/// The most used callees in `body`, for the marker.
fn calls(body: &str) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in calls_re().find_iter(body) {
        let name = m
            .as_str()
            .trim_end_matches(|c: char| c == '(' || c.is_whitespace());
        if !NOT_CALLS.contains(&name) {
            *counts.entry(name).or_default() += 1;
        }
    }
    let mut by: Vec<(&str, usize)> = counts.into_iter().collect();
    by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    by.iter()
        .take(3)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lines to elide, `first..=last` (0-based): a function's body, or the rest of a comment.
struct Elision {
    first: usize,
    last: usize,
    /// The function's name; empty for imports and comments.
    name: String,
    /// Comment lines share one stored entry, named by one marker at the end; everything
    /// else gets its own entry and a marker in place.
    shared: bool,
}

struct Walk<'a> {
    source: &'a str,
    /// Lowercase terms the query names.
    terms: &'a [String],
    /// How many trees were walked (the parts the text was parsed in).
    trees: usize,
    elisions: Vec<Elision>,
    /// Rows of comments (and module docstrings) that fill their lines, outside elided bodies.
    comment_rows: Vec<(usize, usize)>,
    /// Rows of top-level imports, with the module each names first.
    import_rows: Vec<(usize, usize, String)>,
}

impl<'a> Walk<'a> {
    fn new(source: &'a str, terms: &'a [String]) -> Self {
        Walk {
            source,
            terms,
            trees: 0,
            elisions: Vec::new(),
            comment_rows: Vec::new(),
            import_rows: Vec::new(),
        }
    }

    /// Adds what a walk over the next part of the text found.
    fn absorb(&mut self, next: Walk) {
        self.trees += next.trees;
        self.elisions.extend(next.elisions);
        self.comment_rows.extend(next.comment_rows);
        self.import_rows.extend(next.import_rows);
    }

    fn name_of(&self, node: Node) -> String {
        node.child_by_field_name("name")
            .and_then(|n| n.utf8_text(self.source.as_bytes()).ok())
            .unwrap_or("")
            .to_string()
    }

    fn asked_about(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        !name.is_empty()
            && self.terms.iter().any(|t| {
                *t == name || t.ends_with(&format!(".{name}")) || t.ends_with(&format!("::{name}"))
            })
    }

    fn visit(&mut self, node: Node, depth: usize) {
        if depth > 200 {
            return;
        }
        let kind = node.kind();
        if kind.contains("comment") || is_docstring_statement(node) {
            if self.fills_its_lines(node) {
                // Some grammars end a line comment after its line break.
                let end = node.end_position();
                let last = if end.column == 0 && end.row > node.start_position().row {
                    end.row - 1
                } else {
                    end.row
                };
                self.comment_rows.push((node.start_position().row, last));
            }
            return;
        }
        if IMPORTS.contains(&kind) && depth <= 2 && self.fills_its_lines(node) {
            let text = node.utf8_text(self.source.as_bytes()).unwrap_or("");
            self.import_rows.push((
                node.start_position().row,
                node.end_position().row,
                import_root(text),
            ));
            return;
        }
        if CONTAINERS.contains(&kind) && self.asked_about(&self.name_of(node)) {
            // The query is about this type: all of it stays.
            return;
        }
        if FUNCTIONS.contains(&kind) {
            if let Some(e) = self.elision(node) {
                self.elisions.push(e);
                return;
            }
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.visit(child, depth + 1);
        }
    }

    /// Whether nothing but whitespace shares `node`'s first and last lines.
    fn fills_its_lines(&self, node: Node) -> bool {
        let src = self.source.as_bytes();
        let line_start = src[..node.start_byte()]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let end = if src[..node.end_byte()].ends_with(b"\n") {
            node.end_byte() - 1
        } else {
            node.end_byte()
        };
        let line_end = src[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(src.len(), |i| end + i);
        src[line_start..node.start_byte()]
            .iter()
            .all(|b| b.is_ascii_whitespace())
            && src[end..line_end].iter().all(|b| b.is_ascii_whitespace())
    }

    /// Long runs of imports keep their first lines; the rest is summed up by module.
    fn import_elisions(&mut self, lines: &[&str]) -> Vec<(usize, String)> {
        let mut runs: Vec<Vec<(usize, usize, String)>> = Vec::new();
        for row in std::mem::take(&mut self.import_rows) {
            // Blank lines may separate imports of one run.
            let joins = runs.last().and_then(|r| r.last()).is_some_and(|last| {
                (last.1 + 1..row.0)
                    .all(|i| lines.get(i).is_some_and(|l| content(l).trim().is_empty()))
            });
            if joins {
                runs.last_mut().expect("a run").push(row);
            } else {
                runs.push(vec![row]);
            }
        }
        let mut summaries = Vec::new();
        for run in runs {
            let (first, last) = (run[0].0, run[run.len() - 1].1);
            if last + 1 - first <= LONG_IMPORTS {
                continue;
            }
            let cut = first + IMPORTS_SHOWN;
            let mut roots: BTreeMap<&str, usize> = BTreeMap::new();
            for (a, _, root) in &run {
                if *a >= cut {
                    *roots.entry(root.as_str()).or_default() += 1;
                }
            }
            let mut by: Vec<(&str, usize)> = roots.into_iter().collect();
            by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = by.iter().take(4).map(|(r, n)| format!("{r} {n}")).collect();
            self.elisions.push(Elision {
                first: cut,
                last,
                name: String::new(),
                shared: false,
            });
            summaries.push((cut, format!("more imports: {}", list.join(", "))));
        }
        summaries
    }

    /// Long comment blocks (runs of comments on consecutive lines) keep their first line.
    fn comment_elisions(&mut self, lines: &[&str]) {
        self.comment_rows.sort_unstable();
        let mut blocks: Vec<(usize, usize)> = Vec::new();
        for &(a, b) in &self.comment_rows {
            match blocks.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => blocks.push((a, b)),
            }
        }
        for (a, b) in blocks {
            if b == a {
                continue;
            }
            let closing = lines
                .get(b)
                .map(|l| content(l).trim())
                .is_some_and(|t| matches!(t, "*/" | "**/" | "\"\"\"" | "'''" | "=end"));
            let last = if closing { b - 1 } else { b };
            if last > a {
                self.elisions.push(Elision {
                    first: a + 1,
                    last,
                    name: String::new(),
                    shared: true,
                });
            }
        }
    }

    /// The lines of `function`'s body that can go, if they can.
    fn elision(&self, function: Node) -> Option<Elision> {
        let name = self.name_of(function);
        if self.asked_about(&name) || function.has_error() {
            return None;
        }
        let body = function.child_by_field_name("body")?;
        let start = function.start_position().row;
        let (bs, be) = (body.start_position().row, body.end_position().row);
        let text = body.utf8_text(self.source.as_bytes()).ok()?;
        let (first, last) = if text.starts_with('{') {
            // `{` and `}` lines stay; what is between them goes.
            (bs + 1, be.checked_sub(1)?)
        } else if bs > start && be >= bs {
            // Python and Ruby: the body's own lines (Ruby's `end` comes after them).
            let mut first = bs;
            if let Some(doc) = docstring(body) {
                // The docstring's first line stays.
                if doc.start_position().row == bs {
                    first = bs + 1;
                }
            }
            (first, be)
        } else {
            return None;
        };
        if last < first || last - first < SHORT_BODY {
            return None;
        }
        // An indented body must own its last line (Ruby's `end` on a line of its own).
        let shares_last =
            last >= function.end_position().row && function.end_byte() != body.end_byte();
        if !text.starts_with('{') && shares_last {
            return None;
        }
        Some(Elision {
            first,
            last,
            name,
            shared: false,
        })
    }
}

/// The module an import names first: `std` of `use std::io`, `c7n` of `from c7n.x import y`,
/// `../errors/HTTPError.js` of `import {A} from '../errors/HTTPError.js'`.
fn import_root(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"from\s+['"]([^'"]+)['"]|^\s*(?:pub(?:\([^)]*\))?\s+)?(?:use|import|from)\s+(?:static\s+)?\{?\s*([A-Za-z_$@][\w$@-]*)"#)
            .expect("valid pattern")
    });
    re.captures(text)
        .and_then(|c| c.get(1).or_else(|| c.get(2)))
        .map_or_else(|| "other".to_string(), |m| m.as_str().to_string())
}

/// For languages without a grammar: blocks under a line that looks like a function header
/// (it has a `(` and ends in `{` or `:`, and the lines after it are indented deeper) are
/// elided like function bodies; the header and the closing line stay.
fn indentation_outline(lines: &[&str], terms: &[String]) -> Vec<Elision> {
    let indent = |i: usize| {
        let c = content(lines[i]);
        (!c.trim().is_empty()).then(|| c.len() - c.trim_start().len())
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let header = content(lines[i]).trim_end();
        let Some(level) = indent(i) else {
            i += 1;
            continue;
        };
        let opens = header.contains('(') && header.ends_with(['{', ':']);
        let named = terms
            .iter()
            .any(|t| header.to_ascii_lowercase().contains(t.as_str()));
        if !opens || named {
            i += 1;
            continue;
        }
        // The block: the following lines indented deeper (blank lines included).
        let mut last = i;
        let mut j = i + 1;
        while j < lines.len() {
            match indent(j) {
                Some(l) if l <= level => break,
                Some(_) => last = j,
                None => {}
            }
            j += 1;
        }
        if last > i && last - i > SHORT_BODY {
            out.push(Elision {
                first: i + 1,
                last,
                name: header.trim().chars().take(60).collect(),
                shared: false,
            });
            i = last + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// A string standing as a statement: a Python module or class docstring.
fn is_docstring_statement(node: Node) -> bool {
    node.kind() == "expression_statement"
        && node.named_child_count() == 1
        && node.named_child(0).is_some_and(|s| s.kind() == "string")
}

/// A Python docstring: the body's first statement, a string.
fn docstring(body: Node) -> Option<Node> {
    let first = body.named_child(0)?;
    (first.kind() == "expression_statement"
        && first.named_child(0).is_some_and(|s| s.kind() == "string"))
    .then_some(first)
}

/// Compresses source code (see the module docs).
pub fn compress_code(
    text: &str,
    language: Option<Language>,
    ctx: &Context,
) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lang = language.unwrap_or(Language::Other);
    let lines = lines_of(text);
    let (mut elisions, import_notes) = match grammar(lang) {
        Some(grammar) => {
            let mut walk = walk_source(&grammar, text, &lines, &ctx.query.exact)
                .ok_or(TextError::NothingToDrop("the code could not be parsed"))?;
            let notes: HashMap<usize, String> = walk.import_elisions(&lines).into_iter().collect();
            walk.comment_elisions(&lines);
            (walk.elisions, notes)
        }
        None => (
            indentation_outline(&lines, &ctx.query.exact),
            HashMap::new(),
        ),
    };
    if elisions.is_empty() {
        return Err(TextError::NothingToDrop(
            "no function body long enough to elide",
        ));
    }
    elisions.sort_by_key(|e| e.first);
    // Nested or overlapping ranges: the outer one wins.
    let mut ranges: Vec<Elision> = Vec::new();
    for e in elisions {
        if ranges.last().is_none_or(|l| e.first > l.last) {
            ranges.push(e);
        }
    }
    let text_of = |e: &Elision| lines[e.first..=e.last.min(lines.len() - 1)].concat();
    // Each body and import run on its own; the comment lines together, last.
    let mut contents: Vec<String> = ranges.iter().filter(|e| !e.shared).map(text_of).collect();
    let shared: String = ranges.iter().filter(|e| e.shared).map(text_of).collect();
    let shared_lines = ranges
        .iter()
        .filter(|e| e.shared)
        .map(|e| e.last - e.first + 1)
        .sum::<usize>();
    if !shared.is_empty() {
        contents.push(shared);
    }
    let refs: Vec<&[u8]> = contents.iter().map(|b| b.as_bytes()).collect();
    let keys: Vec<Key> = ctx.store.put_many(ctx.namespace, &refs)?;
    let mut out = String::with_capacity(text.len() / 3);
    let mut at = 0usize;
    let mut elided_lines = 0usize;
    let mut own = contents.iter().zip(&keys);
    for e in &ranges {
        out.extend(lines[at..e.first].iter().copied());
        let n = e.last - e.first + 1;
        elided_lines += n;
        at = e.last + 1;
        if e.shared {
            continue;
        }
        let Some((body, key)) = own.next() else {
            break;
        };
        let first = content(lines[e.first]);
        let indent = &first[..first.len() - first.trim_start().len()];
        let called = calls(body);
        // The function's name is on the line above; the marker says what the body holds.
        let summary = if let Some(note) = import_notes.get(&e.first) {
            note.clone()
        } else if called.is_empty() {
            format!("{n} lines")
        } else {
            format!("{n} lines; calls {called}")
        };
        out.push_str(indent);
        out.push_str(&marker(key, &summary));
        out.push('\n');
    }
    out.extend(lines[at.min(lines.len())..].iter().copied());
    if shared_lines > 0 {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        let key = keys.last().expect("the shared entry was stored");
        out.push_str(&marker(
            key,
            &format!("{shared_lines} comment lines after the first line of their block"),
        ));
        out.push('\n');
    }
    let mut dropped = BTreeMap::new();
    let bodies_cut = ranges.iter().filter(|e| !e.name.is_empty()).count();
    dropped.insert("function bodies".to_string(), bodies_cut);
    dropped.insert("comment lines".to_string(), shared_lines);
    dropped.insert("lines".to_string(), elided_lines);
    Ok(TextOutcome {
        output: out,
        strategy: "code-outline",
        ccr_keys: keys,
        details: TextDetails {
            lines_before: lines.len(),
            lines_kept: lines.len() - elided_lines,
            groups: ranges.len(),
            dropped,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::{MemoryStore, Store};

    fn outline(code: &str, lang: Language, query: &str) -> (String, MemoryStore) {
        crate::context::with_context(code, query, 10, |ctx| {
            compress_code(code, Some(lang), ctx).unwrap().output
        })
    }

    const RUST: &str = "use std::io;\n\n/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    let c = a + b;\n    let d = c * 2;\n    println!(\"{d}\");\n    helper(d)\n}\n\nfn helper(x: i32) -> i32 {\n    let y = x;\n    let z = y;\n    let w = z;\n    w\n}\n";

    #[test]
    fn rust_bodies_go_signatures_stay() {
        let (out, store) = outline(RUST, Language::Rust, "");
        assert!(out.contains("pub fn add(a: i32, b: i32) -> i32 {\n"));
        assert!(out.contains("/// Adds.\n"));
        assert!(!out.contains("let d = c * 2"));
        assert!(out.contains("calls helper"), "{out}");
        // Each body is retrievable on its own.
        let keys = crate::ccr::marker_keys(&out);
        assert_eq!(keys.len(), 2);
        let body = store.get("t", &keys[0]).unwrap();
        assert!(String::from_utf8(body).unwrap().contains("let d = c * 2;"));
    }

    #[test]
    fn the_asked_about_function_stays_whole() {
        let (out, _) = outline(RUST, Language::Rust, "How does `helper` work?");
        assert!(out.contains("let w = z;"));
        assert!(!out.contains("let d = c * 2"));
    }

    #[test]
    fn other_languages_get_an_indentation_outline() {
        let c = "#include <stdio.h>\n\nint add(int a, int b) {\n    int c = a + b;\n    int d = c * 2;\n    printf(\"%d\", d);\n    return d;\n}\n\nint small(void) {\n    return 1;\n}\n";
        let (out, _) = outline(c, Language::Other, "");
        assert!(out.contains("int add(int a, int b) {\n    <<ccr:"), "{out}");
        assert!(out.contains("lines; calls printf"), "{out}");
        assert!(!out.contains("int d = c * 2"));
        assert!(
            out.contains("int small(void) {\n    return 1;\n}"),
            "short bodies stay"
        );
    }

    #[test]
    fn python_keeps_the_docstring_line() {
        let py = "class A:\n    def f(self):\n        \"\"\"Does f.\n\n        At length.\n        \"\"\"\n        x = 1\n        y = 2\n        return x + y\n";
        let (out, _) = outline(py, Language::Python, "");
        assert!(
            out.contains("    def f(self):\n        \"\"\"Does f.\n"),
            "{out}"
        );
        assert!(!out.contains("x = 1"));
    }

    /// The elisions, comment rows and import rows a walk found.
    fn found(walk: &Walk) -> Vec<(usize, usize, String)> {
        let mut found: Vec<(usize, usize, String)> = walk
            .elisions
            .iter()
            .map(|e| (e.first, e.last, e.name.clone()))
            .collect();
        found.extend(walk.comment_rows.iter().map(|&(a, b)| (a, b, "#".into())));
        found.extend(walk.import_rows.iter().cloned());
        found
    }

    fn whole(lang: Language, text: &str) -> Vec<(usize, usize, String)> {
        found(&walk_range(&grammar(lang).unwrap(), text, &[], None).unwrap())
    }

    #[test]
    fn a_large_file_parsed_in_halves_outlines_like_the_whole() {
        let item = "/// Doc.\nuse std::io;\n\npub fn f() -> u32 {\n    let a = 1;\n    let b = 2;\n    let c = 3;\n    a + b + c\n}\n\n";
        let text = item.repeat(SPLIT_PARSE_MIN / item.len() + 10);
        let walk = walk_source(
            &grammar(Language::Rust).unwrap(),
            &text,
            &lines_of(&text),
            &[],
        );
        let walk = walk.unwrap();
        assert_eq!(walk.trees, 2, "a cut was found and both halves parsed");
        assert_eq!(found(&walk), whole(Language::Rust, &text));
    }

    #[test]
    fn a_cut_inside_a_string_falls_back_to_one_parse() {
        // The only top-level line after a blank line sits inside a raw string.
        let body = "    let a = 1;\n".repeat(SPLIT_PARSE_MIN / 15);
        let text = format!("fn a() {{\n{body}}}\nconst S: &str = r\"x\n\nfn fake() {{\n}}\n\";\nfn b() {{\n{body}}}\n");
        let lines = lines_of(&text);
        assert!(top_level_split(&lines).is_some());
        let walk = walk_source(&grammar(Language::Rust).unwrap(), &text, &lines, &[]).unwrap();
        assert_eq!(walk.trees, 1);
        assert_eq!(found(&walk), whole(Language::Rust, &text));
        assert_eq!(
            walk.elisions.len(),
            2,
            "a and b, not the fake one in the string"
        );
    }

    /// Large files of the corpus are parsed in halves, with the outline of a whole parse.
    #[test]
    fn the_corpus_parses_in_halves_like_the_whole() {
        for (path, text) in crate::test_corpus::files() {
            let lang = match path.extension().and_then(|e| e.to_str()) {
                Some("rs") => Language::Rust,
                Some("py") => Language::Python,
                Some("ts") => Language::TypeScript,
                Some("rb") => Language::Ruby,
                _ => continue,
            };
            let lines = lines_of(&text);
            let walk = walk_source(&grammar(lang).unwrap(), &text, &lines, &[]).unwrap();
            if text.len() >= SPLIT_PARSE_MIN && top_level_split(&lines).is_some() {
                assert_eq!(walk.trees, 2, "{path:?}");
            }
            assert_eq!(found(&walk), whole(lang, &text), "{path:?}");
        }
    }
}
