//! The `/pd configure` interactive dialog and its submission.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::commands::{no_site_url_reply, CommandArgs, CommandResponse};
use crate::config::{
    redirect_uri, validate_client_id, validate_client_secret, Configuration, KEY_CLIENT_ID,
    KEY_CLIENT_SECRET,
};
use crate::core::Context;
use crate::host::LogLevel;
use crate::http::{HttpRequest, HttpResponse};

/// Plugin route that receives the dialog submission.
pub const SUBMIT_PATH: &str = "/dialog/configure";
const CALLBACK_ID: &str = "configure";

/// Opens the configure dialog; the caller has already checked that the user
/// is a system admin.
pub fn open(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    match context.host.site_url() {
        Ok(Some(_)) => {}
        Ok(None) => return no_site_url_reply(true),
        Err(error) => {
            return context.internal_error_reply("read the Site URL", &args.user_id, &error)
        }
    }
    if args.trigger_id.is_empty() {
        return CommandResponse::ephemeral(
            "This client cannot open dialogs. Run `/pd configure` from the Mattermost web, desktop or mobile app, or use System Console > Plugins > PagerDuty.",
        );
    }
    let config = &context.config;
    let configured = config.has_credentials();
    let introduction = if configured {
        "A configuration is already saved. Change the Client ID, or enter a new Client Secret; leave the secret empty to keep the saved one."
    } else {
        "Enter the credentials of your PagerDuty OAuth app (PagerDuty: Integrations > App Registration). The next message shows the redirect URI to register in that app."
    };
    let client_id = config
        .client_id
        .as_ref()
        .map(|id| id.as_str().to_string())
        .unwrap_or_default();
    let secret_help = if configured {
        "Leave empty to keep the saved secret. The saved secret is never shown."
    } else {
        "The app's client secret. It is stored in the plugin settings and never shown again."
    };
    let request = json!({
        "trigger_id": args.trigger_id,
        "url": format!("/plugins/{}{SUBMIT_PATH}", crate::PLUGIN_ID),
        "dialog": {
            "callback_id": CALLBACK_ID,
            "title": "Configure PagerDuty",
            "introduction_text": introduction,
            "submit_label": "Save",
            "notify_on_cancel": false,
            "state": "",
            "elements": [
                {
                    "display_name": "Client ID",
                    "name": "client_id",
                    "type": "text",
                    "subtype": "",
                    "default": client_id,
                    "placeholder": "Client ID of the PagerDuty OAuth app",
                    "help_text": "Shown in PagerDuty under Integrations > App Registration, on the app's OAuth 2.0 settings.",
                    "optional": false,
                    "min_length": 1,
                    "max_length": 512,
                },
                {
                    "display_name": "Client Secret",
                    "name": "client_secret",
                    "type": "text",
                    "subtype": "password",
                    "default": "",
                    "placeholder": if configured { "Unchanged" } else { "Client Secret of the PagerDuty OAuth app" },
                    "help_text": secret_help,
                    "optional": configured,
                    "min_length": 0,
                    "max_length": 512,
                },
            ],
        },
    });
    if let Err(error) = context.host.open_dialog(&request) {
        return context.internal_error_reply("open the configure dialog", &args.user_id, &error);
    }
    CommandResponse::ephemeral("")
}

/// `model.SubmitDialogRequest` fields that the core reads.
#[derive(Debug, Deserialize)]
struct Submission {
    #[serde(default)]
    callback_id: String,
    #[serde(default)]
    channel_id: String,
    #[serde(default)]
    cancelled: bool,
    #[serde(default)]
    submission: Map<String, Value>,
}

fn field(submission: &Map<String, Value>, name: &str) -> String {
    submission
        .get(name)
        .and_then(Value::as_str)
        .map(|value| value.trim().to_string())
        .unwrap_or_default()
}

fn dialog_error(message: &str) -> HttpResponse {
    HttpResponse::json(200, &json!({ "error": message }))
}

