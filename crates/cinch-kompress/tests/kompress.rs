//! Kompress as the router uses it, with the tiny random Kompress model: what stays, what goes
//! to the store, and what happens with bad models and bad text.

use cinch_core::ccr::{marker_keys, MemoryStore, Store};
use cinch_core::{compress, FreeText, Kind, Options, Report};
use cinch_kompress::{Kompress, KompressError, Precision, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn kompress() -> Kompress {
    Kompress::load(&fixture("tiny-kompress"), Precision::F32).unwrap()
}

fn run(text: &str, free_text: FreeText) -> (Report, MemoryStore) {
    let store = MemoryStore::default();
    let opts = Options {
        kind: Some(Kind::Prose),
        free_text,
        ..Options::default()
    };
    (compress(text, &opts, &store), store)
}

const DOC: &str = "# Deploying the service

The service reads its settings from the environment when it starts, and it will refuse to \
start when a required setting is missing or malformed, which is what most people run into \
the first time they try to deploy it on a fresh machine without reading this page.

- Set DATABASE_URL to the address of the database, for example postgres://db:5432/app.
- Pass --workers 4 on machines with more than two cores so that requests are served in parallel.
- The configuration file lives at /etc/app/config.toml and is read once at start-up.

```sh
app migrate --to latest
app serve --port 8080
```

When the service is up, it answers on the health endpoint with a short message that says \
which version is running and how long it has been up; the <b>version</b> string looks like \
v2.3.1 and the uptime is given in seconds since the process started.
";

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[test]
fn kompress_drops_words_keeps_facts_and_structure_and_stores_the_original() {
    let (report, store) = run(DOC, FreeText::Model(Arc::new(kompress())));
    assert_eq!(report.strategy, "kompress", "{:?}", report.reason);
    assert!(report.tokens_after < report.tokens_before);
    let out = &report.output;
    // Facts and protected parts stay, byte for byte.
    for fact in [
        "DATABASE_URL",
        "postgres://db:5432/app.",
        "--workers",
        "4",
        "/etc/app/config.toml",
        "v2.3.1",
        "<b>version</b>",
        "```sh\napp migrate --to latest\napp serve --port 8080\n```\n",
        "# ",
        "\n- ",
    ] {
        assert!(out.contains(fact), "{fact:?} is missing from\n{out}");
    }
    // What stays is the original's words, in order.
    let body = out.rsplit_once("<<ccr:").unwrap().0;
    let original = words(DOC);
    let mut at = 0;
    for w in words(body) {
        at += original[at..]
            .iter()
            .position(|o| *o == w)
            .unwrap_or_else(|| panic!("{w:?} is not next in the original"));
        at += 1;
    }
    assert!(words(body).len() < original.len(), "some word was dropped");
    // The marker's key gives back the original.
    let keys = marker_keys(out);
    assert_eq!(keys.len(), 1);
    assert_eq!(store.get("default", &keys[0]).unwrap(), DOC.as_bytes());
    let dropped = report.text.as_ref().unwrap().dropped["words"];
    assert_eq!(dropped, original.len() - words(body).len());
}

#[test]
fn the_same_text_compresses_to_the_same_bytes() {
    let k: Arc<Kompress> = Arc::new(kompress());
    let a = run(DOC, FreeText::Model(k.clone())).0.output;
    let b = run(DOC, FreeText::Model(k)).0.output;
    assert_eq!(a, b);
}

#[test]
fn a_target_ratio_keeps_about_that_share() {
    let k = kompress().with_settings(Settings {
        target_ratio: Some(0.3),
        ..Settings::default()
    });
    let text = "word ".repeat(20) + &"other words in a sentence that goes on ".repeat(20);
    let c = k.compress(&text).unwrap();
    let share = c.kept as f32 / c.words as f32;
    assert!(
        (0.25..=0.4).contains(&share),
        "kept {} of {}",
        c.kept,
        c.words
    );
}

#[test]
fn a_missed_deadline_or_a_busy_model_falls_back_to_the_deterministic_compressor() {
    let slow = kompress().with_deadline(Duration::ZERO);
    let (report, _) = run(DOC, FreeText::Model(Arc::new(slow)));
    assert_ne!(report.strategy, "kompress");
    let reason = report.reason.unwrap();
    assert!(reason.contains("deadline"), "{reason}");
    assert!(
        reason.contains("deterministic prose compressor"),
        "{reason}"
    );
}

#[test]
fn too_little_text_is_not_given_to_the_model() {
    assert_eq!(
        kompress().compress("three short words").unwrap_err(),
        KompressError::TooShort(3)
    );
    assert_eq!(
        kompress().compress(" \n\t ").unwrap_err(),
        KompressError::TooShort(0)
    );
    let (report, _) = run("", FreeText::Model(Arc::new(kompress())));
    assert_eq!(report.output, "");
}

#[test]
fn mixed_scripts_and_emoji_survive() {
    let text = "naïve café 東京 😀 résumé — the team met in Zürich and 北京 to discuss the \
                rollout 🚀 of the new search index, which was faster than the old one. "
        .repeat(5);
    let k = kompress();
    let c = k.compress(&text).unwrap();
    for w in words(&c.text) {
        assert!(text.contains(w), "{w:?} was not in the input");
    }
    assert!(c.kept <= c.words);
}

#[test]
fn a_long_word_run_is_split_into_chunks_the_model_takes() {
    // 1 000 words of many tokens each: a 350-word chunk is far over 512 tokens, so chunks are
    // halved until they fit; every word is still judged or kept.
    let text = "antidisestablishmentarianism 0xDEADBEEF supercalifragilistic ".repeat(333);
    let c = kompress().compress(&text).unwrap();
    assert_eq!(c.words, 999);
    assert!(c.text.matches("0xDEADBEEF").count() == 333, "facts stay");
    // One word longer than a whole chunk is kept as it is.
    let huge = format!(
        "{} and then some ordinary words to fill the text up",
        "ab".repeat(2000)
    );
    let c = kompress().compress(&huge).unwrap();
    assert!(c.text.contains(&"ab".repeat(2000)));
    assert_eq!(c.unscored, 1);
}

#[test]
fn a_five_megabyte_paragraph_falls_back_within_the_deadline() {
    let sentence = "the quick brown fox jumps over the lazy dog while the cat watches ";
    let text = sentence.repeat(5 * 1024 * 1024 / sentence.len());
    let k = kompress().with_deadline(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let (report, _) = run(&text, FreeText::Model(Arc::new(k)));
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_ne!(report.strategy, "kompress");
    let reason = report.reason.unwrap();
    assert!(reason.contains("deadline"), "{reason}");
    assert!(report.output.len() <= text.len());
}

fn copy_fixture(to: &Path) {
    for f in ["config.json", "model.safetensors", "tokenizer.json"] {
        std::fs::copy(fixture("tiny-kompress").join(f), to.join(f)).unwrap();
    }
}

#[test]
fn bad_model_directories_are_clear_errors() {
    let err = |dir: &Path| Kompress::load(dir, Precision::F32).unwrap_err().to_string();
    assert!(err(Path::new("/no/such/model")).contains("cannot read /no/such/model/config.json"));

    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    std::fs::write(
        dir.path().join("model.safetensors"),
        b"not safetensors at all",
    )
    .unwrap();
    assert!(
        err(dir.path()).starts_with("weights:"),
        "{}",
        err(dir.path())
    );

    copy_fixture(dir.path());
    let weights = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    assert!(
        err(dir.path()).starts_with("weights:"),
        "{}",
        err(dir.path())
    );

    copy_fixture(dir.path());
    std::fs::write(dir.path().join("tokenizer.json"), b"{\"version\": ").unwrap();
    assert!(
        err(dir.path()).starts_with("tokenizer:"),
        "{}",
        err(dir.path())
    );

    copy_fixture(dir.path());
    std::fs::write(
        dir.path().join("config.json"),
        b"{\"model_type\": \"modernbert\"}",
    )
    .unwrap();
    assert!(
        err(dir.path()).contains("missing field"),
        "{}",
        err(dir.path())
    );

    // A config whose shape is not the weights' shape.
    copy_fixture(dir.path());
    let config = std::fs::read_to_string(dir.path().join("config.json")).unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        config.replace("\"intermediate_size\": 96", "\"intermediate_size\": 128"),
    )
    .unwrap();
    assert!(
        err(dir.path()).starts_with("weights:"),
        "{}",
        err(dir.path())
    );

    // The BERT fixture's WordPiece tokenizer knows fewer tokens, but the BPE one more than a
    // model with a 500-token vocabulary.
    copy_fixture(dir.path());
    std::fs::write(
        dir.path().join("config.json"),
        config.replace("\"vocab_size\": 512", "\"vocab_size\": 500"),
    )
    .unwrap();
    assert!(
        err(dir.path()).contains("does not match the model"),
        "{}",
        err(dir.path())
    );

    // An encoder without a head cannot score.
    let minilm_like = fixture("tiny-bert-tokcls");
    let dir2 = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(minilm_like.join(f), dir2.path().join(f)).unwrap();
    }
    let tensors = candle_core::safetensors::load(
        minilm_like.join("model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let encoder: std::collections::HashMap<String, candle_core::Tensor> = tensors
        .into_iter()
        .filter(|(k, _)| !k.starts_with("classifier"))
        .map(|(k, v)| (k.trim_start_matches("bert.").to_string(), v))
        .collect();
    candle_core::safetensors::save(&encoder, dir2.path().join("model.safetensors")).unwrap();
    assert!(
        err(dir2.path()).contains("no token-classification head"),
        "{}",
        err(dir2.path())
    );
}

#[test]
fn a_model_that_does_not_load_leaves_the_reason_in_the_report() {
    let why = "the Kompress model in /x did not load: cannot read /x/config.json".to_string();
    let (report, _) = run(DOC, FreeText::Unavailable(why.clone()));
    assert_ne!(report.strategy, "kompress");
    let reason = report.reason.unwrap();
    assert!(reason.starts_with(&why), "{reason}");
}
