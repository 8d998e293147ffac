#!/usr/bin/env python3
"""Derive pdplan's kernel-class efficiency parameters from measured kernel tables.

Source: NVIDIA's `aiconfigurator-core` wheel on PyPI (Apache-2.0), which ships per GPU and per
engine version the latencies of single kernels measured on real hardware (GEMM, attention, MoE,
MLA, NCCL and custom all-reduce, DeepEP all-to-all) as Parquet files under
`aiconfigurator_core/systems/data/<gpu>/<op>/<engine>/<version>/`.

Usage (CI never runs this; the output is committed):

    pip download --no-deps aiconfigurator-core==0.12.0 -d /tmp/aic
    unzip -q /tmp/aic/aiconfigurator_core-*.whl -d /tmp/aic/x
    pip install pandas pyarrow
    python3 scripts/derive_kernel_params.py /tmp/aic/x/aiconfigurator_core/systems models/kernels

What is derived, per GPU and engine (every number is a median over many kernel measurements,
never a fit to end-to-end throughput):

* a kernel of a class takes `launch_s + max(F / (P·c(x)), B / (H·b(x)))`, with `P` the GPU's
  dense peak for the dtype and `H` its HBM bandwidth (both from aiconfigurator's system YAML,
  i.e. the datasheet); `c(x)` is the achieved fraction of peak and `b(x)` of HBM bandwidth, as a
  function of the kernel's size `x`:
  - dense GEMM: x = M (tokens); c = F/(P·(t−launch)), b = B/(H·(t−launch)), medians over the
    weight shapes N, K in [1024, 16384] (F = 2MNK, B = NK·w + (MK + MN)·2 bytes); per dtype
    (BF16, per-tensor FP8, 128 × 128 block-scaled FP8 read at the exact M the table measures);
    and for BF16 and per-tensor FP8 the same c and b at every measured (N, K, M) with N, K >= 256
    (`gemm_grid`), which pdplan reads for each GEMM of its own shape;
  - grouped MoE GEMM (gate/up + down, gated): x = token copies per local expert, B = active
    local experts' weights + 2 × 16-bit rows per token copy (as pdplan counts them, with its
    default imbalance when ep > 1); measured under power-law routing on the busiest EP group
    (`ROUTING`); one curve over all shapes and one per size class of the expert slice a GPU
    holds and of the number of experts it holds (`moe_by_slice`);
  - prefill attention (FlashAttention-style, causal): x = sequence length, c only
    (F = 2·b·h·d·s², the causal half of QKᵀ and AV);
  - decode attention (paged / XQA): x = KV bytes read per kernel, b only;
  - MLA prefill / decode likewise (DeepSeek-V3 dims: d_qk 192 / d_v 128; latent 512 + 64);
  - element-wise (the FP8 quantize kernel: reads BF16, writes FP8): b plateau and launch;
* collectives: all-reduce per group size as `latency_s + 2(n−1)/n · bytes / (link · eff)`,
  the better of NCCL and the engine's custom all-reduce at each size; DeepEP intra-node
  dispatch / combine (low-latency and normal kernels) as `latency_s + bytes / (link · eff)`.

`launch_s` is the 5th percentile of the latencies of the class's smallest kernels (the fixed cost
one launch pays however small the kernel).
"""
import glob
import json
import os
import re
import sys

import numpy as np
import pandas as pd

PACKAGE = "aiconfigurator-core 0.12.0 (PyPI, Apache-2.0, NVIDIA)"
# Streaming multiprocessors per GPU (NVIDIA architecture whitepapers: A100 108, H100/H200 SXM 132,
# B200 148): DeepEP's normal kernels occupy some of them while compute runs beside.
SMS = {"h100_sxm": 132, "h200_sxm": 132, "a100_sxm": 108, "b200_sxm": 148}
GPUS = {
    "h100_sxm": "H100-SXM",
    "h200_sxm": "H200",
    "a100_sxm": "A100-80G",
    "b200_sxm": "B200",
}
ENGINES = ["trtllm", "vllm", "sglang"]
WBYTES = {"bfloat16": 2.0, "fp8": 1.0, "fp8_block": 1.0}
DTYPE_KEY = {"bfloat16": "bf16", "fp8": "fp8"}
GRID_M = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]


def system(root, gpu):
    """Datasheet numbers aiconfigurator normalizes with (its system YAML)."""
    import yaml  # noqa: PLC0415  (pyyaml ships with pandas' usual environments)

    with open(os.path.join(root, gpu + ".yaml")) as f:
        y = yaml.safe_load(f)
    g, n = y["gpu"], y["node"]
    peak = {"bf16": float(g["bfloat16_tc_flops"])}
    if "fp8_tc_flops" in g:
        peak["fp8"] = float(g["fp8_tc_flops"])
    return {
        "peak_flops_per_s": peak,
        "hbm_bytes_per_s": float(g["mem_bw"]),
        "intra_node_bytes_per_s": float(n["intra_node_bw"]),
        "inter_node_bytes_per_s": float(n["inter_node_bw"]),
        "sms": SMS[gpu],
        "source": f"{PACKAGE}: systems/{gpu}.yaml; SM count from NVIDIA's architecture whitepapers",
    }


def newest(root, gpu, op, engine, table):
    """Path of the newest engine version that has `table` (versions sorted naturally)."""
    paths = glob.glob(os.path.join(root, "data", gpu, op, engine, "*", table))

    def key(p):
        v = p.split(os.sep)[-2]
        return [int(x) if x.isdigit() else x for x in v.replace("rc", ".").replace("post", ".").split(".")]

    paths.sort(key=key)
    return paths[-1] if paths else None


def rel(root, path):
    return os.path.relpath(path, os.path.join(root, "data"))


def launch_floor(t_s):
    return float(np.percentile(t_s, 5))


def monotone(xs, ys, k):
    """Raise small-size points so that work / efficiency never falls as the size grows.

    For work growing as x^k and efficiency interpolated linearly in log x, the time
    x^k / e(x) is non-decreasing on a segment iff e0 >= e1 / (1 + k·ln(x1/x0)). The medians of
    different configurations can violate that (each configuration's own latencies grow with its
    size). Walking down from the largest size, the measured large-size values are kept and a
    smaller size's efficiency is raised to the bound where needed (those kernels are dominated by
    their launch cost, which is charged separately)."""
    out = list(ys)
    for i in range(len(out) - 1, 0, -1):
        floor = out[i] / (1.0 + k * np.log(xs[i] / xs[i - 1]))
        out[i - 1] = round(max(out[i - 1], floor), 4)
    return out


