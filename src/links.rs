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
    /// The link was removed; `None` when its record could not be read.
    Removed(Option<Box<LinkRecord>>),
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
/// read, and publishes the change.
pub fn unlink(context: &Context<'_>, user_id: &str) -> Result<Unlinked, HostError> {
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
    Ok(Unlinked::Removed(link.map(Box::new)))
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
