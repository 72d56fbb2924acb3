//! `triage-cli`, the built binary, against a real server: readable output
//! with local times, `--json` that parses back into the CLI's views, bulk
//! ingest from JSON lines, addresses without a scheme, and errors that say
//! what to do (with a non-zero exit).
//!
//! The server's clock is the test clock (2026-01-01T00:00:00Z) and the CLI
//! runs with `TZ=UTC`, so the human output is the same on every machine.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TestServer, TEST_RULES};
use triage::auth::{Keyring, Tokens};
use triage::cli::view;

/// A token the auth tests' server accepts for every RPC.
const ADMIN_TOKEN: &str = "admin-secret-0123456789";

/// `triage-cli` with `args` against `addr` (as given, no scheme added);
/// `envs` set on top of `TZ=UTC` and an empty environment for triage's own
/// variables.
fn command(addr: &str, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage-cli"));
    command
        .arg("--addr")
        .arg(addr)
        .args(args)
        .env("TZ", "UTC")
        .env_remove("TRIAGE_ADDR")
        .env_remove("TRIAGE_TOKEN")
        .env_remove("TRIAGE_TLS_CA")
        .env_remove("TRIAGE_CLIENT_CERT")
        .env_remove("TRIAGE_CLIENT_KEY")
        .envs(envs.iter().copied())
        .stdin(Stdio::null());
    command
}

/// Runs the CLI to the end off the async workers (the server runs on them).
async fn run(addr: String, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = command(&addr, args, envs);
    tokio::task::spawn_blocking(move || command.output().expect("triage-cli runs"))
        .await
        .expect("join")
}

