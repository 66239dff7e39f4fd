//! The `govdeck` binary: parses the command line and hands over to
//! [`govdeck::cli::run`]. color-eyre's report handler lives only here.

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(err) = color_eyre::install() {
        eprintln!("govdeck: cannot install the error reporter: {err}");
    }
    govdeck::cli::run()
}
