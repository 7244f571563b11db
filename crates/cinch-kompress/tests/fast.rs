//! The hand-written encoder (`Precision::FastInt8`, `Precision::FastF32`) against the golden
//! outputs of transformers on the tiny random fixtures, and (ignored unless the benchmark model
//! is there) int8 against f32 on the ModernBERT-base-sized benchmark model.

mod support;

use cinch_kompress::{Layout, Model, Precision};
use std::path::{Path, PathBuf};
use support::{fixture, floats, ids_of, worst};

fn golden(dir: &Path) -> serde_json::Value {
    support::golden(&dir.join("golden.json"))
}

#[path = "../benches/support/ids.rs"]
mod ids;
use ids::bench_ids;

/// How many keep decisions (score above 0.5) agree.
fn agreeing(a: &[f32], b: &[f32]) -> usize {
    a.iter()
        .zip(b)
        .filter(|(x, y)| (**x > 0.5) == (**y > 0.5))
        .count()
}

#[test]
fn fast_f32_matches_transformers_on_the_kompress_fixture() {
    let dir = fixture("tiny-kompress");
    let model = Model::load(&dir, Precision::FastF32).unwrap();
    assert_eq!(model.layout(), Layout::Kompress);
    for (n, case) in golden(&dir)["cases"].as_array().unwrap().iter().enumerate() {
        let ids = ids_of(&case["input_ids"]);
        let scores = model.score(&ids).unwrap();
        let d = worst(&scores.logits.concat(), &floats(&case["token_logits"]));
        assert!(d <= 1e-4, "case {n} logits: {d}");
        let d = worst(&scores.keep, &floats(&case["final_scores"]));
        assert!(d <= 1e-4, "case {n} scores: {d}");
        if let Some(hidden) = case.get("last_hidden_state") {
            let ours = model.hidden_states(&ids).unwrap().concat();
            let d = worst(&ours, &floats(hidden));
            assert!(d <= 1e-4, "case {n} hidden: {d}");
        }
    }
}

#[test]
fn fast_f32_matches_transformers_on_the_token_classifier_fixture() {
    let dir = fixture("tiny-modernbert-tokcls");
    let model = Model::load(&dir, Precision::FastF32).unwrap();
    assert_eq!(model.layout(), Layout::ModernBertTokenClassifier);
    for (n, case) in golden(&dir)["cases"].as_array().unwrap().iter().enumerate() {
        let ids = ids_of(&case["input_ids"]);
        let scores = model.score(&ids).unwrap();
        let d = worst(&scores.logits.concat(), &floats(&case["logits"]));
        assert!(d <= 1e-4, "case {n} logits: {d}");
        let d = worst(&scores.keep, &floats(&case["p_keep"]));
        assert!(d <= 1e-4, "case {n} p(keep): {d}");
    }
}

#[test]
fn fast_int8_stays_close_to_transformers() {
    let dir = fixture("tiny-kompress");
    let model = Model::load(&dir, Precision::FastInt8).unwrap();
    let exact = Model::load(&dir, Precision::F32).unwrap();
    for (n, case) in golden(&dir)["cases"].as_array().unwrap().iter().enumerate() {
        let ids = ids_of(&case["input_ids"]);
        let ours = model.score(&ids).unwrap().keep;
        let theirs = floats(&case["final_scores"]);
        let d = worst(&ours, &theirs);
        assert!(d < 0.05, "case {n}: int8 scores drift by {d}");
        let agree = agreeing(&ours, &theirs);
        assert!(
            agree * 100 >= ours.len() * 95,
            "case {n}: {agree} of {} keep decisions agree",
            ours.len()
        );
        let hidden = model.hidden_states(&ids).unwrap().concat();
        let reference = exact.hidden_states(&ids).unwrap().concat();
        let d = worst(&hidden, &reference);
        assert!(d < 0.25, "case {n}: int8 hidden states drift by {d}");
    }
}

#[test]
fn fast_int8_scores_the_token_classifier_fixture() {
    let dir = fixture("tiny-modernbert-tokcls");
    let model = Model::load(&dir, Precision::FastInt8).unwrap();
    for (n, case) in golden(&dir)["cases"].as_array().unwrap().iter().enumerate() {
        let ids = ids_of(&case["input_ids"]);
        let ours = model.score(&ids).unwrap().keep;
        let d = worst(&ours, &floats(&case["p_keep"]));
        assert!(d < 0.05, "case {n}: int8 p(keep) drifts by {d}");
    }
}

