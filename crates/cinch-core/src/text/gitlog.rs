//! Git logs (`git log` in its forms: the default, `--stat`, `--shortstat`, `-p`,
//! `--name-status`, `--name-only`, `--format=fuller`, `--pretty=raw`, `--oneline`,
//! `--pretty=oneline`, `--graph`, `--decorate`): every commit listed, the rest by rank.
//!
//! The log is parsed by structure, not line by line: a `commit HASH` line, its header lines up
//! to the first empty line, the message (every line indented by four spaces, so a message line
//! that starts with `+`, `-` or `@@` is message, never patch), then what the commit changed
//! (a stat, names, or a patch from `diff --git` on). `--graph` drawing is read off each line
//! with the width it has on the commit's first line. One-line logs (`--oneline`, and the
//! graphs of them) have one line per commit.
//!
//! Over the budget, lines are shown by rank (see [`super::fit`]):
//!
//! 1. every commit's listing: its subject line, under a one-line note for its header
//!    (`[commit 1b49bb9052 · 2026-11-25 · Author Name]`) unless the header itself is shown,
//!    newest first and never one after a commit that did not fit; when every listing fits
//!    only with the longest subjects cut, they are cut to a common length. Commits the query
//!    names (a hash, an author, a file, a word) are listed first, each with the lines that
//!    answer it; when not every commit can be listed, the query's answer comes before the
//!    other listings. One-line logs keep the newest and oldest, then reverts and security
//!    fixes, decorated commits and merges, then the rest spread evenly in short runs;
//! 2. the query's hits: the whole of a commit it names, the weightiest lines it names
//!    elsewhere (rare words weigh more);
//! 3. per commit a note with what is not shown: lines of message, files with their +/- counts
//!    (from the patch or the stat), and the commit's line numbers in the original (for
//!    `retrieve --offset/--limit`); a change section shorter than its note is shown instead,
//!    and commits that stand out (a revert, a deleted file, an added conflict marker or
//!    `FIXME`) have their notes and standing-out lines first;
//! 4. the first lines of message bodies, across commits;
//! 5. the changes: each file's header with its first hunk's header and first change, then
//!    more hunks and change blocks, stat and name lines, shared across commits in proportion
//!    to their size (code before prose, lockfiles and generated files last), with the rest
//!    of long bodies;
//! 6. the headers as written, then context lines and the rest.
//!
//! Kept lines stay byte for byte, in their commit; the whole original is stored under the
//! marker, and every note names the lines it stands for.

use super::fit::{self, Detail, Unit};
use super::lines::{error_re, prefix_within};
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use crate::tokens::estimate;
use regex::Regex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

/// Tiers of rank, lower first.
const T_LIST: u8 = 0;
const T_QUERY: u8 = 1;
/// Listings of the commits the query does not name, when not all of them fit: the query's
/// answer goes first then.
const T_REST: u8 = 2;
/// One-line logs: commits that stand out (merges, decorations, reverts).
const T_MARK: u8 = 3;
/// One-line logs: the other commits, spread evenly, then the graph drawing.
const T_SPREAD: u8 = 4;
const T_NOTE: u8 = 5;
const T_BODY: u8 = 6;
const T_CHANGE: u8 = 7;
const T_HEAD: u8 = 8;
const T_FILL: u8 = 9;

/// Changed lines in one unit at most: a longer block is shown a piece at a time.
const BLOCK_MAX: usize = 12;
/// Context lines shown on each side of a change.
const CONTEXT: usize = 1;
/// Lines removed from one file in a stat that make its commit stand out.
const BIG_REMOVAL: usize = 200;
/// One-line logs are sampled in runs of this many commits.
const SPREAD_RUN: usize = 4;
/// Characters of an abbreviated hash.
const ABBREV: usize = 10;
/// Files a commit's note names.
const NOTE_FILES: usize = 3;
/// Tokens by which a commit's changes may exceed its note and still be shown instead of it.
const SMALL_SLACK: usize = 6;
/// Lines of a message body ranked before the changes; the rest shares the room with them.
const BODY_FIRST: u64 = 6;
/// Every commit gets this many of its change units before the rest is shared in proportion.
const FIRST_UNITS: usize = 3;

struct Patterns {
    commit: Regex,
    oneline: Regex,
    stat: Regex,
    stat_total: Regex,
    name_status: Regex,
    standout_change: Regex,
    standout_subject: Regex,
    trailer: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            // `--left-right` and `--boundary` put a mark before the hash.
            commit: re(r"^commit (?:[<>\-] )?([0-9a-f]{7,64})(?:\s+(.*))?$"),
            oneline: re(r"^([0-9a-f]{7,64}) (?:\(([^)]*)\) )?(.*)$"),
            stat: re(r"^ (.+?)\s+\|\s+(\d+)(?: ([+\-]+))?\s*$|^ (.+?)\s+\|\s+Bin\b"),
            stat_total: re(
                r"^ \d+ files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?",
            ),
            name_status: re(r"^([ACDMRTUXB])(\d*)\t([^\t]+)(?:\t(.+))?$"),
            // Conflict markers, marked work left to do, unsafe code, panics, secrets.
            standout_change: re(
                r"^[+\-](?:(?:<{7}|>{7}|={7})(?:\s|$)|.*(?:(?-u:\b)(?:TODO|FIXME|XXX|HACK)(?-u:\b)|(?-u:\b)unsafe\s*(?:\{|fn|impl)|panic!\(|(?i:(?-u:\b)(?:password|passwd|secret|private[_ -]?key|api[_ -]?key)(?-u:\b))))",
            ),
            // What a reader of a history must not miss. A "regression test" is routine, and
            // "security" alone names things (`uv-security`) as often as it warns.
            standout_subject: re(
                r"(?i)(?-u:\b)(?:revert(?:s|ed)?|breaking|cve-\d+|vulnerab\w*|regression(?:\s+tests?)?|security\s+(?:fix|issue|bug|advisory|patch|hole|problem)|hotfix|data loss|rollback|critical)(?-u:\b)",
            ),
            trailer: re(
                r"^\s*(?:Signed-off-by|Co-authored-by|Reviewed-by|Acked-by|Tested-by|Reported-by|Suggested-by|Helped-by|Cc|Change-Id|Reviewed-on|Link):\s",
            ),
        }
    })
}

/// Whether a message line says something a reader must not miss (see `standout_subject`).
fn serious(text: &str) -> bool {
    patterns().standout_subject.find_iter(text).any(|m| {
        let word = m.as_str().to_ascii_lowercase();
        !(word.starts_with("regression") && word.ends_with(['t', 's']))
    })
}

/// What a line is, in its commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Role {
    /// Before the first commit.
    Preamble,
    /// The `commit` line and the header lines under it (with the empty line after them).
    Head,
    /// The first line of the message.
    Subject,
    /// The rest of the message.
    Body,
    /// An empty line outside the message.
    Blank,
    /// Only `--graph` drawing.
    Graph,
    /// `diff --git` and the mode and rename lines under it.
    FileHeader,
    /// `index`, `---`, `+++`: what the file header already says.
    Index,
    /// `Binary files ... differ`, `GIT binary patch` and its data.
    Binary,
    /// `@@ ... @@`.
    Hunk,
    /// An added or removed line.
    Changed,
    /// A context line of a hunk.
    Context,
    /// ` path | 12 ++--`.
    Stat,
    /// ` 3 files changed, ...`.
    StatTotal,
    /// `M\tpath` or a bare path.
    Name,
    /// Anything else inside a commit.
    Other,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Preamble | Role::Other | Role::Blank | Role::Graph => "other",
            Role::Head => "headers",
            Role::Subject | Role::Body => "message",
            Role::FileHeader | Role::Index | Role::Binary | Role::Hunk | Role::Changed => "patch",
            Role::Context => "context",
            Role::Stat | Role::StatTotal => "stat",
            Role::Name => "names",
        }
    }
}

/// How a file's change is known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    /// Lines added and removed (from a patch, or a stat's totals split by its bar).
    Counted { added: usize, removed: usize },
    /// A stat's total for the file, with the sign of its bar (`+`, `-` or `±`).
    Stat { total: usize, sign: char },
    /// A binary file.
    Binary,
    /// A `--name-status` letter.
    Status(char),
    /// A `--name-only` path.
    Named,
}

#[derive(Debug, Clone)]
struct FileChange {
    path: String,
    change: Change,
    /// A lockfile, generated, vendored or prose file: named last.
    machine: bool,
}

