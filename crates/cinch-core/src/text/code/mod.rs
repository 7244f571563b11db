//! Source code: an outline that still parses, as detailed as the budget holds.
//!
//! The file is parsed with the tree-sitter grammar of its language (Rust, Python, Go,
//! JavaScript, TypeScript, Ruby, Java); other languages get an outline by indentation (blocks
//! under function-like headers). What the outline may leave out is a list of cuts
//! ([`outline::Cut`]), each hiding whole lines so that what stays is still valid code: a
//! function's body becomes a placeholder the language accepts with a marker inside a comment
//! (Python `...  # <<ccr:KEY 12 lines; calls a, b>>`, braces `{ /* <<ccr:KEY …>> */ }`, Ruby
//! `# <<ccr:KEY …>>` before the kept `end`); docstrings and block comments keep their first
//! and closing lines, never cut open.
//!
//! The budget is a cap, and it is used. The outline comes first: every definition's signature
//! line stays before any body gets room. Cuts are ordered from least to most worth keeping in
//! three phases. First what is not a signature ([`STAGES`]): function bodies (the longest and
//! least called, private before public, first), then the markers of those bodies shortened to
//! a bare placeholder (the whole file stays retrievable under the key at the end), then
//! docstrings, comment blocks and class members other than methods cut to their first line,
//! then whole comments, docstrings, imports, short bodies, fields of types and the contents of
//! large literals (a table keeps the line that names it); and the same again for what the
//! query asks about, so that even the body of the asked function gives way before any
//! signature (it gives way from its last statements on, and comes back from its first). Then
//! parameter lists over several lines and the attributes and decorators on lines of their
//! own. Last whole items: private ones and test code first, the most tokens saved for each
//! definition lost first, what the query asks about last of all; each run of them leaves a
//! bare placeholder line, and the marker at the end counts them.
//! The fewest cuts that bring the output under the budget are found by bisection, counting
//! tokens exactly; then, while there is room, cuts are undone in reverse order (items first,
//! then parameters, then the query's definitions, then comments, then bodies shortest and
//! most called first) so that the output fills the budget. A definition the query names
//! (`parse_header`, `Store::put`, `class ConfigLoader`, with or without backticks) keeps its
//! whole body whenever it fits beside the outline. A bare placeholder joins the line that
//! opens its block (`fn f() { /* ... */ }`, `def f(): ...`).
//!
//! Every elided body is stored on its own under its marker's key; the whole file is stored
//! under the key of the comment line at the end, recording which lines stayed visible.

mod names;
mod outline;

use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::entry::{self, Header};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::detect::Language;
use crate::tokens::estimate;
use names::Asked;
use outline::{Cut, Form, Walker, What, ELIDED};
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;
use tree_sitter::{Parser, Point, Range, Tree};

/// Bodies of at most this many lines are elided only late (their placeholder costs about as
/// much as they do).
const SHORT_BODY: usize = 3;
/// Files from this size on are parsed in two halves at once (parsing is most of the time).
const SPLIT_PARSE_MIN: usize = 32 * 1024;
/// Tokens kept free while searching, for the real key of the whole file.
const KEY_SLACK: usize = 6;
/// Rounds of bringing cuts back while there is room.
const FILL_ROUNDS: usize = 3;
/// Item names listed in one note of left-out items.
const LISTED: usize = 6;

/// The order in which cuts are applied, by stage, within each phase (see `phase`):
///
/// 1. function bodies, and the tail of long runs of imports;
/// 2. the markers of elided bodies shortened to a bare placeholder;
/// 3. docstrings and comment blocks to their first line, class members other than methods;
/// 4. whole comments, docstrings and import runs, short bodies, the fields of types, the
///    contents of large literals, parameter lists;
/// 5. whole items (private ones and test code first, the largest first), what leads into
///    them, warning comments;
///
/// and within a phase the same again for what the query asks about (weakest match first).
pub const STAGES: u8 = 5;

/// The stage of shortening the markers.
const TERSE_STAGE: u8 = 2;

/// The comment and statement syntax notes are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    /// `#` comments, `...` as a statement.
    Python,
    /// `#` comments, blocks closed by `end`.
    Ruby,
    /// `//` and `/* */` comments, braces.
    Brace,
    /// `#` comments (shell-like languages without a grammar here).
    Hash,
    /// `--` comments (SQL, Lua, Haskell).
    Dash,
}

