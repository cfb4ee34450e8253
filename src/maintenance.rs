//! Periodic upkeep of stored links, run by one server of a cluster at a time
//! (the Go shim schedules it as a cluster job), and re-encryption of links
//! after the encryption key changes.

use serde_json::{json, Value};

use crate::core::Context;
use crate::crypto::EncryptionKey;
use crate::host::LogLevel;
use crate::links::{self, Unlinked};
use crate::store::{self, seal_context, unix_now, LinkRecord, LINK_KEY_PREFIX};
use crate::text::{escape_markdown, format_utc};
use crate::tokens::{self, TokenProblem};

const DAY_SECONDS: i64 = 86_400;
/// A link whose tokens were not refreshed for this long is refreshed, so its
/// refresh token does not die unused (PagerDuty: 30 days for scoped apps,
/// 210 days for classic apps).
const KEEPALIVE_SECONDS: i64 = 7 * DAY_SECONDS;
/// PagerDuty's re-authorization window: a link must be renewed with a new
/// consent after 1 year (scoped apps) or 3 years (classic apps).
const REAUTHORIZE_SCOPED_SECONDS: i64 = 365 * DAY_SECONDS;
const REAUTHORIZE_CLASSIC_SECONDS: i64 = 3 * 365 * DAY_SECONDS;
/// How long before the window closes the user gets a direct message.
const REAUTHORIZE_NOTICE_SECONDS: i64 = 14 * DAY_SECONDS;

/// Returns when the link must be renewed with a new consent. Granular scopes
/// (such as `users.read`) belong to scoped apps; `read`/`write` to classic ones.
pub fn reauthorize_by(link: &LinkRecord) -> i64 {
    let scoped = link
        .scope
        .split_whitespace()
        .any(|scope| scope.contains('.'));
    let window = if scoped {
        REAUTHORIZE_SCOPED_SECONDS
    } else {
        REAUTHORIZE_CLASSIC_SECONDS
    };
    link.linked_at.saturating_add(window)
}

/// Counts of what one maintenance run did, for the log and for tests.
#[derive(Debug, Default)]
struct Summary {
    checked: u64,
    removed_inactive_users: u64,
    removed_unusable: u64,
    refreshed: u64,
    revoked: u64,
    failed: u64,
    warned: u64,
}

/// Checks every link: removes those of deleted or deactivated users and
/// those sealed with another key or OAuth app (telling the user), refreshes
/// tokens that went unused for a week, and warns users whose
/// re-authorization window closes within two weeks.
pub async fn run(context: &Context<'_>) -> Value {
    let mut summary = Summary::default();
    if !context.config.is_configured() {
        return json!({ "skipped": "not configured" });
    }
    let keys = match context.host.kv_keys_with_prefix(LINK_KEY_PREFIX) {
        Ok(keys) => keys,
        Err(error) => {
            context.host.log(
                LogLevel::Error,
                "Link maintenance could not list the links",
                &[("error", &error.to_string())],
            );
            return json!({ "error": error.to_string() });
        }
    };
    for key in keys {
        let user_id = &key[LINK_KEY_PREFIX.len()..];
        summary.checked += 1;
        check_link(context, user_id, &mut summary).await;
    }
    let counts = format!("{summary:?}");
    context.host.log(
        LogLevel::Info,
        "Link maintenance finished",
        &[("summary", &counts)],
    );
    json!({
        "checked": summary.checked,
        "removed_inactive_users": summary.removed_inactive_users,
        "removed_unusable": summary.removed_unusable,
        "refreshed": summary.refreshed,
        "revoked": summary.revoked,
        "failed": summary.failed,
        "warned": summary.warned,
    })
}

