//! Tables and listings: `ps`, `top`, `df`, `dpkg -l`, `pip list`, `ls -l` and `ls -laR`,
//! `netstat` and `ss`, `docker ps` and `kubectl get`, `go.sum`, CSV, TSV, `;`- and
//! `|`-separated rows, Markdown tables.
//!
//! The columns are found from alignment or delimiters (see [`layout`]) and what they hold from
//! their values (see [`columns`]). Over the budget, rows are shown by rank until the output is
//! full (see [`super::fit`]):
//!
//! 1. the header (with a rule under it, and what is printed above it when that is short);
//! 2. rows the query names (its exact terms or `column = value` clauses, then its distinctive
//!    words by BM25);
//! 3. rows that stand out: an error word, a status seen once, a number far above its column, a
//!    setuid or world-writable mode, a core dump, most surprising first (up to half the budget;
//!    beyond the first three, only those that stand out strongly);
//! 4. the first and last rows, and one row of each template (the values of the category
//!    columns), largest groups first;
//! 5. the other rows that stand out, then the rest, spread evenly.
//!
//! A section's heading (`dir:` in `ls -laR`, with its `total` line) is shown with the first
//! of its rows to be shown. Kept rows stay byte for byte, never re-aligned; each run of rows
//! left out is noted in place (`[… 212 rows …]`); the marker says what was left out per
//! category column and the range of sorted and numeric columns ("1812 of 2104 rows omitted;
//! status ii 1810, rc 2; PID 2..48213"). The whole original is stored, so a query to
//! `retrieve` finds any row.

mod columns;
mod layout;

use super::fit::{self, Detail, Unit};
use super::lines::prefix_within;
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use crate::tokens::estimate;
use columns::{Analysis, Holds, STANDS_OUT};
use layout::{Layout, Role};
use std::collections::{BTreeMap, HashMap};

/// A score from which a row goes before the rows of each template, however many there are.
const STRONG: f32 = 5.0;

/// Tiers, kept in this order.
const HEAD: u8 = 0;
const QUERY: u8 = 1;
const STANDING: u8 = 2;
const GROUPS: u8 = 3;
const MORE: u8 = 4;
const FILL: u8 = 5;

/// How much the marker names: category columns, values of each, ranges. Under a small budget
/// the marker says less, to leave room for rows.
#[derive(Debug, Clone, Copy)]
struct SummarySize {
    categories: usize,
    values: usize,
    ranges: usize,
}

impl SummarySize {
    fn for_budget(budget: usize) -> SummarySize {
        if budget < 500 {
            SummarySize {
                categories: 2,
                values: 2,
                ranges: 1,
            }
        } else {
            SummarySize {
                categories: 3,
                values: 3,
                ranges: 2,
            }
        }
    }
}

/// Compresses a table or listing (see the module docs).
pub fn compress_table(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let layout = Layout::of(text, &lines);
    let analysis = Analysis::of(text, &layout);

    // Each line's cost, estimated once; lines too long to show whole are shown cut.
    let cap = (ctx.budget / 4).max(16);
    let mut costs: Vec<usize> = lines.iter().map(|l| estimate(l).max(1)).collect();
    let mut cut: HashMap<usize, usize> = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if costs[i] > cap {
            let shown = prefix_within(l, cap, ctx);
            if shown < content(l).len() {
                cut.insert(i, shown);
                costs[i] = estimate(&content(l)[..shown]) + 8;
            }
        }
    }
    let cost = |i: usize| costs[i];

    let units = rank(text, &layout, &analysis, ctx, &cost);
    let size = SummarySize::for_budget(ctx.budget);
    let kinds = line_kinds(&layout);
    // The lines the final output shows: fitting may let some go to make room for the real key.
    let mut shown = Vec::new();
    let mut render = |keep: &[bool], detail: Detail, key: &Key| {
        shown.clear();
        shown.extend_from_slice(keep);
        render_table(&lines, &kinds, keep, &cut, detail, key, &|keep| {
            summary(text, &layout, &analysis, keep, size)
        })
    };
    let plan = fit::Plan {
        kind: "table",
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let stored = plan.store_and_render(fitted, &|i| !cut.contains_key(&i), ctx, &mut render)?;

    let dropped_rows = layout.rows.iter().filter(|r| !shown[r.start]).count();
    let dropped_standing = layout
        .rows
        .iter()
        .enumerate()
        .filter(|(i, r)| analysis.score[*i] >= STANDS_OUT && !shown[r.start])
        .count();
    let mut dropped = BTreeMap::new();
    dropped.insert("rows".to_string(), dropped_rows);
    dropped.insert("rows that stand out".to_string(), dropped_standing);
    let other_lines = (0..lines.len())
        .filter(|&i| !shown[i] && layout.roles[i] != Role::Row)
        .count();
    dropped.insert("other lines".to_string(), other_lines);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "rows",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: lines.len(),
            lines_kept: stored.kept,
            groups: analysis.template_sizes.len(),
            dropped,
        },
    })
}

