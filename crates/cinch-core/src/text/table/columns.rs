//! What a table's columns hold, and which rows stand out.
//!
//! A column is **numeric** when nearly all its cells are numbers (`12G`, `61%`, `0.3`, `-20`),
//! a **category** when its values (or, failing that, their digit-masked shapes: `Up # hours`,
//! `Exited (#) # minutes ago`) come from a small set, and **sorted** when its values rise (or
//! fall) from row to row within a section. Clock times and dates are neither.
//!
//! A row stands out by a score summed from what is unusual in it: an error word in a category
//! cell (a `STATUS` of `Error`) more than one in free text; a permission string that is setuid
//! or world-writable; a core dump's name; a category value seen once or rarely (`iU` among
//! `ii`, a `STAT` of `Z`); a number far above its column by the robust z-score (median and
//! MAD, on a log scale for columns spanning orders of magnitude, by the mean absolute deviation
//! when most values are equal).

use super::layout::{is_mode, shape_of, Layout, MAX_COLUMNS};
use crate::text::lines::error_re;
use regex::Regex;
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// Distinct values (or shapes) tracked per column; a column with more is not a category.
const TRACKED: usize = 64;
/// Rows looked at closely (with the row before each) to tell what a column holds.
const SAMPLED: usize = 4096;
/// Numeric columns whose values are kept for outliers and ranges.
const NUMERIC_KEPT: usize = 8;
/// A row whose score reaches this stands out.
pub(crate) const STANDS_OUT: f32 = 3.0;
/// The robust z-score from which a number is far above its column.
const OUTLIER_Z: f64 = 3.5;

/// A number as shells print them: `12`, `-0.5`, `61%`, `4.0K`, `12Gi`, `3MB`.
pub(crate) fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let s = s.strip_suffix('%').unwrap_or(s);
    let (digits, scale) = match s.as_bytes().last()? {
        b'B' => {
            let t = &s[..s.len() - 1];
            let t = t.strip_suffix('i').unwrap_or(t);
            unit(t)
        }
        b'i' => unit(&s[..s.len() - 1]),
        _ => unit(s),
    };
    let b = digits.as_bytes();
    let body = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    if body.is_empty()
        || !body.bytes().all(|c| c.is_ascii_digit() || c == b'.')
        || !body.bytes().any(|c| c.is_ascii_digit())
        || body.bytes().filter(|&c| c == b'.').count() > 1
        || b.len() > 32
    {
        return None;
    }
    digits.parse::<f64>().ok().map(|v| v * scale)
}

/// Splits a size suffix (`K`, `M`, `G`, `T`, `P`) off `s`.
fn unit(s: &str) -> (&str, f64) {
    let scale = match s.as_bytes().last() {
        Some(b'K' | b'k') => 1024f64,
        Some(b'M') => 1024f64.powi(2),
        Some(b'G') => 1024f64.powi(3),
        Some(b'T') => 1024f64.powi(4),
        Some(b'P') => 1024f64.powi(5),
        _ => return (s, 1.0),
    };
    (&s[..s.len() - 1], scale)
}

/// A clock time, a date, a month's name or a year (`15:58`, `0:02.50`, `2026-04-27`,
/// `12/31/24`, `Dec`, `2023`): what `ls -l` and `ps` print for when, which is neither a
/// category nor a quantity.
fn timeish(value: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `Dec`, `Nov30` (`ps`'s START for older processes).
    let month = MONTHS.iter().any(|m| {
        value
            .strip_prefix(m)
            .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_digit()))
    });
    if month {
        return true;
    }
    if value.len() == 4 && value.bytes().all(|b| b.is_ascii_digit()) {
        return matches!(value.parse::<u32>(), Ok(1970..=2099));
    }
    let b = value.as_bytes();
    let digit_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let joined = |sep: &[u8]| {
        (1..b.len()).any(|i| sep.contains(&b[i]) && digit_at(i - 1) && digit_at(i + 1))
    };
    if joined(b":") {
        return true;
    }
    // Three numbers joined by `-` or `/`: a date, not a version or a ratio.
    joined(b"-/")
        && value
            .split(['-', '/', 'T', ' '])
            .filter(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
            .count()
            >= 3
}

