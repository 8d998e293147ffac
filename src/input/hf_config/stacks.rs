//! Stacks whose layers are not all alike, read into pdplan's uniform layer (a mixer and an FFN):
//! hybrid Mamba-2 / attention stacks (Nemotron-H), linear-attention hybrids (Qwen3-Next /
//! Qwen3.5) and per-block NAS configurations (DeciLM). Each reshapes the config in place, warns
//! about what the cost model does not have, and the hybrids return their own parameter count
//! (the declared size that scales weights and FLOPs up to it).

use super::Cfg;
use serde_json::{Map, Value};

/// Reshape a hybrid or per-block config; the stack's parameter count when it is a hybrid whose
/// layers read would add up to a different total.
pub(super) fn reshape(m: &mut Map<String, Value>, warnings: &mut Vec<String>) -> Option<f64> {
    let mamba = hybrid_blocks(m, warnings);
    let linear = linear_attention_layers(m, warnings);
    nas_blocks(m, warnings);
    mamba.or(linear)
}

/// Input embeddings and LM head (one matrix when tied).
fn embeddings(c: &Cfg, d: f64) -> Option<f64> {
    let heads = if c.b("tie_word_embeddings") == Some(true) {
        1.0
    } else {
        2.0
    };
    Some(c.f("vocab_size")? * d * heads)
}

/// A hybrid Mamba-2 / attention stack (NVIDIA Nemotron-H, `NemotronHConfig`): one block per
/// character of `hybrid_override_pattern` (`M` Mamba-2 mixer, `*` attention, `E` MoE, `-` MLP)
/// or entry of `layers_block_type`. pdplan's layer is a mixer and an FFN, so the stack is read as
/// one layer per FFN block (`E` or `-`, the `-` ones dense) — the parameters then add up within a
/// few percent, the FFN blocks holding nearly all of them — and the mismatch is a warning: the
/// Mamba-2 mixers are costed as attention and every layer holds a KV cache, where only the
/// attention blocks do (a Mamba-2 block keeps a fixed-size state).
fn hybrid_blocks(m: &mut Map<String, Value>, warnings: &mut Vec<String>) -> Option<f64> {
    let blocks: Vec<char> = if let Some(p) = m.get("hybrid_override_pattern").and_then(Value::as_str) {
        p.chars().collect()
    } else if let Some(l) = m.get("layers_block_type").and_then(Value::as_array) {
        l.iter()
            .map(|t| match t.as_str().unwrap_or("") {
                "mamba" => 'M',
                "attention" => '*',
                "moe" => 'E',
                "mlp" => '-',
                _ => '?',
            })
            .collect()
    } else {
        return None;
    };
    let count = |c: char| blocks.iter().filter(|&&b| b == c).count() as u64;
    let (mamba, attention, moe, mlp) = (count('M'), count('*'), count('E'), count('-'));
    let exact = hybrid_params(m, [mamba, attention, moe, mlp]);
    m.insert("num_hidden_layers".into(), Value::from(moe + mlp));
    if moe > 0 && mlp > 0 {
        m.insert("first_k_dense_replace".into(), Value::from(mlp));
    }
    latent_experts(m, warnings);
    warnings.push(format!(
        "config.json: hybrid Mamba-2 / attention stack ({mamba} Mamba-2, {attention} attention, \
         {moe} MoE, {mlp} MLP blocks of {}) is not modelled: read as {} layers of a mixer and an \
         FFN, the Mamba-2 mixers costed as attention and a KV cache counted on every layer (only \
         {attention} blocks hold one)",
        blocks.len(),
        moe + mlp
    ));
    exact
}

