//! What a source file offers to leave out, found by walking its syntax tree: [`Cut`]s.
//!
//! A cut hides whole lines, and what it hides never leaves the rest unbalanced: a function's
//! body between the line that opens it and the line that closes it (or, in Python, after the
//! signature's colon), a docstring's or a block comment's lines between its first and last
//! line, whole comments, whole imports, whole members of a class, whole items. Where hidden
//! lines leave a block empty in a language that needs a statement (Python), the cut's note is
//! one (`...`). Cuts nest: one inside a hidden part (a nested function inside an elided body)
//! names the cut around it as its parent, and shows its note only when no cut around it is
//! applied.
//!
//! Parts of the tree that did not parse (error nodes, and functions and items holding one) are
//! never cut: what the parser could not make sense of stays as it is.

use super::names::{Asked, Level};
use super::{Syntax, SHORT_BODY};
use crate::detect::Language;
use crate::text::content;
use tree_sitter::Node;

/// What a short note of an elided block says: a placeholder, ASCII (`…` costs three tokens,
/// `...` one).
pub(super) const ELIDED: &str = "...";

/// What a cut leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum What {
    /// A function's body.
    Body,
    /// The statements of the body of a function the query names from one on (a body shown in
    /// part shows its first statements).
    Tail,
    /// The lines of a class, impl or module body that are not methods or nested types.
    Members,
    /// The fields of a struct, enum or interface.
    Fields,
    /// The lines inside the brackets of a literal an item holds (a table, a map, a list).
    Value,
    /// A function's parameters, one or more to a line, between the lines of their brackets.
    Params,
    /// The attributes, decorators and annotations on lines of their own that lead into an item
    /// (`#[inline]`, `@property`, `@Override`).
    Leading,
    /// A docstring's lines after its first, but its closing line.
    DocTail,
    /// A whole docstring.
    DocAll,
    /// A comment block's lines after its first (a block comment keeps its closing line).
    CommentTail,
    /// A whole comment block.
    CommentAll,
    /// A long run of imports after its first few.
    ImportTail,
    /// A whole run of imports.
    ImportAll,
    /// A whole item (a function, type, class, impl, constant; or a member of a class), with
    /// the comments and attributes that lead into it.
    Drop,
}

/// How a cut's note reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// Stands for a block's contents: `...  # …` in Python, `/* … */` between braces.
    Block,
    /// A line of its own among statements or items: a line comment (`...  # …` inside a
    /// Python block).
    Line,
    /// A comment of its own: between brackets, where a statement would not do.
    Comment,
    /// No note: what it hides is told in the summary at the end.
    Silent,
    /// A statement standing for a block's contents in Python-like code without a grammar:
    /// `...  # …`.
    Statement,
}

/// Lines that can be left out together.
#[derive(Debug, Clone)]
pub(super) struct Cut {
    pub what: What,
    /// Hidden lines: inclusive, ascending, disjoint ranges of rows.
    pub hide: Vec<(usize, usize)>,
    /// Where the note goes: before this row (the number of rows: at the end).
    pub note_at: usize,
    pub form: Form,
    /// The indentation of the note.
    pub indent: String,
    /// For items: how the item reads in a list of what was left out (`pub fn solve`); for
    /// bodies: the function's name.
    pub label: String,
    /// What the note says after the key (`12 lines; calls a, b`).
    pub full: String,
    /// What a short note says (`…`, `… 14 imports`).
    pub terse: String,
    /// Rows stored under the cut's own key (a body, a run of imports), for a note that names
    /// it.
    pub own: Vec<(usize, usize)>,
    /// The nearest cut whose hidden lines hold all of this one's.
    pub parent: Option<usize>,
    /// How strongly the query asks about what this cut hides.
    pub asked: Level,
    /// When the cut comes, in the order of leaving out: see `super::STAGES`.
    pub stage: u8,
    /// Within its stage and query level, higher goes first.
    pub weight: u64,
    /// Test code (left out before other items).
    pub test: bool,
    /// Shows no short note: what stays around it keeps the code valid (a class with methods
    /// needs no placeholder for its hidden attributes).
    pub quiet: bool,
    /// Part of the public interface (`pub`, `export`, `public`, a Go name in capitals, a Python
    /// name without a leading underscore, a trait's method): for items, and for the bodies and
    /// parameters of functions that are items.
    pub public: bool,
    /// The row that opens the hidden block, where the bracket or colon that opens it ends the
    /// row (no comment after it): a bare placeholder may go on that row.
    pub opens: Option<usize>,
}

impl Cut {
    fn new(what: What, hide: Vec<(usize, usize)>, note_at: usize, form: Form) -> Cut {
        let stage = match what {
            What::Body | What::Tail | What::ImportTail => 1,
            What::DocTail | What::CommentTail | What::Members => 3,
            What::DocAll
            | What::CommentAll
            | What::ImportAll
            | What::Fields
            | What::Value
            | What::Params => 4,
            What::Drop | What::Leading => 5,
        };
        Cut {
            what,
            hide,
            note_at,
            form,
            indent: String::new(),
            label: String::new(),
            full: String::new(),
            terse: String::new(),
            own: Vec::new(),
            parent: None,
            asked: 0,
            stage,
            weight: 0,
            test: false,
            quiet: false,
            public: true,
            opens: None,
        }
    }

    /// An item, rows `first..=last`, left out whole.
    pub fn new_drop(first: usize, last: usize, label: String) -> Cut {
        let mut cut = Cut::new(What::Drop, vec![(first, last)], first, Form::Line);
        cut.label = label;
        cut
    }

    /// A body, rows `first..=last`, stored on its own.
    pub fn new_body(first: usize, last: usize) -> Cut {
        let mut cut = Cut::new(What::Body, vec![(first, last)], first, Form::Block);
        cut.own = cut.hide.clone();
        cut.terse = ELIDED.to_string();
        cut
    }