impl Syntax {
    fn line_comment(self) -> &'static str {
        match self {
            Syntax::Python | Syntax::Ruby | Syntax::Hash => "#",
            Syntax::Brace => "//",
            Syntax::Dash => "--",
        }
    }

    fn of(lang: Language, lines: &[&str]) -> Syntax {
        match lang {
            Language::Python => Syntax::Python,
            Language::Ruby => Syntax::Ruby,
            Language::Other => {
                let starts = |p: &str| {
                    lines
                        .iter()
                        .take(500)
                        .filter(|l| l.trim_start().starts_with(p))
                        .count()
                };
                let hash = lines
                    .iter()
                    .take(500)
                    .filter(|l| {
                        let t = l.trim_start();
                        t.starts_with('#') && !preprocessor_re().is_match(t)
                    })
                    .count();
                let slash = starts("//") + starts("/*");
                let dash = starts("--");
                if hash > slash && hash >= dash {
                    Syntax::Hash
                } else if dash > slash {
                    Syntax::Dash
                } else {
                    Syntax::Brace
                }
            }
            _ => Syntax::Brace,
        }
    }

    /// A note's line.
    fn note(self, form: Form, indent: &str, text: &str) -> String {
        let text = text.replace(['\n', '\r'], " ");
        match (form, self) {
            (Form::Silent, _) => String::new(),
            (Form::Statement, _) if text == ELIDED => format!("{indent}{ELIDED}\n"),
            (Form::Statement, _) => format!("{indent}...  # {text}\n"),
            (Form::Block, Syntax::Python) if text == ELIDED => format!("{indent}{ELIDED}\n"),
            (Form::Block, Syntax::Python) => format!("{indent}...  # {text}\n"),
            (Form::Line, Syntax::Python) if !indent.is_empty() && text == ELIDED => {
                format!("{indent}{ELIDED}\n")
            }
            (Form::Line, Syntax::Python) if !indent.is_empty() => {
                format!("{indent}...  # {text}\n")
            }
            (Form::Block | Form::Comment, Syntax::Brace) => {
                format!("{indent}/* {} */\n", text.replace("*/", "* /"))
            }
            (_, s) => format!("{indent}{} {text}\n", s.line_comment()),
        }
    }
}

fn preprocessor_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^#\s*(?:include|define|undef|if|ifdef|ifndef|elif|else|endif|pragma|error|line|import)\b")
            .expect("valid pattern")
    })
}

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

/// Every language with a grammar here.
pub(crate) const PARSED: [Language; 7] = [
    Language::Rust,
    Language::Python,
    Language::Go,
    Language::JavaScript,
    Language::TypeScript,
    Language::Ruby,
    Language::Java,
];

/// How badly `text` parses as `lang`, for language detection: the number of rows holding a
/// token the parser could not place (a direct child of an error node) or a missing token;
/// `None` without a grammar. Whole well-formed subtrees inside an error node do not count, so
/// that a sample cut short (a Ruby module without its `end`) still reads as its language.
pub(crate) fn error_rows(lang: Language, text: &str) -> Option<usize> {
    let grammar = grammar(lang)?;
    let mut parser = Parser::new();
    parser.set_language(&grammar).ok()?;
    let tree = parser.parse(text, None)?;
    let mut rows: Vec<usize> = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_missing() || (node.is_error() && node.child_count() == 0) {
            rows.push(node.start_position().row);
            continue;
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if node.is_error() && child.child_count() == 0 {
                rows.push(child.start_position().row);
            } else if child.has_error() || child.is_error() || child.is_missing() {
                stack.push(child);
            }
        }
    }
    rows.sort_unstable();
    rows.dedup();
    Some(rows.len())
}

/// Loads every grammar and parses a line with it, so that a first real call finds them ready.
pub(crate) fn warm() {
    let mut parser = Parser::new();
    for grammar in PARSED.into_iter().filter_map(grammar) {
        if parser.set_language(&grammar).is_ok() {
            let _ = parser.parse("x = f(1)\n", None);
        }
    }
}

/// Parses `text`: in two halves on two threads when it is large and has a top-level item near
/// its middle. Each half is parsed as an included range of the whole text, so positions in its
/// tree are positions in `text`. If either half does not parse cleanly (a cut inside a string or
/// a comment, say) the whole text is parsed at once, so the outline never depends on the cut.
fn parse(grammar: &tree_sitter::Language, text: &str, lines: &[&str]) -> Option<Vec<Tree>> {
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
                let tail = s.spawn(|| parse_range(grammar, text, Some(tail)));
                let head = parse_range(grammar, text, Some(head));
                (head, tail.join().ok().flatten())
            });
            if let (Some(head), Some(tail)) = (head, tail) {
                return Some(vec![head, tail]);
            }
        }
    }
    parse_range(grammar, text, None).map(|t| vec![t])
}

/// Parses `range` of `text` (all of it if `None`). A range that does not parse cleanly gives
/// `None`; the whole text is parsed errors and all.
fn parse_range(grammar: &tree_sitter::Language, text: &str, range: Option<Range>) -> Option<Tree> {
    let mut parser = Parser::new();
    parser.set_language(grammar).ok()?;
    if let Some(range) = range {
        parser.set_included_ranges(&[range]).ok()?;
    }
    let tree = parser.parse(text, None)?;
    if range.is_some() && tree.root_node().has_error() {
        return None;
    }
    Some(tree)
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

/// A line that is only a label (`retry:`, `Lines:`), perhaps with a line comment.
fn label_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*[A-Za-z_]\w*:\s*(?://.*)?$").expect("valid pattern"))
}

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

/// How often each name is called in `text`.
fn call_counts(text: &str) -> HashMap<&str, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for c in calls_re().captures_iter(text) {
        if let Some(m) = c.get(1) {
            *counts.entry(m.as_str()).or_default() += 1;
        }
    }
    counts
}

