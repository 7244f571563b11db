//! Stack traces inside logs (or alone): Python tracebacks, Java and JavaScript exceptions with
//! their `at` frames (`Caused by:`, `... N more`), Rust panics with their backtraces, Go panics
//! with their goroutines.
//!
//! A trace is told apart by the lines that carry what it says (the `Traceback` line and the
//! exception at its end, the exception line and each `Caused by:`, the panic and its message),
//! its frames, and among them the first and the last (where the error surfaced and where it
//! started), so that a compressor can keep a trace whole when it fits, or its key lines and
//! outer frames when it does not.

use regex::Regex;
use std::sync::OnceLock;

/// One stack trace: lines `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trace {
    /// First line.
    pub start: usize,
    /// One past the last line.
    pub end: usize,
    /// Lines that say what happened (the exception, each cause, the panic and its message, the
    /// header), what says most first.
    pub keys: Vec<usize>,
    /// The first and last frames (with a Python frame's source line, a Go frame's location).
    pub outer: Vec<usize>,
}

struct Patterns {
    rust_panic: Regex,
    at_frame: Regex,
    more: Regex,
    rust_frame: Regex,
    go_location: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            rust_panic: re(r"^thread '[^']*'(?: \(\d+\))? panicked at "),
            at_frame: re(r"^\s+at\s+\S"),
            more: re(r"^\s*\.\.\. \d+ (?:more|common frames omitted)"),
            rust_frame: re(r"^\s+\d+: \S|^\s+at \S"),
            go_location: re(r"^\t\S+:\d+(?: \+0x[0-9a-f]+)?$"),
        }
    })
}

/// Lines of a panic's message, at most.
const MESSAGE_LINES: usize = 5;

/// Every trace in `lines` (without line endings), in order.
pub(crate) fn traces(lines: &[&str]) -> Vec<Trace> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let found = python(lines, i)
            .or_else(|| rust(lines, i))
            .or_else(|| go(lines, i))
            .or_else(|| at_frames(lines, i));
        match found {
            Some(t) if t.end > i => {
                i = t.end;
                out.push(t);
            }
            _ => i += 1,
        }
    }
    out
}

fn indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

fn blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// The first non-blank line at or after `i`.
fn next_text(lines: &[&str], mut i: usize) -> usize {
    while i < lines.len() && blank(lines[i]) {
        i += 1;
    }
    i
}

/// A frame of a runner, the language or a library rather than of the code that failed.
pub(crate) fn library_frame(line: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"/rustc/|/\.cargo/registry/|/\.rustup/|/usr/(?:local/)?lib/go|/go/src/(?:runtime|testing)/|java\.base/|jdk\.internal|sun\.reflect|org\.junit\.|junit\.framework|org\.apache\.maven|node:internal|node_modules/|site-packages/|<frozen |/lib/python\d|\(native\)|Native Method|\(<anonymous>\)")
            .expect("valid pattern")
    })
    .is_match(line)
}

/// The outer frames of `frames` (line indices in order): the first and the last of the code
/// that failed (of all frames, if none is), each with the line after it when that belongs to
/// the frame (`pair`). `own(f)` tells a frame of the code that failed.
fn outer(
    frames: &[usize],
    pair: &dyn Fn(usize) -> bool,
    own: &dyn Fn(usize) -> bool,
) -> Vec<usize> {
    let mine: Vec<usize> = frames.iter().copied().filter(|&f| own(f)).collect();
    let frames = if mine.is_empty() { frames } else { &mine[..] };
    let mut out = Vec::new();
    for &f in [frames.first(), frames.last()].into_iter().flatten() {
        if !out.contains(&f) {
            out.push(f);
            if pair(f + 1) && !out.contains(&(f + 1)) {
                out.push(f + 1);
            }
        }
    }
    out
}

