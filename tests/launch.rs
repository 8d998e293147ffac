//! Launch commands and deployment files (issue 13): every emitted flag is a flag of the engine
//! (the lists in `fixtures/engines/`, read from each engine's argument definitions) with a valid
//! value; the GPUs each engine's rules imply from the flags equal the plan's; prefill and decode
//! carry the engine's disaggregation settings; YAML files parse and hold the same numbers;
//! `launch.sh` passes `bash -n` and a hostile model name runs nothing; `--engine sglang` keeps the
//! same-TP rule.

mod common;

use pdplan::launch::deploy::{self, Target};
use pdplan::spec::resolve::Resolved;
use pdplan::spec::task::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `FLAG KIND` lines of `fixtures/engines/<name>-flags.txt`.
fn flag_list(name: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join(format!("fixtures/engines/{name}-flags.txt"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (f, k) = l.split_once(' ').unwrap_or((l, "str"));
            (f.to_string(), k.to_string())
        })
        .collect()
}

/// A value as the operator's environment makes it (placeholders are pdplan's own, documented in
/// `launch.sh`).
fn substituted(v: &str) -> String {
    v.replace("${NODE_RANK}", "1").replace("${HEAD_ADDR}", "10.0.0.1")
}

fn valid_value(kind: &str, v: &str) -> bool {
    let v = substituted(v);
    let v = v.as_str();
    match kind {
        "int" => v.parse::<u64>().is_ok(),
        "float" => v.parse::<f64>().is_ok_and(f64::is_finite),
        "json" => serde_json::from_str::<Value>(v).is_ok(),
        k if k.starts_with("choice:") => k[7..].split('|').any(|c| c == v),
        _ => !v.starts_with("--"),
    }
}

