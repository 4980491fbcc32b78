//! Several instances on one PostgreSQL database, as behind a load balancer: two real
//! servers (A and B) on two ports, one database.
//!
//! These need PostgreSQL (a SQLite file belongs to one instance); `scripts/test.sh` runs
//! them against its throwaway cluster. Without `GATEHOUSE_TEST_POSTGRES` each test says it
//! was skipped and returns.

use crate::helpers::{assert_error, json_body, on_postgres, str_at, TestApp};
use gatehouse::server::config::Config;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

/// False (and says the test was skipped) when the suite runs on SQLite.
fn postgres_here() -> bool {
    if !on_postgres() {
        eprintln!("skipped: several instances need PostgreSQL (set GATEHOUSE_TEST_POSTGRES; scripts/test.sh does)");
    }
    on_postgres()
}

/// A and B, sharing A's database; `tweak` applies to both.
async fn two_instances(tweak: impl Fn(&mut Config) + Clone) -> Option<(TestApp, TestApp)> {
    if !postgres_here() {
        return None;
    }
    let a = TestApp::spawn_with(tweak.clone()).await;
    let b = a.another_instance(tweak).await;
    assert_eq!(a.config.database_url(), b.config.database_url());
    assert_ne!(a.addr, b.addr);
    Some((a, b))
}

