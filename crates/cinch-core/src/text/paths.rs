//! Lists of paths: `find`, `git ls-files`, `ls -R` (`dir:` headings with names under them)
//! and `tree` drawings.
//!
//! Every entry is placed in its directory and typed by its extension (`.so`, `.py`; a name
//! without one is its own type: `Makefile`, `core`). Over the budget, entries are ranked and
//! shown by rank until the output is full (see [`super::fit`]): the first line and `tree`'s
//! count; entries the query names (by name first, then everything under a directory it names);
//! entries that stand out (a core dump, a key or a certificate, an editor's or a patch's
//! leftover, a name with spaces or odd characters, a path far deeper than the rest, an
//! extension seen once or twice, the one file of its type in a directory of others, an error
//! from the tool); the top of the directory structure; the first entry of every type in every
//! directory; then the rest spread evenly. In `ls -R` and `tree` output an entry comes with the
//! heading or the drawn directories above it, so it reads in place.
//!
//! Kept lines stay byte for byte. Every directory with entries left out gets one note where
//! its first left-out entry was: `[… /usr/lib/x86_64-linux-gnu/: +812 more (.so 700, .a 40,
//! other 72)]`. When there are more directories than the budget has room for notes, the
//! smallest are counted in their parent's note (`(+14 subdirs)`). The whole original is
//! stored under one marker.

use super::fit::{self, Detail, Unit};
use super::lines::{error_re, prefix_within};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use crate::tokens::estimate;
use regex::{Regex, RegexSet};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::OnceLock;

/// Directories deeper than this are counted with their ancestor at this depth: a hostile
/// path of thousands of components must not cost quadratic memory.
const MAX_DIR_DEPTH: usize = 48;

/// Ranks, lower kept first.
const T_ANCHOR: u8 = 0;
const T_QUERY: u8 = 1;
const T_STANDOUT: u8 = 2;
const T_STRUCTURE: u8 = 3;
const T_FIRST: u8 = 4;
const T_FILL: u8 = 5;

/// How the listing is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// One path a line: `find`, `git ls-files`, `fd`.
    Flat,
    /// `ls -R`: a `dir:` heading, the names in it, a blank line.
    LsR,
    /// `tree`: names under a drawing of the hierarchy.
    Tree,
}

/// What a line of the listing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A path, or a name under a heading or in a drawing.
    Entry,
    /// `ls -R`'s `dir:` heading, or the root line of a tree.
    Heading,
    /// `tree`'s closing `N directories, M files`.
    Count,
    /// An empty line.
    Blank,
    /// Anything else: an error from the tool, a stray note.
    Other,
}

/// One line, parsed.
#[derive(Debug, Clone)]
struct Line<'a> {
    role: Role,
    /// The directory an entry is in, or the one a heading names.
    dir: u32,
    /// The entry's name (a symlink's target left out).
    name: &'a str,
    /// Components from the listing's top.
    depth: usize,
    /// The heading or drawn directory this line sits under (`ls -R`, `tree`).
    parent: Option<usize>,
    /// The entry is itself a directory.
    is_dir: bool,
}

/// Directories by id, each with its parent.
#[derive(Default)]
struct Dirs {
    names: Vec<String>,
    parent: Vec<Option<u32>>,
    depth: Vec<usize>,
    index: HashMap<String, u32>,
}

impl Dirs {
    /// The id of directory `path`, adding it and its missing ancestors.
    fn intern(&mut self, path: &str) -> u32 {
        if let Some(&id) = self.index.get(path) {
            return id;
        }
        let mut chain = vec![path];
        let mut top = None;
        let mut p = path;
        while let Some(q) = parent_path(p) {
            if let Some(&id) = self.index.get(q) {
                top = Some(id);
                break;
            }
            chain.push(q);
            p = q;
        }
        let mut parent = top;
        let mut id = 0;
        for q in chain.into_iter().rev() {
            id = self.names.len() as u32;
            let depth = parent.map_or(0, |p| self.depth[p as usize] + 1);
            self.names.push(q.to_string());
            self.parent.push(parent);
            self.depth.push(depth);
            self.index.insert(q.to_string(), id);
            parent = Some(id);
        }
        id
    }

    fn len(&self) -> usize {
        self.names.len()
    }
}

/// The directory above `p`: `a/b` → `a`, `/a` → `/`, `a` → `` (the listing's top).
fn parent_path(p: &str) -> Option<&str> {
    if p.is_empty() {
        return None;
    }
    match p.rfind('/') {
        Some(0) if p == "/" => Some(""),
        Some(0) => Some("/"),
        Some(i) => Some(&p[..i]),
        None => Some(""),
    }
}

/// `p` cut after its `MAX_DIR_DEPTH`th separator.
fn bounded(p: &str) -> &str {
    match p.match_indices('/').nth(MAX_DIR_DEPTH) {
        Some((i, _)) => &p[..i],
        None => p,
    }
}

