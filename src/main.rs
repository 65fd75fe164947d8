//! rbm-lab: parse the command line, then open the window or run a headless command.

#![warn(clippy::undocumented_unsafe_blocks)]

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use rbm_lab::cli::{Cli, Subcommands, run_bench, run_eval, run_inpaint, run_probe, run_sample, run_train};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print to stdout and succeed.
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "rbm-lab: {}", argument_error_line(&error));
            return ExitCode::FAILURE;
        }
    };
    let success = |()| ExitCode::SUCCESS;
    let result = match &cli.command {
        Some(Subcommands::Train(args)) => run_train(args, &cli.window),
        Some(Subcommands::Sample(args)) => run_sample(args, &cli.window).map(success),
        Some(Subcommands::Bench(args)) => run_bench(args, &cli.window).map(success),
        Some(Subcommands::Eval(args)) => run_eval(args, &cli.window),
        Some(Subcommands::Inpaint(args)) => run_inpaint(args, &cli.window),
        Some(Subcommands::Probe(args)) => run_probe(args, &cli.window),
        None => rbm_lab::app::run(&cli.window).map(success),
    };
    match result {
        Ok(status) => status,
        Err(e) => {
            // Not eprintln!, which panics when stderr is gone (a closed terminal).
            let _ = writeln!(std::io::stderr(), "rbm-lab: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// clap's message for a bad argument, on one line: its first line without the `error: ` prefix
/// (the usage and tips that follow are left to `--help`).
fn argument_error_line(error: &clap::Error) -> String {
    let text = error.render().to_string();
    let first = text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("invalid arguments");
    format!("{}; see --help", first.strip_prefix("error: ").unwrap_or(first))
}

/// The error and its causes on one line, skipping a cause whose text its parent already shows.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
