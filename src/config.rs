//! Configuration in two stages: [`Args`] are the raw flags, environment
//! variables and config file ([`file`]); [`Config`] is the validated result
//! that knows how to build the parts (rules, store, domain settings, tokens,
//! TLS).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::app::AppSettings;
use crate::auth::Keyring;
use crate::learn::LearnOptions;
use crate::logging::LogFormat;
use crate::overload::OverloadSettings;
use crate::rules::{RuleError, RuleSet};
use crate::store::{Durability, PgOptions, StoreLocation, StoreOptions};
use crate::ticket::Priority;
use crate::tls::TlsFiles;
use crate::validate::Limits;

pub mod file;

/// Raw command-line flags (each also readable from a `TRIAGE_*` variable).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "triage",
    version,
    about = "Contact-centre ticket triage over gRPC: reactive service issues vs proactive CX opportunities.",
    args_conflicts_with_subcommands = true
)]
pub struct Args {
    /// An offline tool to run instead of the server.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address to serve gRPC on: `IP:PORT`, or `HOST:PORT` resolved at start
    /// (`localhost:50051`).
    #[arg(long, env = "TRIAGE_LISTEN", default_value = "127.0.0.1:50051", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Directory of the embedded store (created if missing); the same as
    /// `--store sled:DIR`.
    #[arg(long, env = "TRIAGE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The store: `sled:PATH` (embedded; the default is `sled:` the
    /// `--data-dir`, `./data`) or `postgres://USER@HOST:PORT/DATABASE`
    /// (shared by replicas; PostgreSQL, CockroachDB or YugabyteDB). Wins
    /// over `--data-dir`.
    #[arg(long, env = "TRIAGE_STORE")]
    pub store: Option<String>,
    /// Most database connections this replica opens (PostgreSQL store).
    #[arg(long, env = "TRIAGE_STORE_POOL_SIZE", default_value_t = PgOptions::default().pool_size)]
    pub store_pool_size: usize,
    /// Rule file (TOML); the built-in default rule set when absent.
    #[arg(long, env = "TRIAGE_RULES")]
    pub rules: Option<PathBuf>,
    /// Check the rule file, print a summary, and exit.
    #[arg(long)]
    pub check_rules: bool,
    /// Check the store's indexes against its tickets (server must be
    /// stopped), print a report, and exit non-zero on any problem.
    #[arg(long)]
    pub verify: bool,
    /// Largest accepted ticket body, in bytes.
    #[arg(long, env = "TRIAGE_MAX_BODY_BYTES", default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Largest accepted agent id, in bytes (ClaimNext's `agent_id`).
    #[arg(long, env = "TRIAGE_MAX_AGENT_ID_BYTES", default_value_t = Limits::default().max_agent_id_bytes)]
    pub max_agent_id_bytes: usize,
    /// Largest accepted release or transfer reason, in bytes.
    #[arg(long, env = "TRIAGE_MAX_REASON_BYTES", default_value_t = Limits::default().max_reason_bytes)]
    pub max_reason_bytes: usize,
    /// Largest accepted resolution note, in bytes (CompleteTicket).
    #[arg(long, env = "TRIAGE_MAX_RESOLUTION_BYTES", default_value_t = Limits::default().max_resolution_bytes)]
    pub max_resolution_bytes: usize,
    /// sled page-cache size in MiB (sled's default, 1024, when absent).
    #[arg(long, env = "TRIAGE_CACHE_MB")]
    pub cache_mb: Option<u64>,
    /// How acknowledged writes are made durable.
    #[arg(long, env = "TRIAGE_DURABILITY", value_enum, default_value_t = DurabilityArg::GroupCommit)]
    pub durability: DurabilityArg,
    /// Default first-response target per priority, e.g. `urgent=30`
    /// (repeatable); applies when neither rule nor queue sets one.
    #[arg(long = "sla", env = "TRIAGE_SLA", value_delimiter = ',', value_parser = parse_sla)]
    pub sla: Vec<(Priority, u32)>,
    /// How often leases are expired and deadlines escalated, in milliseconds.
    #[arg(long, env = "TRIAGE_MAINTENANCE_INTERVAL_MS", default_value_t = 1000)]
    pub maintenance_interval_ms: u64,
    /// Poll the rule file (and the files beside it) this often, in
    /// milliseconds, and reload when it changes; 0 (the default) reloads
    /// only on SIGHUP or ReloadRules. Needs --rules.
    #[arg(long, env = "TRIAGE_WATCH_RULES_MS", default_value_t = 0)]
    pub watch_rules_ms: u64,
    /// Events buffered per queue watcher before it is told it lagged.
    #[arg(long, env = "TRIAGE_WATCH_BUFFER", default_value_t = 1024)]
    pub watch_buffer: usize,
    /// On shutdown, how long to wait for open connections to finish before
    /// closing them, in seconds.
    #[arg(long, env = "TRIAGE_DRAIN_SECONDS", default_value_t = 10)]
    pub drain_seconds: u64,
    /// Completed tickets are deleted this many days after completion, with
    /// their index entries; 0 keeps them forever.
    #[arg(long, env = "TRIAGE_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS)]
    pub retention_days: u64,
    /// Address of the operations HTTP port (`/metrics`, `/healthz`,
    /// `/readyz`): `IP:PORT`, `HOST:PORT`, or `off`.
    #[arg(long, env = "TRIAGE_HTTP_LISTEN", default_value = "127.0.0.1:9090", value_parser = parse_http_listen)]
    pub http_listen: HttpListen,
    /// Calls in progress at once; more are answered RESOURCE_EXHAUSTED at
    /// once (health checks and Ping are never refused).
    #[arg(long, env = "TRIAGE_MAX_CONCURRENT_RPCS", default_value_t = OverloadSettings::default().max_concurrent_rpcs)]
    pub max_concurrent_rpcs: usize,
    /// Open WatchQueue streams and waiting ClaimNext calls at once; more
    /// are answered RESOURCE_EXHAUSTED.
    #[arg(long, env = "TRIAGE_MAX_WATCHERS", default_value_t = OverloadSettings::default().max_watchers)]
    pub max_watchers: usize,
    /// Long tickets classified at once, on blocking threads (default: one
    /// per core).
    #[arg(long, env = "TRIAGE_CLASSIFY_THREADS")]
    pub classify_threads: Option<usize>,
    /// How long a long ticket may wait for and take its classification
    /// before the call is answered RESOURCE_EXHAUSTED, in milliseconds;
    /// 0: no limit.
    #[arg(long, env = "TRIAGE_CLASSIFY_BUDGET_MS", default_value_t = 5000)]
    pub classify_budget_ms: u64,
    /// HTTP/2 streams (calls) one connection may have open at once.
    #[arg(long, env = "TRIAGE_HTTP2_MAX_STREAMS", default_value_t = OverloadSettings::default().http2_max_streams)]
    pub http2_max_streams: u32,
    /// Seconds between HTTP/2 keepalive pings on a connection; 0: none.
    #[arg(long, env = "TRIAGE_HTTP2_KEEPALIVE_SECONDS", default_value_t = 60)]
    pub http2_keepalive_seconds: u64,
    /// Seconds a keepalive ping may go unanswered before the connection is
    /// closed.
    #[arg(long, env = "TRIAGE_HTTP2_KEEPALIVE_TIMEOUT_SECONDS", default_value_t = 20)]
    pub http2_keepalive_timeout_seconds: u64,
    /// Longest a call may take to answer, in seconds (DEADLINE_EXCEEDED
    /// after); 0: no limit beyond the caller's own deadline. Keep it above
    /// 60, the longest ClaimNext wait.
    #[arg(long, env = "TRIAGE_RPC_TIMEOUT_SECONDS", default_value_t = crate::overload::DEFAULT_RPC_TIMEOUT.as_secs())]
    pub rpc_timeout_seconds: u64,
    /// Log lines as human-readable text or as JSON objects.
    #[arg(long, env = "TRIAGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Bearer tokens, one `ROLE:TOKEN` a line (roles: ingest, agent,
    /// admin; `ROLE:sha256:HEX` gives a token by its hash). Tokens can
    /// also come from `TRIAGE_TOKENS` (comma-separated); with either, every
    /// triage RPC needs a token.
    #[arg(long, env = "TRIAGE_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Serve without authentication on a non-loopback address (refused
    /// otherwise when no tokens are configured).
    #[arg(long, env = "TRIAGE_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// TLS certificate chain (PEM); serves TLS with `--tls-key`. Reloaded
    /// on SIGHUP and when the file changes.
    #[arg(long, env = "TRIAGE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for `--tls-cert`.
    #[arg(long, env = "TRIAGE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM): clients must present a certificate signed by
    /// one (mutual TLS). Needs `--tls-cert`.
    #[arg(long, env = "TRIAGE_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// TOML config file: keys are these flags' long names (`data-dir =
    /// "/var/lib/triage"`); flags and environment variables override it.
    #[arg(long, env = "TRIAGE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as TOML (with where each value
    /// came from), check it, and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// `--http-listen`: an address, or `None` for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpListen(pub Option<SocketAddr>);

fn parse_http_listen(text: &str) -> Result<HttpListen, String> {
    match text {
        "off" => Ok(HttpListen(None)),
        address => parse_listen(address).map(|address| HttpListen(Some(address))),
    }
}

/// Parses `--listen`: a socket address, or a host name and port resolved
/// to its first address.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    use std::net::ToSocketAddrs;
    text.to_socket_addrs()
        .map_err(|err| format!("{text:?} is not HOST:PORT or IP:PORT ({err})"))?
        .next()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

/// Default of `--retention-days`: a year of history plus a margin for
/// year-on-year comparisons.
pub const DEFAULT_RETENTION_DAYS: u64 = 400;

/// The offline tools; without one, `triage` runs the server.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Rule-set tools.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Write agents' corrections (with `--all`, also every completed ticket)
    /// as labelled JSONL, the input of `triage rules learn`. Stop the server
    /// first: the store allows one process at a time.
    ExportLabels(ExportLabelsArgs),
}

