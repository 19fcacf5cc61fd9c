//! The `causerie` binary: parses arguments and hands over to [`cli`]. With no subcommand it runs
//! the node on embedded defaults (`cargo run --release`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_tracing(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the anyhow context chain on one line; secrets are never part of errors.
            eprintln!("causerie: {err:#}");
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
