//! `solve --deploy ENGINE|all`: the files of `DIR/deploy/ENGINE/` (pure: names and contents; the
//! caller writes them). `launch.sh` for vLLM, SGLang and TensorRT-LLM (with the TensorRT-LLM
//! LLM-API YAML of each role and the `trtllm-serve disaggregated` config template), and a NVIDIA
//! Dynamo `DynamoGraphDeployment` (`nvidia.com/v1alpha1`, as AIConfigurator 0.12.0's
//! `generator/builders/dgd_model.py` writes it: a frontend, prefill and decode workers with
//! replicas, GPU limits, `multinode.nodeCount` and the engine args).

use super::{Arg, EngineLaunch, Role, Worker, shell, trtllm};
use crate::error::{Error, Result};
use crate::spec::task::Engine;
use serde::Serialize;
use std::collections::BTreeMap;

/// What `--deploy` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Engine(Engine),
    Dynamo,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Engine(e) => e.name(),
            Target::Dynamo => "dynamo",
        }
    }
    /// `vllm`, `sglang`, `trtllm`, `dynamo` or `all`.
    pub fn parse_list(text: &str) -> std::result::Result<Vec<Target>, String> {
        let t = text.trim().to_ascii_lowercase();
        if t == "all" {
            let mut v: Vec<Target> = super::ENGINES.iter().map(|&e| Target::Engine(e)).collect();
            v.push(Target::Dynamo);
            return Ok(v);
        }
        if t == "dynamo" {
            return Ok(vec![Target::Dynamo]);
        }
        match Engine::parse(&t) {
            Some(e) if Engine::RUNNABLE.contains(&e) => Ok(vec![Target::Engine(e)]),
            _ => Err(format!(
                "--deploy: unknown target `{}`: expected vllm, sglang, trtllm, dynamo or all",
                text.trim()
            )),
        }
    }
}

fn yaml<T: Serialize>(what: &str, v: &T) -> Result<String> {
    yaml_serde::to_string(v).map_err(|e| Error::Internal(format!("{what}: YAML: {e}")))
}

fn unsupported(name: &str, l: &EngineLaunch) -> Error {
    Error::Usage(format!(
        "--deploy {name}: the plan cannot run on {name}: {}; solve with --engine {name} for a plan it runs",
        l.reason.as_deref().unwrap_or("unsupported")
    ))
}

/// Router prelude of TensorRT-LLM: `disagg.yaml` from its template, placeholders filled.
fn trtllm_prelude(cfg: &trtllm::DisaggConfig) -> String {
    let mut s = String::from("  local cfg\n  cfg=$(cat disagg.template.yaml)\n");
    let urls = cfg
        .context_servers
        .urls
        .iter()
        .chain(&cfg.generation_servers.urls);
    for u in urls {
        let var = u.trim_start_matches("${").split('}').next().unwrap_or_default();
        if shell::is_placeholder(var) {
            // `: "${VAR:?set VAR}"` then `cfg=${cfg//'${VAR}'/"$VAR"}` (quotes named and the `//`
            // written `/\x2F`, so line-based source scanners do not read a comment in the string).
            let (q, sq) = ('"', '\'');
            s.push_str(&format!(
                "  : {q}${{{var}:?set {var}}}{q}\n  cfg=${{cfg/\x2F{sq}${{{var}}}{sq}/{q}${var}{q}}}\n"
            ));
        }
    }
    s.push_str("  printf '%s\\n' \"$cfg\" > disagg.yaml\n");
    s
}

/// Every name a deployment folder (`deploy/<target>/`) can hold from pdplan: a run removes those
/// of earlier runs it does not write again, so no stale launch file sits beside a new plan.
pub const FILE_NAMES: [&str; 5] = [
    "launch.sh",
    "prefill.yaml",
    "decode.yaml",
    "disagg.template.yaml",
    "dgd.yaml",
];

/// The folder names of every target under `deploy/`.
pub fn target_names() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = super::ENGINES.iter().map(|e| e.name()).collect();
    v.push(Target::Dynamo.name());
    v
}

/// Files of one engine's folder.
pub fn engine_files(engine: Engine, l: &EngineLaunch) -> Result<Vec<(String, String)>> {
    let name = engine.name();
    let prelude = match &l.disaggregated_config {
        Some(cfg) => trtllm_prelude(cfg),
        None => String::new(),
    };
    let script = shell::script(name, l, &prelude).ok_or_else(|| unsupported(name, l))?;
    let mut files = vec![("launch.sh".to_string(), script)];
    for w in &l.workers {
        if let Some(api) = &w.llm_api {
            files.push((format!("{}.yaml", w.role.name()), yaml("LLM-API options", api)?));
        }
    }
    if let Some(cfg) = &l.disaggregated_config {
        files.push(("disagg.template.yaml".into(), yaml("disaggregated config", cfg)?));
    }
    Ok(files)
}

