//! An ONNX Runtime back-end for Kompress (feature `onnx`): runs a token classifier exported to
//! ONNX, such as the Kompress model's own `model.onnx`, instead of the candle model.
//!
//! # The model directory
//!
//! - `model.onnx` (or another file given to [`OnnxModel::load_file`]): the graph. Its contract,
//!   checked when it loads:
//!   - inputs `input_ids` and `attention_mask`, both int64 of shape `[batch, sequence]`, and no
//!     other input;
//!   - an output `final_scores`, float32 of shape `[batch, sequence]`: the keep score in [0, 1]
//!     of each token (for the Kompress layout, `softmax(token_logits)[..., 1] × (0.5 + 0.5 ×
//!     span)`). Other outputs are allowed and ignored.
//! - `tokenizer.json`: the tokenizer, as for the candle model.
//! - `config.json` (optional): `max_position_embeddings` sets the longest sequence one call takes
//!   (512 when the file or the key is missing) and `vocab_size`, when given, must cover the
//!   tokenizer.
//!
//! Each call runs one sequence: batch 1, `attention_mask` all ones.
//!
//! # The ONNX Runtime library
//!
//! Nothing of ONNX Runtime is linked at build time: the shared library (`libonnxruntime.so.*`,
//! `onnxruntime.dll`, `libonnxruntime.*.dylib`, version 1.24 or newer) is loaded when the first
//! model loads, from the path the caller gives. The library of the PyPI wheel works: after
//! `pip install onnxruntime` it lies at `site-packages/onnxruntime/capi/libonnxruntime.so.*`.
//! A process can load one ONNX Runtime library only: every later [`OnnxModel::load`] must name
//! the same file (links are resolved), or it fails with [`KompressError::Model`]. A path that
//! does not exist is a [`KompressError::Io`]; a file that is not an ONNX Runtime library (no
//! `OrtGetApiBase` export, or a version older than 1.24 where the file tells) is refused before
//! anything is loaded from it. Should loading still fail, the process cannot try another library
//! (the `ort` crate loads once per process): later loads report that first failure.
//!
//! # Threads
//!
//! [`OnnxModel`] is `Send + Sync`. ONNX Runtime's `Run` is called under a lock, so calls on one
//! model from several threads take turns; each call uses the intra-op threads set at load.

use crate::tokenize::{read, Encoded, WordTokenizer};
use crate::{KompressError, TokenScorer};
use ort::session::Session;
use ort::value::{Tensor, TensorElementType, ValueType};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Longest sequence when `config.json` does not say.
const DEFAULT_MAX_TOKENS: usize = 512;

/// The graph's input names, in the order they are fed.
const INPUTS: [&str; 2] = ["input_ids", "attention_mask"];
/// The graph's output name.
const OUTPUT: &str = "final_scores";

/// A token classifier run by ONNX Runtime, with its tokenizer.
pub struct OnnxModel {
    session: Mutex<Session>,
    tokenizer: WordTokenizer,
    max_tokens: usize,
    vocab: usize,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("max_tokens", &self.max_tokens)
            .field("vocab", &self.vocab)
            .finish_non_exhaustive()
    }
}

impl OnnxModel {
    /// Loads `model.onnx`, `tokenizer.json` and (if present) `config.json` from `dir`, with ONNX
    /// Runtime loaded from the shared library at `library` (only the first load of the process
    /// loads it; later ones must name the same file). `threads` is the number of intra-op
    /// threads of one call; 0 lets ONNX Runtime choose (one per physical core).
    pub fn load(dir: &Path, library: &Path, threads: usize) -> Result<Self, KompressError> {
        Self::load_file(dir, &dir.join("model.onnx"), library, threads)
    }