/// Parse `argv[skip..]` against a flag list: every flag known, every value valid. Returns the
/// values of each flag.
fn parse_flags(
    argv: &[String],
    skip: usize,
    list: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut i = skip;
    while i < argv.len() {
        let f = &argv[i];
        let kind = list
            .get(f)
            .unwrap_or_else(|| panic!("`{f}` is not a flag of this engine: {argv:?}"));
        i += 1;
        let mut vals = Vec::new();
        match kind.as_str() {
            "flag" => {}
            "list" => {
                while i < argv.len() && !argv[i].starts_with("--") {
                    vals.push(argv[i].clone());
                    i += 1;
                }
                assert!(!vals.is_empty(), "`{f}` needs a value: {argv:?}");
            }
            k => {
                let v = argv.get(i).unwrap_or_else(|| panic!("`{f}` needs a value"));
                assert!(valid_value(k, v), "`{f} {v}`: not a valid {k}");
                vals.push(v.clone());
                i += 1;
            }
        }
        out.entry(f.clone()).or_default().extend(vals);
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn num(flags: &BTreeMap<String, Vec<String>>, f: &str) -> u64 {
    flags.get(f).map_or(1, |v| v[0].parse().unwrap())
}

/// Check one phase worker of an engine against the plan of that phase.
fn check_phase_worker(engine: &str, w: &Value, plan: &Value) {
    let phase = plan["phase"].as_str().unwrap();
    let argv = strings(&w["argv"]);
    let s = &plan["strategy"];
    let per_instance = plan["gpus"]["per_instance"].as_u64().unwrap();
    assert_eq!(w["replicas"], s["replicas"], "{engine} {phase} replicas");
    assert_eq!(w["gpus_per_replica"].as_u64(), Some(per_instance));
    let implied = match engine {
        "vllm" => {
            assert_eq!(&argv[..2], ["vllm", "serve"]);
            let f = parse_flags(&argv, 3, &flag_list("vllm"));
            let kv: Value = serde_json::from_str(&f["--kv-transfer-config"][0]).unwrap();
            let role = if phase == "prefill" {
                "kv_producer"
            } else {
                "kv_consumer"
            };
            assert_eq!(
                (kv["kv_connector"].as_str(), kv["kv_role"].as_str()),
                (Some("NixlConnector"), Some(role))
            );
            assert_eq!(num(&f, "--tensor-parallel-size"), s["tp"].as_u64().unwrap());
            assert_eq!(
                num(&f, "--data-parallel-size"),
                s["attention_dp"].as_u64().unwrap()
            );
            // A multi-node instance starts its nodes after the head headless (no API server).
            let worker_nodes = w.get("worker_node_args").map_or(Vec::new(), strings);
            let want: &[&str] = if num(&f, "--nnodes") > 1 {
                &["--headless"]
            } else {
                &[]
            };
            assert_eq!(
                worker_nodes, want,
                "{phase}: arguments of the nodes after the head"
            );
            parse_flags(
                &[vec!["vllm".into(), "serve".into(), "m".into()], worker_nodes].concat(),
                3,
                &flag_list("vllm"),
            );
            num(&f, "--tensor-parallel-size")
                * num(&f, "--pipeline-parallel-size")
                * num(&f, "--prefill-context-parallel-size")
                * num(&f, "--data-parallel-size")
        }
        "sglang" => {
            assert_eq!(&argv[..3], ["python3", "-m", "sglang.launch_server"]);
            let f = parse_flags(&argv, 3, &flag_list("sglang"));
            assert_eq!(f["--disaggregation-mode"], [phase]);
            assert!(f.contains_key("--disaggregation-transfer-backend"));
            let (tp, dp) = (num(&f, "--tp-size"), num(&f, "--attn-dp-size"));
            assert_eq!(
                (tp % dp, tp / dp),
                (0, s["tp"].as_u64().unwrap()),
                "attention TP = tp-size / attn-dp-size"
            );
            // The static share holds the plan's weights and KV; activations and the reserve fit
            // in the rest.
            let mem = &plan["memory"];
            let (cap, per) = (mem["capacity_bytes"].as_f64().unwrap(), &mem["per_gpu"]);
            let share: f64 = f["--mem-fraction-static"][0].parse().unwrap();
            let held = per["weights_bytes"].as_f64().unwrap() + per["kv_cache_bytes"].as_f64().unwrap();
            assert!(
                (share + 0.001) * cap >= held,
                "{} {phase}: --mem-fraction-static {share} below weights + KV {}",
                plan["task"]["model"]["spec"]["name"],
                held / cap
            );
            let rest = per["activations_bytes"].as_f64().unwrap() + per["reserve_bytes"].as_f64().unwrap();
            assert!(
                (1.0 - share) * cap >= rest * 0.999,
                "{phase}: activations + reserve do not fit beside {share}"
            );
            tp * num(&f, "--pp-size")
        }
        _ => check_trtllm(w, &argv, plan),
    };
    assert_eq!(
        implied, per_instance,
        "{engine} {phase}: GPUs implied by the flags"
    );
    // A plan costed with this engine's two-batch overlap launches with it turned on.
    let costed_here = plan["task"]["cost_params"]["engine"] == engine;
    let overlapped = plan["performance"]["breakdown"]["two_batch_overlap"] == true;
    let flag = match engine {
        "sglang" => "--enable-two-batch-overlap",
        "vllm" => "--enable-dbo",
        _ => "",
    };
    if costed_here && overlapped && !flag.is_empty() {
        assert!(
            argv.iter().any(|a| a == flag),
            "{engine} {phase}: costed with two-batch overlap, launched without {flag}"
        );
    }
    if costed_here && plan["performance"]["breakdown"]["single_batch_overlap"] == true {
        assert!(
            argv.iter().any(|a| a == "--enable-single-batch-overlap"),
            "{engine} {phase}: costed with single-batch overlap, launched without its flag"
        );
    }
}

fn check_trtllm(w: &Value, argv: &[String], plan: &Value) -> u64 {
    let skip = if argv[0] == "trtllm-llmapi-launch" { 3 } else { 2 };
    assert_eq!(argv[skip - 2], "trtllm-serve");
    parse_flags(argv, skip, &flag_list("trtllm"));
    let api = &w["llm_api"];
    let s = &plan["strategy"];
    let tp = api["tensor_parallel_size"].as_u64().unwrap();
    if api["enable_attention_dp"] == true {
        // TensorRT-LLM runs attention-DP = tensor_parallel_size with attention TP 1.
        assert_eq!(
            (s["tp"].as_u64(), s["attention_dp"].as_u64()),
            (Some(1), Some(tp))
        );
    } else {
        assert_eq!(
            (s["tp"].as_u64(), s["attention_dp"].as_u64()),
            (Some(tp), Some(1))
        );
    }
    if let Some(ep) = api["moe_expert_parallel_size"].as_u64() {
        assert_eq!(ep * api["moe_tensor_parallel_size"].as_u64().unwrap(), tp);
        assert_eq!(api["moe_expert_parallel_size"], s["ep"]);
    }
    assert!(api["cache_transceiver_config"]["backend"].is_string());
    tp * api["pipeline_parallel_size"].as_u64().unwrap()
}

fn check_router(engine: &str, w: &Value, plans: &[Value; 2]) {
    let argv = strings(&w["argv"]);
    let (list, skip) = match engine {
        "vllm" => ("vllm-router", 1),
        "sglang" => ("sglang-router", 3),
        _ => ("trtllm", 2),
    };
    let f = parse_flags(&argv, skip, &flag_list(list));
    if engine != "trtllm" {
        let replicas = |i: usize| plans[i]["strategy"]["replicas"].as_u64().unwrap() as usize;
        let per = if engine == "sglang" { 2 } else { 1 };
        assert_eq!(f["--prefill"].len(), per * replicas(0));
        assert_eq!(f["--decode"].len(), replicas(1));
    }
}

/// Every supported engine of a solved plan pair passes the checks; returns the supported ones.
fn check_launch(plans: &[Value; 2]) -> Vec<String> {
    assert_eq!(plans[0]["launch"], plans[1]["launch"]);
    let mut ok = Vec::new();
    for (engine, l) in plans[0]["launch"].as_object().unwrap() {
        if l["supported"] != true {
            assert!(
                l["rule"].is_string() && l["reason"].is_string(),
                "{engine}: unsupported without a rule"
            );
            continue;
        }
        let workers = l["workers"].as_array().unwrap();
        assert_eq!(workers.len(), 3);
        check_phase_worker(engine, &workers[0], &plans[0]);
        check_phase_worker(engine, &workers[1], &plans[1]);
        check_router(engine, &workers[2], plans);
        ok.push(engine.clone());
    }
    ok
}

fn as_json(plans: &[pdplan::plan::PhasePlan; 2]) -> [Value; 2] {
    [0, 1].map(|i| serde_json::to_value(&plans[i]).unwrap())
}

fn solve(r: &Resolved, engine: Option<Engine>) -> Option<[Value; 2]> {
    let mut r = r.clone();
    r.task.cost.engine = engine.unwrap_or(Engine::Any);
    pdplan::solve(&r, None).ok().map(|s| as_json(&s.plans))
}

#[test]
fn fixture_launches_use_real_flags_and_imply_the_plan_gpus() {
    let mut checked = 0;
    for (name, r) in common::readable_fixtures() {
        let Some(plans) = solve(&r, None) else { continue };
        let supported = check_launch(&plans);
        // The default (`any`) plans a deployment one engine starts, prefill and decode alike.
        assert!(
            !supported.is_empty(),
            "{name}: the default plan runs on no engine"
        );
        checked += supported.len();
        for e in pdplan::launch::ENGINES {
            if let Some(plans) = solve(&r, Some(e)) {
                let ok = check_launch(&plans);
                assert!(
                    ok.contains(&e.name().to_string()),
                    "{name}: --engine {e:?} plan not runnable on {e:?}"
                );
            }
        }
    }
    assert!(checked >= 5, "only {checked} engine launches checked");
}

/// Tasks written here, not shipped as fixtures: presets × GPUs × budgets.
#[test]
fn unseen_tasks_launch_on_every_engine_they_are_restricted_to() {
    let dir = common::scratch("launch-unseen");
    let cases = [
        ("DeepSeek-V3", "H200", "null", 2.0, 0.05),
        ("Mixtral-8x7B", "A100-80G", "16", 1.0, 0.04),
        ("Llama-3.1-405B", "H100-SXM", "64", 5.0, 0.08),
        ("Qwen3-32B", "H20", "null", 3.0, 0.05),
    ];
    let mut runs = 0;
    for (i, (model, gpu, budget, ttft, tpot)) in cases.iter().enumerate() {
        let text = format!(
            r#"{{"hardware": {{"preset": "{gpu}", "gpu_budget": {budget}}}, "model": {{"preset": "{model}"}},
               "workload": {{"batch": 48, "input_len": 3000, "output_len": 700, "max_len": 4096}},
               "requirements": {{"ttft_s": {ttft}, "tpot_s": {tpot}}}}}"#
        );
        let path = dir.join(format!("t{i}.json"));
        std::fs::write(&path, text).unwrap();
        let r = pdplan::read_task(&path).unwrap();
        for e in pdplan::launch::ENGINES {
            if let Some(plans) = solve(&r, Some(e)) {
                assert!(
                    check_launch(&plans).contains(&e.name().to_string()),
                    "{model} on {gpu}, --engine {e:?}"
                );
                runs += 1;
            }
        }
    }
    assert!(runs >= 6, "only {runs} restricted solves were feasible");
}

