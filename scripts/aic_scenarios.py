"""Budget scenarios: pdplan's chosen layouts, estimated by AIConfigurator (see aic_compare.py).

For each task of `fixtures/tasks/aic/` (GPU budget, model, workload, TTFT and TPOT requirements,
`Engine: trtllm`): `pdplan solve TASK --engine trtllm`, then AIConfigurator's `static_ctx`
estimate of the prefill layout (the plan's batch per instance over its attention-DP ranks, at the
input length) and its `static_gen` estimate of the decode layout (the plan's sequences per
attention-DP rank and micro-batch, context from ISL to ISL + OSL; AIConfigurator's TPOT is the
mean step).

A plan meets the TTFT requirement under AIConfigurator when AIConfigurator's prefill pass plus
the serving terms pdplan adds to its own pass (batch formation, queueing at the plan's load, KV
hand-off; `performance.ttft_breakdown`) stays within the requirement, and the TPOT requirement
when AIConfigurator's TPOT does. A layout AIConfigurator cannot express (sequence parallelism)
counts as a miss. Writes `fixtures/aic/scenarios.csv`.
"""
import glob
import json
import os
import re
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIELDS = {"GPU model": "gpu", "Model preset": "model", "Precision": "dtype", "Sequence In": "isl",
          "Sequence Out": "osl", "TTFT": "ttft", "TPOT": "tpot"}


def read_task(path):
    """The few lines of a scenario file the comparison needs."""
    out = {}
    for line in open(path):
        m = re.match(r"\*\s+\*\*(.+?)\*\*:\s*(.+)", line.strip())
        if m and m.group(1) in FIELDS:
            out[FIELDS[m.group(1)]] = m.group(2).strip()
    out["dtype"] = out["dtype"].lower()
    out["isl"], out["osl"] = int(out["isl"]), int(out["osl"])
    out["ttft_s"] = float(out.pop("ttft").rstrip("s"))
    out["tpot_s"] = float(out.pop("tpot").rstrip("ms")) / 1e3
    return out


def solve(pdplan, task):
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([pdplan, "solve", task, "--engine", "trtllm", "--out", d],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"pdplan solve {task} failed:\n{p.stdout}\n{p.stderr}")
        return {ph: json.load(open(os.path.join(d, ph + ".json"))) for ph in ("prefill", "decode")}


def layout(plan):
    s = plan["strategy"]
    # AIConfigurator's static estimate with pp_size > 1 keeps pp micro-batches of `batch_size`
    # per attention-DP rank in flight (its throughput is scaled by pp_size, base_backend.py), as
    # pdplan's plan runs `micro_batches` of the instance's batch: one micro-batch per rank.
    per_rank = -(-s["batch_per_instance"] // (s["attention_dp"] * s["micro_batches"]))
    text = (f"TP{s['tp']} PP{s['pp']} SP{s['sp']} DP{s['attention_dp']} EP{s['ep']} "
            f"ETP{s['expert_tp']} x{s['replicas']} b{s['batch_per_instance']}")
    return s, per_rank, text


def scenario(pdplan, aic_estimate, path):
    t = read_task(path)
    plans = solve(pdplan, path)
    row = {"scenario": os.path.basename(path)[:-3], "gpu": t["gpu"], "model": t["model"],
           "isl": t["isl"], "osl": t["osl"], "ttft_req_s": t["ttft_s"], "tpot_req_s": t["tpot_s"]}
    s, per_rank, text = layout(plans["prefill"])
    perf = plans["prefill"]["performance"]
    serving = perf["ttft_s"] - perf["ttft_breakdown"]["prefill_s"]
    row.update(prefill_layout=text, pdplan_prefill_pass_s=round(perf["ttft_breakdown"]["prefill_s"], 4),
               pdplan_ttft_s=round(perf["ttft_s"], 4))
    if s["sp"] > 1:
        row.update(aic_prefill_pass_s="", aic_ttft_s="", ttft_met="no (SP not expressible)")
    else:
        a, _, version = aic_estimate(t["model"], t["dtype"], t["gpu"], "prefill", t["isl"], t["osl"],
                                     per_rank, s["tp"], s["attention_dp"], s["ep"], pp=s["pp"])
        aic_ttft = a / 1e3 + serving
        row.update(aic_prefill_pass_s=round(a / 1e3, 4), aic_ttft_s=round(aic_ttft, 4),
                   ttft_met="yes" if aic_ttft <= t["ttft_s"] else "no")
    s, per_rank, text = layout(plans["decode"])
    perf = plans["decode"]["performance"]
    a, _, version = aic_estimate(t["model"], t["dtype"], t["gpu"], "decode", t["isl"], t["osl"],
                                 per_rank, s["tp"], s["attention_dp"], s["ep"], pp=s["pp"])
    row.update(decode_layout=text, pdplan_tpot_s=round(perf["tpot_s"], 5), aic_tpot_s=round(a / 1e3, 5),
               tpot_met="yes" if a / 1e3 <= t["tpot_s"] else "no")
    row["both_met"] = "yes" if row["ttft_met"] == "yes" and row["tpot_met"] == "yes" else "no"
    row["aic_version"] = f"aiconfigurator 0.12.0, trtllm {version}"
    return row


def run(pdplan, aic_estimate):
    from aic_compare import write_csv  # noqa: PLC0415

    rows = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures/tasks/aic/*.md"))):
        r = scenario(pdplan, aic_estimate, path)
        rows.append(r)
        print(f"{r['scenario']:<22} prefill {r['prefill_layout']:<34} TTFT AIC {r['aic_ttft_s']} "
              f"(req {r['ttft_req_s']}) {r['ttft_met']:<4} decode {r['decode_layout']:<34} TPOT AIC "
              f"{r['aic_tpot_s']} pdplan {r['pdplan_tpot_s']} (req {r['tpot_req_s']}) {r['tpot_met']}",
              flush=True)
    write_csv(os.path.join(ROOT, "fixtures/aic/scenarios.csv"), rows)
    met = sum(r["both_met"] == "yes" for r in rows)
    print(f"{met} of {len(rows)} chosen plans meet TTFT and TPOT under AIConfigurator")
