//! Mapping invariants as properties over many models and layouts (DESIGN.md §2).
mod common;

use pdplan::layout::mapping::Mapping;
use pdplan::layout::{self, Layout, Limits, Phase};
use pdplan::spec::task::{Model, Moe};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn model(layers: u64, heads_pow: u32, kv_pow: u32, experts: Option<(u64, u64)>, dense: u64) -> Model {
    let mut m = common::small_dense(1, None).model;
    m.layers = layers;
    m.heads = 1 << heads_pow;
    m.kv_heads = 1 << kv_pow.min(heads_pow);
    m.moe = experts.map(|(e, k)| Moe {
        experts: e,
        top_k: k.min(e),
        expert_intermediate_size: 1024,
        shared_experts: 0,
        shared_expert_intermediate_size: 1024,
        dense_layers: dense.min(layers - 1),
        routing_skew: Default::default(),
    });
    m
}

fn check_layout(m: &Model, phase: Phase, l: &Layout, batch: u64) {
    let map = Mapping::build(m, l, batch);
    // The GPU count is pp × W, not the product of all degrees, and equals the mapping.
    assert_eq!(map.distinct_gpus(), l.pp * l.tp * l.sp * l.attention_dp);
    if let Some(moe) = &m.moe {
        assert_eq!(l.ep * l.expert_tp, l.width());
        assert_eq!(moe.experts % l.ep, 0);
    }
    let ids: BTreeSet<u64> = map
        .stages
        .iter()
        .flat_map(|s| s.gpu_ids.iter().copied())
        .collect();
    assert_eq!(
        ids.len() as u64,
        l.gpus_per_instance(),
        "stages list every GPU once"
    );
    if phase == Phase::Decode {
        assert_eq!(l.sp, 1);
    }
    for (name, passed, detail) in map.checks(m, l, batch) {
        assert!(passed, "{l} b={batch}: {name}: {detail}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_enumerated_layout_maps_consistently(
        layers in 2u64..40,
        heads_pow in 0u32..6,
        kv_pow in 0u32..6,
        moe in proptest::option::of((prop::sample::select(vec![2u64, 4, 6, 8, 16, 60, 64]), 1u64..9)),
        dense in 0u64..4,
        prefill in any::<bool>(),
        pick in any::<prop::sample::Index>(),
        batch_extra in 0u64..20,
    ) {
        let m = model(layers, heads_pow, kv_pow, moe, dense);
        let phase = if prefill { Phase::Prefill } else { Phase::Decode };
        let limits = Limits { max_width: 64, max_pp: 8, max_instance_gpus: 256 };
        let all = layout::enumerate(&m, phase, &limits);
        prop_assert!(!all.is_empty(), "TP1 PP1 is always valid");
        let l = all[pick.index(all.len())];
        prop_assert!(layout::validate(&m, phase, &l).is_ok());
        check_layout(&m, phase, &l, l.attention_dp + batch_extra);
    }
}

#[test]
fn gpu_count_is_not_the_product_of_degrees() {
    // DESIGN.md §2 example: attention TP4 × attention-DP8 and EP32 on one stage is 32 GPUs.
    let m = model(8, 5, 2, Some((64, 8)), 0);
    let l = Layout {
        tp: 4,
        pp: 1,
        sp: 1,
        attention_dp: 8,
        ep: 32,
        expert_tp: 1,
    };
    assert!(layout::validate(&m, Phase::Decode, &l).is_ok());
    assert_eq!(l.gpus_per_instance(), 32);
    check_layout(&m, Phase::Decode, &l, 64);
    let bad = Layout { ep: 16, ..l };
    assert!(
        layout::validate(&m, Phase::Decode, &bad)
            .unwrap_err()
            .to_string()
            .contains("both must equal")
    );
}