def isotonic(ys):
    """The least-squares non-decreasing fit of `ys` (pool adjacent violators)."""
    blocks = []
    for y in ys:
        blocks.append([y, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (a, n), (b, m) = blocks[-2], blocks[-1]
            blocks[-2:] = [[(a * n + b * m) / (n + m), n + m]]
    return [v for v, n in blocks for _ in range(n)]


def curve(df, x_col, grid, fields, launch, envelope=(), power=None, exact=False, least=3):  # noqa: PLR0913
    """Median of each efficiency field at the grid point nearest each measured x (log scale).

    Efficiencies are capped at 1 (a median above the datasheet figure is a table whose size
    semantics differ from the formula, not a faster kernel). Fields named in `envelope` are made
    non-increasing in x (the upper envelope from the right): used for the grouped MoE GEMM's
    memory efficiency, whose bytes stop growing once every local expert is active, so that its
    time never falls as tokens grow (the measured latencies of each configuration grow with the
    tokens; the medians across configurations need not). With `exact`, a grid point takes only
    the measurements at exactly that size (for kernels whose time steps between neighbouring
    sizes)."""
    xs, out = [], {f: [] for f in fields}
    lx = np.log2(df[x_col].astype(float).clip(lower=1e-9))
    for g in grid:
        near = df[df[x_col] == g] if exact else df[np.abs(lx - np.log2(g)) <= 0.26]
        if len(near) < least:
            continue
        xs.append(float(g))
        for f in fields:
            out[f].append(round(float(near[f].median()), 4))
    for f in fields:
        if f == "skew":
            # No measurement at a point (NaN: only EP = 1 rows there) reads as no skew.
            out[f] = [round(v, 4) for v in isotonic([1.0 if np.isnan(v) else max(v, 1.0) for v in out[f]])]
        else:
            out[f] = [min(v, 1.0) for v in out[f]]
    for f in envelope:
        for i in range(len(out[f]) - 2, -1, -1):
            out[f][i] = max(out[f][i], out[f][i + 1])
    for f, k in (power or {}).items():
        out[f] = monotone(xs, out[f], k)
    res = {"x": xs, "launch_s": round(launch, 9)}
    res.update(out)
    return res


# Token counts (M) at which the block-scaled FP8 GEMM is read off the table exactly: every size
# the tables measure up to 1025 (pairs such as 128 / 129 straddle the kernel's 128-row tile), then
# powers of two. Its latency is not smooth in M: in TensorRT-LLM 1.3.0rc20's H100 table a
# 51200 × 5120 GEMM takes 105 us at M = 128, 232 us at 129, 214 us at 160, 140 us at 256 and 298
# us at 257 (the weights are streamed once per 128-row tile of M until the kernel switches to a
# wider tile); the binned power-of-two grid of the other dtypes would step over that.
GRID_M_BLOCK = [1, 2, 4, 8, 16, 32, 48, 64, 65, 80, 96, 112, 128, 129, 160, 192, 224, 256, 257,
                512, 513, 768, 769, 1024, 1025, 2048, 4096, 8192, 16384]
GEMM_DTYPES = {"bfloat16": "bf16", "fp8": "fp8", "fp8_block": "fp8_block"}
def gemm_grid(x, launch, source, dtype, peak, hbm, wbytes, grid_m=GRID_M):  # noqa: PLR0913
    """The dense GEMM's efficiencies at every measured (N, K, M) of the table with N, K >= 256 and
    M on GRID_M (no medians: each point is one kernel's measurement), N-major then K then M; pdplan
    interpolates them trilinearly in log N, log K, log M (`profile::GemmGrid`). `None` when the
    table leaves too much of that grid unmeasured."""
    ns = sorted(int(v) for v in x.n.unique() if v >= 256)
    ks = sorted(int(v) for v in x.k.unique() if v >= 256)
    g = x[x.n.isin(ns) & x.k.isin(ks) & x.m.isin(grid_m)]
    g = g.groupby(["n", "k", "m"])[["t"]].median()
    # M sizes the table measures for at most half the shapes are left out (A100: M = 16384);
    # pdplan clamps above the last one. A shape missing at a kept M (H200: 65,536 x 65,536) takes
    # the value of the nearest measured K at the same N and M.
    counts = g.groupby(level="m").size()
    ms = [m for m in grid_m if counts.get(m, 0) * 2 > len(ns) * len(ks)]
    full = pd.MultiIndex.from_product([ns, ks, ms], names=["n", "k", "m"])
    g = g.reindex(full)
    filled = int(g.t.isna().sum())
    if filled:
        for n, k, m in g.index[g.t.isna()]:
            row = g.xs((n, m), level=("n", "m")).dropna()
            if row.empty:
                return None
            near = row.index[np.argmin(np.abs(np.log(row.index.to_numpy(dtype=float)) - np.log(k)))]
            g.loc[(n, k, m)] = row.loc[near]
    if len(ms) < 3:
        return None
    # Per shape, a kernel for more rows is never faster: the running maximum of the measured time
    # over M (a table's kernel choice can dip between neighbouring M). pdplan interpolates times,
    # not efficiencies, between two M of the grid, so its time never falls with M either. Not on
    # the block-scaled grid's exact M points: there the dips are the kernel's tile switches (H100,
    # 51200 x 5120: 232 us at M = 129, 214 us at 160), measured at each point.
    g = g.reset_index()
    if grid_m is GRID_M:
        g["t"] = g.groupby(["n", "k"]).t.cummax()
    busy = (g.t - launch).clip(lower=1e-7)
    g["compute"] = 2.0 * g.m * g.n * g.k / (peak * busy)
    g["memory"] = (g.n * g.k * wbytes + 2.0 * g.m * (g.k + g.n)) / (hbm * busy)
    compute, memory = [], []
    for _, shape in g.groupby(["n", "k"], sort=True):
        compute += [round(float(v), 4) for v in shape.compute]
        memory += [round(float(v), 4) for v in shape.memory]
    note = f"; {filled} points filled from the nearest K" if filled else ""
    return {
        "n": ns, "k": ks, "m": ms,
        "compute": [min(v, 1.0) for v in compute],
        "memory": [min(v, 1.0) for v in memory],
        "launch_s": round(launch, 9),
        "source": f"{source}, gemm_dtype {dtype}, every (N, K, M) measured with N, K in {ns[0]}..{ns[-1]} "
                  f"({len(ns)} x {len(ks)} shapes) and M in {ms[0]}..{ms[-1]} ({len(g) - filled} kernels{note})",
    }


def gemm(root, gpu, engine, sysd):
    """Dense GEMM per dtype: BF16, FP8 with one scale per tensor, and FP8 with 128 × 128 block
    scales (`fp8_block`: the DeepSeek-V3 recipe, used by the published FP8 checkpoints of the
    DeepSeek, Qwen3 and Kimi-K2 families, which aiconfigurator times as `fp8_block`)."""
    path = newest(root, gpu, "gemm", engine, "gemm_perf.parquet")
    if not path:
        return {}
    d = pd.read_parquet(path)
    out = {}
    for dt, key in GEMM_DTYPES.items():
        peak_key = "fp8" if dt == "fp8_block" else key
        if peak_key not in sysd["peak_flops_per_s"] or (dt == "fp8_block" and engine == "vllm"):
            # vLLM 0.24's block-FP8 table mixes three kernel sources per shape and times a
            # 1024 × 1024 GEMM at 60-160 us for any M (host-side overhead, not the kernel): not
            # used; vLLM's block-FP8 GEMMs fall back to its per-tensor FP8 curve.
            continue
        x = d[d.gemm_dtype == dt].copy()
        if x.empty:
            continue
        x["t"] = x.latency * 1e-3
        small = x[(x.m <= 16) & (x.n * x.k <= 1 << 20)]
        launch = launch_floor(small.t) if len(small) else launch_floor(x.t)
        # The block-scaled grid at the exact M the table measures (GRID_M_BLOCK: its time steps
        # at the 128-row tile, which the power-of-two levels would step over).
        grid = gemm_grid(x, launch, f"{PACKAGE}: {rel(root, path)}", dt,
                         sysd["peak_flops_per_s"][peak_key], sysd["hbm_bytes_per_s"], WBYTES[dt],
                         GRID_M_BLOCK if dt == "fp8_block" else GRID_M)
        if grid:
            out["gemm_" + key + "_grid"] = grid
        x = x[(x.n >= 1024) & (x.n <= 16384) & (x.k >= 1024) & (x.k <= 16384)]
        if dt == "fp8_block":
            # Weights of at least 2^24 elements: at the tile steps a small GEMM gains a few us
            # (H200: 2048 × 2048 takes 6 us at M = 64, 11 us at 65), which after subtracting the
            # launch reads as a 4x drop of efficiency, a large one loses a share (51200 × 5120:
            # 74 -> 108 us); the medians of small shapes would put the former onto every GEMM.
            x = x[x.n * x.k >= 1 << 24]
        busy = (x.t - launch).clip(lower=1e-7)
        x["compute"] = 2.0 * x.m * x.n * x.k / (sysd["peak_flops_per_s"][peak_key] * busy)
        x["memory"] = (x.n * x.k * WBYTES[dt] + 2.0 * x.m * (x.k + x.n)) / (sysd["hbm_bytes_per_s"] * busy)
        if dt == "fp8_block":
            c = curve(x, "m", GRID_M_BLOCK, ["compute", "memory"], launch, power={"compute": 1}, exact=True)
        else:
            c = curve(x, "m", GRID_M, ["compute", "memory"], launch, power={"compute": 1})
        shapes = "N, K in 1024..16384, N·K >= 2^24" if dt == "fp8_block" else "N, K in 1024..16384"
        c["source"] = f"{PACKAGE}: {rel(root, path)}, gemm_dtype {dt}, {len(x)} kernels ({shapes})"
        out["gemm_" + key] = c
    return out


def versions(root, gpu, op, engine, table):
    """Paths of every engine version that has `table`, newest first."""
    paths = glob.glob(os.path.join(root, "data", gpu, op, engine, "*", table))

    def key(p):
        v = p.split(os.sep)[-2]
        return [int(x) if x.isdigit() else x for x in v.replace("rc", ".").replace("post", ".").split(".")]

    return sorted(paths, key=key, reverse=True)


# Routing of the MoE kernel measurements used: aiconfigurator's collector draws expert loads from
# a power law and times the most loaded EP group (it swaps that group to rank 0: collector
# docs, "Power-Law Distribution in MoE Workload Simulation", "EP Group Selection"); alpha 1.01 is
# the mildest skew the tables hold (aiconfigurator's figure for DeepSeek-V3 / R1 routing, 1.2 its
# Qwen3-235B one). Balanced routing is the unreachable lower bound: on H200 (TensorRT-LLM
# 1.3.0rc20, DeepSeek-V3 experts, EP 8) the busiest group takes 1.31x the balanced time at 512
# tokens and 1.6x at 4096, where a uniform 1.2x more tokens on the busiest GPU adds 3 % resp. 20 %.
ROUTING = ["power_law_1.01", "balanced", "uniform"]
# The cost model's default MoE imbalance (src/spec/task.rs, CostParams::default().moe_imbalance):
# it multiplies the busiest GPU's token copies when ep > 1 (src/cost/time.rs, moe_ffn). The
# efficiencies are derived with the same count, so that a task at the default reproduces the
# measured busiest-group time and another imbalance scales the busiest GPU's tokens from there.
DEFAULT_IMBALANCE = 1.2


def moe_rows(root, gpu, engine, dt):
    """The rows of one dtype, under the first routing of ROUTING measured, of the newest table
    that also measures balanced routing; else, of the newest table with power-law rows only (A100:
    TensorRT-LLM 1.0.0, vLLM 0.14, whose Mixtral TP2 experts saturate at ~48 % of the BF16 peak
    where the dense-GEMM stand-in used before ran near the dense plateau: `pdplan calibrate`'s
    TensorRT-LLM v0.17 A100 Mixtral rows +21 / +34 / +26 % -> +7 / -6 / +2 %, vLLM CI A100
    Mixtral +17.5 -> -11.7 %, v0.9 A100 Mixtral throughput rows +15 / -8 / +3 -> -20 / -8 /
    -20 %)."""
    fallback = (None, None, None)
    for path in versions(root, gpu, "moe", engine, "moe_perf.parquet"):
        d = pd.read_parquet(path)
        d = d[(d.moe_dtype == dt) & ~d.kernel_source.astype(str).str.contains("nongated")]
        if d.distribution.isin(["balanced", "uniform"]).sum() < 20:
            x = d[d.distribution == ROUTING[0]].copy()
            if len(x) >= 20 and fallback[0] is None:
                fallback = (path, ROUTING[0], x)
            continue
        for routing in ROUTING:
            x = d[d.distribution == routing].copy()
            if len(x) >= 20:
                return path, routing, x
    return fallback


# The heavier routing skew the tables measure beside ROUTING[0]: aiconfigurator's power-law
# alpha 1.2, which its docs (docs/POWER_LAW_DISTRIBUTION.md, "Alpha Parameter Guide") estimate
# for Qwen3-235B on CNN/DailyMail and OpenOrca by matching observed latencies ("typical
# production"), against 1.01 for DeepSeek-V3 / R1; its generic MoE models (Qwen3, Mixtral,
# gpt-oss, MiniMax: sdk/models/moe.py) run at 1.2, its DeepSeek family at 1.01.
SKEWED = "power_law_1.2"


def with_skew(x, path, dt):
    """`x` (rows of ROUTING[0]) with column `skew`: the same kernel's latency under SKEWED routing
    over its own (1 where the table has no such row, or where `x` is not power-law 1.01; NaN at
    EP = 1)."""
    x = x.copy()
    x["skew"] = 1.0
    if x.distribution.iloc[0] != ROUTING[0]:
        return x
    d = pd.read_parquet(path)
    d = d[(d.moe_dtype == dt) & (d.distribution == SKEWED) & ~d.kernel_source.astype(str).str.contains("nongated")]
    if d.empty:
        return x
    keys = SHAPE + ["num_tokens"]
    skewed = d.groupby(keys).latency.min().rename("skewed").reset_index()
    m = x[keys].merge(skewed, on=keys, how="left")
    x["skew"] = np.nan_to_num(m.skewed.to_numpy() / x.latency.to_numpy(), nan=1.0)
    # EP = 1: every GPU holds a slice of every expert, so the routing cannot load one GPU more
    # than another (the tables' ratios there are noise: 0.94-1.07 for Mixtral on TP2, H100);
    # left out of the medians.
    x.loc[x.moe_ep_size == 1, "skew"] = np.nan
    return x


def moe(root, gpu, engine, sysd):
    """Grouped MoE GEMM (the engine's `moe` op: routing, permutation, gate/up, SwiGLU, down).

    `num_tokens` is taken as the tokens of the whole EP group (aiconfigurator's MoE op input), so
    one GPU computes `num_tokens·topk/ep` token copies (times the default imbalance when ep > 1,
    as the cost model counts them) over `num_experts/ep` local experts."""
    out = {}
    for dt, key in [("bfloat16", "bf16"), ("fp8_block", "fp8"), ("fp8", "fp8")]:
        if key not in sysd["peak_flops_per_s"] or "moe_" + key in out:
            continue
        path, routing, x = moe_rows(root, gpu, engine, dt)
        if path is None:
            continue
        x = with_skew(x, path, dt)
        x["t"] = x.latency * 1e-3
        launch = launch_floor(x[x.num_tokens <= 2].t)
        local = x.num_experts / x.moe_ep_size
        imbalance = np.where(x.moe_ep_size > 1, DEFAULT_IMBALANCE, 1.0)
        copies = x.num_tokens * x.topk / x.moe_ep_size * imbalance
        active = local * (1.0 - (1.0 - 1.0 / x.num_experts) ** (x.num_tokens * x.topk))
        per_expert = 3.0 * x.hidden_size * x.inter_size / x.moe_tp_size
        busy = (x.t - launch).clip(lower=1e-7)
        x["per_expert"] = x.num_tokens * x.topk / x.num_experts * imbalance
        x["compute"] = 2.0 * copies * per_expert / (sysd["peak_flops_per_s"][key] * busy)
        # Bytes as pdplan's cost model counts them (src/cost/time.rs, moe_ffn): the active local
        # experts' weights plus each token copy's 16-bit input and output rows.
        moved = active * per_expert * WBYTES[dt] + copies * 2.0 * x.hidden_size * 2.0
        x["memory"] = moved / (sysd["hbm_bytes_per_s"] * busy)
        x["slice"] = x.hidden_size * x.inter_size / x.moe_tp_size
        x["local"] = x.num_experts / x.moe_ep_size
        c = curve(x, "per_expert", MOE_GRID, ["compute", "memory", "skew"], launch, envelope=["memory"],
                  power={"compute": 1})
        how = f"{PACKAGE}: {rel(root, path)}, moe_dtype {dt}, {routing} routing (busiest EP group)"
        if routing == ROUTING[0]:
            how += f"; skew: its {SKEWED} rows' latency over these (EP > 1, isotonic)"
        c["source"] = f"{how}, {len(x)} kernels"
        out["moe_" + key] = c
        out["moe_" + key + "_by_slice"] = moe_by_slice(x, launch, how)
        out["moe_" + key + "_by_shape"] = moe_by_shape(x, launch, how)
    return out


def shape_key(hidden, inter, experts, topk, moe_tp, moe_ep):
    """The key pdplan looks a layout's expert GEMM up by (`cost::moe_shapes::key`)."""
    return f"{int(hidden)}x{int(inter)}/e{int(experts)}/k{int(topk)}/tp{int(moe_tp)}/ep{int(moe_ep)}"


def moe_by_shape(x, launch, source):
    """The grouped GEMM of every measured expert shape and layout (hidden, intermediate, experts,
    top-k, moe_tp, moe_ep): its efficiencies at each token count the table measures (one kernel per
    point, no medians across shapes), for a task whose MoE is that shape on that layout (the
    tables hold the shapes of the published MoE models: Qwen3-30B / 235B, DeepSeek-V3, Kimi-K2,
    Mixtral, gpt-oss, ...). Shapes measured at fewer than 3 token counts are left out. Compact:
    per shape `x` (token copies per local expert), `c` and `m` (fractions of peak and of HBM
    bandwidth, as the class curves') and the launch cost of every shape; one source for all."""
    shapes = {}
    for shape, rows in x.groupby(SHAPE):
        points = sorted(rows.per_expert.unique())
        c = curve(rows, "per_expert", points, ["compute", "memory", "skew"], launch, envelope=["memory"],
                  power={"compute": 1}, exact=True, least=1)
        if len(c["x"]) < 3:
            continue
        shapes[shape_key(*shape)] = {"x": [float(f"{v:.6g}") for v in c["x"]], "c": c["compute"], "m": c["memory"],
                                     "launch_s": c["launch_s"]}
        if any(v != 1.0 for v in c["skew"]):
            shapes[shape_key(*shape)]["s"] = c["skew"]
    return {"launch_s": round(launch, 9), "source": f"{source}, {len(shapes)} expert shapes and layouts",
            "shapes": shapes}


MOE_GRID = [0.03125, 0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
# Upper bounds (elements of one expert matrix on one GPU, hidden × intermediate / moe_tp) of the
# size classes of the grouped MoE GEMM: doubling from 2^20 to 2^25, then unbounded.
MOE_SLICES = [2.0**20, 2.0**21, 2.0**22, 2.0**23, 2.0**24, 2.0**25, None]
# Upper bounds of the local-expert classes inside each slice class (experts one GPU holds,
# num_experts / moe_ep), doubling: at the same tokens per expert and slice, a GPU with more local
# experts has more tiles to spread over its SMs and reads more weights per kernel. TensorRT-LLM's
# H200 table (1.3.0rc20, FP8 blocks, 4096 x 1536 experts, 307 tokens per expert): 0.028 of peak
# with 1 local expert, 0.082 with 4, 0.14 with 16, 0.20 with 32, 0.22 with 128. Per kernel of
# TensorRT-LLM's FP8-block tables (busiest group; the class curve pdplan picks vs the measured
# latency, `class_errors`), median |error| with 4 slice classes and no local classes 16.1 % (H200),
# 14.8 % (H100), 13.1 % (B200); with these classes 7.5 %, 7.6 %, 7.2 %.
MOE_LOCAL = [2, 4, 8, 16, 32, 64, 128, None]
# Fewest kernels, and fewest expert shapes (hidden, intermediate, experts, top-k, moe_tp, moe_ep),
# a class's curve is fitted on; a thinner class joins its neighbour. A grid point of a curve is
# the median of at least 3 measurements at that size, so a class of fewer shapes has no curve.
MOE_CLASS_MIN = 50
MOE_CLASS_MIN_SHAPES = 3
SHAPE = ["hidden_size", "inter_size", "num_experts", "topk", "moe_tp_size", "moe_ep_size"]


def thin(rows):
    """Whether a class has too few kernels or shapes for a curve (or a curve of fewer than 3
    sizes: its shapes measured at different tokens per expert)."""
    if len(rows) < MOE_CLASS_MIN or len(rows.drop_duplicates(SHAPE)) < MOE_CLASS_MIN_SHAPES:
        return True
    return len(curve(rows, "per_expert", MOE_GRID, ["compute"], 0.0)["x"]) < 3


def moe_by_slice(x, launch, source):
    """The grouped GEMM's curves per size class of the expert slice on one GPU, and within each
    per class of the number of local experts (ascending bounds, in that order).

    At the same tokens per expert, the achieved fraction of peak grows with the expert matrix a
    GPU holds (`hidden × intermediate / moe_tp`): in TensorRT-LLM's H200 table at 256 tokens per
    expert it is 0.06 for 4096 × 2048/8 and 0.23 for 4096 × 2048. It grows with the local experts
    too (`MOE_LOCAL`): one curve per slice class over every expert count made Qwen3-235B's
    EP 4 grouped GEMM (32 local experts of 4096 × 1536, 307 tokens per expert) 1.7x slower than
    its row of the table, the class's median being pulled down by shapes with 1-8 local experts.
    A slice class's last local class is unbounded, so every layout finds a curve in its slice
    class."""
    out, lo = [], 0.0
    for hi in MOE_SLICES:
        part = x[(x.slice >= lo) & ((x.slice < hi) if hi else True)]
        lo = hi or lo
        if thin(part):
            continue
        for below, cell in local_classes(part):
            # The launch cost is the class-independent one (5th percentile of the smallest
            # kernels of every shape): a large slice's smallest kernels still read their active
            # experts' weights, which the memory term charges.
            c = curve(cell, "per_expert", MOE_GRID, ["compute", "memory", "skew"], launch, envelope=["memory"],
                      power={"compute": 1})
            c["slice_elements_below"] = hi
            c["local_experts_below"] = below
            what = f"expert slice < {hi:.3g} elements" if hi else f"expert slice >= {lo:.3g} elements"
            experts = f"< {below} local experts" if below else "every local expert count above"
            c["source"] = f"{source}, {what}, {experts}, {len(cell)} kernels"
            out.append(c)
    return out


def local_classes(part):
    """`(upper bound, rows)` of the local-expert classes of one slice class: a class too thin for
    a curve (`thin`) joins the next one, the last joins the one before it."""
    cells, lo, pending = [], 0, None
    for below in MOE_LOCAL:
        rows = part[(part.local >= lo) & ((part.local < below) if below else True)]
        lo = below or lo
        rows = rows if pending is None else pd.concat([pending, rows])
        if thin(rows) and below is not None:
            pending = rows
            continue
        cells.append([below, rows])
        pending = None
    if len(cells) > 1 and thin(cells[-1][1]):
        last = cells.pop()
        cells[-1] = [None, pd.concat([cells[-1][1], last[1]])]
    return [(b, r) for b, r in cells if not thin(r)]


def attention(root, gpu, engine, sysd):
    out = {}
    p = newest(root, gpu, "attention", engine, "context_attention_perf.parquet")
    if p:
        d = pd.read_parquet(p)
        x = d[(d.attn_dtype == "bfloat16") & (d.kv_cache_dtype == "bfloat16")].copy()
        x = x[x.window_size == 0] if "window_size" in x else x
        x = x[(x.num_heads >= 8) & (x.head_dim == 128)]
        x["t"] = x.latency * 1e-3
        launch = launch_floor(x[x.isl * x.batch_size <= 64].t)
        busy = (x.t - launch).clip(lower=1e-7)
        x["compute"] = 2.0 * x.batch_size * x.num_heads * x.head_dim * x.isl**2 / (sysd["peak_flops_per_s"]["bf16"] * busy)
        c = curve(x, "isl", [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384], ["compute"], launch, power={"compute": 2})
        c["source"] = f"{PACKAGE}: {rel(root, p)}, bf16, head_dim 128, >= 8 heads, {len(x)} kernels"
        out["attention_prefill"] = c
        # FP8 attention (FP8 queries and KV cache), relative to the FP8 peak: on H200 / TensorRT-LLM
        # 1.3 only 1.2-1.3x faster than BF16 at the same shape (16 heads, 4,096 tokens: 156 vs
        # 193 us), not the 2x of the peaks.
        y = d[(d.attn_dtype == "fp8") & (d.kv_cache_dtype == "fp8") & (d.head_dim == 128) & (d.num_heads >= 8)].copy()
        y = y[y.window_size == 0] if "window_size" in y else y
        if "fp8" in sysd["peak_flops_per_s"] and len(y) >= 50:
            y["t"] = y.latency * 1e-3
            busy = (y.t - launch).clip(lower=1e-7)
            y["compute"] = 2.0 * y.batch_size * y.num_heads * y.head_dim * y.isl**2 / (sysd["peak_flops_per_s"]["fp8"] * busy)
            c = curve(y, "isl", [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384], ["compute"], launch, power={"compute": 2})
            c["source"] = f"{PACKAGE}: {rel(root, p)}, fp8 attention and KV cache, head_dim 128, >= 8 heads, {len(y)} kernels"
            out["attention_prefill_fp8"] = c
    p = newest(root, gpu, "attention", engine, "generation_attention_perf.parquet")
    if p:
        d = pd.read_parquet(p)
        x = d[(d.kv_cache_dtype == "bfloat16") & (d.head_dim == 128)].copy()
        x = x[x.window_size == 0] if "window_size" in x else x
        x["t"] = x.latency * 1e-3
        x["bytes"] = x.batch_size * x.step * 2.0 * x.num_key_value_heads * x.head_dim * 2.0
        launch = launch_floor(x[x.bytes <= 1 << 16].t)
        x["memory"] = x.bytes / (sysd["hbm_bytes_per_s"] * (x.t - launch).clip(lower=1e-7))
        grid = [2.0**i for i in range(16, 35, 2)]
        c = curve(x, "bytes", grid, ["memory"], launch, power={"memory": 1})
        c["source"] = f"{PACKAGE}: {rel(root, p)}, bf16 KV, head_dim 128, x = KV bytes read, {len(x)} kernels"
        out["attention_decode"] = c
    out.update(mla(root, gpu, engine, sysd))
    return out


def mla(root, gpu, engine, sysd):
    out = {}
    p = newest(root, gpu, "mla", engine, "context_mla_perf.parquet")
    if p:
        x = pd.read_parquet(p)
        x = x[(x.kv_cache_dtype == "bfloat16") & (x.num_heads // x.tp_size >= 8)].copy()
        heads = x.num_heads / x.tp_size
        x["t"] = x.latency * 1e-3
        launch = launch_floor(x[x.isl * x.batch_size <= 64].t) if (x.isl * x.batch_size <= 64).any() else 0.0
        busy = (x.t - launch).clip(lower=1e-7)
        x["compute"] = x.batch_size * heads * (192 + 128) * x.isl**2 / (sysd["peak_flops_per_s"]["bf16"] * busy)
        c = curve(x, "isl", [16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384], ["compute"], launch, power={"compute": 2})
        c["source"] = f"{PACKAGE}: {rel(root, p)}, DeepSeek-V3 MLA dims, bf16, {len(x)} kernels"
        out["mla_prefill"] = c
    p = newest(root, gpu, "mla", engine, "generation_mla_perf.parquet")
    if p:
        x = pd.read_parquet(p)
        x = x[x.kv_cache_dtype == "bfloat16"].copy()
        x["t"] = x.latency * 1e-3
        x["bytes"] = x.batch_size * x.step * 576 * 2.0
        launch = launch_floor(x[x.bytes <= 1 << 16].t)
        x["memory"] = x.bytes / (sysd["hbm_bytes_per_s"] * (x.t - launch).clip(lower=1e-7))
        grid = [2.0**i for i in range(16, 35, 2)]
        c = curve(x, "bytes", grid, ["memory"], launch, power={"memory": 1})
        c["source"] = f"{PACKAGE}: {rel(root, p)}, latent 512 + rope 64, bf16 KV, x = KV bytes read, {len(x)} kernels"
        out["mla_decode"] = c
    return out


def elementwise(root, gpu, engine, sysd):
    # TensorRT-LLM's kernel for every engine: the class stands for the fused norm / residual /
    # activation kernels, which all three engines implement as bandwidth-bound CUDA kernels.
    p = newest(root, gpu, "quantize", "trtllm", "scale_matrix_perf.parquet")
    if not p:
        return {}
    x = pd.read_parquet(p)
    x["t"] = x.latency * 1e-3
    x["bytes"] = x.m * x.k * 3.0
    launch = launch_floor(x[x.bytes <= 1 << 18].t) if (x.bytes <= 1 << 18).any() else launch_floor(x.t)
    big = x[x.bytes >= 1 << 28]
    eff = float((big.bytes / (sysd["hbm_bytes_per_s"] * (big.t - launch))).median())
    return {
        "elementwise": {
            "x": [],
            "memory_plateau": round(eff, 4),
            "launch_s": round(launch, 9),
            "source": f"{PACKAGE}: {rel(root, p)} (BF16 -> FP8 scale kernel: reads 2, writes 1 byte per element), {len(x)} kernels",
        }
    }


# The activation-quantization kernels a per-tensor FP8 GEMM row includes. Every engine's GEMM
# collector times the FP8 linear layer with *dynamic* activation scales (the FP8 weights carry no
# input scale: aiconfigurator collector/trtllm/collect_gemm.py, "the collected fp8 GEMM includes
# the compute-scale overhead"; vllm Fp8Config(activation_scheme="dynamic"); SGLang
# sgl_per_token_quant_fp8), so a row is quantize-with-scale + GEMM. The quantize tables time the
# two parts apart on the same GPU and engine: `compute_scale` = dynamic minus static quantization
# (the scale computation a checkpoint with static input scales skips) and `scale_matrix` = the
# static quantize kernel (skipped as well when the GEMM's input already comes out in FP8: the
# attention output and the fused activation before the down projection). SGLang's table times its
# static path as an unfused PyTorch expression, not an SGLang kernel: its `scale_matrix` is left
# out (its `compute_scale` is 0 throughout: the per-token dynamic kernel is no slower).
QUANT_M = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]
QUANT_ENGINE_STATIC_KERNEL = {"trtllm": True, "vllm": True, "sglang": False}


def fp8_quant(root, gpu, engine, sysd):
    """Times (s) of the FP8 activation quantization's two parts at every measured (M, K) of the
    engine's quantize tables, K-major then M (pdplan: `profile::Fp8Quant`); per K the running
    maximum over M (more rows never take less time)."""
    if "fp8" not in sysd["peak_flops_per_s"]:
        return {}
    cs_path = newest(root, gpu, "quantize", engine, "computescale_perf.parquet")
    sm_path = newest(root, gpu, "quantize", engine, "scale_matrix_perf.parquet")
    if not cs_path or not sm_path:
        return {}
    out = {"m": [], "k": []}
    for name, path in [("compute_scale_s", cs_path), ("scale_matrix_s", sm_path)]:
        if name == "scale_matrix_s" and not QUANT_ENGINE_STATIC_KERNEL[engine]:
            continue
        x = pd.read_parquet(path)
        x = x[x.m.isin(QUANT_M) & (x.k >= 256)]
        g = x.groupby(["k", "m"]).latency.median().unstack("m")
        ms = [m for m in QUANT_M if m in g.columns]
        g = g[ms].dropna()
        out["m"], out["k"] = ms, [int(k) for k in g.index]
        t = (g.clip(lower=0.0).cummax(axis=1) * 1e-3).to_numpy()
        out[name] = [round(float(v), 9) for v in t.flatten()]
    kept = "compute_scale" + (" and scale_matrix" if "scale_matrix_s" in out else " (scale_matrix: "
                              "an unfused PyTorch expression in this table, not the engine's kernel)")
    out["source"] = (f"{PACKAGE}: {rel(root, cs_path)} and {rel(root, sm_path)}, {kept} at "
                     f"{len(out['k'])} K x {len(out['m'])} M")
    return {"fp8_quant": out}


HALF_BYTES = 2.0


def all_reduce(root, gpu, engine, sysd):
    """Per group size: small-message latency and large-message bus efficiency (vs nominal link)."""
    rows = []
    nccl = newest(root, gpu, "comm", "nccl", "nccl_perf.parquet")
    custom = newest(root, gpu, "comm", engine, "custom_allreduce_perf.parquet")
    frames = []
    if nccl:
        d = pd.read_parquet(nccl)
        frames.append(d[(d.op_name == "all_reduce") & (d.nccl_dtype == "half")])
    if custom:
        frames.append(pd.read_parquet(custom))
    if not frames:
        return {}
    d = pd.concat(frames)
    link = sysd["intra_node_bytes_per_s"]
    for n, g in d.groupby("num_gpus"):
        rows.append(collective_row(n, g.groupby("message_size").latency.min() * 1e-3, link))
    srcs = [rel(root, p) for p in (nccl, custom) if p]
    out = {"all_reduce": {"groups": rows, "source": f"{PACKAGE}: min of " + " and ".join(srcs) + " per message size"}}
    if nccl:
        out.update(gather_scatter(root, nccl, sysd))
    return out


def collective_row(n, best, link):
    """One group size of a collective moving `2(n-1)/n` of the buffer per GPU, from its best
    latency (s) per `message_size`: small-message latency, large-message bus efficiency (vs the
    nominal link) and the efficiency after the latency at each measured size.

    `message_size` counts 16-bit elements, not bytes: aiconfigurator's all-reduce ops look the
    table up at tokens × hidden (e.g. Llama-3.1-70B TP4, 8192 tokens: its context_ar_1 is the
    table's latency at 67,108,864), and the bytes on the wire are twice that (4 × H100 at 2^27
    elements: 2·(3/4)·256 MiB / 1.18 ms = 341 GB/s bus bandwidth, what NVLink 4 reaches in
    nccl-tests; counting bytes would halve it). Mid-size messages (tens of KB to a few MB:
    decode's collectives) run far below the large-message bandwidth."""
    lat = float(best[best.index <= 65536].min())
    large = best[best.index >= 1 << 26]
    bus = (large.index * HALF_BYTES * 2.0 * (n - 1) / n) / (large.values - lat)
    sizes = best[(best.index >= 1 << 12) & (best.index <= 1 << 28)]
    volume = sizes.index.astype(float) * HALF_BYTES * 2.0 * (n - 1) / n
    eff = volume / ((sizes.values - lat).clip(min=1e-9) * link)
    return {"gpus": int(n), "latency_s": round(lat, 9), "bus_efficiency": round(float(np.median(bus)) / link, 4),
            "bytes": [float(v) for v in sizes.index.astype(float) * HALF_BYTES],
            "bus_efficiency_at": [round(min(float(e), 1.0), 4) for e in eff]}


def gather_scatter(root, nccl, sysd):
    """NCCL all-gather followed by reduce-scatter of the same buffer, per group size, in the
    all-reduce's form (the pair moves the all-reduce's `2(n-1)/n` of the buffer per GPU): latency
    and bus efficiency at each measured size. TensorRT-LLM's `AllGatherReduceScatter` MoE
    communication on NVLink nodes, and the gather / scatter of an expert-TP group's tokens.
    `message_size` counts the whole (gathered) buffer's 16-bit elements, as aiconfigurator looks
    it up (`tokens x dp x hidden`)."""
    d = pd.read_parquet(nccl)
    d = d[d.nccl_dtype == "half"]
    rows = []
    for n, g in d.groupby("num_gpus"):
        ag = g[g.op_name == "all_gather"].groupby("message_size").latency.min()
        rs = g[g.op_name == "reduce_scatter"].groupby("message_size").latency.min()
        both = (ag + rs).dropna() * 1e-3
        if not both.empty:
            rows.append(collective_row(n, both, sysd["intra_node_bytes_per_s"]))
    if not rows:
        return {}
    return {"gather_scatter": {"groups": rows, "source": f"{PACKAGE}: {rel(root, nccl)}, all_gather + reduce_scatter (half) per message size"}}


def deepep(root, gpu):
    out = {}
    for kind, table in [("ll", "wideep_deepep_ll_perf.parquet"), ("normal", "wideep_deepep_normal_perf.parquet")]:
        p = newest(root, gpu, "comm", "sglang", table)
        if not p:
            continue
        d = pd.read_parquet(p)
        d = d[d.node_num == 1]
        if kind == "normal":
            d = d[(d.dispatch_sms == d.dispatch_sms.max())]
            disp, comb = d.dispatch_transmit_us + d.dispatch_notify_us, d.combine_transmit_us + d.combine_notify_us
        else:
            disp, comb = d.dispatch_avg_t_us, d.combine_avg_t_us
        sysd = system(root, gpu)
        res = {}
        for name, t_us, eb in [("dispatch", disp, 1.0), ("combine", comb, 2.0)]:
            t = t_us * 1e-6
            lat = float(t[d.num_token <= 2].median())
            # Bytes leaving a GPU (dispatch FP8, combine BF16, as DeepEP runs DeepSeek-V3): the
            # low-latency kernels send every (token, expert) copy; the normal kernels send a
            # token once per destination GPU (expected distinct GPUs among 8 for top-k experts).
            copies = d.num_topk if kind == "ll" else 8.0 * (1.0 - (1.0 - 1.0 / 8.0) ** d.num_topk)
            leaving = d.num_token * copies * d.hidden_size * eb * 7.0 / 8.0
            big = d.num_token >= (512 if kind == "ll" else 4096)
            eff = (leaving[big] / (t[big] - lat)).median() / sysd["intra_node_bytes_per_s"]
            res[name] = {"latency_s": round(lat, 9), "link_efficiency": round(float(eff), 4)}
        res["source"] = f"{PACKAGE}: {rel(root, p)}, one node (8 GPUs)"
        if kind == "normal":
            res["sms"] = int(d.dispatch_sms.max())
        out["deepep_" + kind] = res
    return out


# DeepEP's low-latency kernels across nodes, as DeepEP publishes them (docs/legacy.md, the V1
# README's "Low-latency kernels with pure RDMA" table, github.com/deepseek-ai/DeepEP): H800 with
# one CX7 InfiniBand 400 Gb/s NIC per GPU (~50 GB/s), 128 tokens per rank, hidden 7168, top-8,
# FP8 dispatch, BF16 combine; latency in us per EP size.
DEEPEP_LL_RDMA = {
    "ep": [16, 32, 64, 128, 256],
    "dispatch_us": [118, 155, 173, 192, 194],
    "combine_us": [195, 273, 314, 369, 360],
}
DEEPEP_LL_RDMA_SOURCE = ("DeepEP V1 README (github.com/deepseek-ai/DeepEP docs/legacy.md), low-latency kernels with "
                         "pure RDMA: H800, CX7 400 Gb/s (50 GB/s) per GPU, 128 tokens x top-8, hidden 7168, EP 16-256; "
                         "fit t = latency + off-node bytes / (50 GB/s x efficiency), relative least squares")


def deepep_ll_internode():
    """Latency and NIC efficiency of DeepEP's low-latency dispatch / combine across nodes, fitted to
    DeepEP's own table: each rank sends every (token, expert) copy whose expert lives on another
    node, `128 x 8 x (1 - 8/EP)` copies of 7,168 bytes (FP8 dispatch, as pdplan counts it) or
    14,336 (BF16 combine). The NIC bounds it, so every GPU's profile carries the same fit."""
    ep = np.array(DEEPEP_LL_RDMA["ep"], dtype=float)
    res = {"source": DEEPEP_LL_RDMA_SOURCE}
    for name, key, per_copy in [("dispatch", "dispatch_us", 7168.0), ("combine", "combine_us", 14336.0)]:
        t = np.array(DEEPEP_LL_RDMA[key], dtype=float) * 1e-6
        b = 128.0 * 8.0 * (1.0 - 8.0 / ep) * per_copy
        a = np.vstack([np.ones_like(b), b]).T / t[:, None]
        (lat, inv), *_ = np.linalg.lstsq(a, np.ones_like(t), rcond=None)
        res[name] = {"latency_s": round(float(lat), 9), "link_efficiency": round(float(1.0 / inv / 50e9), 4)}
    return res


def derive(root, gpu):
    sysd = system(root, gpu)
    engines = {}
    for e in ENGINES:
        params = {}
        for f in (gemm, moe, attention, elementwise, fp8_quant, all_reduce):
            params.update(f(root, gpu, e, sysd))
        if params:
            engines[e] = params
    doc = {
        "gpu": GPUS[gpu],
        "generated_by": "scripts/derive_kernel_params.py (do not edit by hand; rerun the script)",
        "system": sysd,
        "engines": engines,
    }
    doc.update(deepep(root, gpu))
    doc["deepep_ll_internode"] = deepep_ll_internode()
    return doc


def shape_lines(by_dtype):
    """The per-shape MoE curves as one JSON object with one entry per line, keyed `"<dtype>
    <shape key>"` (and `"<dtype> source"`), sorted: pdplan scans the lines for its model's shape
    and parses only those (`cost::moe_shapes`), instead of the whole ~600 kB."""
    lines = []
    for dtype, t in sorted(by_dtype.items()):
        if not t["shapes"]:
            continue
        lines.append(json.dumps(f"{dtype} source") + ": " + json.dumps(t["source"]))
        for key, c in sorted(t["shapes"].items()):
            lines.append(json.dumps(f"{dtype} {key}") + ": " + json.dumps(c, sort_keys=True))
    return "{\n" + ",\n".join(lines) + "\n}\n"


def dumps(doc):
    """The profile as indented JSON with each list of numbers on one line (the profiles are parsed
    on every solve; one line per number made them 3x longer)."""
    text = json.dumps(doc, indent=1, sort_keys=True)
    flat = re.sub(r"\[\s*((?:-?[0-9.eE+-]+|null)(?:,\s*(?:-?[0-9.eE+-]+|null))*)\s*\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
    return flat + "\n"


def class_errors(root, gpu, doc, engine="trtllm"):
    """Median |error| per kernel of the grouped-MoE class curve pdplan picks (slice and local
    experts, as `Kernels::for_expert_slice`), against every busiest-group row of the table the
    curves come from: `launch + max(F / (P·c), B / (H·b))` at the row's tokens per expert."""
    out = {}
    sysd, k = doc["system"], doc["engines"].get(engine, {})
    for dt, key in [("fp8_block", "fp8"), ("bfloat16", "bf16")]:
        classes = k.get("moe_" + key + "_by_slice", [])
        path, _, x = moe_rows(root, gpu, engine, dt)
        if not classes or path is None:
            continue
        local = x.num_experts / x.moe_ep_size
        imbalance = np.where(x.moe_ep_size > 1, DEFAULT_IMBALANCE, 1.0)
        copies = x.num_tokens * x.topk / x.moe_ep_size * imbalance
        active = local * (1.0 - (1.0 - 1.0 / x.num_experts) ** (x.num_tokens * x.topk))
        per_expert = 3.0 * x.hidden_size * x.inter_size / x.moe_tp_size
        flops = 2.0 * copies * per_expert
        moved = active * per_expert * WBYTES[dt] + copies * 4.0 * x.hidden_size
        tokens = (x.num_tokens * x.topk / x.num_experts * imbalance).to_numpy()
        sl = (x.hidden_size * x.inter_size / x.moe_tp_size).to_numpy()
        errors = []
        for i, t in enumerate(x.latency.to_numpy() * 1e-3):
            c = next(c for c in classes if (c["slice_elements_below"] is None or sl[i] < c["slice_elements_below"])
                     and (c.get("local_experts_below") is None or local.iloc[i] < c["local_experts_below"]))
            lx = np.log(c["x"])
            eff = [max(float(np.interp(np.log(tokens[i]), lx, c[f])), 1e-4) for f in ("compute", "memory")]
            pred = c["launch_s"] + max(flops.iloc[i] / (sysd["peak_flops_per_s"][key] * eff[0]),
                                       moved.iloc[i] / (sysd["hbm_bytes_per_s"] * eff[1]))
            errors.append(abs(pred / t - 1.0))
        out[dt] = round(float(np.median(errors)), 3)
    return out


def main():
    root, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for gpu, name in GPUS.items():
        doc = derive(root, gpu)
        errors = class_errors(root, gpu, doc)
        # One file per engine beside the GPU's own (system, DeepEP): a solve embeds all of them
        # but parses only its engine's, without scanning the other engines' JSON.
        base = os.path.join(out, name.lower())
        engines = doc.pop("engines")
        with open(base + ".json", "w") as f:
            f.write(dumps(doc))
        for e in ENGINES:
            params = engines.get(e, {})
            # The per-shape MoE curves in a file of their own, read only by MoE tasks.
            shapes = {k[len("moe_"):-len("_by_shape")]: params.pop(k) for k in list(params) if k.endswith("_by_shape")}
            with open(base + "." + e + ".moe.json", "w") as f:
                f.write(shape_lines(shapes))
            if params:
                with open(base + "." + e + ".json", "w") as f:
                    f.write(dumps(params))
        print(base + ".json", ", ".join(sorted(engines)), "MoE class median |error| per kernel:", errors)


if __name__ == "__main__":
    main()