/// The name of a core dump or crash file.
fn core_dump(name: &str) -> bool {
    let quick = ["core", "crash", "dmp", "hs_err"];
    if !quick.iter().any(|q| name.contains(q)) {
        return false;
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:core|vgcore)(?:\.\d+)?$|\.(?:core|crash|dmp)$|^hs_err_pid\d+\.log$")
            .expect("valid pattern")
    })
    .is_match(name)
}

/// How much a permission string is worth a look: a file writable by anyone (symbolic links,
/// and directories with the sticky bit like `/tmp`, are writable by anyone as a matter of
/// course), a setuid or setgid file (a setgid directory only passes its group on), or both.
fn mode_alarm(mode: &str) -> f32 {
    let b = mode.as_bytes();
    if !is_mode(mode) || b.len() < 10 {
        return 0.0;
    }
    let dir = b[0] == b'd';
    let setid = (matches!(b[3], b's' | b'S') || matches!(b[6], b's' | b'S')) && !dir;
    let sticky = matches!(b[9], b't' | b'T');
    let world_writable = b[8] == b'w' && b[0] != b'l' && !(dir && sticky);
    match (setid, world_writable) {
        (true, true) => 9.0,
        (false, true) => 7.0,
        (true, false) => 6.5,
        (false, false) => 0.0,
    }
}

/// A hash of the digit-masked shape of `value`, without building it.
fn shape_hash(value: &str) -> u64 {
    let mut h = FxHasher::default();
    let mut digits = false;
    for c in value.chars().take(64) {
        if c.is_ascii_digit() {
            if !digits {
                '#'.hash(&mut h);
            }
            digits = true;
        } else {
            digits = false;
            c.hash(&mut h);
        }
    }
    h.finish()
}

/// `a` and `b` compared the way listings sort names: letters and digits only, case folded.
fn name_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(s: &str) -> impl Iterator<Item = char> + '_ {
        s.chars()
            .take(64)
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
    }
    key(a).cmp(key(b))
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holds {
    /// Free text, ids, times.
    Text,
    /// A small set of values (`by_shape`: of digit-masked shapes).
    Category {
        /// Counted by shape.
        by_shape: bool,
    },
    /// Numbers.
    Number,
}

/// One column.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    /// Its name.
    pub name: String,
    /// What it holds.
    pub holds: Holds,
    /// Rises or falls from row to row.
    pub sorted: bool,
}

/// A category column's values and each row's.
#[derive(Debug)]
pub(crate) struct Category {
    /// The column.
    pub column: usize,
    /// Values (shapes, for a column counted by shape) and how many rows have each.
    pub values: Vec<(String, usize)>,
    /// Each row's value, an index into `values` (`u32::MAX`: no cell).
    pub of_row: Vec<u32>,
}

/// A numeric column's values, by row (`NaN` where a row has none).
#[derive(Debug)]
pub(crate) struct Numbers {
    /// The column.
    pub column: usize,
    /// By row.
    pub values: Vec<f64>,
}

/// What the columns hold and how much each row stands out.
#[derive(Debug)]
pub(crate) struct Analysis {
    /// The columns.
    pub columns: Vec<Column>,
    /// The category columns.
    pub categories: Vec<Category>,
    /// The numeric columns (the first [`NUMERIC_KEPT`]).
    pub numbers: Vec<Numbers>,
    /// Each row's template: the values of its category columns, numbered by first appearance.
    pub template: Vec<u32>,
    /// Rows of each template.
    pub template_sizes: Vec<usize>,
    /// How much each row stands out (see the module docs).
    pub score: Vec<f32>,
}

