//! Signing-key rotation over HTTP: new tokens get the new key, tokens of the old key keep
//! working until they could have expired, the JWKS follows, and nobody is signed out.

use crate::helpers::{assert_error, json_body, jwt_part, now, str_at, TestApp, ACCESS_TTL_SECS};
use gatehouse::server::tokens::keys;
use reqwest::StatusCode;

fn kid_of(token: &str) -> String {
    str_at(&jwt_part(token, 0), "/kid")
}

async fn published_kids(app: &TestApp) -> Vec<String> {
    let response = app.client.get(app.url("/.well-known/jwks.json")).send().await.expect("request sent");
    let jwks = json_body(response, StatusCode::OK).await;
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap_or_else(|| panic!("keys: {jwks}"))
        .iter()
        .map(|k| str_at(k, "/kid"))
        .collect();
    kids.sort();
    kids
}

fn sorted(mut kids: Vec<String>) -> Vec<String> {
    kids.sort();
    kids
}

/// Rotates the way `gatehouse keys rotate` does, and has this instance pick the key up at
/// once (instead of on its next 10-second reload), at the moment the new key starts signing
/// (at once on SQLite; on PostgreSQL after the activation delay that lets every instance load
/// it first). Returns (old kid, new kid, the time the old key stopped signing).
async fn rotate(app: &TestApp) -> (String, String, i64) {
    let old = app.state.keys.current().signing_kid().to_owned();
    let at = now();
    let new = keys::rotate(&app.state.db, at).await.expect("rotation works");
    let retired_at = at + keys::activation_delay_secs(&app.state.db);
    app.state.keys.reload(&app.state.db, retired_at).await.expect("reload works");
    assert_ne!(old, new, "a new key");
    (old, new, retired_at)
}

#[tokio::test]
async fn after_a_rotation_new_sign_ins_get_the_new_kid_and_tokens_of_the_old_key_keep_working() {
    let app = TestApp::spawn().await;
    let before = app.signed_in("Rotating Rosa").await;
    let a = before.access_token.clone();

    let (old, new, _) = rotate(&app).await;

    let after = app.another_session(&before, None).await;
    let b = after.access_token.clone();
    assert_eq!(kid_of(&a), old);
    assert_eq!(kid_of(&b), new, "the new key signs");
    assert_ne!(kid_of(&a), kid_of(&b));

    // Both work: nobody was signed out by the rotation.
    let me = json_body(app.me(&a).await, StatusCode::OK).await;
    assert_eq!(str_at(&me, "/session_id"), before.session_id);
    let me = json_body(app.me(&b).await, StatusCode::OK).await;
    assert_eq!(str_at(&me, "/session_id"), after.session_id);
    // And the sessions API (any authenticated call) too.
    assert_eq!(app.list_sessions(&a).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refresh_token_from_before_a_rotation_still_refreshes_into_a_token_of_the_new_key() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Refreshing Rafa").await;

    let (old, new, retired_at) = rotate(&app).await;

    assert_eq!(kid_of(&person.access_token), old);
    let refreshed = json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    assert_eq!(str_at(&refreshed, "/session_id"), person.session_id, "the same session goes on");
    let access = str_at(&refreshed, "/access_token");
    assert_eq!(kid_of(&access), new);
    json_body(app.me(&access).await, StatusCode::OK).await;
    // Even after the old key has retired for good, the session lives on: refresh tokens are
    // not signed, so no rotation can sign anybody out.
    app.state.keys.reload(&app.state.db, retired_at + ACCESS_TTL_SECS as i64 + 61).await.unwrap();
    assert!(app.state.keys.current().verifying_key(&old).is_none(), "the old key is gone");
    let again = json_body(app.refresh(&str_at(&refreshed, "/refresh_token")).await, StatusCode::OK).await;
    json_body(app.me(&str_at(&again, "/access_token")).await, StatusCode::OK).await;
}

#[tokio::test]
async fn the_jwks_lists_both_keys_after_a_rotation_and_drops_the_old_one_only_once_none_of_its_tokens_can_be_valid() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Key Watcher").await;
    let a = person.access_token.clone();

    let (old, new, retired_at) = rotate(&app).await;

    assert_eq!(published_kids(&app).await, sorted(vec![old.clone(), new.clone()]));

    // When the last token the old key could have signed just expired, it is still there
    // (tokens minted right before the rotation live that long).
    app.state.keys.reload(&app.state.db, retired_at + ACCESS_TTL_SECS as i64).await.unwrap();
    assert_eq!(published_kids(&app).await, sorted(vec![old.clone(), new.clone()]), "not dropped too early");
    json_body(app.me(&a).await, StatusCode::OK).await;

    // Past the access-token lifetime plus the clock leeway it is gone: from the JWKS and from
    // verification (token A would have expired by then). The instance's own 10-second reload
    // uses the real clock and may race this simulated one; it would bring the old key back,
    // so look again after a fresh reload when that happened.
    let mut attempts = 0;
    loop {
        attempts += 1;
        app.state.keys.reload(&app.state.db, retired_at + ACCESS_TTL_SECS as i64 + 61).await.unwrap();
        let kids = published_kids(&app).await;
        let refused = app.me(&a).await;
        if kids == vec![new.clone()] && refused.status() == StatusCode::UNAUTHORIZED {
            assert_error(refused, StatusCode::UNAUTHORIZED, "invalid_token").await;
            break;
        }
        assert!(attempts < 3, "the retired key should have left the JWKS: {kids:?}; /me answered {}", refused.status());
    }
    // The new key goes on signing and verifying.
    let fresh = app.another_session(&person, None).await;
    assert_eq!(kid_of(&fresh.access_token), new);
    json_body(app.me(&fresh.access_token).await, StatusCode::OK).await;
}
