//! The plugin core: one tokio runtime and one HTTP client for the plugin's
//! life, and the dispatch of hook calls.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::commands::{self, CommandArgs, CommandResponse};
use crate::config::{Configuration, KEY_ENCRYPTION_KEY};
use crate::host::{Host, HostApi, LogLevel};
use crate::http::{HttpRequest, HttpResponse};
use crate::pages::page;

/// Time allowed to open a TCP connection to PagerDuty.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for a whole request to PagerDuty, reply included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Bot that sends users direct messages about their link.
const BOT_USERNAME: &str = "pagerduty";
const BOT_DISPLAY_NAME: &str = "PagerDuty";
const BOT_DESCRIPTION: &str =
    "Tells you when your Mattermost account is linked to PagerDuty or unlinked.";

/// A hook call from the Go plugin, tagged by `hook`.
#[derive(Debug, Deserialize)]
#[serde(tag = "hook", rename_all = "snake_case")]
enum HookRequest {
    /// `OnActivate`, with the plugin settings.
    Activate {
        #[serde(default)]
        config: Map<String, Value>,
    },
    /// `OnConfigurationChange`, with the new plugin settings.
    ConfigurationChange {
        #[serde(default)]
        config: Map<String, Value>,
    },
    /// `OnDeactivate`.
    Deactivate,
    /// `ExecuteCommand`, with whether the caller has `manage_system`, which
    /// the shim reads before entering the core (see [`Context::is_system_admin`]).
    ExecuteCommand {
        args: CommandArgs,
        #[serde(default)]
        caller_is_system_admin: Option<bool>,
    },
    /// `ServeHTTP`.
    ServeHttp { request: HttpRequest },
    /// `UserHasBeenDeactivated`.
    UserDeactivated { user_id: String },
    /// The shim's cluster job, about once an hour on one server.
    RunMaintenance,
    /// A diagnostic hook for measuring the C ABI: decodes command arguments
    /// and returns an ephemeral reply quoting the command, with no host call.
    EchoCommand { args: CommandArgs },
}

/// A hook call that the core could not handle.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the hook request is not valid: {0}")]
    InvalidRequest(#[from] serde_json::Error),
    #[error("{0}")]
    Host(#[from] crate::host::HostError),
    #[error("starting the core failed: {0}")]
    Startup(String),
}

/// Mutable state shared by concurrent hook calls. Never locked across a host call.
#[derive(Default)]
struct SharedState {
    config: Arc<Configuration>,
    bot_user_id: Option<String>,
    activated: bool,
}

/// The plugin core. Hook calls may arrive concurrently from several threads.
pub struct Core {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    state: RwLock<SharedState>,
}

/// Per-call state that handlers receive: host, configuration snapshot and HTTP client.
pub struct Context<'a> {
    pub host: HostApi<'a>,
    pub config: Arc<Configuration>,
    pub http: &'a reqwest::Client,
    pub bot_user_id: Option<String>,
    state: &'a RwLock<SharedState>,
    runtime: &'a tokio::runtime::Runtime,
    /// The calling user's `manage_system` permission as the shim read it
    /// before this call, when it did.
    caller_permission: Option<(String, bool)>,
}