impl FileChange {
    fn churn(&self) -> usize {
        match self.change {
            Change::Counted { added, removed } => added + removed,
            Change::Stat { total, .. } => total,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Commit {
    /// Its first line.
    start: usize,
    /// One past its last line.
    end: usize,
    /// The line that lists it: the subject (or the `commit` line when there is no message), or
    /// the line of a one-line log.
    listing: usize,
    /// A `commit HASH` header (not a one-line log).
    full: bool,
    /// One past the header lines (the empty line after them included).
    head_end: usize,
    /// The message lines.
    msg: (usize, usize),
    /// The width of the `--graph` drawing before its lines.
    width: usize,
    /// The full hash as written.
    hash: String,
    decor: String,
    merge: bool,
    author: String,
    date: String,
    files: Vec<FileChange>,
    /// Totals from a `--stat` or `--shortstat` line.
    totals: Option<(usize, usize)>,
    /// It deletes a file, or removes a great deal of one.
    deletes: bool,
    /// What a reader must not miss: a revert or security fix, a deleted file, an added
    /// conflict marker or `FIXME`.
    alarm: bool,
}

/// A parsed log.
#[derive(Debug, Default)]
struct Log {
    commits: Vec<Commit>,
    role: Vec<Role>,
    /// Per line, its commit.
    commit_of: Vec<Option<usize>>,
    /// Per patch line, its file's `diff --git` line.
    file_of: Vec<Option<usize>>,
    /// Per hunk line, its `@@` line.
    hunk_of: Vec<Option<usize>>,
    /// Whether the log is drawn with `--graph`.
    graph: bool,
    /// The commits in the order they are listed: those the query names first, then in order.
    list_order: Vec<usize>,
    /// Lines that stand out: message lines with error or revert words, changed lines with
    /// conflict markers, `FIXME`, `unsafe`, secrets.
    standout: Vec<bool>,
}

/// Characters `git log --graph` draws with.
fn graph_char(b: u8) -> bool {
    matches!(b, b'*' | b'|' | b'\\' | b'/' | b'_' | b' ' | b'.' | b'-')
}

/// The drawing at the start of a line (possibly empty) and what follows it.
fn split_graph(line: &str) -> (&str, &str) {
    let at = line
        .bytes()
        .position(|b| !graph_char(b))
        .unwrap_or(line.len());
    line.split_at(at)
}

/// A line with the `--graph` drawing of width `w` taken off.
fn strip_graph(line: &str, w: usize) -> &str {
    let line = content(line);
    if w == 0 {
        return line;
    }
    let head = &line.as_bytes()[..w.min(line.len())];
    if head.iter().all(|&b| graph_char(b)) {
        if line.len() <= w {
            ""
        } else {
            &line[w..]
        }
    } else {
        line
    }
}

/// Where a commit starts: the width of the drawing before it, whether it is a full header.
fn commit_start(line: &str, graph: bool, oneline: bool) -> Option<usize> {
    let line = content(line);
    let (prefix, rest) = if graph {
        let (p, r) = split_graph(line);
        if !p.contains('*') {
            return None;
        }
        (p, r)
    } else {
        ("", line)
    };
    let p = patterns();
    let hit = if oneline {
        p.oneline.is_match(rest)
    } else {
        p.commit.is_match(rest)
    };
    hit.then_some(prefix.len())
}

/// The first eight commits' worth of lines decide the layout.
fn layout(lines: &[&str]) -> (bool, bool) {
    let p = patterns();
    let mut graph_full = 0;
    let mut graph_one = 0;
    let mut plain_full = 0;
    let mut plain_one = 0;
    for l in lines.iter().take(20_000) {
        let l = content(l);
        if l.starts_with('*') || l.starts_with("| ") || l.starts_with("|/") {
            let (prefix, rest) = split_graph(l);
            if prefix.contains('*') {
                if p.commit.is_match(rest) {
                    graph_full += 1;
                } else if p.oneline.is_match(rest) {
                    graph_one += 1;
                }
            }
        }
        if p.commit.is_match(l) {
            plain_full += 1;
        } else if p.oneline.is_match(l) {
            plain_one += 1;
        }
        if graph_full + graph_one + plain_full + plain_one >= 64 {
            break;
        }
    }
    if graph_full > 0 || plain_full > 0 {
        (graph_full > plain_full, false)
    } else {
        (graph_one > plain_one, true)
    }
}

/// The `b/` path of a `diff --git a/X b/Y` line (or the path of a combined diff).
fn diff_path(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix("diff --git ") {
        return match rest.rfind(" b/") {
            Some(i) => &rest[i + 3..],
            None => rest,
        };
    }
    line.trim_start_matches("diff --cc ")
        .trim_start_matches("diff --combined ")
}

/// How much a file's changes say to a reader: 0 for code, 1 for prose and notices (docs,
/// changelogs, licenses), 2 for what machines make (lockfiles, generated, vendored files).
fn file_rank(path: &str) -> u8 {
    if machine_made(path) {
        return 2;
    }
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let prose = [".md", ".markdown", ".rst", ".txt", ".adoc"];
    let notices = [
        "license",
        "licence",
        "copying",
        "notice",
        "authors",
        "changelog",
    ];
    u8::from(prose.iter().any(|e| name.ends_with(e)) || notices.iter().any(|n| name.starts_with(n)))
}

/// Whether a file's changes are made by machines (named last).
fn machine_made(path: &str) -> bool {
    const LOCKS: &[&str] = &[
        "Cargo.lock",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "Gemfile.lock",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "go.sum",
        "composer.lock",
        "flake.lock",
    ];
    let name = path.rsplit('/').next().unwrap_or(path);
    LOCKS.contains(&name)
        || [
            "vendor/",
            "node_modules/",
            "third_party/",
            "__snapshots__/",
            "/snapshots/",
        ]
        .iter()
        .any(|d| path.contains(d))
        || [".min.js", ".min.css", ".snap", ".pb.go", "_pb2.py", ".map"]
            .iter()
            .any(|e| name.ends_with(e))
}

/// `Name <email>` → `Name` (the email when there is no name).
fn person(s: &str) -> String {
    let s = s.trim();
    match s.find(" <") {
        Some(i) if i > 0 => s[..i].trim().to_string(),
        _ => s.trim_matches(['<', '>']).to_string(),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date as `YYYY-MM-DD` when it is in one of git's usual formats, else as written.
fn short_date(s: &str) -> String {
    let s = s.trim();
    let b = s.as_bytes();
    // ISO (`--date=iso`, `iso-strict`, `short`).
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && s.is_char_boundary(10)
    {
        return s[..10].to_string();
    }
    // The default (`Fri Dec 4 16:38:07 2026 +0000`) and RFC 2822 (`Fri, 4 Dec 2026 ...`).
    let parts: Vec<&str> = s.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let month = parts.iter().position(|p| MONTHS.contains(p)).map(|i| {
        (
            i,
            MONTHS.iter().position(|m| m == &parts[i]).unwrap_or(0) + 1,
        )
    });
    let year = parts
        .iter()
        .find(|p| p.len() == 4 && p.bytes().all(|c| c.is_ascii_digit()));
    let day = parts
        .iter()
        .find(|p| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()));
    if let (Some((_, m)), Some(y), Some(d)) = (month, year, day) {
        return format!("{y}-{m:02}-{:02}", d.parse::<u32>().unwrap_or(0));
    }
    let mut end = s.len().min(32);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The civil date of a Unix time with a `+HHMM` offset (`--pretty=raw`).
fn epoch_date(secs: i64, offset: &str) -> String {
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits = offset.trim_start_matches(['+', '-']);
    let (h, m) = (
        digits
            .get(..2)
            .and_then(|h| h.parse::<i64>().ok())
            .unwrap_or(0),
        digits
            .get(2..4)
            .and_then(|m| m.parse::<i64>().ok())
            .unwrap_or(0),
    );
    let days = (secs + sign * (h * 3600 + m * 60)).div_euclid(86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y}-{m:02}-{d:02}")
}

/// Reads one header line into the commit (author, date, merge).
fn read_header(c: &mut Commit, line: &str, parents: &mut usize) {
    let field = |name: &str| line.strip_prefix(name).map(str::trim);
    if let Some(v) = field("Author:") {
        c.author = person(v);
    } else if let Some(v) = field("AuthorDate:").or_else(|| field("Date:")) {
        c.date = short_date(v);
    } else if field("Merge:").is_some() {
        c.merge = true;
    } else if line.starts_with("parent ") {
        *parents += 1;
        c.merge = *parents > 1;
    } else if let Some(v) = field("author ") {
        // `author Name <email> 1733330287 +0000`
        let mut parts = v.rsplitn(3, ' ');
        let (tz, secs, who) = (parts.next(), parts.next(), parts.next());
        match (tz, secs.and_then(|s| s.parse::<i64>().ok()), who) {
            (Some(tz), Some(secs), Some(who)) => {
                c.author = person(who);
                c.date = epoch_date(secs, tz);
            }
            _ => c.author = person(v),
        }
    }
}

/// Abbreviates a hash.
fn abbrev(hash: &str) -> &str {
    &hash[..hash.len().min(ABBREV)]
}

/// Parses the log (see the module docs). `None` when no commit is found.
fn parse(lines: &[&str]) -> Option<Log> {
    let n = lines.len();
    let (graph, oneline) = layout(lines);
    let p = patterns();
    // Where each commit starts, and the width of the drawing before it.
    let starts: Vec<(usize, usize)> = (0..n)
        .filter_map(|i| commit_start(lines[i], graph, oneline).map(|w| (i, w)))
        .collect();
    if starts.is_empty() {
        return None;
    }
    let mut log = Log {
        commits: Vec::with_capacity(starts.len()),
        role: vec![Role::Other; n],
        commit_of: vec![None; n],
        file_of: vec![None; n],
        hunk_of: vec![None; n],
        graph,
        list_order: (0..starts.len()).collect(),
        standout: vec![false; n],
    };
    log.role[..starts[0].0].fill(Role::Preamble);
    for (k, &(start, w)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(n, |s| s.0);
        let text = |i: usize| strip_graph(lines[i], w);
        log.commit_of[start..end].fill(Some(k));
        let mut c = Commit {
            start,
            end,
            listing: start,
            full: !oneline,
            head_end: start + 1,
            width: w,
            ..Commit::default()
        };
        let first = strip_graph(lines[start], w);
        let mut i = start + 1;
        log.role[start] = Role::Head;
        if oneline {
            if let Some(cap) = p.oneline.captures(first) {
                c.hash = cap[1].to_string();
                c.decor = cap.get(2).map_or("", |m| m.as_str()).to_string();
            }
            c.msg = (start, start);
        } else {
            if let Some(cap) = p.commit.captures(first) {
                c.hash = cap[1].to_string();
                let rest = cap.get(2).map_or("", |m| m.as_str()).trim();
                c.decor = rest
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or(rest)
                    .to_string();
            }
            // Header lines up to the first empty line (a signature's ` ` lines included).
            let mut parents = 0;
            while i < end && !text(i).is_empty() {
                read_header(&mut c, text(i), &mut parents);
                log.role[i] = Role::Head;
                i += 1;
            }
            if i < end {
                log.role[i] = Role::Head;
                i += 1;
            }
            c.head_end = i;
            // The message: lines indented by four spaces, empty lines between them included.
            let msg_start = i;
            let mut msg_end = i;
            let mut j = i;
            while j < end {
                let t = text(j);
                if t.starts_with("    ") {
                    msg_end = j + 1;
                } else if !t.trim().is_empty() {
                    break;
                }
                j += 1;
            }
            c.msg = (msg_start, msg_end);
            let mut subject = None;
            for j in msg_start..msg_end {
                log.role[j] = if text(j).trim().is_empty() {
                    Role::Blank
                } else {
                    Role::Body
                };
                if subject.is_none() && log.role[j] == Role::Body {
                    subject = Some(j);
                }
            }
            if let Some(s) = subject {
                log.role[s] = Role::Subject;
                c.listing = s;
            }
            i = msg_end;
        }
        classify_changes(&mut log, &mut c, lines, i, w);
        let mut alarm = c.deletes;
        for j in start..end {
            let t = text(j);
            let (standout, alarming) = match log.role[j] {
                Role::Subject | Role::Body => {
                    let grave = serious(t);
                    (grave || error_re().is_match(t), grave)
                }
                Role::Changed => {
                    let hit = p.standout_change.is_match(t);
                    (hit, hit)
                }
                _ => (false, false),
            };
            log.standout[j] = standout && log.role[j] != Role::Subject;
            alarm |= alarming;
        }
        if oneline {
            let subject = p.oneline.captures(first).and_then(|cap| cap.get(3));
            alarm |= subject.is_some_and(|m| serious(m.as_str()));
        }
        c.alarm = alarm;
        log.commits.push(c);
    }
    Some(log)
}

/// Classifies what a commit changed: lines `from..c.end`, with drawing of width `w`.
fn classify_changes(log: &mut Log, c: &mut Commit, lines: &[&str], from: usize, w: usize) {
    let p = patterns();
    let mut file: Option<usize> = None;
    let mut hunk: Option<usize> = None;
    // Columns of `+`/`-` before a hunk line: one, or one per parent in a combined diff.
    let mut columns = 1;
    let mut binary_data = false;
    let mut patch_files: Vec<FileChange> = Vec::new();
    let mut stat_files: Vec<FileChange> = Vec::new();
    let mut name_files: Vec<FileChange> = Vec::new();
    for (i, line) in lines.iter().enumerate().take(c.end).skip(from) {
        let raw = content(line);
        let t = strip_graph(line, w);
        if t.is_empty() {
            log.role[i] = if raw.contains(['\\', '/', '_']) {
                Role::Graph
            } else {
                Role::Blank
            };
            hunk = None;
            binary_data = false;
            continue;
        }
        if t.starts_with("diff --git ")
            || t.starts_with("diff --cc ")
            || t.starts_with("diff --combined ")
        {
            log.role[i] = Role::FileHeader;
            log.file_of[i] = Some(i);
            file = Some(i);
            hunk = None;
            binary_data = false;
            let path = diff_path(t).to_string();
            patch_files.push(FileChange {
                machine: machine_made(&path),
                path,
                change: Change::Counted {
                    added: 0,
                    removed: 0,
                },
            });
            continue;
        }
        if let (Some(h), true) = (hunk, t.len() >= columns) {
            let signs = &t.as_bytes()[..columns];
            let changed = signs.iter().any(|&b| b == b'+' || b == b'-');
            let context = signs.iter().all(|&b| b == b' ');
            if changed || context || t.starts_with('\\') {
                log.file_of[i] = file;
                log.hunk_of[i] = Some(h);
                if context {
                    log.role[i] = Role::Context;
                } else {
                    log.role[i] = Role::Changed;
                    if let Some(Change::Counted { added, removed }) =
                        patch_files.last_mut().map(|f| &mut f.change)
                    {
                        if signs.contains(&b'+') {
                            *added += 1;
                        } else if signs.contains(&b'-') {
                            *removed += 1;
                        }
                    }
                }
                continue;
            }
            hunk = None;
        }
        if file.is_some() && t.starts_with("@@") {
            let ats = t.bytes().take_while(|&b| b == b'@').count();
            columns = ats.saturating_sub(1).max(1);
            log.role[i] = Role::Hunk;
            log.file_of[i] = file;
            log.hunk_of[i] = Some(i);
            hunk = Some(i);
            continue;
        }
        if let Some(f) = file {
            log.file_of[i] = Some(f);
            if binary_data {
                log.role[i] = Role::Binary;
                continue;
            }
            if t.starts_with("index ") || t.starts_with("--- ") || t.starts_with("+++ ") {
                log.role[i] = Role::Index;
                continue;
            }
            if t.starts_with("Binary files ") || t.starts_with("GIT binary patch") {
                log.role[i] = Role::Binary;
                binary_data = t.starts_with("GIT binary patch");
                if let Some(last) = patch_files.last_mut() {
                    last.change = Change::Binary;
                }
                continue;
            }
            let meta = [
                "new file mode",
                "deleted file mode",
                "old mode",
                "new mode",
                "similarity index",
                "dissimilarity index",
                "rename from",
                "rename to",
                "copy from",
                "copy to",
                "mode ",
            ];
            if meta.iter().any(|m| t.starts_with(m)) {
                log.role[i] = Role::FileHeader;
                c.deletes |= t.starts_with("deleted file mode");
                continue;
            }
            log.file_of[i] = None;
            file = None;
        }
        if let Some(cap) = p.stat_total.captures(t) {
            log.role[i] = Role::StatTotal;
            let num = |g: usize| {
                cap.get(g)
                    .and_then(|m| m.as_str().parse::<usize>().ok())
                    .unwrap_or(0)
            };
            let (added, removed) = (num(1), num(2));
            c.totals = Some((added, removed));
            c.deletes |= removed >= BIG_REMOVAL && removed > 4 * added;
            continue;
        }
        if let Some(cap) = p.stat.captures(t) {
            log.role[i] = Role::Stat;
            let path = cap
                .get(1)
                .or(cap.get(4))
                .map_or("", |m| m.as_str())
                .to_string();
            let change = match cap.get(2).and_then(|m| m.as_str().parse::<usize>().ok()) {
                Some(total) => {
                    let bar = cap.get(3).map_or("", |m| m.as_str());
                    let sign = match (bar.contains('+'), bar.contains('-')) {
                        (true, false) => '+',
                        (false, true) => '-',
                        _ => '±',
                    };
                    c.deletes |= sign == '-' && total >= BIG_REMOVAL;
                    Change::Stat { total, sign }
                }
                None => Change::Binary,
            };
            stat_files.push(FileChange {
                machine: machine_made(&path),
                path,
                change,
            });
            continue;
        }
        if let Some(cap) = p.name_status.captures(t) {
            log.role[i] = Role::Name;
            let path = cap.get(4).or_else(|| cap.get(3)).map_or("", |m| m.as_str());
            let status = cap[1].chars().next().unwrap_or('M');
            c.deletes |= status == 'D';
            name_files.push(FileChange {
                machine: machine_made(path),
                path: path.to_string(),
                change: Change::Status(status),
            });
            continue;
        }
        if log.graph && t.bytes().all(graph_char) {
            log.role[i] = Role::Graph;
            continue;
        }
        if !t.starts_with(' ') && !t.contains('\t') && patch_files.is_empty() {
            // `--name-only`: a bare path.
            log.role[i] = Role::Name;
            name_files.push(FileChange {
                machine: machine_made(t),
                path: t.to_string(),
                change: Change::Named,
            });
            continue;
        }
        log.role[i] = Role::Other;
    }
    // The patch counts best, then the stat, then names.
    c.files = if !patch_files.is_empty() {
        patch_files
    } else if !stat_files.is_empty() {
        stat_files
    } else {
        name_files
    };
}

/// What the query names.
#[derive(Debug, Default)]
struct Hits {
    /// Commits with a hit, best first.
    commits: Vec<usize>,
    /// Commits whose whole content comes first: those named exactly (a hash, a number, a
    /// quoted term), and the best few by relevance.
    whole: HashSet<usize>,
    /// Per line, how much of the query it has: the weights of its words (rarer words weigh
    /// more), far more for an exact term; 0 for none.
    lines: Vec<f64>,
    /// The weightiest lines, best first.
    answers: Vec<usize>,
}

/// The weight of a line with an exact term of the query.
const EXACT_WEIGHT: f64 = 1000.0;
/// Lines with at least this share of the weightiest line's weight are the answer.
const ANSWER_SHARE: f64 = 0.6;
/// Lines of the answer at most.
const ANSWERS: usize = 8;

/// Commits whose best-scored few by relevance keep their whole content.
const WHOLE_BY_WORDS: usize = 3;

/// Which of `words` (lowercased, the first 64) `line` has, as bits.
fn word_bits(line: &str, words: &[String]) -> u64 {
    let mut bits = 0u64;
    for w in line.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        for (j, q) in words.iter().take(64).enumerate() {
            if w.eq_ignore_ascii_case(q) {
                bits |= 1 << j;
            }
        }
    }
    bits
}

fn query_hits(log: &Log, lines: &[&str], ctx: &Context) -> Hits {
    let n = lines.len();
    let mut hits = Hits {
        lines: vec![0.0; n],
        ..Hits::default()
    };
    let q = ctx.query;
    if q.exact.is_empty() && q.words.is_empty() {
        return hits;
    }
    let hex = |t: &str| t.len() >= 4 && t.bytes().all(|b| b.is_ascii_hexdigit());
    let mut exact: Vec<usize> = Vec::new();
    for (k, c) in log.commits.iter().enumerate() {
        let hash = c.hash.to_ascii_lowercase();
        let named = q.exact.iter().any(|t| {
            hex(t) && hash.len() >= 7 && (hash.starts_with(t.as_str()) || t.starts_with(&hash))
        });
        if named {
            exact.push(k);
            hits.lines[c.start] = EXACT_WEIGHT;
        }
    }
    let mut bits = vec![0u64; n];
    for (i, l) in lines.iter().enumerate() {
        let l = content(l);
        if q.exact.iter().any(|t| contains_exact(l, t)) {
            hits.lines[i] = EXACT_WEIGHT;
            if let Some(k) = log.commit_of[i] {
                if !exact.contains(&k) {
                    exact.push(k);
                }
            }
        }
        if !q.words.is_empty() {
            bits[i] = word_bits(l, &q.words);
        }
    }
    // A word's weight: how few commits have it (inverse document frequency).
    if !q.words.is_empty() {
        let nc = log.commits.len() as f64;
        let mut df = vec![0usize; q.words.len().min(64)];
        for c in &log.commits {
            let has = bits[c.start..c.end].iter().fold(0u64, |a, b| a | b);
            for (j, d) in df.iter_mut().enumerate() {
                *d += usize::from(has >> j & 1 == 1);
            }
        }
        let idf: Vec<f64> = df
            .iter()
            .map(|&d| ((nc - d as f64 + 0.5) / (d as f64 + 0.5) + 1.0).ln())
            .collect();
        for (i, &b) in bits.iter().enumerate() {
            let w: f64 = (0..idf.len())
                .filter(|j| b >> j & 1 == 1)
                .map(|j| idf[j])
                .sum();
            hits.lines[i] += w;
        }
    }
    exact.sort_unstable();
    hits.whole.extend(exact.iter().copied());
    hits.commits = exact;
    if !q.words.is_empty() {
        let texts: Vec<Vec<&str>> = log
            .commits
            .iter()
            .map(|c| lines[c.start..c.end].to_vec())
            .collect();
        let scores = bm25(&texts, &q.words);
        let mut by: Vec<usize> = (0..log.commits.len())
            .filter(|&k| scores[k] > 0.0 && !hits.whole.contains(&k))
            .collect();
        by.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        let best = by.first().map_or(0.0, |&k| scores[k]);
        // Commits named exactly are the answer; words then only rank.
        let named = !hits.whole.is_empty();
        let promote = if named { 0 } else { WHOLE_BY_WORDS };
        for &k in by.iter().take(promote) {
            if scores[k] >= best * 0.5 {
                hits.whole.insert(k);
            }
        }
        // Commits named exactly are the answer: the others stay in their order.
        if !named {
            hits.commits.extend(by);
        }
    }
    // The answer: the lines with the most of the query, listed right after their commits,
    // which are listed first.
    let most = hits.lines.iter().fold(0.0f64, |a, &b| a.max(b));
    if most > 0.0 {
        let mut best: Vec<usize> = (0..n)
            .filter(|&i| hits.lines[i] >= most * ANSWER_SHARE && log.commit_of[i].is_some())
            .collect();
        best.sort_by(|&a, &b| hits.lines[b].total_cmp(&hits.lines[a]).then(a.cmp(&b)));
        best.truncate(ANSWERS);
        let mut first: Vec<usize> = hits
            .commits
            .iter()
            .copied()
            .filter(|k| hits.whole.contains(k))
            .collect();
        for &i in &best {
            if let Some(k) = log.commit_of[i] {
                if !first.contains(&k) {
                    first.push(k);
                }
            }
        }
        let rest: Vec<usize> = hits
            .commits
            .iter()
            .copied()
            .filter(|k| !first.contains(k))
            .collect();
        first.extend(rest);
        hits.commits = first;
        hits.answers = best;
    }
    hits
}

/// Lines `start..end`.
type Span = (usize, usize);

/// Ranks everything: the units [`fit`](super::fit) chooses from (see the module docs).
struct Ranker<'a> {
    log: &'a Log,
    lines: &'a [&'a str],
    hits: &'a Hits,
    /// Per commit, the estimated cost of its note.
    note_cost: &'a [usize],
    /// Whether every commit's listing fits the budget.
    listings_fit: bool,
    units: Vec<Unit>,
}

impl Ranker<'_> {
    fn push(&mut self, start: usize, end: usize, tier: u8, order: u64) {
        if start < end {
            self.units.push(Unit {
                start,
                end,
                tier,
                order,
            });
        }
    }

    fn rank(mut self) -> Vec<Unit> {
        let log = self.log;
        let n = self.lines.len();
        let nc = log.commits.len() as u64;
        let first = log.commits.first().map_or(n, |c| c.start);
        for i in 0..first {
            let tier = if content(self.lines[i]).trim().is_empty() {
                T_FILL
            } else {
                T_BODY
            };
            self.push(i, i + 1, tier, i as u64);
        }
        let hit_rank: HashMap<usize, u64> = self
            .hits
            .commits
            .iter()
            .enumerate()
            .map(|(r, &k)| (k, r as u64))
            .collect();
        let last = log.commits.len().saturating_sub(1);
        for (k, c) in log.commits.iter().enumerate() {
            let hit = hit_rank.get(&k).copied();
            // Listed first: the query's commits, then in order (the newest first); the
            // answer's lines right after their commit (odd orders).
            let list_order = 2 * hit.unwrap_or(nc + k as u64);
            let whole = self.hits.whole.contains(&k);
            // A commit the query names keeps its content first, in the order of the hits.
            let base = hit.unwrap_or(0) << 32;
            let tier_or = |t: u8, order: u64, local: u64| {
                if whole {
                    (T_QUERY, base + local)
                } else {
                    (t, order)
                }
            };
            // When not every commit can be listed, the query's answer goes before the
            // listings of the commits it does not name.
            let list_tier = if hit.is_none() && !self.listings_fit && !self.hits.commits.is_empty()
            {
                T_REST
            } else {
                T_LIST
            };
            if c.full {
                if c.listing == c.start {
                    self.push(c.start, c.head_end, list_tier, list_order);
                } else {
                    self.push(c.listing, c.listing + 1, list_tier, list_order);
                    let (t, o) = tier_or(T_HEAD, k as u64, 0);
                    self.push(c.start, c.head_end, t, o);
                }
            } else {
                let (t, o) = if hit.is_some() {
                    (T_LIST, list_order)
                } else if k == 0 || k == last {
                    (T_LIST, k as u64)
                } else if let Some(mark) = self.stands_out(c) {
                    // What a reader must not miss first, then decorations, then merges.
                    (T_MARK, mark * nc + k as u64)
                } else {
                    // Spread evenly in runs of a few: a note between every two lines would cost
                    // as much as the lines.
                    let blocks = log.commits.len().div_ceil(SPREAD_RUN);
                    let run = fit::spread(k / SPREAD_RUN, blocks);
                    (T_SPREAD, run * SPREAD_RUN as u64 + (k % SPREAD_RUN) as u64)
                };
                self.push(c.start, c.start + 1, t, o);
            }
            // Commits that stand out have their notes first.
            let note_order = if c.alarm { k as u64 } else { nc + k as u64 };
            let (t, o) = tier_or(T_NOTE, note_order, 1);
            self.push(n + k, n + k + 1, t, o);
            self.rank_message(k, c, whole, base);
            self.rank_changes(k, c, whole, base);
        }
        // Hits anywhere come right after the listings, the weightiest first.
        let weight = |u: &Unit| -> f64 {
            if u.start >= n {
                return 0.0;
            }
            self.hits.lines[u.start..u.end.min(n)]
                .iter()
                .fold(0.0, |a: f64, &b| a.max(b))
        };
        let mut hit_units: Vec<(f64, usize)> = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.tier > T_QUERY)
            .map(|(x, u)| (weight(u), x))
            .filter(|&(w, _)| w > 0.0)
            .collect();
        hit_units.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(self.units[a.1].start.cmp(&self.units[b.1].start))
        });
        for (r, &(_, x)) in hit_units.iter().enumerate() {
            self.units[x].tier = T_QUERY;
            self.units[x].order = (1 << 48) + r as u64;
        }
        for &i in &self.hits.answers {
            let Some(rank) = log.commit_of[i].and_then(|k| hit_rank.get(&k)) else {
                continue;
            };
            for u in &mut self.units {
                if u.start <= i && i < u.end && u.tier > T_LIST {
                    u.tier = T_LIST;
                    u.order = 2 * rank + 1;
                }
            }
        }
        self.units
    }

    /// Whether a commit of a one-line log stands out, and how much (lower first): a revert or
    /// security fix, a decorated (tagged, branch head) commit, a merge.
    fn stands_out(&self, c: &Commit) -> Option<u64> {
        let text = content(self.lines[c.start]);
        let subject = patterns()
            .oneline
            .captures(split_graph(text).1)
            .and_then(|cap| cap.get(3))
            .map_or("", |m| m.as_str());
        let merge_drawn = self.lines[c.start + 1..c.end]
            .first()
            .is_some_and(|l| l.contains('\\'));
        if c.alarm {
            Some(0)
        } else if !c.decor.is_empty() {
            Some(1)
        } else if merge_drawn || subject.starts_with("Merge ") {
            Some(2)
        } else {
            None
        }
    }

    fn rank_message(&mut self, k: usize, c: &Commit, whole: bool, base: u64) {
        let p = patterns();
        let nc = self.log.commits.len() as u64;
        let (a, b) = c.msg;
        let len = (a..b)
            .filter(|&i| self.log.role[i] == Role::Body)
            .count()
            .max(1) as u64;
        // Blank lines go with the line after them.
        let mut pos = 0u64;
        let mut pending: Vec<usize> = Vec::new();
        for i in a..b {
            if i == c.listing {
                continue;
            }
            if self.log.role[i] == Role::Blank {
                pending.push(i);
                continue;
            }
            let text = content(self.lines[i]);
            let p_i = if self.log.standout[i] {
                0
            } else if p.trailer.is_match(text) {
                100_000 + pos
            } else {
                pos
            };
            pos += 1;
            let (t, o) = if whole {
                (T_QUERY, base + 2 + p_i)
            } else if c.alarm && self.log.standout[i] {
                (T_NOTE, k as u64)
            } else if p_i < BODY_FIRST {
                (T_BODY, p_i * nc + k as u64)
            } else {
                // The rest of a long message shares the room with the changes.
                let key = FIRST_UNITS as u64 + p_i.min(len) * 1_000_000 / len;
                (T_CHANGE, key * nc + k as u64)
            };
            // Empty lines before a line are shown with it, never alone.
            let from = pending.first().copied().unwrap_or(i);
            pending.clear();
            self.push(from, i + 1, t, o);
        }
        for j in pending {
            self.push(j, j + 1, T_FILL, j as u64);
        }
    }

    fn rank_changes(&mut self, k: usize, c: &Commit, whole: bool, base: u64) {
        let log = self.log;
        let nc = self.log.commits.len() as u64;
        let from = c.msg.1.max(c.head_end);
        // Per file (and one for the stat, one for the names), its units in reading order;
        // the first group of a file is its header, first hunk header and first block.
        struct Seq {
            groups: Vec<Vec<(usize, usize)>>,
            standout: bool,
            rank: u8,
        }
        let mut seqs: Vec<Seq> = Vec::new();
        let mut stat: Vec<(usize, usize, usize)> = Vec::new();
        let mut names: Vec<(usize, usize)> = Vec::new();
        let mut fill: Vec<usize> = Vec::new();
        let mut i = from;
        while i < c.end {
            match log.role[i] {
                Role::FileHeader => {
                    let mut j = i + 1;
                    while j < c.end && log.role[j] == Role::FileHeader {
                        j += 1;
                    }
                    let path = diff_path(strip_graph(self.lines[i], c.width));
                    seqs.push(Seq {
                        groups: vec![vec![(i, j)]],
                        standout: false,
                        rank: file_rank(path),
                    });
                    i = j;
                }
                Role::Hunk => {
                    let end = (i + 1..c.end)
                        .find(|&j| log.hunk_of[j] != Some(i))
                        .unwrap_or(c.end);
                    let (pieces, standout) = self.blocks(i + 1, end, &mut fill);
                    if let Some(seq) = seqs.last_mut() {
                        seq.standout |= standout.is_some();
                        let first_group = seq.groups.len() == 1 && seq.groups[0].len() == 1;
                        let mut rest = pieces.into_iter();
                        if let Some(s) = standout {
                            // The hunk with a standing-out line goes first in its file.
                            let group = &mut seq.groups[0];
                            group.push((i, i + 1));
                            group.push(s);
                            seq.groups.extend(rest.filter(|&r| r != s).map(|r| vec![r]));
                        } else if first_group {
                            // A file's header, its first hunk's header and first change go
                            // as one: a file named without any of its code says little.
                            let group = &mut seq.groups[0];
                            match rest.next() {
                                Some((_, end)) => group[0].1 = end,
                                None => group.push((i, i + 1)),
                            }
                            seq.groups.extend(rest.map(|r| vec![r]));
                        } else {
                            seq.groups.push(vec![(i, i + 1)]);
                            seq.groups.extend(rest.map(|r| vec![r]));
                        }
                    }
                    i = end;
                }
                Role::Binary
                    if strip_graph(self.lines[i], c.width).starts_with("Binary files ")
                        || strip_graph(self.lines[i], c.width).starts_with("GIT binary patch") =>
                {
                    match seqs.last_mut() {
                        Some(seq) => seq.groups[0].push((i, i + 1)),
                        None => fill.push(i),
                    }
                    i += 1;
                }
                Role::Stat | Role::StatTotal => {
                    let total = if log.role[i] == Role::StatTotal {
                        usize::MAX
                    } else {
                        0
                    };
                    stat.push((i, total, i));
                    i += 1;
                }
                Role::Name => {
                    names.push((i, i + 1));
                    i += 1;
                }
                _ => {
                    fill.push(i);
                    i += 1;
                }
            }
        }
        // The stat: its total first, then files by churn.
        let churn_of = |i: usize| -> usize {
            let t = strip_graph(self.lines[i], c.width);
            t.rsplit('|')
                .next()
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        for s in &mut stat {
            if s.1 != usize::MAX {
                s.1 = churn_of(s.0);
            }
        }
        stat.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        if !stat.is_empty() {
            seqs.push(Seq {
                groups: stat.iter().map(|s| vec![(s.0, s.0 + 1)]).collect(),
                standout: false,
                rank: 0,
            });
        }
        if !names.is_empty() {
            seqs.push(Seq {
                groups: names.into_iter().map(|r| vec![r]).collect(),
                standout: false,
                rank: 0,
            });
        }
        // Files with a standing-out line first, then code, prose, machine-made files; then
        // round by round.
        seqs.sort_by_key(|s| (!s.standout, s.rank));
        let mut sequence: Vec<(usize, usize)> = Vec::new();
        let rounds = seqs.iter().map(|s| s.groups.len()).max().unwrap_or(0);
        for r in 0..rounds {
            for s in &seqs {
                if let Some(g) = s.groups.get(r) {
                    sequence.extend(g.iter().copied());
                }
            }
        }
        // A few lines of changes say it better than a note about them: they go with the note.
        let size: usize = sequence
            .iter()
            .flat_map(|&(a, b)| a..b)
            .map(|i| estimate(self.lines[i]))
            .sum();
        let small = size <= self.note_cost[k] + SMALL_SLACK;
        let note_order = if c.alarm { k as u64 } else { nc + k as u64 };
        // The lines that stand out in a commit that stands out go with its note.
        let alarming: HashSet<(usize, usize)> = if c.alarm {
            seqs.iter()
                .filter(|s| s.standout)
                .flat_map(|s| s.groups[0].iter().copied())
                .collect()
        } else {
            HashSet::new()
        };
        let m = sequence.len().max(1) as u64;
        for (r, &(a, b)) in sequence.iter().enumerate() {
            let r = r as u64;
            let (t, o) = if whole {
                (T_QUERY, base + 1_000_000 + r)
            } else if alarming.contains(&(a, b)) {
                (T_NOTE, k as u64)
            } else if small {
                (T_NOTE, note_order)
            } else {
                let key = if r < FIRST_UNITS as u64 {
                    r
                } else {
                    FIRST_UNITS as u64 + r * 1_000_000 / m
                };
                (T_CHANGE, key * nc + k as u64)
            };
            self.push(a, b, t, o);
        }
        for i in fill {
            self.push(i, i + 1, T_FILL, i as u64);
        }
    }

    /// The change blocks of a hunk body (`a..b`): runs of changed lines with a line of context
    /// on each side, in pieces of at most [`BLOCK_MAX`] changed lines; the piece with a line
    /// that stands out, if any. Context lines outside them go to `fill`.
    fn blocks(&self, a: usize, b: usize, fill: &mut Vec<usize>) -> (Vec<Span>, Option<Span>) {
        let role = &self.log.role;
        let mut pieces = Vec::new();
        let mut standout = None;
        let mut covered = vec![false; b - a];
        let mut i = a;
        while i < b {
            if role[i] != Role::Changed {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < b && role[j] == Role::Changed {
                j += 1;
            }
            let lo = i.saturating_sub(CONTEXT).max(a);
            let hi = (j + CONTEXT).min(b);
            // Pieces of the run, context attached to the first and last.
            let mut s = lo;
            let mut x = i;
            while x < j {
                let y = (x + BLOCK_MAX).min(j);
                let e = if y == j { hi } else { y };
                let piece = (s, e);
                if standout.is_none() && (x..y).any(|t| self.log.standout[t]) {
                    standout = Some(piece);
                }
                covered[s - a..e - a].fill(true);
                pieces.push(piece);
                s = e;
                x = y;
            }
            i = j;
        }
        for (off, c) in covered.iter().enumerate() {
            if !c {
                fill.push(a + off);
            }
        }
        (pieces, standout)
    }
}

/// What is shown of the log, for a choice of lines.
struct View<'a> {
    log: &'a Log,
    lines: &'a [&'a str],
    /// Lines shown cut: the bytes shown of each.
    cut: HashMap<usize, usize>,
    /// Per commit, the note that stands for its header lines.
    heads: Vec<String>,
    /// Lines with a term of the query.
    asked: Vec<bool>,
}

