//! Bearer-token auth on every triage RPC: no token or an unknown one is
//! UNAUTHENTICATED, a token without the method's role PERMISSION_DENIED,
//! the right role passes to the handler; health and reflection stay open;
//! a non-loopback address without tokens is refused at start; tokens are
//! never logged.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{TestServer, TEST_RULES};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use triage::auth::{Keyring, Tokens};
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;

const INGEST: &str = "ingest-secret-0123456789";
const AGENT: &str = "agent-secret-0123456789";
const ADMIN: &str = "admin-secret-0123456789";

/// The roles of the spec, per RPC (independent of the server's table, so a
/// change to either is noticed).
const SPEC: &[(&str, &[&str])] = &[
    ("IngestTicket", &["ingest", "admin"]),
    ("ClassifyTicket", &["ingest", "agent", "admin"]),
    ("GetTicket", &["agent", "admin"]),
    ("ListQueues", &["agent", "admin"]),
    ("ListTickets", &["agent", "admin"]),
    ("ListCustomerTickets", &["agent", "admin"]),
    ("ClaimNext", &["agent", "admin"]),
    ("ExtendLease", &["agent", "admin"]),
    ("ReleaseTicket", &["agent", "admin"]),
    ("CompleteTicket", &["agent", "admin"]),
    ("TransferTicket", &["agent", "admin"]),
    ("WatchQueue", &["agent", "admin"]),
    ("ExportLabels", &["admin"]),
    ("Ping", &["ingest", "agent", "admin"]),
    ("ValidateRuleSet", &["admin"]),
    ("ExplainTicket", &["admin"]),
    ("GetRuleSet", &["admin"]),
    ("ReloadRules", &["admin"]),
    ("BacktestRuleSet", &["admin"]),
    ("ReclassifyOpen", &["admin"]),
];

fn token_of(role: &str) -> &'static str {
    match role {
        "ingest" => INGEST,
        "agent" => AGENT,
        "admin" => ADMIN,
        other => panic!("no role {other}"),
    }
}

async fn start() -> TestServer {
    let tokens = Tokens::parse_env(&format!("ingest:{INGEST},agent:{AGENT},admin:{ADMIN}")).expect("tokens");
    TestServer::start_with(TEST_RULES, |config| {
        config.tokens = Some(Arc::new(Keyring::fixed(tokens)))
    })
    .await
}

