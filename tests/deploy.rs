//! The examples under `deploy/` match the binary they deploy: every flag
//! and `TRIAGE_*` variable they use exists in `triage --help`, HTTP probes
//! reach the `--http-listen` port (off loopback), gRPC probes the `--listen`
//! port, memory limits leave 256 MiB above sled's cache (`--cache-mb`; none
//! for a replica on the PostgreSQL store),
//! and the grace period outlasts the drain.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;
use serde::Deserialize;
use serde_norway::Value;

/// sled's cache when `--cache-mb` is absent.
const DEFAULT_CACHE_MB: u64 = 1024;
/// What triage needs besides the cache.
const HEADROOM_MB: u64 = 256;
/// `--http-listen`'s default.
const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9090";
/// `--listen`'s default.
const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// `--drain-seconds`' default.
const DEFAULT_DRAIN_SECONDS: u64 = 10;

/// The long flags and environment variables `triage --help` documents.
struct Help {
    flags: BTreeSet<String>,
    envs: BTreeSet<String>,
}

fn help() -> Help {
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .arg("--help")
        .output()
        .expect("triage --help runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let flag = Regex::new(r"(?m)^\s+(?:-\w, )?--([a-z0-9-]+)").expect("regex");
    let env = Regex::new(r"\[env: (TRIAGE_[A-Z0-9_]+)=").expect("regex");
    let help = Help {
        flags: flag.captures_iter(&text).map(|c| c[1].to_string()).collect(),
        envs: env.captures_iter(&text).map(|c| c[1].to_string()).collect(),
    };
    assert!(
        help.flags.contains("listen") && help.envs.contains("TRIAGE_LISTEN"),
        "{text}"
    );
    help
}

/// Files under `deploy/` whose name ends with one of `suffixes`.
fn deploy_files(suffixes: &[&str]) -> Vec<PathBuf> {
    fn walk(dir: &Path, suffixes: &[&str], found: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        for entry in entries.map(|entry| entry.expect("dir entry").path()) {
            let name = entry.file_name().map(|name| name.to_string_lossy().into_owned());
            if entry.is_dir() {
                walk(&entry, suffixes, found);
            } else if name.is_some_and(|name| suffixes.iter().any(|suffix| name.ends_with(suffix))) {
                found.push(entry);
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy"),
        suffixes,
        &mut found,
    );
    found.sort();
    found
}

/// Every YAML document of every YAML file under `deploy/`, with its file.
fn yaml_documents() -> Vec<(PathBuf, Value)> {
    let files = deploy_files(&[".yaml", ".yml"]);
    assert!(!files.is_empty(), "no YAML under deploy/");
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read YAML");
        for document in serde_norway::Deserializer::from_str(&text) {
            let value =
                Value::deserialize(document).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
            documents.push((file.clone(), value));
        }
    }
    documents
}

/// A triage container with the pod spec it runs in.
struct Container {
    file: PathBuf,
    pod: Value,
    container: Value,
}

impl Container {
    fn name(&self) -> String {
        let name = self.container.get("name").and_then(Value::as_str).unwrap_or("?");
        format!("{} container {name}", self.file.display())
    }

    /// `args` (and `command` after the program) as strings.
    fn args(&self) -> Vec<String> {
        let strings = |key: &str| -> Vec<String> {
            self.container
                .get(key)
                .and_then(Value::as_sequence)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        strings("command")
            .into_iter()
            .skip(1)
            .chain(strings("args"))
            .collect()
    }

    /// The container's environment variables, by name.
    fn env(&self, name: &str) -> Option<String> {
        self.container.get("env")?.as_sequence()?.iter().find_map(|var| {
            (var.get("name")?.as_str()? == name).then(|| var.get("value")?.as_str().map(str::to_string))?
        })
    }

    fn env_names(&self) -> Vec<String> {
        let vars = self.container.get("env").and_then(Value::as_sequence);
        vars.into_iter()
            .flatten()
            .filter_map(|var| var.get("name")?.as_str().map(str::to_string))
            .collect()
    }

    /// A setting from its flag, else its variable, else `default`.
    fn setting(&self, flag: &str, env: &str, default: Option<&str>) -> Option<String> {
        flag_value(&self.args(), flag)
            .or_else(|| self.env(env))
            .or(default.map(str::to_string))
    }

    /// A probe's port: a number, or the name of one of the container's ports.
    fn port(&self, port: &Value) -> Option<u64> {
        if let Some(number) = port.as_u64() {
            return Some(number);
        }
        let name = port.as_str()?;
        self.container
            .get("ports")?
            .as_sequence()?
            .iter()
            .find_map(|declared| {
                (declared.get("name")?.as_str()? == name).then(|| declared.get("containerPort")?.as_u64())?
            })
    }
}

/// Every mapping under `value` that has a `containers` list: pod specs.
fn pod_specs<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
    match value {
        Value::Mapping(map) => {
            if map.get("containers").is_some_and(Value::is_sequence) {
                found.push(value);
            }
            map.values().for_each(|child| pod_specs(child, found));
        }
        Value::Sequence(items) => items.iter().for_each(|child| pod_specs(child, found)),
        _ => {}
    }
}

/// The containers under `deploy/` that run triage (by image name).
fn triage_containers() -> Vec<Container> {
    let mut containers = Vec::new();
    for (file, document) in yaml_documents() {
        let mut pods = Vec::new();
        pod_specs(&document, &mut pods);
        for pod in pods {
            let Some(list) = pod.get("containers").and_then(Value::as_sequence) else {
                continue;
            };
            for container in list {
                let image = container.get("image").and_then(Value::as_str).unwrap_or("");
                let image_name = image.rsplit('/').next().unwrap_or("");
                if image_name == "triage" || image_name.starts_with("triage:") {
                    containers.push(Container {
                        file: file.clone(),
                        pod: pod.clone(),
                        container: container.clone(),
                    });
                }
            }
        }
    }
    assert!(!containers.is_empty(), "no triage container in deploy/");
    containers
}

/// `--name=value`, `--name value` and bare `--name` from an argument list.
fn flags(args: &[String]) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut args = args.iter().peekable();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            continue;
        };
        match flag.split_once('=') {
            Some((name, value)) => found.push((name.to_string(), Some(value.to_string()))),
            None => {
                let value = args.next_if(|next| !next.starts_with('-')).cloned();
                found.push((flag.to_string(), value));
            }
        }
    }
    found
}

