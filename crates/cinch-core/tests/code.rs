//! Source code through `compress`: real files from well-known projects (`samples/code/`, see
//! its `SOURCES.md`), in each language with a grammar here. Per file: the language is detected,
//! the outline holds the budget and uses it, it still parses (Python with `ast`, JavaScript with
//! `node --check`, the others with tree-sitter, no error nodes), the whole file comes back from
//! the key at its end, a warning comment stays visible without a query, and a query naming a
//! function keeps its body. The parse check also runs over every code file at hand: the corpus's
//! (where it is), and this crate's own sources.

use cinch_core::ccr::{entry, marker_keys, MemoryStore, DEFAULT_NAMESPACE};
use cinch_core::detect::{detect, Language};
use cinch_core::{compress, Kind, Options, Report, Store};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

struct Sample {
    file: &'static str,
    lang: Language,
    /// A query naming a function as people write it (no backticks).
    query: &'static str,
    /// A line of that function's body.
    answer: &'static str,
    /// A warning planted in the file, to be visible without a query.
    warning: Option<&'static str>,
    /// A budget at which the body is not shown without the query.
    budget: usize,
}

const SAMPLES: &[Sample] = &[
    Sample {
        file: "requests_sessions.py",
        lang: Language::Python,
        query: "how does merge_setting work",
        answer: "merged_setting.update(to_key_val_list(request_setting))",
        budget: 2000,
        warning: Some("# FIXME: the session's hooks run after the request's"),
    },
    Sample {
        file: "express_response.js",
        lang: Language::JavaScript,
        query: "what does res.sendFile do",
        answer: "throw new TypeError('path must be absolute or specify root to res.sendFile');",
        budget: 2000,
        warning: None,
    },
    Sample {
        file: "gin_tree.go",
        lang: Language::Go,
        query: "how does addRoute work",
        answer: "parentFullPathIndex := 0",
        budget: 2000,
        warning: None,
    },
    Sample {
        file: "ripgrep_decompress.rs",
        lang: Language::Rust,
        query: "how does try_associate work",
        answer: "let bin = try_resolve_binary(Path::new(program.as_ref()))?;",
        budget: 2000,
        warning: Some("/// SECURITY: a relative entry in PATH"),
    },
    Sample {
        file: "rmcp_router.rs",
        lang: Language::Rust,
        query: "what does Router::handle_request do",
        answer: "ClientRequest::CallToolRequest(request) => {",
        budget: 1000,
        warning: None,
    },
    Sample {
        file: "hono_base.ts",
        lang: Language::TypeScript,
        query: "what does Hono#dispatch do",
        answer: "const matchResult = this.router.match(method, path)",
        budget: 2000,
        warning: None,
    },
    Sample {
        file: "gson_JsonArray.java",
        lang: Language::Java,
        query: "what does JsonArray.deepCopy do",
        answer: "JsonArray result = new JsonArray(elements.size());",
        budget: 2000,
        warning: None,
    },
    Sample {
        file: "jekyll_collection.rb",
        lang: Language::Ruby,
        query: "how does filtered_entries work",
        answer: "entry_filter.filter(entries).reject do |f|",
        budget: 800,
        warning: None,
    },
];

