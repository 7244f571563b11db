//! Test-runner output (pytest, cargo test and nextest, go test, jest, mocha, JUnit and Maven
//! Surefire, unittest, Gradle): what failed, why and where, always in view; what passed,
//! counted.
//!
//! Every line gets a role: a result summary (`1 failed, 95 passed in 0.42s`, `test result:
//! FAILED.`, `FAIL\tpkg`, `Tests: 1 failed`), a line naming a failing test (a block header, a
//! short-summary or per-test `FAILED` line), a failure's message (the assertion text, the panic
//! message, the diff, the location), the rest of a failure's output (source excerpt, captured
//! output, frames), a passing or skipped test, a warning, a banner, or anything else. Lines
//! that name the same test are tied together by a key made from the test's name, so that each
//! failure counts once.
//!
//! Over the budget, lines are shown by rank (see [`super::fit`]): the summary; lines with the
//! query's terms and every failure named once; the messages of every failure (the strongest
//! line of each first, then the next of each); the rest of each failure's output, nearest to
//! its message first; skips, the first warning of each kind, banners; then passing tests and
//! everything else spread evenly. A failure the query names comes before the others. Runs of
//! left-out lines say how many passing tests they hold and which (`[… 94 passed:
//! tests/test_a.py::test_1 … tests/test_c.py::test_9 (lines 6-99) …]`). The whole original is
//! stored under one marker.

use super::fit::{self, Detail, Unit};
use super::keep;
use super::lines::{error_re, shape};
use super::log::strip_ansi;
use super::{content, lines_of, over_budget, TextDetails, TextError, TextOutcome};
use crate::ccr::{marker, Key};
use crate::context::Context;
use crate::query::{bm25, contains_exact};
use regex::Regex;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A result summary: counts, a package or suite that failed, the build's verdict.
    Summary,
    /// A line naming a failing test.
    Head,
    /// A failure's message: assertion text, panic message, diff, location.
    Msg,
    /// The rest of a failure's output.
    Detail,
    /// A passing test (or a progress line of passes).
    Pass,
    /// A skipped, ignored, pending or expected-to-fail test.
    Skip,
    /// A warning.
    Warn,
    /// A section banner or session header.
    Banner,
    /// Anything else: build lines, blank lines, output of passing tests.
    Other,
    /// A line that only says a test started (go's `=== RUN`).
    Run,
}

/// What the parser found about one line.
#[derive(Debug, Clone, Copy)]
struct Info {
    role: Role,
    /// The failure the line belongs to.
    fail: Option<usize>,
    /// For a [`Role::Head`] line: how well it names its failure (0 best: it carries the
    /// message too; 1: a block's header; 2 and 3: a bare mention).
    pref: u8,
    /// For a [`Role::Msg`] line: one of the lines that say most (the exception, the first
    /// `E` line, the panic, the location).
    strong: bool,
    /// Passing tests the line stands for.
    passes: usize,
}

impl Info {
    fn msg(fail: usize, strong: bool) -> Info {
        Info {
            role: Role::Msg,
            fail: Some(fail),
            pref: 0,
            strong,
            passes: 0,
        }
    }

    fn of(role: Role) -> Info {
        Info {
            role,
            fail: None,
            pref: 0,
            strong: false,
            passes: usize::from(role == Role::Pass),
        }
    }
}

struct Patterns {
    summary: Regex,
    pytest_banner: Regex,
    pytest_block: Regex,
    pytest_short: Regex,
    pytest_v: Regex,
    pytest_ra: Regex,
    progress: Regex,
    cargo_test: Regex,
    cargo_block: Regex,
    nextest: Regex,
    nextest_block: Regex,
    go_result: Regex,
    go_run: Regex,
    jest_file: Regex,
    numbered: Regex,
    surefire_case: Regex,
    results_item: Regex,
    gradle: Regex,
    unittest_head: Regex,
    unittest_v: Regex,
    location: Regex,
    strong: Regex,
    code_frame: Regex,
    warning: Regex,
    diagnostic: Regex,
    failing: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            summary: re(r"(?x)^(?:
                =+\ .*\b\d+\ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b.*\ =+$
              | =+\ no\ tests\ ran\b.*=+$
              | \d+\ (?:passed|failed|errors?)(?:,\ \d+\ \w+)*\ in\ [\d.]+s
              | test\ result:\ 
              | error:\ (?:test\ failed|\d+\ targets?\ failed)
              | \s*Summary\ \[\s*[\d.]+m?s\]
              | FAIL\s+\S+\s+(?:[\d.]+s|\(cached\)|\[[^\]]*\])
              | FAIL$
              | Tests?:\s+\d+\ 
              | Test\ Suites:\s+\d+
              | \s*\d+\ (?:passing|failing|pending)\b
              | Tests\ run:\ \d+,\s+Failures:\ \d+
              | BUILD\ (?:SUCCESS|FAILURE|FAILED)
              | FAILURES!!!
              | OK\ \(\d+\ tests?\)
              | There\ (?:was|were)\ \d+\ (?:failures?|errors?):
              | Ran\ \d+\ tests?\ in\ 
              | (?:FAILED|OK)(?:\ \(.*\))?$
              | \d+\ tests?\ completed,\ \d+\ failed
              | (?:\w+:\s*)?\d+\ passed,\ \d+\ failed
            )"),
            pytest_banner: re(r"^={3,} ?(.*?) ?={3,}$"),
            pytest_block: re(r"^_{3,} (.+?) _{3,}$"),
            pytest_short: re(r"^(FAILED|ERROR) (\S+(?:::\S*|\.py))(?: - .*)?$"),
            pytest_v: re(r"^(\S+::\S+?)(?: <- \S+)? (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b"),
            pytest_ra: re(r"^(PASSED|SKIPPED|XFAIL|XPASS) (\S.*)$"),
            progress: re(r"^(?:\S+\.py ?)?[.FEsxXp]+\s*(?:\[\s*\d+%\])?$"),
            cargo_test: re(r"^test (\S.*?) \.\.\. (ok|FAILED|ignored|bench)\b"),
            cargo_block: re(r"^---- (\S.*?) (?:stdout|stderr) ----$"),
            nextest: re(r"^\s*(PASS|FAIL|SKIP|SIGSEGV|SIGABRT|SIGKILL|TIMEOUT|LEAK|FLAKY|ABORT)\s+\[\s*[\d.]+m?s\]\s+(\S.*)$"),
            nextest_block: re(r"^-{3,} (?:TRY \d+ )?STD(?:OUT|ERR):\s+(\S.*?)\s+-{3,}$"),
            go_result: re(r"^(\s*)--- (PASS|FAIL|SKIP): (\S+)"),
            go_run: re(r"^=== (?:RUN|PAUSE|CONT|NAME)\s+(\S+)"),
            jest_file: re(r"^\s*(PASS|FAIL) (\S+\.\w+)\b"),
            numbered: re(r"^(\s*)(\d+)\) (\S.*)$"),
            surefire_case: re(r"^(\S+?)(?:\((\S+)\))?\s+Time elapsed:.*<<< (FAILURE|ERROR)!"),
            results_item: re(r"^\s{2,}(\S+)\s"),
            gradle: re(r"^(\S+) > (.+?) (FAILED|PASSED|SKIPPED)$"),
            unittest_head: re(r"^(FAIL|ERROR): (\S+)"),
            unittest_v: re(r"^(\w+) \([\w.]+\)(?: \.\.\.)? (ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$"),
            location: re(r"^\S+:\d+:(?:\d+:)? (?:in )?\S"),
            strong: re(r"(?x)^(?:
                E\s
              | >\s
              | thread\ '.*'\ panicked\ at
              | panic:\ 
              | Error:\ 
              | (?:[\w$]+\.)*[\w$]*(?:Error|Exception|Failure|Exit)\b(?:\ \[\w+\])?:?
              | assert
              | expect\(
              | Expected\b|Received\b
              | (?:left|right):\ 
            )"),
            code_frame: re(r"^>?\s*\d+\s*\|"),
            warning: re(r"(?i)^(?:warning(?:\[\w+\])?:|\S+:\d+: \w*Warning\b)|\b\w*Warning: "),
            diagnostic: re(r"^(?:error(?:\[\w+\])?:|\S+:\d+:\d+: )"),
            // A summary that reports failures (`test result: ok. 5 passed; 0 failed` does not).
            failing: re(r"FAIL|(?i:\b[1-9]\d*\s+(?:failed|failing|failures?|errors?)\b|\b(?:failures|errors)[:=]\s*[1-9]|^error:)"),
        }
    })
}

