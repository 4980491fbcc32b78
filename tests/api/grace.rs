//! The grace window serves only the racing tab: for a few seconds after a rotation, the spent
//! token still buys the live successor — but only for a request that plausibly comes from the
//! same browser as the one holding that successor (same User-Agent, same address; for IPv6
//! the same /64). Anyone else presenting it is treated as reuse: the session ends and
//! `refresh_token_reused` is recorded. A racing tab arriving after the session's absolute end
//! is told the session ended, not accused of theft.

use crate::helpers::{
    assert_error, assert_fn_error, cookie_header, json_body, location, now, set_cookies, str_at, the_cookie, EventRow,
    SignedIn, TestApp, FIREFOX_ON_WINDOWS, SAFARI_ON_IPHONE,
};
use reqwest::{header, StatusCode};
use std::time::Duration;

/// An app that believes this test as its reverse proxy, so `X-Forwarded-For` sets the
/// client's address.
async fn behind_a_proxy() -> TestApp {
    TestApp::spawn_with(|c| {
        c.refresh_grace = Duration::from_secs(5);
        c.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a CIDR")];
    })
    .await
}

fn reuse_events(events: &[EventRow]) -> Vec<&EventRow> {
    events.iter().filter(|e| e.kind == "refresh_token_reused").collect()
}

