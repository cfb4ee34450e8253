//! Drives the core through its JSON hook interface with an in-memory host
//! and a mocked PagerDuty (wiremock): configure, connect, callback, disconnect.

mod common;

use common::{header_value, query_value, Harness, ADMIN, OTHER, USER};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[test]
fn activation_generates_key_and_registers_command() {
    let harness = Harness::new();
    let saved = harness.host.saved_configs.lock().unwrap().clone();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0]["encryptionkey"].as_str().unwrap().len(), 44);
    let commands = harness.host.commands.lock().unwrap().clone();
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0]["trigger"], "pd");
}

#[test]
fn configure_is_admin_only() {
    let harness = Harness::new();
    let text = harness.command(USER, "/pd configure");
    assert!(text.contains("Only a system admin"), "{text}");
    assert!(harness.host.dialogs.lock().unwrap().is_empty());

    let reply = harness.http(
        "POST",
        "/dialog/configure",
        "",
        USER,
        json!({
            "callback_id": "configure", "channel_id": "channel1",
            "submission": {"client_id": "evil", "client_secret": "evil"},
        }),
    );
    assert_eq!(reply["status"], 403);
    assert_eq!(harness.host.saved_configs.lock().unwrap().len(), 1);
}

#[test]
fn configure_dialog_saves_and_reports_redirect_uri() {
    let harness = Harness::new();
    assert_eq!(harness.command(ADMIN, "/pd configure"), "");
    let dialog = harness.host.dialogs.lock().unwrap()[0].clone();
    assert_eq!(dialog["trigger_id"], "trigger1");
    assert_eq!(
        dialog["url"],
        "/plugins/mattermost-pagerduty/dialog/configure"
    );
    assert_eq!(dialog["dialog"]["elements"][0]["default"], "");

    let reply = harness.http(
        "POST",
        "/dialog/configure",
        "",
        ADMIN,
        json!({
            "callback_id": "configure", "channel_id": "channel1",
            "submission": {"client_id": "bad id", "client_secret": ""},
        }),
    );
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert!(body["errors"]["client_id"].is_string(), "{body}");
    assert!(body["errors"]["client_secret"].is_string(), "{body}");
    assert_eq!(harness.host.saved_configs.lock().unwrap().len(), 1);

    let reply = harness.http(
        "POST",
        "/dialog/configure",
        "",
        ADMIN,
        json!({
            "callback_id": "configure", "channel_id": "channel1",
            "submission": {"client_id": "  client-abc ", "client_secret": " secret-xyz "},
        }),
    );
    assert_eq!(reply["body"], "{}");
    let saved = harness.last_saved_config();
    assert_eq!(saved["clientid"], "client-abc");
    assert_eq!(saved["clientsecret"], "secret-xyz");
    assert!(saved["encryptionkey"].is_string(), "the key must be kept");
    let posts = harness.host.ephemeral_posts.lock().unwrap().clone();
    assert!(posts[0]
        .message
        .contains("http://mattermost.test/plugins/mattermost-pagerduty/oauth/complete"));
    assert!(!posts[0].message.contains("secret-xyz"));

    // A second dialog pre-fills the Client ID and never the secret.
    harness.command(ADMIN, "/pd configure");
    let dialog = harness.host.dialogs.lock().unwrap()[1].clone();
    assert_eq!(dialog["dialog"]["elements"][0]["default"], "client-abc");
    assert_eq!(dialog["dialog"]["elements"][1]["default"], "");
    assert!(!dialog.to_string().contains("secret-xyz"));

    // An empty secret keeps the stored one.
    harness.http(
        "POST",
        "/dialog/configure",
        "",
        ADMIN,
        json!({
            "callback_id": "configure", "channel_id": "channel1",
            "submission": {"client_id": "client-new", "client_secret": ""},
        }),
    );
    let saved = harness.last_saved_config();
    assert_eq!(saved["clientid"], "client-new");
    assert_eq!(saved["clientsecret"], "secret-xyz");
}

#[test]
fn connect_before_configuration_points_to_admin() {
    let harness = Harness::new();
    let text = harness.command(USER, "/pd connect");
    assert!(
        text.contains("Ask a system admin to run `/pd configure`"),
        "{text}"
    );
    let text = harness.command(ADMIN, "/pd connect");
    assert!(text.contains("Run `/pd configure`"), "{text}");
}

