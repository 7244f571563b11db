use super::*;
use crate::ccr::{MemoryStore, Store};
use crate::context::with_context;

/// The outline of `code` at `budget`, with its store.
fn outline_at(code: &str, lang: Language, query: &str, budget: usize) -> (String, MemoryStore) {
    with_context(code, query, budget, |ctx| {
        let out = compress_code(code, Some(lang), ctx).unwrap();
        let tokens = ctx.counter.count(&out.output);
        assert!(tokens <= budget, "{tokens} > {budget}:\n{}", out.output);
        out.output
    })
}

/// `n` Rust functions of `lines` statements each.
fn rust_functions(n: usize, lines: usize) -> String {
    (0..n)
        .map(|i| {
            let body: String = (0..lines)
                .map(|j| {
                    format!(
                        "    let v{j} = compute_value_{i}(v{}, {j});\n",
                        j.max(1) - 1
                    )
                })
                .collect();
            format!(
                "/// Function {i}.\npub fn function_{i}(a: u32) -> u32 {{\n{body}    v0\n}}\n\n"
            )
        })
        .collect()
}

/// `n` C functions of `lines` statements each.
fn c_functions(n: usize, lines: usize) -> String {
    (0..n)
        .map(|i| {
            let body: String = (0..lines)
                .map(|j| format!("    int v{j} = compute_{i}(v{}, {j});\n", j.max(1) - 1))
                .collect();
            format!("int add_{i}(int a, int b) {{\n{body}    printf(\"%d\", v0);\n    return v0;\n}}\n\n")
        })
        .collect()
}

#[test]
fn rust_bodies_go_signatures_stay() {
    let code = format!("use std::io;\n\n{}", rust_functions(5, 10));
    let (out, store) = outline_at(&code, Language::Rust, "", 300);
    assert!(
        out.contains("pub fn function_3(a: u32) -> u32 {\n"),
        "{out}"
    );
    assert!(out.contains("/// Function 3.\n"));
    assert!(!out.contains("let v5 = compute_value_3"));
    // The marker sits in a comment between the kept braces, so the outline still parses.
    assert!(out.contains("{\n    /* <<ccr:"), "{out}");
    assert!(out.contains("lines; calls compute_value_3"), "{out}");
    // Each body is retrievable on its own, and the whole file under the last key.
    let keys = crate::ccr::marker_keys(&out);
    let whole = store.get("t", keys.last().unwrap()).unwrap();
    assert_eq!(entry::decode(&whole).unwrap().original, code.as_bytes());
    let bodies: String = keys[..keys.len() - 1]
        .iter()
        .map(|k| String::from_utf8(store.get("t", k).unwrap()).unwrap())
        .collect();
    assert!(bodies.contains("let v5 = compute_value_3(v4, 5);"), "{out}");
}

#[test]
fn the_asked_about_function_stays_whole() {
    // The outline of the 30 functions leaves room for a body or two: the asked one's first.
    let code = rust_functions(30, 8);
    for query in [
        "How does `function_17` work?",
        "how does function_17 work",
        "what does Module::function_17 do",
    ] {
        let (out, _) = outline_at(&code, Language::Rust, query, 800);
        assert!(
            out.contains("let v7 = compute_value_17(v6, 7);"),
            "{query}: {out}"
        );
        assert!(!out.contains("compute_value_3(v6"), "{query}: {out}");
        for i in 0..30 {
            let signature = format!("pub fn function_{i}(a: u32) -> u32 {{");
            assert!(out.contains(&signature), "{query}: {signature}\n{out}");
        }
    }
}

/// The outline comes first: while every definition's signature fits, none is left out to make
/// room for a body, not even for the body of the function the query asks about; that body is
/// the first to come back when there is room for it.
#[test]
fn every_signature_shows_before_any_body() {
    let asked: String = (0..30)
        .map(|j| format!("    let w{j} = asked_step(w{}, {j});\n", j.max(1) - 1))
        .collect();
    let code = format!(
        "{}pub fn asked_about(a: u32) -> u32 {{\n{asked}    w0\n}}\n\n{}",
        rust_functions(20, 6),
        rust_functions(20, 6).replace("function_", "other_")
    );
    let query = "how does asked_about work";
    let signatures: Vec<String> = (0..20)
        .flat_map(|i| {
            [
                format!("pub fn function_{i}(a: u32) -> u32 {{"),
                format!("pub fn other_{i}(a: u32) -> u32 {{"),
            ]
        })
        .chain(["pub fn asked_about(a: u32) -> u32 {".to_string()])
        .collect();
    // Room for the outline, not for the outline and the asked body: every signature.
    let (out, _) = outline_at(&code, Language::Rust, query, 900);
    for s in &signatures {
        assert!(out.contains(s.as_str()), "{s}\n{out}");
    }
    assert!(!out.contains("items left out"), "{out}");
    assert!(!out.contains("let w20 = asked_step"), "{out}");
    // Room for both: every signature and the asked body, not the others'.
    let (out, _) = outline_at(&code, Language::Rust, query, 1400);
    for s in &signatures {
        assert!(out.contains(s.as_str()), "{s}\n{out}");
    }
    assert!(out.contains("let w20 = asked_step(w19, 20);"), "{out}");
    assert!(!out.contains("compute_value_3(v4"), "{out}");
}

