//! Power-loss durability, proven from outside. The real binary runs under
//! `strace`, which records every write, fsync and file creation in the
//! data directory and every write to a client socket. The audit replays
//! that record: whenever the server sends anything to a client (every
//! acknowledgement included), no file it wrote may still be unsynced and no
//! directory in which it created, renamed or removed a file may still be
//! unsynced. `sync_file_range`, which sled uses, does not count as a sync:
//! it persists neither metadata nor the drive's cache.
//!
//! The same record, with every byte written, then rebuilds the disk as a
//! power cut at each sync and each answer would leave it (a write survives
//! only if its file was synced after it, a new file or directory only if
//! its parent directory was) and opens the store from it: it must open,
//! verify clean, and hold every write acknowledged before the cut.
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

/// What the client was told, in order: the marks (external ids, agent ids,
/// notes) whose first appearance in the server's answers is the moment
/// that write was acknowledged.
struct Workload {
    /// (external id, body length) of every acknowledged ingest.
    ingested: Vec<(String, usize)>,
    /// (ticket id, agent id) of every acknowledged claim.
    claimed: Vec<(String, String)>,
    /// Ticket ids with their acknowledged release / transfer / completion
    /// and the note that marks its answer.
    finished: Vec<(String, Finish)>,
    /// The queue the transfer moved a ticket to.
    transfer_to: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Released,
    Transferred,
    Completed,
}

impl Finish {
    fn note(self) -> &'static str {
        match self {
            Finish::Released => "released-by-the-audit",
            Finish::Transferred => "moved-by-the-audit",
            Finish::Completed => "fixed-by-the-audit",
        }
    }
}

async fn run_workload(address: std::net::SocketAddr) -> Workload {
    let mut client = common::connect(address).await;
    let large_body = "Our nightly export to the warehouse fails with error 500 again. ".repeat(2_600);
    assert!(
        large_body.len() > 160 * 1024,
        "over sled's default blob threshold"
    );
    let mut ingested = Vec::new();
    let mut queue = String::new();
    for n in 0..8 {
        let external_id = format!("audit-{n:02}");
        let answer = ingest(&mut client, ticket(&external_id, "Export broken", &large_body)).await;
        queue = answer
            .ticket
            .and_then(|t| t.classification)
            .expect("classified")
            .queue;
        ingested.push((external_id, large_body.len()));
    }
    let queues = client
        .list_queues(triage::pb::ListQueuesRequest {})
        .await
        .expect("queues")
        .into_inner()
        .queues;
    let transfer_to = queues
        .iter()
        .map(|summary| summary.name.clone())
        .find(|name| *name != queue)
        .expect("a second queue");
    let mut claimed = Vec::new();
    let mut finished = Vec::new();
    for (round, finish) in [Finish::Released, Finish::Transferred, Finish::Completed]
        .into_iter()
        .enumerate()
    {
        let agent = format!("agent-round-{round}");
        let ticket = claim(&mut client, &queue, &agent, 600).await.expect("claim");
        claimed.push((ticket.id.clone(), agent));
        match finish {
            Finish::Released => release(&mut client, &ticket, finish.note()).await.map(drop),
            Finish::Transferred => transfer(&mut client, &ticket, &transfer_to, finish.note())
                .await
                .map(drop),
            Finish::Completed => complete(&mut client, &ticket, finish.note()).await.map(drop),
        }
        .expect("acknowledged");
        finished.push((ticket.id.clone(), finish));
    }
    Workload {
        ingested,
        claimed,
        finished,
        transfer_to,
    }
}