/// `tree`'s drawing at the start of `line`: the depth of the name and where it starts.
fn tree_prefix(line: &str) -> Option<(usize, usize)> {
    const LEVEL: [&str; 5] = [
        "│\u{a0}\u{a0} ",
        "│   ",
        "    ",
        "|   ",
        "\u{a0}\u{a0}\u{a0} ",
    ];
    const BRANCH: [&str; 6] = ["├── ", "└── ", "|-- ", "`-- ", "├─ ", "└─ "];
    let mut depth = 0;
    let mut at = 0;
    loop {
        let rest = &line[at..];
        if let Some(b) = BRANCH.iter().find(|b| rest.starts_with(**b)) {
            return Some((depth + 1, at + b.len()));
        }
        match LEVEL.iter().find(|l| rest.starts_with(**l)) {
            Some(l) => {
                depth += 1;
                at += l.len();
            }
            None => return None,
        }
    }
}

fn count_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\d+ director(?:y|ies)(?:, \d+ files?)?$").expect("valid pattern")
    })
}

/// Which layout the listing has.
fn layout(lines: &[&str]) -> Layout {
    let sample: Vec<&str> = lines
        .iter()
        .map(|l| content(l))
        .filter(|l| !l.trim().is_empty())
        .take(400)
        .collect();
    let drawn = sample.iter().filter(|l| tree_prefix(l).is_some()).count();
    if drawn >= 2 && drawn * 3 >= sample.len() {
        return Layout::Tree;
    }
    let mut headings = 0;
    let mut after_blank = true;
    for l in lines.iter().take(4000).map(|l| content(l)) {
        if l.trim().is_empty() {
            after_blank = true;
            continue;
        }
        if after_blank && l.ends_with(':') && !l.contains(": ") {
            headings += 1;
        }
        after_blank = false;
    }
    let first_heading = sample.first().is_some_and(|l| l.ends_with(':'));
    if headings >= 2 || (headings == 1 && first_heading && sample.len() > 1) {
        Layout::LsR
    } else {
        Layout::Flat
    }
}

/// A line that is a message rather than a path: `find: '/x': Permission denied`.
fn is_message(line: &str) -> bool {
    line.contains(": ") && error_re().is_match(line)
}

/// Strips a symlink's `-> target` from a drawn or listed name.
fn without_target(name: &str) -> &str {
    name.split(" -> ").next().unwrap_or(name)
}

/// The listing, parsed.
struct Listing<'a> {
    layout: Layout,
    lines: Vec<Line<'a>>,
    dirs: Dirs,
}

fn parse<'a>(lines: &[&'a str]) -> Listing<'a> {
    let layout = layout(lines);
    let mut dirs = Dirs::default();
    dirs.intern("");
    let parsed = match layout {
        Layout::Flat => parse_flat(lines, &mut dirs),
        Layout::LsR => parse_ls_r(lines, &mut dirs),
        Layout::Tree => parse_tree(lines, &mut dirs),
    };
    Listing {
        layout,
        lines: parsed,
        dirs,
    }
}

fn blank(role: Role) -> Line<'static> {
    Line {
        role,
        dir: 0,
        name: "",
        depth: 0,
        parent: None,
        is_dir: false,
    }
}

fn parse_flat<'a>(lines: &[&'a str], dirs: &mut Dirs) -> Vec<Line<'a>> {
    let mut out = Vec::with_capacity(lines.len());
    let mut backslashed = String::new();
    for l in lines {
        let c = content(l);
        if c.trim().is_empty() {
            out.push(blank(Role::Blank));
            continue;
        }
        if is_message(c) {
            out.push(Line {
                name: c,
                ..blank(Role::Other)
            });
            continue;
        }
        let p = if c.len() > 1 {
            c.trim_end_matches('/')
        } else {
            c
        };
        let p = if p.is_empty() { c } else { p };
        // Windows paths: grouped by their backslashes as if they were slashes.
        let (dir_path, name): (&str, &str) = if !p.contains('/') && p.contains('\\') {
            let cut = p.rfind('\\').unwrap_or(0);
            backslashed.clear();
            backslashed.push_str(&p[..cut].replace('\\', "/"));
            (backslashed.as_str(), &p[(cut + 1).min(p.len())..])
        } else {
            match p.rfind('/') {
                Some(0) if p.len() > 1 => ("/", &p[1..]),
                Some(i) if i + 1 < p.len() => (&p[..i], &p[i + 1..]),
                _ => ("", p),
            }
        };
        let depth = p.matches(['/', '\\']).count();
        let dir = dirs.intern(bounded(dir_path));
        out.push(Line {
            role: Role::Entry,
            dir,
            name,
            depth,
            parent: None,
            is_dir: false,
        });
    }
    // A path that other paths sit under is a directory.
    for (i, l) in lines.iter().enumerate() {
        if out[i].role == Role::Entry {
            let c = content(l);
            let p = if c.len() > 1 {
                c.trim_end_matches('/')
            } else {
                c
            };
            out[i].is_dir = c.ends_with('/') || dirs.index.contains_key(p);
        }
    }
    out
}

