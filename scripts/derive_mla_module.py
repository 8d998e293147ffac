#!/usr/bin/env python3
"""Derive the measured MLA decode module tables (`models/kernels/<gpu>.mla-module.json`).

Source: NVIDIA's `aiconfigurator-core` wheel on PyPI (Apache-2.0),
`systems/data/<gpu>/mla/<engine>/<version>/mla_generation_module_perf.parquet`: the latency of
one DeepSeek-V3 MLA attention module in decode (query / KV down-projections, their norms and
up-projections, RoPE, the latent attention over the paged KV cache, the output projection) as
the engine runs it, per attention heads on the GPU (128 / TP), batch (sequences), context
(`step`, the KV length), weight GEMM type (BF16 or 128 x 128 block-scaled FP8) and KV-cache
dtype. It is the measured time of the whole block, where pdplan otherwise adds its kernels one
by one (five GEMMs with a launch each, the attention kernel): on H200 with TensorRT-LLM at 16
heads, 16 sequences and a 2,048-4,096 context the module takes 69-78 us, the kernel sum 98 us.

Usage (CI never runs this; the output is committed):

    pip download --no-deps aiconfigurator-core==0.12.0 -d /tmp/aic
    unzip -q /tmp/aic/aiconfigurator_core-*.whl -d /tmp/aic/x
    pip install pandas pyarrow
    python3 scripts/derive_mla_module.py /tmp/aic/x/aiconfigurator_core/systems models/kernels

One file per GPU with a kernel profile (a file of its own, parsed only by tasks of an MLA model
with these dimensions, so other solves do not pay for it): per engine with a table, the grid
(`heads`, `batch`, `context`) and one table per `<gemm type>/<kv dtype>` (`bf16/bf16`,
`bf16/fp8`, `fp8_block/bf16`, `fp8_block/fp8`) of latencies in microseconds, `null` where the
table has no row (the largest contexts at batch 512 and 1,024, which do not fit in memory). The
numbers are the table's own (one row per grid point), not fitted.
"""
import glob
import json
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from derive_kernel_params import GPUS, PACKAGE, dumps  # noqa: E402

ENGINES = {"TRTLLM": "trtllm", "VLLM": "vllm", "SGLANG": "sglang"}
GEMM = {"bfloat16": "bf16", "fp8_block": "fp8_block"}
KV = {"bfloat16": "bf16", "fp8": "fp8"}


def table(path, data):
    d = pd.read_parquet(path)
    assert set(d.model) == {"deepseek-ai/DeepSeek-V3"}, set(d.model)
    heads = sorted(int(h) for h in d.num_heads.unique())
    batch = sorted(int(b) for b in d.batch_size.unique())
    context = sorted(int(s) for s in d.step.unique())
    tables = {}
    for (g, kv), rows in d.groupby(["gemm_type", "kv_cache_dtype"]):
        if g not in GEMM or kv not in KV:
            continue
        at = {(int(r.num_heads), int(r.batch_size), int(r.step)): float(r.latency) for r in rows.itertuples()}
        tables[f"{GEMM[g]}/{KV[kv]}"] = [
            [[round(at[(h, b, s)] * 1e3, 1) if (h, b, s) in at else None for s in context] for b in batch]
            for h in heads
        ]
    rel = os.path.relpath(path, data)
    return {
        "source": f"{PACKAGE}: {rel.replace(os.sep, '/')}, DeepSeek-V3 MLA (hidden 7168, q_lora 1536, "
        "kv_lora 512, rope 64, nope 128, v 128), whole decode module per layer, "
        f"{len(d)} measurements",
        "heads": heads,
        "batch": batch,
        "context": context,
        "latency_us": tables,
    }


def main():
    systems, out = sys.argv[1], sys.argv[2]
    data = os.path.join(systems, "data")
    for gpu, name in GPUS.items():
        if not os.path.exists(os.path.join(out, f"{name.lower()}.json")):
            continue
        engines = {}
        for path in sorted(glob.glob(os.path.join(data, gpu, "mla", "*", "*", "mla_generation_module_perf.parquet"))):
            engine = os.path.basename(os.path.dirname(os.path.dirname(path)))
            engines[engine] = table(path, data)
            print(f"{name} {engine}: {path}")
        if engines:
            doc = {"gpu": name, "generated_by": "scripts/derive_mla_module.py", "engines": engines}
            with open(os.path.join(out, f"{name.lower()}.mla-module.json"), "w") as f:
                f.write(dumps(doc))


if __name__ == "__main__":
    main()
