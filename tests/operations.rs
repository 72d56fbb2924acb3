//! Operating the server with stock tools: Prometheus metrics and plain
//! probes on the operations port, load shedding that keeps health checks
//! fast, the cap on watchers, reflection for both protocol versions, the
//! gRPC status of an oversized message, and JSON logs.

mod common;

use std::collections::BTreeMap;
use std::future::Future as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{ingest, ticket, TestServer, TEST_RULES};
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use triage::pb;
use triage::pb::triage_service_client::TriageServiceClient;

/// Health and Ping must answer within this while the server is saturated
/// (Kubernetes probes time out at 1 s; this leaves a wide margin).
const FAST: Duration = Duration::from_millis(100);

/// How long a poll waits for a condition before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// An HTTP/1.1 GET on the operations port: status code and body.
async fn http_get(address: SocketAddr, path: &str) -> (u16, String) {
    let path = path.to_string();
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(address).expect("connects");
        let request = format!("GET {path} HTTP/1.1\r\nHost: triage\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .expect("status code");
        (status, body.to_string())
    })
    .await
    .expect("GET ran")
}

/// One sample of the text exposition: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses Prometheus / OpenMetrics text into samples; panics on a line
/// that is neither a comment nor a sample, so a malformed exposition fails.
fn parse_samples(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
    {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample line: {line:?}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("sample value: {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.strip_suffix('}').expect("labels end with }")),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("label: {pair:?}"));
                (key.to_string(), value.trim_end_matches('"').to_string())
            })
            .collect();
        samples.push((name.to_string(), labels, value));
    }
    samples
}

/// The value of the sample `name` whose labels include `labels`; 0 when absent.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|(sample, found, _)| {
            sample == name
                && labels
                    .iter()
                    .all(|(key, value)| found.get(*key).map(String::as_str) == Some(*value))
        })
        .map_or(0.0, |(_, _, value)| *value)
}

async fn scrape(server: &TestServer) -> Vec<Sample> {
    let (status, body) = http_get(server.http_address, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.trim_end().ends_with("# EOF"),
        "an OpenMetrics exposition ends with # EOF"
    );
    parse_samples(&body)
}

