//! Configuration and data files read as a tree of line ranges: YAML by indentation (documents
//! split at `---`), TOML, INI and `KEY=value` files by section headers and entries, XML and
//! HTML by elements that start and end on lines of their own. Nothing is validated: the tree
//! only says which lines belong together, so a file that is not quite well formed still reads.

use super::super::content;
use regex::Regex;
use std::sync::OnceLock;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeKind {
    /// The whole file.
    Root,
    /// A YAML document (after `---`).
    Document,
    /// A TOML or INI section (`[name]`, `[[name]]`).
    Section,
    /// A key and its value (a YAML mapping entry, a TOML or INI assignment, `KEY=value`).
    Entry,
    /// A YAML list item.
    Item,
    /// An XML or HTML element.
    Element,
    /// A run of comment lines.
    Comment,
    /// An XML declaration, processing instruction or DOCTYPE.
    Prolog,
}

/// Lines that belong together.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// First line.
    pub start: usize,
    /// One past the last line.
    pub end: usize,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    /// The key, tag or section name; `-` for a list item.
    pub label: String,
    pub kind: NodeKind,
}

/// A file's nodes; node 0 is the root.
#[derive(Debug)]
pub(super) struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    fn new(n: usize) -> Tree {
        Tree {
            nodes: vec![Node {
                start: 0,
                end: n,
                parent: None,
                children: Vec::new(),
                label: String::new(),
                kind: NodeKind::Root,
            }],
        }
    }

    /// Adds a node under `parent` (its end is set when it closes).
    fn open(&mut self, parent: usize, start: usize, label: String, kind: NodeKind) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            start,
            end: start + 1,
            parent: Some(parent),
            children: Vec::new(),
            label,
            kind,
        });
        self.nodes[parent].children.push(id);
        id
    }
}

/// How the file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Yaml,
    /// TOML, INI, `KEY=value` (`.env`, `env`, `sysctl -a`).
    Sections,
    /// XML or HTML.
    Markup,
}

struct Patterns {
    header: Regex,
    assignment: Regex,
    yaml_key: Regex,
    attribute: Regex,
    element: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            // `[section]`, `[[array]]`, `[target.'cfg(any(unix, x = "1"))'.dependencies]`.
            header: re(r#"^\s*\[\[?(?:[^\[\]'"]|'[^']*'|"[^"]*")+\]\]?\s*(?:[#;].*)?$"#),
            assignment: re(r#"^\s*(?:export\s+)?([\w."'\-/@$%+~*]+)\s*="#),
            yaml_key: re(r#"^((?:- +)*)("[^"]*"|'[^']*'|[^\s"'#{}\[\],&*!|>%@`-][^:#{}\[\]]*?|-[^\s:][^:#{}\[\]]*?)\s*:(?:\s|$)"#),
            attribute: re(r#"([\w:.\-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"#),
            element: re(r"^\s*<([\w:.\-]+)(?:\s[^>]*)?>([^<]*)</([\w:.\-]+)>\s*$"),
        }
    })
}

impl Format {
    /// The format of `lines`, from the first line and the share of lines of each shape.
    pub fn of(lines: &[&str]) -> Format {
        let p = patterns();
        let body: Vec<&str> = lines
            .iter()
            .map(|l| content(l).trim_start_matches('\u{feff}'))
            .filter(|l| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with(['#', ';'])
            })
            .take(400)
            .collect();
        if body
            .first()
            .is_some_and(|l| l.trim_start().starts_with('<'))
        {
            return Format::Markup;
        }
        let headers = body.iter().filter(|l| p.header.is_match(l)).count();
        let assignments = body.iter().filter(|l| p.assignment.is_match(l)).count();
        let yaml = body
            .iter()
            .filter(|l| p.yaml_key.is_match(l.trim_start()) || l.trim_start().starts_with("- "))
            .count();
        if headers >= 1 && headers * 2 < body.len().max(2) || assignments > yaml {
            Format::Sections
        } else {
            Format::Yaml
        }
    }
}

/// Reads `lines` as `format`.
pub(super) fn parse(lines: &[&str], format: Format) -> Tree {
    match format {
        Format::Yaml => yaml(lines),
        Format::Sections => sections(lines),
        Format::Markup => markup(lines),
    }
}