/// Whether a left-out line is worth a note where it was (context, `index` lines, empty lines
/// and drawing are not).
fn noted(role: Role) -> bool {
    !matches!(
        role,
        Role::Context | Role::Index | Role::Blank | Role::Graph | Role::Binary
    )
}

impl View<'_> {
    /// The lines of a choice that can be shown: nothing of a commit whose listing is not
    /// shown, no hunk line without its hunk's header, no hunk without its file's header.
    fn effective(&self, keep: &[bool]) -> Vec<bool> {
        let log = self.log;
        let n = self.lines.len();
        let mut e = keep.to_vec();
        // Full logs list commits in order: none after one that does not fit.
        let mut open = true;
        for &k in &log.list_order {
            let c = &log.commits[k];
            open &= keep[c.listing] || !c.full;
            if !keep[c.listing] || (c.full && !open) {
                e[c.start..c.end].fill(false);
                e[n + k] = false;
            }
        }
        // A message is read from its start: a line after one not shown is not shown either,
        // unless it stands out or the query asks for it.
        for c in &log.commits {
            let mut open = true;
            for (i, shown) in e.iter_mut().enumerate().take(c.msg.1).skip(c.msg.0) {
                if log.role[i] != Role::Body {
                    continue;
                }
                if !(open || log.standout[i] || self.asked[i]) {
                    *shown = false;
                }
                open = *shown;
            }
            // Empty lines only before a line shown.
            let mut next = false;
            for i in (c.msg.0..c.msg.1).rev() {
                if log.role[i] == Role::Blank {
                    e[i] &= next;
                } else {
                    next = e[i];
                }
            }
        }
        // Empty lines outside messages only before a line shown.
        for i in (0..n).rev() {
            if log.role[i] == Role::Blank && e[i] && !e.get(i + 1).is_some_and(|&k| k && i + 1 < n)
            {
                e[i] = false;
            }
        }
        for i in 0..n {
            if !e[i] {
                continue;
            }
            let orphan = match log.role[i] {
                // Drawing between two commits only when both are shown.
                Role::Graph => log.commit_of[i]
                    .and_then(|k| log.commits.get(k + 1))
                    .is_some_and(|next| !keep[next.listing]),
                Role::Changed | Role::Context => log.hunk_of[i].is_some_and(|h| !e[h]),
                Role::Hunk | Role::Index | Role::Binary | Role::FileHeader => {
                    log.file_of[i].is_some_and(|f| f != i && !e[f])
                }
                _ => false,
            };
            if orphan {
                e[i] = false;
            }
        }
        e
    }

    fn push_line(&self, out: &mut String, i: usize) {
        match self.cut.get(&i) {
            Some(&shown) => {
                let line = content(self.lines[i]);
                out.push_str(&line[..shown]);
                if self.log.role[i] == Role::Subject {
                    out.push_str(" …");
                } else {
                    out.push_str(&format!(" …[{} more bytes cut]", line.len() - shown));
                }
                out.push('\n');
            }
            None => {
                out.push_str(self.lines[i]);
                if !self.lines[i].ends_with('\n') {
                    out.push('\n');
                }
            }
        }
    }

    /// Lines `a..b` as chosen: shown lines, and a note for each run left out between them.
    fn push_range(&self, out: &mut String, e: &[bool], a: usize, b: usize, detail: Detail) {
        let mut i = a;
        let mut seen = false;
        while i < b {
            if e[i] {
                self.push_line(out, i);
                seen = true;
                i += 1;
                continue;
            }
            let s = i;
            while i < b && !e[i] {
                i += 1;
            }
            let worth = (s..i).any(|j| noted(self.log.role[j]));
            if seen && i < b && worth && detail == Detail::Full {
                let run = i - s;
                if run == 1 {
                    out.push_str(&format!("[… 1 line: {} …]\n", s + 1));
                } else {
                    out.push_str(&format!("[… {run} lines: {}-{} …]\n", s + 1, i));
                }
            }
        }
    }

    fn render(&self, keep: &[bool], detail: Detail, key: &Key) -> String {
        let log = self.log;
        let n = self.lines.len();
        let e = self.effective(keep);
        let mut out = String::new();
        let first = log.commits.first().map_or(n, |c| c.start);
        self.push_range(&mut out, &e, 0, first, detail);
        // Commits not listed, as a run: (first line, one past the last, how many).
        let mut skipped: Option<(usize, usize, usize)> = None;
        let flush = |out: &mut String, skipped: &mut Option<(usize, usize, usize)>| {
            if let Some((a, b, count)) = skipped.take() {
                if detail == Detail::Full {
                    let s = if count == 1 { "" } else { "s" };
                    // A one-line log's lines are its commits: no need to say which.
                    if log.commits[0].full {
                        out.push_str(&format!(
                            "[… {count} commit{s} not shown: lines {}-{b} …]\n",
                            a + 1
                        ));
                    } else {
                        out.push_str(&format!("[… {count} commit{s} …]\n"));
                    }
                }
            }
        };
        for (k, c) in log.commits.iter().enumerate() {
            if !e[c.listing] {
                skipped = Some(match skipped {
                    Some((a, _, count)) => (a, c.end, count + 1),
                    None => (c.start, c.end, 1),
                });
                continue;
            }
            flush(&mut out, &mut skipped);
            if c.full {
                if e[c.start] {
                    self.push_range(&mut out, &e, c.start, c.head_end, detail);
                } else {
                    out.push_str(&self.heads[k]);
                }
                self.push_range(&mut out, &e, c.msg.0, c.msg.1, detail);
            } else {
                self.push_line(&mut out, c.start);
            }
            if e[n + k] && detail == Detail::Full {
                if let Some(note) = note(log, k, &e) {
                    out.push_str(&note);
                }
            }
            let from = c.msg.1.max(c.head_end);
            self.push_range(&mut out, &e, from, c.end, detail);
        }
        flush(&mut out, &mut skipped);
        out.push_str(&marker(key, &self.summary(&e, detail)));
        out.push('\n');
        out
    }

    /// What the marker says was left out.
    fn summary(&self, e: &[bool], detail: Detail) -> String {
        let log = self.log;
        let n = self.lines.len();
        let total = log.commits.len();
        let listed: Vec<usize> = (0..total).filter(|&k| e[log.commits[k].listing]).collect();
        let mut s = if listed.len() == total {
            let s = if total == 1 { "" } else { "s" };
            format!("{total} commit{s}, all listed")
        } else {
            format!(
                "{} of {total} commits listed, {} not",
                listed.len(),
                total - listed.len()
            )
        };
        let mut hidden: BTreeMap<String, usize> = BTreeMap::new();
        let counted = |i: usize| !matches!(log.role[i], Role::Blank | Role::Graph);
        for i in (0..n).filter(|&i| (!e[i] || self.cut.contains_key(&i)) && counted(i)) {
            *hidden.entry(log.role[i].name().to_string()).or_default() += 1;
        }
        let dropped: usize = hidden.values().sum();
        if dropped > 0 && detail == Detail::Full {
            s.push_str(&format!(
                "; {dropped} of {n} lines not shown ({})",
                super::top_counts(&hidden, 2)
            ));
        }
        s.push_str("; retrieve by query or lines");
        s
    }
}

