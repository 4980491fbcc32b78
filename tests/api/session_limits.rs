//! Sessions that stay bounded and fast: the cap on live sessions per account
//! (`GATEHOUSE_MAX_SESSIONS_PER_ACCOUNT`), the sessions API and the devices page a page at a
//! time, and device details read from what was stored at sign-in.

use crate::helpers::{
    assert_error, json_body, now, str_at, EventRow, SignedIn, TestApp, FIREFOX_ON_WINDOWS, PASSWORD, SAFARI_ON_IPHONE,
};
use reqwest::StatusCode;
use serde_json::Value;

/// Chrome on Linux, for rows whose stored User-Agent a test rewrites.
const CHROME_ON_LINUX: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// Adds `count` live sessions for a user straight into the database, the way a sign-in
/// stores them (device details included), last used `1..=count` minutes ago: the first one
/// returned is the most recently used. Returns their ids.
async fn seed_sessions(app: &TestApp, user_id: &str, count: usize) -> Vec<String> {
    let now = now();
    let mut ids = Vec::with_capacity(count);
    for i in 1..=count {
        let id = uuid::Uuid::new_v4().to_string();
        let hash: Vec<u8> = uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        sqlx::query(
            "insert into sessions
               (id, user_id, refresh_hash, refresh_issued_at, rotations, created_at, last_used_at, expires_at, user_agent, ip,
                browser, os, device_kind)
             values ($1, $2, $3, $4, 0, $5, $5, $6, $7, '192.0.2.1', 'Firefox', 'Linux', 'desktop')",
        )
        .bind(&id)
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .bind(now - 60 * i as i64)
        .bind(now + 86400)
        .bind(FIREFOX_ON_WINDOWS)
        .execute(&app.sql)
        .await
        .expect("session inserted");
        ids.push(id);
    }
    ids
}

/// Sets when a session was last used.
async fn set_last_used(app: &TestApp, session_id: &str, at: i64) {
    sqlx::query("update sessions set last_used_at = $1 where id = $2").bind(at).bind(session_id).execute(&app.sql).await.unwrap();
}

/// How many live sessions a user has in the database.
async fn live_sessions(app: &TestApp, user_id: &str) -> i64 {
    sqlx::query_scalar("select count(*) from sessions where user_id = $1 and revoked_at is null and expires_at > $2")
        .bind(user_id)
        .bind(now())
        .fetch_one(&app.sql)
        .await
        .unwrap()
}

/// `GET /api/v1/sessions` with a query string.
async fn sessions_page(app: &TestApp, person: &SignedIn, query: &str) -> reqwest::Response {
    app.client.get(app.url(&format!("/api/v1/sessions{query}"))).bearer_auth(&person.access_token).send().await.unwrap()
}

/// The ids of a sessions body, in order.
fn ids(body: &Value) -> Vec<String> {
    body["sessions"].as_array().unwrap_or_else(|| panic!("a sessions array: {body}")).iter().map(|s| str_at(s, "/id")).collect()
}

/// Walks every page of `/api/v1/sessions` with `limit`, returning the ids in order and the
/// number of pages.
async fn walk_pages(app: &TestApp, person: &SignedIn, limit: usize) -> (Vec<String>, usize) {
    let (mut all, mut pages, mut query) = (Vec::new(), 0, format!("?limit={limit}"));
    loop {
        let body = json_body(sessions_page(app, person, &query).await, StatusCode::OK).await;
        pages += 1;
        let page = ids(&body);
        assert!(page.len() <= limit, "at most {limit} per page: {body}");
        all.extend(page);
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit={limit}&cursor={cursor}"),
            None => {
                assert!(body["next_cursor"].is_null(), "next_cursor is there, null on the last page: {body}");
                return (all, pages);
            }
        }
        assert!(pages < 100, "the walk ends");
    }
}