/// A failure's key: the test's own name, so that `tests/a.py::test_x[1]`, `___ test_x[1] ___`
/// and `FAILED tests/a.py::test_x[1] - ...` name one failure.
fn key_of(id: &str) -> String {
    let id = id.trim().trim_end_matches(':');
    let (head, params) = match id.find('[') {
        Some(at) => id.split_at(at),
        None => (id, ""),
    };
    // `name(Class)`, `name (module.Class)`, `name (12 ms)`.
    let head = head.split('(').next().unwrap_or(head).trim_end();
    // `SizeTest.garbage:9`: the line number is not part of the name.
    let head = match head.rsplit_once(':') {
        Some((name, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => head,
    };
    let last = head
        .rsplit(['›', '>'])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or(head);
    let last = last.rsplit("::").next().unwrap_or(last);
    let last = if last.contains('/') {
        last
    } else {
        last.rsplit('.').next().unwrap_or(last)
    };
    format!("{last}{params}")
}

/// The name a passing test's line gives, for notes.
fn pass_name(line: &str) -> Option<&str> {
    let p = patterns();
    let t = line.trim();
    let caps = p
        .pytest_v
        .captures(t)
        .or_else(|| p.cargo_test.captures(t))
        .or_else(|| p.pytest_ra.captures(t).filter(|_| false));
    if let Some(c) = caps {
        return c.get(1).map(|m| m.as_str());
    }
    if let Some(c) = p.go_result.captures(line).or_else(|| p.nextest.captures(t)) {
        return c.get(c.len() - 1).map(|m| m.as_str());
    }
    if let Some(rest) = t.strip_prefix("PASSED ") {
        return Some(rest);
    }
    t.strip_prefix(['✓', '✔', '√'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Which part of the output the line is in, for runners whose sections change what a line
/// means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    /// pytest's `FAILURES` and `ERRORS`: `___ name ___` headers open failures.
    Failures,
    /// pytest's `PASSES` (`-rA`): headers open passing tests' output.
    Passes,
    /// pytest's warnings summary.
    Warnings,
    /// cargo's closing list of failed tests.
    CargoList,
    /// Surefire's `Results:` lists of failures and errors.
    Results,
    /// jest's console output.
    Console,
}

/// What a failure's block of output looks like, which decides where its message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    /// pytest: source with `>` at the failing line, `E` lines, then `path:line: Error`.
    Pytest,
    /// cargo test: `thread '...' panicked at`, the message, then a backtrace.
    Cargo,
    /// go test: indented messages under `--- FAIL`, then a panic and goroutines.
    Go,
    /// The message first, then frames (jest, mocha, JUnit, Surefire, Gradle, unittest).
    MessageFirst,
}

struct Block {
    fail: usize,
    kind: BlockKind,
    indent: usize,
    /// Lines of the message taken so far.
    msgs: usize,
    /// Still reading the message (before the first frame).
    msg_open: bool,
    /// Reading a panic's message (cargo).
    panic: bool,
    /// A `at ...` frame was already taken as the location.
    at_seen: bool,
    /// The last `File "..."` frame, for Python tracebacks.
    last_file: Option<usize>,
    /// Frames of the code under test taken as part of the message.
    own_frames: usize,
}

/// Lines with the query's exact terms ranked with the summary.
const ANSWERS: usize = 4;
/// Consecutive lines shown together when filling the budget.
const FILL_PIECE: usize = 8;
/// What a note about left-out lines costs, shared out over the lines kept around it.
const NOTE_SHARE: usize = 5;
/// Lines of a failure's message taken when it comes first.
const FIRST_MESSAGE_LINES: usize = 12;

struct Parser<'a> {
    plain: &'a [Cow<'a, str>],
    info: Vec<Info>,
    keys: HashMap<String, usize>,
    section: Section,
    block: Option<Block>,
    /// The test go's `-v` is running: its output lines come before its verdict.
    running: Option<String>,
    attached: Vec<(usize, String)>,
    /// A `N failing` / `There were N failures:` line was seen: numbered lines after it open
    /// failures' details.
    numbered_details: bool,
}

/// The line without a Maven-style `[INFO] ` prefix.
fn unprefixed(line: &str) -> &str {
    for p in ["[INFO] ", "[ERROR] ", "[WARNING] ", "[WARN] ", "[DEBUG] "] {
        if let Some(rest) = line.strip_prefix(p) {
            return rest;
        }
    }
    match line {
        "[INFO]" | "[ERROR]" | "[WARNING]" => "",
        _ => line,
    }
}

impl<'a> Parser<'a> {
    fn new(plain: &'a [Cow<'a, str>]) -> Parser<'a> {
        Parser {
            plain,
            info: Vec::with_capacity(plain.len()),
            keys: HashMap::new(),
            section: Section::None,
            block: None,
            running: None,
            attached: Vec::new(),
            numbered_details: false,
        }
    }

    fn failure(&mut self, id: &str) -> usize {
        let next = self.keys.len();
        *self.keys.entry(key_of(id)).or_insert(next)
    }

    fn head(&mut self, id: &str, pref: u8) -> Info {
        let f = self.failure(id);
        Info {
            role: Role::Head,
            fail: Some(f),
            pref,
            strong: false,
            passes: 0,
        }
    }

    fn open(&mut self, info: Info, kind: BlockKind, indent: usize) -> Info {
        if let Some(fail) = info.fail {
            self.block = Some(Block {
                fail,
                kind,
                indent,
                msgs: 0,
                msg_open: true,
                panic: false,
                at_seen: false,
                last_file: None,
                own_frames: 0,
            });
        }
        info
    }

    fn run(mut self) -> (Vec<Info>, usize) {
        for i in 0..self.plain.len() {
            let plain = self.plain;
            let t = unprefixed(&plain[i]);
            let info = if t.trim().is_empty() {
                self.blank()
            } else if let Some(info) = self.structural(i, t) {
                info
            } else {
                self.inside(i, t)
            };
            self.info.push(info);
        }
        // go's `-v` prints a test's output before its verdict.
        for (i, name) in std::mem::take(&mut self.attached) {
            if let Some(&f) = self.keys.get(&key_of(&name)) {
                self.info[i] = Info {
                    role: Role::Msg,
                    fail: Some(f),
                    pref: 0,
                    strong: patterns().location.is_match(self.plain[i].trim()),
                    passes: 0,
                };
            }
        }
        let failures = self.keys.len();
        (self.info, failures)
    }

    fn blank(&mut self) -> Info {
        match &mut self.block {
            Some(b) => {
                b.panic = false;
                Info {
                    role: Role::Detail,
                    fail: Some(b.fail),
                    ..Info::of(Role::Detail)
                }
            }
            None => Info::of(Role::Other),
        }
    }

    /// A line that says where in the output we are (and ends a failure's block), if it is one.
    fn structural(&mut self, i: usize, t: &str) -> Option<Info> {
        let p = patterns();
        let kind = self.block.as_ref().map(|b| b.kind);
        if let Some(info) = self.pytest(t) {
            return Some(info);
        }
        if kind == Some(BlockKind::Pytest) {
            return None;
        }
        if let Some(info) = self.cargo(i, t) {
            return Some(info);
        }
        if kind == Some(BlockKind::Cargo) {
            return None;
        }
        let trimmed = t.trim();
        // Before the summaries: `ok  \tpkg` and a Surefire class that passed are passes.
        if trimmed.starts_with("ok ") && p.summary.is_match(&t.replacen("ok", "FAIL", 1)) {
            self.end_block();
            self.running = None;
            return Some(Info::of(Role::Pass));
        }
        if t.starts_with("Tests run: ") && t.contains(" - in ") && !t.contains("<<<") {
            self.end_block();
            return Some(Info::of(Role::Pass));
        }
        if p.summary.is_match(t) {
            self.end_block();
            self.running = None;
            if trimmed.contains("failing") || trimmed.starts_with("There w") {
                self.numbered_details = true;
            }
            if t.starts_with("Tests run:") {
                self.section = Section::None;
            }
            return Some(Info::of(Role::Summary));
        }
        if let Some(c) = p.go_run.captures(t) {
            self.end_block();
            self.running = c.get(1).map(|m| m.as_str().to_string());
            return Some(Info::of(Role::Run));
        }
        if trimmed == "PASS" {
            self.end_block();
            self.running = None;
            return Some(Info::of(Role::Banner));
        }
        if let Some(c) = p.go_result.captures(t) {
            self.end_block();
            let indent = c.get(1).map_or(0, |m| m.len());
            let name = c.get(3).map_or("", |m| m.as_str());
            return Some(match c.get(2).map(|m| m.as_str()) {
                Some("FAIL") => {
                    let info = self.head(name, 1);
                    self.open(info, BlockKind::Go, indent)
                }
                Some("SKIP") => Info::of(Role::Skip),
                _ => Info::of(Role::Pass),
            });
        }
        if let Some(c) = p.nextest.captures(t) {
            self.end_block();
            let name = c.get(2).map_or("", |m| m.as_str());
            return Some(match c.get(1).map(|m| m.as_str()) {
                Some("PASS") | Some("FLAKY") => Info::of(Role::Pass),
                Some("SKIP") => Info::of(Role::Skip),
                _ => self.head(name, 2),
            });
        }
        if let Some(c) = p.nextest_block.captures(t) {
            self.end_block();
            let name = c.get(1).map_or("", |m| m.as_str()).to_string();
            let info = self.head(&name, 1);
            return Some(self.open(info, BlockKind::Cargo, 0));
        }
        if let Some(c) = p.jest_file.captures(t) {
            self.end_block();
            self.section = Section::None;
            return Some(match c.get(1).map(|m| m.as_str()) {
                Some("FAIL") => {
                    let path = c.get(2).map_or("", |m| m.as_str()).to_string();
                    self.head(&path, 0)
                }
                _ => Info::of(Role::Pass),
            });
        }
        if let Some(rest) = trimmed.strip_prefix("● ") {
            self.end_block();
            if rest.starts_with("Console") {
                self.section = Section::Console;
                return Some(Info::of(Role::Banner));
            }
            self.section = Section::None;
            let name = rest.to_string();
            let info = self.head(&name, 1);
            return Some(self.open(info, BlockKind::MessageFirst, 0));
        }
        if let Some(rest) = trimmed.strip_prefix(['✕', '✗', '×']) {
            self.end_block();
            let name = rest.to_string();
            return Some(self.head(&name, 2));
        }
        if trimmed.starts_with(['✓', '✔', '√']) {
            self.end_block();
            return Some(Info::of(Role::Pass));
        }
        if trimmed.starts_with('○') {
            self.end_block();
            return Some(Info::of(Role::Skip));
        }
        if ["Snapshots:", "Time:", "Ran all test suites"]
            .iter()
            .any(|s| t.starts_with(s))
        {
            self.end_block();
            return Some(Info::of(Role::Banner));
        }
        if let Some(c) = p.surefire_case.captures(t) {
            self.end_block();
            let name = c.get(1).map_or("", |m| m.as_str()).to_string();
            let info = self.head(&name, 1);
            return Some(self.open(info, BlockKind::MessageFirst, 0));
        }
        if let Some(c) = p.numbered.captures(t) {
            let indent = c.get(1).map_or(0, |m| m.len());
            let number = format!("#{}", c.get(2).map_or("", |m| m.as_str()));
            let rest = c.get(3).map_or("", |m| m.as_str());
            // JUnit's `1) name(Class)` has its own name; mocha's lists and details share
            // the number.
            let id = if rest.ends_with(')') && rest.contains('(') {
                rest.to_string()
            } else {
                number
            };
            self.end_block();
            let info = self.head(&id, if self.numbered_details { 1 } else { 2 });
            return Some(if self.numbered_details {
                self.open(info, BlockKind::MessageFirst, indent)
            } else {
                info
            });
        }
        // Surefire's `Running demo.SizeTest` (cargo's `Running unittests ...` says more).
        if trimmed
            .strip_prefix("Running ")
            .is_some_and(|rest| !rest.contains(' '))
        {
            self.end_block();
            return Some(Info::of(Role::Banner));
        }
        if matches!(
            trimmed,
            "Results:" | "Failures:" | "Errors:" | "Flakes:" | "Tests in error:" | "Failed tests:"
        ) {
            self.end_block();
            self.section = Section::Results;
            return Some(Info::of(Role::Banner));
        }
        if self.section == Section::Results {
            if let Some(c) = p.results_item.captures(t) {
                let name = c.get(1).map_or("", |m| m.as_str()).to_string();
                return Some(self.head(&name, 0));
            }
        }
        if let Some(c) = p.gradle.captures(t) {
            self.end_block();
            let name = c.get(2).map_or("", |m| m.as_str()).to_string();
            return Some(match c.get(3).map(|m| m.as_str()) {
                Some("FAILED") => {
                    let info = self.head(&name, 1);
                    self.open(info, BlockKind::MessageFirst, 0)
                }
                Some("SKIPPED") => Info::of(Role::Skip),
                _ => Info::of(Role::Pass),
            });
        }
        if let Some(c) = p.unittest_head.captures(t) {
            self.end_block();
            let name = c.get(2).map_or("", |m| m.as_str()).to_string();
            let info = self.head(&name, 1);
            return Some(self.open(info, BlockKind::MessageFirst, 0));
        }
        if let Some(c) = p.unittest_v.captures(t) {
            self.end_block();
            let name = c.get(1).map_or("", |m| m.as_str()).to_string();
            return Some(match c.get(2).map(|m| m.as_str()) {
                Some("ok") | Some("unexpected success") => Info::of(Role::Pass),
                Some("FAIL") | Some("ERROR") => self.head(&name, 2),
                _ => Info::of(Role::Skip),
            });
        }
        if p.progress.is_match(trimmed)
            && (trimmed.contains('[') || trimmed.contains(".py") || trimmed.len() >= 3)
        {
            self.end_block();
            let dots = progress_part(trimmed);
            let failed = dots.contains(['F', 'E']);
            return Some(Info {
                role: if failed { Role::Banner } else { Role::Pass },
                passes: dots.matches('.').count(),
                ..Info::of(Role::Pass)
            });
        }
        // unittest's rule above each failure.
        if t.len() >= 20 && t.trim_matches('=').is_empty() {
            self.end_block();
            return Some(Info::of(Role::Banner));
        }
        None
    }

    /// pytest's structure: banners, failure headers, per-test and short-summary lines.
    fn pytest(&mut self, t: &str) -> Option<Info> {
        let p = patterns();
        if t.starts_with("===") {
            if let Some(c) = p.pytest_banner.captures(t) {
                self.end_block();
                if p.summary.is_match(t) {
                    return Some(Info::of(Role::Summary));
                }
                let inner = c.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
                self.section = match inner.as_str() {
                    "failures" | "errors" => Section::Failures,
                    "passes" => Section::Passes,
                    "warnings summary" => Section::Warnings,
                    _ => Section::None,
                };
                return Some(Info::of(Role::Banner));
            }
        }
        if t.starts_with("___") {
            if let Some(c) = p.pytest_block.captures(t) {
                self.end_block();
                let name = c.get(1).map_or("", |m| m.as_str());
                if self.section != Section::Failures {
                    return Some(Info::of(Role::Banner));
                }
                let name = [
                    "ERROR at setup of ",
                    "ERROR at teardown of ",
                    "ERROR collecting ",
                ]
                .iter()
                .find_map(|s| name.strip_prefix(s))
                .unwrap_or(name)
                .to_string();
                let info = self.head(&name, 1);
                return Some(self.open(info, BlockKind::Pytest, 0));
            }
        }
        if self.block.is_some() {
            return None;
        }
        if let Some(c) = p.pytest_short.captures(t) {
            let id = c.get(2).map_or("", |m| m.as_str()).to_string();
            return Some(self.head(&id, 0));
        }
        if let Some(c) = p.pytest_v.captures(t) {
            let id = c.get(1).map_or("", |m| m.as_str()).to_string();
            return Some(match c.get(2).map(|m| m.as_str()) {
                Some("FAILED") | Some("ERROR") => self.head(&id, 2),
                Some("SKIPPED") | Some("XFAIL") => Info::of(Role::Skip),
                _ => Info::of(Role::Pass),
            });
        }
        if let Some(c) = p.pytest_ra.captures(t) {
            return Some(match c.get(1).map(|m| m.as_str()) {
                Some("PASSED") | Some("XPASS") => Info::of(Role::Pass),
                _ => Info::of(Role::Skip),
            });
        }
        None
    }

    /// cargo test's structure: `running N tests`, per-test lines, failure blocks, the list.
    fn cargo(&mut self, i: usize, t: &str) -> Option<Info> {
        let p = patterns();
        if let Some(rest) = t.strip_prefix("running ") {
            if rest.ends_with(" tests") || rest.ends_with(" test") {
                self.end_block();
                self.section = Section::None;
                return Some(Info::of(Role::Banner));
            }
        }
        if t.starts_with("test ") {
            if let Some(c) = p.cargo_test.captures(t) {
                self.end_block();
                let name = c.get(1).map_or("", |m| m.as_str());
                let name = name.split(" - ").next().unwrap_or(name).to_string();
                return Some(match c.get(2).map(|m| m.as_str()) {
                    Some("FAILED") => self.head(&name, 2),
                    Some("ignored") => Info::of(Role::Skip),
                    _ => Info::of(Role::Pass),
                });
            }
        }
        if t.starts_with("---- ") {
            if let Some(c) = p.cargo_block.captures(t) {
                self.end_block();
                let name = c.get(1).map_or("", |m| m.as_str()).to_string();
                let info = self.head(&name, 1);
                return Some(self.open(info, BlockKind::Cargo, 0));
            }
        }
        if t == "failures:" || t == "successes:" {
            self.end_block();
            // The second `failures:` lists the failed tests' names.
            let next = self.plain[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.as_ref());
            self.section = match next {
                Some(l) if t == "failures:" && l.starts_with("    ") && !l.contains(' ') => {
                    Section::CargoList
                }
                Some(l) if t == "failures:" && l.starts_with("    ") => {
                    if l.trim().contains(' ') {
                        Section::None
                    } else {
                        Section::CargoList
                    }
                }
                _ => Section::None,
            };
            return Some(Info::of(Role::Banner));
        }
        if self.section == Section::CargoList {
            if t.starts_with("    ") && !t.trim().contains(' ') {
                let name = t.trim().to_string();
                return Some(self.head(&name, 3));
            }
            self.section = Section::None;
        }
        None
    }

    fn end_block(&mut self) {
        self.block = None;
    }

    /// A line that is not structural: part of a failure's block, output of a running test,
    /// a warning, or anything else.
    fn inside(&mut self, i: usize, t: &str) -> Info {
        let p = patterns();
        let Some(b) = self.block.as_mut() else {
            return self.outside(i, t);
        };
        let tt = t.trim_start();
        let indent = t.len() - tt.len();
        let fail = b.fail;
        // A frame of the code under test (not of the runner, the language or a library):
        // the first two are part of the message, with the line naming their function where
        // the location comes on a line of its own (Rust backtraces, Go goroutines).
        let location = tt.starts_with("at ") || (t.starts_with('\t') && tt.starts_with('/'));
        if (location || tt.starts_with("File \""))
            && !super::trace::library_frame(tt)
            && b.own_frames < 2
        {
            b.own_frames += 1;
            let split = matches!(b.kind, BlockKind::Cargo | BlockKind::Go) && location;
            let strong = b.kind == BlockKind::MessageFirst && b.own_frames == 1;
            if split && i > 0 && self.info[i - 1].fail == Some(fail) {
                self.info[i - 1] = Info::msg(fail, false);
            }
            b.msgs += 1;
            return Info::msg(fail, strong);
        }
        let (role, strong) = match b.kind {
            BlockKind::Pytest => {
                let e = tt.strip_prefix('E').filter(|_| indent == 0);
                if let Some(rest) = e.filter(|r| r.is_empty() || r.starts_with(' ')) {
                    // The first words of the error and what it says about them.
                    let said = !rest.trim().is_empty();
                    let strong = said && (b.msgs < 2 || p.strong.is_match(rest.trim()));
                    (Role::Msg, strong && b.msgs < 6)
                } else if t.starts_with('>')
                    || (indent == 0 && p.location.is_match(tt) && !tt.contains(": in "))
                {
                    // The failing line, or where the error was raised.
                    (Role::Msg, true)
                } else {
                    (Role::Detail, false)
                }
            }
            BlockKind::Cargo => {
                if tt.starts_with("thread '") && tt.contains(" panicked at ") {
                    b.panic = true;
                    (Role::Msg, true)
                } else if b.panic {
                    if tt.starts_with("note:") || tt.starts_with("stack backtrace:") {
                        b.panic = false;
                        (Role::Detail, false)
                    } else {
                        (Role::Msg, b.msgs < 3)
                    }
                } else if tt.starts_with("Error: ") || tt.starts_with("error: ") {
                    (Role::Msg, true)
                } else {
                    (Role::Detail, false)
                }
            }
            BlockKind::Go => {
                if tt.starts_with("panic: ") || tt.starts_with("fatal error: ") {
                    b.msg_open = false;
                    (Role::Msg, true)
                } else if tt.starts_with("goroutine ") {
                    b.msg_open = false;
                    (Role::Detail, false)
                } else if b.msg_open && indent > b.indent {
                    (Role::Msg, b.msgs < 2)
                } else {
                    b.msg_open = false;
                    (Role::Detail, false)
                }
            }
            BlockKind::MessageFirst => {
                let frame = tt.starts_with("at ")
                    || p.code_frame.is_match(tt)
                    || tt.starts_with("File \"")
                    || tt.starts_with("Traceback (")
                    || (tt.starts_with("---") && tt.trim_matches('-').is_empty());
                if tt.starts_with("File \"") {
                    b.last_file = Some(i);
                }
                if b.msg_open && !frame && b.msgs < FIRST_MESSAGE_LINES {
                    (Role::Msg, b.msgs == 0 || p.strong.is_match(tt))
                } else {
                    if frame && b.msgs > 0 {
                        b.msg_open = false;
                    }
                    if tt.starts_with("at ") && !b.at_seen {
                        b.at_seen = true;
                        (Role::Msg, true)
                    } else if tt.starts_with('>') && p.code_frame.is_match(tt) {
                        (Role::Msg, true)
                    } else if !frame && p.strong.is_match(tt) && !tt.starts_with(['-', '+']) {
                        // An exception at the end of a traceback, and the frame that
                        // raised it.
                        if let Some(f) = b.last_file.take() {
                            self.info[f] = Info::msg(fail, true);
                        }
                        (Role::Msg, true)
                    } else {
                        (Role::Detail, false)
                    }
                }
            }
        };
        if role == Role::Msg {
            if let Some(b) = self.block.as_mut() {
                b.msgs += 1;
            }
            return Info::msg(fail, strong);
        }
        Info {
            fail: Some(fail),
            ..Info::of(Role::Detail)
        }
    }

    /// A line outside any failure's block.
    fn outside(&mut self, i: usize, t: &str) -> Info {
        let p = patterns();
        if self.section == Section::Warnings {
            return Info::of(Role::Warn);
        }
        if let Some(name) = &self.running {
            if t.starts_with([' ', '\t']) {
                self.attached.push((i, name.clone()));
                return Info::of(Role::Other);
            }
        }
        if p.warning.is_match(t) {
            return Info::of(Role::Warn);
        }
        Info::of(Role::Other)
    }
}

