//! Refresh-token rotation through `POST /api/v1/auth/refresh`: every refresh token works
//! once; a replay outside the grace window ends the session; racing requests inside it share
//! one successor.

use crate::helpers::{assert_error, json_body, str_at, TestApp, ACCESS_TTL_SECS};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::{collections::HashSet, time::Duration};

fn sha256(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[tokio::test]
async fn refreshing_returns_a_new_refresh_token_and_a_new_access_token_that_work() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Rotating Rita").await;

    let body = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;

    let refresh = str_at(&body, "/refresh_token");
    let access = str_at(&body, "/access_token");
    assert_ne!(refresh, person.refresh_token, "a NEW refresh token");
    assert!(refresh.starts_with("ghr_"), "{refresh}");
    assert_ne!(access, person.access_token, "a new access token");
    assert_eq!(body["token_type"], "Bearer");
    let ttl = ACCESS_TTL_SECS as i64;
    let expires_in = body["expires_in"].as_i64().unwrap_or_default();
    assert!((ttl - 5..=ttl).contains(&expires_in), "expires_in {expires_in}");
    assert!(body["refresh_expires_in"].as_i64().unwrap_or_default() > 0, "{body}");
    assert_eq!(str_at(&body, "/session_id"), person.session_id, "the same session goes on");
    assert_eq!(body["user"], person.body["user"]);

    let me = json_body(app.me(&access).await, StatusCode::OK).await;
    assert_eq!(str_at(&me, "/session_id"), person.session_id);
    // And the new refresh token rotates in turn.
    let next = json_body(app.refresh(&refresh).await, StatusCode::OK).await;
    assert_ne!(str_at(&next, "/refresh_token"), refresh);
}

