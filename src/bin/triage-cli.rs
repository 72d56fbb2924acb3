//! `triage-cli`: the command-line agent tool. Parses the command line and
//! calls [`triage::cli::run`]; everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use triage::cli::{self, Cli};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match cli::run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("triage-cli: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
