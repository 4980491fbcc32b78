//! Devices: the sessions API (`/api/v1/sessions`), the devices server functions
//! (`/fn/devices/*`), the server-rendered devices page and the dashboard's security activity.

use crate::helpers::{
    assert_error, assert_fn_error, assert_fn_invalid_field, fn_error, json_body, location, now, EventRow,
    SignedIn, TestApp, FIREFOX_ON_WINDOWS, SAFARI_ON_IPHONE,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The `sessions` array of `GET /api/v1/sessions`, asserting a 200.
async fn sessions_of(app: &TestApp, person: &SignedIn) -> Vec<Value> {
    let body = json_body(app.list_sessions(&person.access_token).await, StatusCode::OK).await;
    body["sessions"].as_array().unwrap_or_else(|| panic!("a sessions array: {body}")).clone()
}

/// The entry for `session_id` in a sessions list.
fn entry<'a>(sessions: &'a [Value], session_id: &str) -> &'a Value {
    sessions
        .iter()
        .find(|s| s["id"] == session_id)
        .unwrap_or_else(|| panic!("session {session_id} is listed: {sessions:#?}"))
}

fn is_rfc3339(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok())
}

// ---------------------------------------------------------------------------------------
// JSON API
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_sessions_api_lists_both_devices_with_exactly_one_current_and_the_browser_os_and_ip_parsed() {
    let app = TestApp::spawn().await;
    let laptop = app.signed_in_from("Two Devices", Some(FIREFOX_ON_WINDOWS)).await;
    let phone = app.another_session(&laptop, Some(SAFARI_ON_IPHONE)).await;
    let stranger = app.signed_in_from("Someone Else", Some(FIREFOX_ON_WINDOWS)).await;

    let sessions = sessions_of(&app, &laptop).await;

    assert_eq!(sessions.len(), 2, "both of this person's sessions, nobody else's: {sessions:#?}");
    assert!(sessions.iter().all(|s| s["id"] != stranger.session_id.as_str()));
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session: {sessions:#?}");
    assert_eq!(current[0]["id"], laptop.session_id.as_str(), "the one the token belongs to");
    let expected_keys: BTreeSet<&str> =
        ["id", "current", "device", "browser", "os", "ip", "created_at", "last_used_at", "signed_in_with"].into_iter().collect();
    for s in &sessions {
        let keys: BTreeSet<&str> = s.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(keys, expected_keys, "{s}");
        assert_eq!(s["ip"], "127.0.0.1", "{s}");
        assert_eq!(s["signed_in_with"], "password", "{s}");
        assert!(is_rfc3339(&s["created_at"]) && is_rfc3339(&s["last_used_at"]), "RFC 3339 times: {s}");
    }

    let firefox = entry(&sessions, &laptop.session_id);
    assert_eq!(firefox["browser"], "Firefox", "{firefox}");
    let os = firefox["os"].as_str().unwrap_or_default();
    assert!(os.starts_with("Windows"), "{firefox}");
    assert_eq!(firefox["device"], format!("Firefox on {os}").as_str(), "{firefox}");
    assert_eq!(firefox["current"], true);

    let safari = entry(&sessions, &phone.session_id);
    assert_eq!(safari["browser"], "Safari", "{safari}");
    assert_eq!(safari["os"], "iPhone", "{safari}");
    assert_eq!(safari["device"], "Safari on iPhone", "{safari}");
    assert_eq!(safari["current"], false);

    // Seen from the phone, the phone is the current one.
    let from_phone = sessions_of(&app, &phone).await;
    assert_eq!(from_phone.len(), 2);
    assert_eq!(entry(&from_phone, &phone.session_id)["current"], true);
    assert_eq!(entry(&from_phone, &laptop.session_id)["current"], false);
}

#[tokio::test]
async fn the_sessions_api_without_a_valid_access_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Token Less").await;

    let response = app.client.get(app.url("/api/v1/sessions")).send().await.unwrap();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(app.list_sessions("not.a.jwt").await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_error(app.delete_session("not.a.jwt", &person.session_id).await, StatusCode::UNAUTHORIZED, "invalid_token")
        .await;
    assert_error(app.revoke_other_sessions("not.a.jwt").await, StatusCode::UNAUTHORIZED, "invalid_token").await;
    app.assert_session_alive(&person).await;
}

#[tokio::test]
async fn deleting_another_device_through_the_api_is_204_and_ends_that_session_at_once() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Revoking Rhea", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;

    let response = app.delete_session(&a.access_token, &b.session_id).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.text().await.unwrap(), "", "204 has no body");

    // B's access token is refused on its very next request, long before it expires, and its
    // refresh token no longer refreshes.
    app.assert_session_ended(&b).await;
    // A goes on.
    app.assert_session_alive(&a).await;
    let listed = sessions_of(&app, &a).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["id"], a.session_id.as_str());

    let (revoked_at, reason) = app.revocation_of(&b.session_id).await;
    assert!(revoked_at.is_some());
    assert_eq!(reason.as_deref(), Some("signed_out_elsewhere"));
    let revoked: Vec<EventRow> =
        app.events_of(&a.user_id).await.into_iter().filter(|e| e.kind == "session_revoked").collect();
    assert_eq!(
        revoked,
        vec![EventRow {
            kind: "session_revoked".into(),
            session_id: Some(b.session_id.clone()),
            actor_session_id: Some(a.session_id.clone()),
            reason: Some("signed_out_elsewhere".into()),
        }]
    );

    // Deleting it again finds nothing to delete.
    assert_error(app.delete_session(&a.access_token, &b.session_id).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn deleting_someone_elses_session_is_404_exactly_like_an_unknown_id_and_leaves_it_alive() {
    let app = TestApp::spawn().await;
    let attacker = app.signed_in("Nosy Neighbour").await;
    let victim = app.signed_in("Victim Vera").await;

    let foreign =
        assert_error(app.delete_session(&attacker.access_token, &victim.session_id).await, StatusCode::NOT_FOUND, "not_found")
            .await;
    let unknown_id = uuid::Uuid::now_v7().to_string();
    let unknown =
        assert_error(app.delete_session(&attacker.access_token, &unknown_id).await, StatusCode::NOT_FOUND, "not_found").await;
    let overlong =
        assert_error(app.delete_session(&attacker.access_token, &"a".repeat(65)).await, StatusCode::NOT_FOUND, "not_found")
            .await;

    assert_eq!(foreign, unknown, "someone else's session id is indistinguishable from an unknown one");
    assert_eq!(overlong, unknown);

    // The victim did not notice a thing.
    app.assert_session_alive(&victim).await;
    json_body(app.refresh(&victim.refresh_token).await, StatusCode::OK).await;
    assert!(
        app.events_of(&victim.user_id).await.iter().all(|e| e.kind != "session_revoked"),
        "nothing was recorded against the victim"
    );
    app.assert_session_alive(&attacker).await;
}

#[tokio::test]
async fn revoke_others_through_the_api_ends_the_two_other_sessions_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Three Devices", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;
    let c = app.another_session(&a, None).await;
    let bystander = app.signed_in("Bystander").await;

    let body = json_body(app.revoke_other_sessions(&a.access_token).await, StatusCode::OK).await;
    assert_eq!(body, json!({ "revoked": 2 }));

    app.assert_session_alive(&a).await;
    app.assert_session_ended(&b).await;
    app.assert_session_ended(&c).await;
    for s in [&b, &c] {
        assert_eq!(app.revocation_of(&s.session_id).await.1.as_deref(), Some("signed_out_elsewhere"));
    }
    let listed = sessions_of(&app, &a).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], a.session_id.as_str());
    // The caller's refresh token still rotates.
    json_body(app.refresh(&a.refresh_token).await, StatusCode::OK).await;
    // Nobody else was touched.
    app.assert_session_alive(&bystander).await;

    // Nothing left to revoke.
    let body = json_body(app.revoke_other_sessions(&a.access_token).await, StatusCode::OK).await;
    assert_eq!(body, json!({ "revoked": 0 }));
}