/// Short sequences, shorter and longer than the sliding window (16) and the query blocks
/// (32), and a long one: the hand-written f32 path agrees with candle's.
#[test]
fn fast_f32_matches_candle_on_any_length() {
    let dir = fixture("tiny-kompress");
    let fast = Model::load(&dir, Precision::FastF32).unwrap();
    let candle = Model::load(&dir, Precision::F32).unwrap();
    for n in [1, 2, 7, 9, 17, 31, 33, 65, 200, 512] {
        let ids: Vec<u32> = (0..n).map(|i| (i * 37 % 500 + 5) as u32).collect();
        let a = fast.score(&ids).unwrap();
        let b = candle.score(&ids).unwrap();
        let d = worst(&a.keep, &b.keep);
        assert!(d <= 1e-4, "{n} tokens: scores differ by {d}");
        let d = worst(&a.span.unwrap(), &b.span.unwrap());
        assert!(d <= 1e-4, "{n} tokens: span differs by {d}");
        let d = worst(
            &fast.hidden_states(&ids).unwrap().concat(),
            &candle.hidden_states(&ids).unwrap().concat(),
        );
        assert!(d <= 1e-4, "{n} tokens: hidden states differ by {d}");
    }
    assert!(fast.score(&[]).is_err());
    assert!(fast.score(&vec![5; 513]).is_err());
    assert!(fast.score(&[600]).is_err());
}

#[test]
fn fast_precisions_fall_back_to_candle_for_bert() {
    let dir = fixture("tiny-bert-tokcls");
    let exact = Model::load(&dir, Precision::F32).unwrap();
    let fast = Model::load(&dir, Precision::FastF32).unwrap();
    let ids = ids_of(&golden(&dir)["cases"][0]["input_ids"]);
    assert_eq!(
        exact.score(&ids).unwrap().keep,
        fast.score(&ids).unwrap().keep
    );
    let int8 = Model::load(&dir, Precision::FastInt8).unwrap();
    assert!(int8.score(&ids).is_ok());
}

/// `cargo test --release -p cinch-kompress --test fast -- --ignored --nocapture`, with the
/// benchmark model from `tools/make_bench_model.py` in `target/kompress-bench` (or
/// `CINCH_KOMPRESS_BENCH_DIR`).
#[test]
#[ignore = "needs the 600 MB benchmark model"]
fn fast_int8_tracks_f32_on_the_bench_model() {
    let dir = std::env::var_os("CINCH_KOMPRESS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/kompress-bench")
        });
    let ids = bench_ids(50368, 512);
    let reference = Model::load(&dir, Precision::F32)
        .unwrap()
        .score(&ids)
        .unwrap();
    let mut results = Vec::new();
    for precision in [Precision::FastF32, Precision::FastInt8, Precision::Int8] {
        let ours = Model::load(&dir, precision).unwrap().score(&ids).unwrap();
        let d = worst(&ours.keep, &reference.keep);
        let agree = agreeing(&ours.keep, &reference.keep);
        let mean = ours
            .keep
            .iter()
            .zip(&reference.keep)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / ids.len() as f32;
        eprintln!(
            "{precision:?} vs candle f32: max |score diff| {d:.5}, mean {mean:.5}, \
             keep decisions agree on {agree} of {}",
            ids.len()
        );
        results.push((precision, d, agree));
    }
    #[cfg(feature = "onnx")]
    if let Some(lib) = std::env::var_os("ORT_DYLIB_PATH") {
        use cinch_kompress::TokenScorer;
        for file in ["model.onnx", "model.int8.onnx"] {
            let ort = cinch_kompress::onnx::OnnxModel::load_file(
                &dir,
                &dir.join(file),
                Path::new(&lib),
                2,
            )
            .unwrap();
            let keep = ort.keep_scores(&ids).unwrap();
            eprintln!(
                "ONNX Runtime {file} vs candle f32: max |score diff| {:.5}, mean {:.5}, \
                 keep decisions agree on {} of {}",
                worst(&keep, &reference.keep),
                keep.iter()
                    .zip(&reference.keep)
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f32>()
                    / ids.len() as f32,
                agreeing(&keep, &reference.keep),
                ids.len()
            );
        }
    }
    // int8 noise grows through 22 layers of random weights: ONNX Runtime's dynamic int8
    // export of this model drifts from torch by 0.35 at most (`reference.json`).
    for (precision, d, agree) in results {
        let (bound, agreement) = match precision {
            Precision::FastF32 => (1e-3, 100),
            _ => (0.5, 90),
        };
        assert!(d < bound, "{precision:?}: {d}");
        assert!(
            agree * 100 >= ids.len() * agreement,
            "{precision:?}: {agree}"
        );
    }
}
