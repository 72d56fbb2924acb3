//! The TOML config file and `--print-config`: flags beat environment beats
//! file beats defaults; the printed configuration reads back as a config
//! file; every bad value exits 2 naming its key or flag.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{ingest, ticket, KillOnDrop, ServerProcess};
use tonic::Code;
use triage::pb;

/// The binary with `args` and `env`, and no other `TRIAGE_*` variable.
fn triage(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("TRIAGE_")) {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("runs")
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("triage.toml");
    std::fs::write(&path, text).expect("write config");
    path.display().to_string()
}

/// `--print-config`'s line for `key`.
fn printed(output: &Output, key: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find(|line| line.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("{key} not printed: {stdout}"))
        .to_string()
}

fn refused(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn a_file_value_applies_when_no_flag_or_variable_sets_it() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(
        dir.path(),
        "max-body-bytes = 1000\nsla = [\"urgent=30\", \"high=60\"]\n",
    );
    let output = triage(&["--config", &config, "--print-config"], &[]);
    assert_eq!(
        printed(&output, "max-body-bytes"),
        "max-body-bytes = 1000  # config file"
    );
    assert_eq!(
        printed(&output, "sla"),
        "sla = [\"urgent=30\", \"high=60\"]  # config file"
    );
    assert_eq!(printed(&output, "watch-buffer"), "watch-buffer = 1024  # default");
}

#[test]
fn the_environment_beats_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "max-body-bytes = 1000\n");
    let output = triage(
        &["--config", &config, "--print-config"],
        &[("TRIAGE_MAX_BODY_BYTES", "2000")],
    );
    assert_eq!(
        printed(&output, "max-body-bytes"),
        "max-body-bytes = 2000  # TRIAGE_MAX_BODY_BYTES"
    );
}

#[test]
fn a_flag_beats_the_environment_and_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "max-body-bytes = 1000\n");
    let args = ["--config", &config, "--print-config", "--max-body-bytes", "3000"];
    let output = triage(&args, &[("TRIAGE_MAX_BODY_BYTES", "2000")]);
    assert_eq!(
        printed(&output, "max-body-bytes"),
        "max-body-bytes = 3000  # flag"
    );
}

#[test]
fn triage_config_names_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "retention-days = 30\n");
    let output = triage(&["--print-config"], &[("TRIAGE_CONFIG", &config)]);
    assert_eq!(
        printed(&output, "retention-days"),
        "retention-days = 30  # config file"
    );
}

#[test]
fn printed_configuration_reads_back_as_the_same_configuration() {
    let dir = tempfile::tempdir().expect("dir");
    let args = [
        "--print-config",
        "--cache-mb",
        "64",
        "--sla",
        "low=600",
        "--durability",
        "flush-per-write",
    ];
    let first = triage(&args, &[]);
    assert!(first.status.success());
    let text = String::from_utf8_lossy(&first.stdout).into_owned();
    let table: toml::Table = text.parse().expect("valid TOML");
    assert_eq!(table.get("cache-mb"), Some(&toml::Value::Integer(64)));
    let config = write_config(dir.path(), &text);
    let second = triage(&["--config", &config, "--print-config"], &[]);
    let again: toml::Table = String::from_utf8_lossy(&second.stdout)
        .parse()
        .expect("valid TOML");
    assert_eq!(again, table);
}

#[test]
fn print_config_never_shows_tokens() {
    let secret = "agent:print-config-secret-0123456789";
    let output = triage(&["--print-config"], &[("TRIAGE_TOKENS", secret)]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("TRIAGE_TOKENS is set"), "{stdout}");
    assert!(!stdout.contains("print-config-secret"), "{stdout}");
}

#[test]
fn a_bad_value_in_the_file_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "max-body-bytes = \"lots\"\n");
    let stderr = refused(&triage(&["--config", &config, "--print-config"], &[]));
    assert!(
        stderr.contains("key `max-body-bytes`") && stderr.contains("triage.toml"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_key_in_the_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "listen = \"127.0.0.1:0\"\nmax-bdy-bytes = 10\n");
    let stderr = refused(&triage(&["--config", &config], &[]));
    assert!(stderr.contains("key `max-bdy-bytes`: unknown key"), "{stderr}");
}

#[test]
fn a_file_that_is_not_toml_exits_2_with_the_line() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "retention-days = 3\nlisten = [1\n");
    let stderr = refused(&triage(&["--config", &config], &[]));
    assert!(stderr.contains("triage.toml: line 2"), "{stderr}");
}

#[test]
fn a_missing_config_file_exits_2() {
    let stderr = refused(&triage(&["--config", "/nonexistent/triage.toml"], &[]));
    assert!(stderr.contains("/nonexistent/triage.toml"), "{stderr}");
}

#[test]
fn an_out_of_range_value_exits_2_naming_the_flag() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "watch-buffer = 0\n");
    let stderr = refused(&triage(&["--config", &config, "--print-config"], &[]));
    assert!(stderr.contains("--watch-buffer"), "{stderr}");
    let stderr = refused(&triage(&["--print-config", "--cache-mb", "0"], &[]));
    assert!(stderr.contains("--cache-mb"), "{stderr}");
    let stderr = refused(&triage(
        &["--print-config", "--watch-buffer", "18446744073709551615"],
        &[],
    ));
    assert!(stderr.contains("--watch-buffer"), "{stderr}");
}

#[test]
fn a_malformed_flag_or_variable_exits_2_naming_it() {
    let stderr = refused(&triage(&["--print-config", "--drain-seconds", "soon"], &[]));
    assert!(stderr.contains("--drain-seconds"), "{stderr}");
    let stderr = refused(&triage(&["--print-config"], &[("TRIAGE_MAX_BODY_BYTES", "-5")]));
    assert!(stderr.contains("--max-body-bytes"), "{stderr}");
}

#[tokio::test]
async fn the_server_runs_with_the_file_settings() {
    let dir = tempfile::tempdir().expect("dir");
    let config = write_config(dir.path(), "max-agent-id-bytes = 8\n");
    let server = ServerProcess::start(&dir.path().join("data"), &["--config", &config]);
    let server = KillOnDrop(Some(server));
    let mut client = common::connect(server.server().address).await;
    ingest(&mut client, ticket("cfg-1", "Hello", "hi")).await;
    let request = pb::ClaimNextRequest {
        queue: "inbox".into(),
        agent_id: "a-very-long-agent-id".into(),
        ..Default::default()
    };
    let status = client
        .claim_next(request)
        .await
        .expect_err("agent id over 8 bytes");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("agent_id"), "{status:?}");
}
