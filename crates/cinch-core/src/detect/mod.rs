//! What kind of content is this? Fast, no model: a look at the first lines.
//!
//! In order: JSON (a container that starts like one), a git log (several `commit` headers, or
//! one-line history), a diff (`diff --git`, or `---`/`+++` headers with `@@` hunks), test-runner
//! output (a session banner, a result summary, per-test lines), a log (most lines carry a
//! timestamp or a level near their start, or look like build output; or a stack trace), search
//! results (most lines are `path:line:text` or `path-line-text`, or ripgrep's headings with
//! numbered lines), configuration and data files (YAML, TOML, INI, XML), source code (most
//! lines are statements, blocks or declarations; the language from its tell-tale lines), column
//! tables (aligned or delimited), path lists, and prose (Markdown, reStructuredText, HTML,
//! manual pages: text that reads as sentences or carries markup). What is none of these is
//! [`Kind::Lines`]: unknown text is handled as lines, never truncated like a document.

mod shell;

#[allow(unused_imports)]
pub(crate) use shell::{delimiter, fields, sentence};

use regex::Regex;
use serde::Serialize;
use std::str::FromStr;
use std::sync::OnceLock;

/// A kind of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// JSON or NDJSON.
    Json,
    /// Log lines: system and application logs, build output, stack traces.
    Log,
    /// Test-runner output: pytest, cargo test, go test, jest, JUnit and the like.
    Tests,
    /// Search results: `grep -n`/ripgrep output.
    Search,
    /// A unified diff, `git show` or `git diff` output.
    Diff,
    /// `git log` in any of its forms: with patches, `--stat`, `--oneline`, `--graph`.
    GitLog,
    /// Source code.
    Code,
    /// Rows in columns: `ps`, `df`, `ls -l`, `dpkg -l`, `kubectl get`, CSV and TSV.
    Table,
    /// Lists of paths: `find`, `ls -R`, `tree`, `git ls-files`.
    Paths,
    /// Structured configuration and data files: YAML, TOML, INI, XML, lockfiles.
    Config,
    /// Markdown, reStructuredText, HTML documents, manual pages or plain prose.
    Prose,
    /// Line-oriented text of no other kind.
    Lines,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 12] = [
        Kind::Json,
        Kind::Log,
        Kind::Tests,
        Kind::Search,
        Kind::Diff,
        Kind::GitLog,
        Kind::Code,
        Kind::Table,
        Kind::Paths,
        Kind::Config,
        Kind::Prose,
        Kind::Lines,
    ];

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Json => "json",
            Kind::Log => "log",
            Kind::Tests => "tests",
            Kind::Search => "search",
            Kind::Diff => "diff",
            Kind::GitLog => "gitlog",
            Kind::Code => "code",
            Kind::Table => "table",
            Kind::Paths => "paths",
            Kind::Config => "config",
            Kind::Prose => "prose",
            Kind::Lines => "lines",
        }
    }
}

/// An unknown kind name.
#[derive(Debug, thiserror::Error)]
#[error("unknown kind {0:?} (expected json, log, tests, search, diff, gitlog, code, table, paths, config, prose or lines)")]
pub struct UnknownKind(String);

/// Read from a name, with the aliases `--kind` takes (`csv`, `yaml`, `grep`).
impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "json" | "ndjson" => Kind::Json,
            "log" | "logs" => Kind::Log,
            "tests" | "test" => Kind::Tests,
            "search" | "grep" => Kind::Search,
            "diff" | "patch" => Kind::Diff,
            "gitlog" | "git-log" => Kind::GitLog,
            "code" | "source" => Kind::Code,
            "table" | "csv" | "tsv" => Kind::Table,
            "paths" | "files" => Kind::Paths,
            "config" | "yaml" | "toml" | "xml" | "ini" | "lockfile" => Kind::Config,
            "prose" | "text" | "markdown" | "md" | "rst" | "html" | "man" => Kind::Prose,
            "lines" => Kind::Lines,
            _ => return Err(UnknownKind(s.to_string())),
        })
    }
}