/// For languages without a grammar: blocks under a line that looks like a function header (it
/// has a `(` and ends in `{` or `:`, or its next line is a lone `{`, and the lines after it are
/// indented deeper) are elided like function bodies, the header and the closing line staying;
/// top-level paragraphs (from a line at column 0 after a blank line) are the items. Nothing
/// starts inside a block comment or a string over several lines.
fn indentation_outline(lines: &[&str], syntax: Syntax) -> Vec<Cut> {
    let quoted = quoted_rows(lines, syntax);
    let indent = |i: usize| {
        let c = content(lines[i]);
        (!c.trim().is_empty()).then(|| c.len() - c.trim_start().len())
    };
    // Blocks under function-like headers: (header row, the row that opens the block, the
    // block's last row).
    let mut blocks: Vec<(usize, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let header = content(lines[i]).trim_end();
        let (Some(level), false) = (indent(i), quoted[i]) else {
            i += 1;
            continue;
        };
        let next = (i + 1..lines.len()).find(|&j| indent(j).is_some());
        let brace_below =
            next.is_some_and(|j| content(lines[j]).trim() == "{" && indent(j) == Some(level));
        let opens = header.contains('(') && (header.ends_with(['{', ':']) || brace_below);
        if !opens {
            i += 1;
            continue;
        }
        let start = if brace_below { next.unwrap_or(i) } else { i };
        let braced = content(lines[start]).trim_end().ends_with('{');
        // The block: the following lines indented deeper (blank lines included), and in braces
        // the labels at the header's level (`retry:` in C, `Lines:` in Go).
        let mut last = start;
        let mut j = start + 1;
        while j < lines.len() {
            match indent(j) {
                Some(l) if l <= level && !(braced && label_re().is_match(content(lines[j]))) => {
                    break
                }
                Some(_) => last = j,
                None => {}
            }
            j += 1;
        }
        if last > start {
            blocks.push((i, start, last));
            i = last + 1;
        } else {
            i += 1;
        }
    }
    let mut inside = vec![false; lines.len()];
    for &(_, start, last) in &blocks {
        inside[start + 1..=last].fill(true);
    }
    let mut cuts: Vec<Cut> = Vec::new();
    // Items: paragraphs starting at column 0 after a blank line, not inside a block (a label in
    // a Go function) nor closing one.
    let mut starts: Vec<usize> = Vec::new();
    for i in 0..lines.len() {
        let after_blank = i == 0 || indent(i - 1).is_none();
        let closing = content(lines[i]).starts_with(['}', ')', ']']);
        if indent(i) == Some(0) && after_blank && !inside[i] && !quoted[i] && !closing {
            starts.push(i);
        }
    }
    let mut item_of = vec![None; lines.len()];
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(lines.len(), |&e| e);
        let label = outline::short(
            content(lines[s]).trim().trim_end_matches(['{', ':', ' ']),
            48,
        );
        let mut cut = Cut::new_drop(s, end - 1, label);
        cut.test = content(lines[s]).to_ascii_lowercase().contains("test");
        item_of[s..end].fill(Some(cuts.len()));
        cuts.push(cut);
    }
    for (i, start, last) in blocks {
        let header = content(lines[i]).trim_end();
        let body: String = lines[start + 1..=last].concat();
        let called = calls(&body);
        let n = last - start;
        let mut cut = Cut::new_body(start + 1, last);
        cut.indent = outline::leading_ws(content(lines[start + 1])).to_string();
        // Python-like code needs a statement in the block.
        if syntax == Syntax::Hash && content(lines[start]).trim_end().ends_with(':') {
            cut.form = Form::Statement;
        }
        // A `{` that ends a header with no comment on it.
        let opening = content(lines[start]).trim_end();
        cut.opens = (opening.ends_with('{') && !opening.contains("//") && !opening.contains("/*"))
            .then_some(start);
        cut.label = header.trim().chars().take(60).collect();
        cut.full = if called.is_empty() {
            format!("{n} lines")
        } else {
            format!("{n} lines; calls {called}")
        };
        cut.parent = item_of[i];
        cut.stage = if n > SHORT_BODY { 1 } else { 4 };
        cuts.push(cut);
    }
    cuts
}

/// Whether each row starts inside a block comment (`/* */` with braces) or a string over
/// several lines (`"""`, `'''` with `#` comments), roughly: strings are not told apart from
/// code.
fn quoted_rows(lines: &[&str], syntax: Syntax) -> Vec<bool> {
    let delimiters: &[(&str, &str)] = match syntax {
        Syntax::Brace => &[("/*", "*/")],
        Syntax::Hash | Syntax::Python => &[("\"\"\"", "\"\"\""), ("'''", "'''")],
        _ => &[],
    };
    let mut quoted = vec![false; lines.len()];
    if delimiters.is_empty() {
        return quoted;
    }
    let mut open: Option<&str> = None;
    for (row, line) in lines.iter().enumerate() {
        quoted[row] = open.is_some();
        let mut rest = content(line);
        loop {
            if let Some(close) = open {
                match rest.find(close) {
                    Some(at) => {
                        rest = &rest[at + close.len()..];
                        open = None;
                    }
                    None => break,
                }
                continue;
            }
            let comment = rest.find(syntax.line_comment());
            let first = delimiters
                .iter()
                .filter_map(|&(o, c)| rest.find(o).map(|at| (at, o, c)))
                .min_by_key(|d| d.0);
            match first {
                Some((at, o, c)) if comment.is_none_or(|l| l > at) => {
                    rest = &rest[at + o.len()..];
                    open = Some(c);
                }
                _ => break,
            }
        }
    }
    quoted
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
    let asked = Asked::new(ctx.query);
    let syntax = Syntax::of(lang, &lines);
    let mut cuts = match grammar(lang) {
        Some(grammar) => {
            let trees = parse(&grammar, text, &lines)
                .ok_or(TextError::NothingToDrop("the code could not be parsed"))?;
            let mut walker = Walker::new(text, &lines, lang, syntax, &asked);
            for tree in &trees {
                walker.walk(tree.root_node());
            }
            walker.finish()
        }
        None => {
            let mut cuts = indentation_outline(&lines, syntax);
            for cut in &mut cuts {
                let level = if cut.what == What::Drop {
                    asked.container(&cut.label)
                } else {
                    asked.function(&cut.label)
                };
                cut.asked = level;
            }
            cuts
        }
    };
    if cuts.is_empty() {
        return Err(TextError::NothingToDrop(
            "nothing in the code can be left out",
        ));
    }
    weigh(&mut cuts, text, &lines, ctx.budget);
    let doc = Doc::new(&lines, &cuts, syntax);
    let steps = steps(&cuts);
    let state = choose(text, &doc, &steps, ctx)?;
    finish(text, &doc, &steps, state, ctx)
}