#[derive(Serialize)]
struct Metadata {
    name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MainContainer {
    image: String,
    command: Vec<String>,
    args: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    main_container: MainContainer,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Service {
    component_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_component_type: Option<&'static str>,
    replicas: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<BTreeMap<&'static str, BTreeMap<&'static str, String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    multinode: Option<BTreeMap<&'static str, u64>>,
    extra_pod_spec: PodSpec,
}

#[derive(Serialize)]
struct Spec {
    services: BTreeMap<String, Service>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dgd {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: Spec,
}

/// Container image placeholder: the Dynamo runtime image of the backend, set by the operator.
fn image(backend: Engine) -> String {
    format!("nvcr.io/nvidia/ai-dynamo/{}-runtime:1.6.1", backend.name())
}

/// `dynamo.<backend>` arguments of a worker: the engine argv after its program and model, with
/// the model first, host / port / node placement dropped (the operator places pods).
fn dynamo_args(backend: Engine, w: &Worker) -> Vec<String> {
    let argv: Vec<String> = w.argv.iter().map(Arg::text).collect();
    let (model, rest) = match backend {
        Engine::Vllm => (argv.get(2).cloned(), argv.get(3..).unwrap_or_default()),
        _ => (argv.get(4).cloned(), argv.get(5..).unwrap_or_default()),
    };
    let model_flag = if backend == Engine::Vllm {
        "--model"
    } else {
        "--model-path"
    };
    let mut out = vec![model_flag.to_string(), model.unwrap_or_default()];
    let drop = [
        "--host",
        "--port",
        "--nnodes",
        "--node-rank",
        "--master-addr",
        "--dist-init-addr",
    ];
    let mut i = 0;
    while i < rest.len() {
        if drop.contains(&rest[i].as_str()) {
            i += 2;
            continue;
        }
        out.push(rest[i].clone());
        i += 1;
    }
    if backend == Engine::Vllm {
        out.extend(["--disaggregation-mode".to_string(), w.role.name().to_string()]);
    }
    out
}

fn worker_service(backend: Engine, w: &Worker) -> Service {
    // The GPU limit is per pod, one pod per node of a multi-node replica (the Dynamo recipes'
    // DP16 on two nodes: `nodeCount: 2`, `gpu: "8"`; the operator compares the world size with
    // the per-pod count to add its multi-node flags).
    let per_pod = w.gpus_per_replica.div_ceil(w.nodes_per_replica.max(1));
    let limits = BTreeMap::from([("gpu", per_pod.to_string())]);
    Service {
        component_type: "worker",
        sub_component_type: Some(w.role.name()),
        replicas: w.replicas,
        resources: Some(BTreeMap::from([("limits", limits)])),
        multinode: (w.nodes_per_replica > 1).then(|| BTreeMap::from([("nodeCount", w.nodes_per_replica)])),
        extra_pod_spec: PodSpec {
            main_container: MainContainer {
                image: image(backend),
                command: vec![
                    "python3".into(),
                    "-m".into(),
                    format!("dynamo.{}", backend.name()),
                ],
                args: dynamo_args(backend, w),
            },
        },
    }
}

/// The Dynamo deployment on the first engine (vLLM, then SGLang) that runs the plan.
pub fn dynamo_files(name: &str, launches: &super::Launches) -> Result<Vec<(String, String)>> {
    let pick = [Engine::Vllm, Engine::Sglang]
        .into_iter()
        .find_map(|e| launches.get(e).filter(|l| l.supported).map(|l| (e, l)));
    let Some((backend, l)) = pick else {
        return Err(Error::Usage(
            "--deploy dynamo: neither vLLM nor SGLang runs this plan (see the plan's launch \
             section); solve with --engine vllm or --engine sglang"
                .into(),
        ));
    };
    let mut services = BTreeMap::new();
    services.insert("Frontend".to_string(), frontend(backend));
    for w in l.workers.iter().filter(|w| w.role != Role::Router) {
        let key = format!("{}Worker", capitalize(w.role.name()));
        services.insert(key, worker_service(backend, w));
    }
    let dgd = Dgd {
        api_version: "nvidia.com/v1alpha1",
        kind: "DynamoGraphDeployment",
        metadata: Metadata { name: dns_name(name) },
        spec: Spec { services },
    };
    Ok(vec![("dgd.yaml".into(), yaml("DynamoGraphDeployment", &dgd)?)])
}

fn frontend(backend: Engine) -> Service {
    Service {
        component_type: "frontend",
        sub_component_type: None,
        replicas: 1,
        resources: None,
        multinode: None,
        extra_pod_spec: PodSpec {
            main_container: MainContainer {
                image: image(backend),
                command: vec!["python3".into(), "-m".into(), "dynamo.frontend".into()],
                args: vec!["--http-port".into(), super::ROUTER_PORT.to_string()],
            },
        },
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

/// A Kubernetes object name (RFC 1123 label: lowercase alphanumerics and `-`, at most 63).
pub fn dns_name(name: &str) -> String {
    let mut s: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s = s.trim_matches('-').chars().take(63).collect();
    s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "pdplan".into() } else { s }
}
