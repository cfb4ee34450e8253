//! Slash commands for system admins: who is linked, and removing another
//! user's link when they leave. The caller has checked the permission.

use crate::commands::{CommandArgs, CommandResponse, REVOKE_ELSEWHERE};
use crate::core::Context;
use crate::host::LogLevel;
use crate::links::{self, Unlinked};
use crate::store::{self, LINK_KEY_PREFIX};
use crate::text::{escape_markdown, format_utc};

/// Most rows `/pd links` prints; a longer list ends with a count.
const MAX_LISTED_LINKS: usize = 200;

/// Handles `/pd links`: a table of Mattermost users, their PagerDuty users
/// and accounts, and when they linked.
pub fn list_links(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    let keys = match context.host.kv_keys_with_prefix(LINK_KEY_PREFIX) {
        Ok(keys) => keys,
        Err(error) => return context.internal_error_reply("list the links", &args.user_id, &error),
    };
    if keys.is_empty() {
        return CommandResponse::ephemeral("No Mattermost user is linked to PagerDuty yet.");
    }
    let mut text = format!(
        "Mattermost users linked to PagerDuty: {}\n\n| Mattermost user | PagerDuty user | Account | Linked since |\n|---|---|---|---|\n",
        keys.len()
    );
    for key in keys.iter().take(MAX_LISTED_LINKS) {
        let user_id = &key[LINK_KEY_PREFIX.len()..];
        let username = match context.host.get_user(user_id) {
            Ok(Some(user)) => format!("@{}", user.username),
            _ => format!("(user {user_id} not found)"),
        };
        let row = match store::load_link(&context.host, user_id) {
            Ok(Some(link)) => format!(
                "| {} | {} ({}) | {} | {} |\n",
                escape_markdown(&username),
                escape_markdown(&link.name),
                escape_markdown(&link.email),
                escape_markdown(&links::account_of(&link.html_url)),
                format_utc(link.linked_at)
            ),
            // Markdown escapes are literal inside a code span, so the
            // command shows the plain username.
            _ => format!(
                "| {} | (record unreadable; `/pd disconnect {}` removes it) | | |\n",
                escape_markdown(&username),
                username.replace('`', "")
            ),
        };
        text.push_str(&row);
    }
    if keys.len() > MAX_LISTED_LINKS {
        text.push_str(&format!(
            "\nand {} more not shown.",
            keys.len() - MAX_LISTED_LINKS
        ));
    }
    CommandResponse::ephemeral(text)
}

/// Handles `/pd disconnect @user`: removes that user's link and tokens and
/// sends the user a direct message.
pub fn disconnect_user(context: &Context<'_>, args: &CommandArgs, target: &str) -> CommandResponse {
    let username = target.trim_start_matches('@');
    let user = match context.host.get_user_by_username(username) {
        Ok(Some(user)) => user,
        Ok(None) => {
            return CommandResponse::ephemeral(format!(
                "No Mattermost user is called `@{}`. Check the username and run the command again.",
                username.replace('`', "")
            ))
        }
        Err(error) => {
            return context.internal_error_reply("look up the user", &args.user_id, &error)
        }
    };
    let outcome = match context.block_on(links::unlink(context, &user.id)) {
        Ok(outcome) => outcome,
        Err(error) => {
            return context.internal_error_reply("remove the user's link", &args.user_id, &error)
        }
    };
    let mention = escape_markdown(&format!("@{}", user.username));
    let Unlinked::Removed { link, revoked } = outcome else {
        return CommandResponse::ephemeral(format!(
            "{mention} is not linked to PagerDuty, so there is nothing to remove."
        ));
    };
    context.host.log(
        LogLevel::Info,
        "A system admin removed a user's PagerDuty link",
        &[("admin_user_id", &args.user_id), ("user_id", &user.id)],
    );
    let account = link
        .as_ref()
        .map(|link| {
            format!(
                " from the PagerDuty user **{}**",
                escape_markdown(&link.name)
            )
        })
        .unwrap_or_default();
    context.send_direct_message(
        &user.id,
        &format!(
            "A system admin disconnected your Mattermost account{account} and deleted the stored tokens. Run `/pd connect` if you need the link again."
        ),
    );
    let mut reply = format!("Disconnected {mention}{account}. The user was told.");
    if !revoked {
        reply.push(' ');
        reply.push_str(REVOKE_ELSEWHERE);
    }
    CommandResponse::ephemeral(reply)
}