/// `triage rules ...`
#[derive(Debug, Clone, Subcommand)]
pub enum RulesCommand {
    /// Fit weighted lexicons (reactive vs proactive, and per category) from
    /// labelled JSONL tickets and write them as a TOML lexicon file.
    Learn(LearnArgs),
    /// Parse and compile a rule file without running it: its error (with
    /// line, column and reason) or its warnings (rules that can never fire,
    /// unused queues). Exits non-zero on an error.
    Validate(RuleFileArgs),
    /// Explain, rule by rule, how a rule file classifies the ticket read as
    /// JSON from standard input ({"subject": ..., "body": ..., "channel":
    /// ..., "customer": {"tier": ...}, ...}; no customer history).
    Explain(RuleFileArgs),
    /// Re-classify the tickets stored in a data directory with a rule file
    /// and count how many would move where, changing nothing. Stop the
    /// server first: the store allows one process at a time.
    Backtest(BacktestArgs),
}

/// Flags of `triage rules backtest`.
#[derive(Debug, Clone, clap::Args)]
pub struct BacktestArgs {
    /// The candidate rule file (TOML); its lexicon_files are read beside it.
    pub file: PathBuf,
    /// Directory of the store (the server must be stopped).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Only tickets now in this queue.
    #[arg(long)]
    pub queue: Option<String>,
    /// Only tickets on this side (reactive, proactive, unclassified).
    #[arg(long, value_parser = parse_side)]
    pub side: Option<crate::ticket::Side>,
    /// Ticket ids shown per move.
    #[arg(long, default_value_t = crate::backtest::DEFAULT_SAMPLES_PER_MOVE)]
    pub samples: usize,
}

