//! Power-loss durability, audited from outside: the real binary runs under
//! `strace`, which records every write, fsync and file creation in the
//! data directory and every write to a client socket. The audit replays
//! that record: whenever the server sends anything to a client (every
//! acknowledgement included), no file it wrote may still be unsynced and no
//! directory in which it created, renamed or removed a file may still be
//! unsynced. `sync_file_range`, which sled uses, does not count as a sync:
//! it persists neither metadata nor the drive's cache.
//!
//! The workload stores tickets over 128 KiB (sled's default blob threshold,
//! where the earlier layout wrote unsynced blob files) and acknowledges
//! claims, releases, transfers and completions too.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;

use common::{claim, complete, ingest, release, ticket, transfer, ServerProcess};

const TRACED: &str = "trace=openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,\
sync_file_range,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,sendto,sendmsg";

fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// What the audit of one trace found.
#[derive(Debug, Default)]
struct Audit {
    /// Writes by the server to client sockets.
    answers: usize,
    /// Writes to files in the data directory.
    file_writes: usize,
    /// Completed fsync/fdatasync calls on data-directory paths.
    syncs: usize,
    /// Answers sent while something was not yet durable.
    violations: Vec<String>,
}

/// The path strace's `-y` prints for the call's first file descriptor.
fn first_fd_path(call: &str) -> Option<&str> {
    let open = call.find('(')?;
    let rest = &call[open + 1..];
    let start = rest.find('<')?;
    let digits = &rest[..start];
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let end = rest[start..].find('>')?;
    Some(&rest[start + 1..start + end])
}

/// Every quoted string argument of a call that names a path under `dir`.
fn quoted_paths<'a>(call: &'a str, dir: &str) -> Vec<&'a str> {
    call.split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.starts_with(dir))
        .collect()
}

fn parent(path: &str) -> String {
    Path::new(path)
        .parent()
        .map(|parent| parent.display().to_string())
        .unwrap_or_default()
}

fn audit(trace: &str, dir: &str) -> Audit {
    let mut audit = Audit::default();
    // Path -> what made it need a sync.
    let mut unsynced: BTreeMap<String, &str> = BTreeMap::new();
    // pid -> path of an fsync that has started but not returned.
    let mut syncing: HashMap<&str, String> = HashMap::new();
    for line in trace.lines() {
        let Some((pid, call)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let call = call.trim_start();
        if let Some(resumed) = call.strip_prefix("<... ") {
            let finished_ok = resumed.trim_end().ends_with("= 0");
            if (resumed.starts_with("fsync ") || resumed.starts_with("fdatasync ")) && finished_ok {
                if let Some(path) = syncing.remove(pid) {
                    unsynced.remove(&path);
                    audit.syncs += 1;
                }
            }
            continue;
        }
        let Some(name) = call.split('(').next() else {
            continue;
        };
        let unfinished = call.ends_with("<unfinished ...>");
        match name {
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" | "sendto" | "sendmsg" => {
                let Some(path) = first_fd_path(call) else {
                    continue;
                };
                if path.starts_with("socket:") || path.starts_with("TCP:") || path.starts_with("TCPv6:") {
                    audit.answers += 1;
                    if !unsynced.is_empty() {
                        audit
                            .violations
                            .push(format!("answer sent while not durable: {unsynced:?}: {line}"));
                    }
                } else if path.starts_with(dir) {
                    audit.file_writes += 1;
                    unsynced.insert(path.to_string(), "written");
                }
            }
            "fsync" | "fdatasync" => {
                // A directory above the data dir counts too (the data dir's
                // own entry lives there).
                let Some(path) =
                    first_fd_path(call).filter(|path| path.starts_with(dir) || dir.starts_with(path))
                else {
                    continue;
                };
                if unfinished {
                    syncing.insert(pid, path.to_string());
                } else if call.trim_end().ends_with("= 0") {
                    unsynced.remove(path);
                    audit.syncs += 1;
                }
            }
            "openat" | "open" | "creat" if call.contains("O_CREAT") || name == "creat" => {
                for path in quoted_paths(call, dir) {
                    unsynced.insert(parent(path), "file created in it");
                }
            }
            "rename" | "renameat" | "renameat2" | "unlink" | "unlinkat" | "mkdir" | "mkdirat" => {
                for path in quoted_paths(call, dir) {
                    unsynced.insert(parent(path), "entry changed in it");
                }
            }
            _ => {}
        }
    }
    audit
}

/// Sends SIGTERM to the server that strace runs (strace's child) and waits
/// for strace to exit with it.
fn terminate_traced(mut server: ServerProcess) -> std::process::ExitStatus {
    let strace = server.child.id();
    let children =
        std::fs::read_to_string(format!("/proc/{strace}/task/{strace}/children")).expect("strace's children");
    let tracee = children.split_whitespace().next().expect("the traced server");
    let signalled = Command::new("kill")
        .args(["-TERM", tracee])
        .status()
        .expect("kill runs");
    assert!(signalled.success());
    server.child.wait().expect("strace exits")
}

