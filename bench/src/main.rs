//! `sslaudit-bench`: what the benchmarks in `bench/run` drive.
//!
//! - `gen`: writes a synthetic snapshot fleet for the offline benchmarks.
//! - `floor`: the connect-only floor of a live scan (SSH login, MySQL TLS
//!   login, close) over an inventory, at a given concurrency.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod floor;
mod generate;

#[derive(Debug, Parser)]
#[command(
    name = "sslaudit-bench",
    version,
    about = "Benchmarks of sslaudit (see docs/BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic snapshot fleet (docs/snapshot-format.md)
    #[command(
        after_help = "Example:\n  sslaudit-bench gen --hosts 10000 --out /tmp/fleet-10k --seed 1"
    )]
    Gen {
        /// How many hosts (environments of ten: a db_master, replicas, app hosts)
        #[arg(long)]
        hosts: usize,
        /// A new or empty folder
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Fleet shape and faults follow the seed (keys are fresh on every run)
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Share of hosts (0 to 1) carrying one misconfiguration
        #[arg(long, default_value_t = 0.15)]
        misconfigured_share: f64,
    },
    /// Connect-only floor: SSH login and MySQL TLS login to every host, then close
    #[command(
        after_help = "Example:\n  sslaudit-bench floor --inventory /tmp/fleet/inventory-tcp.yaml --jobs 40"
    )]
    Floor {
        #[arg(long, short = 'i', value_name = "FILE")]
        inventory: PathBuf,
        /// Hosts connected at once (use the scan's --jobs)
        #[arg(long, default_value_t = 32)]
        jobs: usize,
        /// Only hosts whose name or environment matches (repeatable)
        #[arg(long, value_name = "GLOB")]
        limit: Vec<String>,
    },
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Gen {
            hosts,
            out,
            seed,
            misconfigured_share,
        } => {
            let started = Instant::now();
            let s = generate::generate(&generate::GenOptions {
                hosts,
                out: out.clone(),
                seed,
                misconfigured_share,
            })?;
            println!(
                "wrote {} hosts in {} environments ({} misconfigured, {} files) to {} in {:.1}s",
                s.hosts,
                s.environments,
                s.misconfigured,
                s.files,
                out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Floor {
            inventory,
            jobs,
            limit,
        } => {
            let f = floor::run(&inventory, jobs, &limit)?;
            println!(
                "floor: {} hosts, jobs {jobs}: {:.3}s wall (median per host: ssh {:.3}s, mysql tls {}), {} failed",
                f.hosts,
                f.wall.as_secs_f64(),
                f.ssh_median.as_secs_f64(),
                f.mysql_median
                    .map(|d| format!("{:.3}s", d.as_secs_f64()))
                    .unwrap_or_else(|| "-".into()),
                f.failures.len()
            );
            for e in &f.failures {
                eprintln!("  {e}");
            }
            Ok(if f.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