fn parse_side(text: &str) -> Result<crate::ticket::Side, String> {
    crate::ticket::Side::parse(text)
        .ok_or_else(|| format!("{text:?}: expected reactive, proactive or unclassified"))
}

/// The rule file a `triage rules` tool reads.
#[derive(Debug, Clone, clap::Args)]
pub struct RuleFileArgs {
    /// The rule file (TOML); its lexicon_files are read beside it.
    pub file: PathBuf,
}

/// Flags of `triage rules learn`.
#[derive(Debug, Clone, clap::Args)]
pub struct LearnArgs {
    /// Labelled tickets, one JSON object a line:
    /// {"text": ..., "subject": ..., "side": "reactive"|"proactive", "category": ...}.
    #[arg(long)]
    pub corpus: PathBuf,
    /// Keep only lines whose "split" field equals this (e.g. `dev`).
    #[arg(long)]
    pub split: Option<String>,
    /// Write the lexicon file here (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep only terms found in at least this many tickets.
    #[arg(long, default_value_t = 3)]
    pub min_count: usize,
    /// Most terms in the side lexicon.
    #[arg(long, default_value_t = 400)]
    pub max_terms: usize,
    /// Most terms in each category lexicon.
    #[arg(long, default_value_t = 60)]
    pub category_terms: usize,
    /// L2 penalty (regularisation strength; larger means smaller weights).
    #[arg(long, default_value_t = 1.0, value_parser = parse_l2)]
    pub l2: f64,
    /// Learn from the words only: fit no `"@sentiment"` weight.
    #[arg(long)]
    pub no_sentiment: bool,
}

