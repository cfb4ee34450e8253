//! Test harness shared by the core's integration tests: an in-memory host
//! and a mocked PagerDuty (wiremock), driven through the JSON hook interface.
#![allow(dead_code)]

use pagerduty_core::testing::MemoryHost;
use pagerduty_core::Core;
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const SITE_URL: &str = "http://mattermost.test";
pub const ADMIN: &str = "adminuserid0000000000000000";
pub const USER: &str = "plainuserid0000000000000000";
pub const OTHER: &str = "otheruserid0000000000000000";

pub struct Harness {
    pub core: Core,
    pub host: MemoryHost,
    pub pagerduty: MockServer,
    pub runtime: tokio::runtime::Runtime,
}

impl Harness {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let pagerduty = runtime.block_on(MockServer::start());
        let host = MemoryHost::new(SITE_URL);
        host.add_admin(ADMIN);
        let harness = Harness {
            core: Core::new().unwrap(),
            host,
            pagerduty,
            runtime,
        };
        harness.hook(json!({"hook": "activate", "config": {}}));
        harness
    }

    pub fn hook(&self, request: Value) -> Value {
        let reply = self
            .core
            .handle(&self.host, request.to_string().as_bytes())
            .expect("hook failed");
        serde_json::from_slice(&reply).unwrap()
    }

    pub fn command(&self, user_id: &str, command: &str) -> String {
        let reply = self.hook(json!({
            "hook": "execute_command",
            "args": {"user_id": user_id, "channel_id": "channel1", "team_id": "team1",
                     "trigger_id": "trigger1", "command": command},
        }));
        assert_eq!(reply["response"]["response_type"], "ephemeral");
        reply["response"]["text"].as_str().unwrap().to_string()
    }

    pub fn http(&self, method: &str, path: &str, query: &str, user_id: &str, body: Value) -> Value {
        self.hook(json!({
            "hook": "serve_http",
            "request": {"method": method, "path": path, "query": query, "user_id": user_id,
                        "content_type": "application/json", "body": body.to_string()},
        }))
    }

    /// Returns the settings the core saved last.
    pub fn last_saved_config(&self) -> serde_json::Map<String, Value> {
        self.host
            .saved_configs
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap()
    }

    /// Configures the plugin with the mocked PagerDuty as identity service and API.
    pub fn configure(&self) {
        self.reconfigure(&[]);
    }

    /// Sends a configuration change: the configured settings with `changes` applied.
    pub fn reconfigure(&self, changes: &[(&str, Value)]) {
        let mut settings = self.last_saved_config();
        settings.insert("clientid".into(), json!("client-abc"));
        settings.insert("clientsecret".into(), json!("secret-xyz"));
        settings.insert("identityurl".into(), json!(self.pagerduty.uri()));
        settings.insert("apiurl".into(), json!(self.pagerduty.uri()));
        for (key, value) in changes {
            settings.insert(key.to_string(), value.clone());
        }
        self.hook(json!({"hook": "configuration_change", "config": settings}));
    }

    /// Links `USER` through a complete flow against the mocked PagerDuty.
    pub fn link_user(&self) {
        self.mock_pagerduty("openid write");
        let (state, _) = self.start_flow(USER);
        let query = format!("code=good-code&state={state}");
        let reply = self.http("GET", "/oauth/complete", &query, USER, json!(null));
        assert_eq!(reply["status"], 200, "{reply}");
    }

    /// Starts a flow for `user_id` and returns the state from the redirect.
    pub fn start_flow(&self, user_id: &str) -> (String, url::Url) {
        let reply = self.http("GET", "/oauth/connect", "", user_id, json!(null));
        assert_eq!(reply["status"], 302, "{reply}");
        let location = header_value(&reply, "Location").unwrap();
        let url = url::Url::parse(&location).unwrap();
        let state = query_value(&url, "state").unwrap();
        (state, url)
    }

    pub fn mock_pagerduty(&self, scope: &str) {
        self.runtime.block_on(async {
            Mock::given(method("POST"))
                .and(path("/oauth/token"))
                .and(body_string_contains("grant_type=authorization_code"))
                .and(body_string_contains("code=good-code"))
                .and(body_string_contains("client_secret=secret-xyz"))
                .and(body_string_contains("code_verifier="))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "access-token-123", "token_type": "bearer",
                    "refresh_token": "refresh-token-456", "expires_in": 864000, "scope": scope,
                })))
                .mount(&self.pagerduty)
                .await;
            Mock::given(method("GET"))
                .and(path("/users/me"))
                .and(header("authorization", "Bearer access-token-123"))
                .and(header("accept", "application/vnd.pagerduty+json;version=2"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": {
                    "id": "PABC123", "name": "Ada [Lovelace](https://evil.example)", "email": "ada@example.com",
                    "html_url": "https://acme.pagerduty.com/users/PABC123",
                }})))
                .mount(&self.pagerduty)
                .await;
        });
    }

    pub fn link_json(&self, user_id: &str) -> Option<String> {
        self.host
            .kv
            .lock()
            .unwrap()
            .get(&format!("link_{user_id}"))
            .cloned()
    }

    pub fn state_count(&self) -> usize {
        self.host
            .kv_keys()
            .iter()
            .filter(|key| key.starts_with("oauth_state_"))
            .count()
    }
}

pub fn header_value(reply: &Value, name: &str) -> Option<String> {
    reply["headers"].as_array()?.iter().find_map(|pair| {
        (pair[0].as_str()?.eq_ignore_ascii_case(name))
            .then(|| pair[1].as_str().unwrap().to_string())
    })
}

pub fn query_value(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
