//! How to launch a layout with the engines people use (calibration.md, "How GPUs are counted").

use super::types::Launch;
use crate::ilp::PhaseChoice;
use crate::spec::task::Task;

/// The same layout as vLLM / SGLang / TensorRT-LLM arguments, or why an engine cannot express it.
pub fn launch(task: &Task, c: &PhaseChoice) -> Launch {
    let model = task
        .model
        .name
        .clone()
        .or(task.model.preset.clone())
        .unwrap_or_else(|| "MODEL".into());
    let moe = task.model.is_moe();
    let l = &c.candidate.layout;
    Launch {
        vllm: vllm(&model, moe, c),
        sglang: sglang(&model, moe, c),
        tensorrt_llm: format!(
            "tp_size={} pp_size={} cp_size={} moe_ep_size={} moe_tp_size={} enable_attention_dp={}",
            l.width(),
            l.pp,
            l.sp,
            l.ep,
            l.expert_tp,
            l.attention_dp > 1
        ),
    }
}

/// `vllm serve`: EP = TP × DP, no context parallelism.
fn vllm(model: &str, moe: bool, c: &PhaseChoice) -> String {
    let l = &c.candidate.layout;
    let w = l.width();
    if l.sp > 1 {
        return "not expressible: vLLM serve has no context parallelism for prefill; use TensorRT-LLM cp_size"
            .to_string();
    }
    if moe && l.expert_tp != w && l.ep != w {
        return format!(
            "not expressible: vLLM sets EP = TP × DP; EP{} with expert-TP{} needs Megatron-Core / TensorRT-LLM (moe_ep_size, moe_tp_size)",
            l.ep, l.expert_tp
        );
    }
    let ep = if moe && l.ep == w && w > 1 {
        " --enable-expert-parallel"
    } else {
        ""
    };
    let dp = if l.attention_dp > 1 {
        format!(" --data-parallel-size {}", l.attention_dp)
    } else {
        String::new()
    };
    format!(
        "vllm serve {model} --tensor-parallel-size {} --pipeline-parallel-size {}{dp}{ep}  # × {} replicas",
        l.tp, l.pp, c.instances
    )
}

/// `sglang.launch_server`: `--tp W` with DP attention and EP inside it.
fn sglang(model: &str, moe: bool, c: &PhaseChoice) -> String {
    let l = &c.candidate.layout;
    if l.sp > 1 {
        return "not expressible: SGLang has no context-parallel prefill for this model class".to_string();
    }
    let opt = |on: bool, s: String| if on { s } else { String::new() };
    let dp = opt(
        l.attention_dp > 1,
        format!(" --dp {} --enable-dp-attention", l.attention_dp),
    );
    let ep = opt(moe && l.ep > 1, format!(" --ep-size {}", l.ep));
    let pp = opt(l.pp > 1, format!(" --pp-size {}", l.pp));
    format!(
        "python -m sglang.launch_server --model-path {model} --tp {}{dp}{ep}{pp}  # × {} replicas",
        l.width(),
        c.instances
    )
}
