//! Operator-facing process behaviour: shutdown ends even when clients keep
//! connections open (after SIGTERM the server drains for at most
//! `--drain-seconds`, then closes what is left, syncs and exits),
//! `--verify` on a mistyped directory fails instead of creating a store, and
//! a port in use is reported with its address before anything says ready.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::ServerProcess;

#[test]
fn sigterm_finishes_despite_an_idle_connection_and_an_unread_watch() {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut server = ServerProcess::start(&temp.path().join("data"), &["--drain-seconds", "1"]);
    // A TCP connection that never says anything ...
    let _idle = std::net::TcpStream::connect(server.address).expect("connects");
    // ... and an HTTP/2 client with a watch stream it never reads.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _watch = runtime.block_on(async {
        let mut client = common::connect(server.address).await;
        client
            .watch_queue(triage::pb::WatchQueueRequest {
                queue: "incidents".into(),
            })
            .await
            .expect("watch")
            .into_inner()
    });
    let pid = server.child.id().to_string();
    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = sent + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 15 s after SIGTERM with --drain-seconds 1"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exited cleanly: {status:?}");
    println!("exited {:?} after SIGTERM", sent.elapsed());
}

#[test]
fn verify_on_a_mistyped_directory_fails_and_creates_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let missing = temp.path().join("dat");
    let (status, report) = ServerProcess::verify(&missing);
    assert!(!status.success(), "{report}");
    assert!(report.contains("no such data directory"), "{report}");
    assert!(!missing.exists(), "verify created {}", missing.display());
}

#[test]
fn a_port_in_use_is_reported_with_its_address_before_anything_says_ready() {
    let temp = tempfile::tempdir().expect("temp dir");
    let first = ServerProcess::start(&temp.path().join("a"), &[]);
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .arg("--listen")
        .arg(first.address.to_string())
        .arg("--data-dir")
        .arg(temp.path().join("b"))
        .env("RUST_LOG", "info")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {}", first.address)),
        "{stderr}"
    );
    assert!(!stderr.contains("triage ready"), "{stderr}");
    assert!(
        !stderr.contains("\u{1b}["),
        "no colour codes when stderr is not a terminal: {stderr}"
    );
    first.kill_hard();
}