#[tokio::test]
async fn replaying_a_rotated_refresh_token_without_grace_is_reuse_and_ends_the_session_at_once() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::ZERO).await;
    let person = app.signed_in("Replayed Ray").await;
    let rotated = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    let new_refresh = str_at(&rotated, "/refresh_token");
    let new_access = str_at(&rotated, "/access_token");

    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;

    // The thief and the victim both lose the session...
    assert_error(app.refresh(&new_refresh).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    // ...and its access tokens stop working now, long before they expire.
    let exp = crate::helpers::jwt_part(&new_access, 1)["exp"].as_i64().unwrap_or_default();
    assert!(exp > crate::helpers::now() + 60, "the access token is still far from its expiry");
    assert_error(app.me(&new_access).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(app.me(&person.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let (_, reason) = app.revocation_of(&person.session_id).await;
    assert_eq!(reason.as_deref(), Some("refresh_token_reused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_parallel_refreshes_inside_the_grace_window_all_get_the_same_single_successor() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::from_secs(5)).await;
    let person = app.signed_in("Many Tabs").await;

    let responses =
        futures::future::join_all((0..16).map(|_| app.refresh(&person.refresh_token))).await;

    let mut refresh_tokens = HashSet::new();
    for response in responses {
        let status = response.status();
        assert!(!status.is_server_error(), "no 5xx under a race: {status}");
        let body = json_body(response, StatusCode::OK).await;
        assert_eq!(str_at(&body, "/session_id"), person.session_id);
        json_body(app.me(&str_at(&body, "/access_token")).await, StatusCode::OK).await;
        refresh_tokens.insert(str_at(&body, "/refresh_token"));
    }
    assert_eq!(refresh_tokens.len(), 1, "every racing request got the SAME new refresh token: {refresh_tokens:?}");
    let successor = refresh_tokens.into_iter().next().unwrap_or_default();
    assert_ne!(successor, person.refresh_token);

    // Exactly one live token: the session row holds the successor's hash, the old token is
    // spent once, and the session was neither duplicated nor revoked.
    let db = &app.sql;
    let (sessions,): (i64,) =
        sqlx::query_as("select count(*) from sessions where user_id = $1").bind(&person.user_id).fetch_one(db).await.unwrap();
    assert_eq!(sessions, 1);
    let (live_hash, rotations, revoked_at): (Vec<u8>, i64, Option<i64>) =
        sqlx::query_as("select refresh_hash, rotations, revoked_at from sessions where id = $1")
            .bind(&person.session_id)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(live_hash, sha256(&successor), "the successor is the one live token");
    assert_eq!(rotations, 1, "one rotation, however many requests raced");
    assert_eq!(revoked_at, None, "a race is not theft");
    let (spent,): (i64,) = sqlx::query_as("select count(*) from spent_refresh_tokens where session_id = $1")
        .bind(&person.session_id)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(spent, 1);
    let (old_spent,): (i64,) = sqlx::query_as("select count(*) from spent_refresh_tokens where token_hash = $1")
        .bind(sha256(&person.refresh_token))
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(old_spent, 1, "the presented token is recorded as spent");

    // That one token then refreshes as usual.
    let next = json_body(app.refresh(&successor).await, StatusCode::OK).await;
    assert_ne!(str_at(&next, "/refresh_token"), successor);
    let (revoked_at,): (Option<i64>,) = sqlx::query_as("select revoked_at from sessions where id = $1")
        .bind(&person.session_id)
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(revoked_at, None);
}

#[tokio::test]
async fn an_unknown_or_malformed_refresh_token_is_401_invalid_refresh_token() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Wrong Token").await;

    let unknown = format!("ghr_{}", "A".repeat(43));
    for bad in [unknown.as_str(), "garbage", "", person.access_token.as_str()] {
        assert_error(app.refresh(bad).await, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    }
    // None of that disturbed the real session.
    json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn a_rotated_refresh_token_replayed_after_the_grace_window_is_reuse_and_ends_the_session() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::from_secs(5)).await;
    let person = app.signed_in("Late Replay").await;
    let rotated = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    // The token was spent a minute ago, well outside the 5 s window.
    sqlx::query("update spent_refresh_tokens set spent_at = spent_at - 60 where session_id = $1")
        .bind(&person.session_id)
        .execute(&app.sql)
        .await
        .unwrap();

    assert_error(app.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    assert_error(app.refresh(&str_at(&rotated, "/refresh_token")).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_error(app.me(&str_at(&rotated, "/access_token")).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn a_refresh_token_past_its_idle_or_absolute_lifetime_is_401_refresh_token_expired() {
    let app = TestApp::spawn().await;
    let db = &app.sql;

    let idle = app.signed_in("Idle Ida").await;
    sqlx::query("update sessions set refresh_issued_at = refresh_issued_at - $1 where id = $2")
        .bind(crate::helpers::REFRESH_IDLE_SECS as i64 + 1)
        .bind(&idle.session_id)
        .execute(db)
        .await
        .unwrap();
    assert_error(app.refresh(&idle.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;

    let old = app.signed_in("Old Olga").await;
    sqlx::query("update sessions set expires_at = $1 where id = $2")
        .bind(crate::helpers::now() - 1)
        .bind(&old.session_id)
        .execute(db)
        .await
        .unwrap();
    assert_error(app.refresh(&old.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn a_signed_out_sessions_access_token_stays_refused_after_a_restart() {
    let app = TestApp::spawn().await;
    let leaving = app.signed_in("Gone Before Restart").await;
    let staying = json_body(app.login(&leaving.email, crate::helpers::PASSWORD).await, StatusCode::OK).await;
    assert_eq!(app.logout(&leaving.access_token).await.status(), StatusCode::NO_CONTENT);

    let app = app.restart().await;

    // Same keys and database: the other session's token still works...
    json_body(app.me(&str_at(&staying, "/access_token")).await, StatusCode::OK).await;
    // ...but the revocation was not forgotten.
    assert_error(app.me(&leaving.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(app.refresh(&leaving.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
}

/// SQLite: rotations commit to the WAL, and a connection of its own folds the WAL into the
/// database file in the background (`server::db::spawn_checkpoints`) — the writer, whose own
/// checkpoint waits for 16 MiB of WAL, never stops for the disk. A copy of the database file
/// alone (no WAL beside it) holds only what was checkpointed: the rotations show up there
/// within moments, long before the writer would have checkpointed by itself.
#[tokio::test]
async fn sqlite_checkpoints_rotations_into_the_database_file_in_the_background() {
    if crate::helpers::on_postgres() {
        eprintln!("skipped: PostgreSQL has no WAL file of ours to fold");
        return;
    }
    let app = TestApp::spawn().await;
    let person = app.signed_in("Checkpointed Chloe").await;
    let mut token = person.refresh_token.clone();
    for _ in 0..3 {
        token = str_at(&json_body(app.refresh(&token).await, StatusCode::OK).await, "/refresh_token");
    }
    let copy_dir = tempfile::tempdir().expect("temp dir");
    let copy = copy_dir.path().join("copy.db");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let rotations = loop {
        // A copy taken while a checkpoint writes may be torn: try again with the next one.
        std::fs::copy(app.config.data_dir.join("gatehouse.db"), &copy).expect("copy the database file");
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy).read_only(true);
        let found: Option<i64> = match sqlx::SqlitePool::connect_with(options).await {
            Ok(pool) => {
                let row = sqlx::query_scalar("select rotations from sessions where id = $1")
                    .bind(&person.session_id)
                    .fetch_optional(&pool)
                    .await
                    .ok()
                    .flatten();
                pool.close().await;
                row
            }
            Err(_) => None,
        };
        if found == Some(3) || tokio::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(rotations, Some(3), "the database file (without its WAL) should hold the session after three rotations");
}
