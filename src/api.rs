//! JSON routes for the web app under `/api/v1/`. Mattermost authenticates
//! them with the user's session (and its CSRF check for cookie sessions).

use serde_json::json;

use crate::config::redirect_uri;
use crate::core::Context;
use crate::http::{HttpRequest, HttpResponse};
use crate::links::{self, Unlinked};
use crate::store;

fn unauthorized() -> HttpResponse {
    HttpResponse::json(401, &json!({ "error": "Sign in to Mattermost first." }))
}

fn server_error(
    context: &Context<'_>,
    step: &str,
    user_id: &str,
    error: &dyn std::fmt::Display,
) -> HttpResponse {
    context.host.log(
        crate::host::LogLevel::Error,
        &format!("Failed to {step}"),
        &[("user_id", user_id), ("error", &error.to_string())],
    );
    HttpResponse::json(
        500,
        &json!({ "error": format!("Failed to {step}. Try again; if it keeps failing, ask a system admin to check the server logs.") }),
    )
}

/// Handles `GET /api/v1/status`: whether the plugin is configured and as
/// whom the session's user is linked.
pub fn status(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    let user_id = request.user_id.as_str();
    if user_id.is_empty() {
        return unauthorized();
    }
    let link = match store::load_link(&context.host, user_id) {
        Ok(link) => link,
        Err(store::RecordError::Host(error)) => {
            return server_error(context, "read your link", user_id, &error)
        }
        // An unreadable record counts as not linked; `/pd disconnect` removes it.
        Err(_) => None,
    };
    let mut body = links::status_json(link.as_ref());
    body["configured"] = json!(context.config.is_configured());
    body["connect_path"] = json!(format!("/plugins/{}/oauth/connect", crate::PLUGIN_ID));
    HttpResponse::json(200, &body)
}

/// Handles `POST /api/v1/disconnect`: removes the session user's link.
pub async fn disconnect(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    let user_id = request.user_id.as_str();
    if user_id.is_empty() {
        return unauthorized();
    }
    match links::unlink(context, user_id).await {
        Ok(Unlinked::NotLinked) => {
            HttpResponse::json(200, &json!({ "linked": false, "removed": false }))
        }
        Ok(Unlinked::Removed { .. }) => {
            HttpResponse::json(200, &json!({ "linked": false, "removed": true }))
        }
        Err(error) => server_error(context, "remove your link", user_id, &error),
    }
}

/// Handles `GET /api/v1/admin/status` for the System Console page: whether a
/// configuration is saved and the redirect URI to register in PagerDuty.
pub fn admin_status(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    let user_id = request.user_id.as_str();
    if user_id.is_empty() {
        return unauthorized();
    }
    match context.host.is_system_admin(user_id) {
        Ok(true) => {}
        Ok(false) => {
            return HttpResponse::json(
                403,
                &json!({ "error": "Only a system admin can read the plugin's configuration status." }),
            )
        }
        Err(error) => return server_error(context, "check permissions", user_id, &error),
    }
    let site_url = match context.host.site_url() {
        Ok(site_url) => site_url,
        Err(error) => return server_error(context, "read the Site URL", user_id, &error),
    };
    HttpResponse::json(
        200,
        &json!({
            "configured": context.config.is_configured(),
            "has_credentials": context.config.has_credentials(),
            "problems": context.config.problems,
            "site_url_set": site_url.is_some(),
            "redirect_uri": site_url.as_deref().map(redirect_uri),
        }),
    )
}
