//! An in-memory [`Host`] for tests of the core without Mattermost.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use crate::host::{Host, HostError, HostRequest};

/// A message the core asked the host to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedMessage {
    pub user_id: String,
    pub channel_id: Option<String>,
    pub message: String,
}

/// Records every host call and keeps a KV store in memory. Expiry is not
/// simulated, but the requested expiry of each key is kept for checks.
#[derive(Default)]
pub struct MemoryHost {
    pub kv: Mutex<HashMap<String, String>>,
    pub kv_expiry: Mutex<HashMap<String, i64>>,
    pub saved_configs: Mutex<Vec<Map<String, Value>>>,
    pub site_url: Mutex<String>,
    pub admins: Mutex<HashSet<String>>,
    pub commands: Mutex<Vec<Value>>,
    pub dialogs: Mutex<Vec<Value>>,
    pub ephemeral_posts: Mutex<Vec<PostedMessage>>,
    pub direct_messages: Mutex<Vec<PostedMessage>>,
    pub logs: Mutex<Vec<String>>,
    /// Websocket events as (event, user id, payload).
    pub events: Mutex<Vec<(String, String, Value)>>,
    /// Mattermost users by id, as (username, delete_at).
    pub users: Mutex<HashMap<String, (String, i64)>>,
    /// Ops that fail with a host error, for error-path tests.
    pub failing_ops: Mutex<HashSet<String>>,
}

impl MemoryHost {
    pub fn new(site_url: &str) -> Self {
        let host = MemoryHost::default();
        *host.site_url.lock().unwrap() = site_url.to_string();
        host
    }

    pub fn add_admin(&self, user_id: &str) {
        self.admins.lock().unwrap().insert(user_id.to_string());
    }

    pub fn add_user(&self, user_id: &str, username: &str) {
        self.users
            .lock()
            .unwrap()
            .insert(user_id.to_string(), (username.to_string(), 0));
    }

    pub fn fail_op(&self, op: &str) {
        self.failing_ops.lock().unwrap().insert(op.to_string());
    }

    pub fn kv_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.kv.lock().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl Host for MemoryHost {
    fn call(&self, request: &HostRequest<'_>) -> Result<Value, HostError> {
        let encoded = serde_json::to_value(request).expect("host requests serialize");
        let op = encoded["op"].as_str().unwrap_or_default().to_string();
        if self.failing_ops.lock().unwrap().contains(&op) {
            return Err(HostError {
                op,
                message: "injected failure".to_string(),
            });
        }
        let mut kv = self.kv.lock().unwrap();
        let reply = match request {
            HostRequest::KvGet { key } => json!({ "value": kv.get(*key) }),
            HostRequest::KvSet {
                key,
                value,
                expire_in_seconds,
            } => {
                kv.insert(key.to_string(), value.to_string());
                if let Some(seconds) = expire_in_seconds {
                    self.kv_expiry
                        .lock()
                        .unwrap()
                        .insert(key.to_string(), *seconds);
                }
                json!({})
            }
            HostRequest::KvCompareAndSet { key, old, new, .. } => {
                let stored = kv.get(*key).map(String::as_str) == *old;
                if stored {
                    kv.insert(key.to_string(), new.to_string());
                }
                json!({ "stored": stored })
            }
            HostRequest::KvCompareAndDelete { key, old } => {
                let deleted = kv.get(*key).map(String::as_str) == Some(*old);
                if deleted {
                    kv.remove(*key);
                }
                json!({ "deleted": deleted })
            }
            HostRequest::KvList { page, per_page } => {
                let mut keys: Vec<&String> = kv.keys().collect();
                keys.sort();
                let keys: Vec<&String> = keys
                    .into_iter()
                    .skip((*page * *per_page) as usize)
                    .take(*per_page as usize)
                    .collect();
                json!({ "keys": keys })
            }
            HostRequest::GetUser { user_id } => {
                let users = self.users.lock().unwrap();
                let user = users.get(*user_id).map(|(username, delete_at)| {
                    json!({"id": user_id, "username": username, "delete_at": delete_at})
                });
                json!({ "user": user })
            }
            HostRequest::GetUserByUsername { username } => {
                let users = self.users.lock().unwrap();
                let user = users
                    .iter()
                    .find(|(_, (name, _))| name == username)
                    .map(|(id, (name, delete_at))| {
                        json!({"id": id, "username": name, "delete_at": delete_at})
                    });
                json!({ "user": user })
            }
            HostRequest::KvDelete { key } => {
                kv.remove(*key);
                json!({})
            }
            HostRequest::SavePluginConfig { config } => {
                self.saved_configs.lock().unwrap().push((*config).clone());
                json!({})
            }
            HostRequest::GetSiteUrl => json!({ "site_url": *self.site_url.lock().unwrap() }),
            HostRequest::HasPermission {
                user_id,
                permission,
            } => {
                let allowed = *permission == "manage_system"
                    && self.admins.lock().unwrap().contains(*user_id);
                json!({ "allowed": allowed })
            }
            HostRequest::EnsureBot { .. } => json!({ "user_id": "botuserid" }),
            HostRequest::RegisterCommand { command } => {
                self.commands.lock().unwrap().push((*command).clone());
                json!({})
            }
            HostRequest::SendEphemeralPost {
                user_id,
                channel_id,
                message,
                ..
            } => {
                self.ephemeral_posts.lock().unwrap().push(PostedMessage {
                    user_id: user_id.to_string(),
                    channel_id: Some(channel_id.to_string()),
                    message: message.to_string(),
                });
                json!({})
            }
            HostRequest::SendDirectMessage {
                user_id, message, ..
            } => {
                self.direct_messages.lock().unwrap().push(PostedMessage {
                    user_id: user_id.to_string(),
                    channel_id: None,
                    message: message.to_string(),
                });
                json!({})
            }
            HostRequest::OpenDialog { request } => {
                self.dialogs.lock().unwrap().push((*request).clone());
                json!({})
            }
            HostRequest::PublishEvent {
                event,
                user_id,
                payload,
            } => {
                self.events.lock().unwrap().push((
                    event.to_string(),
                    user_id.to_string(),
                    (*payload).clone(),
                ));
                json!({})
            }
            HostRequest::Log {
                level,
                message,
                fields,
            } => {
                let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                self.logs
                    .lock()
                    .unwrap()
                    .push(format!("{level:?} {message} {}", fields.join(" ")));
                json!({})
            }
        };
        Ok(reply)
    }
}
