//! Mixed content: a document or a log with blocks of another kind inside it.
//!
//! Markdown carries fenced code, JSON and diffs; a log carries pretty-printed JSON dumped
//! between its lines. Such blocks are cut out and each is compressed by the compressor of its
//! own kind, while the text around them goes through the host's compressor (prose or log) with
//! each block standing in as one placeholder line. Where the host keeps a placeholder, the
//! block's own compressed form takes its place; where the host drops it, the block's original
//! text is what goes to the store (the host's store is wrapped so that every placeholder it
//! stores is put back), so nothing is lost either way.

use crate::ccr::entry::{self, Header};
use crate::ccr::{GetError, Key, Store, StoreError, StoreStats};
use crate::context::Context;
use crate::detect::{detect, language_of, Kind, Language};
use crate::route::{compress_as, Candidate, Declined};
use crate::text::prose::is_fence;
use crate::text::{content, lines_of, TextDetails};
use crate::tokens::{Counter, Tokenizer};

/// Blocks with fewer lines than this stay in the host text as they are.
const BLOCK_MIN_LINES: usize = 8;
/// Log lines that open JSON which does not parse are tried at most this many times.
const JSON_TRIES: usize = 64;
/// JSON blobs are looked for within this many bytes of where they start.
const JSON_MAX: usize = 1 << 20;
/// Placeholders are marked with a control character that text does not carry.
const MARK: char = '\u{1}';

/// A block of another kind inside the host text: its lines, as a byte range.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    start: usize,
    end: usize,
    kind: Kind,
    language: Option<Language>,
}

/// The blocks of `input` (a text of the `host` kind) worth compressing on their own, if any.
pub(crate) fn split(input: &str, host: Kind) -> Option<Vec<Block>> {
    if input.contains(MARK) {
        // Placeholders could not be told from the text.
        return None;
    }
    let lines = lines_of(input);
    let blocks = match host {
        Kind::Prose => fenced_blocks(&lines),
        Kind::Log => json_blobs(input, &lines),
        _ => Vec::new(),
    };
    (!blocks.is_empty()).then_some(blocks)
}

/// Fenced blocks of [`BLOCK_MIN_LINES`] lines or more whose kind is not prose.
fn fenced_blocks(lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut at = 0;
    // The fence that opened the block being read: its info string and where its body starts.
    let mut open: Option<(&str, usize, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = content(line).trim();
        if is_fence(t) {
            match open.take() {
                None => open = Some((t.trim_start_matches(['`', '~']), i + 1, at + line.len())),
                Some((info, first, start)) => {
                    if i - first >= BLOCK_MIN_LINES {
                        if let Some((kind, language)) = block_kind(info, &lines[first..i].concat())
                        {
                            blocks.push(Block {
                                start,
                                end: at,
                                kind,
                                language,
                            });
                        }
                    }
                }
            }
        }
        at += line.len();
    }
    blocks
}

/// What a fenced block holds, from its info string or else from its text; `None` for text.
fn block_kind(info: &str, body: &str) -> Option<(Kind, Option<Language>)> {
    let tag = info
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '='))
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let language = match tag.as_str() {
        "rust" | "rs" => Some(Language::Rust),
        "python" | "py" | "python3" => Some(Language::Python),
        "go" | "golang" => Some(Language::Go),
        "javascript" | "js" | "jsx" | "mjs" | "cjs" => Some(Language::JavaScript),
        "typescript" | "ts" | "tsx" => Some(Language::TypeScript),
        "ruby" | "rb" => Some(Language::Ruby),
        "java" => Some(Language::Java),
        _ => None,
    };
    if language.is_some() {
        return Some((Kind::Code, language));
    }
    match tag.as_str() {
        "json" | "jsonl" | "ndjson" => return Some((Kind::Json, None)),
        "diff" | "patch" => return Some((Kind::Diff, None)),
        _ => {}
    }
    let found = detect(body);
    match found.kind {
        Kind::Json
        | Kind::Diff
        | Kind::Log
        | Kind::Search
        | Kind::Tests
        | Kind::GitLog
        | Kind::Table => Some((found.kind, None)),
        // Only code a grammar can outline: an indentation outline of a config file or a shell
        // session would cut what the reader came for.
        Kind::Code => {
            let language = found.language.unwrap_or_else(|| language_of(body));
            (language != Language::Other).then_some((Kind::Code, Some(language)))
        }
        // Prose stays the host's; configuration, path lists and unknown lines are what the
        // reader came for, so they stay as written.
        Kind::Prose | Kind::Config | Kind::Paths | Kind::Lines => None,
    }
}