/// Linear-attention hybrids (Qwen3-Next / Qwen3.5: Gated DeltaNet on the `linear_attention`
/// entries of `layer_types`, gated full attention every `full_attention_interval` layers): the
/// mixers are costed as full attention, with a warning, and the parameters are counted layer by
/// layer (`Qwen3NextGatedDeltaNet`: in-projections of q, k (`nk·dk` each), v, z (`nv·dv` each),
/// b and a (`nv` each); depthwise conv over q, k, v; `dt_bias`, `A_log`, norm; out-projection
/// `nv·dv·d`. Gated attention: the query projection doubled by its output gate) and set as the
/// declared size, so weights and FLOPs scale up to it.
fn linear_attention_layers(m: &Map<String, Value>, warnings: &mut Vec<String>) -> Option<f64> {
    let kinds: Vec<&str> = m
        .get("layer_types")?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let linear = kinds.iter().filter(|k| k.contains("linear")).count() as f64;
    if linear == 0.0 {
        return None;
    }
    let full = kinds.len() as f64 - linear;
    warnings.push(format!(
        "config.json: linear attention (Gated DeltaNet) on {linear} of {} layers is not \
         modelled: costed as full attention, a KV cache counted on every layer (only {full} hold \
         one; a linear-attention layer keeps a fixed-size state)",
        kinds.len()
    ));
    let c = Cfg(m);
    let d = c.f("hidden_size")?;
    let (q, kv, hd) = (
        c.f("num_attention_heads")?,
        c.f("num_key_value_heads")?,
        c.f("head_dim")?,
    );
    let gate = if c.b("attn_output_gate") == Some(true) {
        2.0
    } else {
        1.0
    };
    let full_p = d * hd * (gate * q + 2.0 * kv) + q * hd * d;
    let (nk, dk) = (c.f("linear_num_key_heads")?, c.f("linear_key_head_dim")?);
    let (nv, dv) = (c.f("linear_num_value_heads")?, c.f("linear_value_head_dim")?);
    let conv = c.f("linear_conv_kernel_dim").unwrap_or(4.0);
    let linear_p = d * (2.0 * nk * dk + 2.0 * nv * dv + 2.0 * nv)
        + (2.0 * nk * dk + nv * dv) * conv
        + 2.0 * nv
        + dv
        + nv * dv * d;
    let ffn = match c.f("num_experts") {
        Some(e) => {
            let shared = c.f("shared_expert_intermediate_size").unwrap_or(0.0);
            e * 3.0 * d * c.f("moe_intermediate_size")? + d * e + 3.0 * d * shared + d
        }
        None => 3.0 * d * c.f("intermediate_size")?,
    };
    Some(full * full_p + linear * linear_p + kinds.len() as f64 * ffn + embeddings(&c, d)?)
}

/// Per-block configurations of a NAS-pruned Llama (`DeciLMConfig`, Llama-3.1/3.3-Nemotron Super
/// and Ultra: `block_configs`, each block's attention skipped, replaced by a linear layer or GQA
/// with `n_heads_in_group`, and its FFN sized by `ffn_mult`). Read as one layer per attention
/// block whose FFN holds the FFN weights of every block (a block's intermediate size is
/// `2·ffn_mult·d/3` rounded up to 256, `_ffn_mult_to_intermediate_size`; a linear replacement
/// counts as `d²`, i.e. `d/3` columns of a gated FFN): parameters, KV cache and FLOPs stay those
/// of the model, the per-layer kernel sizes are averaged (a warning says so).
fn nas_blocks(m: &mut Map<String, Value>, warnings: &mut Vec<String>) {
    let Some(blocks) = m.get("block_configs").and_then(Value::as_array).cloned() else {
        return;
    };
    let (Some(d), Some(heads)) = (
        m.get("hidden_size").and_then(Value::as_u64),
        m.get("num_attention_heads").and_then(Value::as_u64),
    ) else {
        return;
    };
    let flag = |v: Option<&Value>, k: &str| v.and_then(|x| x.get(k)).and_then(Value::as_bool) == Some(true);
    let (mut attention, mut groups, mut ffn_columns) = (0u64, Vec::new(), 0u64);
    let (mut widest, mut narrowest) = (0u64, u64::MAX);
    for b in &blocks {
        let (a, f) = (b.get("attention"), b.get("ffn"));
        if flag(a, "replace_with_linear") {
            ffn_columns += d.div_ceil(3);
        } else if !flag(a, "no_op") {
            attention += 1;
            if let Some(g) = a.and_then(|x| x.get("n_heads_in_group")).and_then(Value::as_u64) {
                groups.push(g);
            }
        }
        if flag(f, "replace_with_linear") {
            ffn_columns += d.div_ceil(3);
        } else if !flag(f, "no_op") {
            let mult = f
                .and_then(|x| x.get("ffn_mult"))
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
            let inter = ((2.0 * mult * d as f64 / 3.0) as u64).div_ceil(256) * 256;
            (widest, narrowest) = (widest.max(inter), narrowest.min(inter));
            ffn_columns += inter;
        }
    }
    if attention == 0 {
        return;
    }
    let group = groups
        .iter()
        .copied()
        .max_by_key(|g| groups.iter().filter(|x| *x == g).count());
    m.insert("num_hidden_layers".into(), Value::from(attention));
    if let Some(g) = group.filter(|&g| g > 0) {
        m.insert("num_key_value_heads".into(), Value::from(heads / g));
    }
    m.insert(
        "intermediate_size".into(),
        Value::from(ffn_columns.div_ceil(attention)),
    );
    warnings.push(format!(
        "config.json: per-block configurations (`block_configs`: {} blocks, {} without attention, \
         FFNs of {narrowest}…{widest} columns) are not modelled one by one: read as {attention} \
         layers of attention and an FFN of {} columns holding every block's FFN weights \
         (parameters, KV cache and FLOPs kept; kernel sizes averaged)",
        blocks.len(),
        blocks.len() as u64 - attention,
        ffn_columns.div_ceil(attention)
    ));
}

