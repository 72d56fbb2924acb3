//! The triage server: parses configuration, sets up logging, and runs the
//! service until Ctrl-C or SIGTERM. With a subcommand, runs an offline tool
//! instead (`triage rules learn`, `triage export-labels`).

use std::process::ExitCode;
use std::sync::Arc;

use triage::clock::SystemClock;
use triage::config::{
    self, Args, BacktestArgs, Command, Config, ExportLabelsArgs, LearnArgs, RuleFileArgs, RulesCommand,
};
use triage::server;
use triage::store::TicketStore;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = match config::file::load() {
        Ok(args) => args,
        Err(config::file::LoadError::Flags(err)) => err.exit(),
        Err(err) => {
            eprintln!("triage: {err}");
            return ExitCode::from(2);
        }
    };
    triage::logging::init(args.log_format);
    if let Some(command) = args.command.take() {
        return run_tool(command).await;
    }
    if args.print_config {
        return print_config(args);
    }
    let check_only = args.check_rules;
    let verify_only = args.verify;
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("triage: {err}");
            return ExitCode::from(2);
        }
    };
    if check_only {
        return check_rules(&config);
    }
    if verify_only {
        return verify_store(&config).await;
    }
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("triage: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `--print-config`: the effective configuration on stdout, then the
/// same checks as a start (exit 2 on a bad value).
fn print_config(args: Args) -> ExitCode {
    match config::file::print_config(std::env::args_os()) {
        Ok(text) => print!("{text}"),
        Err(err) => {
            eprintln!("triage: {err}");
            return ExitCode::from(2);
        }
    }
    match Config::from_args(args) {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("triage: {err}");
            ExitCode::from(2)
        }
    }
}

async fn run_tool(command: Command) -> ExitCode {
    match command {
        Command::Rules(RulesCommand::Learn(args)) => learn_lexicon(&args),
        Command::Rules(RulesCommand::Validate(args)) => validate_rules(&args),
        Command::Rules(RulesCommand::Explain(args)) => explain_ticket(&args),
        Command::Rules(RulesCommand::Backtest(args)) => backtest_rules(args).await,
        Command::ExportLabels(args) => export_labels(&args),
    }
}

fn validate_rules(args: &RuleFileArgs) -> ExitCode {
    let (report, valid) =
        triage::rule_tools::validate_file(&args.file, &triage::rules::RuleLimits::default());
    print!("{report}");
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn backtest_rules(args: BacktestArgs) -> ExitCode {
    let filter = triage::backtest::BacktestFilter {
        queue: args.queue,
        side: args.side,
        ..Default::default()
    };
    match triage::rule_tools::backtest_data_dir(&args.file, &args.data_dir, filter, args.samples).await {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("triage rules backtest: {err}");
            ExitCode::FAILURE
        }
    }
}

