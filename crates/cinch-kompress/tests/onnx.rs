//! The ONNX Runtime back-end (feature `onnx`) on the tiny Kompress fixture: the tokenizer gives
//! the golden ids, ONNX Runtime the golden `final_scores` (written by torch, see
//! `tools/make_fixtures.py`) and the same scores as the candle model; broken files, a wrong
//! graph and a wrong library are clear errors.
//!
//! These tests need the ONNX Runtime shared library (1.24 or newer) and fail without it:
//!
//! ```text
//! pip install onnxruntime
//! export ORT_DYLIB_PATH=$(python -c 'import onnxruntime, glob, os; \
//!     print(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__), "capi/libonnxruntime.so.*"))[0])')
//! cargo test -p cinch-kompress --features onnx
//! ```
#![cfg(feature = "onnx")]

use cinch_kompress::onnx::OnnxModel;
use cinch_kompress::{Kompress, KompressError, Model, Precision, TokenScorer};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const TOLERANCE: f32 = 1e-4;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-kompress")
}

/// The ONNX Runtime library named by `ORT_DYLIB_PATH`; the test fails when it is not set.
fn library() -> PathBuf {
    match std::env::var_os("ORT_DYLIB_PATH") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "ORT_DYLIB_PATH is not set: these tests need the ONNX Runtime shared library (1.24 or \
             newer). Get it with `pip install onnxruntime` and point ORT_DYLIB_PATH at \
             <site-packages>/onnxruntime/capi/libonnxruntime.so.* (e.g. \
             /work/kvenv/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0)"
        ),
    }
}

fn load(dir: &Path) -> Result<OnnxModel, KompressError> {
    OnnxModel::load(dir, &library(), 1)
}

struct Case {
    words: Vec<String>,
    ids: Vec<u32>,
    final_scores: Vec<f32>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture().join("golden.json")).unwrap();
    let golden: Value = serde_json::from_str(&text).unwrap();
    golden["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            words: c["words"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().to_string())
                .collect(),
            ids: c["input_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect(),
            final_scores: c["final_scores"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect(),
        })
        .collect()
}

fn worst_diff(what: &str, ours: &[f32], theirs: &[f32]) -> f32 {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths differ");
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max)
}

/// A copy of the fixture directory to break things in.
fn copy_fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["model.onnx", "tokenizer.json", "config.json"] {
        std::fs::copy(fixture().join(name), tmp.path().join(name)).unwrap();
    }
    tmp
}

/// Replaces every occurrence of `from` in `path` by `to` (same length, so the protobuf stays
/// well-formed): renames a graph input or output everywhere it is used.
fn rename_in_file(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).unwrap();
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from.as_bytes() {
            bytes[i..i + from.len()].copy_from_slice(to.as_bytes());
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found > 0, "{from} is not in {}", path.display());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn onnx_runtime_matches_the_golden_scores_and_ids() {
    let model = load(&fixture()).unwrap();
    assert_eq!(model.max_tokens(), 512);
    for (n, case) in cases().iter().enumerate() {
        let words: Vec<&str> = case.words.iter().map(String::as_str).collect();
        let encoded = model.encode_words(&words).unwrap();
        assert_eq!(encoded.ids, case.ids, "case {n}: ids");
        let scores = model.keep_scores(&encoded.ids).unwrap();
        let worst = worst_diff(&format!("case {n}"), &scores, &case.final_scores);
        assert!(worst <= TOLERANCE, "case {n}: max |diff| {worst} vs torch");
    }
}

#[test]
fn onnx_runtime_and_candle_agree() {
    let ort = load(&fixture()).unwrap();
    let candle = Model::load(&fixture(), Precision::F32).unwrap();
    for (n, case) in cases().iter().enumerate() {
        let ours = ort.keep_scores(&case.ids).unwrap();
        let theirs = candle.score(&case.ids).unwrap().keep;
        let worst = worst_diff(&format!("case {n}"), &ours, &theirs);
        assert!(worst <= TOLERANCE, "case {n}: max |diff| {worst} vs candle");
    }
}

