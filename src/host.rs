//! The Mattermost API calls that the core requests from the Go plugin.
//!
//! Rules for every host call:
//! - It is made from the thread that entered the core (the one inside
//!   [`crate::Core::handle`]), never from a task spawned on the tokio
//!   runtime, because the Go side expects its callbacks on a thread that it
//!   handed to C.
//! - The Go side must not call back into the core while it serves a host
//!   call. Mattermost may still run another hook of this plugin at the same
//!   time on another thread (for example `OnConfigurationChange` while
//!   `SavePluginConfig` runs), so the core never holds a lock across a host
//!   call.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A Mattermost API call, serialized as JSON with an `op` field for the Go side.
#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HostRequest<'a> {
    /// Reads a KV store value; returns `{"value": string | null}`.
    KvGet { key: &'a str },
    /// Writes a KV store value, expiring after `expire_in_seconds` when set.
    KvSet {
        key: &'a str,
        value: &'a str,
        expire_in_seconds: Option<i64>,
    },
    /// Writes `new` only while the stored value equals `old` (`None`: absent);
    /// returns `{"stored": bool}`.
    KvCompareAndSet {
        key: &'a str,
        old: Option<&'a str>,
        new: &'a str,
        expire_in_seconds: Option<i64>,
    },
    /// Deletes the key only while its value equals `old`; returns `{"deleted": bool}`.
    KvCompareAndDelete { key: &'a str, old: &'a str },
    /// Lists KV keys, `per_page` at a time; returns `{"keys": [string]}`.
    KvList { page: u32, per_page: u32 },
    /// Returns `{"user": {"id", "username", "delete_at"} | null}` (null: not found).
    GetUser { user_id: &'a str },
    /// Returns the same shape as `GetUser`, looked up by username.
    GetUserByUsername { username: &'a str },
    /// Deletes the key whatever its value.
    KvDelete { key: &'a str },
    /// Replaces the plugin's settings in the server configuration.
    SavePluginConfig { config: &'a Map<String, Value> },
    /// Returns `{"site_url": string}` from the server configuration.
    GetSiteUrl,
    /// Returns `{"allowed": bool}`.
    HasPermission {
        user_id: &'a str,
        permission: &'a str,
    },
    /// Creates or updates the plugin's bot; returns `{"user_id": string}`.
    EnsureBot {
        username: &'a str,
        display_name: &'a str,
        description: &'a str,
    },
    /// Registers the slash command; `command` has the shape of `model.Command`.
    RegisterCommand { command: &'a Value },
    /// Shows a message only to `user_id` in `channel_id`, posted as the bot.
    SendEphemeralPost {
        bot_user_id: &'a str,
        user_id: &'a str,
        channel_id: &'a str,
        message: &'a str,
    },
    /// Posts a message from the bot in its direct channel with `user_id`.
    SendDirectMessage {
        bot_user_id: &'a str,
        user_id: &'a str,
        message: &'a str,
    },
    /// Opens an interactive dialog; `request` has the shape of `model.OpenDialogRequest`.
    OpenDialog { request: &'a Value },
    /// Sends a websocket event to every session of `user_id`; Mattermost
    /// names it `custom_{plugin id}_{event}`.
    PublishEvent {
        event: &'a str,
        user_id: &'a str,
        payload: &'a Value,
    },
    /// Writes a line to the server log through the plugin logger.
    Log {
        level: LogLevel,
        message: &'a str,
        fields: &'a [(&'a str, &'a str)],
    },
}

/// Plugin logger levels, as `LogDebug`, `LogInfo`, `LogWarn` and `LogError` of the plugin API.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// A host call that failed on the Go side, with the Mattermost error text.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("Mattermost API call {op} failed: {message}")]
pub struct HostError {
    pub op: String,
    pub message: String,
}

/// The Go plugin, or a test double, performing host calls.
pub trait Host {
    /// Performs one call and returns its JSON result.
    fn call(&self, request: &HostRequest<'_>) -> Result<Value, HostError>;
}

/// Typed wrappers over [`Host::call`].
pub struct HostApi<'a> {
    host: &'a dyn Host,
}

#[derive(Deserialize)]
struct ValueReply {
    value: Option<String>,
}

#[derive(Deserialize)]
struct StoredReply {
    stored: bool,
}

#[derive(Deserialize)]
struct DeletedReply {
    deleted: bool,
}

#[derive(Deserialize)]
struct SiteUrlReply {
    site_url: String,
}

#[derive(Deserialize)]
struct KeysReply {
    keys: Vec<String>,
}

/// The fields of a Mattermost user the core reads.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    /// Milliseconds since the epoch when the user was deactivated, or 0.
    #[serde(default)]
    pub delete_at: i64,
}

#[derive(Deserialize)]
struct UserReply {
    user: Option<UserSummary>,
}

#[derive(Deserialize)]
struct AllowedReply {
    allowed: bool,
}

#[derive(Deserialize)]
struct UserIdReply {
    user_id: String,
}

impl<'a> HostApi<'a> {
    pub fn new(host: &'a dyn Host) -> Self {
        HostApi { host }
    }

    fn call_as<T: for<'de> Deserialize<'de>>(
        &self,
        request: &HostRequest<'_>,
        op: &str,
    ) -> Result<T, HostError> {
        let reply = self.host.call(request)?;
        serde_json::from_value(reply).map_err(|error| HostError {
            op: op.to_string(),
            message: format!("unexpected reply: {error}"),
        })
    }

    pub fn kv_get(&self, key: &str) -> Result<Option<String>, HostError> {
        let reply: ValueReply = self.call_as(&HostRequest::KvGet { key }, "kv_get")?;
        Ok(reply.value)
    }

    pub fn kv_set(
        &self,
        key: &str,
        value: &str,
        expire_in_seconds: Option<i64>,
    ) -> Result<(), HostError> {
        self.host.call(&HostRequest::KvSet {
            key,
            value,
            expire_in_seconds,
        })?;
        Ok(())
    }

    pub fn kv_compare_and_set(
        &self,
        key: &str,
        old: Option<&str>,
        new: &str,
        expire_in_seconds: Option<i64>,
    ) -> Result<bool, HostError> {
        let request = HostRequest::KvCompareAndSet {
            key,
            old,
            new,
            expire_in_seconds,
        };
        let reply: StoredReply = self.call_as(&request, "kv_compare_and_set")?;
        Ok(reply.stored)
    }

    pub fn kv_compare_and_delete(&self, key: &str, old: &str) -> Result<bool, HostError> {
        let request = HostRequest::KvCompareAndDelete { key, old };
        let reply: DeletedReply = self.call_as(&request, "kv_compare_and_delete")?;
        Ok(reply.deleted)
    }

    /// Returns every KV key of the plugin that starts with `prefix`.
    pub fn kv_keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        const PER_PAGE: u32 = 200;
        let mut keys = Vec::new();
        for page in 0.. {
            let reply: KeysReply = self.call_as(
                &HostRequest::KvList {
                    page,
                    per_page: PER_PAGE,
                },
                "kv_list",
            )?;
            let count = reply.keys.len();
            keys.extend(reply.keys.into_iter().filter(|key| key.starts_with(prefix)));
            if count < PER_PAGE as usize {
                break;
            }
        }
        Ok(keys)
    }

    pub fn get_user(&self, user_id: &str) -> Result<Option<UserSummary>, HostError> {
        let reply: UserReply = self.call_as(&HostRequest::GetUser { user_id }, "get_user")?;
        Ok(reply.user)
    }

    pub fn get_user_by_username(&self, username: &str) -> Result<Option<UserSummary>, HostError> {
        let request = HostRequest::GetUserByUsername { username };
        let reply: UserReply = self.call_as(&request, "get_user_by_username")?;
        Ok(reply.user)
    }

    pub fn kv_delete(&self, key: &str) -> Result<(), HostError> {
        self.host.call(&HostRequest::KvDelete { key })?;
        Ok(())
    }

    pub fn save_plugin_config(&self, config: &Map<String, Value>) -> Result<(), HostError> {
        self.host.call(&HostRequest::SavePluginConfig { config })?;
        Ok(())
    }

    /// Returns the server's Site URL without a trailing slash, or `None` when unset.
    pub fn site_url(&self) -> Result<Option<String>, HostError> {
        let reply: SiteUrlReply = self.call_as(&HostRequest::GetSiteUrl, "get_site_url")?;
        let site_url = reply.site_url.trim().trim_end_matches('/').to_string();
        Ok(if site_url.is_empty() {
            None
        } else {
            Some(site_url)
        })
    }

    pub fn has_permission(&self, user_id: &str, permission: &str) -> Result<bool, HostError> {
        let request = HostRequest::HasPermission {
            user_id,
            permission,
        };
        let reply: AllowedReply = self.call_as(&request, "has_permission")?;
        Ok(reply.allowed)
    }

    /// Returns whether `user_id` is a system admin (`manage_system` permission).
    pub fn is_system_admin(&self, user_id: &str) -> Result<bool, HostError> {
        self.has_permission(user_id, "manage_system")
    }

    pub fn ensure_bot(
        &self,
        username: &str,
        display_name: &str,
        description: &str,
    ) -> Result<String, HostError> {
        let request = HostRequest::EnsureBot {
            username,
            display_name,
            description,
        };
        let reply: UserIdReply = self.call_as(&request, "ensure_bot")?;
        Ok(reply.user_id)
    }

    pub fn register_command(&self, command: &Value) -> Result<(), HostError> {
        self.host.call(&HostRequest::RegisterCommand { command })?;
        Ok(())
    }

    pub fn send_ephemeral_post(
        &self,
        bot_user_id: &str,
        user_id: &str,
        channel_id: &str,
        message: &str,
    ) -> Result<(), HostError> {
        self.host.call(&HostRequest::SendEphemeralPost {
            bot_user_id,
            user_id,
            channel_id,
            message,
        })?;
        Ok(())
    }

    pub fn send_direct_message(
        &self,
        bot_user_id: &str,
        user_id: &str,
        message: &str,
    ) -> Result<(), HostError> {
        self.host.call(&HostRequest::SendDirectMessage {
            bot_user_id,
            user_id,
            message,
        })?;
        Ok(())
    }

    pub fn open_dialog(&self, request: &Value) -> Result<(), HostError> {
        self.host.call(&HostRequest::OpenDialog { request })?;
        Ok(())
    }

    pub fn publish_event(
        &self,
        event: &str,
        user_id: &str,
        payload: &Value,
    ) -> Result<(), HostError> {
        self.host.call(&HostRequest::PublishEvent {
            event,
            user_id,
            payload,
        })?;
        Ok(())
    }

    /// Logs through the plugin logger. A failing log call is ignored because
    /// there is nowhere else to report it.
    pub fn log(&self, level: LogLevel, message: &str, fields: &[(&str, &str)]) {
        let _ = self.host.call(&HostRequest::Log {
            level,
            message,
            fields,
        });
    }
}