/// The status characters of a progress line (`tests/test_a.py ..F.s   [ 40%]`).
fn progress_part(line: &str) -> &str {
    let line = line.split('[').next().unwrap_or(line).trim_end();
    line.rsplit(' ').next().unwrap_or(line)
}

/// Tiers, lower first.
mod tier {
    pub const SUMMARY: u8 = 0;
    pub const NAMED: u8 = 1;
    pub const QUERIED_MESSAGE: u8 = 2;
    pub const MESSAGE: u8 = 3;
    pub const QUERIED_DETAIL: u8 = 4;
    pub const DETAIL: u8 = 5;
    pub const NOTABLE: u8 = 6;
    pub const FILL: u8 = 7;
    /// Lines that say least: go's `=== RUN` lines.
    pub const NOISE: u8 = 8;
}

/// Where things go within the tier of named things: lines with the query's exact terms
/// (ordered by position), then lines strongest for its words, the failures the query names
/// with their messages, every other failure's name, summaries of passes.
mod order {
    const STEP: u64 = 1 << 40;
    pub const WORD_HIT: u64 = STEP;
    pub const QUERIED_HEAD: u64 = 2 * STEP;
    pub const QUERIED_ITEM: u64 = 3 * STEP;
    pub const DETAIL_HIT: u64 = 4 * STEP;
    pub const HEAD: u64 = 5 * STEP;
    pub const PASSING_SUMMARY: u64 = 6 * STEP;
    pub const LAST: u64 = 7 * STEP;
}