fn parse_ls_r<'a>(lines: &[&'a str], dirs: &mut Dirs) -> Vec<Line<'a>> {
    let mut out = Vec::with_capacity(lines.len());
    let mut current: Option<(u32, usize, usize)> = None; // dir, heading line, depth
    let mut after_blank = true;
    let mut headings: HashSet<&str> = HashSet::new();
    for (i, l) in lines.iter().enumerate() {
        let c = content(l);
        if c.trim().is_empty() {
            out.push(blank(Role::Blank));
            after_blank = true;
            continue;
        }
        if after_blank && c.ends_with(':') && !c.contains(": ") {
            let path = &c[..c.len() - 1];
            let depth = path.matches('/').count();
            let dir = dirs.intern(bounded(path));
            headings.insert(path);
            current = Some((dir, i, depth));
            out.push(Line {
                role: Role::Heading,
                dir,
                name: path,
                depth,
                parent: None,
                is_dir: true,
            });
            after_blank = false;
            continue;
        }
        after_blank = false;
        match current {
            Some((dir, heading, depth)) if !is_message(c) && !c.starts_with("total ") => {
                out.push(Line {
                    role: Role::Entry,
                    dir,
                    name: without_target(c),
                    depth: depth + 1,
                    parent: Some(heading),
                    is_dir: false,
                });
            }
            _ => out.push(Line {
                name: c,
                ..blank(Role::Other)
            }),
        }
    }
    // An entry with a heading of its own is a directory.
    let mut path = String::new();
    for l in out.iter_mut().filter(|l| l.role == Role::Entry) {
        path.clear();
        path.push_str(&dirs.names[l.dir as usize]);
        path.push('/');
        path.push_str(l.name);
        l.is_dir = headings.contains(path.as_str());
    }
    out
}

fn parse_tree<'a>(lines: &[&'a str], dirs: &mut Dirs) -> Vec<Line<'a>> {
    let mut out: Vec<Line<'a>> = Vec::with_capacity(lines.len());
    // Per level: the directory and the line that drew it.
    let mut stack: Vec<(u32, usize)> = Vec::new();
    let mut last_entry: Option<usize> = None;
    let mut path = String::new();
    for (i, l) in lines.iter().enumerate() {
        let c = content(l);
        if c.trim().is_empty() {
            out.push(blank(Role::Blank));
            continue;
        }
        let Some((depth, at)) = tree_prefix(c) else {
            if count_re().is_match(c.trim()) {
                out.push(blank(Role::Count));
            } else if stack.is_empty()
                || out
                    .iter()
                    .rev()
                    .find(|l| l.role != Role::Blank)
                    .is_some_and(|l| l.role == Role::Count)
            {
                // The root of a (next) drawing.
                let dir = dirs.intern(bounded(c.trim_end_matches('/')));
                stack.clear();
                stack.push((dir, i));
                last_entry = None;
                out.push(Line {
                    role: Role::Heading,
                    dir,
                    name: c,
                    depth: 0,
                    parent: None,
                    is_dir: true,
                });
            } else {
                out.push(Line {
                    name: c,
                    ..blank(Role::Other)
                });
            }
            continue;
        };
        if stack.is_empty() {
            stack.push((0, i));
        }
        // The entry drawn just above, one level up, is a directory: this one is in it.
        if let Some(prev) = last_entry {
            if depth == out[prev].depth + 1
                && depth == stack.len() + 1
                && stack.len() < MAX_DIR_DEPTH
            {
                let (parent_dir, _) = stack[stack.len() - 1];
                path.clear();
                path.push_str(&dirs.names[parent_dir as usize]);
                path.push('/');
                path.push_str(out[prev].name);
                let dir = dirs.intern(&path);
                stack.push((dir, prev));
                out[prev].is_dir = true;
            }
        }
        stack.truncate(depth.clamp(1, stack.len().max(1)));
        let (dir, parent) = stack[stack.len() - 1];
        let name = without_target(&c[at..]);
        out.push(Line {
            role: Role::Entry,
            dir,
            name,
            depth,
            parent: Some(parent),
            is_dir: false,
        });
        last_entry = Some(i);
    }
    out
}

/// The type of a name: its extension (`libc.so.6` → `.so`), or when it has none the name
/// with digits masked (`core.4117` → `core.#`, `3.9.16` → `#.#.#`, `Makefile`), cut after a
/// dash or underscore (`git-add` → `git-*`).
fn type_of(name: &str) -> String {
    let bare = name.trim_start_matches('.');
    let mut parts: Vec<&str> = bare.split('.').collect();
    while parts.len() > 1
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        parts.pop();
    }
    if parts.len() >= 2 {
        let ext = parts[parts.len() - 1];
        let plain = ext.len() <= 12
            && ext.starts_with(|c: char| c.is_ascii_alphabetic())
            && ext
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'+');
        if plain {
            return format!(".{ext}");
        }
    }
    let mut masked = String::new();
    let mut digits = false;
    for c in name.chars().take(40) {
        if c.is_ascii_digit() {
            if !digits {
                masked.push('#');
            }
            digits = true;
        } else {
            digits = false;
            masked.push(c);
        }
    }
    // A family of commands: `git-add`, `git-commit` → `git-*`.
    match masked
        .char_indices()
        .find(|&(k, c)| k >= 2 && (c == '-' || c == '_'))
    {
        Some((k, c)) => format!("{}{c}*", &masked[..k]),
        None => masked,
    }
}

/// Why an entry stands out, most important first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Standout {
    /// A message from the tool (`Permission denied`).
    Message = 0,
    /// A core dump or a crash file.
    Dump = 1,
    /// A private key, a certificate, credentials.
    Secret = 2,
    /// A leftover: a patch's `.orig`/`.rej`, an editor's swap or backup file.
    Leftover = 3,
    /// Spaces, quotes, control or non-ASCII characters in the name.
    OddName = 4,
    /// Far deeper (or longer) than the rest.
    Deep = 5,
    /// An extension seen once or twice in the whole listing.
    RareType = 6,
    /// The one entry of its type in a directory of another type.
    RareInDir = 7,
}