/// What each line is, for the notes: 1 a row's first line, 2 a section heading, 0 else.
fn line_kinds(layout: &Layout) -> Vec<u8> {
    let mut kinds = vec![0u8; layout.roles.len()];
    for r in &layout.rows {
        kinds[r.start] = 1;
    }
    for h in &layout.headings {
        kinds[h.line] = 2;
    }
    kinds
}

/// Ranks every line into units (see the module docs).
fn rank(
    text: &str,
    layout: &Layout,
    analysis: &Analysis,
    ctx: &Context,
    cost: &dyn Fn(usize) -> usize,
) -> Vec<Unit> {
    let best = row_ranks(text, layout, analysis, ctx, cost);
    let mut units: Vec<Unit> = Vec::with_capacity(layout.roles.len());
    for (row, &(tier, order)) in layout.rows.iter().zip(&best) {
        units.push(Unit {
            start: row.start,
            end: row.end,
            tier,
            order,
        });
    }
    heading_units(layout, &best, &mut units);
    header_units(layout, ctx, cost, &mut units);
    units
}

/// Each row's tier and order within it.
fn row_ranks(
    text: &str,
    layout: &Layout,
    analysis: &Analysis,
    ctx: &Context,
    cost: &dyn Fn(usize) -> usize,
) -> Vec<(u8, u64)> {
    let rows = &layout.rows;
    let nr = rows.len();
    let mut best: Vec<Option<(u8, u64)>> = vec![None; nr];
    let mut set = |r: usize, tier: u8, order: u64| {
        if best[r].is_none_or(|(t, _)| tier < t) {
            best[r] = Some((tier, order));
        }
    };
    for (k, r) in query_hits(text, layout, ctx).into_iter().enumerate() {
        set(r, QUERY, k as u64);
    }
    // The strongest go first, up to half the budget; weaker ones (a file somewhat larger than
    // most) only after one row of each template.
    let mut standing: Vec<usize> = (0..nr)
        .filter(|&i| analysis.score[i] >= STANDS_OUT)
        .collect();
    standing.sort_by(|&a, &b| {
        analysis.score[b]
            .total_cmp(&analysis.score[a])
            .then(a.cmp(&b))
    });
    let most = (nr / 25).max(8);
    let mut spent = 0;
    for (k, &r) in standing.iter().enumerate() {
        let c: usize = (rows[r].start..rows[r].end).map(cost).sum();
        let strong = k < 3 || analysis.score[r] >= STRONG;
        if strong && k < most && spent + c <= ctx.budget / 2 {
            spent += c;
            set(r, STANDING, k as u64);
        } else {
            set(r, MORE, k as u64);
        }
    }
    if nr > 0 {
        set(0, GROUPS, 0);
        set(nr - 1, GROUPS, 1);
    }
    for (k, first) in template_firsts(analysis).into_iter().enumerate() {
        set(first, GROUPS, 2 + k as u64);
    }
    (0..nr)
        .map(|r| best[r].unwrap_or((FILL, fit::spread(r, nr))))
        .collect()
}