/// JSON values of three lines or more that start a log line and end one.
fn json_blobs(input: &str, lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut tries = 0;
    let mut at = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        if tries < JSON_TRIES && t.starts_with(['{', '[']) {
            let from = at + line.len() - t.len();
            let mut window = (from + JSON_MAX).min(input.len());
            while !input.is_char_boundary(window) {
                window -= 1;
            }
            let mut values = serde_json::Deserializer::from_str(&input[from..window])
                .into_iter::<serde::de::IgnoredAny>();
            match values.next() {
                Some(Ok(_)) => {
                    let end = from + values.byte_offset();
                    let line_end = input[end..].find('\n').map_or(input.len(), |k| end + k + 1);
                    let blob_lines = input[at..line_end].matches('\n').count()
                        + usize::from(!input[at..line_end].ends_with('\n'));
                    if blob_lines >= 3 && input[end..line_end].trim().is_empty() {
                        blocks.push(Block {
                            start: at,
                            end: line_end,
                            kind: Kind::Json,
                            language: None,
                        });
                        at = line_end;
                        i += blob_lines;
                        continue;
                    }
                }
                _ => tries += 1,
            }
        }
        at += line.len();
        i += 1;
    }
    blocks
}

/// The placeholder line of block `n`: one word, distinct for every block, with the block's own
/// last line ending (none for a block at the end of a text without one).
fn placeholder(n: usize, body: &str) -> String {
    let mut id = Vec::new();
    let mut k = n;
    loop {
        id.push(b'a' + (k % 26) as u8);
        k /= 26;
        if k == 0 {
            break;
        }
    }
    id.reverse();
    let id = String::from_utf8(id).expect("ASCII letters");
    let ending = if body.ends_with('\n') { "\n" } else { "" };
    format!("{MARK}{TAG}{id}{MARK}{ending}")
}

const TAG: &str = "cinch-block-";

/// The block number a placeholder's id (`a`, `b`, ..., `ba`, ...) stands for.
fn block_number(id: &str) -> Option<usize> {
    id.bytes().try_fold(0usize, |n, b| {
        b.is_ascii_lowercase()
            .then(|| n.checked_mul(26)?.checked_add(usize::from(b - b'a')))
            .flatten()
    })
}