/// Gives each cut its weight (higher goes first within its stage), lets what the query asks
/// about propagate to the items holding it, and estimates what each saves.
fn weigh(cuts: &mut [Cut], text: &str, lines: &[&str], budget: usize) {
    let est: Vec<usize> = lines.iter().map(|l| estimate(l)).collect();
    let called = call_counts(text);
    // An item holding what the query asks about is asked about as strongly.
    for i in (0..cuts.len()).rev() {
        let mut p = cuts[i].parent;
        let level = cuts[i].asked;
        while let Some(j) = p {
            if cuts[j].asked < level {
                cuts[j].asked = level;
            }
            p = cuts[j].parent;
        }
    }
    // What leads into an item is asked about as strongly as the item.
    for i in 0..cuts.len() {
        if let (What::Leading, Some(p)) = (cuts[i].what, cuts[i].parent) {
            cuts[i].asked = cuts[p].asked;
        }
    }
    // Rows an item still shows once everything but items is cut: what dropping it saves.
    let mut outline_rows = vec![true; lines.len()];
    for c in cuts.iter().filter(|c| c.what != What::Drop) {
        for &(a, b) in &c.hide {
            outline_rows[a..=b].fill(false);
        }
    }
    // How many items each item holds (itself included): an item goes earlier the more tokens
    // leaving it out saves for each definition lost.
    let mut held = vec![1u64; cuts.len()];
    for i in 0..cuts.len() {
        if cuts[i].what != What::Drop {
            continue;
        }
        let mut p = cuts[i].parent;
        while let Some(j) = p {
            held[j] += 1;
            p = cuts[j].parent;
        }
    }
    let mut big = vec![false; cuts.len()];
    for (i, c) in cuts.iter_mut().enumerate() {
        let rows = c.hide.iter().flat_map(|&(a, b)| a..=b);
        let saves: usize = match c.what {
            What::Drop => rows.filter(|&r| outline_rows[r]).map(|r| est[r]).sum(),
            _ => rows.map(|r| est[r]).sum(),
        };
        c.weight = match c.what {
            // Long bodies of functions called little go first, private ones sooner.
            What::Body => {
                let calls = called.get(c.label.as_str()).copied().unwrap_or(0);
                (saves as u64 * 1000) / (1 + calls.saturating_sub(1) as u64) * private(c)
            }
            // The most tokens saved for each definition lost; private items (test code among
            // them) sooner.
            What::Drop => {
                big[i] = saves * 3 > budget;
                let factor = if c.test { 2 } else { private(c) };
                saves as u64 * 1000 / held[i] * factor
            }
            What::Params | What::Leading => saves as u64 * private(c),
            // Warning comments kept to the last of their stage.
            What::CommentAll | What::CommentTail if c.stage == STAGES => 0,
            _ => saves as u64,
        };
    }
    // The tails of a body go just before it, the last first, so that a body the query names
    // comes back a statement at a time once it is back.
    for i in 0..cuts.len() {
        if let (What::Tail, Some(p)) = (cuts[i].what, cuts[i].parent) {
            cuts[i].weight = cuts[p].weight + 1;
        }
    }
    // An item whose outline takes a good share of the budget goes only after everything it
    // holds, so that undoing it shows its outline rather than all of it at once (a file that
    // is one class would otherwise be left out whole). Smaller items go whole when that saves
    // more for each definition lost.
    for i in (0..cuts.len()).rev() {
        if cuts[i].what != What::Drop {
            continue;
        }
        let mut p = cuts[i].parent;
        while let Some(j) = p {
            if cuts[j].what == What::Drop {
                if big[j] {
                    cuts[j].weight = cuts[j].weight.min(cuts[i].weight);
                }
                break;
            }
            p = cuts[j].parent;
        }
    }
}

/// How much sooner a cut goes for being private.
fn private(c: &Cut) -> u64 {
    if c.public {
        1
    } else {
        2
    }
}

/// One step of leaving out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Cut(usize),
    /// Markers of elided bodies become bare placeholders.
    Terse,
}

/// Where a step comes in the order: phase, query level, stage, weight (higher first), row,
/// index.
type Order = (u8, u8, u8, std::cmp::Reverse<u64>, usize, usize);

