#!/usr/bin/env python3
"""Build a ModernBERT-base-sized Kompress model with random weights, for benchmarks (not for tests).

The layout is exactly the tiny Kompress fixture's (tools/make_fixtures.py, whose module definition, weight
perturbation and head calibration are reused): a ModernBertModel encoder (`encoder.*`), a token head
Linear(768, 2) (`token_head.*`) and a span head Conv1d(768, 256, 5, pad 2) -> GELU -> Conv1d(256, 1, 3, pad 1)
(`span_conv.0.*`, `span_conv.2.*`); final_scores = softmax(token_logits)[..., 1] * (0.5 + 0.5 * sigmoid(span)).
Encoder: hidden 768, 22 layers, 12 heads, intermediate 1152, vocab 50368, global attention every 3 layers, local
attention window 128, RoPE theta 160000 (global) / 10000 (local), 8192 positions, norm eps 1e-5, no biases (the
heads keep theirs, as in the fixture). The tokenizer is the fixture's tiny BPE (512 tokens; every id it gives is
inside the 50368 embedding rows): the speed of a forward pass does not depend on it.

Set-up and versions: the same venv as make_fixtures.py (torch, transformers, safetensors, onnx, onnxruntime).

Run from anywhere (about 5 minutes on 2 cores; needs ~6 GB of memory and ~1.5 GB of disk):

    /work/kvenv/bin/python crates/cinch-kompress/tools/make_bench_model.py [OUTPUT_DIR]

OUTPUT_DIR defaults to target/kompress-bench/ at the workspace root (git-ignored). It gets:

  config.json         ModernBertConfig + "architectures": ["KompressModel"] + "kompress": {"span_hidden": 256, ...}
  tokenizer.json      copy of tests/fixtures/tiny-kompress/tokenizer.json
  model.safetensors   f32 state_dict (encoder.*, token_head.*, span_conv.*), ~600 MB
  model.onnx          fp32, inputs input_ids/attention_mask int64 [batch, sequence], output final_scores
                      [batch, sequence]; opset 17, TorchScript exporter (dynamo=False), constant folding
  model.int8.onnx     onnxruntime.quantization.quantize_dynamic of model.onnx: MatMul weights only, QInt8,
                      per channel

Then it checks the fp32 ONNX against torch on a random 512-token input (and a 77-token one) and times one
512-token forward pass in onnxruntime (fp32 and int8, 2 intra-op threads), printing seconds: a Python-side
reference for the Rust back-ends.

Weights come from fixed seeds; the safetensors and config files are the same on every run with the same package
versions.
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# make_fixtures re-executes the running script once with PYTHONHASHSEED=0 (ONNX node order), pins the HF offline
# variables and defines the Kompress module.
import make_fixtures as mf  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import ModernBertConfig  # noqa: E402

WORKSPACE = HERE.parents[2]
DEFAULT_OUT = WORKSPACE / "target" / "kompress-bench"
FIXTURE_TOKENIZER = HERE.parent / "tests" / "fixtures" / "tiny-kompress" / "tokenizer.json"

SEED = 4004
SPAN_HIDDEN = 256
VOCAB = 50368
BENCH_TOKENS = 512
THREADS = 2


def base_config() -> ModernBertConfig:
    """ModernBERT-base's shape, built like make_fixtures.modernbert_config."""
    cfg = ModernBertConfig(
        vocab_size=VOCAB,
        hidden_size=768,
        intermediate_size=1152,
        num_hidden_layers=22,
        num_attention_heads=12,
        global_attn_every_n_layers=3,
        local_attention=128,
        global_rope_theta=160000.0,
        local_rope_theta=10000.0,
        max_position_embeddings=8192,
        num_labels=2,
        pad_token_id=mf.PAD_ID,
        cls_token_id=mf.CLS_ID,
        sep_token_id=mf.SEP_ID,
        bos_token_id=mf.CLS_ID,
        eos_token_id=mf.SEP_ID,
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


def check_config(cfg: ModernBertConfig) -> None:
    """The RoPE thetas must have reached the config (transformers 5 keeps them in rope_parameters)."""
    d = cfg.to_dict()
    rope = d.get("rope_parameters") or {}
    thetas = {k: v.get("rope_theta") for k, v in rope.items()} if rope else {
        "full_attention": d.get("global_rope_theta"),
        "sliding_attention": d.get("local_rope_theta"),
    }
    assert thetas.get("full_attention") == 160000.0, thetas
    assert thetas.get("sliding_attention") == 10000.0, thetas
    assert d["local_attention"] == 128 and d["max_position_embeddings"] == 8192, d


@torch.no_grad()
def build(out: Path, raw: Tokenizer) -> mf.KompressModel:
    """make_fixtures.build_kompress with the base config and a 256-channel span head."""
    g = mf.set_seeds(SEED)
    cfg = base_config()
    check_config(cfg)
    model = mf.KompressModel(cfg, span_hidden=SPAN_HIDDEN).eval()
    mf.perturb(model, g)
    ids, mask = mf.calibration_batch(raw)
    hidden = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    mf.calibrate_classifier(model.token_head, hidden[0], target_std=2.0)
    # span: scale the last conv so the pre-sigmoid output has std ~1.5 and median ~+0.4.
    conv2 = model.span_conv[2]
    z = model.span_conv(hidden.transpose(1, 2)).flatten()
    s = 1.5 / float(z.std())
    conv2.weight.mul_(s)
    conv2.bias.mul_(s)
    z = model.span_conv(hidden.transpose(1, 2)).flatten()
    conv2.bias.add_(0.4 - float(z.median()))
    # shift the token head so that the median final score is ~0.5 (bisection on a logit offset; the encoder's
    # output does not change, so only the heads are rerun).
    span = torch.sigmoid(model.span_conv(hidden.transpose(1, 2)).squeeze(1))

    def median_final() -> float:
        p = torch.softmax(model.token_head(hidden), dim=-1)[..., 1]
        return float((p * (0.5 + 0.5 * span)).median())

    lo, hi = -5.0, 5.0
    base_b1 = model.token_head.bias[1].clone()
    for _ in range(40):
        mid = (lo + hi) / 2
        model.token_head.bias[1] = base_b1 + mid
        if median_final() < 0.5:
            lo = mid
        else:
            hi = mid
    model.token_head.bias[1] = base_b1 + (lo + hi) / 2

    out.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    kompress = {"span_hidden": SPAN_HIDDEN, "span_kernels": [5, 3]}
    cfg_dict = cfg.to_dict()
    cfg_dict["architectures"] = ["KompressModel"]
    cfg_dict["kompress"] = kompress
    cfg2 = ModernBertConfig.from_dict(cfg_dict)
    cfg2.architectures = ["KompressModel"]
    cfg2.kompress = kompress
    cfg2.to_json_file(str(out / "config.json"))
    shutil.copyfile(FIXTURE_TOKENIZER, out / "tokenizer.json")
    return model


def export(model: mf.KompressModel, path: Path) -> None:
    """As make_fixtures.export_onnx; the example input is longer than the local attention window (128) so that
    nothing about the window is traced for a short sequence only."""
    import onnx

    n = 300
    ids = torch.tensor([[mf.CLS_ID] + [10 + (i * 7919) % (VOCAB - 10) for i in range(n - 2)] + [mf.SEP_ID]])
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
    for node in m.graph.node:
        node.doc_string = ""
    m.doc_string = ""
    onnx.save(m, str(path))


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        op_types_to_quantize=["MatMul"],
        per_channel=True,
        weight_type=QuantType.QInt8,
    )