/// The first row of each template, largest templates first (none when all rows share one).
fn template_firsts(analysis: &Analysis) -> Vec<usize> {
    let mut first_of: Vec<Option<usize>> = vec![None; analysis.template_sizes.len()];
    for (i, &t) in analysis.template.iter().enumerate() {
        first_of[t as usize].get_or_insert(i);
    }
    let mut by_size: Vec<(usize, usize)> = first_of
        .iter()
        .enumerate()
        .filter_map(|(t, f)| f.map(|f| (t, f)))
        .collect();
    if by_size.len() <= 1 {
        return Vec::new();
    }
    by_size.sort_by(|a, b| {
        analysis.template_sizes[b.0]
            .cmp(&analysis.template_sizes[a.0])
            .then(a.1.cmp(&b.1))
    });
    by_size.into_iter().map(|(_, first)| first).collect()
}

/// A section's heading goes with the first of its rows to be shown: it takes that row's rank,
/// and comes before it.
fn heading_units(layout: &Layout, best: &[(u8, u64)], units: &mut Vec<Unit>) {
    let mut section_best: HashMap<usize, (u8, u64)> = HashMap::new();
    for (row, &b) in layout.rows.iter().zip(best) {
        let e = section_best.entry(row.section).or_insert(b);
        *e = (*e).min(b);
    }
    for h in &layout.headings {
        let (tier, order) = section_best
            .get(&h.section)
            .copied()
            .unwrap_or((FILL, u64::MAX));
        units.push(Unit {
            start: h.start,
            end: h.end,
            tier,
            order,
        });
    }
}

/// The header first; the preamble too when it is short, and a rule under the header when it
/// is cheap; other lines (blank lines, totals, repeated headers) last.
fn header_units(
    layout: &Layout,
    ctx: &Context,
    cost: &dyn Fn(usize) -> usize,
    units: &mut Vec<Unit>,
) {
    let preamble_cost: usize = (0..layout.roles.len())
        .filter(|&i| layout.roles[i] == Role::Preamble)
        .map(cost)
        .sum();
    let preamble_tier = if preamble_cost <= ctx.budget / 4 {
        HEAD
    } else {
        GROUPS
    };
    for (i, role) in layout.roles.iter().enumerate() {
        match role {
            Role::Header if layout.header != Some(i) && cost(i) > ctx.budget / 20 => {
                units.push(Unit::line(i, GROUPS, 0));
            }
            Role::Header => units.push(Unit::line(i, HEAD, 0)),
            Role::Preamble => units.push(Unit::line(i, preamble_tier, 0)),
            Role::Other => units.push(Unit::line(i, FILL, u64::MAX / 2 + i as u64)),
            Role::Row | Role::Heading => {}
        }
    }
}

/// Rows the query names: those with its exact terms or clauses first (most terms first, then
/// by the words' score, then in row order); then rows with a cell its words name (`openssl`
/// names the package `openssl`, `libssl3:amd64` names `libssl3`, `/usr/sbin/sshd` names
/// `sshd`); then rows with its words, best BM25 score first. Only distinctive words count (in
/// at most half the rows): `root` in a listing of root's processes says nothing.
fn query_hits(text: &str, layout: &Layout, ctx: &Context) -> Vec<usize> {
    let q = ctx.query;
    let rows = &layout.rows;
    let n = rows.len();
    if q.is_empty() || n == 0 {
        return Vec::new();
    }
    let texts: Vec<&str> = rows.iter().map(|r| layout.row_text(text, r)).collect();
    let column_of = |field: &str| {
        layout
            .names
            .iter()
            .position(|name| name.trim().eq_ignore_ascii_case(field))
    };
    let items: Vec<Vec<&str>> = match q.words.is_empty() {
        true => Vec::new(),
        false => texts.iter().map(|t| vec![*t]).collect(),
    };
    let mut total = vec![0f64; n];
    for w in &q.words {
        let scores = bm25(&items, std::slice::from_ref(w));
        if scores.iter().filter(|&&s| s > 0.0).count() * 2 <= n {
            for (t, s) in total.iter_mut().zip(&scores) {
                *t += s;
            }
        }
    }
    // Per row: exact terms and clauses matched, and which words name a cell.
    let words = &q.words[..q.words.len().min(64)];
    let mut cells = Vec::new();
    let mut matched: Vec<(usize, u64)> = Vec::with_capacity(n);
    let mut naming_rows = vec![0usize; words.len()];
    for t in &texts {
        layout.cells(t, &mut cells);
        let terms = q
            .exact
            .iter()
            .filter(|term| contains_exact(t, term))
            .count();
        let clauses = q
            .clauses
            .iter()
            .filter(|c| {
                let field = c.path.last().map_or("", String::as_str);
                match column_of(field) {
                    Some(col) => cells
                        .get(col)
                        .is_some_and(|v| v.eq_ignore_ascii_case(&c.value)),
                    None => contains_exact(t, &c.value),
                }
            })
            .count();
        let mut naming = 0u64;
        for (j, w) in words.iter().enumerate() {
            if cells.iter().any(|c| names(c, w)) {
                naming |= 1 << j;
                naming_rows[j] += 1;
            }
        }
        matched.push((terms + clauses, naming));
    }
    let distinctive: u64 = (0..words.len())
        .filter(|&j| naming_rows[j] * 2 <= n)
        .fold(0, |m, j| m | 1 << j);
    let (mut exact, mut named, mut scored) = (Vec::new(), Vec::new(), Vec::new());
    for (i, &(hits, naming)) in matched.iter().enumerate() {
        let naming = (naming & distinctive).count_ones();
        if hits > 0 {
            exact.push((hits, i));
        } else if naming > 0 {
            named.push((naming as usize, i));
        } else if total[i] > 0.0 {
            scored.push(i);
        }
    }
    let by_score = |a: usize, b: usize| total[b].total_cmp(&total[a]).then(a.cmp(&b));
    exact.sort_by(|a, b| b.0.cmp(&a.0).then(by_score(a.1, b.1)));
    named.sort_by(|a, b| b.0.cmp(&a.0).then(by_score(a.1, b.1)));
    scored.sort_by(|&a, &b| by_score(a, b));
    let mut out: Vec<usize> = exact.into_iter().map(|(_, i)| i).collect();
    out.extend(named.into_iter().map(|(_, i)| i));
    out.extend(scored);
    out
}

