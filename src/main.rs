//! The `gatehouse` binary: `serve` (default) and `migrate`.

use clap::Parser;
use gatehouse::server::{
    config::{Cli, Command},
    db,
    startup::Application,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    if cli.config.log_format == "json" {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => migrate(&cli.config).await,
        Command::Serve => serve(&cli.config).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("gatehouse: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &gatehouse::server::config::Config) -> Result<(), String> {
    let pool = db::connect(&config.database_url()).await.map_err(|e| format!("database: {e}"))?;
    db::migrate(&pool).await.map_err(|e| format!("migrations: {e}"))?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn serve(config: &gatehouse::server::config::Config) -> Result<(), String> {
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    tracing::info!(addr = %app.local_addr(), public_origin = %app.state.public_origin, "gatehouse listening");
    app.run().await.map_err(|e| format!("server: {e}"))
}