#[test]
fn connect_requires_site_url() {
    let harness = Harness::new();
    harness.configure();
    *harness.host.site_url.lock().unwrap() = String::new();
    let text = harness.command(USER, "/pd connect");
    assert!(text.contains("Site URL is not set"), "{text}");
    let text = harness.command(ADMIN, "/pd configure");
    assert!(text.contains("Site URL is not set"), "{text}");
}

#[test]
fn full_flow_links_and_unlinks() {
    let harness = Harness::new();
    harness.configure();
    harness.mock_pagerduty("openid write");

    let text = harness.command(USER, "/pd connect");
    assert!(
        text.contains("http://mattermost.test/plugins/mattermost-pagerduty/oauth/connect"),
        "{text}"
    );

    let (state, authorize) = harness.start_flow(USER);
    assert_eq!(authorize.path(), "/oauth/authorize");
    assert_eq!(query_value(&authorize, "client_id").unwrap(), "client-abc");
    assert_eq!(query_value(&authorize, "response_type").unwrap(), "code");
    assert_eq!(query_value(&authorize, "scope").unwrap(), "write");
    assert_eq!(
        query_value(&authorize, "code_challenge_method").unwrap(),
        "S256"
    );
    assert_eq!(query_value(&authorize, "code_challenge").unwrap().len(), 43);
    assert_eq!(
        query_value(&authorize, "redirect_uri").unwrap(),
        "http://mattermost.test/plugins/mattermost-pagerduty/oauth/complete"
    );
    assert_eq!(state.len(), 43);
    let expiry = harness
        .host
        .kv_expiry
        .lock()
        .unwrap()
        .values()
        .copied()
        .collect::<Vec<_>>();
    assert_eq!(expiry, vec![600]);

    let query = format!("code=good-code&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 200, "{reply}");
    let page = reply["body"].as_str().unwrap();
    assert!(page.contains("Ada [Lovelace](https://evil.example)"));
    assert!(page.contains("ada@example.com"));

    let stored = harness.link_json(USER).expect("link stored");
    assert!(
        !stored.contains("access-token-123"),
        "tokens must be encrypted"
    );
    assert!(
        !stored.contains("refresh-token-456"),
        "tokens must be encrypted"
    );
    let link: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(link["version"], 1);
    assert_eq!(link["pagerduty_user_id"], "PABC123");
    assert_eq!(link["scope"], "openid write");
    assert_eq!(harness.state_count(), 0, "the state must be consumed");

    let messages = harness.host.direct_messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].user_id, USER);
    assert!(
        messages[0].message.contains(r"Ada \[Lovelace\]"),
        "{}",
        messages[0].message
    );

    // Replaying the callback fails and leaves the link as it was.
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 400);
    assert_eq!(harness.link_json(USER).unwrap(), stored);

    let text = harness.command(USER, "/pd connect");
    assert!(text.contains("already linked"), "{text}");
    let text = harness.command(USER, "/pd disconnect");
    assert!(
        text.contains("Disconnected from the PagerDuty user"),
        "{text}"
    );
    assert!(harness.link_json(USER).is_none());
    let text = harness.command(USER, "/pd disconnect");
    assert!(text.contains("not linked"), "{text}");
}

#[test]
fn callback_with_other_users_state_keeps_it() {
    let harness = Harness::new();
    harness.configure();
    harness.mock_pagerduty("openid write");
    let (state, _) = harness.start_flow(USER);

    let query = format!("code=good-code&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, OTHER, json!(null));
    assert_eq!(reply["status"], 403);
    assert!(harness.link_json(OTHER).is_none());
    assert_eq!(
        harness.state_count(),
        1,
        "another user's callback must not spend the state"
    );

    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 200, "{reply}");
    assert!(harness.link_json(USER).is_some());
}

#[test]
fn callback_without_session_is_rejected() {
    let harness = Harness::new();
    harness.configure();
    let (state, _) = harness.start_flow(USER);
    let reply = harness.http(
        "GET",
        "/oauth/complete",
        &format!("code=x&state={state}"),
        "",
        json!(null),
    );
    assert_eq!(reply["status"], 401);
    assert_eq!(harness.state_count(), 1);
}