/// Ranks every line (see the module docs).
fn rank(plain: &[Cow<str>], info: &[Info], failures: usize, ctx: &Context) -> Vec<Unit> {
    let n = plain.len();
    let nf = failures.max(1) as u64;
    let mut tiers: Vec<(u8, u64)> = Vec::with_capacity(n);
    // The query: exact terms, then the strongest matches for its words.
    let exact: Vec<bool> = plain
        .iter()
        .map(|l| ctx.query.exact.iter().any(|t| contains_exact(l, t)))
        .collect();
    let scores = if ctx.query.words.is_empty() {
        vec![0.0; n]
    } else {
        let texts: Vec<Vec<&str>> = plain.iter().map(|l| vec![l.as_ref()]).collect();
        bm25(&texts, &ctx.query.words)
    };
    let best = scores.iter().copied().fold(0.0f64, f64::max);
    let strong_hit = |i: usize| best > 0.0 && scores[i] >= 0.5 * best;
    let mut queried = vec![false; failures];
    for (i, inf) in info.iter().enumerate() {
        if let Some(f) = inf.fail {
            if matches!(inf.role, Role::Head | Role::Msg) && (exact[i] || strong_hit(i)) {
                queried[f] = true;
            }
        }
    }
    // Each failure's lines in the order they are worth showing: its best name first, then
    // its block's header, its strongest message lines, other mentions, the rest.
    let mut heads: Vec<Vec<usize>> = vec![Vec::new(); failures];
    let mut strong: Vec<Vec<usize>> = vec![Vec::new(); failures];
    let mut weak: Vec<Vec<usize>> = vec![Vec::new(); failures];
    for (i, inf) in info.iter().enumerate() {
        match (inf.role, inf.fail) {
            (Role::Head, Some(f)) => heads[f].push(i),
            (Role::Msg, Some(f)) if inf.strong => strong[f].push(i),
            (Role::Msg, Some(f)) => weak[f].push(i),
            _ => {}
        }
    }
    let mut item: HashMap<usize, (u8, u64)> = HashMap::new();
    for f in 0..failures {
        heads[f].sort_by_key(|&i| (info[i].pref, i));
        // A failure the query names comes first: its name, then its message, before the
        // other failures are named.
        let (head_at, first_tier, first_at, rest_tier) = if queried[f] {
            (
                order::QUERIED_HEAD,
                tier::NAMED,
                order::QUERIED_ITEM,
                tier::QUERIED_MESSAGE,
            )
        } else {
            (order::HEAD, tier::MESSAGE, 0, tier::MESSAGE)
        };
        if let Some(&h) = heads[f].first() {
            item.insert(h, (tier::NAMED, head_at + f as u64));
        }
        let firsts = heads[f]
            .iter()
            .skip(1)
            .filter(|&&h| info[h].pref <= 1)
            .chain(&strong[f]);
        let rest = heads[f]
            .iter()
            .skip(1)
            .filter(|&&h| info[h].pref > 1)
            .chain(&weak[f]);
        for (j, &i) in firsts.enumerate() {
            item.insert(i, (first_tier, first_at + j as u64 * nf + f as u64));
        }
        let offset = item.len() as u64;
        for (j, &i) in rest.enumerate() {
            item.insert(i, (rest_tier, (offset + j as u64) * nf + f as u64));
        }
    }
    let distance = detail_distance(info, failures);
    let mut warned: HashSet<String> = HashSet::new();
    let last = (0..n).rev().find(|&i| !plain[i].trim().is_empty());
    let mut answers = 0;
    for (i, inf) in info.iter().enumerate() {
        let fill = (tier::FILL, 0);
        let mut t = match inf.role {
            // A summary of failures always; one of passes after the failures are named.
            Role::Summary if patterns().failing.is_match(&plain[i]) => (tier::SUMMARY, i as u64),
            Role::Summary => (tier::NAMED, order::PASSING_SUMMARY + i as u64),
            Role::Head | Role::Msg => item.get(&i).copied().unwrap_or(fill),
            Role::Detail => {
                let f = inf.fail.unwrap_or(0);
                let t = if queried.get(f) == Some(&true) {
                    tier::QUERIED_DETAIL
                } else {
                    tier::DETAIL
                };
                (t, distance[i] as u64 * nf + f as u64)
            }
            Role::Skip | Role::Banner => (tier::NOTABLE, i as u64),
            Role::Warn => {
                if warned.insert(shape(plain[i].trim())) {
                    (tier::NOTABLE, i as u64)
                } else {
                    fill
                }
            }
            Role::Other => {
                let p = patterns();
                if error_re().is_match(&plain[i]) || p.diagnostic.is_match(&plain[i]) {
                    (tier::MESSAGE, u64::MAX / 2 + i as u64)
                } else {
                    fill
                }
            }
            Role::Pass => fill,
            Role::Run => (tier::NOISE, 0),
        };
        // Lines of a failure the query names are ranked with it (above); others it names
        // come first.
        let in_queried = inf.fail.is_some_and(|f| queried[f]);
        if exact[i] && !in_queried {
            // The first few lines a query names exactly are the answer: with the summary.
            // In another failure's output (its source, its frames) a term says less.
            t = if inf.role == Role::Detail {
                (tier::NAMED, order::DETAIL_HIT + i as u64)
            } else if answers < ANSWERS {
                answers += 1;
                (tier::SUMMARY, i as u64)
            } else {
                (tier::NAMED, i as u64)
            };
        } else if strong_hit(i) && t.0 > tier::NAMED && !in_queried {
            t = (tier::NAMED, order::WORD_HIT + i as u64);
        } else if scores[i] > 0.0 && t.0 > tier::NOTABLE {
            t = (tier::NOTABLE, i as u64);
        }
        if i == 0 && t.0 > tier::NOTABLE {
            t = (tier::NOTABLE, 0);
        }
        if Some(i) == last && t.0 > tier::SUMMARY {
            t = (tier::SUMMARY, order::LAST);
        }
        tiers.push(t);
    }
    fill_units(tiers)
}