/// Whether `cell` names `word` (lowercase): is it, or is it before a `:` qualifier
/// (`libssl3:amd64`), or is the last part of a path (`/usr/sbin/sshd`), ignoring case.
fn names(cell: &str, word: &str) -> bool {
    let first = cell.split_ascii_whitespace().next().unwrap_or("");
    let base = first.rsplit('/').next().unwrap_or(first);
    let unqualified = base.split(':').next().unwrap_or(base);
    !word.is_empty()
        && (cell.eq_ignore_ascii_case(word)
            || base.eq_ignore_ascii_case(word)
            || unqualified.eq_ignore_ascii_case(word))
}

/// A value as the marker shows it: at most 24 characters.
fn short(v: &str) -> String {
    let v = v.trim();
    if v.chars().count() <= 24 {
        return v.to_string();
    }
    let mut s: String = v.chars().take(23).collect();
    s.push('…');
    s
}

/// What the marker says was left out.
fn summary(
    text: &str,
    layout: &Layout,
    analysis: &Analysis,
    keep: &[bool],
    size: SummarySize,
) -> String {
    let rows = &layout.rows;
    let dropped: Vec<usize> = (0..rows.len()).filter(|&i| !keep[rows[i].start]).collect();
    let other = (0..keep.len())
        .filter(|&i| !keep[i] && layout.roles[i] != Role::Row)
        .count();
    if dropped.is_empty() {
        return format!("{other} lines omitted (no rows); retrieve for the whole original");
    }
    let mut parts = vec![format!("{} of {} rows omitted", dropped.len(), rows.len())];
    for cat in analysis
        .categories
        .iter()
        .filter(|c| c.values.len() >= 2)
        .take(size.categories)
    {
        let mut counts = vec![0usize; cat.values.len()];
        for &r in &dropped {
            if let Some(c) = counts.get_mut(cat.of_row[r] as usize) {
                *c += 1;
            }
        }
        let mut by: Vec<(usize, usize)> = counts
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, c)| *c > 0)
            .collect();
        if by.is_empty() {
            continue;
        }
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut s = format!("{} ", short(&analysis.columns[cat.column].name));
        let shown: Vec<String> = by
            .iter()
            .take(size.values)
            .map(|&(id, c)| format!("{} {c}", short(&cat.values[id].0)))
            .collect();
        s.push_str(&shown.join(", "));
        if by.len() > size.values {
            s.push_str(&format!(", {} more", by.len() - size.values));
        }
        parts.push(s);
    }
    parts.extend(ranges(text, layout, analysis, &dropped, size.ranges));
    let standing = dropped
        .iter()
        .filter(|&&r| analysis.score[r] >= STANDS_OUT)
        .count();
    match standing {
        0 => {}
        1 => parts.push("1 row that stands out among them".to_string()),
        k => parts.push(format!("{k} rows that stand out among them")),
    }
    parts.push("retrieve with a query for rows you need".to_string());
    parts.join("; ")
}

