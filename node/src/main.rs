//! The `causerie` binary: parses arguments and hands over to [`cli`], which runs the command,
//! prints its result and chooses the exit code. With no subcommand it runs the node on embedded
//! defaults (`cargo run --release`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(error) => return cli::usage_error(&error),
    };
    cli::init_tracing(&args);
    cli::main(args)
}