/// The phase of a cut: what is not a signature (bodies, comments, imports, fields) goes first,
/// then parameter lists and what leads into items (attributes, decorators), then whole items
/// and the comments that warn (these last of all). So every definition's signature stays
/// while any body, even one the query asks about, can give way.
fn phase(c: &Cut) -> u8 {
    match c.what {
        What::Drop => 2,
        What::CommentAll | What::CommentTail if c.stage == STAGES => 2,
        What::Params | What::Leading => 1,
        _ => 0,
    }
}

/// The order in which cuts are applied (see [`STAGES`]).
fn steps(cuts: &[Cut]) -> Vec<Step> {
    let mut keyed: Vec<(Order, Step)> = cuts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let first = c.hide.first().map_or(0, |h| h.0);
            // Of items alike, the last go first: the outline keeps the top of the file.
            let at = if c.what == What::Drop {
                usize::MAX - first
            } else {
                first
            };
            (
                (
                    phase(c),
                    c.asked,
                    c.stage,
                    std::cmp::Reverse(c.weight),
                    at,
                    i,
                ),
                Step::Cut(i),
            )
        })
        .collect();
    keyed.push((
        (0, 0, TERSE_STAGE, std::cmp::Reverse(0), 0, usize::MAX),
        Step::Terse,
    ));
    keyed.sort_by_key(|k| k.0);
    keyed.into_iter().map(|k| k.1).collect()
}

/// Which cuts are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    applied: Vec<bool>,
    terse: bool,
}

impl State {
    fn prefix(steps: &[Step], n: usize, k: usize) -> State {
        let mut s = State {
            applied: vec![false; n],
            terse: false,
        };
        for step in &steps[..k] {
            s.set(*step, true);
        }
        s
    }

    fn set(&mut self, step: Step, on: bool) {
        match step {
            Step::Cut(i) => self.applied[i] = on,
            Step::Terse => self.terse = on,
        }
    }

    fn is_set(&self, step: Step) -> bool {
        match step {
            Step::Cut(i) => self.applied[i],
            Step::Terse => self.terse,
        }
    }
}

/// A file with its cuts, to render in any state.
struct Doc<'a> {
    lines: &'a [&'a str],
    cuts: &'a [Cut],
    syntax: Syntax,
    /// The key of each cut's own content, for notes that name one.
    keys: Vec<Option<Key>>,
    /// Cuts with a note, by where it goes.
    by_note: Vec<usize>,
    /// Token estimate of each row.
    est: Vec<usize>,
    /// The cuts whose parent each cut is.
    children: Vec<Vec<usize>>,
}

impl<'a> Doc<'a> {
    fn new(lines: &'a [&'a str], cuts: &'a [Cut], syntax: Syntax) -> Doc<'a> {
        let keys = cuts
            .iter()
            .map(|c| {
                (c.form != Form::Silent && !c.own.is_empty())
                    .then(|| Key::of(&stored_own(lines, c)))
            })
            .collect();
        let mut by_note: Vec<usize> = (0..cuts.len())
            .filter(|&i| cuts[i].form != Form::Silent)
            .collect();
        by_note.sort_by_key(|&i| (cuts[i].note_at, i));
        let mut children = vec![Vec::new(); cuts.len()];
        for (i, c) in cuts.iter().enumerate() {
            if let Some(p) = c.parent {
                children[p].push(i);
            }
        }
        Doc {
            children,
            lines,
            cuts,
            syntax,
            keys,
            by_note,
            est: lines.iter().map(|l| estimate(l)).collect(),
        }
    }

    /// Which cuts sit inside an applied one (their notes do not show).
    fn covered(&self, state: &State) -> Vec<bool> {
        let mut covered = vec![false; self.cuts.len()];
        for i in 0..self.cuts.len() {
            if let Some(p) = self.cuts[i].parent {
                covered[i] = state.applied[p] || covered[p];
            }
        }
        covered
    }

    /// How many applied cuts hide each row.
    fn hiders(&self, state: &State) -> Vec<u32> {
        let mut diff = vec![0i64; self.lines.len() + 1];
        for (i, c) in self.cuts.iter().enumerate() {
            if state.applied[i] {
                for &(a, b) in &c.hide {
                    diff[a] += 1;
                    diff[b + 1] -= 1;
                }
            }
        }
        let mut run = 0i64;
        diff[..self.lines.len()]
            .iter()
            .map(|d| {
                run += d;
                run as u32
            })
            .collect()
    }

    /// The note of cut `i`.
    fn note(&self, i: usize, terse: bool) -> String {
        let c = &self.cuts[i];
        if terse && c.quiet {
            return String::new();
        }
        let text = match (&self.keys[i], terse) {
            (Some(key), false) => marker(key, &c.full),
            _ => c.terse.clone(),
        };
        self.syntax.note(c.form, &c.indent, &text)
    }

    /// The output in `state`, naming `whole` (the key of the whole file) at the end.
    fn render(&self, state: &State, whole: &Key) -> String {
        let covered = self.covered(state);
        let hiders = self.hiders(state);
        let mut notes = self
            .by_note
            .iter()
            .copied()
            .filter(|&i| state.applied[i] && !covered[i])
            .peekable();
        let mut out = Output {
            terse: state.terse,
            ..Output::default()
        };
        let mut joined = None;
        for (row, (line, &h)) in self.lines.iter().zip(&hiders).enumerate() {
            while let Some(i) = notes.next_if(|&i| self.cuts[i].note_at <= row) {
                let next = notes.peek().map(|&j| self.cuts[j].note_at);
                match self.joinable(i, state.terse, &hiders, out.last, next) {
                    Some((placeholder, close)) => {
                        out.join(self, i, placeholder, close.map(|r| (r, self.lines[r])));
                        joined = close;
                    }
                    None => out.note(self, i, state.terse),
                }
            }
            if h == 0 && joined != Some(row) {
                out.line(self, row, line);
            }
        }
        for i in notes {
            out.note(self, i, state.terse);
        }
        let hidden = hiders.iter().filter(|&&h| h > 0).count();
        out.finish(self, whole, hidden, state.terse)
    }