/// `PID 2..48213`: the range of sorted columns (then numeric ones) over the rows left out.
fn ranges(
    text: &str,
    layout: &Layout,
    analysis: &Analysis,
    dropped: &[usize],
    most: usize,
) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = |r: usize, col: usize| -> String {
        layout.cells(layout.row_text(text, &layout.rows[r]), &mut cells);
        short(cells.get(col).copied().unwrap_or(""))
    };
    let mut out = Vec::new();
    let mut order: Vec<usize> = (0..analysis.columns.len())
        .filter(|&c| {
            let col = &analysis.columns[c];
            col.sorted || col.holds == Holds::Number
        })
        .collect();
    order.sort_by_key(|&c| !analysis.columns[c].sorted);
    for c in order {
        if out.len() >= most {
            break;
        }
        let col = &analysis.columns[c];
        let (lo, hi) = match analysis.numbers.iter().find(|n| n.column == c) {
            Some(num) => {
                let present = dropped.iter().filter(|&&r| num.values[r].is_finite());
                let lo = present
                    .clone()
                    .min_by(|&&a, &&b| num.values[a].total_cmp(&num.values[b]));
                let hi = present.max_by(|&&a, &&b| num.values[a].total_cmp(&num.values[b]));
                match (lo, hi) {
                    (Some(&lo), Some(&hi)) => (lo, hi),
                    _ => continue,
                }
            }
            // Rows are sorted within each section only (`ls -R`).
            None if col.sorted && layout.headings.len() <= 1 => {
                match (dropped.first(), dropped.last()) {
                    (Some(&lo), Some(&hi)) => (lo, hi),
                    _ => continue,
                }
            }
            None => continue,
        };
        let (a, b) = (cell(lo, c), cell(hi, c));
        if a.is_empty() && b.is_empty() {
            continue;
        }
        out.push(format!("{} {a}..{b}", short(&col.name)));
    }
    out
}

/// The kept lines, a note for every run of left-out ones, and the marker.
fn render_table(
    lines: &[&str],
    kinds: &[u8],
    keep: &[bool],
    cut: &HashMap<usize, usize>,
    detail: Detail,
    key: &Key,
    summary: &dyn Fn(&[bool]) -> String,
) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < lines.len() {
        if keep[i] {
            match cut.get(&i) {
                Some(&shown) => {
                    let line = content(lines[i]);
                    out.push_str(&line[..shown]);
                    out.push_str(&format!(
                        " …[{} more bytes of this line cut]\n",
                        line.len() - shown
                    ));
                }
                None => out.push_str(lines[i]),
            }
            i += 1;
            continue;
        }
        let (mut rows, mut sections, start) = (0, 0, i);
        while i < lines.len() && !keep[i] {
            rows += usize::from(kinds[i] == 1);
            sections += usize::from(kinds[i] == 2);
            i += 1;
        }
        if detail == Detail::Full {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&gap_note(rows, sections, i - start));
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&marker(key, &summary(keep)));
    out.push('\n');
    out
}

