//! Configuration and data files: YAML (CI workflows, Kubernetes manifests, compose files,
//! lockfiles), TOML (`Cargo.toml`, `Cargo.lock`, `pyproject.toml`, `poetry.lock`), INI and
//! `KEY=value` files (`.env`, `env`, `sysctl -a`), XML (`pom.xml`, project files, data with
//! repeated records) and HTML.
//!
//! The file is read as a tree of line ranges ([`tree`]) and cut into records at its natural
//! level: a node is split into its children while it is too large for a share of the budget,
//! so a `Cargo.lock` is its `[[package]]` blocks, a workflow its jobs' keys and steps, an XML
//! file the elements at the depth where they repeat. Records of the same shape (the same place
//! in the tree, the same keys) form a group. Over the budget, records are ranked and shown
//! whole by rank until the output is full (see [`super::fit`]): the top of the file and its
//! top-level keys and headers; records the query names (by their name or key first, then by
//! relevance); records that stand out (an error word in a value, a value unlike the same key's
//! in the records like it, a shape seen once among many); the first record of every group;
//! then the rest spread evenly. A record too large for a share of the budget is shown by its
//! head. A kept record comes with the headers of the blocks around it, so it reads in place.
//!
//! Kept lines stay byte for byte; every run of left-out lines says what it held
//! (`[… 35 [[package]] (name, version, source, checksum, dependencies) …]`), and the whole
//! original is stored under one marker.

mod tree;

use super::fit::{self, Detail, Unit};
use super::lines::{error_re, prefix_within, shape};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact, words};
use crate::tokens::estimate;
use std::cmp::Reverse;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use tree::{fields, Format, NodeKind, Tree};

/// Ranks, lower kept first.
const T_ANCHOR: u8 = 0;
const T_QUERY: u8 = 1;
const T_STANDOUT: u8 = 2;
const T_FIRST: u8 = 3;
const T_HEADERS: u8 = 4;
const T_FILL: u8 = 5;
const T_REST: u8 = 6;

/// Blocks nested deeper than this are records, however large.
const MAX_LEVEL: usize = 8;

/// Keys whose value names a record.
const IDENTITY: [&str; 16] = [
    "name",
    "names",
    "id",
    "key",
    "artifactid",
    "title",
    "package",
    "include",
    "update",
    "kind",
    "uses",
    "image",
    "service",
    "host",
    "code",
    "version",
];

