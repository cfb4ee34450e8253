//! Operations on a user's link shared by slash commands and web app routes,
//! with the websocket event that keeps open web apps up to date.

use serde_json::{json, Value};

use crate::core::Context;
use crate::host::{HostError, LogLevel};
use crate::store::{self, LinkRecord};

/// Websocket event sent when a user's link is created or removed.
pub const LINK_CHANGED_EVENT: &str = "link_changed";

/// The result of removing a user's link.
pub enum Unlinked {
    /// There was nothing to remove.
    NotLinked,
    /// The link was removed; `link` is `None` when its record could not be
    /// read. `revoked` tells whether PagerDuty confirmed revoking the tokens.
    Removed {
        link: Option<Box<LinkRecord>>,
        revoked: bool,
    },
}

/// Returns the PagerDuty account (subdomain) from a user's `html_url`, such
/// as `acme` for `https://acme.pagerduty.com/users/P1` or
/// `https://acme.eu.pagerduty.com/users/P1`.
pub fn account_of(html_url: &str) -> String {
    url::Url::parse(html_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string))
        .and_then(|host| host.split('.').next().map(str::to_string))
        .unwrap_or_default()
}

/// Names the PagerDuty service region of a link: EU or US, from the API
/// host stored at connect time, else from the user's `html_url`.
pub fn region_name(link: &LinkRecord) -> &'static str {
    let host = link
        .api_url
        .as_deref()
        .or_else(|| crate::client::api_host_from_html_url(&link.html_url));
    match host {
        Some(host) if host.contains(".eu.") => "EU",
        _ => "US",
    }
}

/// Describes a link for the web app: who the user is linked as, never tokens.
pub fn status_json(link: Option<&LinkRecord>) -> Value {
    match link {
        Some(link) => json!({
            "linked": true,
            "name": link.name,
            "email": link.email,
            "account": account_of(&link.html_url),
            "html_url": link.html_url,
        }),
        None => json!({ "linked": false }),
    }
}

/// Returns why a stored link can no longer be used, or `None` when it can.
pub fn stale_link_reason(context: &Context<'_>, link: &LinkRecord) -> Option<&'static str> {
    let config = &context.config;
    let key = config.encryption_key.as_ref()?;
    let client_id = config.client_id.as_ref()?;
    if link.client_id != client_id.as_str() {
        return Some("the plugin now uses a different PagerDuty OAuth app");
    }
    if link.key_fingerprint != key.fingerprint() || link.access_token(key).is_err() {
        return Some("the plugin's token encryption key changed");
    }
    None
}

/// Sends the new link status to every open web app of `user_id`. A failure
/// is only logged, because the web app re-reads the status when it reconnects.
pub fn publish_status(context: &Context<'_>, user_id: &str, link: Option<&LinkRecord>) {
    if let Err(error) = context
        .host
        .publish_event(LINK_CHANGED_EVENT, user_id, &status_json(link))
    {
        context.host.log(
            LogLevel::Warn,
            "Publishing the link status failed",
            &[("user_id", user_id), ("error", &error.to_string())],
        );
    }
}

/// Removes a user's link and its tokens, even a record this version cannot
/// read, publishes the change, and asks PagerDuty to revoke the tokens.
pub async fn unlink(context: &Context<'_>, user_id: &str) -> Result<Unlinked, HostError> {
    let link = match store::load_link(&context.host, user_id) {
        Ok(link) => link,
        Err(store::RecordError::Host(error)) => return Err(error),
        Err(error) => {
            context.host.log(
                LogLevel::Warn,
                "Removing an unreadable link record",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
            None
        }
    };
    let exists = link.is_some() || store::link_exists(&context.host, user_id)?;
    if !exists {
        return Ok(Unlinked::NotLinked);
    }
    store::delete_link(&context.host, user_id)?;
    if let Some(link) = &link {
        store::release_pagerduty_user(&context.host, &link.pagerduty_user_id, user_id)?;
    }
    context.host.log(
        LogLevel::Info,
        "Unlinked a Mattermost user from PagerDuty",
        &[("user_id", user_id)],
    );
    publish_status(context, user_id, None);
    let revoked = match &link {
        Some(link) => revoke_tokens(context, link).await,
        None => false,
    };
    Ok(Unlinked::Removed {
        link: link.map(Box::new),
        revoked,
    })
}

/// Asks PagerDuty to revoke a link's refresh token (which ends its grant,
/// as RFC 7009 section 2.1 allows) and access token. Best effort, because
/// PagerDuty documents no per-token revocation endpoint for classic apps:
/// `{identity}/oauth/revoke` is what public clients use. Failures are
/// logged without the token. Returns whether every request succeeded.
pub async fn revoke_tokens(context: &Context<'_>, link: &LinkRecord) -> bool {
    let user_id = link.mattermost_user_id.as_str();
    let (Some(key), Some(client_id), Some(client_secret)) = (
        context.config.encryption_key.as_ref(),
        context.config.client_id.as_ref(),
        context.config.client_secret.as_ref(),
    ) else {
        return false;
    };
    let mut tokens = Vec::new();
    if let Some(sealed) = &link.refresh_token {
        if let Ok(bytes) = key.open(sealed, &store::seal_context("refresh_token", user_id)) {
            tokens.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    if let Ok(token) = link.access_token(key) {
        tokens.push(token);
    }
    if tokens.is_empty() {
        return false;
    }
    let url = format!(
        "{}/oauth/revoke",
        context.config.identity_url.as_str().trim_end_matches('/')
    );
    let mut all_revoked = true;
    for token in tokens {
        let form = [
            ("token", token.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.secret().as_str()),
        ];
        let outcome = context.http.post(&url).form(&form).send().await;
        let failure = match outcome {
            Ok(response) if response.status().is_success() => continue,
            Ok(response) => format!("HTTP {}", response.status().as_u16()),
            Err(error) => crate::pagerduty::describe_reqwest_error(&error),
        };
        all_revoked = false;
        context.host.log(
            LogLevel::Warn,
            "Revoking a PagerDuty token failed; the link was removed anyway",
            &[("user_id", user_id), ("error", &failure)],
        );
    }
    all_revoked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_of_reads_subdomain() {
        assert_eq!(account_of("https://acme.pagerduty.com/users/P1"), "acme");
        assert_eq!(account_of("https://acme.eu.pagerduty.com/users/P1"), "acme");
        assert_eq!(account_of("not a url"), "");
    }
}
