//! Nothing outlives its session: an access token's `exp` never passes its session's end;
//! signing out others, everywhere, or by a password change reaches every session that could
//! still hold a valid access token; and a token living longer than the configured lifetime is
//! refused, so lowering the lifetime never revives a revoked session's older token.

use crate::helpers::{
    assert_error, cookie_header, json_body, jwt_part, now, str_at, SignedIn, TestApp, ACCESS_TTL_SECS, PASSWORD,
};
use reqwest::{header, StatusCode};
use std::time::Duration;

/// The session row's absolute end.
async fn expires_at(app: &TestApp, session_id: &str) -> i64 {
    sqlx::query_scalar("select expires_at from sessions where id = $1").bind(session_id).fetch_one(&app.sql).await.unwrap()
}

/// Moves a session's absolute end to `at`.
async fn end_session_at(app: &TestApp, session_id: &str, at: i64) {
    sqlx::query("update sessions set expires_at = $1 where id = $2").bind(at).bind(session_id).execute(&app.sql).await.unwrap();
}

#[tokio::test]
async fn an_access_token_from_a_refresh_near_the_sessions_end_expires_with_the_session() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Closing Time").await;
    let ends_at = now() + 90;
    end_session_at(&app, &person.session_id, ends_at).await;

    let winner = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    // The racing tab (inside the grace window) gets its own access token: bounded the same way.
    let racer = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;

    for body in [&winner, &racer] {
        let claims = jwt_part(&str_at(body, "/access_token"), 1);
        let exp = claims["exp"].as_i64().unwrap_or(i64::MAX);
        assert!(exp <= ends_at, "exp {exp} is past the session's end {ends_at}");
        let expires_in = body["expires_in"].as_i64().unwrap_or(i64::MAX);
        assert!((0..=90).contains(&expires_in), "expires_in {expires_in}");
        assert!(body["refresh_expires_in"].as_i64().unwrap_or(i64::MAX) <= 90, "{body}");
    }
}

#[tokio::test]
async fn with_sessions_shorter_than_the_access_lifetime_even_the_first_access_token_ends_with_the_session() {
    let app = TestApp::spawn_with(|c| c.refresh_absolute_ttl = Duration::from_secs(120)).await;
    let person = app.signed_in("Brief Bea").await;

    let claims = jwt_part(&person.access_token, 1);
    let (iat, exp) = (claims["iat"].as_i64().unwrap_or_default(), claims["exp"].as_i64().unwrap_or(i64::MAX));
    assert_eq!(exp, expires_at(&app, &person.session_id).await, "the access token ends exactly with its session");
    assert!(exp - iat <= 120, "lifetime {}", exp - iat);
    assert!(person.body["expires_in"].as_i64().unwrap_or(i64::MAX) <= 120, "{}", person.body);
}

/// The person's main session, one that reached its absolute end half a minute ago while its
/// last access token is still unexpired, and one that is live.
async fn three_sessions(app: &TestApp, name: &str) -> (SignedIn, SignedIn, SignedIn) {
    let main = app.signed_in(name).await;
    let just_ended = app.another_session(&main, None).await;
    let live = app.another_session(&main, None).await;
    end_session_at(app, &just_ended.session_id, now() - 30).await;
    json_body(app.me(&just_ended.access_token).await, StatusCode::OK).await;
    (main, just_ended, live)
}

