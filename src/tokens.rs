//! Access tokens that stay valid: refresh before expiry and after a 401,
//! serialized per user through the KV store, and removal of links whose
//! tokens PagerDuty no longer accepts.
//!
//! PagerDuty rotates the refresh token on every refresh, so two refreshes
//! with the same token would leave one of them holding a dead token. A lock
//! key set with compare-and-set (the KV store is the shared database, so this
//! also holds across the servers of a cluster) lets one request refresh while
//! the others wait for its result.

use std::time::{Duration, Instant};

use oauth2::{RefreshToken, TokenResponse};

use crate::client::{describe_token_error, is_invalid_grant, oauth_client};
use crate::core::Context;
use crate::crypto::random_token;
use crate::host::LogLevel;
use crate::pagerduty::{self, ApiError, PagerDutyUser};
use crate::store::{self, seal_context, unix_now, LinkRecord, StoredLink};
use crate::text::escape_markdown;

/// Seconds before expiry at which an access token is refreshed.
const REFRESH_MARGIN_SECONDS: i64 = 300;
/// Lifetime of a refresh lock, so a crashed holder cannot block a user for long.
const REFRESH_LOCK_SECONDS: i64 = 30;
/// How long a request waits for another request's refresh of the same user.
const REFRESH_WAIT: Duration = Duration::from_secs(15);
/// Pause between checks while another request refreshes.
const REFRESH_POLL: Duration = Duration::from_millis(100);

/// The reason no usable access token is available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    NotLinked,
    /// The link exists but its tokens belong to another key or OAuth app.
    Unusable(&'static str),
    /// PagerDuty rejected the refresh token, so the link was removed and
    /// the user got a direct message.
    Revoked,
    /// PagerDuty could not be reached or failed; the link is unchanged.
    Unavailable(String),
}

fn refresh_lock_key(user_id: &str) -> String {
    format!("refresh_lock_{user_id}")
}

fn needs_refresh(link: &LinkRecord) -> bool {
    link.expires_at
        .is_some_and(|expires_at| expires_at - REFRESH_MARGIN_SECONDS <= unix_now())
}

fn load(context: &Context<'_>, user_id: &str) -> Result<StoredLink, TokenProblem> {
    match store::load_stored_link(&context.host, user_id) {
        Ok(Some(stored)) => Ok(stored),
        Ok(None) => Err(TokenProblem::NotLinked),
        Err(store::RecordError::Host(error)) => Err(TokenProblem::Unavailable(error.to_string())),
        Err(_) => Err(TokenProblem::Unusable(
            "its record was written by a newer plugin version",
        )),
    }
}

fn open_access_token(context: &Context<'_>, link: &LinkRecord) -> Result<String, TokenProblem> {
    if let Some(reason) = crate::links::stale_link_reason(context, link) {
        return Err(TokenProblem::Unusable(reason));
    }
    let key = context
        .config
        .encryption_key
        .as_ref()
        .ok_or(TokenProblem::Unusable("the plugin has no encryption key"))?;
    link.access_token(key)
        .map_err(|_| TokenProblem::Unusable("the plugin's token encryption key changed"))
}

/// Returns the user's link and a valid access token, refreshing it when it
/// expires within five minutes or when `force` is set (after a 401).
pub async fn valid_access_token(
    context: &Context<'_>,
    user_id: &str,
    force: bool,
) -> Result<(LinkRecord, String), TokenProblem> {
    let stored = load(context, user_id)?;
    let token = open_access_token(context, &stored.record)?;
    if !force && !needs_refresh(&stored.record) {
        return Ok((stored.record, token));
    }

    let lock_key = refresh_lock_key(user_id);
    let deadline = Instant::now() + REFRESH_WAIT;
    loop {
        let lock_value = random_token();
        let acquired = context
            .host
            .kv_compare_and_set(&lock_key, None, &lock_value, Some(REFRESH_LOCK_SECONDS))
            .map_err(|error| TokenProblem::Unavailable(error.to_string()))?;
        if acquired {
            let outcome = refresh_holding_lock(context, user_id, &stored).await;
            let _ = context.host.kv_compare_and_delete(&lock_key, &lock_value);
            return outcome;
        }

        // Another request refreshes: wait for its result.
        tokio::time::sleep(REFRESH_POLL).await;
        let current = load(context, user_id)?;
        if current.stored != stored.stored {
            let token = open_access_token(context, &current.record)?;
            return Ok((current.record, token));
        }
        if Instant::now() >= deadline {
            return Err(TokenProblem::Unavailable(
                "another refresh of this link is still running".to_string(),
            ));
        }
    }
}