/// `message` with `authorization` set to `header` (none when `None`).
fn request<T>(message: T, header: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(header) = header {
        let value: MetadataValue<_> = header.parse().expect("header value");
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn ticket() -> pb::TicketInput {
    common::ticket("auth-1", "Hello", "just saying hi")
}

/// Calls `rpc` with a minimal request; `Ok` when the call got past auth
/// and the handler answered, whatever its status.
async fn call(
    client: &mut TriageServiceClient<Channel>,
    rpc: &str,
    header: Option<&str>,
) -> Result<(), Status> {
    let id = || "tkt_0".to_string();
    let lease = || "lease".to_string();
    let outcome = match rpc {
        "IngestTicket" => client
            .ingest_ticket(request(
                pb::IngestTicketRequest {
                    ticket: Some(ticket()),
                },
                header,
            ))
            .await
            .map(drop),
        "ClassifyTicket" => client
            .classify_ticket(request(
                pb::ClassifyTicketRequest {
                    ticket: Some(ticket()),
                },
                header,
            ))
            .await
            .map(drop),
        "GetTicket" => client
            .get_ticket(request(pb::GetTicketRequest { ticket_id: id() }, header))
            .await
            .map(drop),
        "ListQueues" => client
            .list_queues(request(pb::ListQueuesRequest {}, header))
            .await
            .map(drop),
        "ListTickets" => {
            let message = pb::ListTicketsRequest {
                queue: "inbox".into(),
                ..Default::default()
            };
            client.list_tickets(request(message, header)).await.map(drop)
        }
        "ListCustomerTickets" => {
            let message = pb::ListCustomerTicketsRequest {
                customer_id: "cust-1".into(),
                ..Default::default()
            };
            client
                .list_customer_tickets(request(message, header))
                .await
                .map(drop)
        }
        "ClaimNext" => {
            let message = pb::ClaimNextRequest {
                queue: "inbox".into(),
                agent_id: "alice".into(),
                ..Default::default()
            };
            client.claim_next(request(message, header)).await.map(drop)
        }
        "ExtendLease" => {
            let message = pb::ExtendLeaseRequest {
                ticket_id: id(),
                lease_token: lease(),
                ..Default::default()
            };
            client.extend_lease(request(message, header)).await.map(drop)
        }
        "ReleaseTicket" => {
            let message = pb::ReleaseTicketRequest {
                ticket_id: id(),
                lease_token: lease(),
                ..Default::default()
            };
            client.release_ticket(request(message, header)).await.map(drop)
        }
        "CompleteTicket" => {
            let message = pb::CompleteTicketRequest {
                ticket_id: id(),
                lease_token: lease(),
                ..Default::default()
            };
            client.complete_ticket(request(message, header)).await.map(drop)
        }
        "TransferTicket" => {
            let message = pb::TransferTicketRequest {
                ticket_id: id(),
                lease_token: lease(),
                queue: "billing".into(),
                reason: "wrong queue".into(),
                ..Default::default()
            };
            client.transfer_ticket(request(message, header)).await.map(drop)
        }
        "WatchQueue" => {
            let message = pb::WatchQueueRequest {
                queue: "inbox".into(),
            };
            client.watch_queue(request(message, header)).await.map(drop)
        }
        "ExportLabels" => client
            .export_labels(request(pb::ExportLabelsRequest::default(), header))
            .await
            .map(drop),
        "Ping" => client.ping(request(pb::PingRequest {}, header)).await.map(drop),
        "ValidateRuleSet" => client
            .validate_rule_set(request(pb::ValidateRuleSetRequest::default(), header))
            .await
            .map(drop),
        "ExplainTicket" => client
            .explain_ticket(request(pb::ExplainTicketRequest::default(), header))
            .await
            .map(drop),
        "GetRuleSet" => client
            .get_rule_set(request(pb::GetRuleSetRequest::default(), header))
            .await
            .map(drop),
        "ReloadRules" => client
            .reload_rules(request(pb::ReloadRulesRequest::default(), header))
            .await
            .map(drop),
        "BacktestRuleSet" => client
            .backtest_rule_set(request(pb::BacktestRuleSetRequest::default(), header))
            .await
            .map(drop),
        "ReclassifyOpen" => client
            .reclassify_open(request(pb::ReclassifyOpenRequest::default(), header))
            .await
            .map(drop),
        other => panic!("the test does not know how to call {other}"),
    };
    match outcome {
        Err(status) if matches!(status.code(), Code::Unauthenticated | Code::PermissionDenied) => Err(status),
        _ => Ok(()),
    }
}

fn expect_code(outcome: Result<(), Status>, code: Code, context: &str) -> Status {
    let status = outcome.expect_err(context);
    assert_eq!(status.code(), code, "{context}: {status:?}");
    status
}

#[test]
fn the_spec_table_covers_every_rpc_of_the_service() {
    let mut methods = triage::server::triage_methods();
    assert!(!methods.is_empty(), "the descriptor lists the service");
    let mut specified: Vec<String> = SPEC.iter().map(|(rpc, _)| rpc.to_string()).collect();
    methods.sort();
    specified.sort();
    assert_eq!(specified, methods);
}

#[tokio::test]
async fn every_rpc_without_a_token_is_unauthenticated() {
    let mut server = start().await;
    for (rpc, _) in SPEC {
        let status = expect_code(
            call(&mut server.client, rpc, None).await,
            Code::Unauthenticated,
            rpc,
        );
        assert!(status.message().contains("Bearer"), "{rpc}: {status:?}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn every_rpc_with_an_unknown_token_is_unauthenticated() {
    let mut server = start().await;
    let unknown = "Bearer not-a-known-token-0123456789";
    for (rpc, _) in SPEC {
        let status = expect_code(
            call(&mut server.client, rpc, Some(unknown)).await,
            Code::Unauthenticated,
            rpc,
        );
        assert!(
            !status.message().contains("not-a-known"),
            "token echoed: {status:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn every_rpc_with_a_malformed_authorization_header_is_unauthenticated() {
    let mut server = start().await;
    for header in [
        format!("Basic {ADMIN}"),
        format!("Bearer{ADMIN}"),
        "Bearer ".to_string(),
        ADMIN.to_string(),
    ] {
        for (rpc, _) in SPEC {
            let context = format!("{rpc} with {header:?}");
            expect_code(
                call(&mut server.client, rpc, Some(&header)).await,
                Code::Unauthenticated,
                &context,
            );
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn every_rpc_with_a_role_it_does_not_allow_is_permission_denied() {
    let mut server = start().await;
    for (rpc, allowed) in SPEC {
        for role in ["ingest", "agent", "admin"]
            .iter()
            .filter(|role| !allowed.contains(role))
        {
            let header = format!("Bearer {}", token_of(role));
            let context = format!("{rpc} as {role}");
            let status = expect_code(
                call(&mut server.client, rpc, Some(&header)).await,
                Code::PermissionDenied,
                &context,
            );
            assert!(status.message().contains(rpc), "{context}: {status:?}");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn every_rpc_with_an_allowed_role_reaches_its_handler() {
    let mut server = start().await;
    for (rpc, allowed) in SPEC {
        for role in *allowed {
            // Scheme names are case-insensitive.
            for scheme in ["Bearer", "bearer"] {
                let header = format!("{scheme} {}", token_of(role));
                let outcome = call(&mut server.client, rpc, Some(&header)).await;
                assert!(outcome.is_ok(), "{rpc} as {role}: {outcome:?}");
            }
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn a_token_listed_under_two_roles_has_both() {
    let tokens = Tokens::parse_env(&format!("ingest:{INGEST},agent:{INGEST}")).expect("tokens");
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.tokens = Some(Arc::new(Keyring::fixed(tokens)))
    })
    .await;
    let header = format!("Bearer {INGEST}");
    for rpc in ["IngestTicket", "ClaimNext"] {
        let outcome = call(&mut server.client, rpc, Some(&header)).await;
        assert!(outcome.is_ok(), "{rpc}: {outcome:?}");
    }
    let denied = call(&mut server.client, "ExportLabels", Some(&header)).await;
    expect_code(denied, Code::PermissionDenied, "ExportLabels");
    server.shutdown().await;
}

#[tokio::test]
async fn health_and_reflection_answer_without_a_token() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let server = start().await;
    let channel = Channel::from_shared(format!("http://{}", server.address))
        .expect("uri")
        .connect()
        .await
        .expect("connects");
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "triage.v1.TriageService".into(),
        })
        .await
        .expect("health answers without a token");
    assert_eq!(health.into_inner().status, 1, "SERVING");
    let list = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([list]))
        .await
        .expect("reflection answers without a token")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("reflection stream")
        .expect("an answer");
    assert!(
        format!("{answer:?}").contains("triage.v1.TriageService"),
        "{answer:?}"
    );
    server.shutdown().await;
}

#[test]
fn starting_on_a_network_address_without_tokens_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["--listen", "0.0.0.0:0", "--data-dir"])
        .arg(&data_dir)
        .env_remove("TRIAGE_TOKENS")
        .env_remove("TRIAGE_TOKENS_FILE")
        .env_remove("TRIAGE_INSECURE_NO_AUTH")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(
        stderr.contains("--tokens-file") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "nothing listened");
    assert!(!data_dir.exists(), "no store was created");
}

#[test]
fn the_binary_enforces_a_tokens_file_and_never_logs_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens_file = dir.path().join("tokens");
    std::fs::write(&tokens_file, format!("# test tokens\nagent:{AGENT}\n")).expect("write tokens");
    let child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tokens-file")
        .arg(&tokens_file)
        .env("RUST_LOG", "triage=trace,info")
        .env("TRIAGE_TOKENS", format!("ingest:{INGEST}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut child = Reap(Some(child));
    let mut stdout = std::io::BufReader::new(child.get().stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("first line");
    let address = line
        .trim()
        .strip_prefix("triage listening on ")
        .expect("listening")
        .to_string();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut client = TriageServiceClient::connect(format!("http://{address}"))
            .await
            .expect("connects");
        let agent = format!("Bearer {AGENT}");
        let ingest = format!("Bearer {INGEST}");
        assert!(call(&mut client, "ListQueues", Some(&agent)).await.is_ok());
        assert!(
            call(&mut client, "IngestTicket", Some(&ingest)).await.is_ok(),
            "env tokens add to the file's"
        );
        expect_code(
            call(&mut client, "IngestTicket", Some(&agent)).await,
            Code::PermissionDenied,
            "agent ingests",
        );
        let wrong = Some("Bearer wrong-secret-0123456789");
        expect_code(
            call(&mut client, "Ping", wrong).await,
            Code::Unauthenticated,
            "wrong token",
        );
    });
    let child = child.0.take().expect("running");
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    let output = child.wait_with_output().expect("exits");
    assert!(output.status.success(), "clean exit");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("call refused"), "refusals are logged: {stderr}");
    for secret in [AGENT, INGEST, "wrong-secret"] {
        assert!(!stderr.contains(secret), "a token was logged: {stderr}");
    }
}

#[tokio::test]
async fn tokens_rotate_on_sighup_without_a_restart() {
    use common::{KillOnDrop, ServerProcess};
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens_file = dir.path().join("tokens");
    std::fs::write(&tokens_file, format!("agent:{AGENT}\n")).expect("write tokens");
    let file_arg = tokens_file.display().to_string();
    let server = ServerProcess::start(&dir.path().join("data"), &["--tokens-file", &file_arg]);
    let server = KillOnDrop(Some(server));
    let mut client = common::connect(server.server().address).await;
    let old = format!("Bearer {AGENT}");
    let new_token = "rotated-agent-secret-0123456789";
    let new = format!("Bearer {new_token}");
    assert!(
        call(&mut client, "Ping", Some(&old)).await.is_ok(),
        "the old token works before"
    );

    std::fs::write(&tokens_file, format!("agent:{new_token}\n")).expect("rotate");
    let pid = server.server().child.id().to_string();
    assert!(Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while call(&mut client, "Ping", Some(&new)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "the new token never worked");
        tokio::task::yield_now().await;
    }
    let status = call(&mut client, "Ping", Some(&old)).await;
    expect_code(status, Code::Unauthenticated, "the old token after rotation");
}

/// A child process killed when dropped, so a failing test leaves no
/// server behind.
struct Reap(Option<std::process::Child>);

impl Reap {
    fn get(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("running")
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn a_rewritten_token_file_is_picked_up_without_a_signal() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("tokens");
    std::fs::write(&path, format!("agent:{AGENT}\n")).expect("write");
    let keyring = Keyring::load(Some(path.clone()), None)
        .expect("loads")
        .expect("a keyring");
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.tokens = Some(Arc::new(keyring));
        config.file_check_interval = std::time::Duration::from_millis(10);
    })
    .await;
    let (old, new) = (format!("Bearer {AGENT}"), format!("Bearer {ADMIN}"));
    assert!(call(&mut server.client, "ListQueues", Some(&old)).await.is_ok());

    std::fs::write(&path, format!("agent:{ADMIN}\n")).expect("rotate");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while call(&mut server.client, "ListQueues", Some(&new)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the new token was never accepted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let refused = call(&mut server.client, "ListQueues", Some(&old)).await;
    expect_code(refused, Code::Unauthenticated, "the rotated-out token");
    server.shutdown().await;
}