/// A programming language, as far as detection can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust.
    Rust,
    /// Python.
    Python,
    /// Go.
    Go,
    /// JavaScript.
    JavaScript,
    /// TypeScript.
    TypeScript,
    /// Ruby.
    Ruby,
    /// Java.
    Java,
    /// Something else (C-like or unknown).
    Other,
}

/// What [`detect`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Detected {
    /// The kind.
    pub kind: Kind,
    /// For code, the language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

impl Detected {
    fn of(kind: Kind) -> Detected {
        Detected {
            kind,
            language: None,
        }
    }
}

/// How many non-empty lines detection looks at.
const SAMPLE: usize = 200;

struct Patterns {
    log: Regex,
    build: Regex,
    search: Regex,
    rg_heading_line: Regex,
    hunk: Regex,
    code: Regex,
    prose: Regex,
    markup: Regex,
    langs: Vec<(Language, Regex)>,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |p: &str| Regex::new(p).expect("valid pattern");
        Patterns {
            // A date, a time or a level word (matched against the start of a line only).
            log: re(r"(?x)(
                \d{4}[-/.]\d{1,2}[-/.]\d{1,2}
              | (?-u:\b)\d{1,2}:\d{2}:\d{2}
              | (?-u:\b)(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)(?-u:\b)
              | \[(?:trace|debug|info|notice|warn|warning|error|crit|alert|emerg)\]
              | ^\[\s*\d+\.\d+s?\]
            )"),
            build: re(r"(?x)^(
                test\ .+\ \.\.\.\ |running\ \d+\ tests?|test\ result:
              | \s*(?:Compiling|Checking|Finished|Running|Downloading|Downloaded|Building|Fresh)\ 
              | (?:PASS|FAIL|PASSED|FAILED|ERROR|ok)(?-u:\b)
              | ={3,}.*(?:passed|failed|error|test\ session\ starts)
              | npm\ (?:ERR!|WARN)|\[(?:INFO|WARNING|ERROR)\]
              | (?:error|warning)(?:\[\w+\])?:\ 
              | (?:Selecting\ previously\ unselected|Preparing\ to\ unpack|Unpacking|Setting\ up|Processing\ triggers\ for|Removing|Purging\ configuration\ files\ for)\ \S
              | (?:Get|Hit|Ign|Err):\d+\ |(?:Reading|Building)\ (?:package\ lists|dependency\ tree|state\ information)
              | (?:cc|gcc|g\+\+|c\+\+|clang(?:\+\+)?|ld|ar|as|javac|tsc|go\ build)\ .*\S\.(?:c|cc|cpp|cxx|o|a|so|s|S|java|ts)\b
              | make(?:\[\d+\])?:\ |\S+:\d+:\d+:\ (?:fatal\ error|error|warning|note):
              | \S+:\ In\ (?:function|member\ function|constructor)\ 
            )"),
            search: re(r"^[^\s:]+(?::\d+[:-]|-\d+-)"),
            rg_heading_line: re(r"^\d+[:-]"),
            hunk: re(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@"),
            code: re(r"(?x)(
                [;{}]\s*$|\)\s*$|:\s*$|,\s*$|^\s*(?://|/\*|\*|\#!|--)
              | ^\s*(?:pub|fn|let|use|impl|mod|struct|enum|trait|def|class|import|from|return|if|elif|else|for|while|func|package|var|const|function|export|require|module|end|public|private|protected|static|async|await|match|case|switch|try|catch|raise|yield)(?-u:\b)
              | ^\s*@\w+|^\s*\#\[|^\s*\#\ ?(?:typed|frozen_string_literal|-\*-|!)
            )"),
            // A sentence: several words of letters, ending like one.
            prose: re(r"^[\s>*\-+\d.]*[A-Za-z][A-Za-z'’,()\-]*(?:\s+\S+){4,}"),
            markup: re(r"(?x)^(
                \#{1,6}\s|[*\-+]\s|\d+\.\s|```|~~~|>\s|\|.*\|\s*$|<[a-zA-Z/!]|\.\.\ |[=\-~^]{3,}\s*$
            )"),
            langs: vec![
                (Language::Rust, re(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?(?:fn|struct|enum|trait|impl|mod|use|macro_rules!)\b|^\s*#\[|^//!|\blet mut\b|->\s*[\w&(<]")),
                (Language::Python, re(r"^\s*(?:def|class)\s+\w+.*:\s*$|^(?:import|from)\s+[\w.]+|\bself\.|^\s*elif\b|^\s*@\w+")),
                (Language::Go, re(r"^package\s+\w+\s*$|^func\s|:=|^import\s+\(|^type\s+\w+\s+(?:struct|interface)")),
                // `let x = ...` is as much Rust as JavaScript, so it counts for neither.
                (Language::JavaScript, re(r"^\s*(?:import\s.+\sfrom\s|export\s|const\s+\w+\s*=|function\b)|=>|\brequire\(")),
                (Language::TypeScript, re(r"^\s*(?:export\s+)?(?:interface|type)\s+\w+|:\s*(?:string|number|boolean|unknown|void)\b|\bas\s+const\b")),
                (Language::Ruby, re(r"^\s*(?:def|class|module)\s+[\w:.]+|^\s*end\s*$|^require(?:_relative)?\s+['\x22]|\bdo\s*\|[\w, ]+\||#\s*frozen_string_literal")),
                (Language::Java, re(r"^\s*(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?(?:class|interface|void|[\w<>\[\]]+\s+\w+\s*\()|^import\s+java\.|^package\s+[\w.]+;")),
            ],
        }
    })
}

/// Detects the kind of `input` (and for code, its language).
pub fn detect(input: &str) -> Detected {
    if looks_like_json(input) {
        return Detected::of(Kind::Json);
    }
    detect_text(input)
}

/// Detects the kind of `input` among the text kinds: for input that starts like JSON but is
/// not (a log whose lines start with `[  0.8s]`).
pub fn detect_text(input: &str) -> Detected {
    let p = patterns();
    let lines = sample(input);
    if lines.is_empty() {
        return Detected::of(Kind::Lines);
    }
    let share = |f: &dyn Fn(&str) -> bool| {
        lines.iter().filter(|l| f(l)).count() as f64 / lines.len() as f64
    };

    if shell::is_git_log(&lines) || shell::more_commits(input, &lines) {
        return Detected::of(Kind::GitLog);
    }
    let diff_header = lines
        .iter()
        .any(|l| l.starts_with("diff --git ") || l.starts_with("diff -"));
    let unified = lines.iter().any(|l| l.starts_with("--- "))
        && lines.iter().any(|l| l.starts_with("+++ "))
        && lines.iter().any(|l| p.hunk.is_match(l));
    if diff_header || unified {
        return Detected::of(Kind::Diff);
    }
    if shell::is_test_output(&lines) {
        return Detected::of(Kind::Tests);
    }
    // A table under a header in capitals (`ps -ef`, whose TIME column reads like a log's
    // timestamps) is a table.
    if shell::is_headed_table(&lines) {
        return Detected::of(Kind::Table);
    }
    if share(&|l| p.log.is_match(head(l, 64)) || p.build.is_match(l)) >= 0.6
        || shell::has_trace(&lines)
    {
        return Detected::of(Kind::Log);
    }
    let search = share(&|l| p.search.is_match(l));
    // ripgrep's default: a path line, then `N:text` lines under it.
    let headed = share(&|l| p.rg_heading_line.is_match(l));
    let headings = lines
        .windows(2)
        .filter(|w| !w[0].contains(char::is_whitespace) && p.rg_heading_line.is_match(w[1]))
        .count() as f64
        / lines.len() as f64;
    if search >= 0.6 || (headed >= 0.4 && search + headed + headings >= 0.8) {
        return Detected::of(Kind::Search);
    }
    if shell::is_manual(&lines) {
        return Detected::of(Kind::Prose);
    }
    if shell::is_config(&lines) {
        return Detected::of(Kind::Config);
    }
    // Code inside Markdown fences says nothing about the document around it. Lines of
    // triple-quoted strings (docstrings) say nothing about whether the text around them is
    // code: a long docstring must not make a function read as prose (and a `~~~` underline
    // in one is not a fence).
    let (mut in_fence, mut in_doc) = (false, false);
    let mut outside: Vec<&str> = Vec::with_capacity(lines.len());
    let mut doc: Vec<bool> = Vec::with_capacity(lines.len());
    for l in &lines {
        let t = l.trim_start();
        let quotes = l.matches("\"\"\"").count() + l.matches("'''").count();
        if !in_fence && (in_doc || quotes > 0) {
            if quotes % 2 == 1 {
                in_doc = !in_doc;
            }
            outside.push(l);
            doc.push(true);
            continue;
        }
        let fence = t.starts_with("```") || t.starts_with("~~~");
        if fence {
            in_fence = !in_fence;
        }
        if fence || !in_fence {
            outside.push(l);
            doc.push(false);
        }
    }
    let code_lines: Vec<&str> = outside
        .iter()
        .zip(&doc)
        .filter(|(_, d)| !**d)
        .map(|(l, _)| *l)
        .collect();
    // Too few lines outside docstrings to tell: look at all of them.
    let judged = if code_lines.len() >= 3 {
        &code_lines
    } else {
        &outside
    };
    let share_of = |lines: &[&str], f: &dyn Fn(&str) -> bool| {
        lines.iter().filter(|l| f(l)).count() as f64 / lines.len().max(1) as f64
    };
    let share_outside = |f: &dyn Fn(&str) -> bool| share_of(&outside, f);
    let code = share_of(judged, &|l| p.code.is_match(l));
    let prose_in_code = share_of(judged, &|l| {
        let t = l.trim_start();
        !t.starts_with(['#', '/', '*']) && p.prose.is_match(l) && !p.code.is_match(l)
    });
    let markup = share_of(judged, &|l| p.markup.is_match(l));
    if code >= 0.5 && prose_in_code < 0.3 && markup < 0.3 {
        return Detected {
            kind: Kind::Code,
            language: Some(language(input, &lines)),
        };
    }
    if shell::is_tree(&lines) {
        return Detected::of(Kind::Paths);
    }
    let markup = share_outside(&|l| p.markup.is_match(l));
    if shell::is_table(&lines) {
        return Detected::of(Kind::Table);
    }
    if shell::is_paths(&lines) {
        return Detected::of(Kind::Paths);
    }
    let sentences = share_outside(&|l| shell::sentence(l));
    if sentences >= 0.3 || markup >= 0.3 || sentences + markup >= 0.4 {
        return Detected::of(Kind::Prose);
    }
    Detected::of(Kind::Lines)
}

/// The language of `input` taken as code (for `--kind code`).
pub fn language_of(input: &str) -> Language {
    language(input, &sample(input))
}

/// The first non-empty lines of `input`, the ones detection looks at.
fn sample(input: &str) -> Vec<&str> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(SAMPLE)
        .collect()
}