impl Context<'_> {
    /// Returns whether `user_id` is a system admin (`manage_system`). For the
    /// user whose slash command this is, the shim supplies the answer with
    /// the hook: a Mattermost API call made from inside the C call (a host
    /// callback) added about 80 µs per command in the server benchmark,
    /// while the same call made by the shim beforehand costs what it costs
    /// any plugin. Other users, and calls without it, go through the host.
    pub fn is_system_admin(&self, user_id: &str) -> Result<bool, crate::host::HostError> {
        match &self.caller_permission {
            Some((caller, allowed)) if caller == user_id => Ok(*allowed),
            _ => self.host.is_system_admin(user_id),
        }
    }

    /// Runs `future` to completion on the plugin's runtime. Only for
    /// synchronous handlers (slash commands): inside an async handler this
    /// would panic, because a runtime cannot block on itself.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Replaces the cached configuration after this call saved new settings.
    pub fn replace_configuration(&self, config: Configuration) {
        write_state(self.state).config = Arc::new(config);
    }

    /// Logs `error` and returns a reply asking the user to try again.
    pub fn internal_error_reply(
        &self,
        step: &str,
        user_id: &str,
        error: &dyn std::fmt::Display,
    ) -> CommandResponse {
        self.host.log(
            LogLevel::Error,
            &format!("Failed to {step}"),
            &[("user_id", user_id), ("error", &error.to_string())],
        );
        CommandResponse::ephemeral(format!(
            "Failed to {step} because of a server error, so nothing changed. Try again; if it keeps failing, ask a system admin to check the server logs."
        ))
    }

    /// Logs `error` and returns a page asking the user to try again.
    pub fn internal_error_page(
        &self,
        step: &str,
        user_id: &str,
        error: &dyn std::fmt::Display,
    ) -> HttpResponse {
        self.host.log(
            LogLevel::Error,
            &format!("Failed to {step}"),
            &[("user_id", user_id), ("error", &error.to_string())],
        );
        page(
            500,
            "Something went wrong",
            &[
                &format!("Mattermost failed to {step}, so nothing was linked."),
                "Run /pd connect again; if it keeps failing, ask a system admin to check the server logs.",
            ],
        )
    }

    /// Sends a direct message from the bot; a failure is logged, not returned,
    /// because the message only repeats what the user already saw.
    pub fn send_direct_message(&self, user_id: &str, message: &str) {
        let Some(bot_user_id) = self.bot_user_id.as_deref() else {
            self.host.log(
                LogLevel::Warn,
                "No bot user; direct message not sent",
                &[("user_id", user_id)],
            );
            return;
        };
        if let Err(error) = self.host.send_direct_message(bot_user_id, user_id, message) {
            self.host.log(
                LogLevel::Warn,
                "Sending a direct message failed",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
        }
    }

    /// Shows an ephemeral message from the bot; a failure is logged.
    pub fn send_ephemeral(&self, user_id: &str, channel_id: &str, message: &str) {
        let bot_user_id = self.bot_user_id.as_deref().unwrap_or_default();
        if let Err(error) = self
            .host
            .send_ephemeral_post(bot_user_id, user_id, channel_id, message)
        {
            self.host.log(
                LogLevel::Warn,
                "Sending an ephemeral post failed",
                &[
                    ("user_id", user_id),
                    ("channel_id", channel_id),
                    ("error", &error.to_string()),
                ],
            );
        }
    }
}