async fn refresh_holding_lock(
    context: &Context<'_>,
    user_id: &str,
    seen: &StoredLink,
) -> Result<(LinkRecord, String), TokenProblem> {
    // A refresh that finished between our read and the lock needs no repeat.
    let current = load(context, user_id)?;
    if current.stored != seen.stored {
        let token = open_access_token(context, &current.record)?;
        return Ok((current.record, token));
    }
    let link = &current.record;
    let key = context
        .config
        .encryption_key
        .as_ref()
        .ok_or(TokenProblem::Unusable("the plugin has no encryption key"))?;
    let refresh_token = match &link.refresh_token {
        Some(sealed) => key
            .open(sealed, &seal_context("refresh_token", user_id))
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or(TokenProblem::Unusable(
                "the plugin's token encryption key changed",
            ))?,
        None => {
            if remove_revoked_link(context, &current, "PagerDuty issued no refresh token").await {
                return Err(TokenProblem::Revoked);
            }
            return Err(TokenProblem::Unavailable(
                "the link changed during the refresh".to_string(),
            ));
        }
    };
    let client = oauth_client(&context.config, None).map_err(TokenProblem::Unavailable)?;
    let response = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token))
        .request_async(context.http)
        .await;
    let token = match response {
        Ok(token) => token,
        Err(error) if is_invalid_grant(&error) => {
            if remove_revoked_link(context, &current, &describe_token_error(&error)).await {
                return Err(TokenProblem::Revoked);
            }
            // The link changed while the request ran (another refresh or a
            // relink), so the rejected token was no longer the stored one.
            let latest = load(context, user_id)?;
            let token = open_access_token(context, &latest.record)?;
            return Ok((latest.record, token));
        }
        Err(error) => {
            let cause = describe_token_error(&error);
            context.host.log(
                LogLevel::Warn,
                "Refreshing the PagerDuty token failed; keeping the link",
                &[("user_id", user_id), ("error", &cause)],
            );
            return Err(TokenProblem::Unavailable(cause));
        }
    };

    let now = unix_now();
    let access_token = token.access_token().secret().to_string();
    let mut refreshed = link.clone();
    refreshed.access_token = LinkRecord::seal_access_token(key, user_id, &access_token);
    // PagerDuty rotates refresh tokens; keep the old one only if none came back.
    if let Some(new_refresh) = token.refresh_token() {
        refreshed.refresh_token = Some(LinkRecord::seal_refresh_token(
            key,
            user_id,
            new_refresh.secret(),
        ));
    }
    refreshed.expires_at = token
        .expires_in()
        .map(|lifetime| now.saturating_add(lifetime.as_secs().min(i64::MAX as u64) as i64));
    refreshed.refreshed_at = Some(now);
    if let Some(scopes) = token.scopes() {
        refreshed.scope = scopes
            .iter()
            .map(|scope| scope.to_string())
            .collect::<Vec<_>>()
            .join(" ");
    }
    match store::replace_link(&context.host, &current, &refreshed) {
        Ok(true) => {
            context.host.log(
                LogLevel::Debug,
                "Refreshed a PagerDuty access token",
                &[("user_id", user_id)],
            );
            Ok((refreshed, access_token))
        }
        // The user disconnected or relinked meanwhile: their new state wins.
        Ok(false) => {
            let current = load(context, user_id)?;
            let token = open_access_token(context, &current.record)?;
            Ok((current.record, token))
        }
        Err(error) => Err(TokenProblem::Unavailable(error.to_string())),
    }
}

/// Removes a link whose refresh token PagerDuty rejected and sends the user
/// one direct message. The next use finds no link, so no second one follows.
/// Returns false, removing nothing, when the stored link changed meanwhile.
async fn remove_revoked_link(context: &Context<'_>, stored: &StoredLink, cause: &str) -> bool {
    let link = &stored.record;
    let user_id = link.mattermost_user_id.as_str();
    context.host.log(
        LogLevel::Warn,
        "PagerDuty rejected the refresh token; removing the link unless it changed meanwhile",
        &[("user_id", user_id), ("error", cause)],
    );
    let removed = context
        .host
        .kv_compare_and_delete(&store::link_key(user_id), &stored.stored)
        .unwrap_or(false);
    if !removed {
        return false;
    }
    let _ = store::release_pagerduty_user(&context.host, &link.pagerduty_user_id, user_id);
    crate::links::publish_status(context, user_id, None);
    context.send_direct_message(
        user_id,
        &format!(
            "Your link to the PagerDuty user **{}** stopped working: PagerDuty no longer accepts its tokens (access may have been revoked in PagerDuty, or the link expired), so it was removed. Run `/pd connect` to link again.",
            escape_markdown(&link.name)
        ),
    );
    true
}

/// Fetches the linked PagerDuty user with a valid token, refreshing and
/// retrying once when PagerDuty returns 401.
pub async fn fetch_linked_user(
    context: &Context<'_>,
    user_id: &str,
) -> Result<Result<PagerDutyUser, ApiError>, TokenProblem> {
    let (link, token) = valid_access_token(context, user_id, false).await?;
    let api_base = context.config.api_base_for(link.api_url.as_deref());
    match pagerduty::current_user(context.http, &api_base, &token).await {
        Err(ApiError::Status { status: 401, .. }) => {
            let (link, token) = valid_access_token(context, user_id, true).await?;
            let api_base = context.config.api_base_for(link.api_url.as_deref());
            Ok(pagerduty::current_user(context.http, &api_base, &token).await)
        }
        other => Ok(other),
    }
}
