//! `sslaudit`: audit the SSL/TLS posture of MySQL and MariaDB fleets.

use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc: a snapshot scan is allocation-bound (many small strings per
/// host, on every core at once), where glibc's malloc spent a quarter of
/// the time (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::init_logging(args.verbose);
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