fn write_state(state: &RwLock<SharedState>) -> std::sync::RwLockWriteGuard<'_, SharedState> {
    // A panic elsewhere cannot leave SharedState half-written: every write
    // replaces whole fields, so a poisoned lock is still usable.
    state
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read_state(state: &RwLock<SharedState>) -> std::sync::RwLockReadGuard<'_, SharedState> {
    state
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Core {
    /// Starts the runtime and the HTTP client.
    pub fn new() -> Result<Core, CoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pagerduty-core")
            .enable_all()
            .build()
            .map_err(|error| CoreError::Startup(format!("tokio runtime: {error}")))?;
        // No redirects: the token endpoint must reply itself (RFC 6749
        // section 10 warns against following redirects with credentials).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(format!("mattermost-pagerduty/{}", crate::PLUGIN_VERSION))
            .build()
            .map_err(|error| CoreError::Startup(format!("HTTP client: {error}")))?;
        Ok(Core {
            runtime,
            http,
            state: RwLock::new(SharedState::default()),
        })
    }

    fn context<'a>(&'a self, host: &'a dyn Host) -> Context<'a> {
        let state = read_state(&self.state);
        Context {
            host: HostApi::new(host),
            config: Arc::clone(&state.config),
            http: &self.http,
            bot_user_id: state.bot_user_id.clone(),
            state: &self.state,
            runtime: &self.runtime,
            caller_permission: None,
        }
    }

    /// Handles one hook call: `request` is JSON with a `hook` field, and the
    /// result is the JSON the Go plugin turns into the hook's return value.
    pub fn handle(&self, host: &dyn Host, request: &[u8]) -> Result<Vec<u8>, CoreError> {
        let request: HookRequest = serde_json::from_slice(request)?;
        let reply = match request {
            HookRequest::Activate { config } => self.activate(host, config)?,
            HookRequest::ConfigurationChange { config } => {
                self.configuration_change(host, config)?
            }
            HookRequest::Deactivate => {
                write_state(&self.state).activated = false;
                json!({})
            }
            HookRequest::ExecuteCommand {
                args,
                caller_is_system_admin,
            } => {
                let mut context = self.context(host);
                context.caller_permission =
                    caller_is_system_admin.map(|allowed| (args.user_id.clone(), allowed));
                json!({ "response": commands::execute(&context, &args) })
            }
            HookRequest::UserDeactivated { user_id } => {
                let context = self.context(host);
                let outcome = self
                    .runtime
                    .block_on(crate::links::unlink(&context, &user_id))?;
                if let crate::links::Unlinked::Removed { .. } = outcome {
                    context.host.log(
                        LogLevel::Info,
                        "Removed the PagerDuty link of a deactivated user",
                        &[("user_id", &user_id)],
                    );
                }
                json!({})
            }
            HookRequest::EchoCommand { args } => {
                json!({ "response": CommandResponse::ephemeral(format!("Received `{}`.", args.command)) })
            }
            HookRequest::RunMaintenance => {
                let context = self.context(host);
                self.runtime.block_on(crate::maintenance::run(&context))
            }
            HookRequest::ServeHttp { request } => {
                let context = self.context(host);
                let response = self.runtime.block_on(route(&context, &request));
                serde_json::to_value(response)?
            }
        };
        Ok(serde_json::to_vec(&reply)?)
    }

    fn activate(&self, host: &dyn Host, settings: Map<String, Value>) -> Result<Value, CoreError> {
        let api = HostApi::new(host);
        let config = ensure_encryption_key(&api, settings)?;
        for problem in &config.problems {
            api.log(
                LogLevel::Warn,
                "PagerDuty plugin setting is invalid",
                &[("problem", problem)],
            );
        }
        let bot_user_id = api.ensure_bot(BOT_USERNAME, BOT_DISPLAY_NAME, BOT_DESCRIPTION)?;
        let configured = config.is_configured();
        {
            let mut state = write_state(&self.state);
            state.config = Arc::new(config);
            state.bot_user_id = Some(bot_user_id);
            state.activated = true;
        }
        api.register_command(&commands::command_definition(configured))?;
        api.log(
            LogLevel::Info,
            "PagerDuty plugin activated",
            &[("configured", if configured { "true" } else { "false" })],
        );
        Ok(json!({}))
    }

    fn configuration_change(
        &self,
        host: &dyn Host,
        settings: Map<String, Value>,
    ) -> Result<Value, CoreError> {
        let api = HostApi::new(host);
        let was_activated = read_state(&self.state).activated;
        // Before activation, OnActivate generates a missing key itself.
        let config = if was_activated {
            ensure_encryption_key(&api, settings)?
        } else {
            Configuration::from_map(settings)
        };
        let configured = config.is_configured();
        // Before activation a missing key is expected, and OnActivate logs
        // the problems that remain after generating it.
        if was_activated {
            for problem in &config.problems {
                api.log(
                    LogLevel::Warn,
                    "PagerDuty plugin setting is invalid",
                    &[("problem", problem)],
                );
            }
        }
        let new_key = config.encryption_key.clone();
        let (activated, old_key) = {
            let mut state = write_state(&self.state);
            let old_key = state.config.encryption_key.clone();
            state.config = Arc::new(config);
            (state.activated, old_key)
        };
        // The old key exists only in this process's memory, so links are
        // re-sealed now, while it is still known.
        if let (true, Some(old_key), Some(new_key)) = (activated, old_key, new_key) {
            if old_key.fingerprint() != new_key.fingerprint() {
                let context = self.context(host);
                crate::maintenance::reencrypt_links(&context, &old_key, &new_key);
            }
        }
        // Before activation, OnActivate registers the command itself.
        if activated {
            api.register_command(&commands::command_definition(configured))?;
        }
        Ok(json!({}))
    }
}

/// Generates and saves the encryption key when the settings have none, and
/// returns the parsed settings.
fn ensure_encryption_key(
    api: &HostApi<'_>,
    settings: Map<String, Value>,
) -> Result<Configuration, CoreError> {
    let config = Configuration::from_map(settings);
    if config.encryption_key.is_some() {
        return Ok(config);
    }
    let key = crate::crypto::generate_key_setting();
    let settings = Configuration::with_setting(&config.raw, KEY_ENCRYPTION_KEY, &key);
    api.save_plugin_config(&settings)?;
    api.log(
        LogLevel::Info,
        "Generated the encryption key for stored tokens",
        &[],
    );
    Ok(Configuration::from_map(settings))
}

async fn route(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/oauth/connect") => crate::oauth::connect(context, request),
        ("GET", "/oauth/complete") => crate::oauth::complete(context, request).await,
        ("POST", crate::dialog::SUBMIT_PATH) => crate::dialog::submit(context, request),
        ("GET", "/api/v1/status") => crate::api::status(context, request),
        ("POST", "/api/v1/disconnect") => crate::api::disconnect(context, request).await,
        ("GET", "/api/v1/admin/status") => crate::api::admin_status(context, request),
        _ => HttpResponse::not_found(),
    }
}