/// The shapes of counted values, with their counts.
fn shapes_of<'t>(raw: &FxHashMap<&'t str, usize>) -> FxHashMap<u64, (usize, &'t str)> {
    let mut shapes: FxHashMap<u64, (usize, &'t str)> = FxHashMap::default();
    for (v, k) in raw {
        shapes.entry(shape_hash(v)).or_insert((0, v)).0 += k;
    }
    shapes
}

/// Counts over one column: every value for the categories, a sample of rows (each with the
/// row before it) for what kind of values they are and whether they are sorted.
#[derive(Default)]
struct Stats<'t> {
    sampled: usize,
    numeric: usize,
    times: usize,
    raw: Option<FxHashMap<&'t str, usize>>,
    shapes: Option<FxHashMap<u64, (usize, &'t str)>>,
    num_pairs: usize,
    num_up: usize,
    num_down: usize,
    str_pairs: usize,
    str_up: usize,
    str_down: usize,
}

impl<'t> Stats<'t> {
    fn new() -> Stats<'t> {
        Stats {
            raw: Some(FxHashMap::default()),
            ..Stats::default()
        }
    }

    /// Counts `value` (every row): by value while there are few, then by shape (the shapes
    /// of the values counted so far taken over with their counts).
    fn count(&mut self, value: &'t str) {
        if value.is_empty() {
            return;
        }
        if let Some(raw) = &mut self.raw {
            if raw.len() < TRACKED || raw.contains_key(value) {
                *raw.entry(value).or_default() += 1;
                return;
            }
            self.shapes = Some(shapes_of(raw));
            self.raw = None;
        }
        if let Some(shapes) = &mut self.shapes {
            let h = shape_hash(value);
            let full = shapes.len() >= TRACKED && !shapes.contains_key(&h);
            if full {
                self.shapes = None;
            } else {
                shapes.entry(h).or_insert((0, value)).0 += 1;
            }
        }
    }

    /// Counts by shape from here on (when there are too many values for a category).
    fn by_shape(&mut self) {
        if let Some(raw) = self.raw.take() {
            self.shapes = Some(shapes_of(&raw));
        }
    }

    /// Looks at `value` of a sampled row, and `prev`, the value of the row before it in the
    /// same section.
    fn sample(&mut self, value: &str, prev: Option<&str>) {
        if value.is_empty() {
            return;
        }
        self.sampled += 1;
        self.times += usize::from(timeish(value));
        let num = number(value);
        let prev = prev.filter(|p| !p.is_empty());
        if let Some(v) = num {
            self.numeric += 1;
            if let Some(p) = prev.and_then(number) {
                self.num_pairs += 1;
                self.num_up += usize::from(v > p);
                self.num_down += usize::from(v < p);
            }
        }
        if let Some(p) = prev {
            self.str_pairs += 1;
            match name_order(p, value) {
                std::cmp::Ordering::Less => self.str_up += 1,
                std::cmp::Ordering::Greater => self.str_down += 1,
                std::cmp::Ordering::Equal => {}
            }
        }
    }

    /// A category of few values, else of few shapes, else text.
    fn category(&mut self, rows: usize) -> Holds {
        let raw_limit = (rows / 4).clamp(2, 32);
        let shape_limit = (rows / 8).clamp(2, 16);
        if self.raw.as_ref().is_some_and(|m| m.len() <= raw_limit) {
            return Holds::Category { by_shape: false };
        }
        self.by_shape();
        match self.shapes.as_ref().is_some_and(|m| m.len() <= shape_limit) {
            true => Holds::Category { by_shape: true },
            false => Holds::Text,
        }
    }

    /// Rises (or falls) nearly always, and not by staying equal.
    fn sorted(pairs: usize, up: usize, down: usize, slack: f64) -> bool {
        pairs >= 3
            && ((down as f64 <= slack * pairs as f64 && up * 2 >= pairs)
                || (up as f64 <= slack * pairs as f64 && down * 2 >= pairs))
    }

    /// What the column holds, from its counts (`rows` rows in all).
    fn column(&mut self, name: &str, rows: usize) -> Column {
        let numeric = self.sampled >= 3 && self.numeric * 10 >= self.sampled * 9;
        let times = self.times * 2 >= self.sampled.max(1);
        let holds = if numeric {
            Holds::Number
        } else if times || rows < 5 || self.sampled == 0 {
            Holds::Text
        } else {
            self.category(rows)
        };
        let sorted = if numeric {
            Stats::sorted(self.num_pairs, self.num_up, self.num_down, 0.02)
        } else {
            holds == Holds::Text
                && !times
                && Stats::sorted(self.str_pairs, self.str_up, self.str_down, 0.05)
        };
        Column {
            name: name.to_string(),
            holds,
            sorted,
        }
    }
}