impl LearnArgs {
    /// The learning options these flags ask for.
    pub fn options(&self) -> LearnOptions {
        LearnOptions {
            min_count: self.min_count,
            max_terms: self.max_terms,
            category_terms: self.category_terms,
            l2: self.l2,
            sentiment: !self.no_sentiment,
            ..LearnOptions::default()
        }
    }
}

fn parse_l2(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(l2) if l2.is_finite() && l2 > 0.0 => Ok(l2),
        _ => Err(format!("{text:?}: expected a positive number, e.g. 1.0")),
    }
}

/// Flags of `triage export-labels`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportLabelsArgs {
    /// Directory of the store (the server must be stopped).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Write the JSONL here (standard output when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also export every completed ticket without a correction, labelled
    /// with the rules' classification.
    #[arg(long)]
    pub all: bool,
}

/// `--durability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// One flush for all concurrent requests (fast; the default).
    GroupCommit,
    /// One flush per write (slow; for comparison).
    FlushPerWrite,
}

fn parse_sla(text: &str) -> Result<(Priority, u32), String> {
    let (priority, minutes) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected PRIORITY=MINUTES, e.g. urgent=30"))?;
    let priority = Priority::parse(priority.trim())
        .ok_or_else(|| format!("{priority:?}: expected urgent, high, normal or low"))?;
    let minutes = minutes
        .trim()
        .parse()
        .map_err(|_| format!("{minutes:?}: expected whole minutes"))?;
    Ok((priority, minutes))
}