fn read(file: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/samples/code/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn run(text: &str, query: &str, budget: usize) -> (Report, MemoryStore) {
    let store = MemoryStore::default();
    let r = compress(
        text,
        &Options {
            query: query.into(),
            budget,
            ..Options::default()
        },
        &store,
    );
    (r, store)
}

/// Whether `code` parses as `lang`: `Err` with where it does not.
fn parses(lang: Language, code: &str) -> Result<(), String> {
    match lang {
        Language::Python => {
            if let Some(r) = external(
                "python3",
                &["-c", "import ast,sys; ast.parse(sys.stdin.read())"],
                code,
            ) {
                return r;
            }
        }
        Language::JavaScript => {
            let path = std::env::temp_dir().join(format!(
                "cinch-code-check-{}-{:?}.js",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::write(&path, code).unwrap();
            let r = external("node", &["--check", path.to_str().unwrap()], "");
            let _ = std::fs::remove_file(&path);
            if let Some(r) = r {
                return r;
            }
        }
        _ => {}
    }
    tree_sitter_errors(lang, code)
}

/// Runs a checker; `None` if it is not installed.
fn external(program: &str, args: &[&str], stdin: &str) -> Option<Result<(), String>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

fn grammar(lang: Language) -> tree_sitter::Language {
    match lang {
        Language::Rust => tree_sitter_rust::LANGUAGE.into(),
        Language::Python => tree_sitter_python::LANGUAGE.into(),
        Language::Go => tree_sitter_go::LANGUAGE.into(),
        Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
        Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        Language::Ruby => tree_sitter_ruby::LANGUAGE.into(),
        Language::Java => tree_sitter_java::LANGUAGE.into(),
        Language::Other => unreachable!("no grammar"),
    }
}

/// Tree-sitter's verdict: the first error or missing node, if any.
fn tree_sitter_errors(lang: Language, code: &str) -> Result<(), String> {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar(lang)).unwrap();
    let tree = parser.parse(code, None).unwrap();
    let root = tree.root_node();
    if !root.has_error() {
        return Ok(());
    }
    let mut cursor = root.walk();
    let mut node = root;
    // Down to the first error or missing node.
    'down: loop {
        if node.is_error() || node.is_missing() {
            break;
        }
        for child in node.children(&mut cursor) {
            if child.has_error() || child.is_error() || child.is_missing() {
                node = child;
                continue 'down;
            }
        }
        break;
    }
    let row = node.start_position().row;
    let around: Vec<&str> = code.lines().skip(row.saturating_sub(3)).take(6).collect();
    Err(format!(
        "{} at row {row}:\n{}",
        node.kind(),
        around.join("\n")
    ))
}

/// The whole original under the key of the output's last marker.
fn whole_file(output: &str, store: &MemoryStore) -> Vec<u8> {
    let keys = marker_keys(output);
    let bytes = store
        .get(DEFAULT_NAMESPACE, keys.last().expect("a marker"))
        .unwrap();
    entry::decode(&bytes).unwrap().original.to_vec()
}

#[test]
fn samples_are_detected_with_their_language() {
    for s in SAMPLES {
        let d = detect(&read(s.file));
        assert_eq!(
            (d.kind, d.language),
            (Kind::Code, Some(s.lang)),
            "{}",
            s.file
        );
    }
}

#[test]
fn samples_hold_and_use_the_budget_still_parse_and_come_back_whole() {
    for s in SAMPLES {
        let text = read(s.file);
        parses(s.lang, &text).unwrap_or_else(|e| panic!("{} itself: {e}", s.file));
        for budget in [200, 500, 2000] {
            for query in ["", s.query] {
                let (r, store) = run(&text, query, budget);
                let what = format!("{} at {budget} ({query:?})", s.file);
                if r.tokens_before <= budget {
                    assert_eq!(r.strategy, "passthrough", "{what}");
                    continue;
                }
                assert_eq!(r.strategy, "code-outline", "{what}: {:?}", r.reason);
                assert!(r.tokens_after <= budget, "{what}: {}", r.tokens_after);
                assert!(
                    r.tokens_after * 10 >= budget * 6,
                    "{what}: only {} tokens\n{}",
                    r.tokens_after,
                    r.output
                );
                parses(s.lang, &r.output)
                    .unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{}", r.output));
                assert_eq!(whole_file(&r.output, &store), text.as_bytes(), "{what}");
            }
        }
    }
}

#[test]
fn warnings_stay_visible_without_a_query() {
    for s in SAMPLES {
        let Some(warning) = s.warning else { continue };
        let (r, _) = run(&read(s.file), "", 2000);
        assert!(r.output.contains(warning), "{}:\n{}", s.file, r.output);
    }
}

#[test]
fn a_query_naming_a_function_keeps_its_body() {
    for s in SAMPLES {
        let text = read(s.file);
        let (plain, _) = run(&text, "", s.budget);
        let (asked, _) = run(&text, s.query, s.budget);
        assert!(
            asked.output.contains(s.answer),
            "{}: {:?}\n{}",
            s.file,
            s.query,
            asked.output
        );
        assert!(
            !plain.output.contains(s.answer),
            "{}: the body is there without the query too, so the test proves nothing",
            s.file
        );
    }
}

#[test]
fn without_a_query_the_outline_shows_the_definitions() {
    for s in SAMPLES {
        let text = read(s.file);
        let (r, _) = run(&text, "", 2000);
        let defs: Vec<&str> = text
            .lines()
            .filter(|l| definition(s.lang, l))
            .map(str::trim)
            .collect();
        let shown = defs.iter().filter(|d| r.output.contains(*d)).count();
        assert!(
            shown * 10 >= defs.len() * 9,
            "{}: {shown} of {} definitions\n{}",
            s.file,
            defs.len(),
            r.output
        );
    }
}

/// A line that starts a definition (roughly as a reader would list them).
fn definition(lang: Language, line: &str) -> bool {
    let t = line.trim_start();
    let words: &[&str] = match lang {
        Language::Python => &["def ", "class ", "async def "],
        Language::Rust => &[
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "struct ",
            "pub struct ",
            "impl ",
            "impl<",
            "enum ",
            "pub enum ",
            "trait ",
            "pub trait ",
        ],
        Language::Go => &["func ", "type "],
        Language::Ruby => &["def ", "class ", "module "],
        Language::Java => &["public ", "private ", "protected "],
        // Top-level definitions (functions nested in a body go with it).
        Language::JavaScript | Language::TypeScript if line.starts_with(' ') => &[],
        Language::JavaScript | Language::TypeScript => &["function ", "class ", "export ", "res."],
        Language::Other => &[],
    };
    words.iter().any(|w| t.starts_with(w)) && !t.ends_with(';')
}

/// Every code file at hand, with its language: the samples, the corpus's code (where it is),
/// and this crate's own Rust sources.
fn code_files() -> Vec<(PathBuf, Language)> {
    let mut files: Vec<(PathBuf, Language)> = SAMPLES
        .iter()
        .map(|s| {
            (
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/samples/code")
                    .join(s.file),
                s.lang,
            )
        })
        .collect();
    let corpus = std::env::var("CINCH_CORPUS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus").into());
    let by_ext = |p: &Path| match p.extension().and_then(|e| e.to_str()) {
        Some("rs") => Some(Language::Rust),
        Some("py") => Some(Language::Python),
        Some("go") => Some(Language::Go),
        Some("js") => Some(Language::JavaScript),
        Some("ts") => Some(Language::TypeScript),
        Some("rb") => Some(Language::Ruby),
        Some("java") => Some(Language::Java),
        _ => None,
    };
    if let Ok(entries) = std::fs::read_dir(corpus) {
        for e in entries.flatten() {
            if let Some(lang) = by_ext(&e.path()) {
                files.push((e.path(), lang));
            }
        }
    }
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if by_ext(&p) == Some(Language::Rust) {
                files.push((p, Language::Rust));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// The compressed-code-still-parses property over every code file at hand, at budgets from
/// tight to roomy, with and without a query.
#[test]
fn every_code_file_outlines_into_code_that_parses() {
    let mut checked = 0;
    for (path, lang) in code_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        // Only files that parse to begin with can be held to it.
        if parses(lang, &text).is_err() {
            continue;
        }
        for budget in [150, 400, 1000, 3000] {
            let (r, store) = run(&text, "how does `new` work", budget);
            if r.strategy != "code-outline" {
                continue;
            }
            checked += 1;
            assert!(r.tokens_after <= budget, "{path:?} at {budget}");
            parses(lang, &r.output).unwrap_or_else(|e| {
                panic!("{path:?} at {budget} does not parse: {e}\n{}", r.output)
            });
            assert_eq!(whole_file(&r.output, &store), text.as_bytes(), "{path:?}");
        }
    }
    assert!(checked >= 40, "only {checked} outlines checked");
}

/// Inputs the peer's users found detected as Ruby and passed through over the budget.
#[test]
fn small_snippets_are_detected_by_what_parses() {
    let python = "class Inventory:\n    def __init__(self, items):\n        self.items = list(items)\n        self.index = {}\n\n    def add(self, item, count=1):\n        if item in self.index:\n            self.index[item] += count\n        else:\n            self.index[item] = count\n        return self.index[item]\n";
    let js = "class Cart {\n  constructor(items) {\n    this.items = items;\n  }\n\n  total() {\n    return this.items.reduce((sum, item) => sum + item.price, 0);\n  }\n}\n";
    let ts = "class Cart {\n  private items: Item[] = [];\n\n  total(): number {\n    return this.items.reduce((sum: number, item: Item) => sum + item.price, 0);\n  }\n}\n";
    let cpp = "#include <vector>\n\nclass Stack {\npublic:\n  void push(int v) { data_.push_back(v); }\n  int pop() {\n    int v = data_.back();\n    data_.pop_back();\n    return v;\n  }\nprivate:\n  std::vector<int> data_;\n};\n";
    for (text, lang) in [
        (python, Language::Python),
        (js, Language::JavaScript),
        (ts, Language::TypeScript),
        (cpp, Language::Other),
    ] {
        let d = detect(text);
        assert_eq!((d.kind, d.language), (Kind::Code, Some(lang)), "{text}");
    }
}

#[test]
fn a_long_python_function_with_a_long_docstring_is_code() {
    let doc: String = (0..40)
        .map(|i| format!("    This paragraph explains step {i} of the computation in plain words, at length.\n"))
        .collect();
    let body: String = (0..12)
        .map(|i| format!("    value_{i} = compute(value_{}, {i})\n", i.max(1) - 1))
        .collect();
    let text = format!("def long_function(value_0):\n    \"\"\"Compute the thing.\n\n{doc}    \"\"\"\n{body}    return value_11\n");
    let d = detect(&text);
    assert_eq!((d.kind, d.language), (Kind::Code, Some(Language::Python)));
    let (r, _) = run(&text, "", 200);
    assert_eq!(r.strategy, "code-outline", "{:?}", r.reason);
    assert!(r
        .output
        .starts_with("def long_function(value_0):\n    \"\"\"Compute the thing.\n"));
    parses(Language::Python, &r.output).unwrap();
}

/// The `j`th statement of function `i`.
type Statement = fn(usize, usize) -> String;

/// A file of `n` functions in `lang`, each of `lines` statements but `func_7`, which has
/// `long` statements (`step_7_<j>` in each); with the signature line of each definition.
fn generated(lang: Language, n: usize, lines: usize, long: usize) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut signatures = Vec::new();
    match lang {
        Language::Go => text.push_str("package gen\n\n"),
        Language::Java => text.push_str("package gen;\n\npublic class Gen {\n"),
        _ => {}
    }
    for i in 0..n {
        let k = if i == 7 { long } else { lines };
        let (sig, stmt, ret, close): (String, Statement, &str, &str) = match lang {
            Language::Rust => (
                format!("pub fn func_{i}(x: u32, y: u32) -> u32 {{"),
                |i, j| format!("    let v{j} = step_{i}_{j}(x, y);"),
                "    x + y",
                "}",
            ),
            Language::Python => (
                format!("def func_{i}(x, y):"),
                |i, j| format!("    v{j} = step_{i}_{j}(x, y)"),
                "    return x + y",
                "",
            ),
            Language::JavaScript => (
                format!("function func_{i}(x, y) {{"),
                |i, j| format!("  const v{j} = step_{i}_{j}(x, y);"),
                "  return x + y;",
                "}",
            ),
            Language::TypeScript => (
                format!("export function func_{i}(x: number, y: number): number {{"),
                |i, j| format!("  const v{j}: number = step_{i}_{j}(x, y);"),
                "  return x + y;",
                "}",
            ),
            Language::Go => (
                format!("func Func{i}(x int, y int) int {{"),
                |i, j| format!("\tv{j} := step{i}x{j}(x, y)\n\t_ = v{j}"),
                "\treturn x + y",
                "}",
            ),
            Language::Java => (
                format!("    public int func{i}(int x, int y) {{"),
                |i, j| format!("        int v{j} = step{i}x{j}(x, y);"),
                "        return x + y;",
                "    }",
            ),
            _ => unreachable!("no generator"),
        };
        text.push_str(&sig);
        text.push('\n');
        for j in 0..k {
            text.push_str(&stmt(i, j));
            text.push('\n');
        }
        text.push_str(ret);
        text.push('\n');
        if !close.is_empty() {
            text.push_str(close);
            text.push('\n');
        }
        text.push('\n');
        signatures.push(
            sig.trim()
                .trim_end_matches(['{', ':'])
                .trim_end()
                .to_string(),
        );
    }
    if lang == Language::Java {
        text.push_str("}\n");
    }
    (text, signatures)
}