#[tokio::test]
async fn metrics_count_ingests_duplicates_and_calls_by_method() {
    let mut server = TestServer::start().await;
    let before = scrape(&server).await;
    let labels = [
        ("side", "reactive"),
        ("category", "outage"),
        ("queue", "incidents"),
    ];
    assert_eq!(value(&before, "triage_tickets_ingested_total", &labels), 0.0);

    let outage = ticket("m-1", "Site down", "The site is down with a 503 error");
    let first = ingest(&mut server.client, outage.clone()).await;
    let classification = first.ticket.expect("ticket").classification.expect("classified");
    assert_eq!(
        (classification.queue.as_str(), classification.category.as_str()),
        ("incidents", "outage"),
        "the test rules send an outage to incidents"
    );
    ingest(&mut server.client, outage).await;

    let after = scrape(&server).await;
    assert_eq!(value(&after, "triage_tickets_ingested_total", &labels), 1.0);
    assert_eq!(value(&after, "triage_ingest_duplicates_total", &[]), 1.0);
    assert_eq!(value(&after, "triage_classification_seconds_count", &[]), 2.0);
    let ingest_calls = [
        ("service", "triage.v1.TriageService"),
        ("method", "IngestTicket"),
        ("code", "OK"),
    ];
    assert_eq!(value(&after, "triage_rpc_seconds_count", &ingest_calls), 2.0);
    assert_eq!(
        value(&after, "triage_queue_depth", &[("queue", "incidents")]),
        1.0
    );
    assert_eq!(
        value(&after, "triage_queue_leased", &[("queue", "incidents")]),
        0.0
    );
    assert_eq!(value(&after, "triage_rules_info", &[("version", "test-1")]), 1.0);
    assert!(value(&after, "triage_store_flush_seconds_count", &[]) >= 1.0);
    assert!(value(&after, "triage_store_flush_batch_size_sum", &[]) >= 1.0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_failed_call_is_counted_under_its_status_code() {
    let mut server = TestServer::start().await;
    let missing = pb::GetTicketRequest {
        ticket_id: "tkt_999".into(),
    };
    let status = server
        .client
        .get_ticket(missing)
        .await
        .expect_err("no such ticket");
    assert_eq!(status.code(), Code::NotFound);
    let samples = scrape(&server).await;
    let labels = [("method", "GetTicket"), ("code", "NOT_FOUND")];
    assert_eq!(value(&samples, "triage_rpc_seconds_count", &labels), 1.0);
    server.shutdown().await;
}

#[tokio::test]
async fn rule_reloads_are_counted_by_outcome() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, TEST_RULES.replace("test-1", "test-2")).expect("write");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = ").expect("write");
    server.app.reload_rules(&good).await.expect("accepted");
    server.app.reload_rules(&bad).await.expect_err("refused");
    let samples = scrape(&server).await;
    assert_eq!(
        value(&samples, "triage_rule_reloads_total", &[("outcome", "success")]),
        1.0
    );
    assert_eq!(
        value(&samples, "triage_rule_reloads_total", &[("outcome", "failure")]),
        1.0
    );
    assert_eq!(
        value(&samples, "triage_rules_info", &[("version", "test-2")]),
        1.0
    );
    assert_eq!(
        value(&samples, "triage_rules_info", &[("version", "test-1")]),
        0.0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn probes_answer_on_the_operations_port() {
    let server = TestServer::start().await;
    assert_eq!(http_get(server.http_address, "/healthz").await.0, 200);
    assert_eq!(http_get(server.http_address, "/readyz").await.0, 200);
    assert_eq!(http_get(server.http_address, "/nope").await.0, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn readyz_fails_once_the_store_cannot_make_writes_durable_while_healthz_stays_up() {
    if common::skip_unless_sled("it makes an fsync in the sled data directory fail") {
        return;
    }
    let mut server = TestServer::start().await;
    ingest(&mut server.client, ticket("ok-1", "Question", "hello")).await;
    // Make the next durable round fail, as a failing disk fails an fsync:
    // the directory it syncs is replaced by a file.
    let blobs = server.app_data_dir().join("v2").join("blobs");
    std::fs::remove_dir_all(&blobs).expect("remove blobs dir");
    std::fs::write(&blobs, b"not a directory").expect("plant a file");
    let request = pb::IngestTicketRequest {
        ticket: Some(ticket("lost-1", "Question", "hello")),
    };
    let status = server
        .client
        .ingest_ticket(request)
        .await
        .expect_err("not durable");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let (ready, reason) = http_get(server.http_address, "/readyz").await;
    assert_eq!(ready, 503, "{reason}");
    assert!(reason.contains("durable"), "{reason}");
    assert_eq!(http_get(server.http_address, "/healthz").await.0, 200);
    // No clean shutdown: its final sync fails too, as it must.
}

/// A new connection to `address`.
async fn channel(address: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connects")
}

/// How long one health check and one Ping take; each must succeed.
async fn probe_latency(address: SocketAddr) -> (Duration, Duration) {
    // A fresh connection, as a probe makes: not queued behind the streams
    // of the saturating client.
    let mut health = HealthClient::new(channel(address).await);
    let mut client = common::connect(address).await;
    let started = Instant::now();
    let answer = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers");
    let health_took = started.elapsed();
    assert_eq!(answer.into_inner().status, 1, "SERVING");
    let started = Instant::now();
    client.ping(pb::PingRequest {}).await.expect("ping answers");
    (health_took, started.elapsed())
}

fn waiting_claim(queue: &str) -> pb::ClaimNextRequest {
    pb::ClaimNextRequest {
        queue: queue.into(),
        agent_id: "agent-1".into(),
        wait_seconds: 30,
        ..Default::default()
    }
}

/// Polls `done` until it holds, failing the test after [`PATIENCE`].
async fn poll_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A call that sends its headers and never its message, on its own HTTP/2
/// connection: the server admits it (it takes a call slot) and waits for
/// the body. Dropping what is returned resets the stream.
async fn stalled_call(address: SocketAddr) -> StalledCall {
    let tcp = tokio::net::TcpStream::connect(address).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    let request = http::Request::post(format!("http://{address}/triage.v1.TriageService/ClassifyTicket"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (mut answer, body) = client.send_request(request, false).expect("headers sent");
    // Polled once: that sends the headers now (there is no answer yet).
    std::future::poll_fn(|context| {
        let _pending = std::pin::Pin::new(&mut answer).poll(context);
        std::task::Poll::Ready(())
    })
    .await;
    (client, answer, body)
}

/// Everything that keeps a stalled call's stream open (dropping any part
/// may reset it).
type StalledCall = (
    h2::client::SendRequest<bytes::Bytes>,
    h2::client::ResponseFuture,
    h2::SendStream<bytes::Bytes>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_over_the_limit_are_shed_but_health_and_ping_are_not() {
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.overload.max_concurrent_rpcs = 2;
    })
    .await;
    let request = pb::ClassifyTicketRequest {
        ticket: Some(ticket("s-1", "Invoice", "Charged twice")),
    };
    server
        .client
        .classify_ticket(request.clone())
        .await
        .expect("admitted");
    // Calls whose message never comes hold slots until they end. One is
    // added after each call that was still admitted (a stalled call may
    // itself be shed while another call is finishing), up to a bound.
    let mut holders = Vec::new();
    let shed = loop {
        assert!(
            holders.len() < 20,
            "never shed with {} stalled calls",
            holders.len()
        );
        holders.push(stalled_call(server.address).await);
        if let Err(status) = server.client.classify_ticket(request.clone()).await {
            break status;
        }
    };
    assert_eq!(shed.code(), Code::ResourceExhausted, "{shed:?}");
    assert!(shed.message().contains("overloaded"), "{shed:?}");
    let (health, ping) = probe_latency(server.address).await;
    assert!(health < FAST && ping < FAST, "health {health:?}, ping {ping:?}");

    drop(holders);
    // The reset calls give their slots back; calls are admitted again.
    let deadline = Instant::now() + PATIENCE;
    loop {
        match server.client.classify_ticket(request.clone()).await {
            Ok(_) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(Instant::now() < deadline, "slots never came back");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    let samples = scrape(&server).await;
    let shed_calls = [("method", "ClassifyTicket"), ("code", "RESOURCE_EXHAUSTED")];
    assert!(value(&samples, "triage_rpc_seconds_count", &shed_calls) >= 1.0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_call_over_the_time_limit_is_answered_deadline_exceeded() {
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.overload.rpc_timeout = Some(Duration::from_millis(200));
    })
    .await;
    let started = Instant::now();
    let status = server
        .client
        .claim_next(waiting_claim("billing"))
        .await
        .expect_err("cut off by the limit, not by the 30 s wait");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Nothing was left behind: the queue still has no claim waiting on it.
    let app = std::sync::Arc::clone(&server.app);
    poll_until("the cut-off claim stops waiting", || app.watchers() == 0).await;
    server
        .client
        .ping(pb::PingRequest {})
        .await
        .expect("fast calls are unaffected");
    server.shutdown().await;
}

/// A body of about 250 KiB with non-ASCII word characters: the slowest
/// kind of text to scan.
fn heavy_body() -> String {
    let words = "Dieſe Rechnung iſt falſch, der Dienſt iſt ausgefallen und niemand antwortet. ";
    words.repeat(250 * 1024 / words.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_ping_stay_fast_while_classification_is_saturated() {
    let server = TestServer::start_with(TEST_RULES, |config| {
        config.overload.max_concurrent_rpcs = 4;
        config.app.classify_threads = 1;
    })
    .await;
    server
        .app
        .replace_rules(triage::rules::RuleSet::default_rules().expect("default rules"))
        .await
        .expect("the shipped rules, the heavier set");
    let body = heavy_body();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..12)
        .map(|n| {
            let mut client = server.client.clone();
            let body = body.clone();
            let stop = std::sync::Arc::clone(&stop);
            tokio::spawn(async move {
                let (mut answered, mut shed) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let request = pb::ClassifyTicketRequest {
                        ticket: Some(ticket(&format!("load-{n}"), "Rechnung", &body)),
                    };
                    match client.classify_ticket(request).await {
                        Ok(_) => answered += 1,
                        Err(status) if status.code() == Code::ResourceExhausted => shed += 1,
                        Err(status) => panic!("unexpected {status:?}"),
                    }
                }
                (answered, shed)
            })
        })
        .collect();
    let app = std::sync::Arc::clone(&server.app);
    let classified = || {
        let text = app.metrics().encode();
        value(&parse_samples(&text), "triage_classification_seconds_count", &[])
    };
    poll_until("classification is under way", || classified() >= 1.0).await;
    let mut slowest = (Duration::ZERO, Duration::ZERO);
    for _ in 0..20 {
        let (health, ping) = probe_latency(server.address).await;
        slowest = (slowest.0.max(health), slowest.1.max(ping));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut answered, mut shed) = (0, 0);
    for task in load {
        let (a, s) = task.await.expect("load task");
        answered += a;
        shed += s;
    }
    eprintln!(
        "under load: slowest health {:?}, slowest ping {:?}; {answered} classified, {shed} shed",
        slowest.0, slowest.1
    );
    assert!(slowest.0 < FAST, "health took {:?}", slowest.0);
    assert!(slowest.1 < FAST, "ping took {:?}", slowest.1);
    assert!(shed > 0, "12 callers over a limit of 4 were never shed");
    server.shutdown().await;
}

#[tokio::test]
async fn a_ticket_over_its_classification_budget_is_refused_as_resource_exhausted() {
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.app.classify_budget = Some(Duration::from_millis(1));
    })
    .await;
    server
        .app
        .replace_rules(triage::rules::RuleSet::default_rules().expect("default rules"))
        .await
        .expect("the shipped rules");
    let request = pb::ClassifyTicketRequest {
        ticket: Some(ticket("b-1", "Rechnung", &heavy_body())),
    };
    let status = server
        .client
        .classify_ticket(request)
        .await
        .expect_err("over budget");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("budget"), "{status:?}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_claims_hold_no_call_slot_but_count_as_watchers() {
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.overload.max_concurrent_rpcs = 2;
        config.overload.max_watchers = 3;
    })
    .await;
    // More agents long-polling than there are call slots.
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let mut client = server.client.clone();
            tokio::spawn(async move { client.claim_next(waiting_claim("billing")).await })
        })
        .collect();
    let app = std::sync::Arc::clone(&server.app);
    poll_until("three claims wait", || app.watchers() == 3).await;

    // Integrations are not shed by them.
    let classified = server
        .client
        .classify_ticket(pb::ClassifyTicketRequest {
            ticket: Some(ticket("c-1", "Invoice", "Charged twice")),
        })
        .await;
    assert!(classified.is_ok(), "shed by waiting claims: {classified:?}");
    // A fourth waiting claim is over the watcher cap; a claim that does
    // not wait is not.
    let over = server
        .client
        .claim_next(waiting_claim("billing"))
        .await
        .expect_err("over the cap");
    assert_eq!(over.code(), Code::ResourceExhausted, "{over:?}");
    assert!(over.message().contains("waiting claims"), "{over:?}");
    let now = pb::ClaimNextRequest {
        wait_seconds: 0,
        ..waiting_claim("billing")
    };
    assert!(server
        .client
        .claim_next(now)
        .await
        .expect("admitted")
        .into_inner()
        .ticket
        .is_none());

    // A ticket arriving goes to one of the waiting agents.
    ingest(&mut server.client, ticket("w-1", "Invoice", "Charged twice")).await;
    poll_until("a waiting agent gets the ticket", || {
        waiting.iter().any(|claim| claim.is_finished())
    })
    .await;
    let (answered, still_waiting): (Vec<_>, Vec<_>) =
        waiting.into_iter().partition(|claim| claim.is_finished());
    assert_eq!(answered.len(), 1);
    for claim in answered {
        let ticket = claim
            .await
            .expect("join")
            .expect("claim answers")
            .into_inner()
            .ticket;
        let input = ticket.expect("the new ticket").input.expect("input");
        assert_eq!(input.external_id, "w-1");
    }
    for claim in still_waiting {
        claim.abort();
    }
    server.shutdown().await;
}

#[tokio::test]
async fn watchers_over_the_cap_are_refused_as_resource_exhausted() {
    let mut server = TestServer::start_with(TEST_RULES, |config| {
        config.overload.max_watchers = 2;
    })
    .await;
    let watch = || pb::WatchQueueRequest {
        queue: "incidents".into(),
    };
    let first = server.client.watch_queue(watch()).await.expect("first watch");
    let _second = server.client.watch_queue(watch()).await.expect("second watch");
    let refused = server
        .client
        .watch_queue(watch())
        .await
        .expect_err("over the cap");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("watchers"), "{refused:?}");

    // A watcher that goes away frees its place.
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    let mut third = loop {
        match server.client.watch_queue(watch()).await {
            Ok(stream) => break stream.into_inner(),
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(Instant::now() < deadline, "the slot never came back");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    };
    ingest(&mut server.client, ticket("w-1", "Site down", "The site is down")).await;
    let event = tokio::time::timeout(PATIENCE, third.next())
        .await
        .expect("an event in time")
        .expect("stream open")
        .expect("event");
    assert_eq!(event.queue, "incidents");
    server.shutdown().await;
}

/// Defines `async fn $name(address) -> (services listed, health resolved)`:
/// asks reflection `$version` for its services and for the file that
/// declares `grpc.health.v1.Health`. The two versions have the same
/// messages in different packages.
macro_rules! reflect {
    ($name:ident, $version:ident) => {
        async fn $name(address: SocketAddr) -> (Vec<String>, bool) {
            use tonic_reflection::pb::$version::server_reflection_client::ServerReflectionClient;
            use tonic_reflection::pb::$version::server_reflection_request::MessageRequest;
            use tonic_reflection::pb::$version::server_reflection_response::MessageResponse;
            use tonic_reflection::pb::$version::ServerReflectionRequest;
            let mut client = ServerReflectionClient::new(channel(address).await);
            let requests = [
                MessageRequest::ListServices(String::new()),
                MessageRequest::FileContainingSymbol("grpc.health.v1.Health".into()),
            ]
            .map(|request| ServerReflectionRequest {
                host: String::new(),
                message_request: Some(request),
            });
            let mut answers = client
                .server_reflection_info(tokio_stream::iter(requests))
                .await
                .expect("reflection answers")
                .into_inner();
            let mut services = Vec::new();
            let mut health_file = false;
            while let Some(answer) = answers.next().await {
                match answer.expect("answer").message_response {
                    Some(MessageResponse::ListServicesResponse(listed)) => {
                        services.extend(listed.service.into_iter().map(|service| service.name));
                    }
                    Some(MessageResponse::FileDescriptorResponse(files)) => {
                        health_file = !files.file_descriptor_proto.is_empty();
                    }
                    other => panic!("unexpected reflection answer {other:?}"),
                }
            }
            (services, health_file)
        }
    };
}

reflect!(reflect_v1, v1);
reflect!(reflect_v1alpha, v1alpha);

#[tokio::test]
async fn reflection_v1_and_v1alpha_both_list_every_service_and_resolve_health() {
    let server = TestServer::start().await;
    for (version, (services, health_file)) in [
        ("v1", reflect_v1(server.address).await),
        ("v1alpha", reflect_v1alpha(server.address).await),
    ] {
        for expected in ["triage.v1.TriageService", "grpc.health.v1.Health"] {
            assert!(
                services.iter().any(|service| service == expected),
                "{version} lists {expected}: {services:?}"
            );
        }
        assert!(health_file, "{version} resolves grpc.health.v1.Health");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn an_oversized_message_is_refused_as_resource_exhausted() {
    let mut server = TestServer::start().await;
    // Over the decoder's limit (the body limit plus 1 MiB of headroom).
    let body = "x".repeat(server.app.limits().max_body_bytes + 2 * 1024 * 1024);
    let request = pb::IngestTicketRequest {
        ticket: Some(ticket("big-1", "Big", &body)),
    };
    let status = server.client.ingest_ticket(request).await.expect_err("too large");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    server.shutdown().await;
}

#[test]
fn json_log_format_writes_one_json_object_a_line_with_the_request_id() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "off",
            "--log-format",
            "json",
        ])
        .arg("--data-dir")
        .arg(temp.path().join("data"))
        .env("RUST_LOG", "info,triage::logging=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let address: SocketAddr = line
        .trim()
        .strip_prefix("triage listening on ")
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("listening line: {line:?}"));
    // Killed when dropped, also when an assertion below fails.
    let server = common::KillOnDrop(Some(common::ServerProcess { child, address }));
    let (lines, logged) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let mut client = TriageServiceClient::connect(format!("http://{address}"))
            .await
            .expect("connects");
        let mut ping = tonic::Request::new(pb::PingRequest {});
        ping.metadata_mut()
            .insert("x-request-id", "json-test-42".parse().expect("ascii"));
        let answer = client.ping(ping).await.expect("ping");
        let echoed = answer
            .metadata()
            .get("x-request-id")
            .and_then(|id| id.to_str().ok());
        assert_eq!(echoed, Some("json-test-42"));
    });
    let deadline = Instant::now() + PATIENCE;
    let mut first = None;
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = logged.recv_timeout(left) else {
            break None;
        };
        assert!(!line.contains('\u{1b}'), "no ANSI codes: {line:?}");
        let parsed: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line:?}"));
        first.get_or_insert_with(|| parsed.clone());
        if parsed["span"]["request_id"] == "json-test-42" {
            break Some(parsed);
        }
    };
    drop(server);
    let first = first.expect("at least one log line");
    assert!(
        first["level"].is_string() && first["fields"]["message"].is_string(),
        "{first}"
    );
    let found = found.expect("a line logged inside the call's span carries its request id");
    assert_eq!(
        found["span"]["method"], "/triage.v1.TriageService/Ping",
        "{found}"
    );
}
