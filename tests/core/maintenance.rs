//! The periodic link maintenance: sweeping links of deleted users, removing
//! unusable links, keeping refresh tokens alive, and re-authorization notices.

mod common;

use common::{Harness, USER};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

const DAY: i64 = 86_400;

fn linked_harness() -> Harness {
    let harness = Harness::new();
    harness.host.add_user(USER, "ada");
    harness.configure();
    harness.link_user();
    harness
}

fn maintain(harness: &Harness) -> Value {
    harness.hook(json!({"hook": "run_maintenance"}))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Rewrites the stored link's `linked_at` to `seconds_ago` in the past.
fn age_link(harness: &Harness, seconds_ago: i64) {
    let mut link: Value = serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();
    link["linked_at"] = json!(now() - seconds_ago);
    harness
        .host
        .kv
        .lock()
        .unwrap()
        .insert(format!("link_{USER}"), link.to_string());
}

fn mock_refresh(harness: &Harness, times: u64) {
    harness.runtime.block_on(
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "access-token-123", "token_type": "bearer",
                "refresh_token": "refresh-token-789", "expires_in": 864000, "scope": "openid write",
            })))
            .expect(times)
            .mount(&harness.pagerduty),
    );
}

fn messages_containing(harness: &Harness, text: &str) -> usize {
    harness
        .host
        .direct_messages
        .lock()
        .unwrap()
        .iter()
        .filter(|message| message.user_id == USER && message.message.contains(text))
        .count()
}

#[test]
fn deleted_user_link_is_swept() {
    let harness = linked_harness();
    harness.host.users.lock().unwrap().remove(USER);

    let summary = maintain(&harness);

    assert_eq!(summary["removed_inactive_users"], 1, "{summary}");
    assert!(harness.link_json(USER).is_none());
}

#[test]
fn deactivated_user_link_is_swept() {
    let harness = linked_harness();
    harness
        .host
        .users
        .lock()
        .unwrap()
        .insert(USER.to_string(), ("ada".to_string(), 1_700_000_000_000));

    maintain(&harness);

    assert!(harness.link_json(USER).is_none());
}

#[test]
fn unusable_link_is_removed_and_user_told_once() {
    let harness = linked_harness();
    harness.reconfigure(&[("clientid", json!("another-app"))]);

    let summary = maintain(&harness);
    maintain(&harness);

    assert_eq!(summary["removed_unusable"], 1, "{summary}");
    assert!(harness.link_json(USER).is_none());
    assert_eq!(messages_containing(&harness, "can no longer be used"), 1);
}

#[test]
fn idle_link_is_refreshed() {
    let harness = linked_harness();
    age_link(&harness, 8 * DAY);
    mock_refresh(&harness, 1);

    let summary = maintain(&harness);

    assert_eq!(summary["refreshed"], 1, "{summary}");
    let link: Value = serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();
    assert!(link["refreshed_at"].is_i64());
    // The next run finds a recent refresh and leaves the link alone.
    maintain(&harness);
    harness.runtime.block_on(harness.pagerduty.verify());
}

#[test]
fn recent_link_is_left_alone() {
    let harness = linked_harness();
    mock_refresh(&harness, 0);

    let summary = maintain(&harness);

    assert_eq!(summary["checked"], 1, "{summary}");
    assert_eq!(summary["refreshed"], 0, "{summary}");
    assert_eq!(messages_containing(&harness, "new authorization"), 0);
    harness.runtime.block_on(harness.pagerduty.verify());
}

#[test]
fn closing_reauthorization_window_is_announced_once() {
    let harness = linked_harness();
    // A classic app's link made 3 years minus 10 days ago.
    age_link(&harness, 3 * 365 * DAY - 10 * DAY);
    mock_refresh(&harness, 1);

    maintain(&harness);
    maintain(&harness);

    assert_eq!(messages_containing(&harness, "new authorization"), 1);
    assert!(harness.link_json(USER).is_some());
}