/// Parameters of a Nemotron-H stack block by block (`NemotronHConfig`, `modeling_nemotron_h.py`):
/// Mamba-2 mixer `d·(2·di + 2·g·n + h) + (di + 2·g·n)·k + 3·h + di + di·d` (in-projection of x, z,
/// B, C and dt; depthwise conv; dt bias, A, D; gated norm; out-projection) with `di` = heads ×
/// head size; attention `d·hd·(2·q + 2·kv)`; squared-ReLU MLP and experts `2·d·i` (latent experts
/// `2·latent·i` plus the `2·d·latent` projections); embeddings and LM head. `None` when a size is
/// missing.
fn hybrid_params(m: &Map<String, Value>, [mamba, attention, moe, mlp]: [u64; 4]) -> Option<f64> {
    let c = Cfg(m);
    let d = c.f("hidden_size")?;
    let (h, hd) = (c.f("mamba_num_heads")?, c.f("mamba_head_dim")?);
    let (g, n, k) = (
        c.f("n_groups").unwrap_or(1.0),
        c.f("ssm_state_size")?,
        c.f("conv_kernel").unwrap_or(4.0),
    );
    let di = h * hd;
    let mamba_p = d * (2.0 * di + 2.0 * g * n + h) + (di + 2.0 * g * n) * k + 3.0 * h + di + di * d;
    let (q, kv) = (c.f("num_attention_heads")?, c.f("num_key_value_heads")?);
    let head = c.f("head_dim").unwrap_or(d / q);
    let attention_p = d * head * (2.0 * q + 2.0 * kv);
    let mlp_p = 2.0 * d * c.f("intermediate_size").unwrap_or(0.0);
    let moe_p = match c.f("n_routed_experts") {
        Some(e) => {
            let inter = c.f("moe_intermediate_size")?;
            let width = c.f("moe_latent_size").unwrap_or(d);
            let projections = if width < d { 2.0 * d * width } else { 0.0 };
            let shared = c.f("n_shared_experts").unwrap_or(0.0)
                * 2.0
                * d
                * c.f("shared_expert_intermediate_size").unwrap_or(0.0);
            e * 2.0 * width * inter + d * e + projections + shared
        }
        None => 0.0,
    };
    let embeddings = embeddings(&c, d)?;
    Some(
        mamba as f64 * mamba_p
            + attention as f64 * attention_p
            + moe as f64 * moe_p
            + mlp as f64 * mlp_p
            + embeddings,
    )
}

/// Latent MoE (Nemotron-3 Super / Ultra `moe_latent_size`): each expert computes in an `l`-wide
/// space between a down- and an up-projection of the hidden state. Read as experts of the hidden
/// width with `i·l/d` columns (the same parameters and FLOPs, `2·d·(i·l/d) = 2·l·i`) and the two
/// projections added to the shared expert (`2·d·l`), with a note.
fn latent_experts(m: &mut Map<String, Value>, warnings: &mut Vec<String>) {
    let c = Cfg(m);
    let (Some(l), Some(d), Some(i)) = (
        c.u("moe_latent_size"),
        c.u("hidden_size"),
        c.u("moe_intermediate_size"),
    ) else {
        return;
    };
    if l == 0 || l >= d {
        return;
    }
    let narrow = (i * l).div_ceil(d);
    let shared = c.u("shared_expert_intermediate_size").unwrap_or(0);
    let shared_n = c.u("n_shared_experts").unwrap_or(0).max(1);
    m.insert("moe_intermediate_size".into(), Value::from(narrow));
    m.insert("n_shared_experts".into(), Value::from(shared_n));
    m.insert(
        "shared_expert_intermediate_size".into(),
        Value::from(shared + l.div_ceil(shared_n)),
    );
    warnings.push(format!(
        "config.json: latent MoE (experts in a {l}-wide latent space, `moe_latent_size`) read as \
         experts of {narrow} columns at the hidden width {d} (same parameters and FLOPs), the \
         latent projections counted with the shared expert; the projections' own kernels are not \
         costed apart"
    ));
}