impl Analysis {
    /// Analyses the rows of `layout` over `text`.
    pub fn of(text: &str, layout: &Layout) -> Analysis {
        let rows = &layout.rows;
        let n = rows.len();
        let width = layout.names.len().clamp(1, MAX_COLUMNS);
        let mut cells: Vec<&str> = Vec::new();

        // Pass one: what each column holds.
        let mut stats: Vec<Stats> = (0..width).map(|_| Stats::new()).collect();
        let step = n.div_ceil(SAMPLED).max(1);
        let mut prev: Vec<&str> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            layout.cells(layout.row_text(text, r), &mut cells);
            let sampled = i % step == 0;
            let same = i > 0 && rows[i - 1].section == r.section;
            if sampled && i > 0 && step > 1 {
                layout.cells(layout.row_text(text, &rows[i - 1]), &mut prev);
            }
            for (c, st) in stats.iter_mut().enumerate() {
                let value = cells.get(c).copied().unwrap_or("");
                st.count(value);
                if sampled {
                    let before = same.then(|| prev.get(c).copied().unwrap_or(""));
                    st.sample(value, before);
                }
            }
            if step == 1 {
                std::mem::swap(&mut prev, &mut cells);
            }
        }
        let columns: Vec<Column> = stats
            .iter_mut()
            .zip(&layout.names)
            .zip(&layout.quiet)
            .map(|((st, name), &quiet)| match quiet {
                true => Column {
                    name: name.clone(),
                    holds: Holds::Text,
                    sorted: false,
                },
                false => st.column(name, n),
            })
            .collect();

