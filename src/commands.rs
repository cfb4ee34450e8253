//! The `/pd` slash command: one table drives parsing, help and autocomplete.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::core::Context;
use crate::host::LogLevel;
use crate::links::Unlinked;
use crate::store;
use crate::text::escape_markdown;
use crate::tokens::TokenProblem;

/// The slash command's trigger word.
pub const TRIGGER: &str = "pd";

/// `model.CommandArgs` fields that the core reads.
#[derive(Debug, Clone, Deserialize)]
pub struct CommandArgs {
    pub user_id: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub trigger_id: String,
    pub command: String,
}

/// `model.CommandResponse`, always ephemeral: only the caller sees replies.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandResponse {
    pub response_type: &'static str,
    pub text: String,
}

impl CommandResponse {
    pub fn ephemeral(text: impl Into<String>) -> Self {
        CommandResponse {
            response_type: "ephemeral",
            text: text.into(),
        }
    }
}

/// The users allowed to run a subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    SystemAdmin,
}

/// A subcommand of `/pd`.
pub struct Subcommand {
    pub name: &'static str,
    pub description: &'static str,
    pub audience: Audience,
    /// Shown only once the plugin is configured.
    pub needs_configuration: bool,
    /// A username argument that system admins may add to act on another
    /// user, with what it does, such as `/pd disconnect @user`.
    pub admin_argument: Option<(&'static str, &'static str)>,
    handler: fn(&Context<'_>, &CommandArgs) -> CommandResponse,
}

/// Every subcommand, in the order help lists them.
pub const SUBCOMMANDS: &[Subcommand] = &[
    Subcommand {
        name: "connect",
        description: "Link your Mattermost account to your PagerDuty account",
        audience: Audience::Everyone,
        needs_configuration: true,
        admin_argument: None,
        handler: connect,
    },
    Subcommand {
        name: "disconnect",
        description: "Unlink your PagerDuty account and delete its tokens",
        audience: Audience::Everyone,
        needs_configuration: true,
        admin_argument: Some((
            "@user",
            "Remove another user's link, for offboarding (system admins)",
        )),
        handler: disconnect,
    },
    Subcommand {
        name: "status",
        description: "Show which PagerDuty account you are linked to",
        audience: Audience::Everyone,
        needs_configuration: true,
        admin_argument: None,
        handler: status,
    },
    Subcommand {
        name: "links",
        description: "List who is linked to which PagerDuty user (system admins)",
        audience: Audience::SystemAdmin,
        needs_configuration: false,
        admin_argument: None,
        handler: crate::admin::list_links,
    },
    Subcommand {
        name: "configure",
        description: "Enter the PagerDuty OAuth app's Client ID and Client Secret (system admins)",
        audience: Audience::SystemAdmin,
        needs_configuration: false,
        admin_argument: None,
        handler: crate::dialog::open,
    },
    Subcommand {
        name: "help",
        description: "Show the commands you can use",
        audience: Audience::Everyone,
        needs_configuration: false,
        admin_argument: None,
        handler: help,
    },
];

fn is_visible(subcommand: &Subcommand, is_admin: bool, configured: bool) -> bool {
    (subcommand.audience == Audience::Everyone || is_admin)
        && (!subcommand.needs_configuration || configured)
}

/// Lists the subcommands this user can use now.
pub fn help_text(is_admin: bool, configured: bool) -> String {
    let mut text = String::from("PagerDuty commands:\n");
    for subcommand in SUBCOMMANDS
        .iter()
        .filter(|subcommand| is_visible(subcommand, is_admin, configured))
    {
        text.push_str(&format!(
            "* `/{TRIGGER} {}`: {}\n",
            subcommand.name, subcommand.description
        ));
        if let (true, Some((argument, description))) = (is_admin, subcommand.admin_argument) {
            text.push_str(&format!(
                "* `/{TRIGGER} {} {argument}`: {description}\n",
                subcommand.name
            ));
        }
    }
    if !configured {
        if is_admin {
            text.push_str("\nThe plugin is not configured yet. Run `/pd configure` to enter the PagerDuty OAuth app's credentials.");
        } else {
            text.push_str("\nThe plugin is not configured yet, so linking accounts is not available. Ask a system admin to run `/pd configure`.");
        }
    }
    text
}

/// Builds the `model.Command` to register: autocomplete lists `help` for
/// everyone and `configure` for system admins, plus `connect` and
/// `disconnect` once the plugin is configured.
pub fn command_definition(configured: bool) -> Value {
    let subcommands: Vec<Value> = SUBCOMMANDS
        .iter()
        .filter(|subcommand| !subcommand.needs_configuration || configured)
        .map(|subcommand| {
            json!({
                "Trigger": subcommand.name,
                "Hint": "",
                "HelpText": subcommand.description,
                "RoleID": match subcommand.audience {
                    Audience::Everyone => "system_user",
                    Audience::SystemAdmin => "system_admin",
                },
                "Arguments": [],
                "SubCommands": [],
            })
        })
        .collect();
    // The hint is shown to everyone, so it names only what everyone can run.
    let names: Vec<&str> = SUBCOMMANDS
        .iter()
        .filter(|subcommand| is_visible(subcommand, false, configured))
        .map(|subcommand| subcommand.name)
        .collect();
    let hint = format!("[{}]", names.join("|"));
    json!({
        "trigger": TRIGGER,
        "display_name": "PagerDuty",
        "description": "Link your Mattermost account with PagerDuty",
        "auto_complete": true,
        "auto_complete_desc": "Link your Mattermost account with PagerDuty",
        "auto_complete_hint": hint,
        "autocomplete_data": {
            "Trigger": TRIGGER,
            "Hint": hint,
            "HelpText": "Link your Mattermost account with PagerDuty",
            // Mattermost shows a command to a role when RoleID names it;
            // system admins see every role's commands.
            "RoleID": "system_user",
            "Arguments": [],
            "SubCommands": subcommands,
        },
    })
}

/// Runs one `/pd …` command.
pub fn execute(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    let mut words = args.command.split_whitespace();
    let trigger = words.next().unwrap_or_default();
    if !trigger.eq_ignore_ascii_case(&format!("/{TRIGGER}")) {
        return CommandResponse::ephemeral(format!(
            "This plugin handles `/{TRIGGER}`, not `{trigger}`."
        ));
    }
    let name = words.next().unwrap_or("help").to_ascii_lowercase();
    let extra: Vec<&str> = words.collect();

    let Some(subcommand) = SUBCOMMANDS
        .iter()
        .find(|subcommand| subcommand.name == name)
    else {
        return unknown(context, args, &name);
    };
    if !extra.is_empty() {
        let Some((argument, _)) = subcommand.admin_argument else {
            return CommandResponse::ephemeral(format!(
                "`/{TRIGGER} {name}` takes no arguments. Run `/{TRIGGER} {name}` on its own."
            ));
        };
        if extra.len() != 1 {
            return CommandResponse::ephemeral(format!(
                "`/{TRIGGER} {name}` takes at most one argument: `/{TRIGGER} {name} {argument}`."
            ));
        }
        match context.is_system_admin(&args.user_id) {
            Ok(true) => return crate::admin::disconnect_user(context, args, extra[0]),
            Ok(false) => {
                return CommandResponse::ephemeral(format!(
                    "Only a system admin can run `/{TRIGGER} {name} {argument}`. Run `/{TRIGGER} {name}` to remove your own link."
                ))
            }
            Err(error) => {
                return context.internal_error_reply("check permissions", &args.user_id, &error)
            }
        }
    }
    if subcommand.audience == Audience::SystemAdmin {
        match context.is_system_admin(&args.user_id) {
            Ok(true) => {}
            Ok(false) => {
                return CommandResponse::ephemeral(format!(
                    "Only a system admin can run `/{TRIGGER} {name}`. Ask a system admin to run it."
                ))
            }
            Err(error) => {
                return context.internal_error_reply("check permissions", &args.user_id, &error)
            }
        }
    }
    (subcommand.handler)(context, args)
}

fn is_admin(context: &Context<'_>, user_id: &str) -> bool {
    match context.is_system_admin(user_id) {
        Ok(allowed) => allowed,
        Err(error) => {
            context.host.log(
                LogLevel::Warn,
                "Permission check failed; showing the non-admin command list",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
            false
        }
    }
}

fn help(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    let is_admin = is_admin(context, &args.user_id);
    CommandResponse::ephemeral(help_text(is_admin, context.config.is_configured()))
}

fn unknown(context: &Context<'_>, args: &CommandArgs, name: &str) -> CommandResponse {
    let is_admin = is_admin(context, &args.user_id);
    let list = help_text(is_admin, context.config.is_configured());
    let name: String = name.chars().take(40).collect();
    CommandResponse::ephemeral(format!(
        "Unknown command `/{TRIGGER} {}`.\n\n{list}",
        name.replace('`', "")
    ))
}

/// Returns the reply for a user who cannot connect yet, or `None` when they can.
fn configuration_blocker(context: &Context<'_>, user_id: &str) -> Option<CommandResponse> {
    if context.config.is_configured() {
        return None;
    }
    let admin = is_admin(context, user_id);
    let text = match (admin, context.config.has_credentials()) {
        (true, true) => format!(
            "The PagerDuty plugin settings have a problem: {}. Fix it in System Console > Plugins > PagerDuty or run `/pd configure`.",
            context.config.problems.join("; ")
        ),
        (true, false) => "PagerDuty is not configured yet. Run `/pd configure` to enter the PagerDuty OAuth app's Client ID and Client Secret.".to_string(),
        (false, _) => "PagerDuty is not configured yet. Ask a system admin to run `/pd configure`.".to_string(),
    };
    Some(CommandResponse::ephemeral(text))
}

/// Returns the reply that explains a missing Site URL.
pub fn no_site_url_reply(is_admin: bool) -> CommandResponse {
    let next_step = if is_admin {
        "Set it in System Console > Environment > Web Server > Site URL, then run the command again."
    } else {
        "Ask a system admin to set it in System Console > Environment > Web Server > Site URL."
    };
    CommandResponse::ephemeral(format!(
        "Mattermost's Site URL is not set. PagerDuty sends you back to a redirect URI built from it. {next_step}"
    ))
}

fn connect(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    if let Some(reply) = configuration_blocker(context, &args.user_id) {
        return reply;
    }
    let mut notice = String::new();
    match store::load_link(&context.host, &args.user_id) {
        Ok(Some(link)) => match crate::links::stale_link_reason(context, &link) {
            None => {
                return CommandResponse::ephemeral(format!(
                    "You are already linked to the PagerDuty user **{}** ({}). To link a different PagerDuty account, run `/pd disconnect` and then `/pd connect`.",
                    escape_markdown(&link.name),
                    escape_markdown(&link.email)
                ))
            }
            Some(reason) => {
                if let Err(error) = store::delete_link(&context.host, &args.user_id) {
                    return context.internal_error_reply("remove your old link", &args.user_id, &error);
                }
                crate::links::publish_status(context, &args.user_id, None);
                context.host.log(
                    LogLevel::Info,
                    "Removed a link that can no longer be used",
                    &[("user_id", &args.user_id), ("reason", reason)],
                );
                notice = format!(
                    "Your link to the PagerDuty user **{}** could no longer be used because {reason}, so it was removed.\n",
                    escape_markdown(&link.name)
                );
            }
        },
        Ok(None) => {}
        Err(store::RecordError::Host(error)) => {
            return context.internal_error_reply("read your link", &args.user_id, &error)
        }
        Err(error) => {
            context.host.log(
                LogLevel::Warn,
                "Stored link is unreadable; offering to connect again",
                &[("user_id", &args.user_id), ("error", &error.to_string())],
            );
        }
    }
    let site_url = match context.host.site_url() {
        Ok(Some(site_url)) => site_url,
        Ok(None) => return no_site_url_reply(is_admin(context, &args.user_id)),
        Err(error) => {
            return context.internal_error_reply("read the Site URL", &args.user_id, &error)
        }
    };
    let connect_url = format!("{site_url}/plugins/{}/oauth/connect", crate::PLUGIN_ID);
    CommandResponse::ephemeral(format!(
        "{notice}[Connect your PagerDuty account]({connect_url}). The link opens PagerDuty, where you sign in and grant access; then you come back here."
    ))
}

/// Where a user can remove the app's access in PagerDuty when the plugin's
/// own revocation request did not go through.
pub const REVOKE_ELSEWHERE: &str = "PagerDuty did not confirm revoking the tokens; a PagerDuty admin can revoke all of this app's tokens in PagerDuty under Integrations > App Registration.";

fn disconnect(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    let user_id = args.user_id.as_str();
    let text = match context.block_on(crate::links::unlink(context, user_id)) {
        Ok(Unlinked::NotLinked) => {
            "Your Mattermost account is not linked to PagerDuty. Run `/pd connect` to link it."
                .to_string()
        }
        Ok(Unlinked::Removed { link, revoked }) => {
            let mut text = match link {
                Some(link) => format!(
                    "Disconnected from the PagerDuty user **{}** ({}). The stored tokens were deleted.",
                    escape_markdown(&link.name),
                    escape_markdown(&link.email)
                ),
                None => "Disconnected from PagerDuty. The stored tokens were deleted.".to_string(),
            };
            if !revoked {
                text.push(' ');
                text.push_str(REVOKE_ELSEWHERE);
            }
            text.push_str(" Run `/pd connect` to link again.");
            text
        }
        Err(error) => return context.internal_error_reply("remove your link", user_id, &error),
    };
    CommandResponse::ephemeral(text)
}

fn status(context: &Context<'_>, args: &CommandArgs) -> CommandResponse {
    let user_id = args.user_id.as_str();
    let link = match store::load_link(&context.host, user_id) {
        Ok(Some(link)) => link,
        Ok(None) => {
            return CommandResponse::ephemeral(
                "Your Mattermost account is not linked to PagerDuty. Run `/pd connect` to link it.",
            )
        }
        Err(store::RecordError::Host(error)) => {
            return context.internal_error_reply("read your link", user_id, &error)
        }
        Err(error) => {
            context.host.log(
                LogLevel::Warn,
                "Stored link is unreadable",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
            return CommandResponse::ephemeral(
                "Your stored PagerDuty link cannot be read by this plugin version. Run `/pd disconnect` and then `/pd connect` to link again.",
            );
        }
    };
    let mut text = format!(
        "You are linked to the PagerDuty user **{}** ({}) in the PagerDuty account **{}**.\n* Service region: {}\n* Granted scope: `{}`\n* Linked since: {}\n",
        escape_markdown(&link.name),
        escape_markdown(&link.email),
        escape_markdown(&crate::links::account_of(&link.html_url)),
        crate::links::region_name(&link),
        link.scope.replace('`', ""),
        crate::text::format_utc(link.linked_at),
    );
    match link.expires_at {
        Some(expires_at) => text.push_str(&format!(
            "* Access token expires: {}\n",
            crate::text::format_utc(expires_at)
        )),
        None => text.push_str("* Access token expires: PagerDuty did not say\n"),
    }
    let check = context.block_on(crate::tokens::fetch_linked_user(context, user_id));
    let verdict = match check {
        Ok(Ok(_)) => "PagerDuty confirmed that the link works.".to_string(),
        Ok(Err(error)) => {
            context.host.log(
                LogLevel::Warn,
                "Checking the link with PagerDuty failed",
                &[("user_id", user_id), ("error", &error.to_string())],
            );
            "PagerDuty could not confirm the link right now. Try `/pd status` again in a minute; if it keeps failing, run `/pd connect`.".to_string()
        }
        Err(TokenProblem::Unusable(reason)) => format!(
            "This link can no longer be used because {reason}. Run `/pd connect` to link again."
        ),
        Err(TokenProblem::Revoked) => "PagerDuty no longer accepts this link's tokens, so the link was removed. Run `/pd connect` to link again.".to_string(),
        Err(TokenProblem::NotLinked) => "The link was removed meanwhile. Run `/pd connect` to link again.".to_string(),
        Err(TokenProblem::Unavailable(cause)) => {
            context.host.log(
                LogLevel::Warn,
                "Checking the link with PagerDuty failed",
                &[("user_id", user_id), ("error", &cause)],
            );
            "PagerDuty could not be reached to check the link. Try `/pd status` again in a minute.".to_string()
        }
    };
    text.push('\n');
    text.push_str(&verdict);
    CommandResponse::ephemeral(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_before_configuration_hides_connect() {
        let text = help_text(false, false);
        assert!(text.contains("/pd help"));
        assert!(!text.contains("/pd connect"));
        assert!(!text.contains("* `/pd configure`"));
        assert!(text.contains("Ask a system admin"));
    }

    #[test]
    fn help_for_admin_lists_configure() {
        let text = help_text(true, false);
        assert!(text.contains("/pd configure"));
        assert!(text.contains("Run `/pd configure`"));
    }

    #[test]
    fn help_after_configuration_lists_connect() {
        let text = help_text(false, true);
        assert!(text.contains("/pd connect"));
        assert!(text.contains("/pd disconnect"));
        assert!(!text.contains("* `/pd configure`"));
    }

    #[test]
    fn autocomplete_follows_configuration() {
        let names = |definition: Value| -> Vec<(String, String)> {
            definition["autocomplete_data"]["SubCommands"]
                .as_array()
                .unwrap()
                .iter()
                .map(|entry| {
                    (
                        entry["Trigger"].as_str().unwrap().to_string(),
                        entry["RoleID"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        };
        let before = names(command_definition(false));
        assert_eq!(
            before,
            vec![
                ("links".to_string(), "system_admin".to_string()),
                ("configure".to_string(), "system_admin".to_string()),
                ("help".to_string(), "system_user".to_string())
            ]
        );
        let after = names(command_definition(true));
        assert!(after.contains(&("connect".to_string(), "system_user".to_string())));
        assert!(after.contains(&("disconnect".to_string(), "system_user".to_string())));
    }
}