/// Lines filling the budget are shown in pieces of a few consecutive lines, the pieces
/// spread evenly: scattered single lines would cost a note each.
fn fill_units(tiers: Vec<(u8, u64)>) -> Vec<Unit> {
    let n = tiers.len();
    let mut units = Vec::with_capacity(n);
    let mut pieces: Vec<(usize, usize, u8)> = Vec::new();
    let mut i = 0;
    while i < n {
        let t = tiers[i].0;
        if t < tier::FILL {
            units.push(Unit::line(i, t, tiers[i].1));
            i += 1;
            continue;
        }
        let start = i;
        while i < n && tiers[i].0 == t && i - start < FILL_PIECE {
            i += 1;
        }
        pieces.push((start, i, t));
    }
    for t in [tier::FILL, tier::NOISE] {
        let count = pieces.iter().filter(|p| p.2 == t).count();
        let spread = pieces.iter().filter(|p| p.2 == t).enumerate();
        units.extend(spread.map(|(k, &(start, end, _))| Unit {
            start,
            end,
            tier: t,
            order: fit::spread(k, count),
        }));
    }
    units
}

/// For each line of a failure's output, how far it is from the nearest line naming the
/// failure or giving its message: the rest of a failure's output is shown nearest first.
fn detail_distance(info: &[Info], failures: usize) -> Vec<usize> {
    let n = info.len();
    let mut d = vec![usize::MAX; n];
    let anchor = |inf: &Info| matches!(inf.role, Role::Head | Role::Msg);
    let mut last: Vec<Option<usize>> = vec![None; failures];
    for i in 0..n {
        if let Some(f) = info[i].fail {
            if anchor(&info[i]) {
                last[f] = Some(i);
            } else if let Some(a) = last[f] {
                d[i] = i - a;
            }
        }
    }
    last.iter_mut().for_each(|l| *l = None);
    for i in (0..n).rev() {
        if let Some(f) = info[i].fail {
            if anchor(&info[i]) {
                last[f] = Some(i);
            } else if let Some(a) = last[f] {
                d[i] = d[i].min(a - i);
            }
        }
    }
    d.iter().map(|&x| x.min(n)).collect()
}