#[test]
fn kompress_over_onnx_runtime_compresses_like_candle() {
    let text = cases()[1].words.join(" ");
    let ort = Kompress::new(Box::new(load(&fixture()).unwrap()));
    let candle = Kompress::load(&fixture(), Precision::F32).unwrap();
    let a = ort.compress(&text).unwrap();
    let b = candle.compress(&text).unwrap();
    assert!(a.kept < a.words, "the model dropped nothing");
    assert_eq!(a, b);
}

#[test]
fn load_file_takes_the_graph_from_another_file() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("model.other.onnx");
    std::fs::copy(fixture().join("model.onnx"), &other).unwrap();
    let model = OnnxModel::load_file(&fixture(), &other, &library(), 2).unwrap();
    let case = &cases()[2];
    let worst = worst_diff(
        "load_file",
        &model.keep_scores(&case.ids).unwrap(),
        &case.final_scores,
    );
    assert!(worst <= TOLERANCE, "max |diff| {worst}");
    let err =
        OnnxModel::load_file(&fixture(), &tmp.path().join("nope.onnx"), &library(), 2).unwrap_err();
    assert!(matches!(err, KompressError::Io(..)), "{err:?}");
}

#[test]
fn one_model_serves_several_threads() {
    let model = Arc::new(load(&fixture()).unwrap());
    let cases = Arc::new(cases());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let model = Arc::clone(&model);
            let cases = Arc::clone(&cases);
            std::thread::spawn(move || {
                for round in 0..3 {
                    let case = &cases[(t + round) % cases.len()];
                    let scores = model.keep_scores(&case.ids).unwrap();
                    let worst = worst_diff("thread", &scores, &case.final_scores);
                    assert!(worst <= TOLERANCE, "thread {t}: max |diff| {worst}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn sequences_the_model_cannot_take_are_refused() {
    let model = load(&fixture()).unwrap();
    assert!(matches!(
        model.keep_scores(&[]),
        Err(KompressError::Model(_))
    ));
    assert!(matches!(
        model.keep_scores(&vec![5; 513]),
        Err(KompressError::Model(_))
    ));
    assert!(matches!(
        model.keep_scores(&[2, 100_000, 3]),
        Err(KompressError::Mismatch(_))
    ));
}

#[test]
fn the_longest_sequence_comes_from_config_json_or_defaults_to_512() {
    let tmp = copy_fixture();
    let config_path = tmp.path().join("config.json");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    config["max_position_embeddings"] = 64.into();
    std::fs::write(&config_path, config.to_string()).unwrap();
    let model = load(tmp.path()).unwrap();
    assert_eq!(model.max_tokens(), 64);
    assert_eq!(model.keep_scores(&[5; 64]).unwrap().len(), 64);
    assert!(model.keep_scores(&[5; 65]).is_err());

    std::fs::remove_file(&config_path).unwrap();
    assert_eq!(load(tmp.path()).unwrap().max_tokens(), 512);

    std::fs::write(&config_path, "{not json").unwrap();
    assert!(matches!(load(tmp.path()), Err(KompressError::Config(_))));
}

#[test]
fn a_corrupt_or_missing_onnx_file_is_an_error() {
    let tmp = copy_fixture();
    let path = tmp.path().join("model.onnx");
    let good = std::fs::read(&path).unwrap();

    std::fs::write(&path, b"this is not an ONNX model").unwrap();
    let err = load(tmp.path()).unwrap_err();
    assert!(matches!(err, KompressError::Weights(_)), "{err:?}");

    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let err = load(tmp.path()).unwrap_err();
    assert!(matches!(err, KompressError::Weights(_)), "{err:?}");

    std::fs::write(&path, b"").unwrap();
    let err = load(tmp.path()).unwrap_err();
    assert!(matches!(err, KompressError::Weights(_)), "{err:?}");

    std::fs::remove_file(&path).unwrap();
    let err = load(tmp.path()).unwrap_err();
    assert!(matches!(err, KompressError::Io(..)), "{err:?}");
}

#[test]
fn a_graph_with_other_inputs_or_outputs_is_refused_at_load() {
    let tmp = copy_fixture();
    let path = tmp.path().join("model.onnx");
    let good = std::fs::read(&path).unwrap();

    rename_in_file(&path, "final_scores", "final_scorez");
    let err = load(tmp.path()).unwrap_err();
    assert!(
        matches!(&err, KompressError::Weights(m) if m.contains("no output `final_scores`")),
        "{err:?}"
    );

    std::fs::write(&path, &good).unwrap();
    rename_in_file(&path, "attention_mask", "attention_masq");
    let err = load(tmp.path()).unwrap_err();
    assert!(
        matches!(&err, KompressError::Weights(m) if m.contains("no input `attention_mask`")),
        "{err:?}"
    );
}

#[test]
fn a_missing_library_is_an_error() {
    let err = OnnxModel::load(
        &fixture(),
        Path::new("/nonexistent/onnxruntime/libonnxruntime.so.1.32.0"),
        1,
    )
    .unwrap_err();
    match err {
        KompressError::Io(path, why) => {
            assert!(path.contains("/nonexistent/"), "{path}");
            assert!(why.contains("pip install onnxruntime"), "{why}");
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn a_second_library_in_the_same_process_is_an_error() {
    load(&fixture()).unwrap();
    // Any other existing file: the library of the first load stays, so this must be refused
    // before anything is loaded from it.
    let other = fixture().join("tokenizer.json");
    let err = OnnxModel::load(&fixture(), &other, 1).unwrap_err();
    assert!(
        matches!(&err, KompressError::Model(m) if m.contains("already loaded")),
        "{err:?}"
    );
    // The first library still serves new models.
    load(&fixture()).unwrap();
}

/// Set in the child process of [`a_failed_library_load_is_reported_again_not_a_panic`].
const CHILD: &str = "CINCH_KOMPRESS_ORT_CHILD";

#[test]
fn a_failed_library_load_is_reported_again_not_a_panic() {
    // A failed load cannot be undone within a process, so this runs in a process of its own.
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "failed_library_load_child",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("ORT_DYLIB_PATH", library())
        .status()
        .unwrap();
    assert!(status.success(), "the child process failed: {status}");
}

#[test]
#[ignore = "run by a_failed_library_load_is_reported_again_not_a_panic in a process of its own"]
fn failed_library_load_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // An ONNX Runtime too old for this crate, as its symbol versions tell: refused before
    // anything is loaded.
    let old = tmp.path().join("libonnxruntime.so.1.16.0");
    std::fs::write(&old, b"\x7fELF....OrtGetApiBase....VERS_1.16.0....").unwrap();
    let err = OnnxModel::load(&fixture(), &old, 1).unwrap_err();
    assert!(
        matches!(&err, KompressError::Model(m) if m.contains("1.16")),
        "{err:?}"
    );
    // Looks like one but does not load.
    let broken = tmp.path().join("libonnxruntime.so.1.32.0");
    std::fs::write(&broken, b"\x7fELF....OrtGetApiBase....VERS_1.32.0....").unwrap();
    let err = OnnxModel::load(&fixture(), &broken, 1).unwrap_err();
    assert!(
        matches!(&err, KompressError::Model(m) if m.contains("cannot load ONNX Runtime")),
        "{err:?}"
    );
    // The right library now: refused with the first failure, without a panic.
    let err = load(&fixture()).unwrap_err();
    assert!(
        matches!(&err, KompressError::Model(m) if m.contains("failed earlier")),
        "{err:?}"
    );
}