fn explain_ticket(args: &RuleFileArgs) -> ExitCode {
    const TOOL: &str = "triage rules explain";
    let rules = match triage::rules::RuleSet::load(&args.file) {
        Ok(rules) => rules,
        Err(err) => {
            eprintln!("{TOOL}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut json = String::new();
    if let Err(err) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut json) {
        eprintln!("{TOOL}: standard input: {err}");
        return ExitCode::FAILURE;
    }
    let now = triage::clock::Clock::now(&SystemClock);
    match triage::rule_tools::explain_json(&rules, &json, now) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{TOOL}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn export_labels(args: &ExportLabelsArgs) -> ExitCode {
    const TOOL: &str = "triage export-labels";
    let store = match triage::store::Store::open(&args.data_dir, triage::store::StoreOptions::default()) {
        Ok(store) => store,
        Err(err) => {
            eprintln!(
                "{TOOL}: {}: {err} (is the server still running?)",
                args.data_dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let mut out: Box<dyn std::io::Write> = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(std::io::BufWriter::new(file)),
            Err(err) => {
                eprintln!("{TOOL}: {}: {err}", path.display());
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match triage::labels::export_jsonl(&store, args.all, &mut out) {
        Ok(count) => {
            eprintln!("{TOOL}: {count} labelled tickets");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{TOOL}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn learn_lexicon(args: &LearnArgs) -> ExitCode {
    let learned = triage::learn::learn_from_file(&args.corpus, args.split.as_deref(), &args.options());
    let lexicon = match learned {
        Ok(learned) => learned.to_toml(),
        Err(err) => {
            eprintln!("triage rules learn: {}: {err}", args.corpus.display());
            return ExitCode::FAILURE;
        }
    };
    write_output("triage rules learn", args.out.as_deref(), lexicon.as_bytes())
}

/// Writes `bytes` to `path`, or to standard output when there is none.
fn write_output(tool: &str, path: Option<&std::path::Path>, bytes: &[u8]) -> ExitCode {
    let written = match path {
        Some(path) => std::fs::write(path, bytes).map_err(|err| format!("{}: {err}", path.display())),
        None => std::io::Write::write_all(&mut std::io::stdout().lock(), bytes)
            .map_err(|err| format!("standard output: {err}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{tool}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn check_rules(config: &Config) -> ExitCode {
    match config.load_rules() {
        Ok(rules) => {
            println!(
                "{}: ok, version {}, {} rules, {} queues",
                rules.source(),
                rules.version(),
                rules.rule_count(),
                rules.queues().len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::FAILURE
        }
    }
}

async fn verify_store(config: &Config) -> ExitCode {
    if let triage::store::StoreLocation::Postgres(url) = &config.location {
        let report = match triage::store::PgStore::open(url, config.pg).await {
            Ok(store) => store.verify().await,
            Err(err) => Err(err),
        };
        return print_report(&config.location.to_string(), report);
    }
    if !config.data_dir.is_dir() {
        eprintln!(
            "triage --verify: {}: no such data directory (nothing was created)",
            config.data_dir.display()
        );
        return ExitCode::FAILURE;
    }
    if !triage::store::Store::exists_in(&config.data_dir) {
        eprintln!(
            "triage --verify: {}: holds no triage store (nothing was created)",
            config.data_dir.display()
        );
        return ExitCode::FAILURE;
    }
    let report = match triage::store::Store::open(&config.data_dir, config.store) {
        Ok(store) => store.verify().await,
        Err(err) => Err(err),
    };
    print_report(&config.data_dir.display().to_string(), report)
}

/// Prints a `--verify` report of the store at `place`; success when consistent.
fn print_report(
    place: &str,
    report: Result<triage::store::ConsistencyReport, triage::store::StoreError>,
) -> ExitCode {
    match report {
        Ok(report) => {
            println!(
                "{place}: {} tickets ({} queued, {} claimed, {} completed), {} entries set aside, {} problems",
                report.tickets,
                report.queued,
                report.claimed,
                report.completed,
                report.quarantined,
                report.problems.len()
            );
            for problem in &report.problems {
                println!("  {problem}");
            }
            if report.is_consistent() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("triage: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // Bind first: a port in use is reported, with its address, before the
    // store is opened or anything says "ready".
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", config.listen))?;
    let http = match config.http_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|err| format!("cannot listen on {address} (--http-listen): {err}"))?,
        ),
        None => None,
    };
    let app = server::build_app(&config, Arc::new(SystemClock)).await?;
    let address = listener.local_addr()?;
    let stop = stop_signal();
    // Installed before the "listening" line: from then on a SIGHUP reloads
    // (or, without a rule file, is ignored) and never ends the process.
    #[cfg(unix)]
    tokio::spawn(server::reload_rules_on_sighup(
        Arc::clone(&app),
        config.rules_path.clone(),
    ));
    // One plain line on stdout, so scripts and tests learn the bound port.
    println!("triage listening on {address}");
    tracing::info!(%address, "serving gRPC");
    if let Some(http) = &http {
        // Logged, not printed: stdout carries the one line above, and its
        // reader may have gone once it has it.
        let address = http.local_addr()?;
        tracing::info!(%address, "serving /metrics, /healthz, /readyz and /console");
    }
    server::serve_with_http(app, listener, http, (&config).into(), stop).await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled, so a signal that arrives
/// right after start-up is not lost to the default action.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind: SignalKind, name: &'static str| match signal(kind) {
        Ok(stream) => Some(stream),
        Err(err) => {
            tracing::error!(error = %err, "cannot listen for {name}");
            None
        }
    };
    let interrupt = install(SignalKind::interrupt(), "Ctrl-C");
    let terminate = install(SignalKind::terminate(), "SIGTERM");
    async move {
        let wait = |stream: Option<tokio::signal::unix::Signal>| async move {
            match stream {
                Some(mut stream) => {
                    stream.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(interrupt) => {}
            () = wait(terminate) => {}
        }
    }
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