#[tokio::test]
async fn signing_in_records_a_signed_in_event_with_the_device_and_address() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Recorded Rosa", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;

    let rows: Vec<(String, Option<String>, String, String)> = sqlx::query_as(
        "select kind, session_id, ip, user_agent from security_events where user_id = $1 order by created_at, id",
    )
    .bind(&a.user_id)
    .fetch_all(&app.sql)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("signed_in".into(), Some(a.session_id.clone()), "127.0.0.1".into(), FIREFOX_ON_WINDOWS.into()),
            ("signed_in".into(), Some(b.session_id.clone()), "127.0.0.1".into(), SAFARI_ON_IPHONE.into()),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Server functions
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_devices_server_function_lists_this_device_first() {
    let app = TestApp::spawn().await;
    let a = app.signed_in_from("Listed Lena", Some(FIREFOX_ON_WINDOWS)).await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;

    let body = json_body(app.call_fn("/fn/devices", &[], &b.access_token).await, StatusCode::OK).await;

    assert_eq!(body["display_name"], "Listed Lena");
    let devices = body["devices"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(devices.len(), 2, "{body}");
    assert_eq!(devices[0]["id"], b.session_id.as_str(), "this device first: {body}");
    assert_eq!(devices[0]["current"], true);
    assert_eq!(devices[0]["label"], "Safari on iPhone");
    assert_eq!(devices[1]["id"], a.session_id.as_str());
    assert_eq!(devices[1]["current"], false);
    assert_eq!(devices[1]["browser"], "Firefox");
}

#[tokio::test]
async fn the_revoke_server_function_ends_ones_own_other_device_but_answers_not_found_for_someone_elses() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Own Devices").await;
    let b = app.another_session(&a, None).await;
    let victim = app.signed_in("Victim Viktor").await;

    // Someone else's session: NotFound, exactly like an unknown id, and the victim stays in.
    let foreign = assert_fn_error(
        app.call_fn("/fn/devices/revoke", &[("session_id", &victim.session_id)], &a.access_token).await,
        "/fn/devices/revoke",
        &json!("NotFound"),
    )
    .await;
    let unknown_id = uuid::Uuid::now_v7().to_string();
    let unknown = assert_fn_error(
        app.call_fn("/fn/devices/revoke", &[("session_id", &unknown_id)], &a.access_token).await,
        "/fn/devices/revoke",
        &json!("NotFound"),
    )
    .await;
    assert_eq!(foreign, unknown);
    app.assert_session_alive(&victim).await;
    json_body(app.refresh(&victim.refresh_token).await, StatusCode::OK).await;

    // One's own other device: done, at once.
    let response = app.call_fn("/fn/devices/revoke", &[("session_id", &b.session_id)], &a.access_token).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    app.assert_session_ended(&b).await;
    app.assert_session_alive(&a).await;
    assert_eq!(app.revocation_of(&b.session_id).await.1.as_deref(), Some("signed_out_elsewhere"));
}