/// The key of a YAML line (`key: value`, `- key: value`), unquoted.
pub(super) fn yaml_key(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let c = patterns().yaml_key.captures(t)?;
    let key = c.get(2)?.as_str().trim();
    Some(key.trim_matches(['"', '\'']))
}

/// The key and value of a line, as far as the format says: `key: value`, `key = value`,
/// `<key>value</key>`, or each attribute `key="value"` of a tag.
pub(super) fn fields(line: &str, format: Format) -> Vec<(&str, &str)> {
    let p = patterns();
    let c = content(line);
    let t = c.trim_start();
    match format {
        Format::Yaml => {
            if t.starts_with('#') {
                return Vec::new();
            }
            match p.yaml_key.captures(t) {
                Some(m) => {
                    let whole = m.get(0).map_or(0, |g| g.end());
                    let key = m.get(2).map_or("", |g| g.as_str()).trim();
                    vec![(key.trim_matches(['"', '\'']), unquote(t[whole..].trim()))]
                }
                None => Vec::new(),
            }
        }
        Format::Sections => {
            if t.starts_with(['#', ';']) {
                return Vec::new();
            }
            let at = t.find(['=', ':']);
            match at {
                Some(i) if i > 0 => {
                    let key = t[..i].trim().trim_start_matches("export ").trim();
                    vec![(key.trim_matches(['"', '\'']), unquote(t[i + 1..].trim()))]
                }
                _ => Vec::new(),
            }
        }
        Format::Markup => {
            if let Some(m) = p.element.captures(c) {
                let (open, close) = (
                    m.get(1).map_or("", |g| g.as_str()),
                    m.get(3).map_or("", |g| g.as_str()),
                );
                if open == close {
                    return vec![(open, m.get(2).map_or("", |g| g.as_str()).trim())];
                }
            }
            p.attribute
                .captures_iter(c)
                .filter_map(|m| {
                    let key = m.get(1)?.as_str();
                    let value = m.get(2).or(m.get(3)).map_or("", |g| g.as_str());
                    Some((key, value))
                })
                .collect()
        }
    }
}