    /// Whether cut `i`'s note can join the lines around it, and how: an elided block whose
    /// note is a bare placeholder, with nothing shown between it and the line that opens the
    /// block (which must be the row shown last, `last`), reads `fn f() { /* ... */ }` (the
    /// closing line, returned, joins too when no note comes before it: `next` is where the
    /// next note goes) or `def f(): ...`; three tokens fewer for each definition in an outline.
    fn joinable(
        &self,
        i: usize,
        terse: bool,
        hiders: &[u32],
        last: Option<usize>,
        next: Option<usize>,
    ) -> Option<(&'static str, Option<usize>)> {
        let c = &self.cuts[i];
        if c.opens.is_none()
            || c.opens != last
            || !matches!(
                c.what,
                What::Body | What::Fields | What::Params | What::Value
            )
            || c.terse != ELIDED
            || (self.keys[i].is_some() && !terse)
        {
            return None;
        }
        let (head, end) = (last?, c.hide.last()?.1);
        if head >= c.note_at
            || c.note_at > end
            || next.is_some_and(|n| n <= end)
            || hiders[head + 1..=end].contains(&0)
        {
            return None;
        }
        let opening = content(self.lines[head]).trim_end();
        match self.syntax {
            Syntax::Python => {
                (c.what == What::Body && opening.ends_with(':')).then_some((ELIDED, None))
            }
            Syntax::Brace => {
                let (open, close) = match opening.chars().last() {
                    Some('(') => ('(', ')'),
                    Some('[') => ('[', ']'),
                    _ => ('{', '}'),
                };
                let r = end + 1;
                let ok = c.hide.len() == 1
                    && next.is_none_or(|n| n > r)
                    && opening.ends_with(open)
                    && r < self.lines.len()
                    && hiders[r] == 0
                    && content(self.lines[r]).trim_start().starts_with(close);
                ok.then_some(("/* ... */", Some(r)))
            }
            _ => None,
        }
    }

    /// The estimated cost of the notes that undoing cut `i` would bring out: those of the
    /// applied cuts nearest below it (a left-out item costs about its label in a shared note).
    fn uncovered_notes(&self, state: &State, i: usize) -> usize {
        let mut cost = 0;
        let mut stack: Vec<usize> = self.children[i].clone();
        while let Some(j) = stack.pop() {
            if !state.applied[j] {
                stack.extend(&self.children[j]);
                continue;
            }
            let c = &self.cuts[j];
            cost += match (c.what, c.form) {
                (What::Drop, _) if state.terse => 1,
                (What::Drop, _) => estimate(&c.label) + 2,
                (_, Form::Silent) => 0,
                _ => estimate(&self.note(j, state.terse)),
            };
        }
        cost
    }

    /// Rows shown in `state`.
    fn visible(&self, state: &State) -> Vec<bool> {
        self.hiders(state).iter().map(|&h| h == 0).collect()
    }
}

/// An output being rendered.
#[derive(Default)]
struct Output<'a> {
    text: String,
    /// Items left out since the last line shown, told in one note.
    dropped: Option<Dropped>,
    /// Blank lines held back while items are being left out (they do not part the note).
    blank: Vec<&'a str>,
    counts: Counts,
    /// The row the output ends with, if it ends with a line of the file.
    last: Option<usize>,
    /// Short notes: items left out are a bare placeholder where they were, counted at the end.
    terse: bool,
}

impl<'a> Output<'a> {
    /// Cut `i`'s note.
    fn note(&mut self, doc: &Doc, i: usize, terse: bool) {
        let c = &doc.cuts[i];
        self.counts.add(c);
        if c.what == What::Drop {
            match &mut self.dropped {
                Some(d) if d.indent == c.indent => {
                    d.add(c);
                    self.blank.clear();
                }
                _ => {
                    self.flush(doc);
                    self.dropped = Some(Dropped::new(c));
                }
            }
            return;
        }
        self.flush(doc);
        newline(&mut self.text);
        self.text.push_str(&doc.note(i, terse));
        self.last = None;
    }