/// A body the query names that does not fit beside the outline shows its first statements,
/// as many as the room left holds; the rest is a placeholder inside the kept braces.
#[test]
fn the_asked_body_shows_its_first_statements() {
    let asked: String = (0..80)
        .map(|j| format!("    let w{j} = asked_step(w{}, {j});\n", j.max(1) - 1))
        .collect();
    let code = format!(
        "{}pub fn asked_about(a: u32) -> u32 {{\n{asked}    w0\n}}\n\n{}",
        rust_functions(15, 6),
        rust_functions(15, 6).replace("function_", "other_")
    );
    let (out, _) = outline_at(&code, Language::Rust, "how does asked_about work", 1000);
    for i in 0..15 {
        assert!(
            out.contains(&format!("pub fn function_{i}(a: u32)")),
            "{out}"
        );
        assert!(out.contains(&format!("pub fn other_{i}(a: u32)")), "{out}");
    }
    assert!(
        out.contains("pub fn asked_about(a: u32) -> u32 {\n    let w0 = asked_step(w0, 0);\n    let w1 = asked_step(w0, 1);\n"),
        "{out}"
    );
    assert!(!out.contains("let w79"), "{out}");
    assert!(!out.contains("compute_value_3(v4"), "{out}");
}

/// A large literal (a table, a map) keeps the line that names it; its contents go like a body.
#[test]
fn large_literals_keep_the_line_that_names_them() {
    let table: String = (0..200).map(|i| format!("    {i},\n")).collect();
    let code = format!(
        "pub static TABLE: [u32; 200] = [\n{table}];\n\n{}",
        rust_functions(10, 6)
    );
    let (out, _) = outline_at(&code, Language::Rust, "", 300);
    assert!(
        out.contains("pub static TABLE: [u32; 200] = [ /* ... */ ];\n"),
        "{out}"
    );
    for i in 0..10 {
        assert!(
            out.contains(&format!("pub fn function_{i}(a: u32)")),
            "{out}"
        );
    }
}

/// When even the signatures do not fit, those of public items and of what the query asks
/// about stay; the private ones go, each run a bare placeholder where it was and counted in
/// the marker at the end.
#[test]
fn public_and_asked_signatures_stay_longest() {
    let code: String = (0..60)
        .map(|i| {
            let vis = if i % 2 == 0 { "pub " } else { "" };
            format!(
                "{vis}fn f_{i}(a: u32) -> u32 {{\n    let b = a + {i};\n    let c = b * 2;\n    c - 1\n}}\n\n"
            )
        })
        .collect();
    let (out, store) = outline_at(&code, Language::Rust, "what does f_33 do", 700);
    for i in (0..60).step_by(2) {
        let signature = format!("pub fn f_{i}(a: u32) -> u32 {{ /* ... */ }}");
        assert!(out.contains(&signature), "{signature}\n{out}");
    }
    assert!(out.contains("\nfn f_33(a: u32) -> u32 {"), "{out}");
    let private = (1..60).step_by(2);
    let gone = private
        .filter(|i| !out.contains(&format!("\nfn f_{i}(")))
        .count();
    assert!(gone > 0, "{out}");
    assert!(out.contains("\n// ...\n"), "{out}");
    assert!(
        out.ends_with(&format!("; {gone} items left out>>\n")),
        "{out}"
    );
    // The whole file comes back from the marker at the end.
    let keys = crate::ccr::marker_keys(&out);
    let whole = store.get("t", keys.last().unwrap()).unwrap();
    assert_eq!(entry::decode(&whole).unwrap().original, code.as_bytes());
}

/// An elided block with a bare placeholder stays on the line that opens it.
#[test]
fn bare_placeholders_join_their_lines() {
    let code = rust_functions(40, 6);
    let (out, _) = outline_at(&code, Language::Rust, "", 1000);
    assert!(
        out.contains("pub fn function_5(a: u32) -> u32 { /* ... */ }\n"),
        "{out}"
    );
    let body: String = (0..6)
        .map(|j| format!("        x{j} = compute(x, {j})\n"))
        .collect();
    let py: String = (0..40)
        .map(|i| format!("def f_{i}(x):\n{body}        return x\n\n\n"))
        .collect();
    let (out, _) = outline_at(&py, Language::Python, "", 500);
    assert!(out.contains("def f_5(x): ...\n"), "{out}");
}