/// Asserts the session ended as stolen: revoked for reuse, one reuse event, and the
/// successor the winner holds (and its access token) dead too.
async fn assert_ended_as_reuse(app: &TestApp, person: &SignedIn, winner: &serde_json::Value) {
    let (revoked_at, reason) = app.revocation_of(&person.session_id).await;
    assert!(revoked_at.is_some(), "the session is revoked");
    assert_eq!(reason.as_deref(), Some("refresh_token_reused"));
    let events = app.events_of(&person.user_id).await;
    assert_eq!(reuse_events(&events).len(), 1, "one reuse event: {events:#?}");
    assert_eq!(reuse_events(&events)[0].session_id.as_deref(), Some(person.session_id.as_str()));
    assert_error(app.refresh(&str_at(winner, "/refresh_token")).await, StatusCode::UNAUTHORIZED, "session_revoked").await;
    assert_error(app.me(&str_at(winner, "/access_token")).await, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn inside_the_grace_window_the_same_browser_gets_the_same_successor_again() {
    let app = behind_a_proxy().await;
    let person = app.signed_in("Two Tabs Tina").await;
    let tab = (Some(FIREFOX_ON_WINDOWS), Some("203.0.113.7"));

    let winner = json_body(app.refresh_as(&person.refresh_token, tab.0, tab.1).await, StatusCode::OK).await;
    let loser = json_body(app.refresh_as(&person.refresh_token, tab.0, tab.1).await, StatusCode::OK).await;

    assert_eq!(str_at(&winner, "/refresh_token"), str_at(&loser, "/refresh_token"), "one successor for both tabs");
    json_body(app.me(&str_at(&loser, "/access_token")).await, StatusCode::OK).await;
    assert_eq!(app.revocation_of(&person.session_id).await, (None, None));
    assert!(reuse_events(&app.events_of(&person.user_id).await).is_empty());
}

#[tokio::test]
async fn inside_the_grace_window_another_browser_presenting_the_spent_token_is_reuse_and_ends_the_session() {
    let app = behind_a_proxy().await;
    let tab = (Some(FIREFOX_ON_WINDOWS), Some("203.0.113.7"));
    // Each one differs from the tab in one respect only.
    let strangers = [
        ("another User-Agent", Some(SAFARI_ON_IPHONE), Some("203.0.113.7")),
        ("no User-Agent", None, Some("203.0.113.7")),
        ("another IPv4 address, even next door", Some(FIREFOX_ON_WINDOWS), Some("203.0.113.8")),
        ("an IPv6 address", Some(FIREFOX_ON_WINDOWS), Some("2001:db8::7")),
    ];
    for (what, agent, address) in strangers {
        let person = app.signed_in("Stolen Stan").await;
        let winner = json_body(app.refresh_as(&person.refresh_token, tab.0, tab.1).await, StatusCode::OK).await;

        let stranger = app.refresh_as(&person.refresh_token, agent, address).await;

        let body = assert_error(stranger, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
        assert!(body.get("refresh_token").is_none(), "{what}: no successor handed out: {body}");
        assert_ended_as_reuse(&app, &person, &winner).await;
    }
}

#[tokio::test]
async fn an_ipv6_browser_keeps_its_racing_tabs_when_its_address_moves_within_its_64_but_not_beyond() {
    let app = behind_a_proxy().await;
    let agent = Some(FIREFOX_ON_WINDOWS);

    // Privacy extensions change the interface part of an IPv6 address; the /64 stays.
    let person = app.signed_in("Six Sam").await;
    let winner = json_body(app.refresh_as(&person.refresh_token, agent, Some("2001:db8:5:6::10")).await, StatusCode::OK).await;
    let loser =
        json_body(app.refresh_as(&person.refresh_token, agent, Some("2001:db8:5:6:a:b:c:d")).await, StatusCode::OK).await;
    assert_eq!(str_at(&winner, "/refresh_token"), str_at(&loser, "/refresh_token"));
    assert_eq!(app.revocation_of(&person.session_id).await, (None, None));

    let person = app.signed_in("Six Sam Elsewhere").await;
    let winner = json_body(app.refresh_as(&person.refresh_token, agent, Some("2001:db8:5:6::10")).await, StatusCode::OK).await;
    let other_net = app.refresh_as(&person.refresh_token, agent, Some("2001:db8:5:7::10")).await;
    assert_error(other_net, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    assert_ended_as_reuse(&app, &person, &winner).await;
}

#[tokio::test]
async fn a_thief_who_wins_the_race_is_found_out_when_the_owners_tab_presents_the_spent_token() {
    let app = behind_a_proxy().await;
    let person = app.signed_in("Raced Rachel").await;
    // The thief replays the token the owner still holds, first.
    let thief =
        json_body(app.refresh_as(&person.refresh_token, Some(SAFARI_ON_IPHONE), Some("198.51.100.66")).await, StatusCode::OK)
            .await;

    // The owner's own refresh, seconds later, finds its token spent by someone else.
    let owner = app.refresh_as(&person.refresh_token, Some(FIREFOX_ON_WINDOWS), Some("203.0.113.7")).await;

    assert_error(owner, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    assert_ended_as_reuse(&app, &person, &thief).await;
}

#[tokio::test]
async fn a_racing_tab_arriving_just_after_the_sessions_absolute_end_is_told_it_ended_not_accused_of_theft() {
    let app = behind_a_proxy().await;
    let tab = (Some(FIREFOX_ON_WINDOWS), Some("203.0.113.7"));
    for (what, late) in [("the racing tab", tab), ("anyone else", (Some(SAFARI_ON_IPHONE), Some("198.51.100.66")))] {
        let person = app.signed_in("Last Second Lou").await;
        let winner = json_body(app.refresh_as(&person.refresh_token, tab.0, tab.1).await, StatusCode::OK).await;
        // The session reaches its absolute end between the two requests.
        sqlx::query("update sessions set expires_at = $1 where id = $2")
            .bind(now() - 1)
            .bind(&person.session_id)
            .execute(&app.sql)
            .await
            .unwrap();

        let response = app.refresh_as(&person.refresh_token, late.0, late.1).await;

        assert_error(response, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
        assert_error(app.refresh(&str_at(&winner, "/refresh_token")).await, StatusCode::UNAUTHORIZED, "refresh_token_expired")
            .await;
        assert_eq!(app.revocation_of(&person.session_id).await, (None, None), "{what}: an ended session is not revoked as stolen");
        let events = app.events_of(&person.user_id).await;
        assert!(reuse_events(&events).is_empty(), "{what}: no possible-theft event: {events:#?}");
    }
}

#[tokio::test]
async fn the_browsers_refresh_endpoints_hand_the_successor_only_to_the_same_browser() {
    let app = TestApp::spawn_with(|c| c.refresh_grace = Duration::from_secs(5)).await;

    // A page navigation through GET /auth/refresh, twice from one browser, then once from another.
    let person = app.signed_in("Navigating Nell").await;
    let navigate = |agent: &'static str| {
        app.client
            .get(app.url("/auth/refresh?next=%2Fdashboard"))
            .header(header::ACCEPT, "text/html")
            .header(header::USER_AGENT, agent)
            .header(header::COOKIE, cookie_header(&[("gh_refresh", &person.refresh_token)]))
            .send()
    };
    let first = navigate(FIREFOX_ON_WINDOWS).await.unwrap();
    assert_eq!(location(&first), "/dashboard");
    let second = navigate(FIREFOX_ON_WINDOWS).await.unwrap();
    assert_eq!(location(&second), "/dashboard", "the racing tab of the same browser goes on");
    assert_eq!(
        the_cookie(&set_cookies(&first), "gh_refresh").value,
        the_cookie(&set_cookies(&second), "gh_refresh").value,
        "with the same successor"
    );
    let stranger = navigate(SAFARI_ON_IPHONE).await.unwrap();
    assert_eq!(location(&stranger), "/login?next=%2Fdashboard&ended=1");
    assert_eq!(app.revocation_of(&person.session_id).await.1.as_deref(), Some("refresh_token_reused"));

    // The hydrated page's POST /auth/refresh (a server function), the same way.
    let person = app.signed_in("Fetching Fay").await;
    let call = |agent: &'static str| {
        app.client
            .post(app.url("/auth/refresh"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, app.origin())
            .header(header::USER_AGENT, agent)
            .header(header::COOKIE, cookie_header(&[("gh_refresh", &person.refresh_token)]))
            .send()
    };
    let first = call(FIREFOX_ON_WINDOWS).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = call(FIREFOX_ON_WINDOWS).await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        the_cookie(&set_cookies(&first), "gh_refresh").value,
        the_cookie(&set_cookies(&second), "gh_refresh").value
    );
    let stranger = call(SAFARI_ON_IPHONE).await.unwrap();
    assert_fn_error(stranger, "/auth/refresh", &serde_json::json!("RefreshTokenReused")).await;
    assert_eq!(app.revocation_of(&person.session_id).await.1.as_deref(), Some("refresh_token_reused"));
}