fn names_set() -> &'static RegexSet {
    static SET: OnceLock<RegexSet> = OnceLock::new();
    SET.get_or_init(|| {
        RegexSet::new([
            r"(?i)^(?:core|core\.\d+|vgcore\.\d+|.+\.core|hs_err_pid\d+\.log|java_pid\d+\.hprof|.+\.dmp|minidump.*\.dmp)$",
            r"(?i)^(?:id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|.+\.(?:pem|key|p12|pfx|jks|keystore|kdbx|ppk|gpg|asc|crt|der)|\.env(?:\..+)?|\.(?:netrc|pgpass|htpasswd|git-credentials)|credentials(?:\.json)?|secrets?\.(?:ya?ml|json|toml|env))$",
            r"(?i)^(?:.+\.(?:orig|rej|swp|swo|swn|bak|backup|old|tmp|temp|sav|save)|.+~|#.+#|\.#.+|.+\.orig\.[a-z]+)$",
        ])
        .expect("valid patterns")
    })
}

/// A name a shell would need quoting for, or that is not plain ASCII.
fn odd_name(name: &str) -> bool {
    name.chars()
        .any(|c| !(c.is_ascii_alphanumeric() || "._+-@=,~#%:[]()".contains(c)))
}

/// Ranks every line (see the module docs): the units, with the headings and drawn
/// directories above each entry as units of the same rank.
fn rank(listing: &Listing, lines: &[&str], ctx: &Context) -> Vec<Unit> {
    let parsed = &listing.lines;
    let n = parsed.len();
    let mut tier: Vec<Option<(u8, u64)>> = vec![None; n];
    let mut set = |i: usize, t: u8, o: u64| {
        if tier[i].is_none_or(|(t0, o0)| (t, o) < (t0, o0)) {
            tier[i] = Some((t, o));
        }
    };

    // Anchors: the first line, and tree's count.
    if let Some(first) = parsed.iter().position(|l| l.role != Role::Blank) {
        set(first, T_ANCHOR, 0);
    }
    for (i, l) in parsed.iter().enumerate() {
        if l.role == Role::Count {
            set(i, T_ANCHOR, 1 + i as u64);
        }
    }

    for (i, o) in query_hits(listing, lines, ctx) {
        set(i, T_QUERY, o);
    }

    let standouts = standouts(listing);
    for (i, s) in standouts.iter().enumerate() {
        if let Some(s) = s {
            set(i, T_STANDOUT, ((*s as u64) << 40) | i as u64);
        }
    }

    // The top of the structure: directories near the top (headings come with what is
    // shown under them).
    let top = parsed
        .iter()
        .filter(|l| l.role == Role::Entry)
        .map(|l| l.depth)
        .min()
        .unwrap_or(0);
    for (i, l) in parsed.iter().enumerate() {
        let structural = l.role == Role::Entry && l.is_dir && l.depth <= top + 1;
        if structural {
            set(i, T_STRUCTURE, ((l.depth as u64) << 40) | i as u64);
        }
    }

    // The first entry of every type in every directory.
    let mut seen: HashSet<(u32, String)> = HashSet::new();
    let mut firsts = Vec::new();
    for (i, l) in parsed.iter().enumerate() {
        if l.role == Role::Entry {
            let ty = if l.is_dir {
                "/".to_string()
            } else {
                type_of(l.name)
            };
            if seen.insert((l.dir, ty)) {
                firsts.push(i);
            }
        }
    }
    for (k, &i) in firsts.iter().enumerate() {
        set(i, T_FIRST, fit::spread(k, firsts.len()));
    }

    // An `ls -R` heading comes with the blank line that sets it apart.
    let unit = |i: usize, t: u8, o: u64| {
        let blank_before = listing.layout == Layout::LsR
            && parsed[i].role == Role::Heading
            && i > 0
            && parsed[i - 1].role == Role::Blank;
        Unit {
            start: if blank_before { i - 1 } else { i },
            end: i + 1,
            tier: t,
            order: o,
        }
    };
    let mut units = Vec::with_capacity(n + n / 8);
    // The heading or drawn directories above an entry come with it, as early as the
    // earliest entry under them at that rank.
    let mut context: BTreeMap<(u8, usize), u64> = BTreeMap::new();
    for (i, t) in tier.iter().enumerate() {
        if parsed[i].role == Role::Blank {
            continue;
        }
        let (t, o) = t.unwrap_or((T_FILL, fit::spread(i, n)));
        units.push(unit(i, t, o));
        let mut up = parsed[i].parent;
        while let Some(p) = up {
            let first = context.entry((t, p)).or_insert(u64::MAX);
            // Above a directory already as early, so is everything higher up.
            if *first <= o {
                break;
            }
            *first = o;
            up = parsed[p].parent;
        }
    }
    units.extend(context.into_iter().map(|((t, p), o)| unit(p, t, o)));
    units
}