/// In every language with a grammar here: where the outline fits and the bodies do not, every
/// definition's signature is visible, the output still parses, and the body of the function
/// the query names is kept when the room left holds it, the other long bodies not.
#[test]
fn every_signature_is_visible_and_the_asked_body_kept() {
    for lang in [
        Language::Rust,
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Go,
        Language::Java,
    ] {
        let (text, signatures) = generated(lang, 30, 12, 20);
        parses(lang, &text).unwrap_or_else(|e| panic!("{lang:?} itself: {e}\n{text}"));
        assert_eq!(detect(&text).language, Some(lang), "{text}");
        let asked = match lang {
            Language::Go => "Func7",
            Language::Java => "func7",
            _ => "func_7",
        };
        for query in ["", &format!("how does {asked} work")] {
            let budget = 1000;
            let (r, store) = run(&text, query, budget);
            let what = format!("{lang:?} at {budget} ({query:?})");
            assert_eq!(r.strategy, "code-outline", "{what}: {:?}", r.reason);
            assert!(r.tokens_after <= budget, "{what}");
            for s in &signatures {
                assert!(r.output.contains(s.as_str()), "{what}: {s}\n{}", r.output);
            }
            parses(lang, &r.output)
                .unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{}", r.output));
            assert_eq!(whole_file(&r.output, &store), text.as_bytes(), "{what}");
            let body = |i: usize| match lang {
                Language::Go | Language::Java => format!("step{i}x15("),
                _ => format!("step_{i}_15("),
            };
            assert_eq!(
                r.output.contains(&body(7)),
                !query.is_empty(),
                "{what}\n{}",
                r.output
            );
        }
    }
}