#[test]
fn every_file_and_directory_is_synced_before_any_answer() {
    if !strace_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: strace is not installed; the sync audit needs it");
        return;
    }
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let trace_file = temp.path().join("trace.txt");
    let trace_arg = trace_file.display().to_string();
    let wrapper = ["strace", "-f", "-y", "-qq", "-o", &trace_arg, "-e", TRACED];
    let server = ServerProcess::try_start_under(&wrapper, &data, &[]).expect("server starts under strace");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let large_body = "Our nightly export to the warehouse fails with error 500 again. ".repeat(2_600);
    assert!(
        large_body.len() > 160 * 1024,
        "over sled's default blob threshold"
    );
    let (queue, acknowledged) = runtime.block_on(async {
        let mut client = common::connect(server.address).await;
        let mut acknowledged = 0;
        let mut queue = String::new();
        for n in 0..8 {
            let answer = ingest(
                &mut client,
                ticket(&format!("audit-{n}"), "Export broken", &large_body),
            )
            .await;
            queue = answer
                .ticket
                .and_then(|t| t.classification)
                .expect("classified")
                .queue;
            acknowledged += 1;
        }
        let queues = client
            .list_queues(triage::pb::ListQueuesRequest {})
            .await
            .expect("queues")
            .into_inner()
            .queues;
        let other = queues
            .iter()
            .map(|summary| summary.name.clone())
            .find(|name| *name != queue)
            .expect("a second queue");
        for round in 0..3 {
            let claimed = claim(&mut client, &queue, "ann", 60).await.expect("claim");
            match round {
                0 => release(&mut client, &claimed, "later").await.map(drop),
                1 => transfer(&mut client, &claimed, &other, "wrong team")
                    .await
                    .map(drop),
                _ => complete(&mut client, &claimed, "fixed").await.map(drop),
            }
            .expect("acknowledged");
            acknowledged += 2;
        }
        (queue, acknowledged)
    });
    // Close the client's connection first: the server drains open
    // connections before it exits.
    drop(runtime);
    let status = terminate_traced(server);
    assert!(status.success(), "server stopped cleanly: {status:?}");
    let trace = std::fs::read_to_string(&trace_file).expect("trace written");
    let canonical = std::fs::canonicalize(&data).expect("data dir exists");
    let audit = audit(&trace, &canonical.display().to_string());
    println!(
        "sync audit ({queue}): {acknowledged} acknowledged writes, {} answers, {} file writes, {} syncs, {} violations",
        audit.answers,
        audit.file_writes,
        audit.syncs,
        audit.violations.len()
    );
    assert!(audit.violations.is_empty(), "{:#?}", audit.violations);
    assert!(
        audit.answers >= acknowledged,
        "the trace saw the answers: {audit:?}"
    );
    assert!(
        audit.file_writes > 0 && audit.syncs > 0,
        "the trace saw the store's I/O: {audit:?}"
    );
    let blobs: Vec<_> = std::fs::read_dir(data.join("v2").join("blobs"))
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    assert!(blobs.is_empty(), "sled wrote blob files: {blobs:?}");
}

#[test]
fn the_audit_catches_an_answer_before_a_sync() {
    let dir = "/data";
    let trace = "\
10 openat(AT_FDCWD</>, \"/data/v2/blobs/7\", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 9</data/v2/blobs/7>
10 write(9</data/v2/blobs/7>, \"abc\", 3) = 3
11 pwrite64(7</data/v2/db>, \"x\", 1, 0) = 1
11 fdatasync(7</data/v2/db>) = 0
12 writev(12<TCP:[127.0.0.1:5->127.0.0.1:6]>, [{iov_base=\"\", iov_len=9}], 1) = 9
";
    let found = audit(trace, dir);
    assert_eq!(found.answers, 1);
    assert_eq!(found.violations.len(), 1, "{found:?}");
    assert!(found.violations[0].contains("/data/v2/blobs/7"));
    assert!(
        found.violations[0].contains("/data/v2/blobs\""),
        "the directory too"
    );
    let synced = format!(
        "{}11 fsync(9</data/v2/blobs/7>) = 0\n10 fsync(8</data/v2/blobs> <unfinished ...>\n10 <... fsync resumed>) = 0\n{}",
        &trace[..trace.find("12 writev").expect("answer line")],
        "12 writev(12<TCP:[127.0.0.1:5->127.0.0.1:6]>, [], 1) = 9\n"
    );
    let clean = audit(&synced, dir);
    assert!(clean.violations.is_empty(), "{clean:?}");
    assert_eq!(clean.syncs, 3);
}