#[test]
fn acknowledged_writes_survive_a_power_cut_at_any_point() {
    if !strace_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "strace is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: strace is not installed; the power-loss tests need it");
        return;
    }
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let trace_file = temp.path().join("trace.txt");
    let trace_arg = trace_file.display().to_string();
    let wrapper = [
        "strace",
        "-f",
        "-y",
        "-qq",
        "-s",
        "64",
        "-e",
        "write=all",
        "-o",
        &trace_arg,
        "-e",
        TRACED,
    ];
    let server = ServerProcess::try_start_under(&wrapper, &data, &[]).expect("server starts under strace");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let workload = runtime.block_on(run_workload(server.address));
    // Close the client's connection first: the server drains open
    // connections before it exits.
    drop(runtime);
    let status = terminate_traced(server);
    assert!(status.success(), "server stopped cleanly: {status:?}");
    let trace = std::fs::read_to_string(&trace_file).expect("trace written");
    let canonical = std::fs::canonicalize(&data).expect("data dir exists");
    let dir = canonical.display().to_string();

    // 1. The sync audit.
    let audit = audit(&trace, &dir);
    let acknowledged = workload.ingested.len() + workload.claimed.len() + workload.finished.len();
    println!(
        "sync audit: {acknowledged} acknowledged writes, {} answers, {} file writes, {} syncs, {} violations",
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

    // 2. Power cuts: the disk as it would be after losing every write not
    // yet synced, at every sync and every answer of the run.
    let events = replay::parse(&trace, &dir);
    let (written, answered) = replay::bytes_seen(&events);
    assert!(
        written > 8 * 160 * 1024,
        "the trace holds the bytes written: {written}"
    );
    assert!(answered > 0, "the trace holds the bytes answered");
    let cuts = replay::cut_points(&events);
    assert!(cuts.len() > 20, "enough cut points: {}", cuts.len());
    let mut checked_acks = 0;
    for &cut in &cuts {
        let disk = temp.path().join(format!("cut-{cut}"));
        replay::materialise(&events, cut, &dir, &disk);
        let acked = replay::acknowledged(&events, cut, &workload);
        checked_acks += acked.count();
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check_after_power_cut(&disk, &acked, &workload, cut);
        }));
        if let Err(panic) = checked {
            let kept = std::env::temp_dir().join("triage-power-loss-failure");
            let _ = std::fs::create_dir_all(&kept);
            let _ = std::fs::copy(&trace_file, kept.join("trace.txt"));
            eprintln!("trace kept in {}; events before the cut:", kept.display());
            for (at, event) in events.iter().enumerate().take(cut).skip(cut.saturating_sub(30)) {
                eprintln!("  {at}: {}", replay::describe(event));
            }
            std::panic::resume_unwind(panic);
        }
        std::fs::remove_dir_all(&disk).expect("clean up");
    }
    println!(
        "power loss: {} cut points replayed, {checked_acks} acknowledged writes checked across them",
        cuts.len()
    );
    assert!(
        checked_acks >= acknowledged,
        "the final cut checks every acknowledged write"
    );
}

/// Opens the store as a power cut at `cut` left it: it must open, verify
/// clean and hold every write acknowledged before the cut.
fn check_after_power_cut(disk: &Path, acked: &replay::Acked, workload: &Workload, cut: usize) {
    use triage::store::{Store, StoreOptions, TicketStore};
    use triage::ticket::{TicketId, TicketState};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::open(disk, StoreOptions::default())
        .unwrap_or_else(|err| panic!("cut at event {cut}: store does not open: {err}"));
    let report = runtime.block_on(store.verify()).expect("verify runs");
    assert!(
        report.is_consistent(),
        "cut at event {cut}: {:#?}",
        report.problems
    );
    let tickets: Vec<_> = store
        .scan_tickets()
        .collect::<Result<_, _>>()
        .expect("tickets read");
    for (external_id, body_len) in &acked.ingested {
        let found = tickets
            .iter()
            .find(|ticket| &ticket.input.external_id == external_id);
        let found =
            found.unwrap_or_else(|| panic!("cut at event {cut}: acknowledged ingest {external_id} lost"));
        assert_eq!(
            found.input.body.len(),
            *body_len,
            "cut at event {cut}: {external_id} body"
        );
    }
    for (id, agent) in &acked.claimed {
        let ticket = runtime
            .block_on(store.get(TicketId::parse(id).expect("id")))
            .unwrap_or_else(|err| panic!("cut at event {cut}: claimed {id} lost: {err}"));
        assert!(
            ticket
                .history
                .iter()
                .any(|entry| entry.action == "claimed" && &entry.actor == agent),
            "cut at event {cut}: acknowledged claim of {id} by {agent} lost"
        );
    }
    for (id, finish) in &acked.finished {
        let ticket = runtime
            .block_on(store.get(TicketId::parse(id).expect("id")))
            .unwrap_or_else(|err| panic!("cut at event {cut}: {id} lost: {err}"));
        let kept = match finish {
            Finish::Released => ticket.history.iter().any(|entry| entry.action == "released"),
            Finish::Transferred => ticket.classification.queue == workload.transfer_to,
            Finish::Completed => ticket.state == TicketState::Completed,
        };
        assert!(kept, "cut at event {cut}: acknowledged {finish:?} of {id} lost");
    }
}

/// The trace turned into file-system events, and a disk rebuilt from them
/// as a power cut would leave it: a write survives only if its file was
/// synced after it; a new directory entry only if its directory was.
mod replay {
    use std::collections::{BTreeMap, HashMap};
    use std::path::Path;

    use super::{first_fd_path, parent, quoted_paths, Workload};

    #[derive(Debug)]
    pub(super) enum Event {
        Write {
            path: String,
            offset: Option<u64>,
            data: Vec<u8>,
        },
        Truncate {
            path: String,
        },
        Sync {
            path: String,
        },
        Entry {
            path: String,
            dir: bool,
        },
        Answer {
            data: Vec<u8>,
        },
    }