/// Lines the query names, with their order: exact terms first, then entries by the
/// relevance of their directory and name together.
fn query_hits(listing: &Listing, lines: &[&str], ctx: &Context) -> Vec<(usize, u64)> {
    let q = ctx.query;
    if q.exact.is_empty() && q.words.is_empty() {
        return Vec::new();
    }
    let parsed = &listing.lines;
    let mut hits = Vec::new();
    let mut full = String::new();
    let path_of = |i: usize, full: &mut String| {
        full.clear();
        let l = &parsed[i];
        match (listing.layout, l.role) {
            (Layout::Flat, _) | (_, Role::Other) | (_, Role::Heading) => {
                full.push_str(content(lines[i]))
            }
            _ => {
                full.push_str(&listing.dirs.names[l.dir as usize]);
                full.push('/');
                full.push_str(l.name);
            }
        }
    };
    if !q.exact.is_empty() {
        for (i, l) in parsed.iter().enumerate() {
            if l.role == Role::Blank {
                continue;
            }
            path_of(i, &mut full);
            if q.exact.iter().any(|t| contains_exact(&full, t)) {
                hits.push((i, i as u64));
            }
        }
    }
    if !q.words.is_empty() {
        // An entry is its directory and its name: a query naming a directory finds what is
        // in it, and one naming both finds that first.
        let dirs = &listing.dirs;
        let texts: Vec<Vec<&str>> = parsed
            .iter()
            .enumerate()
            .map(|(i, l)| match l.role {
                Role::Entry => vec![dirs.names[l.dir as usize].as_str(), l.name],
                Role::Heading | Role::Other => vec![content(lines[i])],
                _ => Vec::new(),
            })
            .collect();
        let scores = bm25(&texts, &q.words);
        let mut named: Vec<usize> = (0..parsed.len()).filter(|&i| scores[i] > 0.0).collect();
        named.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        for (r, &i) in named.iter().enumerate() {
            hits.push((i, (1 << 40) + r as u64));
        }
    }
    hits
}