fn flag_value(args: &[String], name: &str) -> Option<String> {
    flags(args)
        .into_iter()
        .find(|(flag, _)| flag == name)
        .and_then(|(_, value)| value)
}

/// Checks that every flag in `args` is documented, and none repeats.
fn assert_flags_exist(help: &Help, args: &[String], place: &str) {
    let mut seen = BTreeSet::new();
    for (flag, _) in flags(args) {
        assert!(
            help.flags.contains(&flag),
            "{place}: --{flag} is not in `triage --help`"
        );
        assert!(
            seen.insert(flag.clone()),
            "{place}: --{flag} given twice (clap refuses that)"
        );
    }
}

/// A Kubernetes or systemd memory quantity in MiB (`1Gi`, `768Mi`, `1G`, `1024M`).
fn mebibytes(quantity: &str) -> u64 {
    let quantity = quantity.trim();
    let split = quantity
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(quantity.len());
    let (number, unit) = quantity.split_at(split);
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("memory quantity {quantity:?}"));
    let bytes = match unit {
        "Gi" => number << 30,
        "Mi" => number << 20,
        "Ki" => number << 10,
        "G" => number * 1_000_000_000,
        "M" => number * 1_000_000,
        "K" | "k" => number * 1_000,
        "" => number,
        other => panic!("unknown memory unit {other:?}"),
    };
    bytes >> 20
}

/// The port of `host:port`, and whether the host is loopback.
fn port_and_loopback(address: &str) -> (u64, bool) {
    let (host, port) = address
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{address:?} has no port"));
    let port = port.parse().unwrap_or_else(|_| panic!("{address:?}: bad port"));
    let host = host.trim_matches(|c| c == '[' || c == ']');
    (
        port,
        matches!(host, "localhost" | "::1") || host.starts_with("127."),
    )
}

