//! SIGHUP on the real binary: it reloads the rule file, and a server
//! started without one logs that it ignores the signal and keeps serving.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use triage::pb;

/// Longest a test waits for the server to log a line.
const PATIENCE: Duration = Duration::from_secs(30);

/// The binary, its address, and its log lines as they arrive.
struct Server {
    child: Child,
    address: std::net::SocketAddr,
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(data_dir: &std::path::Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(["--listen", "127.0.0.1:0", "--http-listen", "off"])
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let address = line
            .trim()
            .strip_prefix("triage listening on ")
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let (lines, log) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[triage] {line}");
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, address, log }
    }

    fn hang_up(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for a log line containing `text`; panics after [`PATIENCE`].
    fn wait_for_log(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(err) => panic!("no log line with {text:?}: {err}"),
            }
        }
    }

    async fn classify_version(&self, subject: &str) -> pb::Classification {
        let mut client = common::connect(self.address).await;
        client
            .classify_ticket(pb::ClassifyTicketRequest {
                ticket: Some(common::ticket("s", subject, "x")),
            })
            .await
            .expect("classify")
            .into_inner()
            .classification
            .expect("classification")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sighup_without_a_rule_file_is_logged_and_ignored() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::start(&dir.path().join("data"), &[]);
    server.hang_up();
    server.wait_for_log("no rule file; SIGHUP ignored");
    let mut client = common::connect(server.address).await;
    client.ping(pb::PingRequest {}).await.expect("still serving");
    assert!(
        server.child.try_wait().expect("status").is_none(),
        "still running"
    );
}

#[tokio::test]
async fn sighup_reloads_the_rule_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, common::TEST_RULES).expect("write");
    let rules = path.to_str().expect("utf-8 path");
    let server = Server::start(&dir.path().join("data"), &["--rules", rules]);
    assert_eq!(
        server.classify_version("Site is down").await.rules_version,
        "test-1"
    );
    let next = common::TEST_RULES
        .replace("version = \"test-1\"", "version = \"test-2\"")
        .replace("\"outage\", \"is down\"", "\"outage\", \"is down\", \"on fire\"");
    std::fs::write(&path, next).expect("write");
    server.hang_up();
    server.wait_for_log("rules reloaded");
    let classified = server.classify_version("Everything is on fire").await;
    assert_eq!(
        (classified.rules_version.as_str(), classified.category.as_str()),
        ("test-2", "outage")
    );
}

#[tokio::test]
async fn sighup_with_a_bad_rule_file_keeps_the_running_rules() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, common::TEST_RULES).expect("write");
    let rules = path.to_str().expect("utf-8 path");
    let server = Server::start(&dir.path().join("data"), &["--rules", rules]);
    std::fs::write(&path, "version = \"broken\"\ndefault_queue = 3\n").expect("write");
    server.hang_up();
    let logged = server.wait_for_log("rules rejected");
    assert!(logged.contains("rules.toml:2"), "{logged}");
    let classified = server.classify_version("Site is down").await;
    assert_eq!(
        (classified.rules_version.as_str(), classified.category.as_str()),
        ("test-1", "outage")
    );
}