/// A comment that ends in a colon between a Python signature and its body is not the line
/// that opens the body: the placeholder never lands in the comment.
#[test]
fn python_comments_ending_in_a_colon_keep_the_placeholder_out() {
    let body: String = (0..8)
        .map(|j| format!("    v{j} = step(x, {j})\n"))
        .collect();
    let text: String = (0..30)
        .map(|i| {
            format!("def f_{i}(x):\n    # Steps:\n    # first one, then the other:\n{body}    return x\n\n\n")
        })
        .collect();
    for budget in (150..1500).step_by(50) {
        let (r, _) = run(&text, "", budget);
        assert!(r.tokens_after <= budget);
        parses(Language::Python, &r.output)
            .unwrap_or_else(|e| panic!("at {budget}: {e}\n{}", r.output));
    }
}

/// Large literals (tables, maps, lists) lose their contents before any signature, and what is
/// left still parses.
#[test]
fn large_literals_outline_into_code_that_parses() {
    let rows = |f: &dyn Fn(usize) -> String| (0..150).map(f).collect::<String>();
    let cases = [
        (
            Language::Python,
            format!(
                "TABLE = {{\n{}}}\n\nNAMES = [\n{}]\n\n",
                rows(&|i| format!("    'k{i}': {i},\n")),
                rows(&|i| format!("    'n{i}',\n"))
            ),
        ),
        (
            Language::JavaScript,
            format!(
                "const TABLE = {{\n{}}};\n\nmodule.exports.NAMES = [\n{}];\n\n",
                rows(&|i| format!("  k{i}: {i},\n")),
                rows(&|i| format!("  'n{i}',\n"))
            ),
        ),
        (
            Language::Go,
            format!(
                "package gen\n\nvar table = map[string]int{{\n{}}}\n\n",
                rows(&|i| format!("\t\"k{i}\": {i},\n"))
            ),
        ),
    ];
    for (lang, literals) in cases {
        let (functions, signatures) = generated(lang, 20, 6, 6);
        let text = match lang {
            Language::Go => format!("{functions}{}", literals.replace("package gen\n\n", "")),
            _ => format!("{functions}{literals}"),
        };
        parses(lang, &text).unwrap_or_else(|e| panic!("{lang:?} itself: {e}\n{text}"));
        for budget in [300, 600, 1000] {
            let (r, _) = run(&text, "", budget);
            let what = format!("{lang:?} at {budget}");
            assert_eq!(r.strategy, "code-outline", "{what}: {:?}", r.reason);
            parses(lang, &r.output)
                .unwrap_or_else(|e| panic!("{what} does not parse: {e}\n{}", r.output));
            if budget == 1000 {
                for s in &signatures {
                    assert!(r.output.contains(s.as_str()), "{what}: {s}\n{}", r.output);
                }
            }
        }
    }
}