/// Compresses test-runner output (see the module docs).
pub fn compress_tests(text: &str, ctx: &Context) -> Result<TextOutcome, TextError> {
    over_budget(ctx)?;
    let lines = lines_of(text);
    let n = lines.len();
    let plain: Vec<Cow<str>> = lines.iter().map(|l| strip_ansi(content(l))).collect();
    let (info, failures) = Parser::new(&plain).run();
    let units = rank(&plain, &info, failures, ctx);

    let cut = keep::cut_long_lines(&lines, keep::line_cap(ctx.budget), ctx);
    let cost = |i: usize| NOTE_SHARE + keep::cost(&lines, &cut, i);
    let mut render = |keep: &[bool], detail: Detail, key: &Key| {
        render_tests(&lines, &plain, &info, failures, keep, &cut, detail, key)
    };
    let plan = fit::Plan {
        kind: "tests",
        original: text,
        lines: &lines,
        units,
    };
    let fitted = plan.fit(&cost, ctx, &mut render);
    let fitted = keep::repair(&plan.units, fitted, tier::MESSAGE, ctx, &mut render);
    let stored = plan.store_and_render(fitted, &|i| !cut.contains_key(&i), ctx, &mut render)?;
    let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
    dropped.insert("lines".into(), n - stored.kept);
    Ok(TextOutcome {
        output: stored.output,
        strategy: "tests",
        ccr_keys: vec![stored.key],
        details: TextDetails {
            lines_before: n,
            lines_kept: stored.kept,
            groups: failures,
            dropped,
        },
    })
}