#[test]
fn every_yaml_under_deploy_parses_and_runs_triage_somewhere() {
    assert!(!yaml_documents().is_empty());
    assert!(!triage_containers().is_empty());
}

#[test]
fn kubernetes_flags_and_variables_exist_in_triage_help() {
    let help = help();
    for container in triage_containers() {
        assert_flags_exist(&help, &container.args(), &container.name());
        for name in container
            .env_names()
            .into_iter()
            .filter(|name| name.starts_with("TRIAGE_"))
        {
            assert!(
                help.envs.contains(&name),
                "{}: {name} is not in `triage --help`",
                container.name()
            );
        }
    }
}

#[test]
fn probes_reach_the_ports_triage_listens_on_off_loopback() {
    for container in triage_containers() {
        let http = container.setting("http-listen", "TRIAGE_HTTP_LISTEN", Some(DEFAULT_HTTP_LISTEN));
        let grpc = container.setting("listen", "TRIAGE_LISTEN", Some(DEFAULT_LISTEN));
        for kind in ["readinessProbe", "livenessProbe", "startupProbe"] {
            let Some(probe) = container.container.get(kind) else {
                continue;
            };
            let (address, port) = match (probe.get("httpGet"), probe.get("grpc")) {
                (Some(get), _) => (http.clone(), get.get("port")),
                (None, Some(grpc_probe)) => (grpc.clone(), grpc_probe.get("port")),
                (None, None) => continue,
            };
            let address = address.unwrap_or_default();
            assert_ne!(
                address,
                "off",
                "{}: {kind} probes a port that is off",
                container.name()
            );
            let (listen_port, loopback) = port_and_loopback(&address);
            let probed = port.and_then(|port| container.port(port));
            assert_eq!(
                probed,
                Some(listen_port),
                "{}: {kind} port vs {address}",
                container.name()
            );
            assert!(
                !loopback,
                "{}: {kind} probes {address}, loopback only: the kubelet cannot reach it",
                container.name()
            );
        }
    }
}

#[test]
fn memory_limit_leaves_256_mib_above_the_cache() {
    for container in triage_containers() {
        let limit = container
            .container
            .get("resources")
            .and_then(|resources| resources.get("limits"))
            .and_then(|limits| limits.get("memory"))
            .and_then(Value::as_str)
            .map(mebibytes)
            .unwrap_or_else(|| panic!("{}: no memory limit", container.name()));
        // A replica on the shared store (TRIAGE_STORE from a Secret, or
        // --store postgres://...) opens no sled cache.
        let shared_store = container.env_names().iter().any(|name| name == "TRIAGE_STORE")
            || flag_value(&container.args(), "store").is_some_and(|store| store.starts_with("postgres"));
        let cache = match container.setting("cache-mb", "TRIAGE_CACHE_MB", None) {
            _ if shared_store => 0,
            Some(mb) => mb.parse().expect("--cache-mb is a number"),
            None => DEFAULT_CACHE_MB,
        };
        assert!(
            limit >= cache + HEADROOM_MB,
            "{}: memory limit {limit} MiB < cache {cache} MiB + {HEADROOM_MB} MiB",
            container.name()
        );
    }
}

#[test]
fn the_grace_period_outlasts_the_drain() {
    for container in triage_containers() {
        let grace = container
            .pod
            .get("terminationGracePeriodSeconds")
            .and_then(Value::as_u64)
            .unwrap_or(30);
        let drain = container
            .setting("drain-seconds", "TRIAGE_DRAIN_SECONDS", None)
            .map_or(DEFAULT_DRAIN_SECONDS, |seconds| {
                seconds.parse().expect("a number")
            });
        assert!(
            grace > drain,
            "{}: grace {grace}s <= drain {drain}s",
            container.name()
        );
    }
}