        // Ids of category values.
        let mut categories = Vec::new();
        let mut raw_ids: Vec<FxHashMap<&str, u32>> = Vec::new();
        let mut shape_ids: Vec<FxHashMap<u64, u32>> = Vec::new();
        for (c, col) in columns.iter().enumerate() {
            let Holds::Category { by_shape } = col.holds else {
                continue;
            };
            let mut values = Vec::new();
            let (mut raw, mut shapes) = (FxHashMap::default(), FxHashMap::default());
            if by_shape {
                let mut all: Vec<(&u64, &(usize, &str))> =
                    stats[c].shapes.iter().flatten().collect();
                all.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(b.1 .1)));
                for (h, (count, example)) in all {
                    shapes.insert(*h, values.len() as u32);
                    values.push((shape_of(example), *count));
                }
            } else {
                let mut all: Vec<(&&str, &usize)> = stats[c].raw.iter().flatten().collect();
                all.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                for (v, count) in all {
                    raw.insert(*v, values.len() as u32);
                    values.push((v.to_string(), *count));
                }
            }
            raw_ids.push(raw);
            shape_ids.push(shapes);
            categories.push(Category {
                column: c,
                values,
                of_row: Vec::with_capacity(n),
            });
        }
        let mut numbers: Vec<Numbers> = columns
            .iter()
            .enumerate()
            .filter(|(_, col)| col.holds == Holds::Number)
            .take(NUMERIC_KEPT)
            .map(|(c, _)| Numbers {
                column: c,
                values: Vec::with_capacity(n),
            })
            .collect();

        // Process state columns (`ps`'s STAT, `top`'s S): a zombie or a process stuck in
        // uninterruptible sleep is trouble whatever its count.
        let states: Vec<bool> = categories
            .iter()
            .map(|cat| {
                let total: usize = cat.values.iter().map(|v| v.1).sum();
                let like: usize = cat
                    .values
                    .iter()
                    .filter(|v| process_state(&v.0))
                    .map(|v| v.1)
                    .sum();
                !cat.values.is_empty() && like * 10 >= total * 9
            })
            .collect();

        // What each category value says, once per value: how rare, an error, trouble. (A shape
        // stands for its values; their rarity is the shape's, their words the example's.)
        let flags: Vec<Vec<(f32, bool, bool)>> = categories
            .iter()
            .zip(&states)
            .map(|(cat, &state)| {
                (0..cat.values.len())
                    .map(|id| {
                        let v = cat.values[id].0.as_str();
                        (
                            rarity(&cat.values, id, n),
                            error_re().is_match(v),
                            state && v.starts_with(['Z', 'D', 'X']),
                        )
                    })
                    .collect()
            })
            .collect();

        // Pass two: each row's values, template and what stands out in it.
        let mut template = Vec::with_capacity(n);
        let mut templates: FxHashMap<u64, u32> = FxHashMap::default();
        let mut template_sizes: Vec<usize> = Vec::new();
        let mut rare = vec![0f32; n];
        let mut marks = vec![Marks::default(); n];
        let mut ids: Vec<u32> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            let row = layout.row_text(text, r);
            layout.cells(row, &mut cells);
            ids.clear();
            let m = &mut marks[i];
            for (k, cat) in categories.iter_mut().enumerate() {
                let cell = cells.get(cat.column).copied().unwrap_or("");
                let id = if cell.is_empty() {
                    None
                } else if columns[cat.column].holds == (Holds::Category { by_shape: true }) {
                    shape_ids[k].get(&shape_hash(cell)).copied()
                } else {
                    raw_ids[k].get(cell).copied()
                };
                let id = id.unwrap_or(u32::MAX);
                cat.of_row.push(id);
                ids.push(id);
                if id != u32::MAX {
                    let (rare_here, error, trouble) = flags[k][id as usize];
                    rare[i] = rare[i].max(rare_here);
                    m.category_error |= error;
                    m.trouble |= trouble;
                }
            }
            let mut h = FxHasher::default();
            ids.hash(&mut h);
            let next = template_sizes.len() as u32;
            let t = *templates.entry(h.finish()).or_insert(next);
            if t == next {
                template_sizes.push(0);
            }
            template_sizes[t as usize] += 1;
            template.push(t);
            for num in &mut numbers {
                let v = cells
                    .get(num.column)
                    .and_then(|c| number(c))
                    .unwrap_or(f64::NAN);
                num.values.push(v);
            }
            m.error = !m.category_error && error_words(row);
            m.trouble |= trouble_re().is_match(row);
            m.mode = cells.first().map_or(0.0, |c| mode_alarm(c));
            // A cell that is a file's name (`core`, `core -> /x`), not text mentioning one.
            m.core = cells.iter().any(|c| {
                let mut words = c.split_ascii_whitespace();
                let first = words.next().unwrap_or("");
                let name = first.rsplit('/').next().unwrap_or(first);
                name.len() >= 4 && words.count() <= 2 && core_dump(name)
            });
        }
        let mut far = vec![0f32; n];
        for num in &numbers {
            if columns[num.column].sorted {
                continue;
            }
            for (i, z) in robust_z(&num.values).into_iter().enumerate() {
                if z >= OUTLIER_Z {
                    far[i] = far[i].max((3.5 + 1.5 * (z / OUTLIER_Z).ln()).min(8.0) as f32);
                }
            }
        }
        let score = (0..n).map(|i| marks[i].score(rare[i], far[i])).collect();
        Analysis {
            columns,
            categories,
            numbers,
            template,
            template_sizes,
            score,
        }
    }
}

/// What stands out in a row, besides rare values and far numbers.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    /// An error word in a category cell (a STATUS of `Error`).
    category_error: bool,
    /// An error word elsewhere.
    error: bool,
    /// A word for trouble (`defunct`, `CrashLoopBackOff`, `OOMKilled`), or a zombie's state.
    trouble: bool,
    /// A setuid or world-writable mode (see [`mode_alarm`]).
    mode: f32,
    /// A core dump.
    core: bool,
}

impl Marks {
    /// The row's score: its strongest reason, and a little for each other one.
    fn score(&self, rare: f32, far: f32) -> f32 {
        let reasons = [
            if self.category_error { 10.0 } else { 0.0 },
            if self.trouble { 6.0 } else { 0.0 },
            self.mode,
            if self.core { 6.0 } else { 0.0 },
            if self.error { 3.0 } else { 0.0 },
            rare,
            far,
        ];
        let strongest = reasons.iter().copied().fold(0.0, f32::max);
        let others = reasons
            .iter()
            .filter(|&&r| r > 0.0)
            .count()
            .saturating_sub(1);
        strongest + 0.5 * others as f32
    }
}