/// After a mass sign-out: the ended session's leftover access token is refused too, the
/// count and the activity name only the live session the person saw on the devices page.
async fn assert_both_cut_off(app: &TestApp, just_ended: &SignedIn, live: &SignedIn, reason: &str) {
    assert_error(app.me(&just_ended.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(app.me(&live.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let (revoked_at, why) = app.revocation_of(&just_ended.session_id).await;
    assert!(revoked_at.is_some(), "the ended session is marked revoked too");
    assert_eq!(why.as_deref(), Some(reason));
    let events = app.events_of(&live.user_id).await;
    let ended = |id: &str| events.iter().filter(|e| e.kind == "session_revoked" && e.session_id.as_deref() == Some(id)).count();
    assert_eq!(ended(&live.session_id), 1, "{events:#?}");
    assert_eq!(ended(&just_ended.session_id), 0, "a session that had already ended is not reported signed out: {events:#?}");
}

#[tokio::test]
async fn signing_out_other_devices_also_cuts_off_a_just_ended_sessions_access_token() {
    let app = TestApp::spawn().await;
    let (main, just_ended, live) = three_sessions(&app, "Others Olive").await;

    let body = json_body(app.revoke_other_sessions(&main.access_token).await, StatusCode::OK).await;

    assert_eq!(body["revoked"], 1, "the count is what the devices page showed: {body}");
    assert_both_cut_off(&app, &just_ended, &live, "signed_out_elsewhere").await;
    app.assert_session_alive(&main).await;
}

#[tokio::test]
async fn changing_the_password_also_cuts_off_a_just_ended_sessions_access_token() {
    let app = TestApp::spawn().await;
    let (main, just_ended, live) = three_sessions(&app, "Password Pete").await;

    let fields = [("current_password", PASSWORD), ("new_password", "a brand new passphrase 9")];
    let body = json_body(app.call_fn("/fn/password", &fields, &main.access_token).await, StatusCode::OK).await;

    assert_eq!(body, 1, "devices signed out, as the person saw them");
    assert_both_cut_off(&app, &just_ended, &live, "password_changed").await;
    app.assert_session_alive(&main).await;
}

#[tokio::test]
async fn signing_out_everywhere_also_cuts_off_a_just_ended_sessions_access_token() {
    let app = TestApp::spawn().await;
    let (main, just_ended, live) = three_sessions(&app, "Everywhere Eve").await;

    let response = app
        .client
        .post(app.url("/auth/sign-out-everywhere"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::ORIGIN, app.origin())
        .header(header::COOKIE, cookie_header(&[("gh_access", &main.access_token)]))
        .send()
        .await
        .unwrap();

    assert!(response.status().is_success() || response.status().is_redirection(), "{}", response.status());
    assert_both_cut_off(&app, &just_ended, &live, "signed_out_everywhere").await;
    assert_error(app.me(&main.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn an_access_token_living_longer_than_the_configured_lifetime_is_refused() {
    use gatehouse::server::tokens::access;
    let app = TestApp::spawn().await;
    let person = app.signed_in("Long Lived Lee").await;
    let minted_with = |ttl: u64| {
        let mut settings = app.state.access.clone();
        settings.ttl_secs = ttl as i64;
        access::mint(&app.state.keys.current(), &settings, &person.user_id, &person.session_id, i64::MAX, now()).unwrap().0
    };

    // Our own key, our issuer and audience, unexpired — but minted to live longer than this
    // server's access tokens may (30 s of leeway allowed).
    for ttl in [ACCESS_TTL_SECS + 31, 3 * ACCESS_TTL_SECS, 86_400] {
        let token = minted_with(ttl);
        assert_error(app.me(&token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
        // Asked twice: a second look (the verified-token cache) refuses it as well.
        assert_error(app.me(&token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
    for ttl in [ACCESS_TTL_SECS, ACCESS_TTL_SECS + 30] {
        json_body(app.me(&minted_with(ttl)).await, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn lowering_the_access_lifetime_never_revives_a_revoked_sessions_older_token() {
    let app = TestApp::spawn().await;
    let leaving = app.signed_in("Revoked Rory").await;
    let staying = app.another_session(&leaving, None).await;
    assert_eq!(app.logout(&leaving.access_token).await.status(), StatusCode::NO_CONTENT);
    // Four minutes later: with the new lifetime of one minute, the revocation list no longer
    // needs to hold the sign-out (lifetime + 60 s) ...
    sqlx::query("update sessions set revoked_at = revoked_at - 240 where id = $1")
        .bind(&leaving.session_id)
        .execute(&app.sql)
        .await
        .unwrap();
    // (Ended sessions are kept an hour here, so retention's first run at start-up does not
    // race this test's look at the revoked session.)
    let app = app
        .restart_with(|c| {
            c.access_ttl = Duration::from_secs(60);
            c.ended_session_retention = Some(Duration::from_secs(3600));
        })
        .await;

    // ... and the 10-minute token minted before is not yet past its `exp`, yet refused.
    let exp = jwt_part(&leaving.access_token, 1)["exp"].as_i64().unwrap_or_default();
    assert!(exp > now() + 60, "still far from its exp");
    assert_error(app.me(&leaving.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(app.refresh(&leaving.refresh_token).await, StatusCode::UNAUTHORIZED, "session_revoked").await;

    // Live sessions' older, longer tokens are refused too; they refresh into short ones.
    assert_error(app.me(&staying.access_token).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    let refreshed = json_body(app.refresh(&staying.refresh_token).await, StatusCode::OK).await;
    json_body(app.me(&str_at(&refreshed, "/access_token")).await, StatusCode::OK).await;
    assert!(refreshed["expires_in"].as_i64().unwrap_or(i64::MAX) <= 60, "{refreshed}");
}