/// The lines of a systemd unit or Dockerfile with `\` continuations
/// joined and comments dropped.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines().filter(|line| !line.trim_start().starts_with('#')) {
        match line.trim_end().strip_suffix('\\') {
            Some(start) => current.push_str(start),
            None => {
                current.push_str(line);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    lines
}

#[test]
fn systemd_exec_start_flags_exist_and_memory_covers_the_cache() {
    let help = help();
    let units = deploy_files(&[".service"]);
    assert!(!units.is_empty(), "no systemd unit in deploy/");
    for unit in units {
        let lines = logical_lines(&std::fs::read_to_string(&unit).expect("read unit"));
        let setting = |key: &str| {
            lines
                .iter()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
        };
        let exec = setting("ExecStart").unwrap_or_else(|| panic!("{}: no ExecStart", unit.display()));
        let args: Vec<String> = exec.split_whitespace().skip(1).map(str::to_string).collect();
        assert_flags_exist(&help, &args, &unit.display().to_string());
        if let Some(max) = setting("MemoryMax") {
            let cache =
                flag_value(&args, "cache-mb").map_or(DEFAULT_CACHE_MB, |mb| mb.parse().expect("a number"));
            assert!(
                mebibytes(&max) >= cache + HEADROOM_MB,
                "{}: MemoryMax={max}",
                unit.display()
            );
        }
        let stop = setting("TimeoutStopSec").map_or(90, |seconds| seconds.parse().expect("seconds"));
        let drain = flag_value(&args, "drain-seconds")
            .map_or(DEFAULT_DRAIN_SECONDS, |s| s.parse().expect("a number"));
        assert!(
            stop > drain,
            "{}: TimeoutStopSec={stop} <= drain {drain}",
            unit.display()
        );
    }
}

#[test]
fn the_dockerfile_is_multi_stage_and_leaves_flags_to_the_deployment() {
    let help = help();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Dockerfile");
    let lines = logical_lines(&std::fs::read_to_string(&path).expect("read Dockerfile"));
    let instruction = |name: &str| -> Vec<String> {
        lines
            .iter()
            .filter_map(|line| {
                let (word, rest) = line.trim().split_once(char::is_whitespace)?;
                word.eq_ignore_ascii_case(name).then(|| rest.trim().to_string())
            })
            .collect()
    };
    assert!(
        instruction("FROM").len() >= 2,
        "a build stage and a runtime stage"
    );
    for env in instruction("ENV") {
        for name in env
            .split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, _)| name)
        {
            if name.starts_with("TRIAGE_") {
                assert!(
                    help.envs.contains(name),
                    "Dockerfile: {name} is not in `triage --help`"
                );
            }
        }
    }
    let mut entry_args = Vec::new();
    for exec in instruction("ENTRYPOINT").into_iter().chain(instruction("CMD")) {
        let words: Vec<String> = serde_json::from_str(&exec).expect("exec form: a JSON array");
        entry_args.extend(words.into_iter().filter(|word| word.starts_with("--")));
    }
    assert_flags_exist(&help, &entry_args, "Dockerfile ENTRYPOINT/CMD");
    for container in triage_containers() {
        let mut both = entry_args.clone();
        both.extend(container.args());
        assert_flags_exist(
            &help,
            &both,
            &format!("Dockerfile ENTRYPOINT + {}", container.name()),
        );
    }
}

#[test]
fn a_shared_store_url_comes_from_a_secret_never_from_the_manifest() {
    let mut shared = 0;
    for container in triage_containers() {
        assert!(
            flag_value(&container.args(), "store").is_none_or(|store| !store.starts_with("postgres")),
            "{}: a database URL on the command line shows in `ps` and in the manifest",
            container.name()
        );
        let vars = container.container.get("env").and_then(Value::as_sequence);
        for var in vars.into_iter().flatten() {
            if var.get("name").and_then(Value::as_str) != Some("TRIAGE_STORE") {
                continue;
            }
            shared += 1;
            assert!(
                var.get("value").is_none(),
                "{}: TRIAGE_STORE is written in the manifest",
                container.name()
            );
            let secret = var.get("valueFrom").and_then(|from| from.get("secretKeyRef"));
            assert!(
                secret.is_some(),
                "{}: TRIAGE_STORE not from a Secret",
                container.name()
            );
        }
    }
    assert!(shared > 0, "an example runs replicas on the shared store");
}