/// Words for a process, container or pod in trouble.
fn trouble_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?i)(?-u:\b)(?:defunct|zombie|crashloopbackoff|imagepullbackoff|errimagepull|oomkilled|evicted|unhealthy|notready|exited \([1-9]\d*\))")
            .expect("valid pattern")
    })
}

/// An error word in `row`, other than in a command-line option, a `key=value` setting or a
/// path (`--error-format=json`, `log_level=error`, `github.com/pkg/errors`), or glued into a
/// name (`libgpg-error-dev`, `Error.pm`): those say nothing about the row.
fn error_words(row: &str) -> bool {
    let b = row.as_bytes();
    // The word's token, looked for within a bounded distance (a token longer than that is no
    // word of a message).
    const REACH: usize = 256;
    error_re().find_iter(row).any(|m| {
        let from = m.start().saturating_sub(REACH);
        let Some(start) = (from..=m.start())
            .rev()
            .find(|&i| i == 0 || b[i - 1].is_ascii_whitespace())
        else {
            return false;
        };
        let to = (m.end() + REACH).min(row.len());
        let Some(end) = (m.end()..=to).find(|&i| i == row.len() || b[i].is_ascii_whitespace())
        else {
            return false;
        };
        let Some(token) = row.get(start..end) else {
            return false;
        };
        let before = m.start().checked_sub(1).map(|i| b[i]);
        let after = b.get(m.end()).copied();
        let glued = matches!(before, Some(b'-' | b'_' | b'.'))
            || matches!(after, Some(b'-' | b'_'))
            || (after == Some(b'.') && b.get(m.end() + 1).is_some_and(u8::is_ascii_alphanumeric));
        !(token.starts_with('-') || token.contains(['=', '/']) || glued)
    })
}

/// A process state code as `ps` and `top` print it (`S`, `Ssl`, `I<`, `R+`, `Z`, `D`).
fn process_state(v: &str) -> bool {
    let mut chars = v.chars();
    chars.next().is_some_and(|c| "RSDZTtWXIP".contains(c)) && chars.all(|c| "<NLsl+".contains(c))
}

/// How surprising value `id` is in its column: seen once or in under one row in a hundred, and
/// rare against the whole (or, in a short table, once where one value fills half the rows).
fn rarity(values: &[(String, usize)], id: usize, rows: usize) -> f32 {
    let count = values.get(id).map_or(0, |v| v.1);
    let top = values.first().map_or(0, |v| v.1);
    if count == 0 || count > (rows / 100).max(1) {
        return 0.0;
    }
    let ratio = rows as f64 / count as f64;
    let short_table = count == 1 && rows >= 6 && top * 2 >= rows;
    if ratio >= 20.0 || short_table {
        ratio.ln().clamp(3.0, 8.0) as f32
    } else {
        0.0
    }
}

/// The middle of `v` (which it reorders).
fn median(v: &mut [f64]) -> f64 {
    let mid = v.len() / 2;
    v.select_nth_unstable_by(mid, f64::total_cmp);
    v[mid]
}