/// `[… 212 rows …]`, `[… 40 rows, 3 sections …]`, `[… 2 lines …]`.
fn gap_note(rows: usize, sections: usize, lines: usize) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    match (rows, sections) {
        (0, 0) => format!("[… {} …]\n", plural(lines, "line", "lines")),
        (r, 0) => format!("[… {} …]\n", plural(r, "row", "rows")),
        (r, s) => format!(
            "[… {}, {} …]\n",
            plural(r, "row", "rows"),
            plural(s, "section", "sections")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::entry;
    use crate::context::with_context;
    use crate::Store;

    fn dpkg(n: usize) -> String {
        let mut t = String::from(
            "Desired=Unknown/Install/Remove/Purge/Hold\n\
| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n\
|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n\
||/ Name                      Version          Architecture Description\n\
+++-=========================-================-============-==================================\n",
        );
        for i in 0..n {
            let (status, name) = match i {
                700 => ("iU", "openssl".to_string()),
                _ => ("ii", format!("lib-package-{i:04}")),
            };
            let arch = if i % 4 == 0 { "all" } else { "amd64" };
            t.push_str(&format!(
                "{status}  {name:<25} {:<16} {arch:<12} support library number {i} for things\n",
                format!("1.{}.{}-{}", i % 7, i % 13, i % 3)
            ));
        }
        t
    }

    #[test]
    fn a_half_installed_package_stands_out_and_the_budget_is_used() {
        let text = dpkg(2000);
        for budget in [200, 500, 2000] {
            let (out, store) = with_context(&text, "", budget, |ctx| {
                let out = compress_table(&text, ctx).unwrap();
                let tokens = ctx.counter.count(&out.output);
                assert!(tokens <= budget, "{tokens} > {budget}");
                assert!(tokens * 10 >= budget * 6, "{tokens} of {budget}");
                out
            });
            assert!(out.output.contains("iU  openssl "), "{}", out.output);
            assert!(
                out.output.starts_with("Desired=") || budget < 500,
                "{}",
                out.output
            );
            assert!(out.output.contains("||/ Name"));
            let e = store.get("t", &out.ccr_keys[0]).unwrap();
            assert_eq!(entry::decode(&e).unwrap().original, text.as_bytes());
            let last = out.output.lines().last().unwrap();
            assert!(last.contains("rows omitted; ||/ ii "), "{last}");
        }
    }

    #[test]
    fn the_query_names_the_row() {
        let text = dpkg(2000);
        let (out, _) = with_context(&text, "is lib-package-1234 installed", 200, |ctx| {
            compress_table(&text, ctx).unwrap()
        });
        assert!(out.output.contains("lib-package-1234 "), "{}", out.output);
        let (out, _) = with_context(&text, "which version of openssl", 200, |ctx| {
            compress_table(&text, ctx).unwrap()
        });
        assert!(out.output.contains("openssl "), "{}", out.output);
    }

    #[test]
    fn a_clause_names_a_column() {
        let mut text = String::from("NAME                 READY   STATUS    RESTARTS   AGE\n");
        for i in 0..300 {
            let status = if i % 10 == 7 { "Pending" } else { "Running" };
            // Other rows say "pending" in their names, not in their STATUS.
            let name = match i % 10 {
                3 => format!("pending-job-{i}"),
                _ => format!("web-{i}"),
            };
            text.push_str(&format!(
                "{name:<20} 1/1     {status:<9} 0          {}d\n",
                i % 30
            ));
        }
        let (out, _) = with_context(&text, "pods with STATUS = pending", 200, |ctx| {
            compress_table(&text, ctx).unwrap()
        });
        // Thirty rows match, more than fit: the rows shown are all of them.
        let rows: Vec<&str> = out
            .output
            .lines()
            .filter(|l| l.starts_with("web-") || l.starts_with("pending-"))
            .collect();
        assert!(rows.len() >= 3, "{}", out.output);
        assert!(
            rows.iter().all(|l| l.contains(" Pending ")),
            "{}",
            out.output
        );
    }

    #[test]
    fn sections_keep_their_headings() {
        let mut text = String::new();
        for d in 0..40 {
            text.push_str(&format!("/srv/d{d}:\ntotal 48\n"));
            for f in 0..12 {
                let size = 1000 + (d * 12 + f) % 300;
                text.push_str(&format!(
                    "-rw-r--r-- 1 root root {size:>6} Dec  4 15:58 file-{f}.txt\n"
                ));
            }
            if d == 27 {
                text.push_str("-rw------- 1 root root 2147483648 Dec  4 15:58 core\n");
            }
            text.push('\n');
        }
        let (out, _) = with_context(&text, "", 500, |ctx| compress_table(&text, ctx).unwrap());
        let o = &out.output;
        let core = o.find(" core\n").expect("the core dump is shown");
        let heading = o.find("/srv/d27:\n").expect("with its heading");
        assert!(heading < core);
        assert!(o.contains("sections …]"), "{o}");
    }
}