/// Why each line stands out, if it does. A kind of oddity shared by many entries is not odd
/// (a directory of certificates), except core dumps and messages, which always are.
fn standouts(listing: &Listing) -> Vec<Option<Standout>> {
    let parsed = &listing.lines;
    let n = parsed.len();
    let entries = parsed.iter().filter(|l| l.role == Role::Entry).count();
    let mut out: Vec<Option<Standout>> = vec![None; n];
    let types: Vec<Option<String>> = parsed
        .iter()
        .map(|l| (l.role == Role::Entry && !l.is_dir).then(|| type_of(l.name)))
        .collect();
    let mut type_count: HashMap<&str, usize> = HashMap::new();
    for t in types.iter().flatten() {
        *type_count.entry(t.as_str()).or_default() += 1;
    }
    let common = |count: usize| count > (entries / 20).max(4);

    let mut depths: Vec<usize> = parsed
        .iter()
        .filter(|l| l.role == Role::Entry)
        .map(|l| l.depth)
        .collect();
    depths.sort_unstable();
    let median = depths.get(depths.len() / 2).copied().unwrap_or(0);

    // Per directory: entries by type.
    let mut in_dir: HashMap<(u32, &str), usize> = HashMap::new();
    let mut dir_size: HashMap<u32, usize> = HashMap::new();
    for (i, l) in parsed.iter().enumerate() {
        if let Some(t) = &types[i] {
            *in_dir.entry((l.dir, t.as_str())).or_default() += 1;
            *dir_size.entry(l.dir).or_default() += 1;
        }
    }
    let mut dir_top: HashMap<u32, usize> = HashMap::new();
    for ((d, _), c) in &in_dir {
        let top = dir_top.entry(*d).or_default();
        *top = (*top).max(*c);
    }

    let set = names_set();
    for (i, l) in parsed.iter().enumerate() {
        out[i] = match l.role {
            Role::Other if error_re().is_match(l.name) => Some(Standout::Message),
            Role::Entry => {
                let matched = set.matches(l.name);
                let ty = types[i].as_deref();
                if matched.matched(0) && !l.is_dir {
                    Some(Standout::Dump)
                } else if matched.matched(1) && !l.is_dir {
                    Some(Standout::Secret)
                } else if matched.matched(2) {
                    Some(Standout::Leftover)
                } else if odd_name(l.name) {
                    Some(Standout::OddName)
                } else if l.depth >= median + 5 || l.name.len() > 200 {
                    Some(Standout::Deep)
                } else if let Some(t) = ty {
                    let in_this = in_dir[&(l.dir, t)];
                    let size = dir_size[&l.dir];
                    // A rare extension stands out among files of a common one, not in a
                    // directory of dotted names (`jdk.jcmd`, `java.base`) that all differ.
                    let usual_dir = size < 8 || dir_top[&l.dir] * 2 >= size;
                    if t.starts_with('.')
                        && !l.is_dir
                        && usual_dir
                        && type_count[t] <= 2
                        && entries >= 30
                    {
                        Some(Standout::RareType)
                    } else if size >= 8 && in_this == 1 && dir_top[&l.dir] * 4 >= size * 3 {
                        Some(Standout::RareInDir)
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
    }
    // A kind of oddity many entries share is how this listing is.
    let mut per: HashMap<Standout, usize> = HashMap::new();
    for s in out.iter().flatten() {
        *per.entry(*s).or_default() += 1;
    }
    for s in out.iter_mut() {
        if let Some(k) = *s {
            if k >= Standout::Secret && common(per[&k]) {
                *s = None;
            }
        }
    }
    out
}

/// Which note each directory's left-out entries go into: its own, or (when there are more
/// directories than notes fit) an ancestor's that counts it among its subdirectories.
struct Groups {
    /// Directory → group.
    of_dir: Vec<u32>,
    /// Per group: the directory it is named after, and how many subdirectories it counts.
    heads: Vec<(u32, usize)>,
}

/// Groups the directories into at most `max` notes, folding the smallest into their parents
/// first (deepest first among equals).
fn group(dirs: &Dirs, entries_in: &[usize], max: usize) -> Groups {
    let d = dirs.len();
    let mut count: Vec<usize> = entries_in.to_vec();
    let mut alive: Vec<bool> = count.iter().map(|&c| c > 0).collect();
    let mut into: Vec<Option<u32>> = vec![None; d];
    let mut subdirs = vec![0usize; d];
    let mut live = alive.iter().filter(|a| **a).count();
    let mut heap: BinaryHeap<Reverse<(usize, Reverse<usize>, u32)>> = (0..d)
        .filter(|&i| alive[i])
        .map(|i| Reverse((count[i], Reverse(dirs.depth[i]), i as u32)))
        .collect();
    while live > max.max(1) {
        let Some(Reverse((c, _, id))) = heap.pop() else {
            break;
        };
        let i = id as usize;
        if !alive[i] || count[i] != c {
            continue;
        }
        let Some(mut p) = dirs.parent[i].map(|p| p as usize) else {
            continue;
        };
        // Into the directory its parent was itself folded into, if it was.
        while let Some(q) = into[p] {
            p = q as usize;
        }
        alive[i] = false;
        into[i] = Some(p as u32);
        count[p] += count[i];
        subdirs[p] += subdirs[i] + 1;
        if alive[p] {
            live -= 1;
        } else {
            alive[p] = true;
        }
        heap.push(Reverse((count[p], Reverse(dirs.depth[p]), p as u32)));
    }
    // Every directory's group: the live directory it was folded into.
    let mut of_dir = vec![u32::MAX; d];
    let mut heads = Vec::new();
    let mut head_group: HashMap<u32, u32> = HashMap::new();
    for (i, slot) in of_dir.iter_mut().enumerate() {
        let mut j = i;
        let mut hops = 0;
        while let Some(p) = into[j] {
            j = p as usize;
            hops += 1;
            if hops > d {
                break;
            }
        }
        let g = *head_group.entry(j as u32).or_insert_with(|| {
            heads.push((j as u32, subdirs[j]));
            (heads.len() - 1) as u32
        });
        *slot = g;
    }
    Groups { of_dir, heads }
}

/// Everything rendering needs.
struct View<'a> {
    lines: &'a [&'a str],
    listing: &'a Listing<'a>,
    groups: Groups,
    /// Per line: its type's id (entries only).
    type_id: Vec<u32>,
    type_names: Vec<String>,
    /// Lines shown cut: how many bytes are shown.
    cut: HashMap<usize, usize>,
}

impl View<'_> {
    fn group_of(&self, i: usize) -> Option<u32> {
        let l = &self.listing.lines[i];
        (l.role == Role::Entry).then(|| self.groups.of_dir[l.dir as usize])
    }

    fn label(&self, g: u32) -> String {
        let (dir, subdirs) = self.groups.heads[g as usize];
        let name = &self.listing.dirs.names[dir as usize];
        let mut s = if name.is_empty() {
            "./".to_string()
        } else if name.ends_with('/') {
            name.clone()
        } else {
            format!("{name}/")
        };
        match subdirs {
            0 => {}
            1 => s.push_str(" (+1 subdir)"),
            k => s.push_str(&format!(" (+{k} subdirs)")),
        }
        s
    }

    /// The lines shown: those kept, and the headings and drawn directories above them (an
    /// entry of `ls -R` or `tree` cannot be read without them), an `ls -R` heading with the
    /// blank line before it.
    fn shown(&self, keep: &[bool]) -> Vec<bool> {
        let parsed = &self.listing.lines;
        let mut shown = keep.to_vec();
        if self.listing.layout == Layout::Flat {
            return shown;
        }
        // Parents come before their entries: one pass from the end carries the marks up.
        for i in (0..shown.len()).rev() {
            if shown[i] {
                if let Some(p) = parsed[i].parent {
                    shown[p] = true;
                }
                if parsed[i].role == Role::Heading && i > 0 && parsed[i - 1].role == Role::Blank {
                    shown[i - 1] = true;
                }
            }
        }
        shown
    }

    fn render(&self, keep: &[bool], detail: Detail, key: &Key) -> String {
        let keep = &self.shown(keep);
        let groups = self.groups.heads.len();
        let mut out = String::new();
        // Per group: kept, and left out by type.
        let mut kept = vec![0usize; groups];
        let mut dropped: Vec<BTreeMap<u32, usize>> = vec![BTreeMap::new(); groups];
        let mut other_dropped = 0usize;
        for (i, &k) in keep.iter().enumerate() {
            match self.group_of(i) {
                Some(g) if k => kept[g as usize] += 1,
                Some(g) => *dropped[g as usize].entry(self.type_id[i]).or_default() += 1,
                None if !k && self.listing.lines[i].role == Role::Other => other_dropped += 1,
                None => {}
            }
        }
        let mut noted = vec![false; groups];
        let mut other_noted = false;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                match self.cut.get(&i) {
                    Some(&shown) => {
                        out.push_str(&content(self.lines[i])[..shown]);
                        out.push_str(&format!(
                            " …[{} more bytes of this line cut]\n",
                            content(self.lines[i]).len() - shown
                        ));
                    }
                    None => {
                        out.push_str(self.lines[i]);
                        if !self.lines[i].ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                continue;
            }
            if detail == Detail::Terse {
                continue;
            }
            match self.group_of(i) {
                Some(g) if !noted[g as usize] => {
                    noted[g as usize] = true;
                    out.push_str(&self.note(g, kept[g as usize], &dropped[g as usize]));
                }
                None if self.listing.lines[i].role == Role::Other && !other_noted => {
                    other_noted = true;
                    out.push_str(&format!("[… {other_dropped} other lines]\n"));
                }
                _ => {}
            }
        }
        out.push_str(&marker(key, &self.summary(keep)));
        out.push('\n');
        out
    }

    /// `[… dir/: +812 more (.so 700, .a 40, other 72)]`.
    fn note(&self, g: u32, kept: usize, dropped: &BTreeMap<u32, usize>) -> String {
        let total: usize = dropped.values().sum();
        let count = if kept > 0 {
            format!("+{total} more")
        } else if total == 1 {
            "1 entry".to_string()
        } else {
            format!("{total} entries")
        };
        format!(
            "[… {}: {count} ({})]\n",
            self.label(g),
            self.types(dropped, 3)
        )
    }

    /// The `n` largest types and the rest as `other`.
    fn types(&self, counts: &BTreeMap<u32, usize>, n: usize) -> String {
        let mut by: Vec<(u32, usize)> = counts.iter().map(|(t, c)| (*t, *c)).collect();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut parts: Vec<String> = by
            .iter()
            .take(n)
            .filter(|(_, c)| *c > 1 || by.len() <= n)
            .map(|(t, c)| format!("{} {c}", self.type_names[*t as usize]))
            .collect();
        let shown: usize = by
            .iter()
            .take(n)
            .filter(|(_, c)| *c > 1 || by.len() <= n)
            .map(|(_, c)| c)
            .sum();
        let rest: usize = by.iter().map(|(_, c)| c).sum::<usize>() - shown;
        if rest > 0 {
            parts.push(format!("other {rest}"));
        }
        parts.join(", ")
    }

    fn summary(&self, keep: &[bool]) -> String {
        let mut entries = 0usize;
        let mut by_type: BTreeMap<u32, usize> = BTreeMap::new();
        let mut dirs: HashSet<u32> = HashSet::new();
        for (i, l) in self.listing.lines.iter().enumerate() {
            if l.role != Role::Entry {
                continue;
            }
            entries += 1;
            if !keep[i] {
                *by_type.entry(self.type_id[i]).or_default() += 1;
                dirs.insert(l.dir);
            }
        }
        let dropped: usize = by_type.values().sum();
        format!(
            "{dropped} of {entries} paths omitted in {} directories ({}); retrieve with a query for the paths you need",
            dirs.len(),
            self.types(&by_type, 4)
        )
    }
}

/// Compresses a list of paths (see the module docs).
pub fn compress_paths(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let listing = parse(&lines);

    // Types, by id.
    let mut type_index: HashMap<String, u32> = HashMap::new();
    let mut type_names: Vec<String> = Vec::new();
    let type_id: Vec<u32> = listing
        .lines
        .iter()
        .map(|l| {
            if l.role != Role::Entry {
                return u32::MAX;
            }
            let t = if l.is_dir {
                "dirs".to_string()
            } else {
                type_of(l.name)
            };
            let next = type_names.len() as u32;
            *type_index.entry(t.clone()).or_insert_with(|| {
                type_names.push(t);
                next
            })
        })
        .collect();

    // Lines too long to show whole are shown cut.
    let cap = (ctx.budget / 4).max(16);
    let mut cut: HashMap<usize, usize> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if estimate(l) > cap {
            cut.insert(i, prefix_within(l, cap, ctx));
        }
    }

    let units = rank(&listing, &lines, ctx);

    let mut entries_in = vec![0usize; listing.dirs.len()];
    for l in listing.lines.iter().filter(|l| l.role == Role::Entry) {
        entries_in[l.dir as usize] += 1;
    }
    let mut view = View {
        lines: &lines,
        listing: &listing,
        groups: group(&listing.dirs, &entries_in, usize::MAX),
        type_id,
        type_names,
        cut,
    };
    // As many notes as take up to a third of the budget with nothing shown.
    let none = vec![false; n];
    let placeholder = Key::of(b"cinch paths placeholder");
    for max in [usize::MAX, 256, 96, 48, 24, 12, 6, 3, 1] {
        view.groups = group(&listing.dirs, &entries_in, max);
        let tokens = ctx
            .counter
            .count(&view.render(&none, Detail::Full, &placeholder));
        if tokens * 3 <= ctx.budget {
            break;
        }
    }

    let base_cost = fit::line_cost(&lines);
    let cost = |i: usize| match view.cut.get(&i) {
        Some(&shown) => estimate(&content(lines[i])[..shown]) + 8,
        None => base_cost(i),
    };
    let mut render = |keep: &[bool], detail: Detail, key: &Key| view.render(keep, detail, key);
    let plan = fit::Plan {
        kind: "paths",
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let stored =
        plan.store_and_render(fitted, &|i| !view.cut.contains_key(&i), ctx, &mut render)?;
    let entries = listing
        .lines
        .iter()
        .filter(|l| l.role == Role::Entry)
        .count();
    let mut dropped = BTreeMap::new();
    dropped.insert("lines".to_string(), n - stored.kept);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "paths",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: listing.dirs.len().min(entries),
            dropped,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::entry;
    use crate::context::with_context;
    use crate::Store;

    #[test]
    fn layouts_and_directories() {
        let text = "/usr/lib\n/usr/lib/a.so.1\n/usr/lib/x\n/usr/lib/x/b.py\n";
        let lines = lines_of(text);
        let find = parse(&lines);
        assert_eq!(find.layout, Layout::Flat);
        let names: Vec<&str> = find
            .lines
            .iter()
            .map(|l| find.dirs.names[l.dir as usize].as_str())
            .collect();
        assert_eq!(names, ["/usr", "/usr/lib", "/usr/lib", "/usr/lib/x"]);
        assert!(find.lines[0].is_dir && find.lines[2].is_dir && !find.lines[1].is_dir);

        let lines = lines_of(".:\na\nsub\n\n./sub:\nb.rs\n");
        let ls = parse(&lines);
        assert_eq!(ls.layout, Layout::LsR);
        assert_eq!(ls.lines[5].parent, Some(4));
        assert!(ls.lines[2].is_dir, "sub has a heading of its own");

        let lines =
            lines_of(".\n├── a\n│\u{a0}\u{a0} └── b.rs\n└── c -> a\n\n1 directory, 2 files\n");
        let tree = parse(&lines);
        assert_eq!(tree.layout, Layout::Tree);
        assert_eq!(tree.dirs.names[tree.lines[2].dir as usize], "./a");
        assert_eq!(tree.lines[2].parent, Some(1));
        assert_eq!(
            tree.lines[3].name, "c",
            "a symlink's target is not its name"
        );
        assert_eq!(tree.lines[5].role, Role::Count);
    }

    #[test]
    fn types() {
        assert_eq!(type_of("libssl.so.3"), ".so");
        assert_eq!(type_of("libabsl.so.20220623.0.0"), ".so");
        assert_eq!(type_of("core.4117"), "core.#");
        assert_eq!(type_of("3.9.16"), "#.#.#");
        assert_eq!(type_of("git-commit"), "git-*");
        assert_eq!(type_of(".bashrc"), ".bashrc");
        assert_eq!(type_of(".eslintrc.json"), ".json");
    }

    #[test]
    fn what_stands_out() {
        let mut text: String = (0..200)
            .map(|i| format!("/usr/lib/x86_64-linux-gnu/libfoo{i}.so.{}\n", i % 5))
            .collect();
        for odd in [
            "core.4117",
            "id_rsa",
            "libbar.so.orig",
            "my lib.so",
            "notes.txt",
        ] {
            text.push_str(&format!("/usr/lib/x86_64-linux-gnu/{odd}\n"));
        }
        let lines = lines_of(&text);
        let l = parse(&lines);
        let s = standouts(&l);
        let at = |name: &str| s[l.lines.iter().position(|x| x.name == name).unwrap()];
        assert_eq!(at("core.4117"), Some(Standout::Dump));
        assert_eq!(at("id_rsa"), Some(Standout::Secret));
        assert_eq!(at("libbar.so.orig"), Some(Standout::Leftover));
        assert_eq!(at("my lib.so"), Some(Standout::OddName));
        assert_eq!(at("notes.txt"), Some(Standout::RareType));
        assert_eq!(at("libfoo7.so.2"), None);
    }

    #[test]
    fn many_directories_fold_into_their_parents_notes() {
        let text: String = (0..400)
            .map(|i| format!("./pkg/m{}/f{i}.py\n", i % 80))
            .collect();
        let (out, store) = with_context(&text, "", 200, |ctx| {
            let out = compress_paths(&text, ctx).unwrap();
            assert!(ctx.counter.count(&out.output) <= 200);
            out
        });
        assert!(out.output.contains("subdirs)"), "{}", out.output);
        let e = store.get("t", &out.ccr_keys[0]).unwrap();
        assert_eq!(entry::decode(&e).unwrap().original, text.as_bytes());
    }

    #[test]
    fn hostile_listings() {
        let deep = "/a".repeat(20_000) + "\n";
        let drawn = "│   ".repeat(5000) + "├── x\n";
        let many: String = (0..3000).map(|i| format!("{i}\n")).collect();
        for text in [
            deep,
            drawn.repeat(3),
            many,
            "\n\n\n".to_string(),
            "/".repeat(100) + "\n",
        ] {
            let _ = with_context(&text, "x 42", 200, |ctx| {
                if let Ok(out) = compress_paths(&text, ctx) {
                    assert!(ctx.counter.count(&out.output) <= 200);
                }
            });
        }
    }
}