/// `Traceback (most recent call last):`, frames, the exception; chained ones too.
fn python(lines: &[&str], start: usize) -> Option<Trace> {
    if !lines[start]
        .trim_start()
        .starts_with("Traceback (most recent call last):")
    {
        return None;
    }
    let mut keys = Vec::new();
    let mut frames = Vec::new();
    let mut i = start;
    loop {
        // `Traceback (most recent call last):`
        keys.push(i);
        i += 1;
        while i < lines.len() && indented(lines[i]) {
            if lines[i].trim_start().starts_with("File \"") {
                frames.push(i);
            }
            i += 1;
        }
        // The exception: `ValueError: ...` (what follows may be the log going on).
        if i < lines.len()
            && !blank(lines[i])
            && !lines[i].starts_with("Traceback (")
            && !chain(lines[i])
        {
            keys.push(i);
            i += 1;
        }
        let next = next_text(lines, i);
        if next < lines.len() && chain(lines[next]) {
            keys.push(next);
            let tb = next_text(lines, next + 1);
            if tb < lines.len() && lines[tb].starts_with("Traceback (") {
                i = tb;
                continue;
            }
            i = next + 1;
        }
        break;
    }
    // What was raised says most, the last exception first; then the headers and chain lines.
    let raised = |k: &usize| {
        let l = lines[*k];
        l.starts_with("Traceback (") || chain(l)
    };
    keys.sort_by_key(|k| (raised(k), std::cmp::Reverse(*k)));
    let source =
        |l: usize| l < i && indented(lines[l]) && !lines[l].trim_start().starts_with("File \"");
    let own = |f: usize| !library_frame(lines[f]);
    Some(Trace {
        start,
        end: i,
        outer: outer(&frames, &source, &own),
        keys,
    })
}

/// Python's line between chained tracebacks.
fn chain(line: &str) -> bool {
    line.starts_with("During handling of the above exception")
        || line.starts_with("The above exception was the direct cause")
}

/// `thread 'main' panicked at src/main.rs:5:9:`, its message, the backtrace.
fn rust(lines: &[&str], start: usize) -> Option<Trace> {
    let p = patterns();
    if !p.rust_panic.is_match(lines[start]) {
        return None;
    }
    let mut keys = vec![start];
    let mut i = start + 1;
    while i < lines.len()
        && !blank(lines[i])
        && !lines[i].starts_with("note:")
        && !lines[i].starts_with("stack backtrace:")
        && keys.len() <= MESSAGE_LINES
    {
        keys.push(i);
        i += 1;
    }
    let mut frames = Vec::new();
    if i < lines.len() && lines[i].starts_with("stack backtrace:") {
        i += 1;
        while i < lines.len() && p.rust_frame.is_match(lines[i]) {
            if !lines[i].trim_start().starts_with("at ") {
                frames.push(i);
            }
            i += 1;
        }
    }
    if i < lines.len() && lines[i].starts_with("note:") {
        i += 1;
    }
    let location = |l: usize| l < i && lines[l].trim_start().starts_with("at ");
    // A frame's location is on the line after it.
    let own = |f: usize| location(f + 1) && !library_frame(lines[f + 1]);
    Some(Trace {
        start,
        end: i,
        outer: outer(&frames, &location, &own),
        keys,
    })
}

/// `panic: ...` (or `fatal error:`), then goroutines and their frames, then `exit status`.
fn go(lines: &[&str], start: usize) -> Option<Trace> {
    let p = patterns();
    let head = lines[start];
    let goroutine = |l: &str| l.starts_with("goroutine ") && l.trim_end().ends_with("]:");
    if !(head.starts_with("panic: ") || head.starts_with("fatal error: ") || goroutine(head)) {
        return None;
    }
    let mut keys = vec![start];
    let mut i = start + 1;
    // `panic: x [recovered]` repeats the panic, indented.
    while i < lines.len() && lines[i].trim_start().starts_with("panic: ") {
        keys.push(i);
        i += 1;
    }
    let mut frames = Vec::new();
    loop {
        let g = next_text(lines, i);
        if g >= lines.len() || !goroutine(lines[g]) {
            break;
        }
        i = g + 1;
        while i < lines.len() && !blank(lines[i]) {
            let l = lines[i];
            if !p.go_location.is_match(l) && !l.starts_with("created by ") {
                // A function line: its location follows.
                if !(i + 1 < lines.len() && p.go_location.is_match(lines[i + 1])) {
                    break;
                }
                frames.push(i);
            }
            i += 1;
        }
    }
    if frames.is_empty() && keys.len() == 1 && !goroutine(head) {
        return None;
    }
    let g = next_text(lines, i);
    if g < lines.len() && lines[g].starts_with("exit status ") {
        keys.push(g);
        i = g + 1;
    }
    let location = |l: usize| l < i && p.go_location.is_match(lines[l]);
    let own = |f: usize| location(f + 1) && !library_frame(lines[f + 1]);
    Some(Trace {
        start,
        end: i,
        outer: outer(&frames, &location, &own),
        keys,
    })
}