/// A name shortened to at most 80 bytes.
fn short(name: &str) -> &str {
    if name.len() <= 80 {
        return name;
    }
    let mut end = 80;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// `last` without the start it shares with `first` (up to a `/`, `:`, `.` or `[`), so that a
/// range of names reads `tests/a.py::test_x[0] … [9]`.
fn after_common<'n>(first: &str, last: &'n str) -> &'n str {
    let common = first
        .bytes()
        .zip(last.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let cut = last[..common].rfind(['/', ':', '.', '[']).map_or(0, |at| {
        if last.as_bytes()[at] == b'[' {
            at
        } else {
            at + 1
        }
    });
    &last[cut..]
}

/// The note for left-out lines `a..b`: how many, where, and how many passing tests they
/// hold (named first and last when that is all they hold).
fn gap_note(plain: &[Cow<str>], info: &[Info], a: usize, b: usize) -> String {
    let passes: usize = (a..b)
        .filter(|&i| info[i].role == Role::Pass)
        .map(|i| info[i].passes)
        .sum();
    let at = if b - a == 1 {
        format!("{}", a + 1)
    } else {
        format!("{}-{}", a + 1, b)
    };
    let where_ = if b - a == 1 {
        format!("line {at}")
    } else {
        format!("lines {at}")
    };
    let only_passes = passes > 0
        && (a..b)
            .all(|i| matches!(info[i].role, Role::Pass | Role::Run) || plain[i].trim().is_empty());
    if only_passes {
        let mut names = (a..b)
            .filter(|&i| info[i].role == Role::Pass)
            .filter_map(|i| pass_name(&plain[i]));
        let first = names.next();
        let last = names.next_back();
        return match (first, last) {
            (Some(first), Some(last)) => format!(
                "[… {passes} passed: {} … {} ({where_}) …]\n",
                short(first),
                short(after_common(first, last))
            ),
            (Some(first), None) => format!("[… {passes} passed: {} ({where_}) …]\n", short(first)),
            _ => format!("[… {passes} passed ({where_}) …]\n"),
        };
    }
    let lines = if b - a == 1 {
        "1 line".to_string()
    } else {
        format!("{} lines", b - a)
    };
    if passes > 0 {
        format!("[… {lines}: {at}, {passes} passed …]\n")
    } else {
        format!("[… {lines}: {at} …]\n")
    }
}