    /// As [`OnnxModel::load`], with the graph taken from `model_path` instead of
    /// `dir/model.onnx` (another export of the same model, such as `model.int8.onnx`);
    /// `tokenizer.json` and `config.json` still come from `dir`.
    pub fn load_file(
        dir: &Path,
        model_path: &Path,
        library: &Path,
        threads: usize,
    ) -> Result<Self, KompressError> {
        let (max_tokens, config_vocab) = read_config(&dir.join("config.json"))?;
        let tokenizer = WordTokenizer::load(&dir.join("tokenizer.json"))?;
        let tokens_known = tokenizer.vocab_size();
        if let Some(vocab) = config_vocab {
            if tokens_known > vocab {
                return Err(KompressError::Mismatch(format!(
                    "the tokenizer knows {tokens_known} tokens, the model only {vocab}"
                )));
            }
        }
        // Checked here, so that a missing file is an I/O error like the other files'.
        std::fs::metadata(model_path)
            .map_err(|e| KompressError::Io(model_path.display().to_string(), e.to_string()))?;
        init_runtime(library)?;
        let weights =
            |e: ort::Error| KompressError::Weights(format!("{}: {e}", model_path.display()));
        let options = |e: ort::Error| KompressError::Model(format!("session options: {e}"));
        let session = Session::builder()
            .map_err(options)?
            .with_intra_threads(threads)
            .map_err(|e| options(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| options(e.into()))?
            .commit_from_file(model_path)
            .map_err(weights)?;
        check_contract(&session)
            .map_err(|e| KompressError::Weights(format!("{}: {e}", model_path.display())))?;
        Ok(OnnxModel {
            session: Mutex::new(session),
            tokenizer,
            max_tokens,
            vocab: config_vocab.unwrap_or(tokens_known),
        })
    }

    fn check(&self, ids: &[u32]) -> Result<(), KompressError> {
        if ids.is_empty() {
            return Err(KompressError::Model("no tokens to run".into()));
        }
        if ids.len() > self.max_tokens {
            return Err(KompressError::Model(format!(
                "{} tokens is more than the model's {} positions",
                ids.len(),
                self.max_tokens
            )));
        }
        if let Some(bad) = ids.iter().find(|&&id| id as usize >= self.vocab) {
            return Err(KompressError::Mismatch(format!(
                "token id {bad} is outside the model's vocabulary of {}",
                self.vocab
            )));
        }
        Ok(())
    }
}

impl TokenScorer for OnnxModel {
    fn encode_words(&self, words: &[&str]) -> Result<Encoded, KompressError> {
        self.tokenizer.encode_words(words)
    }

    fn keep_scores(&self, ids: &[u32]) -> Result<Vec<f32>, KompressError> {
        self.check(ids)?;
        let n = ids.len();
        let shape = [1i64, n as i64];
        let model = |e: ort::Error| KompressError::Model(e.to_string());
        let wide: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        let input_ids = Tensor::from_array((shape, wide)).map_err(model)?;
        let mask = Tensor::from_array((shape, vec![1i64; n])).map_err(model)?;
        // A panic of another caller while it held the lock leaves nothing half-done in the
        // session: the lock only serialises `Run`.
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let outputs = session
            .run(ort::inputs![INPUTS[0] => input_ids, INPUTS[1] => mask])
            .map_err(model)?;
        let scores = outputs
            .get(OUTPUT)
            .ok_or_else(|| KompressError::Model(format!("the model gave no `{OUTPUT}`")))?;
        let (out_shape, values) = scores.try_extract_tensor::<f32>().map_err(model)?;
        if **out_shape != [1, n as i64] {
            return Err(KompressError::Model(format!(
                "`{OUTPUT}` has shape {out_shape:?}, expected [1, {n}]"
            )));
        }
        Ok(values.to_vec())
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }
}

/// `max_position_embeddings` (default 512) and `vocab_size` of `config.json`, if there is one.
fn read_config(path: &Path) -> Result<(usize, Option<usize>), KompressError> {
    if !path.exists() {
        return Ok((DEFAULT_MAX_TOKENS, None));
    }
    let text = read(path)?;
    let config: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| KompressError::Config(e.to_string()))?;
    let number = |key: &str| -> Result<Option<usize>, KompressError> {
        match config.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| Some(n as usize))
                .ok_or_else(|| {
                    KompressError::Config(format!("{key} must be a positive integer, not {v}"))
                }),
        }
    };
    let max_tokens = number("max_position_embeddings")?.unwrap_or(DEFAULT_MAX_TOKENS);
    Ok((max_tokens, number("vocab_size")?))
}

/// What became of the process's one attempt to load ONNX Runtime.
enum Runtime {
    /// Loaded from this file (canonical path).
    Loaded(PathBuf),
    /// Loading from this file failed, for this reason.
    Failed(PathBuf, String),
}

/// The ONNX Runtime library of this process, once a load was tried.
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Oldest ONNX Runtime the `ort` crate takes with the `api-24` feature (1.24).
const MIN_MINOR_VERSION: u32 = 24;

/// Loads the ONNX Runtime library at `library` into the process, or checks that the one loaded
/// before is the same file.
///
/// `ort` keeps the library in a process-wide cell that is set once, and in 2.0.0-rc.13 a failed
/// load leaves that cell marked as set with nothing in it: any later use of `ort` would then
/// panic (or worse). So the file is checked here before `ort` sees it, and once `ort` has
/// failed, every later load is refused with the first failure instead of touching `ort` again.
fn init_runtime(library: &Path) -> Result<(), KompressError> {
    let shown = library.display().to_string();
    let canonical = std::fs::canonicalize(library).map_err(|e| {
        KompressError::Io(
            shown.clone(),
            format!(
                "{e} (the ONNX Runtime shared library; `pip install onnxruntime` provides one at \
                 site-packages/onnxruntime/capi/libonnxruntime.so.*)"
            ),
        )
    })?;
    let mut state = RUNTIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match state.as_ref() {
        Some(Runtime::Loaded(first)) if *first == canonical => Ok(()),
        Some(Runtime::Loaded(first)) => Err(KompressError::Model(format!(
            "ONNX Runtime is already loaded in this process from {}; it cannot also load {shown}",
            first.display()
        ))),
        Some(Runtime::Failed(first, why)) => Err(KompressError::Model(format!(
            "loading ONNX Runtime from {} failed earlier in this process ({why}); it cannot be \
             retried in the same process",
            first.display()
        ))),
        None => {
            looks_like_onnx_runtime(&canonical)?;
            match ort::init_from(&canonical) {
                Ok(builder) => {
                    // `false` only means an environment was configured before (by another
                    // user of `ort` in this process); the default one does as well.
                    let _ = builder.with_name("cinch-kompress").commit();
                    *state = Some(Runtime::Loaded(canonical));
                    Ok(())
                }
                Err(e) => {
                    let why = e.to_string();
                    *state = Some(Runtime::Failed(canonical, why.clone()));
                    Err(KompressError::Model(format!(
                        "cannot load ONNX Runtime from {shown}: {why}"
                    )))
                }
            }
        }
    }
}

