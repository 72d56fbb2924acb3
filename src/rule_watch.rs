//! Reloading the rule file when it changes on disk: opt-in with
//! `--watch-rules-ms`, beside SIGHUP and the `ReloadRules` RPC.
//!
//! The file and the lexicon files beside it are polled (modification time
//! and size), not watched with inotify: a Kubernetes config map is updated
//! by swapping a symlink, which inotify on the file misses, and a poll every
//! second or two costs nothing. A change that does not compile is logged
//! with every error and the running rules stay; the next change is tried
//! again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::app::App;
use crate::shutdown::Shutdown;

/// What is compared between polls: each file's modification time and size.
type Stamp = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

/// The rule file and every `*.toml` file in its directory (the lexicon
/// files a rule file may name live there).
fn stamp(rule_file: &Path) -> Stamp {
    let mut files = vec![rule_file.to_path_buf()];
    let dir = rule_file.parent().filter(|dir| !dir.as_os_str().is_empty());
    if let Ok(entries) = std::fs::read_dir(dir.unwrap_or(Path::new("."))) {
        let mut tomls: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path != rule_file)
            .collect();
        tomls.sort();
        files.extend(tomls);
    }
    files
        .into_iter()
        .map(|path| {
            let seen = std::fs::metadata(&path)
                .and_then(|meta| Ok((meta.modified()?, meta.len())))
                .ok();
            (path, seen)
        })
        .collect()
}

/// Polls `rule_file` every `interval` until `shutdown` and reloads the
/// rules into `app` when it (or a file beside it) changes.
pub async fn watch_rule_file(app: Arc<App>, rule_file: PathBuf, interval: Duration, mut shutdown: Shutdown) {
    let mut seen = stamp(&rule_file);
    let mut polls = tokio::time::interval(interval);
    polls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(file = %rule_file.display(), every_ms = interval.as_millis() as u64, "watching the rule file");
    loop {
        tokio::select! {
            () = shutdown.wait() => return,
            _ = polls.tick() => {}
        }
        let file = rule_file.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || stamp(&file)).await else {
            continue;
        };
        if now == seen {
            continue;
        }
        seen = now;
        match app.reload_rules(&rule_file).await {
            Ok(rules) => tracing::info!(
                version = rules.version(),
                rule_count = rules.rule_count(),
                "rules reloaded: the rule file changed"
            ),
            Err(err) => {
                tracing::error!(error = %err, "changed rule file rejected; keeping the running rules")
            }
        }
    }
}