/// The first `n` bytes of `line` (fewer, to end on a character boundary).
pub(crate) fn head(line: &str, n: usize) -> &str {
    let mut end = n.min(line.len());
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// Bytes of the input parsed to tell its language.
const PARSE_SAMPLE: usize = 4 * 1024;
/// The most bytes parsed to reach the end of a docstring.
const PARSE_SAMPLE_MAX: usize = 32 * 1024;
/// Bytes every grammar parses first.
const SHORT_SAMPLE: usize = 1024;
/// Grammars that go on to parse the whole sample.
const FINALISTS: usize = 3;

/// The first lines of `input` to parse: about [`PARSE_SAMPLE`] bytes, ending before a line at
/// column 0 that follows a blank line (the start of a top-level item), so that the sample ends
/// between items rather than inside a comment or a string; else at the end of a line outside a
/// triple-quoted string (a long docstring is read to its end, up to [`PARSE_SAMPLE_MAX`]).
pub(crate) fn parse_sample(input: &str) -> &str {
    sample_within(input, PARSE_SAMPLE)
}

/// Like [`parse_sample`], about `size` bytes.
fn sample_within(input: &str, size: usize) -> &str {
    if input.len() <= size {
        return input;
    }
    let mut at = 0usize;
    let mut open = false;
    let mut item = None;
    let mut line_end = None;
    let mut previous_blank = false;
    for line in input.split_inclusive('\n') {
        let starts_item = previous_blank && line.starts_with(|c: char| !c.is_whitespace());
        if at >= size {
            break;
        }
        if !open && starts_item && at >= size / 4 {
            item = Some(at);
        }
        if !open {
            line_end = Some(at);
        }
        let quotes = line.matches("\"\"\"").count() + line.matches("'''").count();
        if quotes % 2 == 1 {
            open = !open;
        }
        previous_blank = line.trim().is_empty();
        at += line.len();
    }
    let mut cut = item.or(line_end.filter(|&e| e > 0));
    if open || cut.is_none() {
        // Inside a docstring at the mark: read on to its end.
        let mut end = at;
        for line in input[at..].split_inclusive('\n') {
            if end >= PARSE_SAMPLE_MAX {
                break;
            }
            end += line.len();
            let quotes = line.matches("\"\"\"").count() + line.matches("'''").count();
            if quotes % 2 == 1 {
                open = !open;
            }
            if !open {
                cut = cut.max(Some(end));
                break;
            }
        }
    }
    match cut {
        Some(c) if c > 0 => &input[..c.min(input.len())],
        _ => line_prefix(input, size),
    }
}

/// The first lines of `text`, up to `n` bytes (at least one line).
fn line_prefix(text: &str, n: usize) -> &str {
    if text.len() <= n {
        return text;
    }
    let mut end = n;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind('\n') {
        Some(i) => &text[..=i],
        None => text.split_inclusive('\n').next().unwrap_or(text),
    }
}

/// The language of code: the grammar that parses the first lines with the fewest rows in
/// error, ties broken by the language whose tell-tale lines are most common. Code that no
/// grammar here parses (C, C++, C#, Kotlin, ...) is [`Language::Other`].
fn language(input: &str, lines: &[&str]) -> Language {
    let p = patterns();
    let score = |lang: Language| {
        p.langs
            .iter()
            .find(|(l, _)| *l == lang)
            .map_or(0, |(_, re)| lines.iter().filter(|l| re.is_match(l)).count())
    };
    let sample = parse_sample(input);
    let rows = sample
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
        .max(1);
    // The favourite's sample may come up again among the finalists: each parse once.
    let parsed = std::cell::RefCell::new(Vec::new());
    let parse = |lang: Language, text: &str| {
        let id = (lang, text.as_ptr() as usize, text.len());
        if let Some(&(_, rows)) = parsed.borrow().iter().find(|(k, _)| *k == id) {
            return rows;
        }
        let rows = crate::text::code::error_rows(lang, text);
        parsed.borrow_mut().push((id, rows));
        rows
    };
    // Most code is what its tell-tale lines say: when the clear favourite parses without an
    // error, no other grammar can do better (JavaScript and TypeScript, which parse much the
    // same code, are told apart as below).
    let mut by_score: Vec<(usize, Language)> = crate::text::code::PARSED
        .iter()
        .map(|&l| (score(l), l))
        .collect();
    by_score.sort_by_key(|&(s, _)| std::cmp::Reverse(s));
    let script = |l: Language| matches!(l, Language::JavaScript | Language::TypeScript);
    // The best score of another family (JavaScript and TypeScript are one).
    let rival = |fav: Language| {
        by_score
            .iter()
            .find(|(_, l)| *l != fav && !(script(*l) && script(fav)))
            .map_or(0, |r| r.0)
    };
    // Without a single tell-tale line (a shell session, a config snippet) no grammar here is
    // worth the parse: recovering from errors in each of them is most of the time spent.
    if by_score.first().is_none_or(|&(top, _)| top == 0) {
        return Language::Other;
    }
    if let Some(&(top, favourite)) = by_score.first() {
        let second = rival(favourite);
        // A sample cut short may end with a few errors in the right grammar; a wrong one has
        // errors on a good share of its rows.
        let allowed = (rows / 20).max(1);
        if top >= 2 && top > second {
            if script(favourite) {
                // Typed code that parses as TypeScript is TypeScript; else JavaScript decides.
                let typed = score(Language::TypeScript);
                let ts = parse(Language::TypeScript, sample).unwrap_or(usize::MAX);
                if ts <= allowed && typed >= 2 {
                    return Language::TypeScript;
                }
                let js = parse(Language::JavaScript, sample).unwrap_or(usize::MAX);
                if js.min(ts) <= allowed {
                    return script_language(js, ts, typed);
                }
            } else if parse(favourite, sample).is_some_and(|e| e <= allowed) {
                return favourite;
            }
        }
    }
    // A grammar that does not fit spends most of its time recovering from errors, more the
    // longer the text: every grammar parses the first lines, and only those that did about as
    // well as the best parse the whole sample.
    let short = sample_within(sample, SHORT_SAMPLE);
    let mut ranked: Vec<(usize, std::cmp::Reverse<usize>, usize, Language)> =
        crate::text::code::PARSED
            .iter()
            .enumerate()
            .filter_map(|(i, &lang)| {
                Some((parse(lang, short)?, std::cmp::Reverse(score(lang)), i, lang))
            })
            .collect();
    ranked.sort_by_key(|r| (r.0, r.1, r.2));
    if short.len() < sample.len() {
        let least = ranked.first().map_or(0, |r| r.0);
        ranked.retain(|r| r.0 <= least + (least / 4).max(2));
        ranked.truncate(FINALISTS);
        for r in &mut ranked {
            r.0 = parse(r.3, sample).unwrap_or(usize::MAX);
        }
        ranked.sort_by_key(|r| (r.0, r.1, r.2));
    }
    let Some(&(errors, _, _, best)) = ranked.first() else {
        return Language::Other;
    };
    // A preprocessor line and code no grammar here takes: C or C++.
    let preprocessor = lines
        .iter()
        .any(|l| l.starts_with("#include") || l.starts_with("#define") || l.starts_with("#pragma"));
    if errors > (rows / 5).max(2) || (preprocessor && errors > 0) {
        return Language::Other;
    }
    let errors_of = |lang: Language| {
        ranked
            .iter()
            .find(|r| r.3 == lang)
            .map_or(usize::MAX, |r| r.0)
    };
    match best {
        Language::JavaScript | Language::TypeScript => script_language(
            errors_of(Language::JavaScript),
            errors_of(Language::TypeScript),
            score(Language::TypeScript),
        ),
        lang => lang,
    }
}

/// JavaScript or TypeScript, from the error rows of each and the count of typed lines:
/// TypeScript is JavaScript with types, so JavaScript that parses as both is JavaScript unless a
/// few lines are typed.
fn script_language(js: usize, ts: usize, typed: usize) -> Language {
    if ts < js || (ts == js && typed >= 2) {
        Language::TypeScript
    } else {
        Language::JavaScript
    }
}

/// A JSON container: `{`, or `[` followed by what a JSON array can hold (a log line such as
/// `[Sun Dec 04 ...]` is not one).
fn looks_like_json(input: &str) -> bool {
    let t = input.trim_start_matches('\u{feff}').trim_start();
    let mut chars = t.chars();
    match chars.next() {
        Some('{') => true,
        Some('[') => {
            let rest = chars.as_str().trim_start();
            // `[    0.800s] Compiling ...`, `[12.5] text`: a bracketed number with text after
            // it on the line is a log prefix, never JSON.
            let number = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
            if number.len() < rest.len() {
                let after = number.strip_prefix('s').unwrap_or(number);
                if let Some(tail) = after.strip_prefix(']') {
                    let line = tail.split('\n').next().unwrap_or("");
                    if !line.trim().is_empty() {
                        return false;
                    }
                }
            }
            rest.is_empty()
                || rest.starts_with(['{', '[', '"', ']', '-'])
                || rest.starts_with(|c: char| c.is_ascii_digit())
                || ["true", "false", "null"]
                    .iter()
                    .any(|w| rest.starts_with(w))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_small_samples() {
        let cases = [
            ("[{\"a\": 1}]", Kind::Json),
            ("{\"a\": 1}\n{\"a\": 2}\n", Kind::Json),
            ("[    0.800s]    Compiling dep v0.1.0\n[    0.937s]    Compiling dep2 v0.1.0\n[    1.1s] error: could not compile `app`\n", Kind::Log),
            ("[    0.000000] Linux version 6.1.0\n[    0.004512] Command line: ro quiet\n", Kind::Log),
            ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok\n[Sun Dec 04 04:47:44 2005] [error] mod_jk child init 1 -2\n", Kind::Log),
            ("diff --git a/x.rs b/x.rs\n--- a/x.rs\n+++ b/x.rs\n@@ -1 +1 @@\n-a\n+b\n", Kind::Diff),
            ("src/a.rs:12:fn main() {\nsrc/a.rs:40:    main();\nsrc/b.rs:3:use a;\n", Kind::Search),
            ("src/a.rs\n12:fn main() {\n\nsrc/b.rs\n3:use a;\n\nsrc/c.rs\n7:    a::run();\n9:    a::stop();\n", Kind::Search),
            ("   Compiling cinch v0.1.0\n    Finished release\nrunning 3 tests\ntest a ... ok\ntest b ... FAILED\n", Kind::Tests),
            ("   Compiling cinch v0.1.0\n   Compiling dep v0.2.0\nwarning: unused import\n    Finished release\n", Kind::Log),
            ("# Title\n\nThis is a paragraph of plain text that explains something.\n\n- a list item\n", Kind::Prose),
            ("", Kind::Lines),
        ];
        for (text, kind) in cases {
            assert_eq!(detect(text).kind, kind, "{text:?}");
        }
    }

    #[test]
    fn languages() {
        let cases = [
            ("use std::io;\n\npub fn main() {\n    let mut x = 1;\n}\n", Language::Rust),
            ("import os\n\ndef main():\n    return os.getcwd()\n", Language::Python),
            ("package main\n\nfunc main() {\n\tx := 1\n}\n", Language::Go),
            ("# frozen_string_literal: true\nrequire 'x'\nmodule A\n  def b\n  end\nend\n", Language::Ruby),
            ("import {a} from './a.js';\nexport const b = () => {\n  return a;\n};\n", Language::JavaScript),
            ("export interface A {\n  b: string;\n}\nexport const c = (d: number): void => {\n};\n", Language::TypeScript),
            ("package a.b;\nimport java.util.List;\npublic class A {\n  private int x;\n}\n", Language::Java),
        ];
        for (text, lang) in cases {
            let d = detect(text);
            assert_eq!((d.kind, d.language), (Kind::Code, Some(lang)), "{text:?}");
        }
    }

    /// Every item of the shared corpus is detected as its category (when the corpus is there:
    /// `CINCH_CORPUS` or `../shared/corpus` from the workspace root).
    #[test]
    fn the_corpus_is_detected_as_its_categories() {
        let dir = crate::test_corpus::dir();
        let Ok(manifest) = std::fs::read_to_string(format!("{dir}/manifest.jsonl")) else {
            return;
        };
        let mut wrong = Vec::new();
        for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
            let rec: serde_json::Value = serde_json::from_str(line).unwrap();
            let text = std::fs::read_to_string(format!("{dir}/{}", rec["file"].as_str().unwrap()))
                .unwrap();
            let want = match rec["category"].as_str().unwrap() {
                "json_array" => Kind::Json,
                "logs" => Kind::Log,
                "search" => Kind::Search,
                "diffs" => Kind::Diff,
                "code" => Kind::Code,
                _ => Kind::Prose,
            };
            let got = detect(&text);
            if got.kind != want {
                wrong.push(format!("{}: {:?} instead of {want:?}", rec["id"], got.kind));
            }
            let file = rec["file"].as_str().unwrap();
            let lang = match file.rsplit('.').next() {
                _ if want != Kind::Code => None,
                Some("rs") => Some(Language::Rust),
                Some("py") => Some(Language::Python),
                Some("go") => Some(Language::Go),
                Some("js") => Some(Language::JavaScript),
                Some("ts") => Some(Language::TypeScript),
                Some("rb") => Some(Language::Ruby),
                Some("java") => Some(Language::Java),
                _ => got.language,
            };
            if got.language != lang {
                wrong.push(format!("{file}: {:?} instead of {lang:?}", got.language));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }
}