    /// Rows it hides.
    pub fn rows(&self) -> usize {
        self.hide.iter().map(|(a, b)| b + 1 - a).sum()
    }
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
    "function",
    "generator_function",
    "generator_function_declaration",
    "arrow_function",
    "func_literal",
    "closure_expression",
    "lambda_expression",
    "method",
    "singleton_method",
];

/// Node kinds that hold methods and members and carry a name the query may use.
const CONTAINERS: &[&str] = &[
    "impl_item",
    "trait_item",
    "mod_item",
    "class_definition",
    "class_declaration",
    "abstract_class_declaration",
    "class",
    "module",
    "interface_declaration",
    "enum_declaration",
    "record_declaration",
];

/// Node kinds that are the fields of a type, between braces.
const FIELDS: &[&str] = &[
    "field_declaration_list",
    "enum_variant_list",
    "interface_body",
    "object_type",
    "enum_body",
];

/// Node kinds that are imports.
const IMPORTS: &[&str] = &[
    "use_declaration",
    "import_statement",
    "import_from_statement",
    "future_import_statement",
    "import_declaration",
];

/// Node kinds that lead into the item after them.
const LEADING: &[&str] = &[
    "attribute_item",
    "decorator",
    "annotation",
    "marker_annotation",
];

/// Node kinds never left out as items.
const KEPT: &[&str] = &[
    "package_clause",
    "package_declaration",
    "inner_attribute_item",
    "pass_statement",
    "empty_statement",
    "hash_bang_line",
    "shebang",
];

/// Deeper than this, the walk stops (the rest stays as it is).
const MAX_DEPTH: usize = 256;
/// The most statements a body the query names can be shown in part after.
const MAX_TAILS: usize = 48;
/// Runs of imports longer than this many lines keep their first [`IMPORTS_SHOWN`].
const LONG_IMPORTS: usize = 10;
const IMPORTS_SHOWN: usize = 3;

/// Where the walk is.
#[derive(Clone)]
struct Env {
    /// The nearest cut around.
    parent: Option<usize>,
    /// How strongly the query asks about what is around.
    asked: Level,
    depth: usize,
}

struct Comment {
    first: usize,
    last: usize,
    parent: Option<usize>,
    asked: Level,
}

struct Import {
    first: usize,
    last: usize,
    root: String,
    parent: Option<usize>,
    asked: Level,
}

/// Finds the cuts of a parsed file.
pub(super) struct Walker<'a> {
    src: &'a str,
    lines: &'a [&'a str],
    lang: Language,
    syntax: Syntax,
    asked: &'a Asked,
    pub cuts: Vec<Cut>,
    comments: Vec<Comment>,
    imports: Vec<Import>,
}

