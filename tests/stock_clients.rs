//! The README's grpcurl examples, run as written by a stock gRPC client
//! that knows nothing of triage but what reflection tells it (Python's
//! grpcio with grpcio-reflection, `tests/stock_clients/readme_grpcurl.py`):
//! every JSON body parses into the server's message types and every call
//! answers. grpcurl itself cannot be installed here (it is a Go binary, in
//! no registry this machine reaches); the script does what grpcurl does.
//!
//! Needs python3 with grpcio, grpcio-reflection and protobuf (`.ci/run`
//! installs them). Without them the test is skipped with a message, and
//! fails under `CI=true`.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{TestServer, TEST_RULES};
use serde_json::Value;
use triage::auth::{Keyring, Tokens};

const AGENT: &str = "agent-secret-0123456789";

/// Whether python3 can load the stock client; the reason when not.
fn stock_client_missing() -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", "import grpc, grpc_reflection, google.protobuf"])
        .output();
    match probe {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(String::from_utf8_lossy(&output.stderr).trim().to_string()),
        Err(err) => Some(format!("python3: {err}")),
    }
}

/// True when the test can run; panics under CI when it cannot.
fn runnable() -> bool {
    let Some(reason) = stock_client_missing() else {
        return true;
    };
    let message =
        format!("stock-client test skipped: {reason} (pip install grpcio grpcio-reflection protobuf)");
    assert!(std::env::var_os("CI").is_none(), "{message}");
    eprintln!("{message}");
    false
}

/// Runs every grpcurl example of the README against `server`, with
/// `envs` set; one JSON object per example.
async fn run_examples(server: &TestServer, envs: &[(&str, &str)]) -> Vec<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut command = Command::new("python3");
    command
        .arg(format!("{root}/tests/stock_clients/readme_grpcurl.py"))
        .arg(format!("{root}/README.md"))
        .arg(server.address.to_string())
        .envs(envs.iter().copied());
    let output = tokio::task::spawn_blocking(move || command.output().expect("python3 runs"))
        .await
        .expect("join");
    assert!(
        output.status.success(),
        "the stock client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect()
}

fn the<'a>(results: &'a [Value], command_part: &str) -> &'a Value {
    results
        .iter()
        .find(|result| {
            result["command"]
                .as_str()
                .is_some_and(|command| command.contains(command_part))
        })
        .unwrap_or_else(|| panic!("no README example with {command_part:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plaintext_grpcurl_example_of_the_readme_works_as_written() {
    if !runnable() {
        return;
    }
    let server = TestServer::start().await;
    let results = run_examples(&server, &[("TRIAGE_AGENT_TOKEN", AGENT)]).await;
    let run: Vec<&Value> = results
        .iter()
        .filter(|result| result.get("skipped").is_none())
        .collect();
    assert!(run.len() >= 7, "{results:#?}");
    for result in &run {
        assert_eq!(result["ok"], true, "{result:#}");
    }
    let skipped: Vec<&str> = results
        .iter()
        .filter_map(|result| result["skipped"].as_str())
        .collect();
    assert!(
        skipped.iter().all(|why| why.starts_with("TLS example")),
        "{skipped:?}"
    );

    let ingested = &the(&results, "IngestTicket")["response"];
    assert_eq!(ingested["created"], true, "{ingested:#}");
    assert_eq!(
        ingested["ticket"]["classification"]["side"], "SIDE_PROACTIVE",
        "{ingested:#}"
    );
    let services = the(&results, " list")["services"].to_string();
    assert!(services.contains("triage.v1.TriageService") && services.contains("grpc.health.v1.Health"));
    assert_eq!(the(&results, "Health/Check")["response"]["status"], "SERVING");
    assert_eq!(
        the(&results, "x-request-id: my-call-1")["metadata"]["x-request-id"],
        "my-call-1"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_example_works_with_auth_on_and_health_needs_none() {
    if !runnable() {
        return;
    }
    let tokens = Tokens::parse_env(&format!("agent:{AGENT}")).expect("tokens");
    let server = TestServer::start_with(TEST_RULES, |config| {
        config.tokens = Some(Arc::new(Keyring::fixed(tokens)));
    })
    .await;
    let results = run_examples(&server, &[("TRIAGE_AGENT_TOKEN", AGENT)]).await;
    let with_token = the(&results, "Bearer $TRIAGE_AGENT_TOKEN\"  127.0.0.1");
    assert_eq!(with_token["ok"], true, "{with_token:#}");
    assert_eq!(the(&results, "Health/Check")["ok"], true);
    let ingest = the(&results, "IngestTicket");
    assert!(
        ingest["error"]
            .as_str()
            .is_some_and(|error| error.starts_with("UNAUTHENTICATED")),
        "{ingest:#}"
    );
    server.shutdown().await;
}
