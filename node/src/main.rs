//! The `causerie` binary: parses arguments and hands over to [`cli`], which runs the command,
//! prints its result and chooses the exit code. With no subcommand it runs the node on embedded
//! defaults (`cargo run --release`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_tracing(&args);
    cli::main(args)
}