def session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def random_ids(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    body = rng.integers(5, VOCAB, size=n - 2)
    return np.array([[mf.CLS_ID, *body, mf.SEP_ID]], dtype=np.int64)


def time_forward(sess, ids: np.ndarray, runs: int = 3):
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    t0 = time.perf_counter()
    (first,) = sess.run(["final_scores"], feed)
    first_s = time.perf_counter() - t0
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(["final_scores"], feed)
        times.append(time.perf_counter() - t0)
    return first, first_s, float(np.median(times)), times


def mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


def main() -> int:
    out = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_OUT
    torch.set_num_threads(THREADS)
    raw = Tokenizer.from_file(str(FIXTURE_TOKENIZER))

    t0 = time.perf_counter()
    model = build(out, raw)
    print(f"built and calibrated in {time.perf_counter() - t0:.1f} s "
          f"({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters)")
    fp32, int8 = out / "model.onnx", out / "model.int8.onnx"
    t0 = time.perf_counter()
    export(model, fp32)
    print(f"exported model.onnx in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    quantize(fp32, int8)
    print(f"quantized model.int8.onnx in {time.perf_counter() - t0:.1f} s")

    print(f"output: {out}")
    for name in ("config.json", "tokenizer.json", "model.safetensors", "model.onnx", "model.int8.onnx"):
        print(f"  {name:18} {mb(out / name)}")

    ids = random_ids(BENCH_TOKENS, seed=SEED)
    short = random_ids(77, seed=SEED + 1)
    with torch.no_grad():
        want = model(torch.from_numpy(ids), torch.ones(ids.shape, dtype=torch.long))[0].numpy()
        want_short = model(torch.from_numpy(short), torch.ones(short.shape, dtype=torch.long))[0].numpy()

    s32 = session(fp32)
    got, first32, med32, all32 = time_forward(s32, ids)
    diff = float(np.abs(got[0] - want).max())
    (got_short,) = s32.run(["final_scores"], {"input_ids": short, "attention_mask": np.ones_like(short)})
    diff_short = float(np.abs(got_short[0] - want_short).max())
    print(f"ONNX fp32 vs torch, max |diff|: {diff:.3g} ({BENCH_TOKENS} tokens), {diff_short:.3g} (77 tokens)")
    assert diff < 1e-4 and diff_short < 1e-4, "the fp32 export does not match torch"

    s8 = session(int8)
    got8, first8, med8, all8 = time_forward(s8, ids)
    diff8 = float(np.abs(got8[0] - want).max())
    keep_same = float(((got8[0] > 0.5) == (want > 0.5)).mean())
    print(f"ONNX int8 vs torch, max |diff|: {diff8:.3g}; keep decisions (> 0.5) equal: {keep_same:.1%}")

    print(f"onnxruntime, one {BENCH_TOKENS}-token forward pass, {THREADS} intra-op threads "
          f"(first run; median of {len(all32)} after it):")
    print(f"  fp32: {first32:.3f} s; {med32:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in all32)})")
    print(f"  int8: {first8:.3f} s; {med8:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in all8)})")
    with torch.no_grad():
        t = torch.from_numpy(ids)
        m = torch.ones_like(t)
        model(t, m)
        t0 = time.perf_counter()
        model(t, m)
        print(f"  torch fp32 (eager, {THREADS} threads): {time.perf_counter() - t0:.3f} s")
    summary = {
        "tokens": BENCH_TOKENS,
        "threads": THREADS,
        "onnx_fp32_vs_torch_max_abs_diff": diff,
        "onnx_int8_vs_torch_max_abs_diff": diff8,
        "ort_fp32_s": med32,
        "ort_int8_s": med8,
    }
    (out / "reference.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