#[test]
fn denied_consent_stores_nothing_and_escapes_description() {
    let harness = Harness::new();
    harness.configure();
    let (state, _) = harness.start_flow(USER);
    let query = format!(
        "error=server_error&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}"
    );
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 400);
    let page = reply["body"].as_str().unwrap();
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(harness.link_json(USER).is_none());

    let (state, _) = harness.start_flow(USER);
    let query = format!("error=access_denied&error_description=denied&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 400);
    assert!(reply["body"].as_str().unwrap().contains("declined"));
    assert!(harness.link_json(USER).is_none());
}

#[test]
fn malformed_state_is_rejected_before_kv() {
    let harness = Harness::new();
    harness.configure();
    harness.host.fail_op("kv_get");
    for query in ["code=x", "code=x&state=short", "code=x&state=a&state=b"] {
        let reply = harness.http("GET", "/oauth/complete", query, USER, json!(null));
        assert_eq!(reply["status"], 400, "{query}: {reply}");
    }
}

#[test]
fn downgraded_scope_stores_nothing() {
    let harness = Harness::new();
    harness.configure();
    harness.mock_pagerduty("openid");
    let (state, _) = harness.start_flow(USER);
    let reply = harness.http(
        "GET",
        "/oauth/complete",
        &format!("code=good-code&state={state}"),
        USER,
        json!(null),
    );
    assert_eq!(reply["status"], 502);
    assert!(reply["body"].as_str().unwrap().contains("granted only"));
    assert!(harness.link_json(USER).is_none());
}

#[test]
fn rejected_code_stores_nothing() {
    let harness = Harness::new();
    harness.configure();
    harness.runtime.block_on(
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": "expired",
            })))
            .mount(&harness.pagerduty),
    );
    let (state, _) = harness.start_flow(USER);
    let reply = harness.http(
        "GET",
        "/oauth/complete",
        &format!("code=old&state={state}"),
        USER,
        json!(null),
    );
    assert_eq!(reply["status"], 502);
    assert!(reply["body"].as_str().unwrap().contains("30 seconds"));
    assert!(harness.link_json(USER).is_none());
    let logs = harness.host.logs.lock().unwrap().join("\n");
    assert!(logs.contains("invalid_grant"), "{logs}");
}