/// A value without the quotes around it.
fn unquote(v: &str) -> &str {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// Leading spaces and tabs.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

fn yaml(lines: &[&str]) -> Tree {
    let n = lines.len();
    let mut tree = Tree::new(n);
    // Open nodes, innermost last: (node, indent, is a list item, opens a block).
    let mut stack: Vec<(usize, usize, bool, bool)> = Vec::new();
    let mut doc: usize = 0;
    let close_all = |tree: &mut Tree, stack: &mut Vec<(usize, usize, bool, bool)>, at: usize| {
        for (node, ..) in stack.drain(..) {
            tree.nodes[node].end = at;
        }
    };
    for (i, l) in lines.iter().enumerate() {
        let c = content(l);
        let t = c.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if c == "---" || c.starts_with("--- ") || c == "..." {
            close_all(&mut tree, &mut stack, i);
            if doc != 0 {
                tree.nodes[doc].end = i;
            }
            doc = if c == "..." {
                0
            } else {
                tree.open(0, i, "---".to_string(), NodeKind::Document)
            };
            continue;
        }
        let ind = indent(c);
        let item = t == "-" || t.starts_with("- ");
        while let Some(&(node, top_ind, top_item, opens)) = stack.last() {
            // `key:` with its list items at the same indent (`steps:\n- run: x`) holds them.
            let holds = top_ind == ind && item && !top_item && opens;
            if top_ind > ind || (top_ind == ind && !holds) {
                tree.nodes[node].end = i;
                stack.pop();
            } else {
                break;
            }
        }
        let parent = stack.last().map_or(doc, |s| s.0);
        let key = yaml_key(t);
        let (label, kind) = match (item, key) {
            (true, _) => ("-".to_string(), NodeKind::Item),
            (false, Some(k)) => (k.to_string(), NodeKind::Entry),
            (false, None) => (String::new(), NodeKind::Entry),
        };
        let opens = t.ends_with(':');
        let node = tree.open(parent, i, label, kind);
        stack.push((node, ind, item, opens));
    }
    close_all(&mut tree, &mut stack, n);
    if doc != 0 {
        tree.nodes[doc].end = n;
    }
    // A document is named by its `kind:` (Kubernetes, compose's services are keys).
    for d in 0..tree.nodes.len() {
        if tree.nodes[d].kind != NodeKind::Document {
            continue;
        }
        let kind = tree.nodes[d]
            .children
            .iter()
            .find(|&&c| tree.nodes[c].label == "kind")
            .and_then(|&c| {
                fields(lines[tree.nodes[c].start], Format::Yaml)
                    .first()
                    .map(|f| f.1.to_string())
            });
        if let Some(k) = kind.filter(|k| !k.is_empty()) {
            tree.nodes[d].label = k;
        }
    }
    tree
}

/// Where a TOML value leaves the parser after one line: open brackets, or inside a
/// multi-line string.
#[derive(Debug, Clone, Copy, Default)]
struct Open {
    depth: i32,
    triple: Option<u8>,
}

impl Open {
    fn is_open(self) -> bool {
        self.depth > 0 || self.triple.is_some()
    }

    /// Carries the state over `text`, strings respected.
    fn scan(mut self, text: &str) -> Open {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if let Some(q) = self.triple {
                if b[i] == q && b[i..].starts_with(&[q, q, q]) {
                    self.triple = None;
                    i += 3;
                } else {
                    i += 1;
                }
                continue;
            }
            match b[i] {
                b'#' => break,
                q @ (b'"' | b'\'') if b[i..].starts_with(&[q, q, q]) => {
                    self.triple = Some(q);
                    i += 3;
                }
                q @ (b'"' | b'\'') => {
                    i += 1;
                    while i < b.len() && b[i] != q {
                        i += if b[i] == b'\\' && q == b'"' { 2 } else { 1 };
                    }
                    i += 1;
                }
                b'[' | b'{' => {
                    self.depth += 1;
                    i += 1;
                }
                b']' | b'}' => {
                    self.depth -= 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
        self.depth = self.depth.max(0);
        self
    }
}

fn sections(lines: &[&str]) -> Tree {
    let p = patterns();
    let n = lines.len();
    let mut tree = Tree::new(n);
    let mut section: Option<usize> = None;
    // The entry or comment run open now, and the value's state.
    let mut current: Option<usize> = None;
    let mut open = Open::default();
    let mut base = 0usize;
    for (i, l) in lines.iter().enumerate() {
        let c = content(l);
        let t = c.trim_start();
        let ind = indent(c);
        let header = ind == 0 && p.header.is_match(c);
        let assignment = ind == 0 && p.assignment.is_match(c);
        // Inside a multi-line string only its closing quotes end it; an array left open
        // ends at the next header or assignment, however it is written.
        if open.triple.is_some() || (open.is_open() && !header && !assignment) {
            open = open.scan(c);
            continue;
        }
        open = Open::default();
        if t.is_empty() {
            continue;
        }
        let close = |tree: &mut Tree, current: &mut Option<usize>| {
            if let Some(node) = current.take() {
                tree.nodes[node].end = i;
            }
        };
        if header {
            close(&mut tree, &mut current);
            if let Some(s) = section.take() {
                tree.nodes[s].end = i;
            }
            let label = t.split(['#', ';']).next().unwrap_or(t).trim().to_string();
            section = Some(tree.open(0, i, label, NodeKind::Section));
            continue;
        }
        let parent = section.unwrap_or(0);
        let comment = t.starts_with(['#', ';']) || t.starts_with("//");
        let in_comment = current.is_some_and(|c| tree.nodes[c].kind == NodeKind::Comment);
        if comment {
            if !in_comment {
                close(&mut tree, &mut current);
                current = Some(tree.open(parent, i, "#".to_string(), NodeKind::Comment));
            }
            continue;
        }
        // Lines indented under an entry continue it (INI continuations, indented arrays).
        if current.is_some() && !in_comment && ind > base {
            continue;
        }
        close(&mut tree, &mut current);
        base = ind;
        let label = t
            .trim_start_matches("export ")
            .split(['=', ':', ' ', '\t'])
            .next()
            .unwrap_or("")
            .trim_matches(['"', '\''])
            .to_string();
        current = Some(tree.open(parent, i, label, NodeKind::Entry));
        // A TOML array, inline table or multi-line string may run over several lines.
        if let Some(eq) = t.find('=') {
            let value = t[eq + 1..].trim_start();
            if value.starts_with(['[', '{'])
                || value.starts_with("\"\"\"")
                || value.starts_with("'''")
            {
                open = Open::default().scan(value);
            }
        }
    }
    if let Some(node) = current {
        tree.nodes[node].end = n;
    }
    if let Some(s) = section {
        tree.nodes[s].end = n;
    }
    tree
}

/// HTML elements that never have an end tag.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// An element being read.
struct Frame {
    name: String,
    start: usize,
    /// Its start tag begins its line.
    clean: bool,
    children: Vec<usize>,
}

fn markup(lines: &[&str]) -> Tree {
    let n = lines.len();
    let mut tree = Tree::new(n);
    // Byte offset where each line starts.
    let mut starts = Vec::with_capacity(n + 1);
    let mut at = 0;
    for l in lines {
        starts.push(at);
        at += l.len();
    }
    starts.push(at);
    let text: String = lines.concat();
    let b = text.as_bytes();
    let line_of = |pos: usize| starts.partition_point(|&s| s <= pos).saturating_sub(1);
    // Only whitespace between the line's start and `pos` / between `pos` and the line's end.
    let starts_line = |pos: usize| {
        let l = line_of(pos);
        b[starts[l]..pos].iter().all(|c| c.is_ascii_whitespace())
    };
    let ends_line = |pos: usize| {
        let l = line_of(pos.saturating_sub(1));
        b[pos.min(starts[l + 1])..starts[l + 1]]
            .iter()
            .all(|c| c.is_ascii_whitespace())
    };
    let html = {
        let head = &text[..text.len().min(2048)].to_ascii_lowercase();
        head.contains("<!doctype html") || head.contains("<html")
    };
    let mut stack: Vec<Frame> = vec![Frame {
        name: String::new(),
        start: 0,
        clean: false,
        children: Vec::new(),
    }];
    // Closes the frame on top: a node of its own when it starts and ends its lines, else its
    // children go to the frame above.
    let close = |tree: &mut Tree, stack: &mut Vec<Frame>, end_pos: usize, clean_end: bool| {
        let Some(f) = stack.pop() else { return };
        let Some(parent) = stack.last_mut() else {
            return;
        };
        if f.clean && clean_end {
            let id = tree.nodes.len();
            tree.nodes.push(Node {
                start: f.start,
                end: line_of(end_pos.saturating_sub(1)) + 1,
                parent: None,
                children: f.children,
                label: f.name,
                kind: NodeKind::Element,
            });
            parent.children.push(id);
        } else {
            parent.children.extend(f.children);
        }
    };
    let leaf = |tree: &mut Tree,
                stack: &mut Vec<Frame>,
                from: usize,
                to: usize,
                label: String,
                kind: NodeKind| {
        if starts_line(from) && ends_line(to) {
            let id = tree.nodes.len();
            tree.nodes.push(Node {
                start: line_of(from),
                end: line_of(to.saturating_sub(1)) + 1,
                parent: None,
                children: Vec::new(),
                label,
                kind,
            });
            if let Some(top) = stack.last_mut() {
                top.children.push(id);
            }
        }
    };
    let find = |from: usize, pat: &[u8]| -> usize {
        memchr::memmem::find(&b[from..], pat).map_or(b.len(), |k| from + k + pat.len())
    };
    let mut pos = 0;
    while let Some(k) = memchr::memchr(b'<', &b[pos..]) {
        let lt = pos + k;
        let rest = &b[lt..];
        if rest.starts_with(b"<!--") {
            let end = find(lt + 4, b"-->");
            leaf(
                &mut tree,
                &mut stack,
                lt,
                end,
                "#".to_string(),
                NodeKind::Comment,
            );
            pos = end;
        } else if rest.starts_with(b"<![CDATA[") {
            pos = find(lt + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            let end = find(lt + 2, b"?>");
            leaf(
                &mut tree,
                &mut stack,
                lt,
                end,
                "?".to_string(),
                NodeKind::Prolog,
            );
            pos = end;
        } else if rest.starts_with(b"<!") {
            // A DOCTYPE, with its internal subset in brackets.
            let mut depth = 0i32;
            let mut end = b.len();
            for (j, &c) in b[lt..].iter().enumerate() {
                match c {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    b'>' if depth <= 0 => {
                        end = lt + j + 1;
                        break;
                    }
                    _ => {}
                }
            }
            leaf(
                &mut tree,
                &mut stack,
                lt,
                end,
                "!".to_string(),
                NodeKind::Prolog,
            );
            pos = end;
        } else {
            let closing = rest.get(1) == Some(&b'/');
            let name_from = lt + if closing { 2 } else { 1 };
            let name_len = b[name_from..]
                .iter()
                .take_while(|c| !c.is_ascii_whitespace() && !matches!(c, b'/' | b'>' | b'<'))
                .count();
            if name_len == 0 {
                pos = lt + 1;
                continue;
            }
            let name = String::from_utf8_lossy(&b[name_from..name_from + name_len]).into_owned();
            // The tag runs to the first `>` outside quotes.
            let mut j = name_from + name_len;
            let mut quote: Option<u8> = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (Some(q), c) if c == q => quote = None,
                    (None, c @ (b'"' | b'\'')) => quote = Some(c),
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            let self_closing = j > 0 && b.get(j - 1) == Some(&b'/');
            let same = |a: &str, b: &str| {
                if html {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            if closing {
                if let Some(k) = stack.iter().rposition(|f| same(&f.name, &name)) {
                    if k > 0 {
                        // Elements left open inside it (HTML's `<p>`) end here, as text.
                        while stack.len() > k + 1 {
                            close(&mut tree, &mut stack, end, false);
                        }
                        let clean_end = ends_line(end);
                        close(&mut tree, &mut stack, end, clean_end);
                    }
                }
                pos = end;
            } else if self_closing || (html && VOID.iter().any(|v| v.eq_ignore_ascii_case(&name))) {
                leaf(&mut tree, &mut stack, lt, end, name, NodeKind::Element);
                pos = end;
            } else {
                let raw = html
                    && (name.eq_ignore_ascii_case("script") || name.eq_ignore_ascii_case("style"));
                stack.push(Frame {
                    start: line_of(lt),
                    clean: starts_line(lt),
                    name,
                    children: Vec::new(),
                });
                pos = end;
                // Script and style hold text, not tags.
                if raw {
                    let lower_close = format!("</{}", stack.last().map_or("", |f| f.name.as_str()));
                    let hay = &b[pos..];
                    let found = hay
                        .windows(lower_close.len())
                        .position(|w| w.eq_ignore_ascii_case(lower_close.as_bytes()));
                    pos = found.map_or(b.len(), |k| pos + k);
                }
            }
        }
    }
    // Elements never closed end with the file.
    while stack.len() > 1 {
        close(&mut tree, &mut stack, b.len(), true);
    }
    let top = stack.pop().map(|f| f.children).unwrap_or_default();
    tree.nodes[0].children = top;
    // Parents, now that every node exists.
    for id in 0..tree.nodes.len() {
        for k in 0..tree.nodes[id].children.len() {
            let child = tree.nodes[id].children[k];
            tree.nodes[child].parent = Some(id);
        }
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lines_of;

    fn shape(tree: &Tree, node: usize) -> String {
        let n = &tree.nodes[node];
        let kids: Vec<String> = n.children.iter().map(|&c| shape(tree, c)).collect();
        if kids.is_empty() {
            format!("{}@{}-{}", n.label, n.start, n.end)
        } else {
            format!("{}@{}-{}[{}]", n.label, n.start, n.end, kids.join(" "))
        }
    }

    #[test]
    fn yaml_by_indentation_with_lists_under_their_key() {
        let text = "name: ci\non:\n  push:\n    branches: [main]\njobs:\n  test:\n    steps:\n    - uses: a\n    - run: b\n      env:\n        X: 1\n\n  lint:\n    runs-on: x\n";
        let lines = lines_of(text);
        assert_eq!(Format::of(&lines), Format::Yaml);
        let tree = parse(&lines, Format::Yaml);
        assert_eq!(
            shape(&tree, 0),
            "@0-14[name@0-1 on@1-4[push@2-4[branches@3-4]] jobs@4-14[test@5-12[steps@6-12[-@7-8 -@8-12[env@9-12[X@10-12]]]] lint@12-14[runs-on@13-14]]]"
        );
    }

    #[test]
    fn yaml_documents() {
        let text = "---\nkind: A\n---\nkind: B\nspec:\n  x: 1\n";
        let lines = lines_of(text);
        let tree = parse(&lines, Format::Yaml);
        // Documents are named by their kind.
        assert_eq!(
            shape(&tree, 0),
            "@0-6[A@0-2[kind@1-2] B@2-6[kind@3-4 spec@4-6[x@5-6]]]"
        );
    }

    #[test]
    fn toml_sections_entries_and_arrays() {
        let text = "# generated\nversion = 3\n\n[[package]]\nname = \"a\"\ndependencies = [\n \"b\",\n]\n\n[target.'cfg(x = \"1\")'.dependencies]\nname = \"b\"\ndescription = \"\"\"\nx = [\n\"\"\"\n";
        let lines = lines_of(text);
        assert_eq!(Format::of(&lines), Format::Sections);
        let tree = parse(&lines, Format::Sections);
        assert_eq!(
            shape(&tree, 0),
            "@0-14[#@0-1 version@1-3 [[package]]@3-9[name@4-5 dependencies@5-9] [target.'cfg(x = \"1\")'.dependencies]@9-14[name@10-11 description@11-14]]"
        );
    }

    #[test]
    fn env_lines_are_entries() {
        let text = "HOME=/root\nPATH=/usr/bin:/bin\nBASH_FUNC_f%%=() {  echo\n}\nX=1\n";
        let lines = lines_of(text);
        assert_eq!(Format::of(&lines), Format::Sections);
        let tree = parse(&lines, Format::Sections);
        assert_eq!(tree.nodes[0].children.len(), 5);
    }

    #[test]
    fn xml_elements_on_lines_of_their_own() {
        let text = "<?xml version=\"1.0\"?>\n<!-- a\n comment -->\n<project>\n  <a>1</a><b>2</b>\n  <deps>\n    <dep>\n      <id>x</id>\n    </dep>\n    <dep id=\"y\"/>\n  </deps>\n</project>\n";
        let lines = lines_of(text);
        assert_eq!(Format::of(&lines), Format::Markup);
        let tree = parse(&lines, Format::Markup);
        assert_eq!(
            shape(&tree, 0),
            "@0-12[?@0-1 #@1-3 project@3-12[deps@5-11[dep@6-9[id@7-8] dep@9-10]]]"
        );
        assert_eq!(
            fields("    <dep id=\"y\"/>\n", Format::Markup),
            vec![("id", "y")]
        );
        assert_eq!(
            fields("      <id>x</id>\n", Format::Markup),
            vec![("id", "x")]
        );
    }

    #[test]
    fn html_tolerates_void_and_unclosed_elements() {
        let text = "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<script>if (a < b) {}</script>\n</head>\n<body>\n<p>one\n<p>two\n</body>\n</html>\n";
        let lines = lines_of(text);
        let tree = parse(&lines, Format::Markup);
        assert_eq!(
            shape(&tree, 0),
            "@0-11[!@0-1 html@1-11[head@2-6[meta@3-4 script@4-5] body@6-10]]"
        );
    }

    #[test]
    fn hostile_markup_does_not_hang() {
        let text = "<".repeat(10_000) + &"<a b=\"".repeat(1000) + "\n<![CDATA[\n<!--";
        let lines = lines_of(&text);
        let _ = parse(&lines, Format::Markup);
        let deep = "<a>\n".repeat(20_000);
        let tree = parse(&lines_of(&deep), Format::Markup);
        assert!(tree.nodes.len() > 1);
    }
}