    /// Cut `i`'s placeholder on the line that opens its block, and the line that closes it
    /// (`close`) after it (see [`Doc::joinable`]).
    fn join(&mut self, doc: &Doc, i: usize, placeholder: &str, close: Option<(usize, &str)>) {
        self.counts.add(&doc.cuts[i]);
        let ending = if self.text.ends_with("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        self.text
            .truncate(self.text.trim_end_matches(['\n', '\r']).len());
        self.text.push(' ');
        self.text.push_str(placeholder);
        match close {
            Some((row, line)) => {
                self.text.push(' ');
                self.text.push_str(line.trim_start());
                self.last = Some(row);
            }
            None => {
                self.text.push_str(ending);
                self.last = None;
            }
        }
    }

    /// A line shown.
    fn line(&mut self, doc: &Doc, row: usize, line: &'a str) {
        if self.dropped.is_some() && content(line).trim().is_empty() {
            self.blank.push(line);
            return;
        }
        self.flush(doc);
        self.text.push_str(line);
        self.last = Some(row);
    }

    /// The note of the items left out, and the blank lines held back.
    fn flush(&mut self, doc: &Doc) {
        if let Some(d) = self.dropped.take() {
            newline(&mut self.text);
            let text = if self.terse {
                ELIDED.to_string()
            } else {
                d.text()
            };
            let note = doc.syntax.note(Form::Line, &d.indent, &text);
            self.text.push_str(&note);
            self.last = None;
        }
        if !self.blank.is_empty() {
            self.last = None;
        }
        self.text.extend(self.blank.drain(..));
    }

    /// The output, ending with the marker of the whole file.
    fn finish(mut self, doc: &Doc, whole: &Key, hidden: usize, terse: bool) -> String {
        self.flush(doc);
        newline(&mut self.text);
        let summary = self.counts.summary(hidden, doc.lines.len(), terse);
        let marker = doc.syntax.note(Form::Line, "", &marker(whole, &summary));
        self.text.push_str(&marker);
        self.text
    }
}

/// Starts a new line unless the output is empty or already at one.
fn newline(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Items left out next to each other, told in one note.
struct Dropped {
    indent: String,
    labels: Vec<String>,
    rows: usize,
}

impl Dropped {
    fn new(c: &Cut) -> Dropped {
        Dropped {
            indent: c.indent.clone(),
            labels: vec![c.label.clone()],
            rows: c.rows(),
        }
    }

    fn add(&mut self, c: &Cut) {
        self.labels.push(c.label.clone());
        self.rows += c.rows();
    }

    fn text(&self) -> String {
        let mut names = self.labels[..self.labels.len().min(LISTED)].join(", ");
        if self.labels.len() > LISTED {
            names.push_str(&format!(" and {} more", self.labels.len() - LISTED));
        }
        format!("left out: {names} ({} lines)", self.rows)
    }
}

/// What the notes of an output stand for, for the summary at its end.
#[derive(Default)]
struct Counts {
    bodies: usize,
    items: usize,
}

impl Counts {
    fn add(&mut self, c: &Cut) {
        match c.what {
            What::Body => self.bodies += 1,
            What::Drop => self.items += 1,
            _ => {}
        }
    }

    fn summary(&self, hidden: usize, n: usize, terse: bool) -> String {
        if terse {
            return match self.items {
                0 => format!("{hidden} of {n} lines hidden"),
                items => format!("{hidden} of {n} lines hidden; {items} items left out"),
            };
        }
        let mut s = format!("whole file; {hidden} of {n} lines hidden");
        let mut parts = Vec::new();
        if self.bodies > 0 {
            parts.push(format!("{} bodies", self.bodies));
        }
        if self.items > 0 {
            parts.push(format!("{} items left out", self.items));
        }
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join(", ")));
        }
        s
    }
}

/// The bytes stored for a cut's own content.
fn stored_own(lines: &[&str], c: &Cut) -> Vec<u8> {
    let own: String = c
        .own
        .iter()
        .flat_map(|&(a, b)| lines[a..=b].iter().copied())
        .collect();
    entry::stored(&Header::default(), own.as_bytes())
}

/// A key with as many hex digits as a real one, for measuring outputs before the real key is
/// known.
fn placeholder_key() -> Key {
    Key::of(b"cinch placeholder key")
}

/// Up to this size, outputs are measured with the real key of the whole file (hashing it for
/// each try costs little); above it, with a placeholder and [`KEY_SLACK`] tokens kept free.
const EXACT_KEY_MAX: usize = 1 << 20;

/// The whole file as stored for `state`, and its key.
fn whole_entry(text: &str, doc: &Doc, state: &State) -> (Vec<u8>, Key) {
    let header = Header {
        kind: "code".to_string(),
        kept: entry::ranges(&doc.visible(state)),
        path: None,
    };
    let bytes = entry::stored(&header, text.as_bytes());
    let key = Key::of(&bytes);
    (bytes, key)
}

/// Chooses the cuts: the fewest in order that fit the budget, then as many undone as the room
/// left allows (see the module docs).
fn choose(text: &str, doc: &Doc, steps: &[Step], ctx: &Context) -> Result<State, TextError> {
    let exact = text.len() <= EXACT_KEY_MAX;
    let limit = if exact {
        ctx.budget
    } else {
        ctx.budget.saturating_sub(KEY_SLACK)
    };
    let placeholder = placeholder_key();
    let n = doc.cuts.len();
    let tokens = |s: &State| {
        let key = if exact {
            whole_entry(text, doc, s).1
        } else {
            placeholder.clone()
        };
        ctx.counter.count_up_to(&doc.render(s, &key), limit)
    };
    let all = State::prefix(steps, n, steps.len());
    if tokens(&all).is_none() {
        return Err(TextError::NothingToDrop(
            "even the bare outline of the code is over the budget",
        ));
    }
    // Bisection for the shortest prefix of steps that fits.
    let (mut lo, mut hi) = (0usize, steps.len());
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if tokens(&State::prefix(steps, n, mid)).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let mut state = State::prefix(steps, n, hi);
    let mut used = tokens(&state).unwrap_or(limit);
    for _ in 0..FILL_ROUNDS {
        let undone = undo_while_room(doc, steps, &mut state, limit.saturating_sub(used));
        if undone.is_empty() {
            break;
        }
        match tokens(&state) {
            Some(t) => used = t,
            None => {
                // The estimates were short: keep the longest run of the undone steps that fits.
                let (mut good, mut bad) = (0usize, undone.len());
                let with = |k: usize| {
                    let mut s = state.clone();
                    for &step in &undone[k..] {
                        s.set(step, true);
                    }
                    s
                };
                while bad - good > 1 {
                    let mid = (good + bad) / 2;
                    if tokens(&with(mid)).is_some() {
                        good = mid;
                    } else {
                        bad = mid;
                    }
                }
                state = with(good);
                break;
            }
        }
    }
    Ok(state)
}

