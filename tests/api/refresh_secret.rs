//! The secret that derives a rotated refresh token's successor lives outside the database
//! (a setting, or a private file), so a database dump plus an old token from a log does not
//! give the live token. It survives restarts, can be rotated without losing a racing tab, an
//! old database's copy is deleted on upgrade and never used, and on PostgreSQL an instance
//! without the shared secret refuses to start.

use crate::helpers::{assert_error, fresh_postgres_database, json_body, on_postgres, str_at, TestApp};
use gatehouse::server::{
    config::Config,
    secret::Secret,
    startup::Application,
    tokens::refresh::{self, SuccessorKey},
};
use reqwest::StatusCode;
use std::{path::Path, time::Duration};

/// Rows of the old in-database secret.
async fn secret_rows_in_database(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from server_secrets where name = 'refresh_successor'").fetch_one(&app.sql).await.unwrap()
}

/// The successor `key` derives from `token`.
fn successor(key: &SuccessorKey, token: &str) -> String {
    refresh::successor(key, &Secret::new(token)).expose().to_owned()
}

/// The keys in a secret file, in order.
fn keys_in(path: &Path) -> Vec<SuccessorKey> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| SuccessorKey::parse(l).unwrap()).collect()
}

/// `gatehouse keys rotate-secret` for the file at `path` (GATEHOUSE_REFRESH_SECRET_FILE, the
/// setting the instances read too), run as the operator would, with nothing else from this
/// test's environment.
fn rotate_secret_command(path: &Path) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .env_clear()
        .env("GATEHOUSE_REFRESH_SECRET_FILE", path)
        .args(["keys", "rotate-secret"])
        .output()
        .expect("the gatehouse binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test]
async fn the_secret_is_not_in_the_database_but_in_a_private_file_and_survives_a_restart() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::from_secs(30)).await;
    assert_eq!(secret_rows_in_database(&app).await, 0, "no secret beside the hashes");
    let person = app.signed_in("Filed Fiona").await;
    let rotated = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;

    // The successor was derived with the key that lives outside the database.
    let key = if on_postgres() {
        app.config.refresh_secret.clone().expect("the PostgreSQL tests share a secret setting")
    } else {
        let path = app.config.data_dir.join("refresh-secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("the secret file exists").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "only its owner may read it");
        }
        let keys = keys_in(&path);
        assert_eq!(keys.len(), 1);
        keys[0].clone()
    };
    assert_eq!(str_at(&rotated, "/refresh_token"), successor(&key, &person.refresh_token));

    // After a restart the same secret derives: the racing tab still gets the same successor.
    let app = app.restart().await;
    let racing = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&racing, "/refresh_token"), str_at(&rotated, "/refresh_token"));
    assert_eq!(secret_rows_in_database(&app).await, 0);
}

