//! The optional TOML config file (`--config`, `TRIAGE_CONFIG`) and
//! `--print-config`.
//!
//! A file's keys are the server's long flag names (`listen`,
//! `data-dir`, `max-body-bytes` ...), each with a string, number, boolean,
//! or (for repeatable flags such as `sla`) an array. Precedence is flags >
//! environment > file > defaults: the command line is parsed once to learn
//! where each value came from, then again with the file's values placed
//! before it, for just the flags that neither the command line nor the
//! environment set. Every flag, including those added later, is a key
//! without further code here.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches};

use super::Args;

/// Flags that are actions or about the file itself, not settings.
const NOT_SETTINGS: &[&str] = &[
    "help",
    "version",
    "config",
    "print-config",
    "check-rules",
    "verify",
];

/// Why the command line and config file could not be turned into [`Args`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A flag or environment variable is wrong (or `--help`/`--version`
    /// was asked for); clap renders and exits with it.
    #[error(transparent)]
    Flags(#[from] clap::Error),
    /// The config file could not be read or parsed.
    #[error("config file {}: {reason}", path.display())]
    File {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A key of the config file is unknown or has a bad value.
    #[error("config file {}: key `{key}`: {reason}", path.display())]
    Key {
        /// The config file.
        path: PathBuf,
        /// The key, i.e. the flag's long name.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// The arguments of this process: command line over environment over
/// config file over defaults.
pub fn load() -> Result<Args, LoadError> {
    load_from(std::env::args_os())
}

/// Like [`load`], for the command line `argv` (program name first).
pub fn load_from(argv: impl IntoIterator<Item = impl Into<OsString>>) -> Result<Args, LoadError> {
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let matches = merged_matches(&argv)?;
    Ok(Args::from_arg_matches(&matches)?)
}

/// The effective configuration of `argv` as TOML, every setting with where
/// its value came from. `TRIAGE_TOKENS` and a store URL's password are
/// never shown.
pub fn print_config(argv: impl IntoIterator<Item = impl Into<OsString>>) -> Result<String, LoadError> {
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
    let matches = merged_matches(&argv)?;
    let mut out =
        String::from("# triage: effective configuration (flags > environment > config file > defaults)\n");
    if let Some(path) = matches.get_one::<PathBuf>("config") {
        let _ = writeln!(out, "# config file: {}", path.display());
    }
    if std::env::var_os("TRIAGE_TOKENS").is_some() {
        out.push_str("# TRIAGE_TOKENS is set (tokens are not shown)\n");
    }
    for arg in Args::command().get_arguments() {
        let Some(key) = setting_key(arg) else { continue };
        let id = arg.get_id().as_str();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) if typed(&argv, key) => "flag".to_string(),
            Some(ValueSource::CommandLine) => "config file".to_string(),
            Some(ValueSource::EnvVariable) => arg.get_env().map_or("environment".to_string(), |env| {
                env.to_string_lossy().into_owned()
            }),
            Some(ValueSource::DefaultValue) => "default".to_string(),
            _ => {
                let _ = writeln!(out, "# {key} is unset");
                continue;
            }
        };
        let value = match arg.get_action() {
            ArgAction::SetTrue => toml::Value::Boolean(matches.get_flag(id)),
            ArgAction::Append => {
                let values = raw_values(&matches, id);
                toml::Value::Array(values.into_iter().map(scalar).collect())
            }
            _ => match raw_values(&matches, id).into_iter().next() {
                Some(text) if key == "store" => scalar(shown_store(text)),
                Some(text) => scalar(text),
                None => continue,
            },
        };
        let _ = writeln!(out, "{key} = {value}  # {source}");
    }
    Ok(out)
}

/// A `store` value as `--print-config` shows it: without a password.
fn shown_store(text: String) -> String {
    match text.parse::<crate::store::StoreLocation>() {
        Ok(location) => location.to_string(),
        Err(_) => "(not a valid store; not shown)".to_string(),
    }
}

/// Whether `--key` is on the command line `argv` (rather than put there
/// from the config file).
fn typed(argv: &[OsString], key: &str) -> bool {
    let flag = format!("--{key}");
    argv.iter().skip(1).any(|arg| {
        let arg = arg.to_string_lossy();
        arg == flag || arg.starts_with(&format!("{flag}="))
    })
}

fn raw_values(matches: &ArgMatches, id: &str) -> Vec<String> {
    matches
        .get_raw(id)
        .map(|values| values.map(|value| value.to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

/// A value as TOML: a whole number as an integer, anything else a string.
fn scalar(text: String) -> toml::Value {
    match text.parse::<i64>() {
        Ok(number) if number.to_string() == text => toml::Value::Integer(number),
        _ => toml::Value::String(text),
    }
}

/// The config-file key of a setting flag; `None` for actions.
fn setting_key(arg: &clap::Arg) -> Option<&str> {
    let key = arg.get_long()?;
    (!NOT_SETTINGS.contains(&key)).then_some(key)
}

/// Parses `argv`, then again with the config file's values (if any) for
/// the flags the command line and environment left unset.
fn merged_matches(argv: &[OsString]) -> Result<ArgMatches, LoadError> {
    let command = Args::command();
    let matches = command.clone().try_get_matches_from(argv)?;
    if matches.subcommand().is_some() {
        return Ok(matches);
    }
    let Some(path) = matches.get_one::<PathBuf>("config").cloned() else {
        return Ok(matches);
    };
    let table = read_table(&path)?;
    let mut from_file = Vec::new();
    for (key, value) in &table {
        let unknown = || LoadError::Key {
            path: path.clone(),
            key: key.clone(),
            reason: "unknown key (keys are the long flag names, e.g. `data-dir`; see `triage --help`)".into(),
        };
        let arg = command
            .get_arguments()
            .find(|arg| setting_key(arg) == Some(key.as_str()))
            .ok_or_else(unknown)?;
        let source = matches.value_source(arg.get_id().as_str());
        if matches!(source, Some(ValueSource::CommandLine | ValueSource::EnvVariable)) {
            continue;
        }
        let flags = flags_for(arg, key, value).map_err(|reason| LoadError::Key {
            path: path.clone(),
            key: key.clone(),
            reason,
        })?;
        check_value(&command, key, &flags).map_err(|reason| LoadError::Key {
            path: path.clone(),
            key: key.clone(),
            reason,
        })?;
        from_file.extend(flags);
    }
    let mut merged: Vec<OsString> = argv.iter().take(1).cloned().collect();
    merged.extend(from_file.into_iter().map(OsString::from));
    merged.extend(argv.iter().skip(1).cloned());
    Ok(command.try_get_matches_from(merged)?)
}

fn read_table(path: &Path) -> Result<toml::Table, LoadError> {
    let file_error = |reason: String| LoadError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|err| file_error(err.to_string()))?;
    text.parse::<toml::Table>().map_err(|err| {
        let before = err
            .span()
            .and_then(|span| text.get(..span.start))
            .unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        file_error(format!("line {line}: {}", err.message()))
    })
}

/// The command-line form of `key = value`.
fn flags_for(arg: &clap::Arg, key: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    let flag = |text: &str| format!("--{key}={text}");
    match (arg.get_action(), value) {
        (ArgAction::SetTrue, toml::Value::Boolean(true)) => Ok(vec![format!("--{key}")]),
        (ArgAction::SetTrue, toml::Value::Boolean(false)) => Ok(Vec::new()),
        (ArgAction::SetTrue, _) => Err("expected true or false".into()),
        (ArgAction::Append, toml::Value::Array(items)) => items
            .iter()
            .map(|item| scalar_text(item).map(|text| flag(&text)))
            .collect(),
        (_, toml::Value::Array(_)) => Err("expected a single value, not an array".into()),
        (_, value) => scalar_text(value).map(|text| vec![flag(&text)]),
    }
}

fn scalar_text(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        _ => Err("expected a string, number or boolean".into()),
    }
}

/// Parses the file's flags for `key` alone, so a bad value is reported
/// with the file and key rather than as if it had been typed. Errors about
/// other flags (a missing companion such as `--tls-key`) are left to the
/// full parse.
fn check_value(command: &clap::Command, key: &str, flags: &[String]) -> Result<(), String> {
    let argv = std::iter::once("triage").chain(flags.iter().map(String::as_str));
    let Err(err) = command.clone().try_get_matches_from(argv) else {
        return Ok(());
    };
    let ours = err
        .get(clap::error::ContextKind::InvalidArg)
        .is_some_and(|arg| arg.to_string().starts_with(&format!("--{key}")));
    if !ours {
        return Ok(());
    }
    let rendered = err.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    Err(first.trim_start_matches("error: ").to_string())
}