/// Handles `POST /dialog/configure`. The user comes from the server-set
/// session header, never from the body.
pub fn submit(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    let user_id = request.user_id.as_str();
    if user_id.is_empty() {
        return HttpResponse::json(401, &json!({ "error": "Sign in to Mattermost first." }));
    }
    let submission: Submission = match serde_json::from_str(&request.body) {
        Ok(submission) => submission,
        Err(_) => {
            return HttpResponse::json(
                400,
                &json!({ "error": "The dialog submission is not valid JSON." }),
            )
        }
    };
    if submission.cancelled {
        return HttpResponse::json(200, &json!({}));
    }
    if submission.callback_id != CALLBACK_ID {
        return dialog_error("This dialog is out of date. Close it and run /pd configure again.");
    }
    match context.host.is_system_admin(user_id) {
        Ok(true) => {}
        Ok(false) => {
            context.host.log(
                LogLevel::Warn,
                "Configure dialog submitted by a user who is not a system admin",
                &[("user_id", user_id)],
            );
            return HttpResponse::json(
                403,
                &json!({ "error": "Only a system admin can configure the PagerDuty plugin." }),
            );
        }
        Err(error) => {
            context.host.log(
                LogLevel::Error,
                "Permission check failed",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
            return dialog_error("Checking your permissions failed. Try again.");
        }
    }

    let client_id = field(&submission.submission, "client_id");
    let client_secret = field(&submission.submission, "client_secret");
    let keeps_secret = client_secret.is_empty() && context.config.client_secret.is_some();
    let mut errors = Map::new();
    if let Err(message) = validate_client_id(&client_id) {
        errors.insert("client_id".to_string(), Value::String(message));
    }
    if !keeps_secret {
        if let Err(message) = validate_client_secret(&client_secret) {
            errors.insert("client_secret".to_string(), Value::String(message));
        }
    }
    if !errors.is_empty() {
        return HttpResponse::json(200, &json!({ "errors": errors }));
    }

    let site_url = match context.host.site_url() {
        Ok(Some(site_url)) => site_url,
        Ok(None) => return dialog_error("Mattermost's Site URL is not set. Set it in System Console > Environment > Web Server, then run /pd configure again."),
        Err(error) => {
            context.host.log(LogLevel::Error, "Reading the Site URL failed", &[("user_id", user_id), ("error", &error.to_string())]);
            return dialog_error("Reading the server configuration failed. Try again.");
        }
    };

    let client_id_changed = context
        .config
        .client_id
        .as_ref()
        .is_some_and(|old| old.as_str() != client_id);
    let mut settings = Configuration::with_setting(&context.config.raw, KEY_CLIENT_ID, &client_id);
    if !keeps_secret {
        settings = Configuration::with_setting(&settings, KEY_CLIENT_SECRET, &client_secret);
    }
    if let Err(error) = context.host.save_plugin_config(&settings) {
        context.host.log(
            LogLevel::Error,
            "Saving the plugin configuration failed",
            &[("user_id", user_id), ("error", &error.to_string())],
        );
        return dialog_error("Saving the configuration failed, so nothing changed. Try again, or use System Console > Plugins > PagerDuty.");
    }
    let saved = Configuration::from_map(settings);
    let ready = saved.is_configured();
    let remaining_problems = saved.problems.join("; ");
    context.replace_configuration(saved);
    context.host.log(
        LogLevel::Info,
        "PagerDuty OAuth app credentials saved",
        &[
            ("user_id", user_id),
            (
                "secret_changed",
                if keeps_secret { "false" } else { "true" },
            ),
        ],
    );

    let mut message = format!(
        "Saved the PagerDuty OAuth app credentials. In the PagerDuty app (Integrations > App Registration), register this redirect URI:\n`{}`\n",
        redirect_uri(&site_url)
    );
    if ready {
        message.push_str("Users can now run `/pd connect`.");
    } else {
        message.push_str(&format!(
            "Users cannot connect yet because another setting has a problem: {remaining_problems}. Fix it in System Console > Plugins > PagerDuty."
        ));
    }
    if client_id_changed {
        message.push_str("\nThe Client ID changed: accounts linked to the previous app need to run `/pd connect` again.");
    }
    if !submission.channel_id.is_empty() {
        context.send_ephemeral(user_id, &submission.channel_id, &message);
    }
    HttpResponse::json(200, &json!({}))
}