/// What the marker says was left out.
fn summary(info: &[Info], failures: usize, keep: &[bool]) -> String {
    let n = info.len();
    let mut named = vec![false; failures];
    let mut passes = 0;
    for i in 0..n {
        match (keep[i], info[i].role, info[i].fail) {
            (true, Role::Head, Some(f)) => named[f] = true,
            (false, Role::Pass, _) => passes += info[i].passes,
            _ => {}
        }
    }
    let dropped = keep.iter().filter(|k| !**k).count();
    let mut s = format!("{dropped} of {n} lines omitted");
    if passes > 0 {
        s.push_str(&format!(" ({passes} passed tests)"));
    }
    if failures > 0 {
        let shown = named.iter().filter(|&&k| k).count();
        s.push_str(&format!("; {shown} of {failures} failures named"));
    }
    s.push_str("; retrieve with a query for lines you need");
    s
}

/// The kept lines, a note for every run of left-out ones, and the marker.
#[allow(clippy::too_many_arguments)]
fn render_tests(
    lines: &[&str],
    plain: &[Cow<str>],
    info: &[Info],
    failures: usize,
    keep: &[bool],
    cut: &HashMap<usize, usize>,
    detail: Detail,
    key: &Key,
) -> String {
    let mut out = String::new();
    let mut i = 0;
    let n = lines.len();
    while i < n {
        if keep[i] {
            keep::push_line(&mut out, lines[i], cut.get(&i).copied());
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !keep[i] {
            i += 1;
        }
        // A note would cost more than the blank lines it stands for.
        if i - start <= 2 && (start..i).all(|j| plain[j].trim().is_empty()) {
            (start..i).for_each(|j| out.push_str(lines[j]));
            continue;
        }
        if detail == Detail::Full {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&gap_note(plain, info, start, i));
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&marker(key, &summary(info, failures, keep)));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::with_context;

    #[test]
    fn one_failure_one_key_whatever_names_it() {
        for id in [
            "tests/test_a.py::test_x[1-2]",
            "test_x[1-2]",
            "TestA.test_x[1-2]",
            "tests/test_a.py::TestA::test_x[1-2]",
        ] {
            assert_eq!(key_of(id), "test_x[1-2]", "{id}");
        }
        assert_eq!(key_of("garbage(demo.SizeTest)"), "garbage");
        assert_eq!(key_of("SizeTest.garbage:9"), "garbage");
        assert_eq!(
            key_of("parseSize › fractional megabytes"),
            "fractional megabytes"
        );
        assert_eq!(
            key_of("fractional megabytes (178 ms)"),
            "fractional megabytes"
        );
        assert_eq!(key_of("TestPlain/n=3"), "TestPlain/n=3");
        assert_eq!(key_of("#12"), "#12");
    }

    fn roles(text: &str) -> Vec<(Role, Option<usize>)> {
        let lines = lines_of(text);
        let plain: Vec<Cow<str>> = lines.iter().map(|l| strip_ansi(content(l))).collect();
        let (info, _) = Parser::new(&plain).run();
        info.iter().map(|i| (i.role, i.fail)).collect()
    }

    #[test]
    fn pytest_blocks_messages_and_summary() {
        let text = "tests/a.py ..F  [100%]\n=== FAILURES ===\n___ test_x ___\n\n    def test_x():\n>       assert 1 == 2\nE       assert 1 == 2\n\ntests/a.py:3: AssertionError\n=== short test summary info ===\nFAILED tests/a.py::test_x - assert 1 == 2\n=== 1 failed, 2 passed in 0.01s ===\n";
        let r = roles(text);
        assert_eq!(r[0].0, Role::Banner, "a progress line with a failure");
        assert_eq!(r[2], (Role::Head, Some(0)));
        assert_eq!(r[4], (Role::Detail, Some(0)));
        assert_eq!(r[5], (Role::Msg, Some(0)));
        assert_eq!(r[6], (Role::Msg, Some(0)));
        assert_eq!(r[8], (Role::Msg, Some(0)), "the location");
        assert_eq!(r[10], (Role::Head, Some(0)), "the same failure");
        assert_eq!(r[11].0, Role::Summary);
    }

    #[test]
    fn go_verbose_output_before_the_verdict_is_the_message() {
        let text = "=== RUN   TestA\n    a_test.go:9: got 1, want 2\n--- FAIL: TestA (0.00s)\n=== RUN   TestB\n    b_test.go:3: note\n--- PASS: TestB (0.00s)\nFAIL\nFAIL\texample.com/x\t0.01s\n";
        let r = roles(text);
        assert_eq!(r[1], (Role::Msg, Some(0)));
        assert_eq!(r[2], (Role::Head, Some(0)));
        assert_eq!(r[4].0, Role::Other, "output of a passing test");
        assert_eq!(r[5].0, Role::Pass);
        assert_eq!(r[7].0, Role::Summary);
    }

    #[test]
    fn cargo_panics_and_the_closing_list() {
        let text = "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n---- b stdout ----\nthread 'b' (7) panicked at src/lib.rs:3:5:\nboom\nnote: run with `RUST_BACKTRACE=1`\n\n\nfailures:\n    b\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let r = roles(text);
        assert_eq!(r[1].0, Role::Pass);
        assert_eq!(r[2], (Role::Head, Some(0)));
        assert_eq!(r[6], (Role::Head, Some(0)));
        assert_eq!(r[7], (Role::Msg, Some(0)));
        assert_eq!(r[8], (Role::Msg, Some(0)));
        assert_eq!(r[9], (Role::Detail, Some(0)));
        assert_eq!(r[13], (Role::Head, Some(0)));
        assert_eq!(r[15].0, Role::Summary);
    }

    #[test]
    fn passing_tests_are_counted_not_listed() {
        let mut text = String::from("running 400 tests\n");
        for i in 0..400 {
            text.push_str(&format!("test tests::case_{i:03} ... ok\n"));
        }
        text.push_str("test tests::odd ... FAILED\n\nfailures:\n\n---- tests::odd stdout ----\nthread 'tests::odd' panicked at src/lib.rs:9:5:\nassertion failed: x > 3\n\nfailures:\n    tests::odd\n\ntest result: FAILED. 400 passed; 1 failed; 0 ignored\n");
        let (out, _) = with_context(&text, "", 300, |ctx| compress_tests(&text, ctx).unwrap());
        assert!(out
            .output
            .contains("test result: FAILED. 400 passed; 1 failed"));
        assert!(
            out.output.contains("assertion failed: x > 3"),
            "{}",
            out.output
        );
        assert!(
            out.output.contains(" passed: tests::case_"),
            "{}",
            out.output
        );
        assert!(
            out.output.contains("1 of 1 failures named"),
            "{}",
            out.output
        );
    }
}