#[test]
fn replies_and_logs_never_contain_secrets() {
    let harness = Harness::new();
    harness.configure();
    harness.mock_pagerduty("openid write");
    let (state, _) = harness.start_flow(USER);
    harness.http(
        "GET",
        "/oauth/complete",
        &format!("code=good-code&state={state}"),
        USER,
        json!(null),
    );
    let mut everything = harness.host.logs.lock().unwrap().join("\n");
    for post in harness.host.direct_messages.lock().unwrap().iter() {
        everything.push_str(&post.message);
    }
    everything.push_str(&harness.command(USER, "/pd connect"));
    everything.push_str(&harness.command(USER, "/pd disconnect"));
    for secret in [
        "access-token-123",
        "refresh-token-456",
        "secret-xyz",
        "good-code",
        state.as_str(),
    ] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

#[test]
fn help_and_unknown_list_visible_commands() {
    let harness = Harness::new();
    let text = harness.command(USER, "/pd");
    assert!(text.contains("/pd help"));
    assert!(!text.contains("/pd connect"));
    harness.configure();
    let text = harness.command(USER, "/pd bogus");
    assert!(text.starts_with("Unknown command `/pd bogus`"), "{text}");
    assert!(text.contains("* `/pd connect`"));
    assert!(!text.contains("* `/pd configure`"));
    let commands = harness.host.commands.lock().unwrap().clone();
    let last = commands.last().unwrap().to_string();
    assert!(
        last.contains("\"connect\""),
        "configuration change must re-register: {last}"
    );
}

#[test]
fn key_change_reencrypts_links() {
    let harness = Harness::new();
    harness.configure();
    harness.link_user();
    let before: Value = serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();

    harness.reconfigure(&[("encryptionkey", json!("a-different-key"))]);

    let after: Value = serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();
    assert_ne!(after["key_fingerprint"], before["key_fingerprint"]);
    assert_ne!(after["access_token"], before["access_token"]);
    let text = harness.command(USER, "/pd status");
    assert!(text.contains("PagerDuty confirmed"), "{text}");
}

#[test]
fn link_sealed_with_unknown_key_is_replaced() {
    let harness = Harness::new();
    harness.configure();
    harness.link_user();
    // A record sealed with a key this process never knew, such as one
    // rotated while the plugin was disabled.
    let mut link: Value = serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();
    link["key_fingerprint"] = json!("0000000000000000");
    harness
        .host
        .kv
        .lock()
        .unwrap()
        .insert(format!("link_{USER}"), link.to_string());

    let text = harness.command(USER, "/pd connect");

    assert!(text.contains("encryption key changed"), "{text}");
    assert!(text.contains("/oauth/connect"), "{text}");
    assert!(harness.link_json(USER).is_none());
}

#[test]
fn stale_link_after_client_change_is_replaced() {
    let harness = Harness::new();
    harness.configure();
    harness.link_user();

    harness.reconfigure(&[("clientid", json!("another-app"))]);

    let text = harness.command(USER, "/pd connect");
    assert!(text.contains("different PagerDuty OAuth app"), "{text}");
    assert!(harness.link_json(USER).is_none());
}

#[test]
fn empty_key_is_generated_on_configuration_change() {
    let harness = Harness::new();
    harness.configure();
    let before = harness.host.saved_configs.lock().unwrap().len();

    harness.reconfigure(&[("encryptionkey", json!(""))]);

    let saved = harness.host.saved_configs.lock().unwrap().clone();
    assert_eq!(saved.len(), before + 1);
    assert_eq!(
        saved.last().unwrap()["encryptionkey"]
            .as_str()
            .unwrap()
            .len(),
        44
    );
    let text = harness.command(USER, "/pd connect");
    assert!(text.contains("/oauth/connect"), "{text}");
}

#[test]
fn web_app_routes_report_and_remove_link() {
    let harness = Harness::new();
    harness.configure();

    let reply = harness.http("GET", "/api/v1/status", "", "", json!(null));
    assert_eq!(reply["status"], 401);

    let reply = harness.http("GET", "/api/v1/status", "", USER, json!(null));
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["linked"], false);
    assert_eq!(body["configured"], true);

    harness.link_user();
    let events = harness.host.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "link_changed");
    assert_eq!(events[0].1, USER);
    assert_eq!(events[0].2["linked"], true);
    assert!(!events[0].2.to_string().contains("access-token-123"));

    let reply = harness.http("GET", "/api/v1/status", "", USER, json!(null));
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["linked"], true);
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["account"], "acme");
    assert!(!reply["body"].as_str().unwrap().contains("access_token"));

    let reply = harness.http("POST", "/api/v1/disconnect", "", USER, json!(null));
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["removed"], true);
    assert!(harness.link_json(USER).is_none());
    let events = harness.host.events.lock().unwrap().clone();
    assert_eq!(events.last().unwrap().2["linked"], false);
}

#[test]
fn admin_status_is_admin_only() {
    let harness = Harness::new();
    let reply = harness.http("GET", "/api/v1/admin/status", "", USER, json!(null));
    assert_eq!(reply["status"], 403);

    harness.configure();
    let reply = harness.http("GET", "/api/v1/admin/status", "", ADMIN, json!(null));
    assert_eq!(reply["status"], 200);
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["configured"], true);
    assert_eq!(
        body["redirect_uri"],
        "http://mattermost.test/plugins/mattermost-pagerduty/oauth/complete"
    );
    assert!(!reply["body"].as_str().unwrap().contains("secret-xyz"));
}