/// Refuses, before `ort` sees it, a file that cannot be an ONNX Runtime library this crate can
/// use: not a shared library, no `OrtGetApiBase` export, or (where the library names its version
/// in its symbol versions, as the Linux builds do) older than 1.24.
fn looks_like_onnx_runtime(path: &Path) -> Result<(), KompressError> {
    let bytes = read(path)?;
    let not_it = |why: &str| {
        KompressError::Model(format!(
            "{} is not an ONNX Runtime library ({why}); `pip install onnxruntime` provides one at \
             site-packages/onnxruntime/capi/libonnxruntime.so.*",
            path.display()
        ))
    };
    const MAGICS: [&[u8]; 5] = [
        b"\x7fELF",
        b"MZ",
        &[0xcf, 0xfa, 0xed, 0xfe],
        &[0xce, 0xfa, 0xed, 0xfe],
        &[0xca, 0xfe, 0xba, 0xbe],
    ];
    if !MAGICS.iter().any(|m| bytes.starts_with(m)) {
        return Err(not_it("not a shared library"));
    }
    if find(&bytes, b"OrtGetApiBase", 0).is_none() {
        return Err(not_it("it does not export OrtGetApiBase"));
    }
    let tag = b"VERS_1.";
    let mut newest: Option<u32> = None;
    let mut at = 0;
    while let Some(i) = find(&bytes, tag, at) {
        let digits: String = bytes[i + tag.len()..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| char::from(b))
            .collect();
        if let Ok(minor) = digits.parse::<u32>() {
            newest = Some(newest.map_or(minor, |n| n.max(minor)));
        }
        at = i + tag.len();
    }
    match newest {
        Some(minor) if minor < MIN_MINOR_VERSION => Err(KompressError::Model(format!(
            "{} is ONNX Runtime 1.{minor}; this crate needs 1.{MIN_MINOR_VERSION} or newer \
             (`pip install -U onnxruntime`)",
            path.display()
        ))),
        _ => Ok(()),
    }
}

/// Index of the first `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let mut i = from;
    while i + needle.len() <= hay.len() {
        let next = hay[i..hay.len() + 1 - needle.len()]
            .iter()
            .position(|&b| b == first)?;
        i += next;
        if hay[i..].starts_with(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Checks the graph's inputs and output against the contract in the module docs.
fn check_contract(session: &Session) -> Result<(), String> {
    let rank2 = |ty: &ValueType, want: TensorElementType| match ty {
        ValueType::Tensor { ty, shape, .. } => *ty == want && shape.len() == 2,
        _ => false,
    };
    let inputs = session.inputs();
    for name in INPUTS {
        let outlet = inputs
            .iter()
            .find(|o| o.name() == name)
            .ok_or_else(|| format!("the model has no input `{name}` (it has {})", names(inputs)))?;
        if !rank2(outlet.dtype(), TensorElementType::Int64) {
            return Err(format!(
                "input `{name}` must be an int64 tensor [batch, sequence], not {}",
                outlet.dtype()
            ));
        }
    }
    if let Some(extra) = inputs.iter().find(|o| !INPUTS.contains(&o.name())) {
        return Err(format!(
            "the model wants an input `{}` this back-end does not feed (only {})",
            extra.name(),
            INPUTS.join(", ")
        ));
    }
    let outputs = session.outputs();
    let outlet = outputs.iter().find(|o| o.name() == OUTPUT).ok_or_else(|| {
        format!(
            "the model has no output `{OUTPUT}` (it has {})",
            names(outputs)
        )
    })?;
    if !rank2(outlet.dtype(), TensorElementType::Float32) {
        return Err(format!(
            "output `{OUTPUT}` must be a float32 tensor [batch, sequence], not {}",
            outlet.dtype()
        ));
    }
    Ok(())
}

fn names(outlets: &[ort::value::Outlet]) -> String {
    let names: Vec<String> = outlets.iter().map(|o| format!("`{}`", o.name())).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