#[tokio::test]
async fn the_revoke_others_server_function_answers_how_many_devices_it_signed_out() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Many Devices").await;
    let b = app.another_session(&a, None).await;
    let c = app.another_session(&a, None).await;

    let body = json_body(app.call_fn("/fn/devices/revoke-others", &[], &a.access_token).await, StatusCode::OK).await;
    assert_eq!(body, json!(2));

    app.assert_session_alive(&a).await;
    app.assert_session_ended(&b).await;
    app.assert_session_ended(&c).await;
}

#[tokio::test]
async fn a_devices_server_function_without_a_valid_access_cookie_is_invalid_token() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Cookie Less").await;
    let b = app.another_session(&person, None).await;

    assert_fn_error(
        app.call_fn("/fn/devices/revoke", &[("session_id", &b.session_id)], "not.a.jwt").await,
        "/fn/devices/revoke",
        &json!("InvalidToken"),
    )
    .await;
    app.assert_session_alive(&b).await;
}

#[tokio::test]
async fn markup_in_a_user_agent_or_a_device_name_is_shown_as_text_on_the_devices_page() {
    let app = TestApp::spawn().await;
    let evil_agent = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let evil = app.signed_in_from("Escaped Esme", Some(evil_agent)).await;
    let other = app.another_session(&evil, Some(FIREFOX_ON_WINDOWS)).await;

    let response =
        app.call_fn("/fn/devices/rename", &[("session_id", &evil.session_id), ("name", "<b>bold</b>")], &evil.access_token).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    let (name,): (Option<String>,) = sqlx::query_as("select name from sessions where id = $1")
        .bind(&evil.session_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("<b>bold</b>"), "stored as typed; escaping is the renderer's job");

    let response = app.navigate("/settings/sessions", &[("gh_access", &other.access_token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("<h1>Devices</h1>"), "the page rendered on the server: {html}");
    for raw in ["<script>alert(1)", "<img src=x", "<b>bold</b>"] {
        assert!(!html.contains(raw), "{raw:?} must not reach the page unescaped: {html}");
    }
    assert!(html.contains("&lt;b&gt;bold&lt;/b&gt;"), "the name is shown as text: {html}");
    assert!(html.contains("Firefox on Windows"), "the other device is listed too: {html}");

    // The dashboard's activity (which tells of both sign-ins) is just as careful.
    let response = app.navigate("/dashboard", &[("gh_access", &other.access_token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    for raw in ["<script>alert(1)", "<img src=x", "<b>bold</b>"] {
        assert!(!html.contains(raw), "{raw:?} must not reach the dashboard unescaped: {html}");
    }
}

#[tokio::test]
async fn renaming_a_device_checks_the_length_and_whose_device_it_is() {
    let app = TestApp::spawn().await;
    let a = app.signed_in("Name Giver").await;
    let b = app.another_session(&a, Some(SAFARI_ON_IPHONE)).await;
    let stranger = app.signed_in("Not Yours").await;
    let name_of = |id: String| {
        let db = app.sql.clone();
        async move {
            let (name,): (Option<String>,) =
                sqlx::query_as("select name from sessions where id = $1").bind(id).fetch_one(&db).await.unwrap();
            name
        }
    };

    // 65 characters is one too many.
    let too_long = "x".repeat(65);
    assert_fn_invalid_field(
        app.call_fn("/fn/devices/rename", &[("session_id", &b.session_id), ("name", &too_long)], &a.access_token).await,
        "/fn/devices/rename",
        "name",
        "64",
    )
    .await;
    assert_eq!(name_of(b.session_id.clone()).await, None, "nothing was saved");

    // 64 is fine; the list then shows the name instead of "Safari on iPhone".
    let just_right = "y".repeat(64);
    let response =
        app.call_fn("/fn/devices/rename", &[("session_id", &b.session_id), ("name", &just_right)], &a.access_token).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    let listed = sessions_of(&app, &a).await;
    assert_eq!(entry(&listed, &b.session_id)["device"], just_right.as_str());

    // Someone else's session: NotFound, and their session keeps its (lack of a) name.
    assert_fn_error(
        app.call_fn("/fn/devices/rename", &[("session_id", &stranger.session_id), ("name", "mine now")], &a.access_token)
            .await,
        "/fn/devices/rename",
        &json!("NotFound"),
    )
    .await;
    assert_eq!(name_of(stranger.session_id.clone()).await, None);
    app.assert_session_alive(&stranger).await;

    // An empty name goes back to "Browser on OS".
    let response = app.call_fn("/fn/devices/rename", &[("session_id", &b.session_id), ("name", "  ")], &a.access_token).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
    assert_eq!(name_of(b.session_id.clone()).await, None);
    let listed = sessions_of(&app, &a).await;
    assert_eq!(entry(&listed, &b.session_id)["device"], "Safari on iPhone");
}

// ---------------------------------------------------------------------------------------
// Dashboard: security activity and "This wasn't me"
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_dashboard_tells_of_a_new_sign_in_elsewhere_and_this_wasnt_me_signs_it_out() {
    let app = TestApp::spawn().await;
    let owner = app.signed_in_from("Watchful Wendy", Some(FIREFOX_ON_WINDOWS)).await;
    let intruder = app.another_session(&owner, Some(SAFARI_ON_IPHONE)).await;

    let response = app.navigate("/dashboard", &[("gh_access", &owner.access_token)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    assert!(html.contains("New sign-in on Safari on iPhone from IP 127.0.0.1"), "the phone's sign-in is told: {html}");
    assert!(html.contains("New sign-in on this device"), "and this one's: {html}");
    assert_eq!(html.matches("This wasn't me").count(), 1, "offered for the other device only: {html}");
    assert!(html.contains(r#"action="/fn/devices/disown""#), "a form that works without JavaScript: {html}");
    assert!(html.contains(&format!(r#"name="session_id" value="{}""#, intruder.session_id)), "{html}");
    let known_devices = || async {
        let n: i64 = sqlx::query_scalar("select count(*) from known_devices where user_id = $1")
            .bind(&owner.user_id)
            .fetch_one(&app.sql)
            .await
            .unwrap();
        n
    };
    assert_eq!(known_devices().await, 2);

    let response = app
        .form_post("/fn/devices/disown", &[("session_id", &intruder.session_id)], "/dashboard", &[(
            "gh_access",
            &owner.access_token,
        )])
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), "/settings/password?reported=1", "on to change the password");

    app.assert_session_ended(&intruder).await;
    app.assert_session_alive(&owner).await;
    assert_eq!(app.revocation_of(&intruder.session_id).await.1.as_deref(), Some("reported_by_owner"));
    assert_eq!(known_devices().await, 1, "the account forgets the intruder's device, keeps the owner's");
    let revoked: Vec<EventRow> =
        app.events_of(&owner.user_id).await.into_iter().filter(|e| e.kind == "session_revoked").collect();
    assert_eq!(
        revoked,
        vec![EventRow {
            kind: "session_revoked".into(),
            session_id: Some(intruder.session_id.clone()),
            actor_session_id: None,
            reason: Some("reported_by_owner".into()),
        }]
    );

    // The activity now says so, and no longer offers the button.
    let html = app.navigate("/dashboard", &[("gh_access", &owner.access_token)]).await.text().await.unwrap();
    assert!(!html.contains("This wasn't me"), "{html}");
    assert!(html.contains("after you said the sign-in wasn't you"), "{html}");
}

#[tokio::test]
async fn disowning_ones_own_session_or_someone_elses_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.signed_in("Careful Carl").await;
    let stranger = app.signed_in("Other Olga").await;

    let body = fn_error(
        app.call_fn("/fn/devices/disown", &[("session_id", &owner.session_id)], &owner.access_token).await,
        "/fn/devices/disown",
    )
    .await;
    assert!(body["BadRequest"].as_str().is_some_and(|m| m.contains("this device")), "{body}");
    app.assert_session_alive(&owner).await;

    assert_fn_error(
        app.call_fn("/fn/devices/disown", &[("session_id", &stranger.session_id)], &owner.access_token).await,
        "/fn/devices/disown",
        &json!("NotFound"),
    )
    .await;
    app.assert_session_alive(&stranger).await;
}

#[tokio::test]
async fn opening_the_dashboard_or_devices_page_updates_last_active_at_most_once_a_minute() {
    let app = TestApp::spawn().await;
    let person = app.signed_in("Active Ada").await;
    let last_used = |app: &TestApp, id: String| {
        let sql = app.sql.clone();
        async move {
            let at: i64 = sqlx::query_scalar("select last_used_at from sessions where id = $1").bind(id).fetch_one(&sql).await.unwrap();
            at
        }
    };
    let set_last_used = |app: &TestApp, id: String, at: i64| {
        let sql = app.sql.clone();
        async move {
            sqlx::query("update sessions set last_used_at = $1 where id = $2").bind(at).bind(id).execute(&sql).await.unwrap();
        }
    };
    let an_hour_ago = now() - 3600;
    set_last_used(&app, person.session_id.clone(), an_hour_ago).await;

    let page = app.navigate("/dashboard", &[("gh_access", &person.access_token)]).await;
    assert_eq!(page.status(), StatusCode::OK);
    let touched = last_used(&app, person.session_id.clone()).await;
    assert!(touched >= now() - 5, "the visit made the session active now: {touched}");

    // Another view within the minute does not write again (it would say the same thing).
    set_last_used(&app, person.session_id.clone(), an_hour_ago).await;
    let page = app.navigate("/settings/sessions", &[("gh_access", &person.access_token)]).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(last_used(&app, person.session_id.clone()).await, an_hour_ago);

    // A refresh always records activity.
    json_body(app.refresh(&person.refresh_token).await, StatusCode::OK).await;
    assert!(last_used(&app, person.session_id.clone()).await >= now() - 5);
}