/// Each value's robust z-score (0 for a missing value): how far above the median, in median
/// absolute deviations (or mean absolute deviations when most values are equal), on a log scale
/// when the values span orders of magnitude.
fn robust_z(values: &[f64]) -> Vec<f64> {
    let mut present: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let mut out = vec![0.0; values.len()];
    if present.len() < 8 {
        return out;
    }
    let mid = median(&mut present);
    let max = present.iter().copied().fold(f64::MIN, f64::max);
    let min = present.iter().copied().fold(f64::MAX, f64::min);
    let log = min >= 0.0 && (max + 1.0) / (mid + 1.0) > 100.0;
    let scale_of = |v: f64| if log { v.ln_1p() } else { v };
    let mut scaled: Vec<f64> = present.iter().map(|&v| scale_of(v)).collect();
    let center = median(&mut scaled);
    let mut dev: Vec<f64> = scaled.iter().map(|v| (v - center).abs()).collect();
    let mad = median(&mut dev);
    let spread = if mad > 0.0 {
        mad / 0.6745
    } else {
        let mean = dev.iter().sum::<f64>() / dev.len() as f64;
        mean * 1.2533
    };
    // A column of nearly equal values makes any other value look far: a value is far only when
    // it is also well above the usual one (half of it; on a log scale, a factor of about 1.6).
    let spread = spread.max(if log { 0.5 } else { 0.5 * center.abs() });
    if spread <= 0.0 || !spread.is_finite() {
        return out;
    }
    for (o, &v) in out.iter_mut().zip(values) {
        if v.is_finite() {
            *o = (scale_of(v) - center) / spread;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::lines_of;

    #[test]
    fn numbers_as_shells_print_them() {
        assert_eq!(number("12"), Some(12.0));
        assert_eq!(number("61%"), Some(61.0));
        assert_eq!(number("4.0K"), Some(4096.0));
        assert_eq!(number("1.5Gi"), Some(1.5 * 1024f64.powi(3)));
        assert_eq!(number("-20"), Some(-20.0));
        for s in [
            "", "-", "v1.2", "1.2.3", "0x1f", "3d", "nan", "inf", "15:58", "1,234",
        ] {
            assert_eq!(number(s), None, "{s}");
        }
    }

    #[test]
    fn modes_and_names_worth_a_look() {
        assert!(mode_alarm("-rwsrwxrwx") > mode_alarm("-rw-rw-rw-"));
        assert!(mode_alarm("-rw-rw-rw-") > mode_alarm("-rwsr-xr-x"));
        assert!(mode_alarm("-rwsr-xr-x") > 0.0);
        for quiet in ["drwxrwxrwt", "lrwxrwxrwx", "-rw-r--r--", "drwxrws---"] {
            assert_eq!(mode_alarm(quiet), 0.0, "{quiet}");
        }
        assert!(core_dump("core") && core_dump("core.4711") && core_dump("app.crash"));
        assert!(!core_dump("corelib.so") && !core_dump("score"));
        assert!(timeish("15:58") && timeish("2026-04-27") && timeish("0:02.50"));
        assert!(timeish("Dec") && timeish("2023") && timeish("Nov30"));
        assert!(!timeish("4096") && !timeish("Decimal"));
        assert!(!timeish("1/1") && !timeish("1.2.5-1") && !timeish("3.0.11-1"));
    }

    #[test]
    fn a_far_number_and_a_rare_status_stand_out() {
        let mut text = String::from("USER PID %CPU STAT COMMAND\n");
        for i in 0..200 {
            let (cpu, stat) = match i {
                50 => ("97.3", "R"),
                120 => ("0.0", "Z"),
                _ => ("0.0", if i % 3 == 0 { "Ss" } else { "S" }),
            };
            text.push_str(&format!(
                "root {} {cpu} {stat} /usr/bin/thing{i}\n",
                100 + i
            ));
        }
        let lines = lines_of(&text);
        let layout = Layout::of(&text, &lines);
        let a = Analysis::of(&text, &layout);
        assert_eq!(a.columns[1].holds, Holds::Number);
        assert!(a.columns[1].sorted, "PID rises");
        assert_eq!(a.columns[3].holds, Holds::Category { by_shape: false });
        let standing: Vec<usize> = (0..200).filter(|&i| a.score[i] >= STANDS_OUT).collect();
        assert_eq!(standing, vec![50, 120]);
        assert_eq!(a.template_sizes.iter().sum::<usize>(), 200);
    }

    #[test]
    fn error_words_that_say_something() {
        assert!(error_words("job 7 failed: connection refused"));
        assert!(error_words(
            "E: Sub-process /usr/bin/dpkg returned an error code (1)"
        ));
        for quiet in [
            "rustc --error-format=json x.rs",
            "github.com/pkg/errors git 839d9e9",
            "ii  libgpg-error-dev  1.46  amd64  library",
            "-rw-r--r-- 1 root root 160 Jan  8  2023 Error.pm",
            "app --log-level error",
        ] {
            assert!(!error_words(quiet) || quiet.starts_with("app"), "{quiet}");
        }
    }

    #[test]
    fn robust_z_on_a_column_of_mostly_zeros() {
        let mut v = vec![0.0; 95];
        v.extend([0.1, 0.3, 0.5, 1.0, 97.0]);
        let z = robust_z(&v);
        assert!(z[99] > 20.0, "{}", z[99]);
        assert!(z[97] < OUTLIER_Z);
    }
}