#[tokio::test]
async fn a_secret_left_in_an_older_database_is_deleted_on_upgrade_and_never_used() {
    // A database as the previous release left it: migrated up to 0008, with its secret.
    let dir = tempfile::tempdir().unwrap();
    let url = match fresh_postgres_database().await {
        Some(url) => url,
        None => format!("sqlite://{}", dir.path().join("old.db").display()),
    };
    let old_secret = [42u8; 32];
    {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let migrator = if on_postgres() { sqlx::migrate!("./migrations/postgres") } else { sqlx::migrate!("./migrations/sqlite") };
        if on_postgres() {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            migrator.run_to(8, &mut conn).await.unwrap();
            sqlx::query("insert into server_secrets (name, value, created_at) values ('refresh_successor', $1, 0)")
                .bind(&old_secret[..])
                .execute(&mut conn)
                .await
                .unwrap();
        } else {
            let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url).unwrap().create_if_missing(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await.unwrap();
            migrator.run_to(8, &mut conn).await.unwrap();
            sqlx::query("insert into server_secrets (name, value, created_at) values ('refresh_successor', $1, 0)")
                .bind(&old_secret[..])
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }

    let app = TestApp::spawn_with(|c| c.database_url = Some(url.clone())).await;

    assert_eq!(secret_rows_in_database(&app).await, 0, "the upgrade deleted it");
    let person = app.signed_in("Upgraded Ulla").await;
    let rotated = str_at(&json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await, "/refresh_token");
    // An instance of the old release restarting during a rolling upgrade writes a new one;
    // the next start of this release deletes that too.
    sqlx::query("insert into server_secrets (name, value, created_at) values ('refresh_successor', $1, 0)")
        .bind(&old_secret[..])
        .execute(&app.sql)
        .await
        .unwrap();
    let app = app.restart().await;
    assert_eq!(secret_rows_in_database(&app).await, 0, "deleted again at start-up");
    // Neither the old key as the previous release used it (its base64url text) nor its raw bytes.
    use base64::Engine;
    let as_text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(old_secret);
    for old_key in [SuccessorKey::from_bytes(as_text.as_bytes()), SuccessorKey::from_bytes(&old_secret)] {
        assert_ne!(rotated, successor(&old_key, &person.refresh_token), "the dumped secret derives nothing live");
    }
}

#[tokio::test]
async fn on_postgresql_an_instance_without_the_shared_secret_refuses_to_start() {
    if !on_postgres() {
        eprintln!("skipped: PostgreSQL only (set GATEHOUSE_TEST_POSTGRES)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_tests(dir.path().to_path_buf());
    config.database_url = fresh_postgres_database().await;
    assert!(config.refresh_secret.is_none() && config.refresh_secret_file.is_none());

    let refused = Application::build(&config).await.err().map(|e| e.to_string()).unwrap_or_default();

    assert!(refused.contains("GATEHOUSE_REFRESH_SECRET"), "start-up refused, naming the setting: {refused:?}");
    assert!(!dir.path().join("refresh-secret").exists(), "no secret of its own was made up");
    // With the secret in a file (as every instance would have it), it starts.
    rotate_secret_command(&dir.path().join("refresh-secret"));
    assert!(Application::build(&config).await.is_ok());
}

#[tokio::test]
async fn a_new_secret_keeps_serving_racing_tabs_of_the_previous_one_and_derives_from_then_on() {
    let (k1, k2) = (SuccessorKey::generate(), SuccessorKey::generate());
    let settings = |current: &SuccessorKey, previous: Option<&SuccessorKey>| {
        let (current, previous) = (current.clone(), previous.cloned());
        move |c: &mut Config| {
            c.refresh_grace = Duration::from_secs(30);
            c.refresh_secret = Some(current);
            c.refresh_secret_previous = previous;
        }
    };
    let app = TestApp::spawn_with(settings(&k1, None)).await;
    let kept = app.signed_in("Kept Kim").await;
    let lost = app.another_session(&kept, None).await;
    let rotated = json_body(app.refresh(&kept.refresh_token).await, StatusCode::OK).await;
    json_body(app.refresh(&lost.refresh_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&rotated, "/refresh_token"), successor(&k1, &kept.refresh_token));

    // The new secret rolls out, the old one as the previous secret.
    let app = app.restart_with(settings(&k2, Some(&k1))).await;
    let racing = json_body(app.refresh(&kept.refresh_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&racing, "/refresh_token"), str_at(&rotated, "/refresh_token"), "the racing tab keeps its session");
    let next = json_body(app.refresh(&str_at(&rotated, "/refresh_token")).await, StatusCode::OK).await;
    assert_eq!(str_at(&next, "/refresh_token"), successor(&k2, &str_at(&rotated, "/refresh_token")), "the new one derives");

    // Once the previous secret is gone, a chain of the old one cannot be followed.
    let app = app.restart_with(settings(&k2, None)).await;
    assert_error(app.refresh(&lost.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
}

#[tokio::test]
async fn gatehouse_keys_rotate_secret_rotates_the_file_and_a_restart_follows_both_secrets() {
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("gatehouse-secret");
    let created = rotate_secret_command(&path);
    assert!(created.contains("written to"), "{created}");
    let first = keys_in(&path);
    assert_eq!(first.len(), 1);
    let app = TestApp::spawn_with(|c| {
        c.refresh_grace = Duration::from_secs(30);
        c.refresh_secret = None;
        c.refresh_secret_file = Some(path.clone());
    })
    .await;
    let person = app.signed_in("Rotating Rosa").await;
    let rotated = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&rotated, "/refresh_token"), successor(&first[0], &person.refresh_token));

    let said = rotate_secret_command(&path);
    assert!(said.contains("previous"), "{said}");
    let second = keys_in(&path);
    assert_eq!(second.len(), 2, "the new secret, then the previous one");
    assert_eq!(second[1].expose(), first[0].expose());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let app = app.restart().await;
    let racing = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&racing, "/refresh_token"), str_at(&rotated, "/refresh_token"));
    let next = json_body(app.refresh(&str_at(&rotated, "/refresh_token")).await, StatusCode::OK).await;
    assert_eq!(str_at(&next, "/refresh_token"), successor(&second[0], &str_at(&rotated, "/refresh_token")));
}