#[test]
fn sglang_keeps_the_same_tp_and_says_why() {
    // A dense model whose SGLang-runnable optimum pairs two attention TPs (the Llama-70B budget
    // fixture was one until the dense GEMMs were read on their shape class).
    let r = pdplan::read_task(&root().join("fixtures/tasks/aic/llama-3.1-70b-h100.md")).unwrap();
    // The cost model's optimum over every layout (`any` keeps only plans an engine runs).
    let free = solve(&r, Some(Engine::Unrestricted)).unwrap();
    let tp = |p: &[Value; 2], i: usize| p[i]["strategy"]["tp"].as_u64().unwrap();
    assert_ne!(
        tp(&free, 0),
        tp(&free, 1),
        "the unrestricted optimum must differ in TP for this test"
    );
    assert_eq!(free[0]["launch"]["sglang"]["supported"], false);
    let held = solve(&r, Some(Engine::Sglang)).unwrap();
    assert_eq!(
        tp(&held, 0),
        tp(&held, 1),
        "dense model: no wide EP, so the same TP"
    );
    let why = held[0]["solver"]["engine_search"].as_str().unwrap();
    assert!(
        why.contains("sglang.same_tp") && why.contains("unrestricted optimum"),
        "{why}"
    );
    assert_eq!(held[0]["launch"]["sglang"]["supported"], true);
    // The rule costs something here: the restricted optimum is no better than the free one.
    let rate = |p: &[Value; 2]| {
        p[0]["deployment"]["sustained_request_rate_per_s"]
            .as_f64()
            .unwrap()
    };
    assert!(rate(&held) <= rate(&free) * (1.0 + 1e-9));
}