/// Runs the CLI against `server` with `host:port` (no scheme).
async fn cli(server: &TestServer, args: &[&str]) -> Output {
    run(server.address.to_string(), args, &[]).await
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The output of a run that must succeed.
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "triage-cli failed: {}{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Compares `text` with `tests/snapshots/NAME.txt`; `UPDATE_SNAPSHOTS=1`
/// rewrites the file instead (review the diff before committing).
fn snapshot(name: &str, text: &str) {
    let path = format!("{}/tests/snapshots/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, text).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        text, expected,
        "output differs from {path} (UPDATE_SNAPSHOTS=1 to accept):\n{text}"
    );
}

/// `--json` output parsed into `T`.
fn json<T: serde::de::DeserializeOwned>(output: Output) -> T {
    let text = ok(output);
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not the expected JSON ({err}): {text}"))
}

const CHARGED: &[&str] = &[
    "ingest",
    "--external-id",
    "1001",
    "--source",
    "zendesk",
    "--subject",
    "Charged twice",
    "--body",
    "My card was charged twice for the May invoice",
    "--customer",
    "c-42",
    "--email",
    "ann@example.com",
    "--language",
    "de-CH",
    "--tag",
    "web-form",
    "--attr",
    "plan=gold",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_prints_the_ticket_as_a_block_with_local_times() {
    let server = TestServer::start().await;
    let text = ok(cli(&server, CHARGED).await);
    // The sentiment figures belong to src/sentiment, not to the CLI.
    let stable: String = text
        .lines()
        .map(|line| match line.starts_with("  sentiment ") {
            true => "  sentiment    (figures from src/sentiment)\n".to_string(),
            false => format!("{line}\n"),
        })
        .collect();
    snapshot("cli_ingest", &stable);
    assert!(!text.contains("Timestamp {"), "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_json_parses_back_with_every_field_given() {
    let server = TestServer::start().await;
    let mut args = CHARGED.to_vec();
    args.push("--json");
    let ingested: view::Ingested = json(cli(&server, &args).await);
    assert!(ingested.created);
    let ticket = ingested.ticket;
    assert_eq!(ticket.id, "tkt_0");
    assert_eq!(ticket.state, "queued");
    assert_eq!(ticket.customer.email, "ann@example.com");
    assert_eq!(ticket.language, "de-CH");
    assert_eq!(ticket.tags, ["web-form"]);
    assert_eq!(ticket.attributes.get("plan").map(String::as_str), Some("gold"));
    assert_eq!(ticket.ingested_at.as_deref(), Some("2026-01-01T00:00:00Z"));
    assert_eq!(ticket.classification.side, "reactive");
    assert_eq!(ticket.classification.queue, "billing");

    let again: view::Ingested = json(cli(&server, &args).await);
    assert!(!again.created, "a retry reports the original ticket");
    assert_eq!(again.ticket.id, "tkt_0");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_json_parses_back_with_body_and_history() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let ticket: view::Ticket = json(cli(&server, &["get", "tkt_0", "--json"]).await);
    assert_eq!(ticket.body, "My card was charged twice for the May invoice");
    assert_eq!(ticket.history.len(), 1);
    assert_eq!(ticket.history[0].action, "ingested");
    assert!(ticket.lease.is_none());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_shows_the_lease_token_on_its_own_line_near_the_top() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let text = ok(cli(&server, &["claim", "billing", "--agent", "alice"]).await);
    let expected_head =
        "Claimed tkt_0 for alice, lease until 2026-01-01 00:05:00 +00:00\n\n    Lease token: ";
    assert!(text.starts_with(expected_head), "{text}");
    let token = text
        .lines()
        .nth(2)
        .and_then(|line| line.strip_prefix("    Lease token: "));
    let token = token.expect("token line").to_string();
    assert_eq!(token.len(), 32, "{text}");
    let done = ok(cli(
        &server,
        &["complete", "tkt_0", "--lease", &token, "--resolution", "refunded"],
    )
    .await);
    assert!(done.starts_with("Completed tkt_0\n"), "{done}");
    assert!(done.contains("  resolution   refunded\n"), "{done}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_json_carries_the_token_that_works_the_ticket() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let claimed: view::Claimed = json(cli(&server, &["claim", "billing", "--agent", "bob", "--json"]).await);
    let token = claimed.lease_token.expect("lease token");
    let ticket = claimed.ticket.expect("ticket");
    assert_eq!(
        ticket.lease.as_ref().map(|lease| lease.agent_id.as_str()),
        Some("bob")
    );
    let extended: view::Ticket = json(
        cli(
            &server,
            &[
                "extend",
                "tkt_0",
                "--lease",
                &token,
                "--lease-seconds",
                "600",
                "--json",
            ],
        )
        .await,
    );
    let expires = extended.lease.and_then(|lease| lease.expires_at);
    assert_eq!(expires.as_deref(), Some("2026-01-01T00:10:00Z"));
    assert!(!extended.history.is_empty());
    let moved: view::Ticket = json(
        cli(
            &server,
            &[
                "transfer", "tkt_0", "--lease", &token, "--queue", "cx", "--reason", "praise", "--json",
            ],
        )
        .await,
    );
    assert_eq!(
        (moved.state.as_str(), moved.classification.queue.as_str()),
        ("queued", "cx")
    );

    let empty: view::Claimed = json(cli(&server, &["claim", "billing", "--agent", "bob", "--json"]).await);
    assert_eq!(
        empty,
        view::Claimed {
            lease_token: None,
            ticket: None
        }
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_prints_a_table_and_json_that_parses_back() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let refund = [
        "ingest",
        "--external-id",
        "1002",
        "--subject",
        "Refund",
        "--body",
        "refund please",
        "--tier",
        "vip",
    ];
    ok(cli(&server, &refund).await);
    let table = ok(cli(&server, &["list", "billing"]).await);
    snapshot("cli_list", &table);

    let page: view::Page = json(cli(&server, &["list", "billing", "--page-size", "1", "--json"]).await);
    assert_eq!(page.tickets.len(), 1);
    assert!(!page.next_page_token.is_empty());
    let all: view::Page = json(
        cli(
            &server,
            &["list", "billing", "--page-size", "1", "--all", "--json"],
        )
        .await,
    );
    let ids: Vec<&str> = all.tickets.iter().map(|ticket| ticket.id.as_str()).collect();
    assert_eq!(ids, ["tkt_0", "tkt_1"]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_and_customer_tickets_print_tables() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let queues = ok(cli(&server, &["queues"]).await);
    assert!(queues.starts_with("QUEUE  "), "{queues}");
    assert!(
        queues.contains("\nbilling      1        0       0s      0         0        Billing problems\n"),
        "{queues}"
    );
    let parsed: view::Queues = json(cli(&server, &["queues", "--json"]).await);
    assert_eq!(parsed.queues.iter().map(|queue| queue.depth).sum::<u64>(), 1);
    let customer: view::Page = json(cli(&server, &["customer", "c-42", "--json"]).await);
    assert_eq!(customer.tickets.len(), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_ingest_counts_ingested_duplicates_and_failures() {
    let server = TestServer::start().await;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let lines = [
        r#"{"external_id": "b1", "source": "zendesk", "subject": "Site down", "body": "the site is down"}"#,
        r#"{"external_id": "b2", "subject": "Idea", "body": "would be great to export CSV", "channel": "web"}"#,
        "",
        r#"{"external_id": "b1", "source": "zendesk", "subject": "Site down again"}"#,
        "not json",
        r#"{"subject": "no id"}"#,
        r#"{"external_id": "b3", "channel": "pigeon"}"#,
    ];
    writeln!(file, "{}", lines.join("\n")).expect("write");
    let path = file.path().to_string_lossy().into_owned();
    let output = cli(&server, &["ingest", &path]).await;
    assert_eq!(output.status.code(), Some(1), "failed lines fail the run");
    assert_eq!(
        stdout(&output),
        "ingested 2, duplicates 1, failed 3 (of 6 lines)\n\
         \x20 line 5: not a ticket: expected ident at line 1 column 2\n\
         \x20 line 6: external_id is missing\n\
         \x20 line 7: unknown channel \"pigeon\": expected email, chat, phone, social, web or internal\n"
    );
    assert!(
        !stderr(&output).contains('\u{1b}'),
        "no progress bar when stderr is not a terminal"
    );

    let again = cli(&server, &["ingest", &path, "--json"]).await;
    let summary: view::BulkSummary = serde_json::from_slice(&again.stdout).expect("summary JSON");
    assert_eq!((summary.ingested, summary.duplicates, summary.failed), (0, 3, 3));
    assert_eq!(
        summary.failures.iter().map(|f| f.line).collect::<Vec<_>>(),
        [5, 6, 7]
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn addresses_work_with_and_without_a_scheme() {
    let server = TestServer::start().await;
    let bare = run(server.address.to_string(), &["ping"], &[]).await;
    assert!(ok(bare).starts_with("pong from "));
    let url = run(format!("http://{}", server.address), &["ping"], &[]).await;
    assert!(ok(url).starts_with("pong from "));
    let mut plain = Command::new(env!("CARGO_BIN_EXE_triage-cli"));
    plain
        .arg("ping")
        .env("TRIAGE_ADDR", server.address.to_string())
        .env("TZ", "UTC");
    let output = tokio::task::spawn_blocking(move || plain.output().expect("runs"))
        .await
        .expect("join");
    assert!(ok(output).starts_with("pong from "));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_address_says_whether_triage_runs_and_exits_3() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("address").to_string();
    drop(free);
    let output = run(addr.clone(), &["queues"], &[]).await;
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        stderr(&output),
        format!("triage-cli: cannot connect to {addr}: is triage running? (connection refused)\n")
    );
    assert!(stdout(&output).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_token_says_to_set_one_and_the_token_is_never_printed() {
    let tokens = Tokens::parse_env(&format!("admin:{ADMIN_TOKEN}")).expect("tokens");
    let server = TestServer::start_with(TEST_RULES, |config| {
        config.tokens = Some(Arc::new(Keyring::fixed(tokens)));
    })
    .await;
    let addr = server.address.to_string();
    let missing = run(addr.clone(), &["queues"], &[]).await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("set --token or TRIAGE_TOKEN"),
        "{}",
        stderr(&missing)
    );

    let wrong = run(addr.clone(), &["queues", "--token", "not-the-token-0123"], &[]).await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("check --token or TRIAGE_TOKEN"),
        "{}",
        stderr(&wrong)
    );
    assert!(!stderr(&wrong).contains("not-the-token-0123"));

    let with_flag = ok(run(addr.clone(), &["ping", "--token", ADMIN_TOKEN], &[]).await);
    let with_env = ok(run(addr, &["queues"], &[("TRIAGE_TOKEN", ADMIN_TOKEN)]).await);
    assert!(!with_flag.contains(ADMIN_TOKEN) && !with_env.contains(ADMIN_TOKEN));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_events_and_fails_when_the_server_stops() {
    if common::skip_unless_sled(
        "it stops the server right after an ingest; on PostgreSQL the event may reach watchers one poll later",
    ) {
        return;
    }
    let mut server = TestServer::start().await;
    let mut watch = command(&server.address.to_string(), &["watch", "incidents"], &[]);
    let mut child = watch
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("watch starts");
    // The banner comes once the server has answered the watch call, i.e.
    // the watcher is subscribed.
    let stderr_pipe = child.stderr.take().expect("stderr piped");
    let (banner, rest) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stderr_pipe);
        let mut banner = String::new();
        reader.read_line(&mut banner).expect("banner");
        (banner, reader)
    })
    .await
    .expect("join");
    assert_eq!(banner, "watching queue incidents (Ctrl-C to stop)\n");
    common::ingest(
        &mut server.client,
        common::ticket("w1", "Outage", "the site is down"),
    )
    .await;
    server.shutdown().await;
    let started = Instant::now();
    let (output, errors) = tokio::task::spawn_blocking(move || {
        let mut errors = String::new();
        let mut rest = rest;
        rest.read_to_string(&mut errors).expect("stderr");
        (child.wait_with_output().expect("watch ends"), errors)
    })
    .await
    .expect("join");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(1), "{errors}");
    assert_eq!(
        stdout(&output),
        "2026-01-01 00:00:00 +00:00  incidents        added          tkt_0\n"
    );
    assert!(
        errors.contains("the server ended the watch of queue incidents"),
        "{errors}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_shows_the_decision_without_storing_the_ticket() {
    let server = TestServer::start().await;
    let args = [
        "classify",
        "--subject",
        "Outage",
        "--body",
        "the site is down",
        "--tier",
        "vip",
    ];
    let text = ok(cli(&server, &args).await);
    assert!(text.starts_with("Classification (not stored)\n"), "{text}");
    assert!(text.contains("  class        reactive / outage\n"), "{text}");
    assert!(
        text.contains("  queue        incidents, priority urgent\n"),
        "{text}"
    );
    let json_args = [&args[..], &["--json"]].concat();
    let classification: view::Classification = json(cli(&server, &json_args).await);
    assert_eq!(classification.rule_ids, ["outage"]);
    let queues: view::Queues = json(cli(&server, &["queues", "--json"]).await);
    assert!(
        queues.queues.iter().all(|queue| queue.depth == 0),
        "nothing stored"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_labels_writes_one_json_line_per_corrected_ticket() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let claimed: view::Claimed = json(cli(&server, &["claim", "billing", "--agent", "ann", "--json"]).await);
    let token = claimed.lease_token.expect("token");
    let correct = [
        "complete",
        "tkt_0",
        "--lease",
        &token,
        "--side",
        "proactive",
        "--category",
        "praise",
    ];
    ok(cli(&server, &correct).await);
    let output = cli(&server, &["export-labels"]).await;
    let text = ok(output);
    let labels: Vec<view::Label> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(labels.len(), 1);
    assert_eq!(
        (labels[0].side.as_str(), labels[0].category.as_str()),
        ("proactive", "praise")
    );
    assert_eq!(labels[0].source, "corrected");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2_with_the_missing_flag_named() {
    let server = TestServer::start().await;
    let output = cli(&server, &["ingest", "--subject", "no id"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--external-id"), "{}", stderr(&output));
    let output = cli(&server, &["ingest", "--external-id", "x", "--attr", "novalue"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("KEY=VALUE"), "{}", stderr(&output));
    server.shutdown().await;
}

/// A certificate authority made for one test, and the PEM files of a
/// certificate it issued.
mod certs {
    use std::path::{Path, PathBuf};

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };

    pub struct Ca(CertifiedIssuer<'static, KeyPair>);

    impl Ca {
        pub fn new(name: &str) -> Ca {
            let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
            Ca(CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA"))
        }

        /// Writes the CA certificate to `dir/NAME.crt`.
        pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
            let path = dir.join(format!("{name}.crt"));
            std::fs::write(&path, self.0.pem()).expect("write CA");
            path
        }

        /// Issues a certificate for `name` and writes `dir/NAME.crt` and `.key`.
        pub fn issue(&self, dir: &Path, name: &str, purpose: ExtendedKeyUsagePurpose) -> (PathBuf, PathBuf) {
            let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![purpose];
            let key = KeyPair::generate().expect("key");
            let cert = params.signed_by(&key, &self.0).expect("signed");
            let (cert_path, key_path) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
            std::fs::write(&cert_path, cert.pem()).expect("write cert");
            std::fs::write(&key_path, key.serialize_pem()).expect("write key");
            (cert_path, key_path)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_mutual_tls_work_with_the_ca_and_client_certificate_flags() {
    use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    let dir = tempfile::tempdir().expect("dir");
    let (server_ca, client_ca) = (certs::Ca::new("server CA"), certs::Ca::new("client CA"));
    let (cert, key) = server_ca.issue(dir.path(), "localhost", ServerAuth);
    let files = triage::tls::TlsFiles {
        cert,
        key,
        client_ca: Some(client_ca.write(dir.path(), "clients")),
    };
    let server = TestServer::start_with(TEST_RULES, |config| config.tls = Some(files)).await;
    let ca = server_ca.write(dir.path(), "server-ca");
    let (agent_cert, agent_key) = client_ca.issue(dir.path(), "agent-tool", ClientAuth);
    let path = |path: &std::path::Path| path.to_string_lossy().into_owned();
    let tls = [
        "--tls-ca",
        &path(&ca),
        "--tls-domain",
        "localhost",
        "--tls-cert",
        &path(&agent_cert),
        "--tls-key",
        &path(&agent_key),
    ];
    let mut args = tls.to_vec();
    args.push("ping");
    assert!(ok(cli(&server, &args).await).starts_with("pong from "));

    let without_client_cert = cli(&server, &[&tls[..4], &["ping"]].concat()).await;
    assert!(
        !without_client_cert.status.success(),
        "mTLS refuses a client without a certificate"
    );
    let plain = cli(&server, &["ping"]).await;
    assert!(
        !plain.status.success(),
        "plaintext gets no answer from a TLS port"
    );
    for refused in [&without_client_cert, &plain] {
        assert_eq!(refused.status.code(), Some(3));
        let message = stderr(refused);
        assert!(
            message.contains("--tls-ca") && message.contains("--tls-cert"),
            "{message}"
        );
    }
    server.shutdown().await;
}

/// The test rules with another version, "on fire" as an outage word, and
/// without the billing queue (billing problems go to the inbox).
fn next_rules(dir: &std::path::Path) -> std::path::PathBuf {
    let text = TEST_RULES
        .replace("version = \"test-1\"", "version = \"test-2\"")
        .replace("\"outage\", \"is down\"", "\"outage\", \"is down\", \"on fire\"")
        .replace(
            "[[queue]]\nname = \"billing\"\ndescription = \"Billing problems\"\nfirst_response_minutes = 120\n",
            "",
        )
        .replace("queue = \"billing\"", "queue = \"inbox\"");
    let path = dir.join("next.toml");
    std::fs::write(&path, text).expect("write rules");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_get_shows_the_running_version_and_parses_back_as_json() {
    let server = TestServer::start().await;
    let text = ok(cli(&server, &["rules", "get"]).await);
    assert!(text.starts_with("Rules test-1 ("), "{text}");
    assert!(
        text.contains("  loaded       2026-01-01 00:00:00 +00:00"),
        "{text}"
    );
    let rules: triage::cli::rules::RuleSet = json(cli(&server, &["--json", "rules", "get", "--text"]).await);
    assert_eq!(rules.version, "test-1");
    assert_eq!(rules.text.as_deref(), Some(TEST_RULES));
    assert!(rules.queues.contains(&"billing".to_string()));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_validate_points_at_the_line_and_fails_the_run() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "default_queue = \"inbox\"\n[[queue]]\nname = \"Inbox!\"\n").expect("write");
    let output = cli(&server, &["rules", "validate", bad.to_str().expect("path")]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("Invalid: the rule file does not compile\nErrors:\n  bad.toml:3:8: "),
        "{text}"
    );
    assert!(stderr(&output).contains("not activated"), "{}", stderr(&output));

    let good = next_rules(dir.path());
    let text = ok(cli(&server, &["rules", "validate", good.to_str().expect("path")]).await);
    assert!(text.starts_with("Valid: rules test-2"), "{text}");
    let rules: triage::cli::rules::RuleSet = json(cli(&server, &["--json", "rules", "get"]).await);
    assert_eq!(rules.version, "test-1", "validate activates nothing");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_reload_moves_a_dropped_queue_and_the_new_rules_classify() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let dir = tempfile::tempdir().expect("dir");
    let next = next_rules(dir.path());
    let next = next.to_str().expect("path");
    let refused = cli(&server, &["rules", "reload", next]).await;
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("move_dropped_to"),
        "{}",
        stderr(&refused)
    );

    let reloaded: triage::cli::rules::Reloaded = json(
        cli(
            &server,
            &["--json", "rules", "reload", next, "--move-dropped-to", "inbox"],
        )
        .await,
    );
    assert_eq!(
        (
            reloaded.rules.version.as_str(),
            reloaded.previous_version.as_str(),
            reloaded.moved
        ),
        ("test-2", "test-1", 1)
    );
    let moved: view::Ticket = json(cli(&server, &["get", "tkt_0", "--json"]).await);
    assert_eq!(moved.classification.queue, "inbox");
    let fire: view::Classification = json(
        cli(
            &server,
            &["--json", "classify", "--subject", "Everything is on fire"],
        )
        .await,
    );
    assert_eq!(
        (fire.category.as_str(), fire.rules_version.as_str()),
        ("outage", "test-2")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_explain_shows_which_rules_fired_and_what_matched() {
    let server = TestServer::start().await;
    ok(cli(&server, CHARGED).await);
    let text = ok(cli(&server, &["rules", "explain", "tkt_0"]).await);
    assert!(
        text.starts_with("Decision: reactive / billing, queue billing, priority high (rules test-1)\n"),
        "{text}"
    );
    assert!(text.contains("  FIRED        billing (line "), "{text}");
    assert!(text.contains("matched "), "{text}");
    assert!(text.contains("  no           outage (line "), "{text}");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("ticket.json");
    std::fs::write(&file, r#"{"subject": "The site is down"}"#).expect("write");
    let explained: triage::cli::rules::Explanation = json(
        cli(
            &server,
            &[
                "--json",
                "rules",
                "explain",
                "--file",
                file.to_str().expect("path"),
            ],
        )
        .await,
    );
    assert_eq!(explained.classification.category, "outage");
    let outage = explained
        .rules
        .iter()
        .find(|rule| rule.rule_id == "outage")
        .expect("outage rule");
    assert!(outage.fired && outage.stop);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_backtest_and_reclassify_open_print_the_moves() {
    let server = TestServer::start().await;
    let fire = [
        "ingest",
        "--external-id",
        "f1",
        "--subject",
        "Everything is on fire",
    ];
    ok(cli(&server, &fire).await);
    let dir = tempfile::tempdir().expect("dir");
    let next = next_rules(dir.path());
    let next = next.to_str().expect("path");
    let text = ok(cli(&server, &["rules", "backtest", next]).await);
    assert!(
        text.starts_with("Backtest of rules test-2: 1 tickets read, 1 re-classified, 1 would move\n"),
        "{text}"
    );
    assert!(
        text.contains("1        unclassified@inbox  reactive/outage@incidents  tkt_0"),
        "{text}"
    );

    ok(cli(&server, &["rules", "reload", next]).await);
    let reclassified: triage::cli::rules::Reclassified =
        json(cli(&server, &["--json", "rules", "reclassify-open"]).await);
    assert_eq!((reclassified.examined, reclassified.moved), (1, 1));
    assert_eq!(reclassified.moves[0].to, "reactive/outage@incidents");
    let moved: view::Ticket = json(cli(&server, &["get", "tkt_0", "--json"]).await);
    assert_eq!(moved.classification.queue, "incidents");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_prints_the_friction_map_and_draws_a_heat_map() {
    let server = TestServer::start().await;
    for (id, touchpoint, body) in [
        ("r1", "checkout", "I was charged twice at checkout"),
        ("r2", "checkout", "charged twice again, the invoice is wrong"),
        ("r3", "delivery", "the service is down"),
    ] {
        let args = [
            "ingest",
            "--external-id",
            id,
            "--customer",
            "c-7",
            "--touchpoint",
            touchpoint,
            "--body",
            body,
        ];
        ok(cli(&server, &args).await);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("map.png");
    let png_arg = png.display().to_string();
    let text = ok(cli(&server, &["report", "--window-hours", "24", "--png", &png_arg]).await);
    assert!(text.contains("Friction map"), "{text}");
    let row = text
        .lines()
        .find(|line| line.starts_with("checkout") && line.contains("billing"))
        .unwrap_or_else(|| panic!("no checkout x billing row: {text}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..4], ["checkout", "billing", "2", "+2"], "{row}");
    assert!(text.contains("Rising friction"), "{text}");
    let bytes = std::fs::read(&png).expect("the heat map was written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG file");

    let report: triage::cli::insights::Report =
        json(cli(&server, &["--json", "report", "--group-by", "side"]).await);
    assert_eq!(report.total_contacts, 3);
    let reactive: u64 = report
        .cells
        .iter()
        .filter(|cell| cell.group == "reactive")
        .map(|cell| cell.contacts)
        .sum();
    assert_eq!(reactive, 3);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_prints_the_customer_s_contacts_in_time_order() {
    let server = TestServer::start().await;
    for (id, body) in [
        ("j1", "please add dark mode, would be great"),
        ("j2", "I was charged twice"),
    ] {
        ok(cli(
            &server,
            &["ingest", "--external-id", id, "--customer", "c-9", "--body", body],
        )
        .await);
        server.clock.advance_seconds(3600);
    }
    let text = ok(cli(&server, &["journey", "c-9"]).await);
    assert!(text.starts_with("Customer c-9"), "{text}");
    assert!(text.contains("2 contacts"), "{text}");
    let feature = text.find("feature_request").expect("first contact listed");
    let billing = text.find("billing").expect("second contact listed");
    assert!(feature < billing, "oldest first: {text}");
    let journey: triage::cli::insights::Journey = json(cli(&server, &["--json", "journey", "c-9"]).await);
    assert_eq!(journey.timeline.len(), 2);
    assert_eq!(journey.reactive_last_30_days, 1);
    let empty = ok(cli(&server, &["journey", "nobody"]).await);
    assert!(empty.contains("No contacts"), "{empty}");
    server.shutdown().await;
}