#[test]
fn success_page_closes_popup() {
    let harness = Harness::new();
    harness.configure();
    harness.mock_pagerduty("openid write");
    let (state, _) = harness.start_flow(USER);
    let query = format!("code=good-code&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert!(reply["body"].as_str().unwrap().contains("window.close()"));
    let policy = header_value(&reply, "Content-Security-Policy").unwrap();
    assert!(policy.contains("script-src 'nonce-"), "{policy}");
}

#[test]
fn status_describes_link() {
    let harness = Harness::new();
    harness.configure();
    let text = harness.command(USER, "/pd status");
    assert!(text.contains("not linked"), "{text}");

    harness.link_user();
    let text = harness.command(USER, "/pd status");
    assert!(text.contains(r"Ada \[Lovelace\]"), "{text}");
    assert!(text.contains("**acme**"), "{text}");
    assert!(text.contains("Service region: US"), "{text}");
    assert!(text.contains("`openid write`"), "{text}");
    assert!(text.contains("Access token expires: 20"), "{text}");
    assert!(!text.contains("access-token-123"));

    harness.reconfigure(&[("clientid", json!("another-app"))]);
    let text = harness.command(USER, "/pd status");
    assert!(text.contains("can no longer be used"), "{text}");
}

#[test]
fn disconnect_revokes_tokens_at_pagerduty() {
    let harness = Harness::new();
    harness.configure();
    harness.link_user();
    harness.runtime.block_on(
        Mock::given(method("POST"))
            .and(path("/oauth/revoke"))
            .and(wiremock::matchers::body_string_contains(
                "client_id=client-abc",
            ))
            .respond_with(ResponseTemplate::new(200))
            .expect(2)
            .mount(&harness.pagerduty),
    );

    let text = harness.command(USER, "/pd disconnect");

    assert!(text.contains("Disconnected"), "{text}");
    assert!(!text.contains("did not confirm"), "{text}");
    harness.runtime.block_on(harness.pagerduty.verify());
    let requests = harness
        .runtime
        .block_on(harness.pagerduty.received_requests())
        .unwrap();
    let bodies: Vec<String> = requests
        .iter()
        .filter(|request| request.url.path() == "/oauth/revoke")
        .map(|request| String::from_utf8_lossy(&request.body).into_owned())
        .collect();
    assert!(bodies
        .iter()
        .any(|body| body.contains("token=refresh-token-456")));
    assert!(bodies
        .iter()
        .any(|body| body.contains("token=access-token-123")));
}

#[test]
fn failed_revocation_still_disconnects() {
    let harness = Harness::new();
    harness.configure();
    harness.link_user();

    let text = harness.command(USER, "/pd disconnect");

    assert!(text.contains("Disconnected"), "{text}");
    assert!(text.contains("Integrations > App Registration"), "{text}");
    assert!(harness.link_json(USER).is_none());
    let logs = harness.host.logs.lock().unwrap().join("\n");
    assert!(logs.contains("Revoking a PagerDuty token failed"), "{logs}");
    assert!(!logs.contains("refresh-token-456"));
}

#[test]
fn id_token_sets_eu_region() {
    use base64::Engine;
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let claims = json!({
        "user_id": "PABC123", "account_id": "PACME01", "subdomain": "acme", "region": "eu",
        "aud": ["https://api.eu.pagerduty.com", "client-abc"],
    });
    let id_token = format!("{}.{}.", encode(&json!({"alg": "none"})), encode(&claims));
    let harness = Harness::new();
    harness.configure();
    harness.runtime.block_on(async {
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "access-token-123", "token_type": "bearer",
                "refresh_token": "refresh-token-456", "expires_in": 864000,
                "scope": "openid write", "id_token": id_token,
            })))
            .mount(&harness.pagerduty)
            .await;
        Mock::given(method("GET"))
            .and(path("/users/me"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": {
                "id": "PABC123", "name": "Ada", "email": "ada@example.com",
                "html_url": "https://acme.eu.pagerduty.com/users/PABC123",
            }})))
            .mount(&harness.pagerduty)
            .await;
    });
    let (state, _) = harness.start_flow(USER);
    let query = format!("code=any&state={state}");
    let reply = harness.http("GET", "/oauth/complete", &query, USER, json!(null));
    assert_eq!(reply["status"], 200, "{reply}");

    let link: Value = serde_json::from_str(&harness.link_json(USER).unwrap()).unwrap();
    assert_eq!(link["api_url"], "https://api.eu.pagerduty.com");
    assert_eq!(link["account_id"], "PACME01");
    assert_eq!(link["subdomain"], "acme");
    let text = harness.command(USER, "/pd status");
    assert!(text.contains("Service region: EU"), "{text}");
}