impl<'a> Walker<'a> {
    pub fn new(
        src: &'a str,
        lines: &'a [&'a str],
        lang: Language,
        syntax: Syntax,
        asked: &'a Asked,
    ) -> Self {
        Walker {
            src,
            lines,
            lang,
            syntax,
            asked,
            cuts: Vec::new(),
            comments: Vec::new(),
            imports: Vec::new(),
        }
    }

    /// Walks a tree (the whole file, or one part of it).
    pub fn walk(&mut self, root: Node) {
        let env = Env {
            parent: None,
            asked: 0,
            depth: 0,
        };
        self.items(root, &env);
    }

    /// Cuts of the comments and imports seen, once every tree is walked.
    pub fn finish(mut self) -> Vec<Cut> {
        self.comment_cuts();
        self.import_cuts();
        self.cuts
    }

    fn text(&self, node: Node) -> &'a str {
        node.utf8_text(self.src.as_bytes()).unwrap_or("")
    }

    fn push(&mut self, cut: Cut) -> usize {
        self.cuts.push(cut);
        self.cuts.len() - 1
    }

    fn visit(&mut self, node: Node, env: &Env) {
        if env.depth > MAX_DEPTH || node.is_error() || node.is_missing() {
            return;
        }
        let kind = node.kind();
        if kind.contains("comment") {
            self.comment(node, env);
            return;
        }
        if is_docstring(node) {
            self.docstring(node, env);
            return;
        }
        if IMPORTS.contains(&kind) && env.depth <= 2 {
            self.import(node, env);
            return;
        }
        if FUNCTIONS.contains(&kind) {
            self.function(node, env);
            return;
        }
        if CONTAINERS.contains(&kind) {
            self.container(node, env);
            return;
        }
        if FIELDS.contains(&kind) {
            self.fields(node, env);
            return;
        }
        self.children(node, env);
    }

    fn children(&mut self, node: Node, env: &Env) {
        let inner = Env {
            depth: env.depth + 1,
            ..env.clone()
        };
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.visit(child, &inner);
        }
    }

    /// The items of a file or of a container's body, each left out whole by a cut of its own.
    fn items(&mut self, list: Node, env: &Env) {
        self.items_of(list, env, None);
    }

    /// Like [`Self::items`]; the members (not methods) of a container body are also hidden
    /// together by the cut `members`, which is then their items' parent.
    fn items_of(&mut self, list: Node, env: &Env, members: Option<usize>) {
        let inner = Env {
            depth: env.depth + 1,
            ..env.clone()
        };
        let mut cursor = list.walk();
        let children: Vec<Node> = list.named_children(&mut cursor).collect();
        let mut leading: Vec<Node> = Vec::new();
        for child in children {
            let kind = child.kind();
            if (kind.contains("comment") || LEADING.contains(&kind)) && self.fills_its_lines(child)
            {
                leading.push(child);
                continue;
            }
            let droppable = !child.has_error()
                && !child.is_error()
                && !IMPORTS.contains(&kind)
                && !KEPT.contains(&kind)
                && !is_docstring(child)
                && !self.declares_private_name(child)
                && self.fills_its_lines(child);
            // Members the members' cut hides go with it, not one by one.
            let hidden_member = members.filter(|_| self.is_member(child));
            if !droppable || hidden_member.is_some() {
                for node in leading.drain(..) {
                    self.visit(node, &inner);
                }
                let env = match hidden_member {
                    Some(m) => Env {
                        parent: Some(m),
                        ..inner.clone()
                    },
                    None => inner.clone(),
                };
                self.visit(child, &env);
                continue;
            }
            // Leading comments and attributes with no blank line before the item lead into it.
            let mut attached = leading.len();
            let mut next_row = child.start_position().row;
            while attached > 0 && last_row(leading[attached - 1]) + 1 >= next_row {
                attached -= 1;
                next_row = leading[attached].start_position().row;
            }
            for node in leading.drain(..attached) {
                self.visit(node, &inner);
            }
            let first = next_row;
            let mut last = last_row(child);
            while last + 1 < self.lines.len() && content(self.lines[last + 1]).trim().is_empty() {
                last += 1;
            }
            let mut cut = Cut::new(What::Drop, vec![(first, last)], first, Form::Line);
            cut.indent = self.indent_at(child);
            cut.label = self.label(child);
            cut.parent = env.parent;
            cut.asked = env.asked;
            cut.test = self.is_test(first, child);
            cut.public = self.is_public(child, list);
            let public = cut.public;
            let id = self.push(cut);
            let item = Env {
                parent: Some(id),
                ..inner.clone()
            };
            let mut lead: Vec<(usize, usize)> = leading
                .iter()
                .filter(|n| LEADING.contains(&n.kind()))
                .map(|n| (n.start_position().row, last_row(*n)))
                .collect();
            self.inner_leading(child, &mut lead, 0);
            if !lead.is_empty() {
                lead.sort_unstable();
                let mut hide: Vec<(usize, usize)> = Vec::new();
                for (a, b) in lead {
                    match hide.last_mut() {
                        Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                        _ => hide.push((a, b)),
                    }
                }
                let at = hide[0].0;
                let mut cut = Cut::new(What::Leading, hide, at, Form::Silent);
                cut.parent = Some(id);
                cut.asked = env.asked;
                cut.public = public;
                self.push(cut);
            }
            if let Some((open, close, ends)) = self.value_literal(child) {
                let mut cut = Cut::new(
                    What::Value,
                    vec![(open + 1, close - 1)],
                    open + 1,
                    Form::Comment,
                );
                cut.indent = self.inner_indent(open + 1, close);
                cut.own = cut.hide.clone();
                cut.full = format!("{} lines", close - open - 1);
                cut.terse = ELIDED.to_string();
                cut.opens = ends.then_some(open);
                cut.parent = Some(id);
                cut.asked = env.asked;
                cut.public = public;
                self.push(cut);
            }
            for node in leading.drain(..) {
                self.visit(node, &item);
            }
            self.visit(child, &item);
        }
        for node in leading {
            self.visit(node, &inner);
        }
    }

    /// The rows of the brackets of the largest literal over several lines that `item` holds,
    /// if nothing in it has cuts of its own (functions, types, fields): its lines inside the
    /// brackets can go like a body's. With whether the opening bracket ends its row.
    fn value_literal(&self, item: Node) -> Option<(usize, usize, bool)> {
        let kind = item.kind();
        if FUNCTIONS.contains(&kind) || CONTAINERS.contains(&kind) || item.has_error() {
            return None;
        }
        let mut best: Option<(usize, usize, bool)> = None;
        let mut stack = vec![(item, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            let kind = node.kind();
            if FUNCTIONS.contains(&kind) || CONTAINERS.contains(&kind) || FIELDS.contains(&kind) {
                return None;
            }
            if node.end_position().row >= node.start_position().row + 4 {
                let pair = match self.text(node).as_bytes().first() {
                    Some(b'{') => Some(('{', '}')),
                    Some(b'[') => Some(('[', ']')),
                    Some(b'(') => Some(('(', ')')),
                    _ => None,
                };
                let rows = pair.and_then(|(o, c)| self.bracketed(node, o, c));
                if let Some((o, c)) = rows {
                    if best.is_none_or(|(bo, bc, _)| c - o > bc - bo) {
                        best = Some((o, c, self.ends_its_row(node.start_byte() + 1)));
                    }
                }
            }
            if depth < 8 {
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    stack.push((child, depth + 1));
                }
            }
        }
        best
    }

    /// The rows of the decorators and annotations on lines of their own inside an item's node
    /// (a Python decorated definition, Java modifiers, a TypeScript class).
    fn inner_leading(&self, node: Node, rows: &mut Vec<(usize, usize)>, depth: usize) {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            let kind = child.kind();
            if LEADING.contains(&kind) {
                if self.fills_its_lines(child) {
                    rows.push((child.start_position().row, last_row(child)));
                }
            } else if depth == 0 && kind == "modifiers" {
                self.inner_leading(child, rows, 1);
            }
        }
    }

    fn comment(&mut self, node: Node, env: &Env) {
        if self.fills_its_lines(node) {
            self.comments.push(Comment {
                first: node.start_position().row,
                last: last_row(node),
                parent: env.parent,
                asked: env.asked,
            });
        }
    }

    /// A docstring (or any string standing as a statement over several lines) keeps its first
    /// line and its closing line, or goes whole unless it is all its block holds.
    fn docstring(&mut self, node: Node, env: &Env) {
        let (first, last) = (node.start_position().row, last_row(node));
        if last == first || !self.fills_its_lines(node) {
            return;
        }
        let head = self.doc_head(first, last);
        let sole = node.parent().is_some_and(|p| {
            p.kind() == "block" && {
                let mut c = p.walk();
                let n = p
                    .named_children(&mut c)
                    .filter(|n| !n.kind().contains("comment"))
                    .count();
                n == 1
            }
        });
        let mut parent = env.parent;
        if !sole {
            let mut all = Cut::new(What::DocAll, vec![(first, last)], first, Form::Silent);
            all.parent = parent;
            all.asked = env.asked;
            parent = Some(self.push(all));
        }
        if head + 1 < last {
            let mut tail = Cut::new(
                What::DocTail,
                vec![(head + 1, last - 1)],
                head + 1,
                Form::Silent,
            );
            tail.parent = parent;
            tail.asked = env.asked;
            self.push(tail);
        }
    }

    /// The last row of a docstring's head: its first row, or the next if the first holds only
    /// the opening quotes.
    fn doc_head(&self, first: usize, last: usize) -> usize {
        let opening = content(self.lines[first])
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .trim_matches(|c| c == '"' || c == '\'');
        if opening.is_empty() && first + 1 < last {
            first + 1
        } else {
            first
        }
    }

    fn import(&mut self, node: Node, env: &Env) {
        if !self.fills_its_lines(node) {
            return;
        }
        let root = import_root(self.text(node));
        let (first, last) = (node.start_position().row, last_row(node));
        // Go's `import ( … )` over several lines: its specs are the imports.
        let specs = (last > first)
            .then(|| {
                let mut c = node.walk();
                let list = node
                    .named_children(&mut c)
                    .find(|n| n.kind() == "import_spec_list");
                list
            })
            .flatten();
        if let Some(list) = specs {
            let mut c = list.walk();
            for spec in list.named_children(&mut c) {
                if spec.kind() == "import_spec" && self.fills_its_lines(spec) {
                    self.imports.push(Import {
                        first: spec.start_position().row,
                        last: last_row(spec),
                        root: import_root(self.text(spec)),
                        parent: env.parent,
                        asked: env.asked,
                    });
                }
            }
            return;
        }
        self.imports.push(Import {
            first,
            last,
            root,
            parent: env.parent,
            asked: env.asked,
        });
    }

    fn function(&mut self, node: Node, env: &Env) {
        // A function that did not parse stays whole.
        if node.has_error() {
            return;
        }
        let name = self.name_of(node);
        let asked = env.asked.max(self.asked.function(name));
        // The body and parameters of an item that is a function are as public as the item.
        let public = env
            .parent
            .map(|p| &self.cuts[p])
            .is_none_or(|p| p.what != What::Drop || p.public);
        let mut inner = Env {
            depth: env.depth + 1,
            asked,
            ..env.clone()
        };
        let body = node.child_by_field_name("body");
        let mut tails = Vec::new();
        if let Some(body) = body {
            if let Some(mut cut) = self.body_cut(node, body) {
                let rows = cut.rows();
                cut.label = name.to_string();
                cut.parent = env.parent;
                cut.asked = asked;
                cut.public = public;
                cut.stage = if rows > SHORT_BODY { 1 } else { 4 };
                let id = self.push(cut);
                inner.parent = Some(id);
                if self.asked.function(name) > 0 && rows > SHORT_BODY {
                    tails = self.tails(body, id);
                }
            }
        }
        let params = node.child_by_field_name("parameters");
        let mut params_cut = None;
        if let Some((open, close)) = params.and_then(|p| self.bracketed(p, '(', ')')) {
            let mut cut = Cut::new(
                What::Params,
                vec![(open + 1, close - 1)],
                open + 1,
                Form::Comment,
            );
            cut.indent = self.inner_indent(open + 1, close);
            cut.terse = ELIDED.to_string();
            cut.full = cut.terse.clone();
            cut.parent = env.parent;
            cut.asked = asked;
            cut.public = public;
            cut.opens = params
                .filter(|p| self.ends_its_row(p.start_byte() + 1))
                .map(|_| open);
            params_cut = Some(self.push(cut));
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if Some(child) != body {
                // What sits in an elided parameter list goes with it.
                let parent = if Some(child) == params && params_cut.is_some() {
                    params_cut
                } else {
                    env.parent
                };
                self.visit(
                    child,
                    &Env {
                        parent,
                        ..inner.clone()
                    },
                );
                continue;
            }
            // A Python docstring is not all hidden by the body's cut: it keeps its own parent.
            // What sits in a statement that a tail hides goes with the tail.
            for (i, part) in statements(child).into_iter().enumerate() {
                let outer = i == 0 && is_docstring(part);
                let row = part.start_position().row;
                let tail = tails.iter().rev().find(|&&(at, _)| at <= row).map(|t| t.1);
                let env = if outer {
                    Env {
                        parent: env.parent,
                        ..inner.clone()
                    }
                } else {
                    Env {
                        parent: tail.or(inner.parent),
                        ..inner.clone()
                    }
                };
                self.visit(
                    part,
                    &Env {
                        depth: inner.depth + 1,
                        ..env
                    },
                );
            }
        }
    }

    /// The tails of the body `body` of a function the query names, its cut being `id`: from
    /// each of its statements after the first to the end of the body, each holding the next,
    /// as (first row hidden, cut).
    fn tails(&mut self, body: Node, id: usize) -> Vec<(usize, usize)> {
        let (asked, public) = (self.cuts[id].asked, self.cuts[id].public);
        let (Some(&(first, _)), Some(&(_, end))) =
            (self.cuts[id].hide.first(), self.cuts[id].hide.last())
        else {
            return Vec::new();
        };
        let parts: Vec<Node> = statements(body)
            .into_iter()
            .filter(|n| n.is_named() && !n.is_error() && !n.is_missing())
            .collect();
        let mut tails = Vec::new();
        let mut parent = id;
        for pair in parts.windows(2) {
            let (prev, part) = (pair[0], pair[1]);
            let start = last_row(prev) + 1;
            if start <= first
                || start > end
                || part.start_position().row < start
                || !self.fills_its_lines(prev)
                || !self.fills_its_lines(part)
            {
                continue;
            }
            let mut cut = Cut::new(What::Tail, vec![(start, end)], start, Form::Block);
            cut.indent = self.indent_at(part);
            cut.own = cut.hide.clone();
            self.summarize(&mut cut, start, end);
            cut.parent = Some(parent);
            cut.asked = asked;
            cut.public = public;
            parent = self.push(cut);
            tails.push((start, parent));
            if tails.len() == MAX_TAILS {
                break;
            }
        }
        tails
    }

    /// The cut of a function's body, if its lines can go without unbalancing the rest.
    fn body_cut(&self, function: Node, body: Node) -> Option<Cut> {
        let text = self.text(body);
        if text.starts_with('{') {
            let (open, close) = self.braced(body)?;
            let mut cut = Cut::new(
                What::Body,
                vec![(open + 1, close - 1)],
                open + 1,
                Form::Block,
            );
            cut.indent = self.inner_indent(open + 1, close);
            cut.own = cut.hide.clone();
            cut.opens = self.ends_its_row(body.start_byte() + 1).then_some(open);
            self.summarize(&mut cut, open + 1, close - 1);
            return Some(cut);
        }
        match self.syntax {
            Syntax::Python => self.python_body(function, body),
            Syntax::Ruby => self.ruby_body(function, body),
            _ => None,
        }
    }

    /// The rows of the braces of a braced node, `{` ending its row and `}` starting its own,
    /// with at least one row between them.
    fn braced(&self, node: Node) -> Option<(usize, usize)> {
        self.bracketed(node, '{', '}')
    }

    /// The rows of the brackets of a node, as [`Self::braced`].
    fn bracketed(&self, node: Node, opening: char, closing: char) -> Option<(usize, usize)> {
        let (open, close) = (node.start_position().row, node.end_position().row);
        let text = self.text(node);
        if close < open + 2 || !text.starts_with(opening) || !text.ends_with(closing) {
            return None;
        }
        let src = self.src.as_bytes();
        let after_open = &self.src[node.start_byte() + 1..row_end(src, node.start_byte())];
        let before_close = &src[row_start(src, node.end_byte() - 1)..node.end_byte() - 1];
        let ok =
            self.blank_or_comment(after_open) && before_close.iter().all(u8::is_ascii_whitespace);
        ok.then_some((open, close))
    }

    fn python_body(&self, function: Node, body: Node) -> Option<Cut> {
        let colon = body.prev_sibling()?;
        let sig = colon.end_position().row;
        let start = body.start_position().row;
        let end = last_row(body);
        if start <= sig || end < start {
            return None;
        }
        let src = self.src.as_bytes();
        if !self.blank_or_comment(&self.src[body.end_byte()..row_end(src, body.end_byte())]) {
            return None;
        }
        if last_row(function) != end {
            return None;
        }
        let indent = leading_ws(content(self.lines[start])).to_string();
        let first_stmt = body.named_child(0)?;
        let mut hide = Vec::new();
        let mut note_at = sig + 1;
        if is_docstring(first_stmt) {
            let (ds, de) = (first_stmt.start_position().row, last_row(first_stmt));
            if de > ds {
                let head = self.doc_head(ds, de);
                if head + 1 < de {
                    hide.push((head + 1, de - 1));
                }
            }
            if de >= end {
                // Only a docstring: its own cuts do.
                return None;
            }
            hide.push((de + 1, end));
            note_at = de + 1;
        } else {
            hide.push((sig + 1, end));
        }
        let mut cut = Cut::new(What::Body, hide, note_at, Form::Block);
        cut.indent = indent;
        cut.own = vec![(sig + 1, end)];
        // The colon itself, before any comment between it and the block (`# Steps:`).
        let mut colon = Some(colon);
        while let Some(c) = colon.filter(|c| c.kind() != ":") {
            colon = c.prev_sibling();
        }
        cut.opens = colon
            .filter(|c| self.ends_its_row(c.end_byte()))
            .map(|c| c.end_position().row);
        self.summarize(&mut cut, sig + 1, end);
        Some(cut)
    }

    fn ruby_body(&self, function: Node, body: Node) -> Option<Cut> {
        if body.kind() != "body_statement" {
            return None;
        }
        let sig_end = function
            .child_by_field_name("parameters")
            .or_else(|| function.child_by_field_name("name"))?
            .end_position()
            .row;
        let (start, end) = (body.start_position().row, function.end_position().row);
        if start <= sig_end || end <= last_row(body) {
            return None;
        }
        let src = self.src.as_bytes();
        let before_end = &src[row_start(src, function.end_byte().saturating_sub(1))..];
        if !before_end.trim_ascii_start().starts_with(b"end") {
            return None;
        }
        let mut cut = Cut::new(
            What::Body,
            vec![(sig_end + 1, end - 1)],
            sig_end + 1,
            Form::Block,
        );
        cut.indent = leading_ws(content(self.lines[start])).to_string();
        cut.own = cut.hide.clone();
        self.summarize(&mut cut, sig_end + 1, end - 1);
        Some(cut)
    }

    /// The note of a body: its size and the calls it makes most.
    fn summarize(&self, cut: &mut Cut, first: usize, last: usize) {
        let n = last + 1 - first;
        let body: String = self.lines[first..=last].concat();
        let called = super::calls(&body);
        cut.full = if called.is_empty() {
            format!("{n} lines")
        } else {
            format!("{n} lines; calls {called}")
        };
        cut.terse = ELIDED.to_string();
    }

    fn container(&mut self, node: Node, env: &Env) {
        if node.has_error() {
            self.children(node, env);
            return;
        }
        let name = self.name_of(node);
        let asked = env.asked.max(self.asked.container(name));
        let inner = Env {
            depth: env.depth + 1,
            asked,
            ..env.clone()
        };
        let body = node.child_by_field_name("body");
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if Some(child) == body {
                self.container_body(child, &inner, name);
            } else {
                self.visit(
                    child,
                    &Env {
                        asked: env.asked,
                        ..inner.clone()
                    },
                );
            }
        }
    }

    /// A container's body: its members other than methods and nested types go together under
    /// one cut; each member can go whole.
    fn container_body(&mut self, body: Node, env: &Env, name: &str) {
        let mut hide: Vec<(usize, usize)> = Vec::new();
        let mut cursor = body.walk();
        for child in body.named_children(&mut cursor) {
            if self.is_member(child) && self.fills_its_lines(child) {
                let (a, b) = (child.start_position().row, last_row(child));
                match hide.last_mut() {
                    Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                    _ => hide.push((a, b)),
                }
            }
        }
        let rows: usize = hide.iter().map(|(a, b)| b + 1 - a).sum();
        let mut c = body.walk();
        let methods = body
            .named_children(&mut c)
            .any(|n| !self.is_member(n) && !n.kind().contains("comment") && !is_docstring(n));
        let mut members = None;
        if rows >= 2 {
            let first = hide[0].0;
            let mut cut = Cut::new(What::Members, hide.clone(), first, Form::Line);
            cut.indent = leading_ws(content(self.lines[first])).to_string();
            cut.own = hide;
            cut.full = format!("{rows} lines of {} other than methods", short(name, 40));
            cut.terse = format!("{rows} lines of members");
            cut.quiet = methods;
            cut.parent = env.parent;
            cut.asked = env.asked;
            cut.stage = 3;
            members = Some(self.push(cut));
        }
        self.items_of(body, env, members);
    }

    /// A JavaScript class member with a private name (`#count = 0`, `#parse() {}`): code that
    /// stays may name it, and JavaScript refuses a private name with no declaration, so it is
    /// never left out whole.
    fn declares_private_name(&self, node: Node) -> bool {
        self.lang == Language::JavaScript
            && matches!(node.kind(), "field_definition" | "method_definition")
            && node
                .child_by_field_name("property")
                .or_else(|| node.child_by_field_name("name"))
                .is_some_and(|n| n.kind() == "private_property_identifier")
    }

    /// A member of a container that is not a method, a nested type or a comment.
    fn is_member(&self, node: Node) -> bool {
        if self.declares_private_name(node) {
            return false;
        }
        let kind = node.kind();
        let inner = match kind {
            "decorated_definition" => node.child_by_field_name("definition"),
            "export_statement" => node.child_by_field_name("declaration"),
            _ => Some(node),
        };
        let inner_kind = inner.map_or(kind, |n| n.kind());
        !(FUNCTIONS.contains(&inner_kind)
            || CONTAINERS.contains(&inner_kind)
            || inner_kind == "function_signature_item"
            || inner_kind == "method_signature"
            || inner_kind == "abstract_method_signature"
            || kind.contains("comment")
            || is_docstring(node)
            || node.is_error()
            || node.has_error()
            || KEPT.contains(&kind)
            || LEADING.contains(&kind))
    }

    fn fields(&mut self, node: Node, env: &Env) {
        let inner = Env {
            depth: env.depth + 1,
            ..env.clone()
        };
        if let Some((open, close)) = self.braced(node).filter(|_| !node.has_error()) {
            let mut cut = Cut::new(
                What::Fields,
                vec![(open + 1, close - 1)],
                open + 1,
                Form::Block,
            );
            cut.indent = self.inner_indent(open + 1, close);
            cut.own = cut.hide.clone();
            cut.opens = self.ends_its_row(node.start_byte() + 1).then_some(open);
            cut.full = format!("{} lines of fields", close - open - 1);
            cut.terse = ELIDED.to_string();
            cut.parent = env.parent;
            cut.asked = env.asked;
            cut.stage = 4;
            let id = self.push(cut);
            self.children(
                node,
                &Env {
                    parent: Some(id),
                    ..inner
                },
            );
            return;
        }
        self.children(node, env);
    }

    /// Comment blocks (comments on consecutive lines under one cut): the block's lines after
    /// its first go first, then the whole block.
    fn comment_cuts(&mut self) {
        let mut comments = std::mem::take(&mut self.comments);
        comments.sort_by_key(|c| (c.first, c.last));
        let mut i = 0;
        while i < comments.len() {
            let mut j = i + 1;
            while j < comments.len()
                && comments[j].first == comments[j - 1].last + 1
                && comments[j].parent == comments[i].parent
            {
                j += 1;
            }
            let block = &comments[i..j];
            let (first, last) = (block[0].first, block[j - i - 1].last);
            // A comment that warns (`FIXME`, `SAFETY`, `DEPRECATED`) goes only with its item.
            let notable = self.lines[first..=last]
                .iter()
                .any(|l| notable_re().is_match(l));
            let stage = |s: u8| if notable { 5 } else { s };
            let mut all = Cut::new(What::CommentAll, vec![(first, last)], first, Form::Silent);
            all.parent = block[0].parent;
            all.asked = block[0].asked;
            all.stage = stage(4);
            let id = self.push(all);
            // The first comment keeps its first line, and its last if it spans several (the
            // one that closes it); the others go whole.
            let head = &block[0];
            let mut hide = Vec::new();
            if head.last > head.first + 1 {
                hide.push((head.first + 1, head.last - 1));
            }
            if last > head.last {
                hide.push((head.last + 1, last));
            }
            if !hide.is_empty() {
                let at = hide[0].0;
                let mut tail = Cut::new(What::CommentTail, hide, at, Form::Silent);
                tail.parent = Some(id);
                tail.asked = head.asked;
                tail.stage = stage(3);
                self.push(tail);
            }
            i = j;
        }
    }

    /// Runs of imports (on consecutive lines, blank lines between them allowed): a long run
    /// keeps its first lines, then the whole run goes.
    fn import_cuts(&mut self) {
        let mut imports = std::mem::take(&mut self.imports);
        imports.sort_by_key(|c| (c.first, c.last));
        let mut i = 0;
        while i < imports.len() {
            let mut j = i + 1;
            while j < imports.len()
                && imports[j].parent == imports[i].parent
                && (imports[j - 1].last + 1..imports[j].first)
                    .all(|r| content(self.lines[r]).trim().is_empty())
            {
                j += 1;
            }
            let run = &imports[i..j];
            i = j;
            let (first, last) = (run[0].first, run[run.len() - 1].last);
            if run.len() < 2 {
                continue;
            }
            let indent = leading_ws(content(self.lines[first])).to_string();
            let mut all = Cut::new(What::ImportAll, vec![(first, last)], first, Form::Line);
            all.indent = indent.clone();
            all.own = all.hide.clone();
            all.full = format!("{} imports: {}", run.len(), roots(run));
            all.terse = format!("{} imports", run.len());
            all.parent = run[0].parent;
            all.asked = run[0].asked;
            all.stage = 4;
            let id = self.push(all);
            if last + 1 - first > LONG_IMPORTS && run.len() > IMPORTS_SHOWN {
                let rest = &run[IMPORTS_SHOWN..];
                let at = rest[0].first;
                let mut tail = Cut::new(What::ImportTail, vec![(at, last)], at, Form::Line);
                tail.indent = indent;
                tail.own = tail.hide.clone();
                tail.full = format!("{} more imports: {}", rest.len(), roots(rest));
                tail.terse = format!("{} more imports", rest.len());
                tail.parent = Some(id);
                tail.asked = run[0].asked;
                tail.stage = 1;
                self.push(tail);
            }
        }
    }

    /// Whether nothing but whitespace comes before `node` on its first line, and nothing but
    /// whitespace or a line comment after it on its last.
    fn fills_its_lines(&self, node: Node) -> bool {
        let src = self.src.as_bytes();
        let (start, mut end) = (node.start_byte(), node.end_byte());
        if end > start && src[end - 1] == b'\n' {
            end -= 1;
        }
        src[row_start(src, start)..start]
            .iter()
            .all(u8::is_ascii_whitespace)
            && self.blank_or_comment(&self.src[end..row_end(src, end)])
    }

    /// Whether nothing but whitespace follows byte `at` on its row.
    fn ends_its_row(&self, at: usize) -> bool {
        let src = self.src.as_bytes();
        let at = at.min(src.len());
        src[at..row_end(src, at)]
            .iter()
            .all(u8::is_ascii_whitespace)
    }

    /// Whether `rest` (of a line) is blank or a line comment.
    fn blank_or_comment(&self, rest: &str) -> bool {
        let t = rest.trim();
        t.is_empty() || t.starts_with(self.syntax.line_comment())
    }

    /// The indentation of the row `node` starts on.
    fn indent_at(&self, node: Node) -> String {
        leading_ws(content(self.lines[node.start_position().row])).to_string()
    }

    /// The indentation of the first non-blank row in `from..to`, or one level deeper than
    /// row `to`.
    fn inner_indent(&self, from: usize, to: usize) -> String {
        (from..to)
            .map(|r| content(self.lines[r]))
            .find(|l| !l.trim().is_empty())
            .map(|l| leading_ws(l).to_string())
            .unwrap_or_else(|| format!("{}    ", leading_ws(content(self.lines[to]))))
    }

    /// The name a node is known by: its own name, the type of an impl, or the variable or key a
    /// function is assigned to.
    fn name_of(&self, node: Node) -> &'a str {
        if let Some(n) = node.child_by_field_name("name") {
            return self.text(n);
        }
        if node.kind() == "impl_item" {
            if let Some(t) = node.child_by_field_name("type") {
                return self.text(t);
            }
        }
        for field in ["definition", "declaration"] {
            if let Some(inner) = node.child_by_field_name(field) {
                return self.name_of(inner);
            }
        }
        if matches!(node.kind(), "lexical_declaration" | "variable_declaration") {
            let mut c = node.walk();
            let first = node
                .named_children(&mut c)
                .find(|n| n.kind() == "variable_declarator");
            if let Some(d) = first {
                return self.name_of(d);
            }
        }
        let Some(parent) = node.parent() else {
            return "";
        };
        let field = match parent.kind() {
            "variable_declarator" | "public_field_definition" | "field_definition" => "name",
            "pair" => "key",
            "assignment_expression" | "assignment" => "left",
            "let_declaration" => "pattern",
            _ => return "",
        };
        parent
            .child_by_field_name(field)
            .or_else(|| parent.child_by_field_name("property"))
            .map_or("", |n| self.text(n))
    }

    /// How an item reads in a list of what was left out: its first line up to its name.
    fn label(&self, node: Node) -> String {
        // A decorated definition reads as the definition, not its first decorator.
        let node = match node.kind() {
            "decorated_definition" => node.child_by_field_name("definition").unwrap_or(node),
            _ => node,
        };
        let first = content(self.lines[node.start_position().row]).trim();
        let mut name = self.name_of(node);
        if name.is_empty() && node.kind() == "expression_statement" {
            // An assignment reads as what it assigns to.
            let target = node
                .named_child(0)
                .filter(|n| matches!(n.kind(), "assignment_expression" | "assignment"))
                .and_then(|n| n.child_by_field_name("left"));
            if let Some(t) = target {
                name = self.text(t);
            }
        }
        let cut = (!name.is_empty())
            .then(|| first.find(name).map(|i| i + name.len()))
            .flatten();
        let label = match cut {
            Some(end) => &first[..end],
            None => first,
        };
        short(label.trim_end_matches(['{', '(', ':', ' ']), 48)
    }

    /// Test code: a test attribute or a name that says so.
    fn is_test(&self, first: usize, node: Node) -> bool {
        let head: String = self.lines[first..=node.start_position().row].concat();
        let name = self.name_of(node).to_ascii_lowercase();
        head.contains("#[cfg(test)]")
            || head.contains("#[test]")
            || head.contains("@Test")
            || name.starts_with("test")
            || name == "tests"
    }

    /// Whether an item of `list` (a file, or a container's body) is part of the public
    /// interface, by the rules of its language.
    fn is_public(&self, node: Node, list: Node) -> bool {
        let container = list.parent();
        let container_kind = container.map_or("", |c| c.kind());
        let inner = match node.kind() {
            "decorated_definition" => node.child_by_field_name("definition").unwrap_or(node),
            _ => node,
        };
        let name = self.name_of(inner);
        let has_child = |n: Node, kinds: &[&str], words: &[&str]| {
            let mut c = n.walk();
            let found = n.children(&mut c).any(|ch| {
                kinds.contains(&ch.kind())
                    && (words.is_empty() || words.iter().any(|w| self.text(ch).contains(w)))
            });
            found
        };
        match self.lang {
            Language::Rust => {
                // An impl is as public as what it implements; a trait's items and those of
                // an impl of a trait are public through the trait.
                matches!(inner.kind(), "impl_item")
                    || container_kind == "trait_item"
                    || container.is_some_and(|c| {
                        c.kind() == "impl_item" && c.child_by_field_name("trait").is_some()
                    })
                    || has_child(inner, &["visibility_modifier"], &[])
            }
            Language::Python => {
                let name = name.trim_start_matches('*');
                !name.starts_with('_') || (name.starts_with("__") && name.ends_with("__"))
            }
            Language::Go => {
                let name = if name.is_empty() {
                    // `type X …`: the name of its first spec.
                    let mut c = inner.walk();
                    let spec = inner
                        .named_children(&mut c)
                        .find(|n| n.kind().ends_with("_spec"));
                    spec.map_or("", |s| self.name_of(s))
                } else {
                    name
                };
                name.chars().next().is_some_and(char::is_uppercase)
            }
            Language::JavaScript | Language::TypeScript => {
                if list.kind() == "class_body" {
                    !name.starts_with('#')
                        && !has_child(
                            inner,
                            &["accessibility_modifier"],
                            &["private", "protected"],
                        )
                } else {
                    inner.kind() == "export_statement"
                        || container_kind.contains("module")
                        || container_kind.contains("namespace")
                }
            }
            Language::Java => {
                container_kind == "interface_declaration"
                    || has_child(inner, &["modifiers"], &["public", "protected"])
            }
            Language::Ruby | Language::Other => true,
        }
    }
}