    /// The last `n` comma-separated arguments of a call (numbers, so no
    /// commas inside them).
    fn last_args(call: &str, n: usize) -> Vec<&str> {
        // The closing parenthesis of the arguments: the last one (a return
        // value is a number; strace pads ") = N" with spaces after a resume).
        let end = call.rfind(')').unwrap_or(call.len());
        call[..end].rsplitn(n + 1, ", ").take(n).collect()
    }

    fn dump_bytes(line: &str) -> Option<Vec<u8>> {
        let body = line.trim_start().strip_prefix("| ")?;
        let hex = body.get(7..56)?;
        Some(
            hex.split_whitespace()
                .filter_map(|byte| u8::from_str_radix(byte, 16).ok())
                .collect(),
        )
    }

    pub(super) fn parse(trace: &str, dir: &str) -> Vec<Event> {
        let mut events = Vec::new();
        let mut pending: HashMap<String, String> = HashMap::new();
        let mut last_data: Option<usize> = None;
        for line in trace.lines() {
            if let Some(bytes) = dump_bytes(line) {
                if let Some(Event::Write { data, .. } | Event::Answer { data }) =
                    last_data.and_then(|at| events.get_mut(at))
                {
                    data.extend_from_slice(&bytes);
                }
                continue;
            }
            if line.trim_start().starts_with("* ") {
                continue; // "* N bytes in buffer K": a writev dump header
            }
            let Some((pid, call)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            let call = call.trim_start();
            // An unfinished call is completed by its "resumed" line: keep
            // the first half, act on the whole at the resumption.
            let whole;
            let call = if let Some(resumed) = call.strip_prefix("<... ") {
                let Some(first) = pending.remove(pid) else {
                    continue;
                };
                let tail = resumed.split_once("resumed>").map_or("", |(_, tail)| tail);
                whole = format!(
                    "{}{}",
                    first.trim_end_matches("<unfinished ...>").trim_end(),
                    tail
                );
                whole.as_str()
            } else if call.ends_with("<unfinished ...>") {
                pending.insert(pid.to_string(), call.to_string());
                last_data = None;
                continue;
            } else {
                call
            };
            last_data = None;
            let name = call.split('(').next().unwrap_or_default();
            let path = first_fd_path(call).unwrap_or_default().to_string();
            match name {
                "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" | "sendto" | "sendmsg" => {
                    if path.starts_with("socket:") || path.starts_with("TCP") {
                        events.push(Event::Answer { data: Vec::new() });
                        last_data = Some(events.len() - 1);
                    } else if path.starts_with(dir) {
                        // A pwrite whose offset cannot be read is a parser bug:
                        // guessing would rebuild the wrong disk.
                        let offset = (name == "pwrite64").then(|| {
                            last_args(call, 1)
                                .first()
                                .and_then(|offset| offset.trim().parse::<u64>().ok())
                                .unwrap_or_else(|| panic!("no offset in {call:?}"))
                        });
                        events.push(Event::Write {
                            path,
                            offset,
                            data: Vec::new(),
                        });
                        last_data = Some(events.len() - 1);
                    }
                }
                "fsync" | "fdatasync"
                    if call.trim_end().ends_with("= 0")
                        && (path.starts_with(dir) || dir.starts_with(&path)) =>
                {
                    events.push(Event::Sync { path });
                }
                "openat" | "open" | "creat" if call.contains("O_CREAT") || name == "creat" => {
                    for created in quoted_paths(call, dir) {
                        events.push(Event::Entry {
                            path: created.to_string(),
                            dir: call.contains("O_DIRECTORY"),
                        });
                        if call.contains("O_TRUNC") {
                            events.push(Event::Truncate {
                                path: created.to_string(),
                            });
                        }
                    }
                }
                "mkdir" | "mkdirat" if call.trim_end().ends_with("= 0") => {
                    for created in quoted_paths(call, dir) {
                        events.push(Event::Entry {
                            path: created.to_string(),
                            dir: true,
                        });
                    }
                }
                _ => {}
            }
        }
        events
    }

    /// One line about an event, for failure reports.
    pub(super) fn describe(event: &Event) -> String {
        match event {
            Event::Write { path, offset, data } => {
                format!("write {path} at {offset:?}, {} bytes", data.len())
            }
            Event::Truncate { path } => format!("truncate {path}"),
            Event::Sync { path } => format!("sync {path}"),
            Event::Entry { path, dir } => format!("new entry {path} (dir: {dir})"),
            Event::Answer { data } => format!(
                "answer, {} bytes: {:?}",
                data.len(),
                String::from_utf8_lossy(&data[..data.len().min(80)])
            ),
        }
    }

    /// Bytes of file writes and of answers the trace holds.
    pub(super) fn bytes_seen(events: &[Event]) -> (usize, usize) {
        events
            .iter()
            .fold((0, 0), |(written, answered), event| match event {
                Event::Write { data, .. } => (written + data.len(), answered),
                Event::Answer { data } => (written, answered + data.len()),
                _ => (written, answered),
            })
    }

    /// Every sync and every answer: the moments a cut is most telling.
    pub(super) fn cut_points(events: &[Event]) -> Vec<usize> {
        let mut cuts: Vec<usize> = events
            .iter()
            .enumerate()
            .filter(|(_, event)| matches!(event, Event::Sync { .. } | Event::Answer { .. }))
            .map(|(at, _)| at)
            .collect();
        cuts.dedup_by(|later, earlier| *later == *earlier + 1);
        cuts.push(events.len());
        cuts
    }

    /// Writes the disk a cut before event `cut` leaves into `disk`.
    pub(super) fn materialise(events: &[Event], cut: usize, dir: &str, disk: &Path) {
        let before = &events[..cut];
        let synced_after = |path: &str, at: usize| {
            before[at + 1..]
                .iter()
                .any(|event| matches!(event, Event::Sync { path: synced } if synced == path))
        };
        // Which entries a power cut keeps: created, then their directory synced.
        let mut kept_entries = BTreeMap::new();
        for (at, event) in before.iter().enumerate() {
            if let Event::Entry { path, dir } = event {
                if synced_after(&parent(path), at) {
                    kept_entries.insert(path.clone(), *dir);
                }
            }
        }
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut positions: HashMap<String, usize> = HashMap::new();
        for (at, event) in before.iter().enumerate() {
            match event {
                Event::Truncate { path } => {
                    positions.insert(path.clone(), 0);
                }
                Event::Write { path, offset, data } => {
                    let start =
                        offset.map_or_else(|| positions.get(path).copied().unwrap_or(0), |o| o as usize);
                    positions.insert(path.clone(), start + data.len());
                    if !synced_after(path, at) {
                        continue; // lost: never synced before the cut
                    }
                    let file = files.entry(path.clone()).or_default();
                    if file.len() < start + data.len() {
                        file.resize(start + data.len(), 0);
                    }
                    file[start..start + data.len()].copy_from_slice(data);
                }
                _ => {}
            }
        }
        let relocate = |path: &str| disk.join(path.trim_start_matches(dir).trim_start_matches('/'));
        std::fs::create_dir_all(disk).expect("disk dir");
        for (entry, is_dir) in &kept_entries {
            let target = relocate(entry);
            if *is_dir {
                std::fs::create_dir_all(&target).expect("dir");
            } else if !files.contains_key(entry) {
                // A file with no synced data: present and empty.
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).expect("parent dir");
                }
                std::fs::write(&target, b"").expect("empty file");
            }
        }
        for (path, bytes) in &files {
            if !kept_entries.contains_key(path) {
                continue; // its directory entry was never synced
            }
            let target = relocate(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).expect("parent dir");
            }
            std::fs::write(&target, bytes).expect("file written");
        }
    }

    /// The writes acknowledged before a cut.
    pub(super) struct Acked {
        pub(super) ingested: Vec<(String, usize)>,
        pub(super) claimed: Vec<(String, String)>,
        pub(super) finished: Vec<(String, super::Finish)>,
    }

    impl Acked {
        pub(super) fn count(&self) -> usize {
            self.ingested.len() + self.claimed.len() + self.finished.len()
        }
    }

    /// Which of the workload's writes the server had answered before `cut`:
    /// those whose mark appears in an answer before it.
    pub(super) fn acknowledged(events: &[Event], cut: usize, workload: &Workload) -> Acked {
        let answered: Vec<u8> = events[..cut]
            .iter()
            .filter_map(|event| match event {
                Event::Answer { data } => Some(data.as_slice()),
                _ => None,
            })
            .flat_map(|data| data.iter().copied())
            .collect();
        let said = |mark: &str| {
            answered
                .windows(mark.len())
                .any(|window| window == mark.as_bytes())
        };
        Acked {
            ingested: workload
                .ingested
                .iter()
                .filter(|(external_id, _)| said(external_id))
                .cloned()
                .collect(),
            claimed: workload
                .claimed
                .iter()
                .filter(|(_, agent)| said(agent))
                .cloned()
                .collect(),
            finished: workload
                .finished
                .iter()
                .filter(|(_, finish)| said(finish.note()))
                .cloned()
                .collect(),
        }
    }
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
