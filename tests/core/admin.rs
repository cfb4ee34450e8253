//! Admin commands and user lifecycle: `/pd links`, `/pd disconnect @user`
//! and the deactivation hook.

mod common;

use common::{Harness, ADMIN, OTHER, USER};
use serde_json::json;

fn harness_with_linked_user() -> Harness {
    let harness = Harness::new();
    harness.host.add_user(USER, "ada");
    harness.host.add_user(OTHER, "bob");
    harness.host.add_user(ADMIN, "root");
    harness.configure();
    harness.link_user();
    harness
}

#[test]
fn links_lists_linked_users_for_admins() {
    let harness = harness_with_linked_user();

    let text = harness.command(ADMIN, "/pd links");

    assert!(
        text.starts_with("Mattermost users linked to PagerDuty: 1"),
        "{text}"
    );
    assert!(text.contains(r"\@ada"), "{text}");
    assert!(text.contains("acme"), "{text}");
    assert!(!text.contains("access-token-123"));
    let text = harness.command(USER, "/pd links");
    assert!(text.contains("Only a system admin"), "{text}");
}

#[test]
fn admin_disconnects_another_user() {
    let harness = harness_with_linked_user();

    let text = harness.command(ADMIN, "/pd disconnect @ada");

    assert!(text.starts_with(r"Disconnected \@ada"), "{text}");
    assert!(harness.link_json(USER).is_none());
    let messages = harness.host.direct_messages.lock().unwrap().clone();
    let told = messages.iter().any(|message| {
        message.user_id == USER && message.message.contains("A system admin disconnected")
    });
    assert!(told, "{messages:?}");
    let events = harness.host.events.lock().unwrap().clone();
    assert_eq!(events.last().unwrap().2["linked"], false);
}

#[test]
fn user_cannot_disconnect_another_user() {
    let harness = harness_with_linked_user();

    let text = harness.command(OTHER, "/pd disconnect @ada");

    assert!(text.contains("Only a system admin"), "{text}");
    assert!(harness.link_json(USER).is_some());
}

#[test]
fn admin_disconnect_reports_unknown_and_unlinked_users() {
    let harness = harness_with_linked_user();
    let text = harness.command(ADMIN, "/pd disconnect @nobody");
    assert!(text.contains("No Mattermost user is called"), "{text}");
    let text = harness.command(ADMIN, "/pd disconnect @bob");
    assert!(text.contains("not linked"), "{text}");
    let text = harness.command(ADMIN, "/pd disconnect @ada @bob");
    assert!(text.contains("at most one argument"), "{text}");
}

#[test]
fn deactivated_user_loses_link() {
    let harness = harness_with_linked_user();

    harness.hook(json!({"hook": "user_deactivated", "user_id": USER}));

    assert!(harness.link_json(USER).is_none());
    assert!(harness
        .host
        .kv_keys()
        .iter()
        .all(|key| !key.starts_with("pd_user_")));
}

#[test]
fn pagerduty_user_links_to_one_account() {
    let harness = harness_with_linked_user();
    // OTHER completes a flow that PagerDuty answers with the same user PABC123.
    let (state, _) = harness.start_flow(OTHER);
    let query = format!("code=good-code&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, OTHER, json!(null));

    assert_eq!(reply["status"], 409, "{reply}");
    assert!(harness.link_json(OTHER).is_none());

    // Once USER disconnects, OTHER can link the same PagerDuty user.
    harness.command(USER, "/pd disconnect");
    let (state, _) = harness.start_flow(OTHER);
    let query = format!("code=good-code&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, OTHER, json!(null));
    assert_eq!(reply["status"], 200, "{reply}");
}

#[test]
fn allowed_subdomain_rejects_other_accounts() {
    let harness = Harness::new();
    harness.reconfigure(&[("allowedsubdomain", json!("globex"))]);
    harness.mock_pagerduty("openid write");
    let (state, _) = harness.start_flow(USER);
    let query = format!("code=good-code&state={state}");

    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));

    assert_eq!(reply["status"], 403, "{reply}");
    assert!(reply["body"].as_str().unwrap().contains("globex"));
    assert!(harness.link_json(USER).is_none());
}

#[test]
fn shim_supplied_permission_is_used_for_caller() {
    let harness = Harness::new();
    // USER is no admin in the host; the shim says the caller is one.
    let reply = harness.hook(json!({
        "hook": "execute_command",
        "caller_is_system_admin": true,
        "args": {"user_id": USER, "channel_id": "c", "trigger_id": "t", "command": "/pd configure"},
    }));
    assert_eq!(reply["response"]["text"], "", "{reply}");
    assert_eq!(harness.host.dialogs.lock().unwrap().len(), 1);

    // The shim says the caller is no admin although the host would allow it.
    let reply = harness.hook(json!({
        "hook": "execute_command",
        "caller_is_system_admin": false,
        "args": {"user_id": ADMIN, "channel_id": "c", "trigger_id": "t", "command": "/pd configure"},
    }));
    let text = reply["response"]["text"].as_str().unwrap();
    assert!(text.contains("Only a system admin"), "{text}");
}

#[test]
fn links_names_command_for_unreadable_record() {
    let harness = harness_with_linked_user();
    harness
        .host
        .kv
        .lock()
        .unwrap()
        .insert(format!("link_{OTHER}"), r#"{"version": 99}"#.to_string());

    let text = harness.command(ADMIN, "/pd links");

    assert!(text.contains("`/pd disconnect @bob`"), "{text}");
}