/// `text` with each placeholder line of `lines` replaced by what `with` gives for its block, in
/// one pass (a document may hold many blocks).
fn put_back<'w>(text: &str, lines: &[String], with: impl Fn(usize) -> Option<&'w str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let found = rest[1..]
            .strip_prefix(TAG)
            .and_then(|r| r.split(MARK).next())
            .and_then(block_number)
            .and_then(|n| Some((lines.get(n)?, with(n)?)))
            .filter(|(line, _)| rest.starts_with(line.as_str()));
        match found {
            Some((line, replacement)) => {
                out.push_str(replacement);
                rest = &rest[line.len()..];
            }
            None => {
                out.push(MARK);
                rest = &rest[MARK.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A store that puts the blocks' text back in place of their placeholders before storing.
struct Restoring<'a> {
    inner: &'a dyn Store,
    /// Each block's placeholder line.
    lines: &'a [String],
    /// Each block's text.
    bodies: &'a [&'a str],
}

impl Restoring<'_> {
    /// `content` with the blocks put back; in an entry with a header, the kept lines are
    /// renumbered for the restored original (a block's own lines count as left out: what the
    /// output showed of it may have been compressed).
    fn restore<'c>(&self, content: &'c [u8]) -> std::borrow::Cow<'c, [u8]> {
        let Ok(e) = entry::decode(content) else {
            return content.into();
        };
        let text = match std::str::from_utf8(e.original) {
            Ok(text) if text.contains(MARK) => text,
            _ => return content.into(),
        };
        let restored = put_back(text, self.lines, |n| self.bodies.get(n).copied());
        if e.header == Header::default() {
            return restored.into_bytes().into();
        }
        let which: std::collections::HashMap<&str, usize> = self
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| (l.as_str(), n))
            .collect();
        let mut keep: Vec<bool> = Vec::new();
        for (i, line) in lines_of(text).into_iter().enumerate() {
            match which.get(line).copied() {
                Some(n) => {
                    let body = self.bodies.get(n).copied().unwrap_or("");
                    keep.extend(std::iter::repeat_n(false, lines_of(body).len()));
                }
                None => keep.push(entry::is_kept(&e.header.kept, i)),
            }
        }
        let header = Header {
            kept: entry::ranges(&keep),
            ..e.header
        };
        entry::encode(&header, restored.as_bytes()).into()
    }
}

impl Store for Restoring<'_> {
    fn put(&self, namespace: &str, content: &[u8]) -> Result<Key, StoreError> {
        self.inner.put(namespace, &self.restore(content))
    }
    fn get(&self, namespace: &str, key: &Key) -> Result<Vec<u8>, GetError> {
        self.inner.get(namespace, key)
    }
    fn put_many(&self, namespace: &str, contents: &[&[u8]]) -> Result<Vec<Key>, StoreError> {
        let restored: Vec<_> = contents.iter().map(|c| self.restore(c)).collect();
        let refs: Vec<&[u8]> = restored.iter().map(|c| c.as_ref()).collect();
        self.inner.put_many(namespace, &refs)
    }
    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.inner.stats()
    }
    fn gc(&self) -> Result<u64, StoreError> {
        self.inner.gc()
    }
    fn clear(&self, namespace: Option<&str>) -> Result<u64, StoreError> {
        self.inner.clear(namespace)
    }
}

/// The host's output with the blocks it kept put back in.
struct Assembled {
    output: String,
    keys: Vec<String>,
    details: TextDetails,
    reason: Option<String>,
    /// Blocks that came out smaller.
    compressed: usize,
    /// The host declined (its text fit), so it is here whole.
    host_failed: bool,
}