/// Why configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The rule file is unusable.
    #[error("rules: {0}")]
    Rules(#[from] RuleError),
    /// Authentication is misconfigured (or missing where it is required).
    #[error("{0}")]
    Auth(#[from] crate::auth::SetupError),
    /// The TLS files are unusable.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// A value is out of range.
    #[error("--{flag}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The value of `TRIAGE_TOKENS`, read here rather than as a flag so that
/// tokens never appear on a command line (`ps` shows those to everyone).
fn tokens_env() -> Result<Option<String>, ConfigError> {
    match std::env::var("TRIAGE_TOKENS") {
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Invalid {
            flag: "tokens-file",
            reason: "TRIAGE_TOKENS is not valid UTF-8".into(),
        }),
    }
}

/// Largest `--max-body-bytes` accepted.
const MAX_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Largest `--max-agent-id-bytes`, `--max-reason-bytes` or
/// `--max-resolution-bytes` accepted: agents' notes are kept in a ticket's
/// history, so each must stay far below the 4 MiB clients can receive.
const MAX_NOTE_LIMIT: usize = 256 * 1024;

/// Largest `--watch-buffer` accepted (events held per watcher; a huge
/// value made the event channel panic at start).
const MAX_WATCH_BUFFER: usize = 1 << 20;

/// Checks a byte limit (or other count) given with `--{flag}`: between 1
/// and `max`.
fn byte_limit(flag: &'static str, value: usize, max: usize) -> Result<usize, ConfigError> {
    if value == 0 || value > max {
        return Err(ConfigError::Invalid {
            flag,
            reason: format!("must be between 1 and {max}"),
        });
    }
    Ok(value)
}

/// Checks a count given with `--{flag}`: at least 1.
fn positive<T: Default + PartialEq>(flag: &'static str, value: T) -> Result<T, ConfigError> {
    if value == T::default() {
        return Err(ConfigError::Invalid {
            flag,
            reason: "must be at least 1".into(),
        });
    }
    Ok(value)
}

/// The overload flags, checked.
fn overload_settings(args: &Args) -> Result<OverloadSettings, ConfigError> {
    let keepalive_timeout = positive(
        "http2-keepalive-timeout-seconds",
        args.http2_keepalive_timeout_seconds,
    )?;
    Ok(OverloadSettings {
        max_concurrent_rpcs: positive("max-concurrent-rpcs", args.max_concurrent_rpcs)?,
        max_watchers: positive("max-watchers", args.max_watchers)?,
        http2_max_streams: positive("http2-max-streams", args.http2_max_streams)?,
        http2_keepalive_interval: (args.http2_keepalive_seconds > 0)
            .then(|| Duration::from_secs(args.http2_keepalive_seconds)),
        http2_keepalive_timeout: Duration::from_secs(keepalive_timeout),
        rpc_timeout: (args.rpc_timeout_seconds > 0).then(|| Duration::from_secs(args.rpc_timeout_seconds)),
    })
}

/// The store `--store` names, or the sled store in `--data-dir`.
fn store_location(store: Option<&str>, data_dir: &std::path::Path) -> Result<StoreLocation, ConfigError> {
    match store {
        Some(text) => text.parse().map_err(|reason| ConfigError::Invalid {
            flag: "store",
            reason,
        }),
        None => Ok(StoreLocation::Sled(data_dir.to_path_buf())),
    }
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Store directory (of the sled store; unused with PostgreSQL).
    pub data_dir: PathBuf,
    /// The store's backend and where it is.
    pub location: StoreLocation,
    /// Rule file, or `None` for the embedded default.
    pub rules_path: Option<PathBuf>,
    /// Store options (sled).
    pub store: StoreOptions,
    /// Store options (PostgreSQL).
    pub pg: PgOptions,
    /// Domain settings.
    pub app: AppSettings,
    /// Maintenance period.
    pub maintenance_interval: Duration,
    /// How often to poll the rule file for changes; `None`: never.
    pub watch_rules: Option<Duration>,
    /// How often the token and certificate files are checked for changes
    /// ([`FILE_CHECK_INTERVAL`](crate::tls::FILE_CHECK_INTERVAL); tests
    /// shorten it).
    pub file_check_interval: Duration,
    /// How long a shutdown waits for open connections.
    pub drain_timeout: Duration,
    /// Where the operations HTTP port listens; `None`: not served.
    pub http_listen: Option<SocketAddr>,
    /// Concurrency and HTTP/2 limits.
    pub overload: OverloadSettings,
    /// Bearer tokens required on every triage RPC; `None` for none.
    pub tokens: Option<Arc<Keyring>>,
    /// Certificate files for TLS; `None` for plain HTTP/2.
    pub tls: Option<TlsFiles>,
}

impl Config {
    /// Validates raw arguments.
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let limits = Limits {
            max_body_bytes: byte_limit("max-body-bytes", args.max_body_bytes, MAX_BODY_LIMIT)?,
            max_agent_id_bytes: byte_limit("max-agent-id-bytes", args.max_agent_id_bytes, MAX_NOTE_LIMIT)?,
            max_reason_bytes: byte_limit("max-reason-bytes", args.max_reason_bytes, MAX_NOTE_LIMIT)?,
            max_resolution_bytes: byte_limit(
                "max-resolution-bytes",
                args.max_resolution_bytes,
                MAX_NOTE_LIMIT,
            )?,
            ..Limits::default()
        };
        if args.cache_mb == Some(0) {
            return Err(ConfigError::Invalid {
                flag: "cache-mb",
                reason: "must be at least 1".into(),
            });
        }
        if args.maintenance_interval_ms == 0 {
            return Err(ConfigError::Invalid {
                flag: "maintenance-interval-ms",
                reason: "must be at least 1".into(),
            });
        }
        if args.watch_rules_ms > 0 && args.rules.is_none() {
            return Err(ConfigError::Invalid {
                flag: "watch-rules-ms",
                reason: "needs a rule file to watch (--rules)".into(),
            });
        }
        let overload = overload_settings(&args)?;
        let location = store_location(args.store.as_deref(), &args.data_dir)?;
        let data_dir = match &location {
            StoreLocation::Sled(dir) => dir.clone(),
            StoreLocation::Postgres(_) => args.data_dir,
        };
        let durability = match args.durability {
            DurabilityArg::GroupCommit => Durability::GroupCommit,
            DurabilityArg::FlushPerWrite => Durability::FlushPerWrite,
        };
        let tokens = crate::auth::setup(
            args.listen,
            args.tokens_file.as_deref(),
            tokens_env()?.as_deref(),
            args.insecure_no_auth,
        )?;
        let tls = match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert,
                key,
                client_ca: args.tls_client_ca,
            }),
            _ => None,
        };
        if let Some(files) = &tls {
            files.load()?;
        }
        Ok(Config {
            listen: args.listen,
            data_dir,
            location,
            rules_path: args.rules,
            store: StoreOptions {
                durability,
                cache_bytes: args.cache_mb.map(|mb| mb.saturating_mul(1024 * 1024)),
            },
            pg: PgOptions {
                pool_size: positive("store-pool-size", args.store_pool_size)?,
                ..PgOptions::default()
            },
            app: AppSettings {
                limits,
                default_first_response_minutes: args.sla.into_iter().collect::<BTreeMap<_, _>>(),
                watch_buffer: byte_limit("watch-buffer", args.watch_buffer, MAX_WATCH_BUFFER)?,
                retention: (args.retention_days > 0)
                    .then(|| Duration::from_secs(args.retention_days.saturating_mul(86_400))),
                classify_threads: match args.classify_threads {
                    Some(threads) => positive("classify-threads", threads)?,
                    None => crate::app::default_classify_threads(),
                },
                classify_budget: (args.classify_budget_ms > 0)
                    .then(|| Duration::from_millis(args.classify_budget_ms)),
                ..AppSettings::default()
            },
            maintenance_interval: Duration::from_millis(args.maintenance_interval_ms),
            watch_rules: (args.watch_rules_ms > 0).then(|| Duration::from_millis(args.watch_rules_ms)),
            file_check_interval: crate::tls::FILE_CHECK_INTERVAL,
            drain_timeout: Duration::from_secs(args.drain_seconds),
            http_listen: args.http_listen.0,
            overload,
            tokens,
            tls,
        })
    }

    /// A configuration for tests and tools: default settings, store in `data_dir`.
    pub fn for_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            location: StoreLocation::Sled(data_dir.clone()),
            data_dir,
            rules_path: None,
            store: StoreOptions::default(),
            pg: PgOptions::default(),
            app: AppSettings::default(),
            maintenance_interval: Duration::from_secs(1),
            watch_rules: None,
            file_check_interval: crate::tls::FILE_CHECK_INTERVAL,
            drain_timeout: Duration::from_secs(10),
            http_listen: None,
            overload: OverloadSettings::default(),
            tokens: None,
            tls: None,
        }
    }

    /// Loads the configured rule set (or the embedded default).
    pub fn load_rules(&self) -> Result<RuleSet, RuleError> {
        match &self.rules_path {
            Some(path) => RuleSet::load_within(path, &self.app.rule_limits),
            None => RuleSet::default_rules(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(flags: &[&str]) -> Result<Config, ConfigError> {
        let args = Args::try_parse_from(std::iter::once("triage").chain(flags.iter().copied()));
        Config::from_args(args.expect("flags parse"))
    }

    fn note_limits(config: &Config) -> (usize, usize, usize) {
        let limits = &config.app.limits;
        (
            limits.max_agent_id_bytes,
            limits.max_reason_bytes,
            limits.max_resolution_bytes,
        )
    }

    #[test]
    fn note_limits_default_to_the_documented_values() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(note_limits(&config), (256, 4 * 1024, 16 * 1024));
    }

    #[test]
    fn note_limits_come_from_their_flags() {
        let flags = [
            "--max-agent-id-bytes=64",
            "--max-reason-bytes=100",
            "--max-resolution-bytes=2000",
        ];
        let config = config(&flags).expect("valid");
        assert_eq!(note_limits(&config), (64, 100, 2000));
    }

    #[test]
    fn zero_or_huge_note_limit_is_rejected_naming_the_flag() {
        for flags in [["--max-resolution-bytes=0"], ["--max-resolution-bytes=999999999"]] {
            let err = config(&flags).expect_err("out of range");
            assert!(err.to_string().contains("--max-resolution-bytes"), "{err}");
        }
    }

    #[test]
    fn a_zero_page_cache_is_refused_with_the_flag_named() {
        let err = config(&["--cache-mb", "0"]).expect_err("refused");
        assert!(err.to_string().contains("cache-mb"), "{err}");
        assert!(config(&["--cache-mb", "64"]).is_ok());
    }

    #[test]
    fn watching_the_rule_file_needs_a_rule_file() {
        let err = config(&["--watch-rules-ms", "500"]).expect_err("refused");
        assert!(err.to_string().contains("--watch-rules-ms"), "{err}");
        let watched = config(&["--watch-rules-ms", "500", "--rules", "rules/default.toml"]).expect("valid");
        assert_eq!(watched.watch_rules, Some(Duration::from_millis(500)));
        assert_eq!(config(&[]).expect("valid").watch_rules, None);
    }

    #[test]
    fn a_zero_or_huge_watch_buffer_is_refused_with_the_flag_named() {
        for value in ["0", "18446744073709551615"] {
            let err = config(&["--watch-buffer", value]).expect_err("refused");
            assert!(err.to_string().contains("--watch-buffer"), "{err}");
        }
        assert_eq!(
            config(&["--watch-buffer", "8"]).expect("valid").app.watch_buffer,
            8
        );
    }

    #[test]
    fn the_store_defaults_to_sled_in_the_data_dir_and_takes_a_postgres_url() {
        let default = config(&[]).expect("defaults are valid");
        assert_eq!(default.location, StoreLocation::Sled(PathBuf::from("./data")));
        let dir = config(&["--data-dir", "/srv/triage"]).expect("valid");
        assert_eq!(dir.location, StoreLocation::Sled(PathBuf::from("/srv/triage")));
        let sled = config(&["--store", "sled:/var/lib/triage"]).expect("valid");
        assert_eq!(sled.data_dir, PathBuf::from("/var/lib/triage"));
        let shared = config(&["--store", "postgres://root@127.0.0.1:5432/test"]).expect("valid");
        assert!(matches!(shared.location, StoreLocation::Postgres(_)));
    }

    #[test]
    fn a_bad_store_is_refused_with_the_flag_named_and_no_password() {
        for value in ["mysql://db/x", "sled:", "postgres://app:hunter2@db:port/x"] {
            let err = config(&["--store", value]).expect_err("refused");
            let message = err.to_string();
            assert!(message.contains("--store"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }

    #[test]
    fn listen_takes_a_host_name() {
        let config = config(&["--listen", "localhost:50051"]).expect("resolves");
        assert!(config.listen.ip().is_loopback());
        assert_eq!(config.listen.port(), 50051);
        let args = Args::try_parse_from(["triage", "--listen", "no-port"]);
        assert!(args.is_err(), "a host without a port is refused");
    }

    #[test]
    fn the_operations_port_defaults_to_loopback_9090_and_can_be_turned_off() {
        let default = config(&[]).expect("defaults are valid");
        assert_eq!(
            default.http_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
        let off = config(&["--http-listen", "off"]).expect("off is valid");
        assert_eq!(off.http_listen, None);
        assert!(Args::try_parse_from(["triage", "--http-listen", "nowhere"]).is_err());
    }

    #[test]
    fn overload_limits_come_from_their_flags() {
        let flags = [
            "--max-concurrent-rpcs=8",
            "--max-watchers=3",
            "--http2-max-streams=16",
            "--http2-keepalive-seconds=0",
            "--classify-threads=1",
            "--classify-budget-ms=0",
            "--rpc-timeout-seconds=0",
        ];
        let default = config(&[]).expect("defaults are valid");
        assert_eq!(default.overload.rpc_timeout, Some(Duration::from_secs(75)));
        let config = config(&flags).expect("valid");
        let overload = config.overload;
        assert_eq!(
            (
                overload.max_concurrent_rpcs,
                overload.max_watchers,
                overload.http2_max_streams
            ),
            (8, 3, 16)
        );
        assert_eq!(overload.http2_keepalive_interval, None);
        assert_eq!(config.app.classify_threads, 1);
        assert_eq!(config.app.classify_budget, None);
        assert_eq!(overload.rpc_timeout, None);
    }

    #[test]
    fn a_zero_limit_is_refused_with_the_flag_named() {
        for flag in [
            "--max-concurrent-rpcs",
            "--max-watchers",
            "--http2-max-streams",
            "--http2-keepalive-timeout-seconds",
            "--classify-threads",
        ] {
            let err = config(&[flag, "0"]).expect_err("zero refused");
            assert!(err.to_string().contains(flag), "{flag}: {err}");
        }
    }
}