/// The note for what commit `k` does not show, if anything.
fn note(log: &Log, k: usize, e: &[bool]) -> Option<String> {
    let c = &log.commits[k];
    let (a, b) = c.msg;
    let message = (a..b)
        .filter(|&i| log.role[i] == Role::Body && !e[i])
        .count();
    let from = c.msg.1.max(c.head_end);
    let changes = (from..c.end).any(|i| {
        !e[i]
            && matches!(
                log.role[i],
                Role::FileHeader
                    | Role::Hunk
                    | Role::Changed
                    | Role::Stat
                    | Role::StatTotal
                    | Role::Name
                    | Role::Binary
            )
    });
    let other = (from..c.end).any(|i| !e[i] && log.role[i] == Role::Other);
    if message == 0 && !changes && !other {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    if message > 0 {
        let s = if message == 1 { "" } else { "s" };
        parts.push(format!("{message} more line{s} of message"));
    }
    if changes && !c.files.is_empty() {
        parts.push(files_summary(c));
    } else if let Some((added, removed)) = c.totals.filter(|_| changes) {
        parts.push(format!("+{added} -{removed}"));
    }
    parts.push(format!("lines {}-{}", c.start + 1, c.end));
    Some(format!("[… {}]\n", parts.join("; ")))
}

/// `23 files +1939 -424: detect/shell.rs +407, text/fit.rs +358, +21 more`.
fn files_summary(c: &Commit) -> String {
    let mut files: Vec<&FileChange> = c.files.iter().collect();
    let status_rank = |f: &FileChange| match f.change {
        Change::Status('D') => 0,
        Change::Status('R') => 1,
        Change::Status('A') => 2,
        Change::Status(_) => 3,
        _ => 4,
    };
    files.sort_by_key(|f| (f.machine, status_rank(f), std::cmp::Reverse(f.churn())));
    let count = files.len();
    let (mut added, mut removed, mut counted) = (0, 0, false);
    for f in &files {
        if let Change::Counted {
            added: a,
            removed: r,
        } = f.change
        {
            added += a;
            removed += r;
            counted = true;
        }
    }
    if let Some((a, r)) = c.totals.filter(|_| !counted) {
        (added, removed, counted) = (a, r, true);
    }
    let s = if count == 1 { "" } else { "s" };
    let mut out = format!("{count} file{s}");
    if counted {
        out.push_str(&format!(" +{added} -{removed}"));
    }
    let shown: Vec<String> = files
        .iter()
        .take(NOTE_FILES)
        .map(|f| {
            let path = short_path(&f.path);
            if count == 1 && counted {
                return path.to_string();
            }
            match f.change {
                Change::Counted { added, removed } => match (added, removed) {
                    (a, 0) => format!("{path} +{a}"),
                    (0, r) => format!("{path} -{r}"),
                    (a, r) => format!("{path} +{a} -{r}"),
                },
                Change::Stat { total, sign } => format!("{path} {sign}{total}"),
                Change::Binary => format!("{path} (binary)"),
                Change::Status(s) => format!("{s} {path}"),
                Change::Named => path.to_string(),
            }
        })
        .collect();
    out.push_str(": ");
    out.push_str(&shown.join(", "));
    if count > NOTE_FILES {
        out.push_str(&format!(", +{} more", count - NOTE_FILES));
    }
    out
}

/// The last two components of a path.
fn short_path(path: &str) -> &str {
    let mut cut = path.len();
    for _ in 0..2 {
        match path[..cut].rfind('/') {
            Some(i) => cut = i,
            None => return path,
        }
    }
    &path[cut + 1..]
}

/// The note that stands for a commit's header lines: `[commit 1b49bb9052 · 2026-11-25 · Name]`.
fn head_note(c: &Commit) -> String {
    let mut s = format!("[commit {}", abbrev(&c.hash));
    if !c.decor.is_empty() {
        s.push_str(&format!(" ({})", c.decor));
    }
    if c.merge {
        s.push_str(" · merge");
    }
    for part in [&c.date, &c.author] {
        if !part.is_empty() {
            s.push_str(" · ");
            s.push_str(part);
        }
    }
    s.push_str("]\n");
    s
}

/// The longest a line may be shown whole, in tokens.
fn line_cap(budget: usize) -> usize {
    (budget / 4).max(16)
}

/// Tokens left beside the listings and the marker when the listings are measured against the
/// budget: the real key, and a marker that says a little more.
const LISTING_SLACK: usize = 16;

/// The fewest tokens a subject is cut to when not every listing fits whole.
const SUBJECT_MIN: usize = 16;

/// Tokens a cut subject takes beyond its prefix: the ` …` and the line break.
const CUT_MARK: usize = 3;

/// Lines shown cut: any line over a quarter of the budget, and, when the commits' listings
/// would not all fit whole in `room` tokens but would all fit cut, the longest subjects, to a
/// common length (never under [`SUBJECT_MIN`] tokens). Also whether every listing fits.
fn cuts(
    log: &Log,
    lines: &[&str],
    heads: &[String],
    room: usize,
    ctx: &Context,
) -> (HashMap<usize, usize>, bool) {
    let cap = line_cap(ctx.budget);
    let mut cut = HashMap::new();
    for (i, l) in lines.iter().enumerate() {
        if estimate(l) > cap {
            cut.insert(i, prefix_within(l, cap, ctx));
        }
    }
    // Exact counts: cutting a subject that would have fitted loses what the reader came for.
    let subjects: Vec<(usize, usize, usize)> = log
        .commits
        .iter()
        .zip(heads)
        .filter(|(c, _)| c.full && c.listing != c.start)
        .map(|(c, h)| {
            let line = ctx.counter.count(lines[c.listing]).min(cap);
            (c.listing, line, ctx.counter.count(h))
        })
        .collect();
    // A cut subject ends in ` …` and its own line break, which its prefix's count lacks.
    let need = |limit: usize| -> usize {
        subjects
            .iter()
            .map(|&(_, s, h)| if s > limit { limit + CUT_MARK } else { s } + h)
            .sum()
    };
    // Cut only when that lists every commit; otherwise as many as fit are listed whole.
    if need(cap) > room && need(SUBJECT_MIN) <= room {
        // The largest common length that fits, found by bisection.
        let (mut lo, mut hi) = (SUBJECT_MIN, cap);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if need(mid) <= room {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        for &(i, s, _) in &subjects {
            if s > lo && !cut.contains_key(&i) {
                cut.insert(i, prefix_within(lines[i], lo, ctx));
            }
        }
        return (cut, true);
    }
    let fits = need(cap) <= room;
    (cut, fits)
}

/// The estimated cost of showing line `i` (with its commit's header note when it is a
/// listing), or of a commit's note for the virtual lines past the text's.
fn listed_cost(
    view: &View,
    listing_of: &HashMap<usize, usize>,
    note_cost: &[usize],
    i: usize,
) -> usize {
    let n = view.lines.len();
    if i >= n {
        return note_cost[i - n];
    }
    let line = match view.cut.get(&i) {
        Some(&shown) => estimate(&content(view.lines[i])[..shown]) + 3,
        None => estimate(view.lines[i]).max(1),
    };
    line + listing_of.get(&i).map_or(0, |&k| estimate(&view.heads[k]))
}

/// Compresses a git log (see the module docs).
pub fn compress_gitlog(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let mut log = parse(&lines).ok_or(TextError::NothingToDrop("no commits were found"))?;
    let nc = log.commits.len();
    let hits = query_hits(&log, &lines, ctx);
    let named: HashSet<usize> = hits.commits.iter().copied().collect();
    log.list_order = hits.commits.clone();
    log.list_order
        .extend((0..nc).filter(|k| !named.contains(k)));
    let log = log;
    // Notes as they would read with everything of their commit left out, for estimates.
    let nothing = vec![false; n + nc];
    let note_cost: Vec<usize> = (0..nc)
        .map(|k| note(&log, k, &nothing).map_or(0, |s| estimate(&s)))
        .collect();
    let heads: Vec<String> = log.commits.iter().map(head_note).collect();
    let mut view = View {
        log: &log,
        lines: &lines,
        cut: HashMap::new(),
        heads,
        asked: hits.lines.iter().map(|&w| w > 0.0).collect(),
    };
    // What the output takes with no commit in it (the marker), for measuring the listings.
    let empty = view.render(&nothing, Detail::Terse, &Key::of(b"cinch gitlog"));
    let mut room = ctx
        .budget
        .saturating_sub(ctx.counter.count(&empty) + LISTING_SLACK);
    let listing_of: HashMap<usize, usize> = log
        .commits
        .iter()
        .enumerate()
        .filter(|(_, c)| c.full)
        .map(|(k, c)| (c.listing, k))
        .collect();
    // Virtual lines past the text's stand for the commits' notes.
    let all: Vec<&str> = lines.iter().copied().chain((0..nc).map(|_| "")).collect();
    // The listings are measured before the output is rendered, so when the rendered output
    // turns out not to hold them all, they are cut shorter, by what was missing, and fitted
    // again.
    let mut attempts = 0;
    let (plan, fitted) = loop {
        attempts += 1;
        let (cut, listings_fit) = cuts(&log, &lines, &view.heads, room, ctx);
        view.cut = cut;
        let units = Ranker {
            log: &log,
            lines: &lines,
            hits: &hits,
            note_cost: &note_cost,
            listings_fit,
            units: Vec::with_capacity(n + nc),
        }
        .rank();
        let cost = |i: usize| listed_cost(&view, &listing_of, &note_cost, i);
        let plan = fit::Plan {
            kind: "gitlog",
            original: text,
            lines: &all,
            units,
        };
        let mut render = |keep: &[bool], detail: Detail, key: &Key| view.render(keep, detail, key);
        let mut fitted = plan.fit(&cost, ctx, &mut render);
        fitted.keep = view.effective(&fitted.keep);
        let missing: usize = listing_of
            .keys()
            .filter(|&&i| !fitted.keep[i])
            .map(|&i| cost(i))
            .sum();
        if !listings_fit || missing == 0 || attempts == 3 || missing >= room {
            break (plan, fitted);
        }
        room -= missing;
    };
    let shown = fitted.keep.clone();
    let mut render = |keep: &[bool], detail: Detail, key: &Key| view.render(keep, detail, key);
    let stored = plan.store_and_render(
        fitted,
        &|i| i < n && !view.cut.contains_key(&i),
        ctx,
        &mut render,
    )?;
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    for i in (0..n).filter(|&i| !shown[i] || view.cut.contains_key(&i)) {
        *dropped.entry(log.role[i].name().to_string()).or_default() += 1;
    }
    Ok(TextOutcome {
        output: stored.output,
        strategy: "gitlog",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: nc,
            dropped,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::{entry, marker_keys};
    use crate::context::with_context;
    use crate::Store;

    const TWO: &str = "\
commit 1111111111111111111111111111111111111111 (HEAD -> main, tag: v1.0)
Author: Ann Example <ann@example.com>
Date:   Fri Dec 4 16:38:07 2026 +0000

    Rework the parser

    -p used to print nothing here
    +1 for the new layout
    @@ not a hunk @@

diff --git a/src/a.rs b/src/a.rs
index 1111111..2222222 100644
--- a/src/a.rs
+++ b/src/a.rs
@@ -1,3 +1,3 @@ fn a() {
 one
-two
+TWO
 three

commit 2222222222222222222222222222222222222222
Merge: 1111111 3333333
Author: Bob Example <bob@example.com>
Date:   Thu Dec 3 10:00:00 2026 +0100

    Merge branch 'x'
";

    #[test]
    fn message_lines_are_message_and_hunks_stay_in_their_commit() {
        let lines = lines_of(TWO);
        let log = parse(&lines).unwrap();
        assert_eq!(log.commits.len(), 2);
        let at = |s: &str| lines.iter().position(|l| l.starts_with(s)).unwrap();
        for s in ["    -p used", "    +1 for", "    @@ not"] {
            assert_eq!(log.role[at(s)], Role::Body, "{s}");
        }
        assert_eq!(log.role[at("    Rework")], Role::Subject);
        assert_eq!(log.role[at("@@ -1,3")], Role::Hunk);
        assert_eq!(log.role[at("-two")], Role::Changed);
        assert_eq!(log.role[at(" one")], Role::Context);
        assert_eq!(log.commit_of[at("+TWO")], Some(0));
        let c = &log.commits[0];
        assert_eq!(c.decor, "HEAD -> main, tag: v1.0");
        assert_eq!(
            (c.author.as_str(), c.date.as_str()),
            ("Ann Example", "2026-12-04")
        );
        assert_eq!(
            c.files[0].change,
            Change::Counted {
                added: 1,
                removed: 1
            }
        );
        assert!(log.commits[1].merge);
        assert_eq!(
            head_note(&log.commits[1]),
            "[commit 2222222222 · merge · 2026-12-03 · Bob Example]\n"
        );
    }

    #[test]
    fn graph_drawing_is_read_off_with_the_commit_lines_width() {
        let text = "\
*   commit aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
|\\  Merge: bbbbbbb ccccccc
| | Author: A <a@x>
| | Date:   Sat Aug 8 03:06:06 2026 +0300
| | 
| |     Merge it
| | 
| * commit cccccccccccccccccccccccccccccccccccccccc
|/  Author: B <b@x>
|   Date:   Sat Aug 8 03:06:01 2026 +0300
|   
|       doc: fix the guide
|   
|    GUIDE.md | 18 +++++++++---------
|    1 file changed, 9 insertions(+), 9 deletions(-)
";
        let lines = lines_of(text);
        let log = parse(&lines).unwrap();
        assert!(log.graph);
        assert_eq!(log.commits.len(), 2);
        assert_eq!(log.role[5], Role::Subject);
        assert_eq!(log.role[11], Role::Subject);
        assert_eq!(log.role[13], Role::Stat);
        assert_eq!(log.role[14], Role::StatTotal);
        let c = &log.commits[1];
        assert_eq!(c.files[0].path, "GUIDE.md");
        assert_eq!(c.totals, Some((9, 9)));
        assert!(log.commits[0].merge);
    }

    #[test]
    fn one_line_logs_and_their_marks() {
        let text = "\
* 26a9dd4b21 (HEAD -> main) Simplify branches
*   cfebf92a Merge 88c70a3c into 3fce3b5b
|\\  
| * 88c70a3c doc: search for clap
|/  
* 092d68b920 Revert \"Respect binary policies\"
* 5880e1b9cc Repair trampolines
";
        let lines = lines_of(text);
        let log = parse(&lines).unwrap();
        assert!(log.graph && !log.commits[0].full);
        assert_eq!(log.commits.len(), 5);
        assert_eq!(log.commits[0].decor, "HEAD -> main");
        assert!(log.commits[3].alarm, "a revert stands out");
        assert_eq!(log.role[2], Role::Graph);
    }

    #[test]
    fn dates_people_and_paths() {
        assert_eq!(short_date("Fri Dec 4 16:38:07 2026 +0000"), "2026-12-04");
        assert_eq!(short_date("2026-12-04 16:38:07 +0000"), "2026-12-04");
        assert_eq!(short_date("Fri, 4 Dec 2026 16:38:07 +0000"), "2026-12-04");
        assert_eq!(short_date("3 days ago"), "3 days ago");
        assert_eq!(epoch_date(1_785_852_008, "-0400"), "2026-08-04");
        assert_eq!(epoch_date(0, "+0000"), "1970-01-01");
        assert_eq!(person("Ann Example <ann@example.com>"), "Ann Example");
        assert_eq!(person("<ann@example.com>"), "ann@example.com");
        assert_eq!(short_path("crates/cinch-core/src/route.rs"), "src/route.rs");
        assert_eq!(short_path("README.md"), "README.md");
    }

    #[test]
    fn raw_headers_give_the_author_and_date() {
        let text = "commit 3fce3b5bb0236da2df6d99672afb8a719642eca7\ntree 856ed9162d23416ee7dc5f4389975b54ca062f60\nparent 5055264ae021b5d0e01e55f723622d638ea877f0\nauthor Andrew Gallant <jamslam@gmail.com> 1785852008 -0400\ncommitter Andrew Gallant <jamslam@gmail.com> 1785852008 -0400\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCgAdFiEELYER4UEVHAcu6aud\n -----END PGP SIGNATURE-----\n\n    ignore-0.4.33\n";
        let lines = lines_of(text);
        let log = parse(&lines).unwrap();
        let c = &log.commits[0];
        assert_eq!(
            (c.author.as_str(), c.date.as_str()),
            ("Andrew Gallant", "2026-08-04")
        );
        assert_eq!(
            log.role[10],
            Role::Subject,
            "the signature's blank line is a header"
        );
    }

    fn hash_of(k: usize) -> String {
        let x = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(k as u64 + 1);
        format!("{x:016x}{:016x}{k:08x}", x.rotate_left(17))
    }

    fn long_log(commits: usize) -> String {
        (0..commits)
            .map(|k| {
                let body: String = (0..30)
                    .map(|l| format!("    body line {l} of commit {k} says something\n"))
                    .collect();
                format!(
                    "commit {}\nAuthor: Dev{k} <d@x>\nDate:   Mon Mar 3 10:00:00 2025 +0100\n\n    Subject of commit {k}\n    \n{body}\n",
                    hash_of(k)
                )
            })
            .collect()
    }

    #[test]
    fn too_small_a_budget_lists_the_newest_and_says_how_many_are_missing() {
        let text = long_log(40);
        for budget in [80, 120, 300] {
            let (out, store) = with_context(&text, "", budget, |ctx| {
                let out = compress_gitlog(&text, ctx).unwrap();
                assert!(ctx.counter.count(&out.output) <= budget, "{budget}");
                out
            });
            let listed = out.output.matches("Subject of commit").count();
            assert!(listed >= 1, "{budget}: {}", out.output);
            for k in 0..listed {
                assert!(
                    out.output.contains(&format!("Subject of commit {k}\n")),
                    "newest first"
                );
            }
            assert!(
                out.output.contains(&format!(
                    "{listed} of 40 commits listed, {} not",
                    40 - listed
                )),
                "{}",
                out.output
            );
            let bytes = store.get("t", &marker_keys(&out.output)[0]).unwrap();
            assert_eq!(entry::decode(&bytes).unwrap().original, text.as_bytes());
        }
    }

    #[test]
    fn a_short_hash_brings_its_commit_whole() {
        let text = long_log(40);
        let hash = hash_of(17);
        let (out, _) = with_context(&text, &format!("show {}", &hash[..12]), 2500, |ctx| {
            compress_gitlog(&text, ctx).unwrap()
        });
        assert!(
            out.output
                .contains(&format!("commit {hash}\nAuthor: Dev17")),
            "{}",
            out.output
        );
        assert!(
            out.output.contains("body line 29 of commit 17 says"),
            "{}",
            out.output
        );
        assert!(!out.output.contains("body line 29 of commit 3 says"));
    }

    #[test]
    fn text_without_commits_is_declined() {
        let text = "just some words\n".repeat(400);
        let (r, _) = with_context(&text, "", 100, |ctx| compress_gitlog(&text, ctx));
        assert!(matches!(r, Err(TextError::NothingToDrop(_))));
    }

    #[test]
    fn notes_name_files_with_counts() {
        let c = Commit {
            files: vec![
                FileChange {
                    path: "Cargo.lock".into(),
                    change: Change::Counted {
                        added: 90,
                        removed: 80,
                    },
                    machine: true,
                },
                FileChange {
                    path: "crates/a/src/lib.rs".into(),
                    change: Change::Counted {
                        added: 12,
                        removed: 0,
                    },
                    machine: false,
                },
                FileChange {
                    path: "crates/a/src/b.rs".into(),
                    change: Change::Counted {
                        added: 3,
                        removed: 40,
                    },
                    machine: false,
                },
            ],
            ..Commit::default()
        };
        assert_eq!(
            files_summary(&c),
            "3 files +105 -120: src/b.rs +3 -40, src/lib.rs +12, Cargo.lock +90 -80"
        );
    }
}