// ---------------------------------------------------------------------------------------
// The cap
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn signing_in_past_the_cap_signs_out_the_least_recently_used_session_at_once_and_says_why() {
    let app = TestApp::spawn_with(|config| config.max_sessions_per_account = 3).await;
    let first = app.signed_in_from("Capped Cora", Some(FIREFOX_ON_WINDOWS)).await;
    let unused = app.another_session(&first, Some(SAFARI_ON_IPHONE)).await;
    let third = app.another_session(&first, None).await;
    // The first sign-in is the one used last; the phone is the one unused for longest: the
    // cap goes by use, not by age.
    set_last_used(&app, &first.session_id, now() - 10).await;
    set_last_used(&app, &unused.session_id, now() - 3000).await;
    set_last_used(&app, &third.session_id, now() - 600).await;
    let bystander = app.signed_in("Somebody Else").await;

    let newest = app.another_session(&first, Some(FIREFOX_ON_WINDOWS)).await;

    // The phone is out at once: its access token is refused long before it expires, and its
    // refresh token answers session_revoked.
    app.assert_session_ended(&unused).await;
    for kept in [&first, &third, &newest, &bystander] {
        app.assert_session_alive(kept).await;
    }
    assert_eq!(live_sessions(&app, &first.user_id).await, 3);
    assert_eq!(app.revocation_of(&unused.session_id).await.1.as_deref(), Some("session_limit"));
    let revoked: Vec<EventRow> =
        app.events_of(&first.user_id).await.into_iter().filter(|e| e.kind == "session_revoked").collect();
    assert_eq!(
        revoked,
        vec![EventRow {
            kind: "session_revoked".into(),
            session_id: Some(unused.session_id.clone()),
            actor_session_id: Some(newest.session_id.clone()),
            reason: Some("session_limit".into()),
        }],
        "one event, naming the sign-in that made room"
    );
    let listed = json_body(app.list_sessions(&newest.access_token).await, StatusCode::OK).await;
    let mut listed = ids(&listed);
    listed.sort();
    let mut expected = vec![first.session_id.clone(), third.session_id.clone(), newest.session_id.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // The dashboard's activity says so in plain words.
    let html = app.navigate("/dashboard", &[("gh_access", &first.access_token)]).await.text().await.unwrap();
    assert!(
        html.contains("Safari on iPhone was signed out because you signed in on more than 3 devices"),
        "the activity tells why: {html}"
    );
}

#[tokio::test]
async fn sign_ins_at_the_same_moment_at_the_cap_leave_exactly_the_cap() {
    let app = TestApp::spawn_with(|config| {
        config.max_sessions_per_account = 4;
        // Cheap hashing and no per-address rate: the sign-ins reach the database together.
        config.argon2_memory_kib = 1024;
        config.argon2_iterations = 1;
        config.hash_concurrency = Some(8);
        config.login_rate_per_minute = 0;
        // Eight attempts at once from one client are more than the throttle's free ones (it
        // counts attempts as they are admitted); this test is about the cap, not throttling.
        config.failed_sign_in_delays = false;
    })
    .await;
    let person = app.signed_in("Busy Bea").await;
    seed_sessions(&app, &person.user_id, 3).await;
    // Used half a minute ago: less recently than any sign-in below (their times are whole
    // seconds, and within one second which of them is "least recent" is a toss-up).
    sqlx::query("update sessions set last_used_at = $1 where id = $2")
        .bind(now() - 30)
        .bind(&person.session_id)
        .execute(&app.sql)
        .await
        .unwrap();
    assert_eq!(live_sessions(&app, &person.user_id).await, 4, "at the cap");

    let mut signed_in = 0;
    for _round in 0..3 {
        let attempts = (0..8).map(|_| app.login_from(&person.email, PASSWORD, Some(FIREFOX_ON_WINDOWS)));
        for response in futures::future::join_all(attempts).await {
            json_body(response, StatusCode::OK).await;
            signed_in += 1;
        }
        assert_eq!(live_sessions(&app, &person.user_id).await, 4, "never more than the cap, however many sign in at once");
    }

    let ended: i64 = sqlx::query_scalar("select count(*) from sessions where user_id = $1 and revoked_reason = 'session_limit'")
        .bind(&person.user_id)
        .fetch_one(&app.sql)
        .await
        .unwrap();
    // Four live before and after: every one of the sign-ins ended exactly one session.
    assert_eq!(ended, signed_in);
    let events = app.events_of(&person.user_id).await;
    assert_eq!(events.iter().filter(|e| e.reason.as_deref() == Some("session_limit")).count() as i64, ended);
    // The oldest of all, the first sign-in, is among them, and refused at once.
    app.assert_session_ended(&person).await;
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_sessions_api_hands_out_pages_that_together_list_every_session_once_this_one_first() {
    let app = TestApp::spawn().await;
    let me = app.signed_in_from("Paged Pia", Some(FIREFOX_ON_WINDOWS)).await;
    let seeded = seed_sessions(&app, &me.user_id, 7).await;
    let mut expected = vec![me.session_id.clone()];
    expected.extend(seeded);

    // Without parameters: everything (under 100), the same shape as always plus next_cursor.
    let body = json_body(app.list_sessions(&me.access_token).await, StatusCode::OK).await;
    assert_eq!(ids(&body), expected, "this one first, then by latest activity");
    assert!(body.get("next_cursor").is_some_and(Value::is_null), "{body}");
    assert_eq!(body["sessions"][0]["current"], true);

    for limit in [1, 3, 7, 8] {
        let (walked, pages) = walk_pages(&app, &me, limit).await;
        assert_eq!(walked, expected, "limit {limit}: every session once, in order");
        assert_eq!(pages, expected.len().div_ceil(limit), "limit {limit}");
    }
}

#[tokio::test]
async fn the_sessions_api_never_answers_more_than_100_sessions_at_once() {
    let app = TestApp::spawn().await;
    let me = app.signed_in("Hoarder Hal").await;
    // Sessions from before the cap existed (or a cap raised above 100).
    seed_sessions(&app, &me.user_id, 150).await;

    let body = json_body(app.list_sessions(&me.access_token).await, StatusCode::OK).await;
    assert_eq!(ids(&body).len(), 100, "one page of 100");
    let cursor = str_at(&body, "/next_cursor");
    let rest = json_body(sessions_page(&app, &me, &format!("?cursor={cursor}")).await, StatusCode::OK).await;
    assert_eq!(ids(&rest).len(), 51);
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn a_limit_out_of_range_or_a_cursor_we_did_not_hand_out_is_422_invalid_input() {
    let app = TestApp::spawn().await;
    let me = app.signed_in("Picky Pat").await;
    for (query, field) in [
        ("?limit=0", Some("limit")),
        ("?limit=101", Some("limit")),
        ("?limit=-5", Some("limit")),
        ("?limit=many", None),
        ("?cursor=not-ours", Some("cursor")),
        ("?cursor=MTIzLjQ1Ng", Some("cursor")), // "123.456": base64url, but not a cursor
    ] {
        let body = assert_error(sessions_page(&app, &me, query).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
        if let Some(field) = field {
            assert!(body["error"]["fields"][field].is_string(), "{query}: names {field}: {body}");
        }
    }
    let overlong = format!("?cursor={}", "A".repeat(200));
    assert_error(sessions_page(&app, &me, &overlong).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_input").await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_pages() {
    let app = TestApp::spawn().await;
    let doc = json_body(app.client.get(app.url("/api/v1/openapi.json")).send().await.unwrap(), StatusCode::OK).await;
    let list = &doc["paths"]["/api/v1/sessions"]["get"];
    let params: Vec<&str> = list["parameters"].as_array().unwrap_or_else(|| panic!("{list}")).iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(params, ["limit", "cursor"], "{list}");
    let limit = list["parameters"][0]["schema"].to_string();
    assert!(limit.contains(r#""minimum":1"#) && limit.contains(r#""maximum":100"#), "{limit}");
    assert!(list["responses"]["422"].is_object(), "{list}");
    assert!(doc["components"]["schemas"]["SessionsBody"]["properties"]["next_cursor"].is_object(), "{doc}");
}

#[tokio::test]
async fn the_devices_page_shows_50_devices_at_a_time_with_a_link_to_the_next_ones() {
    let app = TestApp::spawn().await;
    let me = app.signed_in_from("Many Devices Max", Some(SAFARI_ON_IPHONE)).await;
    seed_sessions(&app, &me.user_id, 60).await;

    let html = app.navigate("/settings/sessions", &[("gh_access", &me.access_token)]).await.text().await.unwrap();
    assert_eq!(html.matches(r#"class="device""#).count(), 50, "{html}");
    assert!(html.contains("This device"), "this one first: {html}");
    assert!(html.contains("Showing 50 of your 61 devices."), "{html}");
    assert!(html.contains("This signs out the 60 other devices"), "every other device counts, not only this page's: {html}");
    let start = html.find(r#"href="/settings/sessions?cursor="#).unwrap_or_else(|| panic!("a link to the next devices: {html}"));
    let href = &html[start + 6..];
    let href = &href[..href.find('"').unwrap_or(0)];

    let next = app.navigate(href, &[("gh_access", &me.access_token)]).await.text().await.unwrap();
    assert_eq!(next.matches(r#"class="device""#).count(), 11, "{next}");
    assert!(!next.contains("This device"), "{next}");
    assert!(next.contains(r#"href="/settings/sessions""#), "a way back to the first page: {next}");
    assert!(!next.contains("Show more devices"), "the last page: {next}");

    // The server function behind it pages the same way.
    let body = json_body(app.call_fn("/fn/devices", &[], &me.access_token).await, StatusCode::OK).await;
    assert_eq!(body["devices"].as_array().map(Vec::len), Some(50));
    assert_eq!(body["total"], 61);
    let cursor = str_at(&body, "/next_cursor");
    let body = json_body(app.call_fn("/fn/devices", &[("cursor", &cursor)], &me.access_token).await, StatusCode::OK).await;
    assert_eq!(body["devices"].as_array().map(Vec::len), Some(11));
    assert!(body["next_cursor"].is_null(), "{body}");
}

// ---------------------------------------------------------------------------------------
// Device details stored at sign-in
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn devices_and_the_activity_name_the_device_from_what_was_stored_at_sign_in() {
    let app = TestApp::spawn().await;
    let laptop = app.signed_in_from("Stored Stan", Some(FIREFOX_ON_WINDOWS)).await;
    let phone = app.another_session(&laptop, Some(SAFARI_ON_IPHONE)).await;

    // Rewriting the stored User-Agents changes nothing shown: nothing parses them any more.
    for table in ["sessions", "security_events"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("update {table} set user_agent = $1 where user_id = $2")))
            .bind(CHROME_ON_LINUX)
            .bind(&laptop.user_id)
            .execute(&app.sql)
            .await
            .unwrap();
    }
    let body = json_body(app.list_sessions(&laptop.access_token).await, StatusCode::OK).await;
    let sessions = body["sessions"].as_array().unwrap();
    assert_eq!((sessions[0]["browser"].as_str(), sessions[1]["browser"].as_str()), (Some("Firefox"), Some("Safari")), "{body}");
    assert_eq!(sessions[1]["device"], "Safari on iPhone");
    let html = app.navigate("/dashboard", &[("gh_access", &laptop.access_token)]).await.text().await.unwrap();
    assert!(html.contains("New sign-in on Safari on iPhone"), "{html}");
    assert!(html.contains("New sign-in on this device (Firefox on Windows"), "{html}");
    assert!(!html.contains("Chrome"), "{html}");

    // …and what is stored is what is shown.
    sqlx::query("update sessions set browser = 'Lynx', os = 'Plan 9', device_kind = 'other' where id = $1")
        .bind(&phone.session_id)
        .execute(&app.sql)
        .await
        .unwrap();
    let body = json_body(app.list_sessions(&laptop.access_token).await, StatusCode::OK).await;
    assert_eq!(body["sessions"][1]["browser"], "Lynx", "{body}");
    assert_eq!(body["sessions"][1]["device"], "Lynx on Plan 9", "{body}");
}

#[tokio::test]
async fn sessions_from_before_device_details_were_stored_are_still_named() {
    let app = TestApp::spawn().await;
    let person = app.signed_in_from("Legacy Lou", Some(SAFARI_ON_IPHONE)).await;
    // A row written by the previous version: no stored details.
    sqlx::query("update sessions set browser = null, os = null, device_kind = null where id = $1")
        .bind(&person.session_id)
        .execute(&app.sql)
        .await
        .unwrap();
    sqlx::query("update security_events set browser = null, os = null where session_id = $1")
        .bind(&person.session_id)
        .execute(&app.sql)
        .await
        .unwrap();
    let body = json_body(app.list_sessions(&person.access_token).await, StatusCode::OK).await;
    assert_eq!(body["sessions"][0]["device"], "Safari on iPhone", "{body}");
    let html = app.navigate("/dashboard", &[("gh_access", &person.access_token)]).await.text().await.unwrap();
    assert!(html.contains("New sign-in on this device (Safari on iPhone)"), "{html}");
}
