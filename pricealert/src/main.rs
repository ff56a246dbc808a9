//! `pricealert [all|gateway|ingestor|evaluator|notifier]`: one service, or all four in one process.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use shared::config::Settings;

/// glibc's allocator took a fifth of the gateway's CPU under load (a request allocates for its
/// headers, rows, JSON); mimalloc's thread-local free lists cost far less, and keep idle
/// WebSocket connections smaller.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Price alerts: ingest prices, evaluate alerts, notify users"
)]
struct Cli {
    /// TOML settings file (also `PRICEALERT_CONFIG`).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone, Copy)]
enum Command {
    /// All four services in one process (the embedded default).
    All,
    /// The HTTP API on port 8000.
    Gateway,
    /// Price polling; ops port 8001.
    Ingestor,
    /// Alert evaluation; ops port 8002.
    Evaluator,
    /// Notification delivery; ops port 8003.
    Notifier,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_process_env(cli.config.as_deref())?;
    shared::telemetry::init(&settings.log);
    let context = pricealert::connect(settings).await?;
    let services = match cli.command.unwrap_or(Command::All) {
        Command::All => pricealert::Services::all(),
        Command::Gateway => pricealert::Services::only(pricealert::Service::Gateway),
        Command::Ingestor => pricealert::Services::only(pricealert::Service::Ingestor),
        Command::Evaluator => pricealert::Services::only(pricealert::Service::Evaluator),
        Command::Notifier => pricealert::Services::only(pricealert::Service::Notifier),
    };
    pricealert::run(context, services).await
}