/// Polls `GET /api/v1/me` on `app` until it refuses `token`; returns how long that took,
/// or None if it still accepted it after `limit`.
async fn time_until_refused(app: &TestApp, token: &str, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let status = app.me(token).await.status();
        if status == StatusCode::UNAUTHORIZED {
            return Some(started.elapsed());
        }
        assert_eq!(status, StatusCode::OK, "only 200 or 401");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn a_sign_in_on_a_works_on_b_both_ways() {
    let Some((a, b)) = two_instances(|_| {}).await else { return };
    let person = a.signed_in("Roaming Rosa").await;

    // B verifies A's access token: same keys, same issuer.
    let me = json_body(b.me(&person.access_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&me, "/user/id"), person.user_id);
    assert_eq!(str_at(&me, "/session_id"), person.session_id);
    // B refreshes a session A started, and A accepts what B minted.
    let refreshed = json_body(b.refresh(&person.refresh_token).await, StatusCode::OK).await;
    json_body(a.me(&str_at(&refreshed, "/access_token")).await, StatusCode::OK).await;
    let again = json_body(a.refresh(&str_at(&refreshed, "/refresh_token")).await, StatusCode::OK).await;
    json_body(b.me(&str_at(&again, "/access_token")).await, StatusCode::OK).await;
    // Both publish the same keys.
    let jwks_a: serde_json::Value = a.client.get(a.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let jwks_b: serde_json::Value = b.client.get(b.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(jwks_a, jwks_b);
}

#[tokio::test]
async fn signing_out_a_device_on_a_is_refused_on_b_within_a_second() {
    let Some((a, b)) = two_instances(|_| {}).await else { return };
    let laptop = a.signed_in("Two-Device Dana").await;
    let phone = a.another_session(&laptop, None).await;
    // B has seen (and accepted) the phone's token before the sign-out.
    json_body(b.me(&phone.access_token).await, StatusCode::OK).await;

    let revoked_at = Instant::now();
    assert_eq!(a.delete_session(&laptop.access_token, &phone.session_id).await.status(), StatusCode::NO_CONTENT);
    let took = time_until_refused(&b, &phone.access_token, Duration::from_secs(3)).await;
    let took = took.expect("B must refuse the signed-out session's access token");
    eprintln!("B refused the revoked session {took:?} after A's answer ({:?} after the request)", revoked_at.elapsed());
    assert!(took <= Duration::from_secs(1), "refused after {took:?}, more than a second");
    // The laptop, not signed out, still works on B.
    json_body(b.me(&laptop.access_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn signing_out_everyone_else_on_b_reaches_a_too() {
    let Some((a, b)) = two_instances(|_| {}).await else { return };
    let main = b.signed_in("Many Devices Mo").await;
    let others = [b.another_session(&main, None).await, b.another_session(&main, None).await];
    for other in &others {
        json_body(a.me(&other.access_token).await, StatusCode::OK).await;
    }
    let body = json_body(b.revoke_other_sessions(&main.access_token).await, StatusCode::OK).await;
    assert_eq!(body["revoked"], 2);
    for other in &others {
        let took = time_until_refused(&a, &other.access_token, Duration::from_secs(3)).await;
        assert!(took.is_some_and(|t| t <= Duration::from_secs(1)), "A refused after {took:?}");
    }
    json_body(a.me(&main.access_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn without_push_an_instance_polls_and_still_refuses_within_about_a_second() {
    if !postgres_here() {
        return;
    }
    let a = TestApp::spawn().await;
    // B never LISTENs: the fallback path alone (what runs while a listener is disconnected).
    let b = a.another_instance(|c| c.revocation_push = false).await;
    let laptop = a.signed_in("Polling Pat").await;
    let phone = a.another_session(&laptop, None).await;
    json_body(b.me(&phone.access_token).await, StatusCode::OK).await;

    assert_eq!(a.delete_session(&laptop.access_token, &phone.session_id).await.status(), StatusCode::NO_CONTENT);
    let took = time_until_refused(&b, &phone.access_token, Duration::from_secs(5)).await;
    let took = took.expect("B must refuse the token by polling");
    eprintln!("polling instance refused the revoked session after {took:?}");
    // One poll interval (1 s) plus the query; "about a second".
    assert!(took <= Duration::from_millis(1500), "refused after {took:?}");
}

#[tokio::test]
async fn when_the_listener_connection_drops_revocations_still_arrive() {
    let Some((a, b)) = two_instances(|_| {}).await else { return };
    let laptop = a.signed_in("Dropped Link Lou").await;
    let phone = a.another_session(&laptop, None).await;
    json_body(b.me(&phone.access_token).await, StatusCode::OK).await;

    // Kill every LISTENing backend (B's and A's listeners) behind their backs, once they
    // are up (each instance starts listening in the background).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let killed: Vec<bool> = sqlx::query_scalar(
            "select pg_terminate_backend(pid) from pg_stat_activity
              where datname = current_database() and query ilike 'listen%' and pid <> pg_backend_pid()",
        )
        .fetch_all(&a.sql)
        .await
        .unwrap();
        if killed.len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "both instances should be listening");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(a.delete_session(&laptop.access_token, &phone.session_id).await.status(), StatusCode::NO_CONTENT);
    let took = time_until_refused(&b, &phone.access_token, Duration::from_secs(5)).await;
    let took = took.expect("B must still learn of the revocation");
    eprintln!("after the listener was killed, B refused the revoked session after {took:?}");
    assert!(took <= Duration::from_millis(1500), "refused after {took:?}");
}

#[tokio::test]
async fn a_refresh_token_spent_on_b_and_replayed_on_a_is_reuse_and_ends_the_session_everywhere() {
    // No grace window: any replay is theft.
    let Some((a, b)) = two_instances(|c| c.refresh_grace = Duration::ZERO).await else { return };
    let person = a.signed_in("Replayed Ray").await;
    let rotated = json_body(b.refresh(&person.refresh_token).await, StatusCode::OK).await;
    let new_access = str_at(&rotated, "/access_token");

    assert_error(a.refresh(&person.refresh_token).await, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    let (revoked_at, reason) = a.revocation_of(&person.session_id).await;
    assert!(revoked_at.is_some(), "the session is revoked");
    assert_eq!(reason.as_deref(), Some("refresh_token_reused"));
    // The legitimate holder's new tokens die on both instances.
    assert_error(b.refresh(&str_at(&rotated, "/refresh_token")).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_eq!(a.me(&new_access).await.status(), StatusCode::UNAUTHORIZED);
    let took = time_until_refused(&b, &new_access, Duration::from_secs(3)).await;
    assert!(took.is_some_and(|t| t <= Duration::from_secs(1)), "B refused after {took:?}");
    let kinds: Vec<String> = a.events_of(&person.user_id).await.into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"refresh_token_reused".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn parallel_refreshes_of_one_token_split_across_a_and_b_leave_one_live_token_and_nobody_signed_out() {
    let Some((a, b)) = two_instances(|_| {}).await else { return };
    let person = a.signed_in("Racing Tabs Tess").await;
    let responses = futures::future::join_all((0..16).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.refresh(&person.refresh_token)
    }))
    .await;

    let mut successors = HashSet::new();
    for response in responses {
        let body = json_body(response, StatusCode::OK).await;
        assert_eq!(str_at(&body, "/session_id"), person.session_id);
        successors.insert(str_at(&body, "/refresh_token"));
    }
    assert_eq!(successors.len(), 1, "both instances handed out the same successor: {successors:?}");
    let successor = successors.into_iter().next().unwrap_or_default();

    let (live_hash, rotations, revoked_at): (Vec<u8>, i64, Option<i64>) =
        sqlx::query_as("select refresh_hash, rotations, revoked_at from sessions where id = $1")
            .bind(&person.session_id)
            .fetch_one(&a.sql)
            .await
            .unwrap();
    assert_eq!(live_hash, Sha256::digest(successor.as_bytes()).to_vec(), "the successor is the one live token");
    assert_eq!(rotations, 1, "one rotation, however many requests raced on however many instances");
    assert_eq!(revoked_at, None, "a race is not theft");
    // And it works, on either instance.
    json_body(b.refresh(&successor).await, StatusCode::OK).await;
}

#[tokio::test]
async fn instances_starting_at_once_on_an_empty_database_agree_on_schema_and_keys() {
    if !postgres_here() {
        return;
    }
    // A starts alone on a fresh database only to create it; wipe it back to empty, then
    // start two more at the same moment.
    let seed = TestApp::spawn().await;
    sqlx::query("drop schema public cascade").execute(&seed.sql).await.unwrap();
    sqlx::query("create schema public").execute(&seed.sql).await.unwrap();
    let (x, y) = tokio::join!(seed.another_instance(|_| {}), seed.another_instance(|_| {}));

    let migrations: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations").fetch_one(&x.sql).await.unwrap();
    let files = std::fs::read_dir("migrations/postgres").unwrap().count() as i64;
    assert_eq!(migrations, files, "each migration applied once");
    let secrets: i64 = sqlx::query_scalar("select count(*) from server_secrets where name = 'refresh_successor'")
        .fetch_one(&x.sql)
        .await
        .unwrap();
    assert_eq!(secrets, 0, "the refresh secret is not in the database");
    assert_eq!(x.state.successor_keys.current.id(), y.state.successor_keys.current.id(), "one refresh secret, shared");
    assert_eq!(x.state.keys.current().signing_kid(), y.state.keys.current().signing_kid(), "both sign with the same key");
    let person = x.signed_in("Early Bird Eve").await;
    json_body(y.me(&person.access_token).await, StatusCode::OK).await;
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_unreachable_and_recovers() {
    if !postgres_here() {
        return;
    }
    let app = TestApp::spawn().await;
    let health = |app: &TestApp| {
        let url = app.url("/healthz");
        let client = app.client.clone();
        async move { client.get(url).send().await.unwrap().status() }
    };
    assert_eq!(health(&app).await, StatusCode::OK);

    // Take the database away from the server: no new connections, the open ones killed.
    let name: String = sqlx::query_scalar("select cast(current_database() as text)").fetch_one(&app.sql).await.unwrap();
    let admin = std::env::var("GATEHOUSE_TEST_POSTGRES").unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("alter database {name} with allow_connections false"))).execute(&mut conn).await.unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1")
        .bind(&name)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(health(&app).await, StatusCode::SERVICE_UNAVAILABLE);
    // Liveness does not depend on the database.
    assert_eq!(app.client.get(app.url("/livez")).send().await.unwrap().status(), StatusCode::OK);

    sqlx::query(sqlx::AssertSqlSafe(format!("alter database {name} with allow_connections true"))).execute(&mut conn).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while health(&app).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "readiness did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn failed_sign_ins_spread_over_two_instances_are_counted_together() {
    let Some((a, b)) = two_instances(|c| c.login_rate_per_minute = 0).await else { return };
    let victim = a.signed_in("Spread Guesses Sam").await;
    // Wrong passwords, alternately on A and B: the first six (five free, the sixth starts the
    // clock) are plain 401s — three per instance, so each instance alone would still be inside
    // the free ones; then the shared record makes them wait, growing until a wait of at least
    // 4 s is promised.
    let wrong = "not the password at all";
    crate::throttling::fail_until_throttled(6, 4, |i| if i % 2 == 0 { a.login(&victim.email, wrong) } else { b.login(&victim.email, wrong) })
        .await;
    // Both instances now make the account wait, even for the right password.
    for app in [&a, &b] {
        let response = app.login(&victim.email, crate::helpers::PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "both instances make the account wait");
        assert!(response.headers().get("retry-after").is_some());
    }
}
