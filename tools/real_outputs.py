#!/usr/bin/env python3
"""Real command outputs through the cinch binary, one row per sample and one per kind.

Every file under crates/cinch-core/tests/samples (captured on a development machine, each with
an anomaly planted in it) is compressed without a query at a budget (default 2 000 tokens), with
a fresh SQLite store. Checked per sample: the output is within the budget; when the input is over
it, at least 40 % of the budget is used; and every line of the input is either in the output or
in what `cinch retrieve` gives back for the output's markers. Which anomaly and which query
answer must be visible is asserted by the per-kind tests (cargo test -p cinch-core --test KIND).

    cargo build --release -p cinch
    python3 tools/real_outputs.py [--cinch target/release/cinch] [--budget 2000] [--samples]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "crates", "cinch-core", "tests", "samples")


def run(cinch, args, data=None):
    p = subprocess.run([cinch] + args, input=data, capture_output=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {p.stderr.decode(errors='replace')}")
    return p.stdout


def measure(cinch, path, budget, store):
    data = open(path, "rb").read()
    report = json.loads(
        run(cinch, ["compress", "--json", "--budget", str(budget), "--store", store, path])
    )
    recovered = set(report["output"].splitlines())
    for key in report["ccr_keys"]:
        recovered.update(run(cinch, ["retrieve", key, "--store", store]).decode().splitlines())
    lines = data.decode().splitlines()
    before, after = report["tokens_before"], report["tokens_after"]
    return {
        "kind": report["kind"],
        "before": before,
        "after": after,
        "held": after <= budget,
        "used": before <= budget or after * 10 >= budget * 4,
        "recoverable": all(line in recovered for line in lines),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cinch", default=os.path.join(ROOT, "target", "release", "cinch"))
    ap.add_argument("--budget", type=int, default=2000)
    ap.add_argument("--samples", action="store_true", help="also print one row per sample")
    args = ap.parse_args()

    files = sorted(
        os.path.join(d, f)
        for d, _, fs in os.walk(SAMPLES)
        for f in fs
        if f != "SOURCES.md"
    )
    kinds = OrderedDict()
    with tempfile.TemporaryDirectory() as tmp:
        store = "sqlite:" + os.path.join(tmp, "ccr.sqlite")
        rows = []
        for path in files:
            m = measure(args.cinch, path, args.budget, store)
            m["name"] = os.path.relpath(path, SAMPLES)
            rows.append(m)
            kinds.setdefault(m["kind"], []).append(m)

    if args.samples:
        print("| sample | kind | tokens before | after | held | used | recoverable |")
        print("|---|---|---:|---:|---|---|---|")
        for m in rows:
            print(
                f"| {m['name']} | {m['kind']} | {m['before']} | {m['after']} | "
                f"{'yes' if m['held'] else 'NO'} | {'yes' if m['used'] else 'NO'} | "
                f"{'yes' if m['recoverable'] else 'NO'} |"
            )
        print()
    print(
        "| kind | samples | tokens before | tokens after | largest output | budget held "
        "| ≥ 40 % used | every line recoverable |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind, ms in sorted(kinds.items()):
        n = len(ms)
        print(
            f"| {kind} | {n} | {sum(m['before'] for m in ms)} | {sum(m['after'] for m in ms)} | "
            f"{max(m['after'] for m in ms)} | {sum(m['held'] for m in ms)}/{n} | "
            f"{sum(m['used'] for m in ms)}/{n} | {sum(m['recoverable'] for m in ms)}/{n} |"
        )
    bad = [m["name"] for m in rows if not (m["held"] and m["used"] and m["recoverable"])]
    if bad:
        print("failed: " + ", ".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
