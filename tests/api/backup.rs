//! `gatehouse backup` and `gatehouse admin`, run as the real binary against a running
//! server's SQLite database: a backup taken under write load restores into a fresh data
//! folder where every account signs in; operators granted from the command line can use
//! the operator API at once.

use crate::helpers::{json_body, on_postgres, str_at, unique_email, TestApp, PASSWORD};
use reqwest::StatusCode;
use std::{
    process::{Command, Output},
    sync::{atomic::{AtomicBool, AtomicUsize, Ordering}, Arc},
};

/// Runs the built binary with only the data folder set (no other setting leaks in).
fn gatehouse(data_dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_clear()
        .env("GATEHOUSE_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the gatehouse binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits until the writers have done `n` rounds in all. A writer that stopped (one of its
/// requests failed) fails the test with its own panic rather than leaving this to wait forever.
async fn rounds(written: &AtomicUsize, load: &mut Vec<tokio::task::JoinHandle<()>>, n: usize) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while written.load(Ordering::Relaxed) < n {
        if let Some(stopped) = load.iter().position(|task| task.is_finished()) {
            load.remove(stopped).await.expect("a writer failed");
            panic!("a writer stopped before it was told to");
        }
        assert!(tokio::time::Instant::now() < deadline, "the writers did not finish {n} rounds in 2 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_backup_taken_under_write_load_restores_and_every_account_signs_in() {
    if on_postgres() {
        eprintln!("skipped: `gatehouse backup` copies SQLite; PostgreSQL is backed up with pg_dump");
        return;
    }
    // The writers register, sign in and rotate as fast as they can: load, not an attack, so
    // the per-address limits are off here (tests/api/throttling.rs tests them).
    let app = TestApp::spawn_with(|c| {
        c.register_rate_per_minute = 0;
        c.login_rate_per_minute = 0;
        c.refresh_rate_per_minute = 0;
    })
    .await;
    for i in 0..4 {
        app.signed_in(&format!("Before {i}")).await;
    }
    // Writers keep going while the copy is made: new accounts, sign-ins, rotations.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for w in 0..2 {
        let (stop, written, url, client) = (stop.clone(), written.clone(), app.url(""), app.client.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let email = unique_email(&format!("load{w}"));
                let body = serde_json::json!({ "email": email, "password": PASSWORD, "display_name": format!("Load {w} {n}") });
                let registered = client.post(format!("{url}/api/v1/auth/register")).json(&body).send().await.unwrap();
                assert_eq!(registered.status(), StatusCode::CREATED);
                let login = serde_json::json!({ "email": email, "password": PASSWORD });
                let signed: serde_json::Value = client.post(format!("{url}/api/v1/auth/login")).json(&login).send().await.unwrap().json().await.unwrap();
                let refresh = serde_json::json!({ "refresh_token": signed["refresh_token"] });
                let rotated = client.post(format!("{url}/api/v1/auth/refresh")).json(&refresh).send().await.unwrap();
                assert_eq!(rotated.status(), StatusCode::OK);
                written.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
        }));
    }
    rounds(&written, &mut load, 2).await;
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = copy_dir.path().join("gatehouse-backup.db");
    let data_dir = app.config.data_dir.clone();
    let copy_arg = copy.to_str().unwrap().to_owned();
    let output = tokio::task::spawn_blocking(move || gatehouse(&data_dir, &["backup", &copy_arg])).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let during = written.load(Ordering::Relaxed);
    rounds(&written, &mut load, during + 2).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert!(stdout(&output).starts_with("backed up "), "{}", stdout(&output));
    // It never overwrites.
    let again = gatehouse(&app.config.data_dir, &["backup", copy.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restore as docs/operations.md says: the copy becomes gatehouse.db of a fresh data
    // folder, next to the refresh secret file.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored.path().join("gatehouse.db")).unwrap();
    let secret = app.config.refresh_secret_path();
    std::fs::copy(&secret, restored.path().join(secret.file_name().unwrap())).unwrap();
    let restored_dir = restored.path().to_path_buf();
    let back = TestApp::spawn_with(|c| c.data_dir = restored_dir).await;
    let emails: Vec<String> = sqlx::query_scalar("select email from users order by email").fetch_all(&back.sql).await.unwrap();
    assert!(emails.len() >= 4 + 2, "the accounts from before and some made under load: {}", emails.len());
    let live: Vec<String> = sqlx::query_scalar("select email from users").fetch_all(&app.sql).await.unwrap();
    assert!(live.len() > emails.len(), "accounts made after the copy are not in it");
    for email in &emails {
        let signed = json_body(back.login(email, PASSWORD).await, StatusCode::OK).await;
        assert_eq!(str_at(&signed, "/user/email"), *email);
    }
}

#[tokio::test]
async fn operators_are_granted_listed_and_revoked_from_the_command_line_while_the_server_runs() {
    if on_postgres() {
        eprintln!("skipped: the command line finds the SQLite database through the data folder here");
        return;
    }
    let app = TestApp::spawn().await;
    let person = app.signed_in("Cli Carla").await;
    let path = "/api/v1/admin/users";
    let status = |token: String| {
        let client = app.client.clone();
        let url = app.url(path);
        async move { client.get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(status(person.access_token.clone()).await, StatusCode::FORBIDDEN);

    let granted = gatehouse(&app.config.data_dir, &["admin", "grant", &person.email.to_uppercase()]);
    assert!(granted.status.success(), "{}", String::from_utf8_lossy(&granted.stderr));
    // The running server sees it on the very next request, with the same token.
    assert_eq!(status(person.access_token.clone()).await, StatusCode::OK);
    let listed = gatehouse(&app.config.data_dir, &["admin", "list"]);
    assert!(stdout(&listed).contains(&person.email), "{}", stdout(&listed));

    let unknown = gatehouse(&app.config.data_dir, &["admin", "grant", "nobody@example.com"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no account has the address nobody@example.com"));

    let revoked = gatehouse(&app.config.data_dir, &["admin", "revoke", &person.email]);
    assert!(revoked.status.success());
    assert_eq!(status(person.access_token.clone()).await, StatusCode::FORBIDDEN);
    assert!(!stdout(&gatehouse(&app.config.data_dir, &["admin", "list"])).contains(&person.email));
}
