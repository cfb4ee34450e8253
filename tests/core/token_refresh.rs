//! Token refresh through `/pd status`: refresh before expiry, after a 401,
//! one refresh for concurrent requests, and removal of revoked links.

mod common;

use common::{Harness, USER};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// Links `USER` with an access token that expires in `expires_in` seconds
/// and the refresh token `refresh-1`.
fn link_with_expiry(harness: &Harness, expires_in: u64) {
    harness.runtime.block_on(async {
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "access-1", "token_type": "bearer",
                "refresh_token": "refresh-1", "expires_in": expires_in, "scope": "openid write",
            })))
            .mount(&harness.pagerduty)
            .await;
        for token in ["access-1", "access-2"] {
            Mock::given(method("GET"))
                .and(path("/users/me"))
                .and(header("authorization", format!("Bearer {token}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": {
                    "id": "PABC123", "name": "Ada Lovelace", "email": "ada@example.com",
                    "html_url": "https://acme.pagerduty.com/users/PABC123",
                }})))
                .mount(&harness.pagerduty)
                .await;
        }
    });
    let (state, _) = harness.start_flow(USER);
    let query = format!("code=any&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 200, "{reply}");
}

/// Mounts the refresh grant for `refresh-1`, expected `times` times.
fn mock_refresh(harness: &Harness, response: ResponseTemplate, times: u64) {
    harness.runtime.block_on(
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .and(body_string_contains("refresh_token=refresh-1"))
            .and(body_string_contains("client_secret=secret-xyz"))
            .respond_with(response)
            .expect(times)
            .mount(&harness.pagerduty),
    );
}

fn refreshed() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": "access-2", "token_type": "bearer",
        "refresh_token": "refresh-2", "expires_in": 86400, "scope": "openid write",
    }))
}

fn stored_link(harness: &Harness) -> serde_json::Value {
    serde_json::from_str(&harness.link_json(USER).expect("link stored")).unwrap()
}

#[test]
fn expiring_token_is_refreshed() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 60);
    mock_refresh(&harness, refreshed(), 1);
    let before = stored_link(&harness);

    let text = harness.command(USER, "/pd status");

    assert!(text.contains("PagerDuty confirmed"), "{text}");
    let after = stored_link(&harness);
    assert_ne!(after["access_token"], before["access_token"]);
    assert_ne!(after["refresh_token"], before["refresh_token"]);
    assert!(after["refreshed_at"].is_i64());
    assert!(after["expires_at"].as_i64() > before["expires_at"].as_i64());
    assert!(!harness.link_json(USER).unwrap().contains("refresh-2"));
    harness.runtime.block_on(harness.pagerduty.verify());
}

#[test]
fn fresh_token_is_not_refreshed() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 86400);
    mock_refresh(&harness, refreshed(), 0);

    let text = harness.command(USER, "/pd status");

    assert!(text.contains("PagerDuty confirmed"), "{text}");
    harness.runtime.block_on(harness.pagerduty.verify());
}

#[test]
fn unauthorized_reply_forces_one_refresh() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 86400);
    // From now on PagerDuty rejects the first access token.
    harness.runtime.block_on(
        Mock::given(method("GET"))
            .and(path("/users/me"))
            .and(header("authorization", "Bearer access-1"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": {"message": "Authentication failed", "code": 2006}
            })))
            .with_priority(1)
            .mount(&harness.pagerduty),
    );
    mock_refresh(&harness, refreshed(), 1);

    let text = harness.command(USER, "/pd status");

    assert!(text.contains("PagerDuty confirmed"), "{text}");
    harness.runtime.block_on(harness.pagerduty.verify());
}

#[test]
fn revoked_refresh_token_removes_link() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 60);
    let rejected = ResponseTemplate::new(400)
        .set_body_json(json!({"error": "invalid_grant", "error_description": "revoked"}));
    mock_refresh(&harness, rejected, 1);

    let text = harness.command(USER, "/pd status");

    assert!(text.contains("link was removed"), "{text}");
    assert!(harness.link_json(USER).is_none());
    assert!(harness
        .host
        .kv_keys()
        .iter()
        .all(|key| !key.starts_with("pd_user_")));
    let messages = harness.host.direct_messages.lock().unwrap().clone();
    let warnings: Vec<_> = messages
        .iter()
        .filter(|message| message.message.contains("stopped working"))
        .collect();
    assert_eq!(warnings.len(), 1, "{messages:?}");

    // The next use finds no link and sends no second message.
    let text = harness.command(USER, "/pd status");
    assert!(text.contains("not linked"), "{text}");
    let count = harness.host.direct_messages.lock().unwrap().len();
    assert_eq!(count, messages.len());
}

#[test]
fn failing_token_endpoint_keeps_link() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 60);
    mock_refresh(
        &harness,
        ResponseTemplate::new(500).set_body_string("oops"),
        1,
    );
    let before = harness.link_json(USER).unwrap();

    let text = harness.command(USER, "/pd status");

    assert!(text.contains("could not be reached"), "{text}");
    assert_eq!(harness.link_json(USER).unwrap(), before);
    assert!(harness
        .host
        .kv_keys()
        .iter()
        .all(|key| !key.starts_with("refresh_lock_")));
}

#[test]
fn concurrent_requests_refresh_once() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 60);
    let slow = refreshed().set_delay(std::time::Duration::from_millis(500));
    mock_refresh(&harness, slow, 1);

    let replies: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| harness.command(USER, "/pd status")))
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });

    for text in &replies {
        assert!(text.contains("PagerDuty confirmed"), "{text}");
    }
    harness.runtime.block_on(harness.pagerduty.verify());
}

#[test]
fn rejected_stale_token_keeps_changed_link() {
    let harness = Harness::new();
    harness.configure();
    link_with_expiry(&harness, 60);
    let slow_rejection = ResponseTemplate::new(400)
        .set_body_json(json!({"error": "invalid_grant"}))
        .set_delay(std::time::Duration::from_millis(500));
    mock_refresh(&harness, slow_rejection, 1);

    // While the refresh is in flight, the link changes (as after another
    // server's refresh): the rejection must not remove the newer link.
    let text = std::thread::scope(|scope| {
        let status = scope.spawn(|| harness.command(USER, "/pd status"));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut link: serde_json::Value =
            serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();
        link["expires_at"] = json!(link["expires_at"].as_i64().unwrap() + 86_400);
        harness
            .host
            .kv
            .lock()
            .unwrap()
            .insert(format!("link_{USER}"), link.to_string());
        status.join().unwrap()
    });

    assert!(text.contains("PagerDuty confirmed"), "{text}");
    assert!(harness.link_json(USER).is_some());
    let messages = harness.host.direct_messages.lock().unwrap().clone();
    assert!(messages
        .iter()
        .all(|message| !message.message.contains("stopped working")));
}