async fn check_link(context: &Context<'_>, user_id: &str, summary: &mut Summary) {
    match context.host.get_user(user_id) {
        Ok(Some(user)) if user.delete_at == 0 => {}
        Ok(_) => {
            if let Ok(Unlinked::Removed { .. }) = links::unlink(context, user_id).await {
                summary.removed_inactive_users += 1;
            }
            return;
        }
        Err(error) => {
            summary.failed += 1;
            context.host.log(
                LogLevel::Warn,
                "Link maintenance could not look up a user",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
            return;
        }
    }
    let Ok(Some(stored)) = store::load_stored_link(&context.host, user_id) else {
        return;
    };
    let link = stored.record.clone();
    if let Some(reason) = links::stale_link_reason(context, &link) {
        let removed = context
            .host
            .kv_compare_and_delete(&store::link_key(user_id), &stored.stored)
            .unwrap_or(false);
        if removed {
            let _ = store::release_pagerduty_user(&context.host, &link.pagerduty_user_id, user_id);
            links::publish_status(context, user_id, None);
            summary.removed_unusable += 1;
            context.send_direct_message(
                user_id,
                &format!(
                    "Your link to the PagerDuty user **{}** can no longer be used because {reason}, so it was removed. Run `/pd connect` to link again.",
                    escape_markdown(&link.name)
                ),
            );
        }
        return;
    }

    let last_refresh = link.refreshed_at.unwrap_or(link.linked_at);
    if unix_now() - last_refresh >= KEEPALIVE_SECONDS {
        match tokens::valid_access_token(context, user_id, true).await {
            Ok(_) => summary.refreshed += 1,
            Err(TokenProblem::Revoked) => {
                summary.revoked += 1;
                return;
            }
            Err(_) => summary.failed += 1,
        }
    }
    warn_before_reauthorization(context, user_id, summary);
}

fn warn_before_reauthorization(context: &Context<'_>, user_id: &str, summary: &mut Summary) {
    let Ok(Some(stored)) = store::load_stored_link(&context.host, user_id) else {
        return;
    };
    let link = &stored.record;
    let deadline = reauthorize_by(link);
    if link.reauthorize_notice_sent || unix_now() < deadline - REAUTHORIZE_NOTICE_SECONDS {
        return;
    }
    let mut updated = link.clone();
    updated.reauthorize_notice_sent = true;
    // Only the request that records the notice sends it, so it goes out once.
    if let Ok(true) = store::replace_link(&context.host, &stored, &updated) {
        summary.warned += 1;
        context.send_direct_message(
            user_id,
            &format!(
                "PagerDuty requires a new authorization for your link to **{}** by {}. Run `/pd disconnect` and then `/pd connect` before then to keep it working.",
                escape_markdown(&link.name),
                format_utc(deadline)
            ),
        );
    }
}

/// Re-seals every link sealed with `old_key` with `new_key`, after an admin
/// changed the encryption key. Links that `old_key` cannot open stay as they
/// are; maintenance removes them and sends their users a direct message. Returns how many
/// links were re-encrypted.
pub fn reencrypt_links(
    context: &Context<'_>,
    old_key: &EncryptionKey,
    new_key: &EncryptionKey,
) -> u64 {
    let keys = match context.host.kv_keys_with_prefix(LINK_KEY_PREFIX) {
        Ok(keys) => keys,
        Err(error) => {
            context.host.log(
                LogLevel::Error,
                "Re-encrypting links failed: could not list them",
                &[("error", &error.to_string())],
            );
            return 0;
        }
    };
    let old_fingerprint = old_key.fingerprint();
    let mut count = 0;
    for key in keys {
        let user_id = &key[LINK_KEY_PREFIX.len()..];
        let Ok(Some(stored)) = store::load_stored_link(&context.host, user_id) else {
            continue;
        };
        let link = &stored.record;
        if link.key_fingerprint != old_fingerprint {
            continue;
        }
        let Ok(access) = link.access_token(old_key) else {
            continue;
        };
        let refresh = match &link.refresh_token {
            Some(sealed) => match old_key.open(sealed, &seal_context("refresh_token", user_id)) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                Err(_) => continue,
            },
            None => None,
        };
        let mut updated = link.clone();
        updated.access_token = LinkRecord::seal_access_token(new_key, user_id, &access);
        updated.refresh_token =
            refresh.map(|token| LinkRecord::seal_refresh_token(new_key, user_id, &token));
        updated.key_fingerprint = new_key.fingerprint();
        if let Ok(true) = store::replace_link(&context.host, &stored, &updated) {
            count += 1;
        }
    }
    context.host.log(
        LogLevel::Info,
        "Re-encrypted links with the new encryption key",
        &[("links", &count.to_string())],
    );
    count
}
