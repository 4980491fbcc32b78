//! The `gatehouse` binary: `serve` (default), `migrate`, `keys`, `admin` and `backup`.

use clap::Parser;
use gatehouse::server::{
    clock,
    config::{AdminCommand, Cli, Command, KeysCommand},
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
        Command::Keys { action } => keys(&cli.config, action).await,
        Command::Admin { action } => admin(&cli.config, action).await,
        Command::Backup { file } => backup(&cli.config, &file).await,
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
    let pool = db::connect(&config.database_url(), config.pool_size()).await.map_err(|e| format!("database: {e}"))?;
    db::migrate(&pool).await.map_err(|e| format!("migrations: {e}"))?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn keys(config: &gatehouse::server::config::Config, action: KeysCommand) -> Result<(), String> {
    use gatehouse::server::tokens::keys;
    if let KeysCommand::RotateSecret = action {
        return rotate_secret(config);
    }
    let pool = db::connect(&config.database_url(), config.pool_size()).await.map_err(|e| format!("database: {e}"))?;
    db::migrate(&pool).await.map_err(|e| format!("migrations: {e}"))?;
    let now = clock::now();
    match action {
        KeysCommand::Rotate => {
            let kid = keys::rotate(&pool, now).await.map_err(|e| format!("rotating keys: {e}"))?;
            println!("new signing key: {kid}");
            let delay = keys::activation_delay_secs(&pool);
            println!(
                "running instances publish it within {}s; it signs from {}s from now on; tokens signed by the previous key stay valid until they expire",
                keys::RELOAD_INTERVAL.as_secs(),
                delay
            );
        }
        KeysCommand::List => {
            let keep = i64::try_from(config.access_ttl.as_secs()).unwrap_or(0) + 60;
            for (kid, created, retired) in keys::list(&pool).await.map_err(|e| format!("listing keys: {e}"))? {
                let state = match retired {
                    None => "current".to_string(),
                    Some(r) if r > now => format!("retiring {} (signs until then)", clock::rfc3339(r)),
                    Some(r) if r > now - keep => format!("retired {}, still verifying", clock::rfc3339(r)),
                    Some(r) => format!("retired {}", clock::rfc3339(r)),
                };
                println!("{kid}  created {}  {state}", clock::rfc3339(created));
            }
        }
        KeysCommand::RotateSecret => return rotate_secret(config),
    }
    Ok(())
}

/// `gatehouse admin grant|revoke|list`: operator status, straight in the database (running
/// instances see it on the next operator request: it is read from the account every time).
async fn admin(config: &gatehouse::server::config::Config, action: AdminCommand) -> Result<(), String> {
    use gatehouse::server::operators;
    let pool = db::connect(&config.database_url(), config.pool_size()).await.map_err(|e| format!("database: {e}"))?;
    db::migrate(&pool).await.map_err(|e| format!("migrations: {e}"))?;
    let now = clock::now();
    match action {
        AdminCommand::Grant { email } => {
            let email = email.trim().to_lowercase();
            if !operators::set_operator(&pool, &email, true, now).await.map_err(|e| format!("granting: {e}"))? {
                return Err(format!("no account has the address {email}"));
            }
            println!("{email} is an operator");
        }
        AdminCommand::Revoke { email } => {
            let email = email.trim().to_lowercase();
            if !operators::set_operator(&pool, &email, false, now).await.map_err(|e| format!("revoking: {e}"))? {
                return Err(format!("no account has the address {email}"));
            }
            println!("{email} is no longer an operator");
        }
        AdminCommand::List => {
            let operators = operators::list_operators(&pool).await.map_err(|e| format!("listing: {e}"))?;
            if operators.is_empty() {
                println!("no operators; make one with `gatehouse admin grant <email>`");
            }
            for (email, name, since, disabled) in operators {
                let state = if disabled.is_some() { "  (account disabled)" } else { "" };
                println!("{email}  {name}  since {}{state}", clock::rfc3339(since));
            }
        }
    }
    pool.close().await;
    Ok(())
}

/// `gatehouse backup FILE`: a consistent copy of the SQLite database, while it is in use.
async fn backup(config: &gatehouse::server::config::Config, file: &std::path::Path) -> Result<(), String> {
    let url = config.database_url();
    if db::Kind::of(&url) == db::Kind::Postgres {
        return Err("this database is PostgreSQL: back it up with `pg_dump` (see docs/operations.md)".into());
    }
    let copied = gatehouse::server::backup::sqlite(&url, file).await?;
    println!("backed up {} accounts to {} ({} bytes)", copied.accounts, file.display(), copied.bytes);
    Ok(())
}

/// `gatehouse keys rotate-secret`: touches the secret file only, never the database.
fn rotate_secret(config: &gatehouse::server::config::Config) -> Result<(), String> {
    use gatehouse::server::tokens::refresh_secret;
    if config.refresh_secret.is_some() {
        return Err("the refresh secret comes from GATEHOUSE_REFRESH_SECRET here: set a new one there                     (`openssl rand -base64 32`) and the current one as GATEHOUSE_REFRESH_SECRET_PREVIOUS                     until every instance runs with the new one"
            .into());
    }
    let path = config.refresh_secret_path();
    let keys = refresh_secret::rotate_file(&path)?;
    println!("new refresh secret {} written to {}", keys.current.id(), path.display());
    match &keys.previous {
        Some(previous) => println!(
            "the previous one ({}) stays on the second line: tabs racing a rotation made with it keep working;              restart every instance (all using this file) to switch",
            previous.id()
        ),
        None => println!("the file was new; instances read it when they start"),
    }
    Ok(())
}

async fn serve(config: &gatehouse::server::config::Config) -> Result<(), String> {
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    tracing::info!(addr = %app.local_addr(), public_origin = %app.state.public_origin, "gatehouse listening");
    app.run().await.map_err(|e| format!("server: {e}"))
}