/// The shape of a value: hex runs and digits masked (`"0.10.75"` → `"#.#.#"`).
fn value_shape(v: &str) -> String {
    let mut out = String::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() && out.len() < 48 {
        let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex >= 8 && b[i..i + hex].iter().any(|c| c.is_ascii_digit()) {
            out.push('H');
            i += hex;
        } else if b[i].is_ascii_digit() {
            out.push('#');
            i += b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        } else {
            let ch = v[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

fn hash_of(parts: &[&str], seed: u64) -> u64 {
    let mut h = DefaultHasher::new();
    seed.hash(&mut h);
    parts.hash(&mut h);
    h.finish()
}

/// Records of the same place in the tree and the same keys.
struct Group {
    count: usize,
    /// How notes name a member: `[[package]]`, `steps item`, `<dependency>`.
    name: String,
    /// The keys of its first member, as notes list them.
    keys: Vec<String>,
    comment: bool,
}

/// Lines `start..end`.
type Span = (usize, usize);

/// The tree cut into records.
struct Layout {
    /// Records, in file order: a node each.
    records: Vec<usize>,
    /// Per record: its group, its family (same place in the tree, any keys), and where its
    /// head ends when only its head can be shown.
    group: Vec<usize>,
    family: Vec<usize>,
    head_end: Vec<usize>,
    /// Per line: the record it belongs to.
    record_of: Vec<Option<usize>>,
    /// Per split node: its header lines before the first child, and its closing lines.
    heads: BTreeMap<usize, (Span, Span)>,
    /// Per split node: how many split nodes are above it.
    level: HashMap<usize, usize>,
    /// Per record: the split nodes around it, innermost first.
    around: Vec<Vec<usize>>,
    /// Per node: its label is a name (a package's key), not a type (`[[package]]`).
    named: Vec<bool>,
    groups: Vec<Group>,
    families: usize,
}

/// The start of a name up to its first separator, as a pattern: `net.ipv4.ip_forward` →
/// `net.*`, `PIP_CERT` → `PIP_*`; none for a name without one.
fn name_prefix(label: &str) -> Option<String> {
    let (at, sep) = label
        .char_indices()
        .find(|&(k, c)| k >= 2 && matches!(c, '.' | '_' | '-' | '/' | ':'))?;
    Some(format!("{}{sep}*", &label[..at]))
}

/// Decides for the children of `members` (nodes in the same place) whether their labels
/// name them. In a family of several nodes, a label is a name when the family's children
/// have many different labels and few members have this one (package names under each
/// `dependencies:`), a type otherwise (`name`, `version`). A single node's children are named
/// when their labels differ and they are values or blocks with keys in common (variables,
/// jobs, packages), not when they are the unrelated sections of one file.
fn decide_names(tree: &Tree, members: &[usize], named: &mut [bool]) {
    let nodes = &tree.nodes;
    let typed = |c: usize| {
        matches!(
            nodes[c].kind,
            NodeKind::Item | NodeKind::Comment | NodeKind::Prolog
        ) || nodes[c].label.is_empty()
    };
    let labels_of = |m: usize| -> HashSet<&str> {
        nodes[m]
            .children
            .iter()
            .filter(|&&c| !typed(c))
            .map(|&c| nodes[c].label.as_str())
            .collect()
    };
    if members.len() >= 2 {
        let mut having: HashMap<&str, usize> = HashMap::new();
        let mut total = 0usize;
        for &m in members {
            let labels = labels_of(m);
            total += labels.len();
            for l in labels {
                *having.entry(l).or_default() += 1;
            }
        }
        let average = total.div_ceil(members.len()).max(1);
        if having.len() < 12 || having.len() <= 4 * average {
            return;
        }
        for &m in members {
            for &c in &nodes[m].children {
                named[c] = !typed(c) && having[nodes[c].label.as_str()] * 2 < members.len();
            }
        }
        return;
    }
    let Some(&m) = members.first() else {
        return;
    };
    let kids: Vec<usize> = nodes[m]
        .children
        .iter()
        .copied()
        .filter(|&c| !typed(c))
        .collect();
    let distinct: HashSet<&str> = kids.iter().map(|&c| nodes[c].label.as_str()).collect();
    if kids.len() < 4 || distinct.len() * 2 <= kids.len() {
        return;
    }
    let blocks: Vec<usize> = kids
        .iter()
        .copied()
        .filter(|&c| !nodes[c].children.is_empty())
        .collect();
    if blocks.len() >= 2 {
        let mut having: HashMap<&str, usize> = HashMap::new();
        for &b in &blocks {
            for l in labels_of(b) {
                *having.entry(l).or_default() += 1;
            }
        }
        if having.values().max().copied().unwrap_or(0) * 2 < blocks.len() {
            return;
        }
    }
    for c in kids {
        named[c] = true;
    }
}

/// Cuts the tree into records (see the module docs).
fn layout(
    tree: &Tree,
    lines: &[&str],
    cost: &dyn Fn(usize, usize) -> usize,
    budget: usize,
) -> Layout {
    let nodes = &tree.nodes;
    // Whether a node's label names it (every job under `jobs:`, every package of a pnpm
    // lockfile has its own) or types it (every `[[package]]`, every `<dependency>`,
    // `runs-on`), decided a level at a time from the root, where a node sits (its ancestors'
    // labels, names as `*`) and its shape (its children's labels).
    let mut named = vec![false; nodes.len()];
    let mut place = vec![0u64; nodes.len()];
    let mut shapes = vec![0u64; nodes.len()];
    let mut level = vec![0usize];
    while !level.is_empty() {
        let mut families: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for &id in &level {
            families.entry(place[id]).or_default().push(id);
        }
        for members in families.values() {
            decide_names(tree, members, &mut named);
        }
        let mut next = Vec::new();
        for &id in &level {
            let part = |c: usize| {
                if named[c] {
                    "*"
                } else {
                    nodes[c].label.as_str()
                }
            };
            for &c in &nodes[id].children {
                place[c] = hash_of(&[part(c)], place[id]);
                next.push(c);
            }
            let mut keys: Vec<&str> = nodes[id].children.iter().map(|&c| part(c)).collect();
            keys.sort_unstable();
            keys.dedup();
            shapes[id] = hash_of(&keys, 0);
        }
        level = next;
    }
    let part = |id: usize| -> &str {
        if named[id] {
            "*"
        } else {
            nodes[id].label.as_str()
        }
    };
    // Groups and families of every node.
    let mut group_of = vec![usize::MAX; nodes.len()];
    let mut family_of = vec![usize::MAX; nodes.len()];
    let mut group_index: HashMap<(u64, u64), usize> = HashMap::new();
    let mut family_index: HashMap<u64, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut order: Vec<usize> = (1..nodes.len()).collect();
    order.sort_by_key(|&id| (nodes[id].start, id));
    for &id in &order {
        let node = &nodes[id];
        let next_family = family_index.len();
        family_of[id] = *family_index.entry(place[id]).or_insert(next_family);
        let next = groups.len();
        // Named values are grouped by the start of their names: `net.*`, `PIP_*`.
        let family_name = (named[id] && node.children.is_empty())
            .then(|| name_prefix(&node.label))
            .flatten();
        let prefix_key = family_name.as_deref().map_or(0, |p| hash_of(&[p], 1));
        let g = *group_index
            .entry((place[id], shapes[id] ^ prefix_key))
            .or_insert(next);
        if g == next {
            let parent = node.parent.map_or("", |p| nodes[p].label.as_str());
            let parent = if parent.is_empty() {
                "top-level"
            } else {
                parent
            };
            let name = match node.kind {
                _ if family_name.is_some() => family_name.clone().unwrap_or_default(),
                NodeKind::Item => format!("{parent} item"),
                NodeKind::Comment => "comment".to_string(),
                NodeKind::Document if named[id] || node.label == "---" => "document".to_string(),
                NodeKind::Document => format!("{} document", node.label),
                NodeKind::Prolog => "declaration".to_string(),
                NodeKind::Element if !named[id] => format!("<{}>", node.label),
                _ if named[id] || node.label.is_empty() => format!("{parent} entry"),
                _ => node.label.clone(),
            };
            let mut keys: Vec<String> = Vec::new();
            for &c in &node.children {
                let k = part(c).to_string();
                if !k.is_empty() && k != "#" && !keys.contains(&k) {
                    keys.push(k);
                }
            }
            groups.push(Group {
                count: 0,
                name,
                keys,
                comment: node.kind == NodeKind::Comment,
            });
        }
        groups[g].count += 1;
        group_of[id] = g;
    }

    // Split from the root down while a node is too large for its share.
    let share = (budget / 4).max(24);
    let repeated_share = (budget / 2).max(24);
    let single_doc =
        nodes[0].children.len() == 1 && nodes[nodes[0].children[0]].kind == NodeKind::Document;
    let mut layout = Layout {
        records: Vec::new(),
        group: Vec::new(),
        family: Vec::new(),
        head_end: Vec::new(),
        record_of: vec![None; lines.len()],
        heads: BTreeMap::new(),
        level: HashMap::new(),
        around: Vec::new(),
        named: named.clone(),
        groups,
        families: family_index.len(),
    };
    // (node, level, the split nodes around it)
    let mut todo: Vec<(usize, usize, Vec<usize>)> = vec![(0, 0, Vec::new())];
    let mut records: Vec<(usize, Vec<usize>, usize)> = Vec::new();
    while let Some((id, level, around)) = todo.pop() {
        let node = &nodes[id];
        // Children in order, inside the node and not overlapping.
        let mut kids: Vec<usize> = Vec::new();
        let mut at = node.start;
        let mut sorted = node.children.clone();
        sorted.sort_by_key(|&c| (nodes[c].start, c));
        for c in sorted {
            let k = &nodes[c];
            if k.start >= at && k.end <= node.end && k.start < k.end {
                kids.push(c);
                at = k.end;
            }
        }
        let repeated = id != 0 && layout.groups[group_of[id]].count >= 3;
        let limit = if repeated { repeated_share } else { share };
        let split = !kids.is_empty()
            && (id == 0
                || (node.kind == NodeKind::Document && single_doc)
                || (cost(node.start, node.end) > limit && level < MAX_LEVEL));
        if !split {
            if id != 0 {
                records.push((id, around, limit));
            }
            continue;
        }
        let first = nodes[kids[0]].start;
        let last = nodes[kids[kids.len() - 1]].end;
        layout
            .heads
            .insert(id, ((node.start, first), (last, node.end)));
        layout.level.insert(id, level);
        let mut inner = around.clone();
        if id != 0 {
            inner.insert(0, id);
        }
        for &c in kids.iter().rev() {
            todo.push((c, level + usize::from(id != 0), inner.clone()));
        }
    }
    records.sort_by_key(|(id, ..)| nodes[*id].start);
    for (r, (id, around, limit)) in records.into_iter().enumerate() {
        let node = &nodes[id];
        for slot in &mut layout.record_of[node.start..node.end.min(lines.len())] {
            *slot = Some(r);
        }
        // Too large for its share: only its head can be shown whole.
        let mut head_end = node.end;
        if cost(node.start, node.end) > limit {
            head_end = node.start + 1;
            while head_end < node.end && cost(node.start, head_end + 1) <= limit {
                head_end += 1;
            }
        }
        layout.records.push(id);
        layout.group.push(group_of[id]);
        layout.family.push(family_of[id]);
        layout.head_end.push(head_end);
        layout.around.push(around);
    }
    layout
}

/// Ranks records, headers and loose lines (see the module docs).
fn rank(tree: &Tree, lay: &Layout, lines: &[&str], format: Format, ctx: &Context) -> Vec<Unit> {
    let nodes = &tree.nodes;
    let nrec = lay.records.len();
    // Comments only fill what is left.
    let mut tier: Vec<(u8, u64)> = (0..nrec)
        .map(|r| {
            let t = if lay.groups[lay.group[r]].comment {
                T_REST
            } else {
                T_FILL
            };
            (t, fit::spread(r, nrec))
        })
        .collect();
    let mut set = |r: usize, t: u8, o: u64| {
        if (t, o) < tier[r] {
            tier[r] = (t, o);
        }
    };

    // Anchors: the first record when it is a line or two (a generated-file comment, a
    // version), and small top-level records seen once or twice.
    let first_line = lines.iter().position(|l| !content(l).trim().is_empty());
    for r in 0..nrec {
        let node = &nodes[lay.records[r]];
        let top = lay.around[r]
            .iter()
            .all(|&a| nodes[a].kind == NodeKind::Document);
        let short = node.end - node.start <= 3;
        // A key of the file's own (`version`, `name`), not one of a list of named values.
        let rare = lay.groups[lay.group[r]].count <= 2
            && !lay.groups[lay.group[r]].comment
            && !lay.named[lay.records[r]];
        let first = first_line.is_some_and(|f| (node.start..node.end).contains(&f));
        if short && (first || (top && rare)) {
            set(r, T_ANCHOR, node.start as u64);
        }
    }

    // The line that made a record rank, at the record's rank: for a record shown only by its
    // head, and (with the record's first line and the line naming it) for an anomaly in a
    // record that takes a quarter of the budget, which may not fit whole when its line does.
    // Free when the record is shown.
    let mut inside: Vec<Unit> = Vec::new();
    let mut pinpoint = |r: usize, line: Option<usize>, t: u8, o: u64, large: bool| {
        let Some(i) = line else { return };
        let node = &nodes[lay.records[r]];
        if i >= lay.head_end[r] {
            inside.push(Unit::line(i, t, o));
        } else if large && i > node.start {
            inside.push(Unit::line(node.start, t, o));
            let naming = (node.start + 1..i).find(|&k| {
                fields(lines[k], format)
                    .iter()
                    .any(|(key, _)| IDENTITY.contains(&key.to_ascii_lowercase().as_str()))
            });
            if let Some(k) = naming {
                inside.push(Unit::line(k, t, o));
            }
            inside.push(Unit::line(i, t, o));
        }
    };
    let large = |r: usize| {
        let node = &nodes[lay.records[r]];
        lines[node.start..node.end]
            .iter()
            .map(|l| estimate(l))
            .sum::<usize>()
            * 4
            > ctx.budget
    };
    for (r, o, line) in query_hits(tree, lay, lines, format, ctx) {
        set(r, T_QUERY, o);
        pinpoint(r, line, T_QUERY, o, false);
    }
    for (r, o, line) in standouts(tree, lay, lines, format) {
        set(r, T_STANDOUT, o);
        pinpoint(r, line, T_STANDOUT, o, large(r));
    }
    // The first record of every group.
    let mut seen = HashSet::new();
    let firsts: Vec<usize> = (0..nrec)
        .filter(|&r| !lay.groups[lay.group[r]].comment && seen.insert(lay.group[r]))
        .collect();
    for (k, &r) in firsts.iter().enumerate() {
        set(r, T_FIRST, fit::spread(k, firsts.len()));
    }

    let mut units = inside;
    // Headers of the blocks around a record come with it, as early as its earliest record.
    let mut context: BTreeMap<(u8, usize), u64> = BTreeMap::new();
    for r in 0..nrec {
        let (t, o) = tier[r];
        let node = &nodes[lay.records[r]];
        let head_end = lay.head_end[r];
        units.push(Unit {
            start: node.start,
            end: head_end,
            tier: t,
            order: o,
        });
        // The rest of a record too large for its share, whole or not at all: its lines
        // alone would only fill gaps.
        if head_end < node.end {
            units.push(Unit {
                start: head_end,
                end: node.end,
                tier: T_REST,
                order: o,
            });
        }
        if t < T_REST {
            for &a in &lay.around[r] {
                let first = context.entry((t, a)).or_insert(u64::MAX);
                if *first <= o {
                    break;
                }
                *first = o;
            }
        }
    }
    for (&id, &((h0, h1), (t0, t1))) in &lay.heads {
        // The file's own head and tail are anchors; the top-level blocks' headers show the
        // structure once what the query and the anomalies need is in.
        let level = lay.level.get(&id).copied().unwrap_or(0);
        let tier = match (id, level) {
            (0, _) => T_ANCHOR,
            (_, 0 | 1) => T_HEADERS,
            _ => T_REST,
        };
        let order = ((level as u64) << 40) | h0 as u64;
        for (a, b) in [(h0, h1), (t0, t1)] {
            if a < b {
                units.push(Unit {
                    start: a,
                    end: b,
                    tier,
                    order,
                });
            }
        }
    }
    for ((t, a), o) in context {
        if let Some(&((h0, h1), (t0, t1))) = lay.heads.get(&a) {
            for (x, y) in [(h0, h1), (t0, t1)] {
                if x < y {
                    units.push(Unit {
                        start: x,
                        end: y,
                        tier: t,
                        order: o,
                    });
                }
            }
        }
    }
    // Lines no unit covers (text between elements, stray lines) fill.
    let mut covered = vec![false; lines.len()];
    for u in &units {
        for c in &mut covered[u.start..u.end.min(lines.len())] {
            *c = true;
        }
    }
    for (i, c) in covered.iter().enumerate() {
        if !c && !content(lines[i]).trim().is_empty() {
            units.push(Unit::line(i, T_FILL, fit::spread(i, lines.len())));
        }
    }
    units
}

/// The words of a label (`dev-dependencies` → `dev`, `dependencies`).
fn label_words(label: &str) -> Vec<String> {
    words(label).collect()
}

/// Records the query names, with their order: by a name or id that is the query's term;
/// by a label the query spells out, or inside a block whose label it spells out (`[dev-
/// dependencies]`, `msrv_build:`); by a name with one of the query's words; with an exact
/// term anywhere; then by relevance.
fn query_hits(
    tree: &Tree,
    lay: &Layout,
    lines: &[&str],
    format: Format,
    ctx: &Context,
) -> Vec<(usize, u64, Option<usize>)> {
    let q = ctx.query;
    if q.exact.is_empty() && q.words.is_empty() {
        return Vec::new();
    }
    let nodes = &tree.nodes;
    let nrec = lay.records.len();
    let terms: Vec<&str> = q
        .exact
        .iter()
        .chain(q.words.iter())
        .map(String::as_str)
        .collect();
    // A label all of whose words the query has: `[dev-dependencies]`, `runs-on`.
    let named_by = |label: &str| {
        let w = label_words(label);
        !w.is_empty() && w.iter().all(|x| q.words.contains(x))
    };
    let mut family_size = vec![0usize; lay.families];
    for &f in &lay.family {
        family_size[f] += 1;
    }
    let mut hits = Vec::new();
    let texts: Vec<Vec<&str>> = (0..nrec)
        .map(|r| {
            let node = &nodes[lay.records[r]];
            lines[node.start..node.end].to_vec()
        })
        .collect();
    let scores = bm25(&texts, &q.words);
    let mut by_score: Vec<usize> = (0..nrec).filter(|&r| scores[r] > 0.0).collect();
    by_score.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let score_rank: HashMap<usize, usize> =
        by_score.iter().enumerate().map(|(k, &r)| (r, k)).collect();
    for r in 0..nrec {
        let node = &nodes[lay.records[r]];
        let rec_lines = &lines[node.start..node.end];
        let identity: Vec<(&str, &str)> = rec_lines
            .iter()
            .enumerate()
            .flat_map(|(k, l)| {
                fields(l, format).into_iter().filter(move |(key, _)| {
                    k == 0 || IDENTITY.contains(&key.to_ascii_lowercase().as_str())
                })
            })
            .collect();
        // A label only this record (or one other) has, or that names it.
        let distinct_label = lay.named[lay.records[r]] || family_size[lay.family[r]] <= 2;
        let equal = identity.iter().any(|(_, v)| {
            let v = v.trim_matches(['"', '\'', '[', ']', '{', '}', ' ']);
            terms.iter().any(|t| v.eq_ignore_ascii_case(t))
        }) || (distinct_label
            && terms.iter().any(|t| node.label.eq_ignore_ascii_case(t)));
        let own_label = distinct_label && named_by(&node.label);
        let inside = lay.around[r].iter().any(|&a| named_by(&nodes[a].label));
        let by_name = identity
            .iter()
            .any(|(_, v)| words(v).any(|w| q.words.contains(&w)))
            || (lay.named[lay.records[r]] && words(&node.label).any(|w| q.words.contains(&w)));
        let exact_at = rec_lines
            .iter()
            .position(|l| q.exact.iter().any(|t| contains_exact(l, t)));
        // The line that matched, for a record shown only by its head.
        let word_at = || {
            rec_lines
                .iter()
                .position(|l| words(l).any(|w| q.words.contains(&w)))
        };
        let by_score = |class: u64| score_rank.get(&r).map(|&k| (class << 40) + k as u64);
        let order = if equal {
            by_score(0).or(Some((1 << 32) + node.start as u64))
        } else if own_label || inside {
            Some((1 << 40) + node.start as u64)
        } else if by_name {
            by_score(2).or(Some((2 << 40) + (1 << 32) + node.start as u64))
        } else if exact_at.is_some() {
            Some((3 << 40) + node.start as u64)
        } else {
            by_score(4)
        };
        if let Some(o) = order {
            let at = exact_at.or_else(word_at).map(|k| node.start + k);
            hits.push((r, o, at));
        }
    }
    hits
}

/// An error word standing on its own in a value: `failure()`, `[ERROR] Failed`, not the
/// `critical` of a crate named `critical-section` (a key's error word always counts:
/// `continue-on-error`, `maven.test.failure.ignore`).
fn error_word(value: &str) -> bool {
    let b = value.as_bytes();
    let glue = |c: Option<&u8>| matches!(c, Some(b'-' | b'_' | b'.'));
    let word = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    error_re().find_iter(value).any(|m| {
        let (s, e) = (m.start(), m.end());
        let before = s >= 2 && glue(b.get(s - 1)) && word(b.get(s - 2));
        let after = glue(b.get(e)) && word(b.get(e + 1));
        !before && !after
    })
}

/// For every line, the innermost node that holds it (nodes nest, so one sweep with a stack
/// finds them all).
fn innermost(tree: &Tree, n: usize) -> Vec<Option<usize>> {
    let nodes = &tree.nodes;
    let mut by_start: Vec<usize> = (1..nodes.len()).collect();
    by_start.sort_by_key(|&id| (nodes[id].start, Reverse(nodes[id].end), id));
    let mut out = vec![None; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        while stack.last().is_some_and(|&top| nodes[top].end <= i) {
            stack.pop();
        }
        while next < by_start.len() && nodes[by_start[next]].start <= i {
            let id = by_start[next];
            next += 1;
            if nodes[id].end <= i {
                continue;
            }
            while stack
                .last()
                .is_some_and(|&top| nodes[top].end < nodes[id].end)
            {
                stack.pop();
            }
            stack.push(id);
        }
        *slot = stack.last().copied();
    }
    out
}

/// Records that stand out, with their order: an error word on a line that is not repeated, a
/// value unlike the same key's in the records of its family, a key only one record of a
/// large family has, a shape seen once in a family of many. A kind of oddity many records
/// share is how this file is, not an anomaly.
fn standouts(
    tree: &Tree,
    lay: &Layout,
    lines: &[&str],
    format: Format,
) -> Vec<(usize, u64, Option<usize>)> {
    let nodes = &tree.nodes;
    let nrec = lay.records.len();
    let common = |k: usize| k > (nrec / 10).max(4);
    let is_comment = |l: &str| {
        let t = l.trim_start();
        t.starts_with(['#', ';']) || t.starts_with("//") || t.starts_with("<!--")
    };

    // Error words on lines whose shape is seen at most twice (`if: failure()`, not every
    // job's `fail-fast: false`).
    let line_shapes: Vec<u64> = lines
        .iter()
        .map(|l| hash_of(&[&shape(content(l))], 0))
        .collect();
    let mut shapes: HashMap<u64, usize> = HashMap::new();
    for s in &line_shapes {
        *shapes.entry(*s).or_default() += 1;
    }
    let mut errors = Vec::new();
    for r in 0..nrec {
        if lay.groups[lay.group[r]].comment {
            continue;
        }
        let node = &nodes[lay.records[r]];
        let hit = (node.start..node.end).find(|&i| {
            let l = content(lines[i]);
            if is_comment(l) || shapes[&line_shapes[i]] > 2 {
                return false;
            }
            let f = fields(l, format);
            if f.is_empty() {
                return error_word(l);
            }
            f.iter()
                .any(|(k, v)| error_re().is_match(k) || error_word(v))
        });
        if hit.is_some() {
            errors.push((r, hit));
        }
    }

    // Per family and key path (the labels from the record down to the key, names as `*`):
    // how many records have it, and the shapes of its values.
    let mut members = vec![0usize; lay.families];
    for &f in &lay.family {
        members[f] += 1;
    }
    let inner = innermost(tree, lines.len());
    let part = |id: usize| {
        if lay.named[id] {
            "*"
        } else {
            nodes[id].label.as_str()
        }
    };
    let mut having: HashMap<(usize, u64), usize> = HashMap::new();
    let mut values: HashMap<(usize, u64), HashMap<String, usize>> = HashMap::new();
    let mut per_record: Vec<Vec<(u64, String, usize)>> = vec![Vec::new(); nrec];
    for (r, found) in per_record.iter_mut().enumerate() {
        let f = lay.family[r];
        if members[f] < 6 || lay.groups[lay.group[r]].comment {
            continue;
        }
        let id = lay.records[r];
        let node = &nodes[id];
        let mut seen = HashSet::new();
        for i in node.start..node.end.min(node.start + 256) {
            // The path from the record down to the line's node, at most 8 labels.
            let mut path: Vec<&str> = Vec::new();
            let mut at = inner[i];
            while let Some(a) = at {
                if a == id || path.len() >= 8 {
                    break;
                }
                path.push(part(a));
                at = nodes[a].parent;
            }
            let own = inner[i]
                .filter(|&a| lay.named[a])
                .map(|a| nodes[a].label.as_str());
            for (k, v) in fields(lines[i], format) {
                // A key that is its node's name is a name too.
                let k = if own == Some(k) { "*" } else { k };
                let mut parts = path.clone();
                parts.push(k);
                let key = hash_of(&parts, 0);
                if !seen.insert(key) {
                    continue;
                }
                *having.entry((f, key)).or_default() += 1;
                let s = value_shape(v);
                *values
                    .entry((f, key))
                    .or_default()
                    .entry(s.clone())
                    .or_default() += 1;
                found.push((key, s, i));
            }
        }
    }
    let mut odd = Vec::new();
    let mut unique = Vec::new();
    for (r, found) in per_record.iter().enumerate() {
        let f = lay.family[r];
        let mut odd_value = None;
        let mut unique_key = None;
        for (key, s, i) in found {
            let with_key = having.get(&(f, *key)).copied().unwrap_or(0);
            if with_key == 1 {
                unique_key = unique_key.or(Some(*i));
            } else if let Some(by) = values.get(&(f, *key)) {
                let categorical = by.len() <= (with_key / 8).max(2);
                if with_key >= 6 && categorical && by.get(s) == Some(&1) {
                    odd_value = odd_value.or(Some(*i));
                }
            }
        }
        if odd_value.is_some() {
            odd.push((r, odd_value));
        }
        if unique_key.is_some() {
            unique.push((r, unique_key));
        }
    }

    // Shapes seen once in a family of many.
    let mut singletons = vec![0usize; lay.families];
    for r in 0..nrec {
        if lay.groups[lay.group[r]].count == 1 {
            singletons[lay.family[r]] += 1;
        }
    }
    let rare: Vec<(usize, Option<usize>)> = (0..nrec)
        .filter(|&r| {
            let f = lay.family[r];
            lay.groups[lay.group[r]].count == 1
                && !lay.groups[lay.group[r]].comment
                && members[f] >= 6
                && singletons[f] <= (members[f] / 10).max(2)
        })
        .map(|r| (r, None))
        .collect();

    let mut out = Vec::new();
    for (k, list) in [errors, odd, unique, rare].into_iter().enumerate() {
        if common(list.len()) {
            continue;
        }
        out.extend(
            list.into_iter()
                .map(|(r, line)| (r, ((k as u64) << 40) | r as u64, line)),
        );
    }
    out
}

/// Everything rendering needs.
struct View<'a> {
    lines: &'a [&'a str],
    tree: &'a Tree,
    lay: &'a Layout,
    /// Lines shown cut: how many bytes are shown.
    cut: HashMap<usize, usize>,
}

impl View<'_> {
    /// The lines shown: those kept, and the first header line and last closing line of every
    /// block around a kept record.
    fn shown(&self, keep: &[bool]) -> Vec<bool> {
        let mut shown = keep.to_vec();
        let mut done: HashSet<usize> = HashSet::new();
        for (i, k) in keep.iter().enumerate() {
            if !k {
                continue;
            }
            let Some(r) = self.lay.record_of[i] else {
                continue;
            };
            for &a in &self.lay.around[r] {
                if !done.insert(a) {
                    break;
                }
                if let Some(&((h0, h1), (t0, t1))) = self.lay.heads.get(&a) {
                    if h0 < h1 {
                        shown[h0] = true;
                    }
                    if t0 < t1 {
                        shown[t1 - 1] = true;
                    }
                }
            }
        }
        shown
    }

    fn render(&self, keep: &[bool], detail: Detail, key: &Key) -> String {
        let shown = self.shown(keep);
        let lines = self.lines;
        let n = lines.len();
        let mut out = String::new();
        let mut named: HashSet<String> = HashSet::new();
        let mut i = 0;
        while i < n {
            if shown[i] {
                match self.cut.get(&i) {
                    Some(&len) => {
                        out.push_str(&content(lines[i])[..len]);
                        out.push_str(&format!(
                            " …[{} more bytes of this line cut]\n",
                            content(lines[i]).len() - len
                        ));
                    }
                    None => {
                        out.push_str(lines[i]);
                        if !lines[i].ends_with('\n') {
                            out.push('\n');
                        }
                    }
                }
                i += 1;
                continue;
            }
            let start = i;
            while i < n && !shown[i] {
                i += 1;
            }
            if detail == Detail::Full {
                if let Some(note) = self.note(start, i, &shown, &mut named) {
                    out.push_str(&note);
                }
            }
        }
        out.push_str(&marker(key, &self.summary(&shown)));
        out.push('\n');
        out
    }

    /// What the left-out lines `a..b` held: whole records by group, and other lines.
    fn note(
        &self,
        a: usize,
        b: usize,
        shown: &[bool],
        named: &mut HashSet<String>,
    ) -> Option<String> {
        let nodes = &self.tree.nodes;
        let mut by_group: Vec<(usize, usize)> = Vec::new();
        let mut other = 0usize;
        let mut indent: Option<&str> = None;
        let mut i = a;
        while i < b {
            let l = content(self.lines[i]);
            if l.trim().is_empty() {
                i += 1;
                continue;
            }
            indent.get_or_insert(&l[..l.len() - l.trim_start().len()]);
            match self.lay.record_of[i] {
                Some(r) => {
                    let node = &nodes[self.lay.records[r]];
                    let whole = node.start >= a
                        && node.end <= b
                        && !(node.start..node.end).any(|k| shown[k]);
                    if whole && i == node.start {
                        let g = self.lay.group[r];
                        match by_group.iter_mut().find(|(x, _)| *x == g) {
                            Some((_, c)) => *c += 1,
                            None => by_group.push((g, 1)),
                        }
                        i = node.end;
                        continue;
                    }
                    other += 1;
                }
                None => other += 1,
            }
            i += 1;
        }
        if by_group.is_empty() && other == 0 {
            return None;
        }
        // Groups of one name counted together; their keys said the first time.
        let mut by_name: Vec<(&str, usize, usize)> = Vec::new();
        for &(g, c) in &by_group {
            let name = self.lay.groups[g].name.as_str();
            match by_name.iter_mut().find(|(x, ..)| *x == name) {
                Some((_, total, _)) => *total += c,
                None => by_name.push((name, c, g)),
            }
        }
        let mut parts: Vec<String> = Vec::new();
        let listed = 2;
        for &(name, c, g) in by_name.iter().take(listed) {
            let group = &self.lay.groups[g];
            let mut s = format!("{c} {name}");
            // Keys of records that repeat, the first time they are named.
            if group.count >= 3 && named.insert(name.to_string()) && !group.keys.is_empty() {
                let keys: Vec<&str> = group.keys.iter().take(5).map(String::as_str).collect();
                let more = if group.keys.len() > 5 { ", …" } else { "" };
                s.push_str(&format!(" ({}{more})", keys.join(", ")));
            }
            parts.push(s);
        }
        let rest: usize = by_name.iter().skip(listed).map(|(_, c, _)| c).sum();
        if rest > 0 {
            parts.push(format!("{rest} more"));
        }
        if other > 0 {
            parts.push(if other == 1 {
                "1 line".to_string()
            } else {
                format!("{other} lines")
            });
        }
        Some(format!(
            "{}[… {} …]\n",
            indent.unwrap_or(""),
            parts.join(", ")
        ))
    }

    fn summary(&self, shown: &[bool]) -> String {
        let nodes = &self.tree.nodes;
        let total = self.lay.records.len();
        let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
        for (r, &id) in self.lay.records.iter().enumerate() {
            let node = &nodes[id];
            if !(node.start..node.end).any(|k| shown[k]) {
                *by_name
                    .entry(self.lay.groups[self.lay.group[r]].name.as_str())
                    .or_default() += 1;
            }
        }
        let dropped: usize = by_name.values().sum();
        let mut by: Vec<(&str, usize)> = by_name.into_iter().collect();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = by.iter().take(3).map(|(g, c)| format!("{g} {c}")).collect();
        let mut s = format!("{dropped} of {total} records omitted");
        if !top.is_empty() {
            s.push_str(&format!(" ({})", top.join(", ")));
        }
        s.push_str("; retrieve with a query for the records you need");
        s
    }
}

/// Compresses a configuration or data file (see the module docs).
pub fn compress_config(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let format = Format::of(&lines);
    let tree = tree::parse(&lines, format);
    let mut prefix = vec![0usize; n + 1];
    for (i, l) in lines.iter().enumerate() {
        prefix[i + 1] = prefix[i] + estimate(l).max(1);
    }
    let span_cost = |a: usize, b: usize| prefix[b.min(n)] - prefix[a.min(b).min(n)];
    let lay = layout(&tree, &lines, &span_cost, ctx.budget);
    // Markup whose elements never start lines of their own (generated HTML) has no records
    // to choose among: lines serve it better.
    let largest = lay
        .records
        .iter()
        .map(|&id| tree.nodes[id].end - tree.nodes[id].start)
        .max()
        .unwrap_or(0);
    if n >= 20 && largest * 5 >= n * 4 && lay.records.len() <= 3 {
        return Err(TextError::Declined(format!(
            "no records to choose among: one block holds {largest} of {n} lines"
        )));
    }
    let units = rank(&tree, &lay, &lines, format, ctx);

    // Lines too long to show whole are shown cut.
    let cap = (ctx.budget / 4).max(16);
    let mut cut: HashMap<usize, usize> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if estimate(l) > cap {
            cut.insert(i, prefix_within(l, cap, ctx));
        }
    }
    let view = View {
        lines: &lines,
        tree: &tree,
        lay: &lay,
        cut,
    };
    let base_cost = fit::line_cost(&lines);
    let cost = |i: usize| match view.cut.get(&i) {
        Some(&len) => estimate(&content(lines[i])[..len]) + 8,
        None => base_cost(i),
    };
    let mut render = |keep: &[bool], detail: Detail, key: &Key| view.render(keep, detail, key);
    let plan = fit::Plan {
        kind: "config",
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let stored =
        plan.store_and_render(fitted, &|i| !view.cut.contains_key(&i), ctx, &mut render)?;
    let mut dropped = BTreeMap::new();
    dropped.insert("lines".to_string(), n - stored.kept);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "config",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: lay.groups.len(),
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

    fn lockfile(n: usize) -> String {
        let mut out = String::from("version = 3\n\n");
        for i in 0..n {
            let source = if i == 77 {
                "git+https://example.com/fork.git#abc123"
            } else {
                "registry+https://github.com/rust-lang/crates.io-index"
            };
            out.push_str(&format!(
                "[[package]]\nname = \"crate-{i}\"\nversion = \"1.{}.0\"\nsource = \"{source}\"\ndependencies = [\n \"crate-{}\",\n]\n\n",
                i % 7,
                (i + 1) % n
            ));
        }
        out
    }

    #[test]
    fn error_words_stand_alone_in_values() {
        assert!(error_word("failure()"));
        assert!(error_word("[ERROR] Failed to execute goal"));
        assert!(!error_word("\"critical-section\","));
        assert!(!error_word("json-parse-even-better-errors"));
    }

    #[test]
    fn value_shapes_mask_numbers_and_hashes() {
        assert_eq!(value_shape("\"0.10.75\""), "\"#.#.#\"");
        assert_eq!(
            value_shape("08838db121398ad17ab8531ce9de97b244589089e290a384c900cb9ff7434328"),
            "H"
        );
        assert_eq!(name_prefix("net.ipv4.ip_forward").as_deref(), Some("net.*"));
        assert_eq!(name_prefix("PIP_CERT").as_deref(), Some("PIP_*"));
        assert_eq!(name_prefix("HOME"), None);
    }

    #[test]
    fn records_are_blocks_and_the_odd_one_is_kept() {
        let text = lockfile(300);
        let (out, store) = with_context(&text, "", 600, |ctx| {
            let out = compress_config(&text, ctx).unwrap();
            let tokens = ctx.counter.count(&out.output);
            assert!((240..=600).contains(&tokens), "{tokens}");
            out
        });
        assert!(out.output.starts_with("version = 3\n"));
        assert!(
            out.output.contains("name = \"crate-77\"\nversion = \"1.0.0\"\nsource = \"git+https://example.com/fork.git#abc123\"\n"),
            "the record with the odd source, whole\n{}",
            out.output
        );
        assert!(out
            .output
            .contains("[[package]] (name, version, source, dependencies)"));
        let e = store.get("t", &out.ccr_keys[0]).unwrap();
        assert_eq!(entry::decode(&e).unwrap().original, text.as_bytes());
    }

    #[test]
    fn the_query_keeps_its_record_whole() {
        let text = lockfile(300);
        let (out, _) = with_context(&text, "crate-250", 200, |ctx| {
            compress_config(&text, ctx).unwrap()
        });
        assert!(
            out.output
                .contains("[[package]]\nname = \"crate-250\"\nversion = \"1.5.0\"\n"),
            "{}",
            out.output
        );
    }

    #[test]
    fn a_query_naming_a_key_keeps_its_block() {
        let mut text = String::from("[package]\nname = \"x\"\n\n[dependencies]\n");
        for i in 0..200 {
            text.push_str(&format!("dep-{i} = \"1.{i}\"\n"));
        }
        text.push_str("\n[dev-dependencies]\ninsta = \"1\"\nproptest = \"1\"\n");
        let (out, _) = with_context(&text, "what are the dev-dependencies", 200, |ctx| {
            compress_config(&text, ctx).unwrap()
        });
        assert!(
            out.output
                .contains("[dev-dependencies]\ninsta = \"1\"\nproptest = \"1\"\n"),
            "{}",
            out.output
        );
    }

    #[test]
    fn a_kept_record_comes_with_the_headers_around_it() {
        let mut text = String::from("jobs:\n");
        for j in 0..6 {
            text.push_str(&format!(
                "  job{j}:\n    runs-on: ubuntu-latest\n    steps:\n"
            ));
            for s in 0..30 {
                text.push_str(&format!("    - run: cargo test --features f{s}\n"));
            }
        }
        text = text.replace(
            "  job4:\n    runs-on: ubuntu-latest\n    steps:\n    - run: cargo test --features f0\n",
            "  job4:\n    runs-on: ubuntu-latest\n    steps:\n    - run: cargo test --features f0 || echo FAILED\n",
        );
        let (out, _) = with_context(&text, "", 300, |ctx| compress_config(&text, ctx).unwrap());
        let at = out.output.find("|| echo FAILED").expect("the odd step");
        let before = &out.output[..at];
        assert!(before.contains("  job4:\n"), "{}", out.output);
        assert!(before.contains("    steps:\n"), "{}", out.output);
    }

    #[test]
    fn markup_without_records_is_left_to_lines() {
        // Generated HTML: no element starts a line of its own.
        let mut text = String::from("<!DOCTYPE HTML>\n<HTML\n><BODY\n>");
        for i in 0..300 {
            text.push_str(&format!("<P\n>paragraph {i} of the generated page</P\n>"));
        }
        text.push_str("</BODY\n></HTML\n>\n");
        let (out, _) = with_context(&text, "", 300, |ctx| compress_config(&text, ctx));
        assert!(matches!(out, Err(TextError::Declined(_))), "{out:?}");
    }

    #[test]
    fn hostile_files() {
        let deep_yaml: String = (0..3000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let deep_xml = "<a>\n".repeat(5000);
        let open_array = "x = [\n".to_string() + &"1,\n".repeat(5000);
        let one_line = "key: ".to_string() + &"v".repeat(200_000) + "\n";
        for text in [
            deep_yaml,
            deep_xml,
            open_array,
            one_line,
            "<<<<\n".repeat(100),
        ] {
            let _ = with_context(&text, "k42 main", 200, |ctx| {
                if let Ok(out) = compress_config(&text, ctx) {
                    assert!(ctx.counter.count(&out.output) <= 200);
                }
            });
        }
    }
}