/// Undoes applied steps, latest first, while their estimated cost fits `room`; returns them
/// in the order undone.
fn undo_while_room(doc: &Doc, steps: &[Step], state: &mut State, room: usize) -> Vec<Step> {
    let mut room = room as i64;
    let mut hiders = doc.hiders(state);
    let mut undone = Vec::new();
    for &step in steps.iter().rev() {
        if !state.is_set(step) {
            continue;
        }
        let cost = match step {
            Step::Terse => {
                let covered = doc.covered(state);
                (0..doc.cuts.len())
                    .filter(|&i| state.applied[i] && !covered[i] && doc.keys[i].is_some())
                    .map(|i| {
                        estimate(&doc.note(i, false)) as i64 - estimate(&doc.note(i, true)) as i64
                    })
                    .sum::<i64>()
            }
            Step::Cut(i) => {
                let c = &doc.cuts[i];
                let mut p = c.parent;
                let mut covered = false;
                while let Some(j) = p {
                    covered |= state.applied[j];
                    p = doc.cuts[j].parent;
                }
                if covered {
                    continue;
                }
                let shown: usize = c
                    .hide
                    .iter()
                    .flat_map(|&(a, b)| a..=b)
                    .filter(|&r| hiders[r] == 1)
                    .map(|r| doc.est[r])
                    .sum();
                shown as i64 + doc.uncovered_notes(state, i) as i64
                    - estimate(&doc.note(i, state.terse)) as i64
            }
        };
        if cost <= room {
            room -= cost.max(0);
            state.set(step, false);
            if let Step::Cut(i) = step {
                for &(a, b) in &doc.cuts[i].hide {
                    for h in &mut hiders[a..=b] {
                        *h -= 1;
                    }
                }
            }
            undone.push(step);
        }
    }
    undone
}

/// Stores the whole file (recording the rows shown) and each named part, and renders the
/// output with the real keys. If the real key takes more tokens than the placeholder did, the
/// next step is applied.
fn finish(
    text: &str,
    doc: &Doc,
    steps: &[Step],
    mut state: State,
    ctx: &Context,
) -> Result<TextOutcome, TextError> {
    loop {
        let visible = doc.visible(&state);
        let (bytes, key) = whole_entry(text, doc, &state);
        let output = doc.render(&state, &key);
        if ctx.counter.count_up_to(&output, ctx.budget).is_none() {
            let next =
                steps
                    .iter()
                    .find(|&&s| !state.is_set(s))
                    .ok_or(TextError::NothingToDrop(
                        "even the bare outline of the code is over the budget",
                    ))?;
            state.set(*next, true);
            continue;
        }
        let covered = doc.covered(&state);
        let named: Vec<usize> = (0..doc.cuts.len())
            .filter(|&i| state.applied[i] && !covered[i] && !state.terse && doc.keys[i].is_some())
            .collect();
        let parts: Vec<Vec<u8>> = named
            .iter()
            .map(|&i| stored_own(doc.lines, &doc.cuts[i]))
            .collect();
        let mut contents: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        contents.push(&bytes);
        let stored = ctx.store.put_many(ctx.namespace, &contents)?;
        let mut expected: Vec<Key> = named.iter().filter_map(|&i| doc.keys[i].clone()).collect();
        expected.push(key);
        if stored != expected {
            return Err(TextError::Store(crate::StoreError(
                "the store returned other keys than the contents'".into(),
            )));
        }
        return Ok(outcome(doc, &state, &covered, &visible, output, stored));
    }
}

/// The report of an output.
fn outcome(
    doc: &Doc,
    state: &State,
    covered: &[bool],
    visible: &[bool],
    output: String,
    keys: Vec<Key>,
) -> TextOutcome {
    let shown = |w: What| {
        (0..doc.cuts.len())
            .filter(|&i| state.applied[i] && !covered[i] && doc.cuts[i].what == w)
            .count()
    };
    let kept = visible.iter().filter(|&&v| v).count();
    let mut dropped = BTreeMap::new();
    dropped.insert("function bodies".to_string(), shown(What::Body));
    dropped.insert("items".to_string(), shown(What::Drop));
    dropped.insert("lines".to_string(), visible.len() - kept);
    TextOutcome {
        output,
        strategy: "code-outline",
        ccr_keys: keys,
        details: TextDetails {
            lines_before: visible.len(),
            lines_kept: kept,
            groups: (0..doc.cuts.len())
                .filter(|&i| state.applied[i] && !covered[i])
                .count(),
            dropped,
        },
    }
}

#[cfg(test)]
mod tests;