const HOSTILE: &str = "x'; touch pwned; $(touch pwned2) `touch pwned3` \"${IFS}\" \n touch pwned4";

fn stub_bin(dir: &Path) -> PathBuf {
    stub_bin_logging(dir, "")
}

/// Stub engine programs in `dir/bin` that write `logged` (shell words, e.g. `"GPUS=$X"`) and
/// their arguments, NUL-separated, to `$STUB_LOG`.
fn stub_bin_logging(dir: &Path, logged: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for prog in [
        "vllm",
        "python3",
        "trtllm-serve",
        "trtllm-llmapi-launch",
        "vllm-router",
    ] {
        let p = bin.join(prog);
        let stub = format!("#!/bin/sh\nprintf '%s\\0' {logged} \"$@\" > \"$STUB_LOG\"\n");
        std::fs::write(&p, stub).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn run_role(dir: &Path, bin: &Path, role: &str) -> Vec<String> {
    let log = dir.join(format!("{role}.log"));
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(dir.join("launch.sh")).arg(role).current_dir(dir);
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("STUB_LOG", &log)
        .env("NODE_RANK", "0")
        .env("HEAD_ADDR", "10.0.0.1");
    for i in 0..64 {
        cmd.env(format!("PREFILL_ADDR_{i}"), format!("10.0.1.{i}"));
        cmd.env(format!("DECODE_ADDR_{i}"), format!("10.0.2.{i}"));
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{role}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(log.exists(), "{role}: the engine stub did not run");
    logged(&log)
}

/// What a stub wrote to `log` (NUL-separated words; none if it did not run).
fn logged(log: &Path) -> Vec<String> {
    std::fs::read(log)
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

fn no_pwned(dir: &Path) {
    for e in walk(dir) {
        let n = e.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !n.starts_with("pwned"),
            "the model name ran a command: {}",
            e.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            v.extend(walk(&p));
        }
        v.push(p);
    }
    v
}

#[test]
fn deploy_files_parse_hold_the_plan_numbers_and_a_hostile_model_runs_nothing() {
    let mut r = pdplan::read_task(&root().join("fixtures/tasks/qwen3-235b-moe.md")).unwrap();
    r.task.model.path = Some(HOSTILE.into());
    let base = common::scratch("launch-deploy");
    let bin = stub_bin(&base);
    let mut deployed = 0;
    for e in pdplan::launch::ENGINES {
        r.task.cost.engine = e;
        let s = pdplan::solve(&r, None).unwrap();
        let launches = pdplan::launch::launches(&r.task, &s.deployment);
        let dir = base.join(e.name());
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in deploy::engine_files(e, launches.get(e).unwrap()).unwrap() {
            std::fs::write(dir.join(&name), text).unwrap();
        }
        let syntax = std::process::Command::new("bash")
            .arg("-n")
            .arg(dir.join("launch.sh"))
            .status()
            .unwrap();
        assert!(syntax.success(), "{e:?}: bash -n launch.sh");
        for role in ["prefill", "decode", "router"] {
            let argv = run_role(&dir, &bin, role);
            if role != "router" {
                assert!(
                    argv.iter().any(|a| a == HOSTILE),
                    "{e:?} {role}: model not passed as one argument: {argv:?}"
                );
            }
        }
        no_pwned(&base);
        if e == Engine::Trtllm {
            check_trtllm_yaml(&dir, &as_json(&s.plans));
        }
        check_dgd(&launches, &as_json(&s.plans));
        deployed += 1;
    }
    assert_eq!(deployed, 3);
    let _ = Target::parse_list("all").unwrap();
}

fn yaml(path: &Path) -> Value {
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn check_trtllm_yaml(dir: &Path, plans: &[Value; 2]) {
    for (i, role) in ["prefill", "decode"].iter().enumerate() {
        let y = yaml(&dir.join(format!("{role}.yaml")));
        let gpus =
            y["tensor_parallel_size"].as_u64().unwrap() * y["pipeline_parallel_size"].as_u64().unwrap();
        assert_eq!(
            Some(gpus),
            plans[i]["gpus"]["per_instance"].as_u64(),
            "{role}.yaml GPUs"
        );
        assert_eq!(
            y, plans[i]["launch"]["trtllm"]["workers"][i]["llm_api"],
            "{role}.yaml = the plan's llm_api"
        );
    }
    let d = yaml(&dir.join("disagg.yaml"));
    assert_eq!(
        d["context_servers"]["num_instances"],
        plans[0]["strategy"]["replicas"]
    );
    assert_eq!(
        d["generation_servers"]["num_instances"],
        plans[1]["strategy"]["replicas"]
    );
    assert!(
        !d.to_string().contains("${"),
        "placeholders filled by the router function"
    );
}

fn check_dgd(launches: &pdplan::launch::Launches, plans: &[Value; 2]) {
    let Ok(files) = deploy::dynamo_files("qwen3 task!", launches) else {
        return;
    };
    let y: Value = yaml_serde::from_str(&files[0].1).unwrap();
    assert_eq!(y["kind"], "DynamoGraphDeployment");
    assert_eq!(y["metadata"]["name"], "qwen3-task");
    for (i, svc) in ["PrefillWorker", "DecodeWorker"].iter().enumerate() {
        let s = &y["spec"]["services"][svc];
        assert_eq!(s["replicas"], plans[i]["strategy"]["replicas"]);
        // The GPU limit is per pod: one pod per node of a multi-node replica.
        let gpus: u64 = s["resources"]["limits"]["gpu"].as_str().unwrap().parse().unwrap();
        let pods = s["multinode"]["nodeCount"].as_u64().unwrap_or(1);
        assert_eq!(Some(gpus * pods), plans[i]["gpus"]["per_instance"].as_u64());
        assert!(pods == 1 || gpus == plans[i]["task"]["hardware"]["gpus_per_node"].as_u64().unwrap());
        let args = strings(&s["extraPodSpec"]["mainContainer"]["args"]);
        let backend = s["extraPodSpec"]["mainContainer"]["command"][2]
            .as_str()
            .unwrap()
            .to_string();
        let (engine_list, own) = if backend == "dynamo.vllm" {
            ("vllm", "dynamo-vllm")
        } else {
            ("sglang", "dynamo-sglang")
        };
        let mut list = flag_list(engine_list);
        list.extend(flag_list(own));
        list.insert("--disaggregation-mode".into(), "choice:prefill|decode".into());
        let f = parse_flags(&args, 0, &list);
        assert!(f.contains_key("--disaggregation-mode"));
    }
}

/// The overlap the cost model charges and the flag the launch sets agree, layout by layout and
/// for every `Batch overlap` setting the engine runs, on both engines that have one: SGLang
/// (wide EP only; two-batch or single-batch) and vLLM (DP + EP only, from 32 decode tokens per
/// rank; two-batch).
#[test]
fn overlap_costed_iff_its_flag_is_launched() {
    use pdplan::cost::time;
    use pdplan::launch::{Common, PhaseShape, for_engine};
    use pdplan::layout::Phase;
    use pdplan::spec::task::BatchOverlap;
    let base = common::qwen3_task();
    // Wide EP, TP with EP, attention-DP with TP and EP, expert-TP only.
    let layouts = [
        common::moe(1, 8, 8),
        common::moe(8, 1, 8),
        common::moe(2, 4, 8),
        common::moe(1, 8, 1),
    ];
    let settings = [
        BatchOverlap::Auto,
        BatchOverlap::TwoBatch,
        BatchOverlap::SingleBatch,
        BatchOverlap::Off,
    ];
    let mut seen = [0usize; 3];
    for (engine, two, single) in [
        (
            Engine::Sglang,
            "--enable-two-batch-overlap",
            "--enable-single-batch-overlap",
        ),
        (Engine::Vllm, "--enable-dbo", "--enable-single-batch-overlap"),
    ] {
        for setting in settings.into_iter().filter(|s| s.check(engine).is_ok()) {
            let mut task = base.clone();
            task.cost.engine = engine;
            task.cost.batch_overlap = setting;
            let c = Common::of(&task);
            for l in layouts {
                // 64 sequences per attention rank: above vLLM's decode threshold.
                let b = time::stage_step(&task, Phase::Decode, &l, 64, 4096);
                // `auto` runs the fastest schedule the engine has on the layout.
                if setting == BatchOverlap::Auto {
                    let fastest = settings[1..]
                        .iter()
                        .filter(|s| s.check(engine).is_ok())
                        .map(|&s| {
                            let mut t = task.clone();
                            t.cost.batch_overlap = s;
                            time::stage_step(&t, Phase::Decode, &l, 64, 4096).stage_time_s
                        })
                        .fold(f64::INFINITY, f64::min);
                    assert!(b.stage_time_s <= fastest * (1.0 + 1e-12), "{engine:?} {l:?}");
                }
                let shape = |phase| PhaseShape {
                    phase,
                    layout: l,
                    replicas: 1,
                    batch: 64 * l.attention_dp,
                    activation_share: 0.0,
                    overlap: pdplan::cost::overlap::Schedule::of(&b),
                };
                let launch = for_engine(engine, &c, &shape(Phase::Prefill), &shape(Phase::Decode));
                if !launch.supported {
                    continue;
                }
                let argv: Vec<String> = launch.workers[1].argv.iter().map(|a| a.text()).collect();
                for (costed, flag) in [(b.two_batch_overlap, two), (b.single_batch_overlap, single)] {
                    assert_eq!(
                        costed,
                        argv.iter().any(|a| a == flag),
                        "{engine:?} {setting:?} {l:?}: costed {flag} {costed}, launch {argv:?}"
                    );
                }
                let kind = if b.two_batch_overlap {
                    1
                } else if b.single_batch_overlap {
                    2
                } else {
                    0
                };
                seen[kind] += 1;
            }
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "every schedule exercised: {seen:?}");
}

/// Replicas smaller than a node share it: on the Llama-3.1-70B budget fixture (4-GPU instances on
/// 8-GPU nodes) each engine's launch gives replica `i` slot `i mod 2` — its own GPUs
/// (`CUDA_VISIBLE_DEVICES`), its own ports (the port flags again, last wins) — and the router
/// addresses replica `i` at its slot's port; a slot out of range is refused.
#[test]
fn replicas_sharing_a_node_get_their_own_gpus_and_ports() {
    let mut r = pdplan::read_task(&root().join("fixtures/tasks/llama3-70b-budget-tpot.md")).unwrap();
    let base = common::scratch("launch-slots");
    let bin = stub_bin_logging(
        &base,
        "\"GPUS=$CUDA_VISIBLE_DEVICES\" \"NIXL=$VLLM_NIXL_SIDE_CHANNEL_PORT\"",
    );
    let mut shared = 0;
    for e in pdplan::launch::ENGINES {
        r.task.cost.engine = e;
        let s = pdplan::solve(&r, None).unwrap();
        let plans = as_json(&s.plans);
        let launches = pdplan::launch::launches(&r.task, &s.deployment);
        let l = launches.get(e).unwrap();
        let dir = base.join(e.name());
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in deploy::engine_files(e, l).unwrap() {
            std::fs::write(dir.join(&name), text).unwrap();
        }
        for (i, role) in ["prefill", "decode"].iter().enumerate() {
            let w = &plans[i]["launch"][e.name()]["workers"][i];
            let gpus = w["gpus_per_replica"].as_u64().unwrap();
            let Some(k) = w["slots"]["replicas_per_node"].as_u64() else {
                assert!(
                    gpus >= 8 || w["replicas"] == 1,
                    "{e:?} {role}: {gpus}-GPU replicas without slots"
                );
                continue;
            };
            assert!(
                k >= 2 && k * gpus <= 8,
                "{e:?} {role}: {k} x {gpus} GPUs on an 8-GPU node"
            );
            shared += 1;
            // Slot 1: the second half of the node, each port + 1 (the flag repeated last).
            let run = |slot: &str| {
                let log = dir.join(format!("{role}-{slot}.log"));
                let out = std::process::Command::new("bash")
                    .arg(dir.join("launch.sh"))
                    .arg(role)
                    .current_dir(&dir)
                    .env_clear()
                    .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                    .env("STUB_LOG", &log)
                    .env("SLOT", slot)
                    .output()
                    .unwrap();
                let argv = logged(&log);
                (out.status.code(), argv)
            };
            let (code, argv) = run("1");
            assert_eq!(code, Some(0), "{e:?} {role}");
            let want: Vec<String> = (gpus..2 * gpus).map(|g| g.to_string()).collect();
            assert_eq!(argv[0], format!("GPUS={}", want.join(",")), "{e:?} {role}");
            for pf in w["slots"]["port_flags"].as_array().unwrap() {
                let (flag, port) = (pf[0].as_str().unwrap(), pf[1].as_u64().unwrap());
                let last = argv.iter().rposition(|a| a == flag).unwrap();
                assert_eq!(argv[last + 1], (port + 1).to_string(), "{e:?} {role} {flag}");
            }
            if e == Engine::Vllm {
                assert_eq!(argv[1], format!("NIXL={}", 5600 + gpus), "{e:?} {role}");
            }
            assert_eq!(run(&k.to_string()).0, Some(2), "{e:?} {role}: slot {k} of {k}");
            // The router addresses replica j at base + j mod k.
            let router = serde_json::to_string(&plans[0]["launch"][e.name()]).unwrap();
            let addr = if i == 0 { "PREFILL_ADDR" } else { "DECODE_ADDR" };
            let base_port = 8100 + 100 * i as u64;
            for j in 0..w["replicas"].as_u64().unwrap() {
                let url = format!("{{{addr}_{j}}}:{}", base_port + j % k);
                assert!(router.contains(&url), "{e:?}: no {url}");
            }
        }
    }
    assert!(shared >= 2, "the fixture must have replicas sharing a node");
}