/// A line followed by `at ...` frames: a Java or JavaScript exception (or the log line that
/// reported it), with `Caused by:` and `... N more` lines among the frames.
fn at_frames(lines: &[&str], start: usize) -> Option<Trace> {
    let p = patterns();
    if start + 1 >= lines.len() || indented(lines[start]) && p.at_frame.is_match(lines[start]) {
        return None;
    }
    if !p.at_frame.is_match(lines[start + 1]) {
        return None;
    }
    let mut keys = vec![start];
    let mut frames = Vec::new();
    let mut i = start + 1;
    while i < lines.len() {
        let l = lines[i];
        let t = l.trim_start();
        if p.at_frame.is_match(l) {
            frames.push(i);
        } else if t.starts_with("Caused by:") || t.starts_with("Suppressed:") {
            keys.push(i);
        } else if !p.more.is_match(l) {
            break;
        }
        i += 1;
    }
    Some(Trace {
        start,
        end: i,
        outer: outer(&frames, &|_| false, &|f| !library_frame(lines[f])),
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(text: &str) -> Vec<Trace> {
        let lines: Vec<&str> = text.lines().collect();
        traces(&lines)
    }

    #[test]
    fn python_tracebacks_chained() {
        let text = "INFO start\nTraceback (most recent call last):\n  File \"a.py\", line 3, in <module>\n    main()\n  File \"a.py\", line 2, in main\n    {}['x']\nKeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"a.py\", line 9, in <module>\n    raise ValueError('bad')\nValueError: bad\nINFO after\n";
        let t = of(text);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].start, t[0].end), (1, 14));
        assert_eq!(t[0].keys, vec![13, 6, 10, 8, 1]);
        assert_eq!(t[0].outer, vec![2, 3, 11, 12]);
    }

    #[test]
    fn a_traceback_in_a_log_ends_at_its_exception() {
        let text = "2026-12-04 ERROR could not parse\nTraceback (most recent call last):\n  File \"a.py\", line 1, in f\n    g()\nValueError: x\n2026-12-04 INFO next\n2026-12-04 ERROR other\n";
        let t = of(text);
        assert_eq!((t[0].start, t[0].end), (1, 5));
        assert_eq!(t[0].keys, vec![4, 1]);
    }

    #[test]
    fn java_with_causes() {
        let text = "2024-01-01 ERROR Main: request failed\njava.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n\tat a.B.d(B.java:2)\nCaused by: java.io.IOException: closed\n\tat x.Y.z(Y.java:9)\n\t... 2 more\n2024-01-01 INFO next\n";
        let t = of(text);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].start, t[0].end), (1, 7));
        assert_eq!(t[0].keys, vec![1, 4]);
        assert_eq!(t[0].outer, vec![2, 5]);
    }

    #[test]
    fn rust_and_go_panics() {
        let rust = "thread 'main' (77) panicked at src/main.rs:4:5:\nindex out of bounds\nstack backtrace:\n   0: std::panicking::begin_panic\n             at /rustc/abc/library/std/src/panicking.rs:1:1\n   1: app::main\n             at ./src/main.rs:4:5\nnote: Some details are omitted\n";
        let t = of(rust);
        assert_eq!(t[0].keys, vec![0, 1]);
        // The frames of the code that panicked, not of the standard library.
        assert_eq!(t[0].outer, vec![5, 6]);
        assert_eq!(t[0].end, 8);
        let go = "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.f(...)\n\t/tmp/x.go:8\nmain.main()\n\t/tmp/x.go:12 +0x1d\nexit status 2\n";
        let t = of(go);
        assert_eq!(t[0].keys, vec![0, 7]);
        assert_eq!(t[0].outer, vec![3, 4, 5, 6]);
        assert_eq!(t[0].end, 8);
    }

    #[test]
    fn plain_lines_are_no_trace() {
        assert!(of("INFO a\n  indented\nWARN b\n").is_empty());
        assert!(of("panic: nothing follows\n").is_empty());
    }
}