/// Compresses `input`, a text of the `host` kind with `blocks` inside (see the module docs).
/// An error means the sections could not be put together, and the input is better compressed
/// as a whole.
pub(crate) fn compress(
    input: &str,
    host: Kind,
    blocks: &[Block],
    ctx: &Context,
    tokenizer: Tokenizer,
) -> Result<Candidate, Declined> {
    let bodies: Vec<&str> = blocks.iter().map(|b| &input[b.start..b.end]).collect();
    let lines: Vec<String> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| placeholder(n, body))
        .collect();
    let mut host_text = String::with_capacity(input.len() / 2);
    let mut at = 0;
    for (b, line) in blocks.iter().zip(&lines) {
        host_text.push_str(&input[at..b.start]);
        host_text.push_str(line);
        at = b.end;
    }
    host_text.push_str(&input[at..]);

    let store = Restoring {
        inner: ctx.store,
        lines: &lines,
        bodies: &bodies,
    };
    let host_counter = Counter::new(tokenizer, &host_text);
    // Each block the host keeps is compressed on its own once, where that makes it smaller.
    let mut block_outputs: Vec<Option<(String, Vec<String>, bool)>> = vec![None; blocks.len()];
    let mut compress_block = |n: usize| -> (String, Vec<String>, bool) {
        if let Some(done) = &block_outputs[n] {
            return done.clone();
        }
        let body = bodies[n];
        let counter = Counter::new(tokenizer, body);
        // A block shares the document's budget with the text around it: it gets half.
        let block_ctx = Context {
            counter: &counter,
            budget: ctx.budget / 2,
            ..*ctx
        };
        let mut done = (body.to_string(), Vec::new(), false);
        if let Ok(c) = compress_as(blocks[n].kind, blocks[n].language, body, &block_ctx) {
            if c.tokens < counter.input_tokens() {
                let mut replacement = c.output;
                if body.ends_with('\n') && !replacement.ends_with('\n') {
                    replacement.push('\n');
                }
                done = (replacement, c.keys, true);
            }
        }
        block_outputs[n] = Some(done.clone());
        done
    };
    // The host sees each block as one short line, but a block it keeps comes back at its own
    // size: when that takes the whole over the budget, the host is given less and tries again.
    let mut attempt = |host_budget: usize| -> Result<Assembled, Declined> {
        let host_ctx = Context {
            query: ctx.query,
            budget: host_budget,
            counter: &host_counter,
            store: &store,
            namespace: ctx.namespace,
            free_text: ctx.free_text,
            lossless_only: ctx.lossless_only,
        };
        let (host_output, mut keys, details, reason, host_failed) =
            match compress_as(host, None, &host_text, &host_ctx) {
                Ok(c) => (c.output, c.keys, c.text.unwrap_or_default(), c.reason, None),
                Err(why) => (
                    host_text.clone(),
                    Vec::new(),
                    TextDetails::default(),
                    None,
                    Some(why),
                ),
            };
        let mut compressed = 0;
        let mut replacements: Vec<Option<String>> = vec![None; blocks.len()];
        for n in 0..blocks.len() {
            if !host_output.contains(lines[n].as_str()) {
                continue;
            }
            let (replacement, block_keys, shrunk) = compress_block(n);
            keys.extend(block_keys);
            compressed += usize::from(shrunk);
            replacements[n] = Some(replacement);
        }
        let output = put_back(&host_output, &lines, |n| replacements.get(n)?.as_deref());
        if output.contains(MARK) {
            return Err(Declined::other(
                "a block of mixed content could not be put back",
            ));
        }
        match host_failed {
            Some(why) if compressed == 0 => Err(why),
            _ => Ok(Assembled {
                output,
                keys,
                details,
                reason,
                compressed,
                host_failed: host_failed.is_some(),
            }),
        }
    };
    let host_tokens = host_counter.input_tokens();
    let mut host_budget = ctx.budget;
    let mut first: Option<Assembled> = None;
    let mut round = 0;
    let chosen = loop {
        round += 1;
        let a = match attempt(host_budget) {
            Ok(a) => a,
            Err(why) => match first.take() {
                Some(f) => break f,
                None => return Err(why),
            },
        };
        // A retry that shows nothing of the host is worth less than the first try (which the
        // router then holds to the budget as lines).
        if round > 1 && a.details.lines_kept == 0 {
            break first.take().unwrap_or(a);
        }
        let over = ctx.counter.count(&a.output).saturating_sub(ctx.budget);
        // A host that declined because its text (each block one line) fits is given less than
        // its text.
        // Less by most of the overshoot: the host lets go of blocks first, which may bring
        // the whole down by more than they took in its text.
        let next = host_budget
            .min(host_tokens)
            .saturating_sub(over * 3 / 4 + 4);
        let can_retry = over > 0
            && round < 5
            && next >= ctx.budget / 5
            && (!a.host_failed || host_tokens <= host_budget);
        if !can_retry {
            break a;
        }
        first.get_or_insert(a);
        host_budget = next;
    };
    let Assembled {
        output,
        keys,
        mut details,
        reason: host_reason,
        compressed,
        ..
    } = chosen;
    details.groups += blocks.len();
    details
        .dropped
        .insert("blocks compressed on their own".into(), compressed);
    Ok(Candidate {
        tokens: ctx.counter.count(&output),
        output,
        strategy: "sections",
        lossless: false,
        keys,
        json: None,
        text: Some(details),
        reason: host_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ccr::MemoryStore;

    fn run(input: &str, host: Kind, query: &str, budget: usize) -> (Candidate, MemoryStore) {
        crate::context::with_context(input, query, budget, |ctx| {
            let blocks = split(input, host).expect("blocks found");
            compress(input, host, &blocks, ctx, Tokenizer::O200kBase).expect("compressed")
        })
    }

    fn retrieved(output: &str, store: &MemoryStore) -> String {
        crate::ccr::marker_keys(output)
            .iter()
            .map(|k| String::from_utf8(store.get("t", k).unwrap()).unwrap())
            .collect()
    }

    const RUST_BLOCK: &str = "```rust\nuse std::io;\n\npub fn parse(input: &str) -> Result<u32, io::Error> {\n    let trimmed = input.trim();\n    let value = trimmed.parse::<u32>();\n    let checked = value.map_err(|e| io::Error::other(e));\n    let doubled = checked.map(|v| v * 2);\n    doubled\n}\n```\n";

    #[test]
    fn code_in_the_asked_section_is_outlined_and_the_rest_is_stored_whole() {
        let json_rows: String = (0..60)
            .map(|i| format!("  {{\"id\": {i}, \"name\": \"row {i}\", \"state\": \"ok\"}},\n"))
            .collect();
        let doc = format!(
            "# Guide\n\nIntro text that explains what this guide is about and more.\n\n## Parsing\n\nHow parse works, in detail, with an example below.\n\n{RUST_BLOCK}\n## Listing\n\nThe listing returns rows.\n\n```json\n[\n{}  {{\"id\": 60, \"name\": \"row 60\", \"state\": \"ok\"}}\n]\n```\n\nMore about listing.\n",
            json_rows
        );
        let (c, store) = run(&doc, Kind::Prose, "how does parsing work", 100);
        let out = &c.output;
        assert!(
            out.contains("## Parsing") && out.contains("## Listing"),
            "{out}"
        );
        // The asked section's code is outlined by the code compressor, the body stored.
        assert!(out.contains("pub fn parse(input: &str)"), "{out}");
        assert!(!out.contains("let doubled"), "{out}");
        assert!(!out.contains(MARK), "{out}");
        // Everything is retrievable: the body on its own, and every line of the document is
        // shown or stored (the whole document too, when the text around the blocks had to
        // shrink; here it fits, and the router holds the whole to the budget).
        let back = retrieved(out, &store);
        assert!(back.contains("let doubled = checked.map(|v| v * 2);"));
        for line in doc.lines() {
            assert!(
                out.contains(line) || back.contains(line),
                "{line:?} is lost"
            );
        }
    }

    #[test]
    fn a_log_with_a_json_dump_compresses_the_dump_as_json() {
        let mut log = String::new();
        for i in 0..200 {
            log.push_str(&format!(
                "2024-05-01 12:00:{:02},{:03} INFO [main] app.Poller: polled queue depth={}\n",
                i % 60,
                i,
                i % 7
            ));
            if i == 100 {
                log.push_str("2024-05-01 12:01:40,100 ERROR [main] app.Client: bad response:\n");
                log.push_str("{\n  \"items\": [\n");
                let rows: Vec<String> = (0..40)
                    .map(|k| format!("    {{\"id\": {k}, \"status\": \"failed\", \"code\": 503}}"))
                    .collect();
                log.push_str(&rows.join(",\n"));
                log.push_str("\n  ]\n}\n");
            }
        }
        let blocks = split(&log, Kind::Log).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].kind, Kind::Json);
        let (c, store) = run(&log, Kind::Log, "", 100);
        let out = &c.output;
        assert!(out.contains("bad response:"), "{out}");
        // The dump is a table now, not 44 lines of JSON.
        assert!(
            !out.contains("    {\"id\": 7, \"status\": \"failed\""),
            "{out}"
        );
        assert!(out.lines().count() < 60, "{out}");
        assert!(!out.contains(MARK));
        let back = retrieved(out, &store);
        assert!(
            back.contains("polled queue depth="),
            "dropped log lines are stored"
        );
    }

    #[test]
    fn an_entry_with_a_header_gets_its_blocks_back_and_its_kept_lines_renumbered() {
        let bodies = ["b1\nb2\nb3\n"];
        let lines = vec![placeholder(0, bodies[0])];
        let host = format!("h0\n{}h2\nh3\n", lines[0]);
        let inner = MemoryStore::default();
        let store = Restoring {
            inner: &inner,
            lines: &lines,
            bodies: &bodies,
        };
        // The host kept its first line, the placeholder and its last line.
        let header = Header {
            kind: "prose".into(),
            kept: vec![(0, 2), (3, 4)],
            path: None,
        };
        let key = store
            .put("t", &entry::encode(&header, host.as_bytes()))
            .unwrap();
        let bytes = inner.get("t", &key).unwrap();
        let e = entry::decode(&bytes).unwrap();
        assert_eq!(e.original, b"h0\nb1\nb2\nb3\nh2\nh3\n");
        // h0 and h3 stay kept; the block's three lines and h2 are left out.
        assert_eq!(e.header.kept, vec![(0, 1), (5, 6)]);
        assert_eq!(e.header.kind, "prose");
    }

    #[test]
    fn placeholders_are_put_back_in_one_pass() {
        let bodies = ["one\n", "two\n", "three"];
        let lines: Vec<String> = bodies
            .iter()
            .enumerate()
            .map(|(n, b)| placeholder(n, b))
            .collect();
        assert_eq!(block_number("a"), Some(0));
        assert_eq!(block_number("ba"), Some(26));
        assert_eq!(block_number("A"), None);
        let text = format!("x\n{}y\n{}{}", lines[0], lines[1], lines[2]);
        assert_eq!(
            put_back(&text, &lines, |n| bodies.get(n).copied()),
            "x\none\ny\ntwo\nthree"
        );
        // Only the placeholders asked for; a stray mark stays as it is.
        let stray = format!("{MARK}{}", lines[1]);
        assert_eq!(
            put_back(&stray, &lines, |n| (n == 1).then_some("2\n")),
            format!("{MARK}2\n")
        );
    }

    #[test]
    fn short_blocks_text_blocks_and_lone_json_lines_are_not_blocks() {
        let doc = "# T\n\n```\nplain words in a fence\nthat are text\nand more text\nand more\nand more\nand more\nand more\nand more\n```\n\n```rust\nfn a() {}\n```\n";
        assert_eq!(split(doc, Kind::Prose), None);
        let log = "2024-05-01 INFO {\"a\": 1}\n{\"a\": 1, \"b\": 2}\n{\"a\": 3, \"b\": 4}\n[Sun Dec 04] not json\n";
        assert_eq!(split(log, Kind::Log), None);
        assert_eq!(split(&format!("{MARK}{doc}"), Kind::Prose), None);
    }

    #[test]
    fn blocks_that_do_not_parse_or_never_close_are_left_alone() {
        let open = "2024 INFO start\n{\n  \"a\": [1, 2,\n".repeat(100);
        assert_eq!(split(&open, Kind::Log), None);
        let unclosed = format!("# T\n\n{}", RUST_BLOCK.trim_end_matches("```\n"));
        assert_eq!(split(&unclosed, Kind::Prose), None);
    }
}