/// JavaScript refuses a private name (`this.#count`) that its class does not declare, so the
/// declarations of private fields and methods stay while code naming them may show.
#[test]
fn javascript_private_names_stay_declared() {
    let methods: String = (0..25)
        .map(|i| {
            format!("  method{i}(x) {{\n    const a = this.#count + x;\n    const b = this.#helper(a, {i});\n    this.#count = b;\n    return b;\n  }}\n\n")
        })
        .collect();
    let text = format!(
        "class Counter {{\n  #count = 0;\n  #step = 1;\n\n  #helper(a, b) {{\n    const c = a * b;\n    const d = c + this.#step;\n    return d;\n  }}\n\n{methods}}}\n\nmodule.exports = Counter;\n"
    );
    parses(Language::JavaScript, &text).unwrap();
    for budget in (150..1500).step_by(50) {
        for query in ["", "how does method7 work", "what does #helper do"] {
            let (r, _) = run(&text, query, budget);
            if r.strategy != "code-outline" {
                continue;
            }
            assert!(r.tokens_after <= budget);
            parses(Language::JavaScript, &r.output)
                .unwrap_or_else(|e| panic!("at {budget} ({query:?}): {e}\n{}", r.output));
        }
    }
}

#[test]
fn snapshot_python_outline() {
    let (r, _) = run(&read("requests_sessions.py"), "", 700);
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_ruby_outline_with_a_query() {
    let (r, _) = run(
        &read("jekyll_collection.rb"),
        "how does filtered_entries work",
        700,
    );
    insta::assert_snapshot!(r.output);
}

#[test]
fn snapshot_go_outline() {
    let (r, _) = run(&read("gin_tree.go"), "", 500);
    insta::assert_snapshot!(r.output);
}

/// Python-like code: classes and functions with docstrings, comments and bodies.
fn python_source() -> impl Strategy<Value = String> {
    let name = "[a-z][a-z_]{0,8}";
    let statement = prop_oneof![
        (name, 0u32..1000).prop_map(|(n, v)| format!("x_{n} = {v}")),
        name.prop_map(|n| format!("call_{n}(x, y)")),
        name.prop_map(|n| format!("# note about {n}")),
        Just("return None".to_string()),
    ];
    let function = (
        name,
        proptest::option::of("[A-Za-z ]{0,30}"),
        proptest::collection::vec(statement, 1..12),
    )
        .prop_map(|(n, doc, body)| {
            let mut f = format!("def f_{n}(a, b):\n");
            if let Some(d) = doc {
                f.push_str(&format!(
                    "    \"\"\"{d}\n\n    More about it.\n    \"\"\"\n"
                ));
            }
            for s in body {
                f.push_str(&format!("    {s}\n"));
            }
            f
        });
    let item = prop_oneof![
        function.clone(),
        (name, proptest::collection::vec(function, 0..4)).prop_map(|(n, fs)| {
            let mut c = format!("class C_{n}:\n    \"\"\"A class.\"\"\"\n    attr = 1\n");
            for f in fs {
                for l in f.lines() {
                    c.push_str(&format!("\n    {l}"));
                }
                c.push('\n');
            }
            c
        }),
        name.prop_map(|n| format!("import {n}\n")),
        name.prop_map(|n| format!("# comment {n}\n# more\n")),
    ];
    proptest::collection::vec(item, 1..40).prop_map(|items| items.join("\n\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// For any Python-shaped input and any budget from 200: the output holds the budget, the
    /// whole original comes back, and what is shown still parses.
    #[test]
    fn any_python_holds_the_budget_parses_and_comes_back(text in python_source(), budget in 200usize..3000) {
        let (r, store) = run(&text, "", budget);
        prop_assert!(r.tokens_after <= budget, "{} > {budget}", r.tokens_after);
        if r.strategy == "code-outline" {
            prop_assert_eq!(whole_file(&r.output, &store), text.as_bytes().to_vec());
            if tree_sitter_errors(Language::Python, &text).is_ok() {
                prop_assert!(tree_sitter_errors(Language::Python, &r.output).is_ok(), "{}", r.output);
            }
        }
    }
}