/// Words that make a comment a warning a reader must not miss.
fn notable_re() -> &'static regex::Regex {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"\b(?:FIXME|XXX|HACK|BUG|SAFETY|SECURITY|DEPRECATED|WARNING|UNSAFE)\b")
            .expect("valid pattern")
    })
}

/// The children of a function's body: its statements (those of Go's statement list), with the
/// brackets around them.
fn statements(body: Node) -> Vec<Node> {
    let mut c = body.walk();
    let children: Vec<Node> = body.children(&mut c).collect();
    let mut named = children.iter().filter(|n| n.is_named());
    if let (Some(list), None) = (named.next(), named.next()) {
        if list.kind() == "statement_list" {
            let mut c = list.walk();
            return list.children(&mut c).collect();
        }
    }
    children
}

/// Whether `node` is a string standing as a statement: a Python docstring.
pub(super) fn is_docstring(node: Node) -> bool {
    node.kind() == "expression_statement"
        && node.named_child_count() == 1
        && node.named_child(0).is_some_and(|s| s.kind() == "string")
}

/// The last row of a node, not counting a line break it ends with.
fn last_row(node: Node) -> usize {
    let end = node.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// The byte offset where the row holding byte `at` starts.
fn row_start(src: &[u8], at: usize) -> usize {
    src[..at.min(src.len())]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// The byte offset where the row holding byte `at` ends (before its line break).
fn row_end(src: &[u8], at: usize) -> usize {
    let at = at.min(src.len());
    src[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(src.len(), |i| at + i)
}

/// The whitespace a line starts with.
pub(super) fn leading_ws(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// At most `n` characters of `s`, with `…` when cut.
pub(super) fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n).collect();
    out.push('…');
    out
}

/// The module an import names first: `std` of `use std::io`, `c7n` of `from c7n.x import y`,
/// `../errors/HTTPError.js` of `import {A} from '../errors/HTTPError.js'`, `fmt` of `"fmt"`.
fn import_root(text: &str) -> String {
    use regex::Regex;
    use std::sync::OnceLock;
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"from\s+['"]([^'"]+)['"]|^\s*(?:pub(?:\([^)]*\))?\s+)?(?:use|import|from)\s+(?:static\s+)?\{?\s*([A-Za-z_$@][\w$@-]*)|^\s*(?:\w+\s+)?"([^"/]+)"#)
            .expect("valid pattern")
    });
    re.captures(text)
        .and_then(|c| c.get(1).or_else(|| c.get(2)).or_else(|| c.get(3)))
        .map_or_else(|| "other".to_string(), |m| m.as_str().to_string())
}

/// `std 5, serde 2` for the modules a run of imports names, most first.
fn roots(run: &[Import]) -> String {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for i in run {
        *counts.entry(i.root.as_str()).or_default() += 1;
    }
    let mut by: Vec<(&str, usize)> = counts.into_iter().collect();
    by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    by.iter()
        .take(4)
        .map(|(r, n)| format!("{r} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