#[test]
fn other_languages_get_an_indentation_outline() {
    let c = format!("#include <stdio.h>\n\n{}", c_functions(6, 12));
    let (out, _) = outline_at(&c, Language::Other, "", 400);
    assert!(
        out.contains("int add_2(int a, int b) {\n    /* <<ccr:"),
        "{out}"
    );
    assert!(out.contains("lines; calls compute_2, printf"), "{out}");
    assert!(!out.contains("int v5 = compute_2"));
    assert!(
        out.ends_with(">>\n") && out.contains("\n// <<ccr:"),
        "{out}"
    );
}

/// In the outline by indentation, a label at column 0 inside a function (`retry:` in C) is
/// part of its body, not an item of its own whose leaving out would take the closing brace.
#[test]
fn labels_at_column_zero_stay_in_their_function() {
    let body: String = (0..8)
        .map(|j| format!("    int v{j} = step(v, {j});\n"))
        .collect();
    let c: String = (0..30)
        .map(|i| format!("int f_{i}(int v) {{\n{body}\nretry:\n{body}    return v;\n}}\n\n"))
        .collect();
    for budget in (150..1500).step_by(50) {
        let (out, _) = outline_at(&c, Language::Other, "", budget);
        let (opens, closes) = (out.matches('{').count(), out.matches('}').count());
        assert_eq!(opens, closes, "at {budget}:\n{out}");
    }
}

/// In the outline by indentation, a block comment is never cut open (its lines at column 0
/// after a blank line start no item), and a Python-like block keeps a statement.
#[test]
fn other_languages_keep_comments_closed_and_blocks_valid() {
    let license = "/*\nCopyright 2025 The Authors.\n\nLicensed under the Apache License.\n\nUnless required by applicable law, software\ndistributed under the License is AS IS.\n*/\n\n";
    let c = format!("{license}#include <stdio.h>\n\n{}", c_functions(30, 10));
    for budget in (100..1500).step_by(50) {
        let (out, _) = outline_at(&c, Language::Other, "", budget);
        let (opens, closes) = (out.matches("/*").count(), out.matches("*/").count());
        assert_eq!(opens, closes, "at {budget}:\n{out}");
        let (opens, closes) = (out.matches('{').count(), out.matches('}').count());
        assert_eq!(opens, closes, "at {budget}:\n{out}");
    }
    let body: String = (0..8)
        .map(|j| format!("    v{j} = step(x, {j})\n"))
        .collect();
    let py: String = (0..30)
        .map(|i| format!("# Step {i}.\ndef f_{i}(x):\n{body}    return x\n\n\n"))
        .collect();
    let (out, _) = outline_at(&py, Language::Other, "", 400);
    let lines: Vec<&str> = out.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("def ") {
            assert!(lines[i + 1].starts_with("    "), "{line}\n{out}");
        }
    }
    assert!(out.contains("def f_3(x):\n    ...\n"), "{out}");
}

#[test]
fn python_keeps_the_docstring_closed() {
    let body: String = (0..10)
        .map(|i| format!("        x{i} = compute(x, {i})\n"))
        .collect();
    let py = format!("class A:\n    def f(self):\n        \"\"\"Does f.\n\n        At length.\n        \"\"\"\n{body}        return x\n\n    def g(self):\n        return 1\n\n").repeat(4);
    let (out, _) = outline_at(&py, Language::Python, "", 300);
    assert!(
        out.contains(
            "    def f(self):\n        \"\"\"Does f.\n        \"\"\"\n        ...  # <<ccr:"
        ),
        "{out}"
    );
    assert!(!out.contains("x3 = compute"));
}

#[test]
fn the_budget_is_a_cap_and_is_used() {
    let code = rust_functions(200, 12);
    for budget in [200, 500, 2000] {
        let (out, _) = with_context(&code, "", budget, |ctx| {
            let out = compress_code(&code, Some(Language::Rust), ctx).unwrap();
            let tokens = ctx.counter.count(&out.output);
            assert!(tokens <= budget, "{tokens} > {budget}");
            assert!(
                tokens * 10 >= budget * 8,
                "{tokens} of {budget}:\n{}",
                out.output
            );
            out
        });
        // The top of the file stays; what is left out is named.
        assert!(
            out.output.contains("pub fn function_0(a: u32) -> u32 {"),
            "{}",
            out.output
        );
        assert!(out.output.contains("\n// ...\n"), "{}", out.output);
        assert!(out.output.contains(" items left out>>"), "{}", out.output);
    }
}

#[test]
fn under_the_budget_bodies_come_back() {
    let code = rust_functions(20, 30) + &rust_functions(1, 2).replace("function_0", "tiny");
    let (out, _) = outline_at(&code, Language::Rust, "", 2000);
    // The short body is back; the long ones are elided.
    assert!(
        out.contains("let v0 = compute_value_0(v0, 0);\n    let v1"),
        "{out}"
    );
}

/// The elisions, comment rows and import rows a walk found.
fn cuts_of(lang: Language, text: &str) -> Vec<(What, Vec<(usize, usize)>)> {
    let lines = lines_of(text);
    let asked = Asked::default();
    let mut walker = Walker::new(text, &lines, lang, Syntax::of(lang, &lines), &asked);
    for tree in parse(&grammar(lang).unwrap(), text, &lines).unwrap() {
        walker.walk(tree.root_node());
    }
    walker
        .finish()
        .into_iter()
        .map(|c| (c.what, c.hide))
        .collect()
}

fn whole(lang: Language, text: &str) -> Vec<(What, Vec<(usize, usize)>)> {
    let lines = lines_of(text);
    let asked = Asked::default();
    let mut walker = Walker::new(text, &lines, lang, Syntax::of(lang, &lines), &asked);
    walker.walk(
        parse_range(&grammar(lang).unwrap(), text, None)
            .unwrap()
            .root_node(),
    );
    walker
        .finish()
        .into_iter()
        .map(|c| (c.what, c.hide))
        .collect()
}

#[test]
fn a_large_file_parsed_in_halves_outlines_like_the_whole() {
    let item = "/// Doc.\nuse std::io;\n\npub fn f() -> u32 {\n    let a = 1;\n    let b = 2;\n    let c = 3;\n    a + b + c\n}\n\n";
    let text = item.repeat(SPLIT_PARSE_MIN / item.len() + 10);
    let lines = lines_of(&text);
    let trees = parse(&grammar(Language::Rust).unwrap(), &text, &lines).unwrap();
    assert_eq!(trees.len(), 2, "a cut was found and both halves parsed");
    assert_eq!(cuts_of(Language::Rust, &text), whole(Language::Rust, &text));
}

#[test]
fn a_cut_inside_a_string_falls_back_to_one_parse() {
    // The only top-level line after a blank line sits inside a raw string.
    let body = "    let a = 1;\n".repeat(SPLIT_PARSE_MIN / 15);
    let text = format!(
        "fn a() {{\n{body}}}\nconst S: &str = r\"x\n\nfn fake() {{\n}}\n\";\nfn b() {{\n{body}}}\n"
    );
    let lines = lines_of(&text);
    assert!(top_level_split(&lines).is_some());
    let trees = parse(&grammar(Language::Rust).unwrap(), &text, &lines).unwrap();
    assert_eq!(trees.len(), 1);
    let cuts = cuts_of(Language::Rust, &text);
    assert_eq!(cuts, whole(Language::Rust, &text));
    let bodies = cuts.iter().filter(|c| c.0 == What::Body).count();
    assert_eq!(bodies, 2, "a and b, not the fake one in the string");
}

/// Large files of the corpus are parsed in halves, with the outline of a whole parse.
#[test]
fn the_corpus_parses_in_halves_like_the_whole() {
    for (path, text) in crate::test_corpus::files() {
        let lang = match path.extension().and_then(|e| e.to_str()) {
            Some("rs") => Language::Rust,
            Some("py") => Language::Python,
            Some("ts") => Language::TypeScript,
            Some("rb") => Language::Ruby,
            _ => continue,
        };
        let lines = lines_of(&text);
        let trees = parse(&grammar(lang).unwrap(), &text, &lines).unwrap();
        if text.len() >= SPLIT_PARSE_MIN && top_level_split(&lines).is_some() {
            assert_eq!(trees.len(), 2, "{path:?}");
        }
        assert_eq!(cuts_of(lang, &text), whole(lang, &text), "{path:?}");
    }
}

#[test]
fn error_rows_tell_languages_apart() {
    let py = "class A:\n    def f(self, x):\n        return x * 2\n";
    assert_eq!(error_rows(Language::Python, py), Some(0));
    assert!(error_rows(Language::Ruby, py).unwrap() > 0);
    assert!(error_rows(Language::JavaScript, py).unwrap() > 0);
    assert_eq!(error_rows(Language::Other, py), None);
}
