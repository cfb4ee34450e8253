//! The OAuth 2.0 authorization code flow with PKCE (RFC 6749, RFC 7636)
//! against PagerDuty's identity service.
//!
//! `GET /oauth/connect` creates a state and a PKCE code verifier and sends the
//! browser to PagerDuty's consent page. `GET /oauth/complete` is the redirect
//! URI: it exchanges the authorization code and stores the link.

use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, RequestTokenError, Scope,
    TokenResponse,
};

use crate::client::{
    api_host_from_html_url, describe_token_error, oauth_client, parse_id_token,
    PagerDutyTokenResponse, TokenError,
};
use crate::core::Context;
use crate::crypto::random_token;
use crate::host::LogLevel;
use crate::http::{parse_query, HttpRequest, HttpResponse};
use crate::pagerduty::{self, ApiError};
use crate::pages::{page, page_closing_popup};
use crate::store::{self, seal_context, unix_now, LinkRecord, StateRecord, RECORD_VERSION};
use crate::text::escape_markdown;

/// Length of a state value: 256 random bits in unpadded base64url.
const STATE_LENGTH: usize = 43;

/// Returns whether `state` has the shape [`random_token`] produces, so
/// anything else is rejected before the KV store is read.
pub fn is_valid_state_format(state: &str) -> bool {
    state.len() == STATE_LENGTH
        && state
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

fn not_configured_page() -> HttpResponse {
    page(
        503,
        "PagerDuty is not configured",
        &["A system admin needs to run /pd configure before accounts can be linked. Close this window and ask a system admin."],
    )
}

fn sign_in_page() -> HttpResponse {
    page(
        401,
        "Sign in to Mattermost first",
        &["This page needs your Mattermost session. Sign in to Mattermost in this browser, then run /pd connect again."],
    )
}

fn no_site_url_page() -> HttpResponse {
    page(
        503,
        "Mattermost's Site URL is not set",
        &["The OAuth redirect URI is built from the Site URL. A system admin needs to set it in System Console > Environment > Web Server; then run /pd connect again."],
    )
}

/// Handles `GET /oauth/connect`: starts a flow for the session's user.
pub fn connect(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    let user_id = request.user_id.as_str();
    if user_id.is_empty() {
        return sign_in_page();
    }
    let config = &context.config;
    let Some(key) = config
        .encryption_key
        .as_ref()
        .filter(|_| config.is_configured())
    else {
        return not_configured_page();
    };
    let site_url = match context.host.site_url() {
        Ok(Some(site_url)) => site_url,
        Ok(None) => return no_site_url_page(),
        Err(error) => return context.internal_error_page("read the Site URL", user_id, &error),
    };
    let client = match oauth_client(config, Some(&site_url)) {
        Ok(client) => client,
        Err(problem) => {
            return context.internal_error_page("build the OAuth client", user_id, &problem)
        }
    };

    let state = random_token();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let record = StateRecord {
        version: RECORD_VERSION,
        user_id: user_id.to_string(),
        code_verifier: key.seal(
            verifier.secret().as_bytes(),
            &seal_context("code_verifier", user_id),
        ),
        created_at: unix_now(),
    };
    if let Err(error) = store::save_state(&context.host, &state, &record) {
        return context.internal_error_page("save the OAuth state", user_id, &error);
    }

    let (authorize_url, _) = client
        .authorize_url(|| CsrfToken::new(state))
        .add_scopes(config.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    HttpResponse::redirect(authorize_url.as_str())
}

/// Returns whether the granted scopes include every requested one; `write`
/// covers `read`, as PagerDuty documents for classic apps.
pub fn scopes_cover(requested: &[String], granted: &[String]) -> bool {
    requested.iter().all(|wanted| {
        granted.iter().any(|scope| scope == wanted)
            || (wanted == "read" && granted.iter().any(|scope| scope == "write"))
    })
}

/// Handles `GET /oauth/complete`, the redirect URI.
pub async fn complete(context: &Context<'_>, request: &HttpRequest) -> HttpResponse {
    let user_id = request.user_id.as_str();
    if user_id.is_empty() {
        return sign_in_page();
    }
    let config = &context.config;
    let Some(key) = config
        .encryption_key
        .as_ref()
        .filter(|_| config.is_configured())
    else {
        return not_configured_page();
    };
    let parameters = match parse_query(&request.query) {
        Ok(parameters) => parameters,
        Err(error) => {
            return page(
                400,
                "Invalid request",
                &[&format!(
                    "This link is not valid: {error}. Run /pd connect again."
                )],
            )
        }
    };

    let state = parameters.get("state").map(String::as_str).unwrap_or("");
    if !is_valid_state_format(state) {
        return page(
            400,
            "Invalid or missing state",
            &["This link did not come from a /pd connect started here, or it was changed on the way. Run /pd connect again."],
        );
    }
    let stored = match store::load_state(&context.host, state) {
        Ok(Some(stored)) => stored,
        Ok(None) => {
            return page(
                400,
                "This link has expired or was already used",
                &["Each /pd connect link works once and for 10 minutes. Run /pd connect again."],
            )
        }
        Err(error) => return context.internal_error_page("read the OAuth state", user_id, &error),
    };
    if stored.record.user_id != user_id {
        context.host.log(
            LogLevel::Warn,
            "OAuth callback rejected: the state belongs to another user",
            &[
                ("user_id", user_id),
                ("state_user_id", &stored.record.user_id),
            ],
        );
        return page(
            403,
            "This link belongs to another Mattermost account",
            &["The PagerDuty authorization was started by a different Mattermost user. Sign in as yourself and run /pd connect."],
        );
    }
    match store::consume_state(&context.host, state, &stored) {
        Ok(true) => {}
        Ok(false) => {
            return page(
                400,
                "This link was already used",
                &["Each /pd connect link works once. Run /pd connect again."],
            )
        }
        Err(error) => {
            return context.internal_error_page("consume the OAuth state", user_id, &error)
        }
    }

    if let Some(error) = parameters.get("error") {
        return authorization_error_page(
            context,
            user_id,
            error,
            parameters.get("error_description"),
        );
    }
    let Some(code) = parameters.get("code").filter(|code| !code.is_empty()) else {
        return page(
            400,
            "PagerDuty sent no authorization code",
            &["Nothing was linked. Run /pd connect again."],
        );
    };

    let verifier = match key.open(
        &stored.record.code_verifier,
        &seal_context("code_verifier", user_id),
    ) {
        Ok(bytes) => PkceCodeVerifier::new(String::from_utf8_lossy(&bytes).into_owned()),
        Err(error) => {
            return context.internal_error_page("decrypt the PKCE code verifier", user_id, &error)
        }
    };
    let site_url = match context.host.site_url() {
        Ok(Some(site_url)) => site_url,
        Ok(None) => return no_site_url_page(),
        Err(error) => return context.internal_error_page("read the Site URL", user_id, &error),
    };
    let client = match oauth_client(config, Some(&site_url)) {
        Ok(client) => client,
        Err(problem) => {
            return context.internal_error_page("build the OAuth client", user_id, &problem)
        }
    };

    let token = match client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(context.http)
        .await
    {
        Ok(token) => token,
        Err(error) => return token_error_page(context, user_id, error),
    };

    finish_link(context, key, user_id, &token).await
}

fn authorization_error_page(
    context: &Context<'_>,
    user_id: &str,
    error: &str,
    description: Option<&String>,
) -> HttpResponse {
    if error == "access_denied" {
        context.host.log(
            LogLevel::Info,
            "PagerDuty authorization denied by the user",
            &[("user_id", user_id)],
        );
        return page_closing_popup(
            400,
            "PagerDuty access was not granted",
            &["You declined the authorization in PagerDuty, so nothing was linked. Run /pd connect when you want to link your account."],
        );
    }
    context.host.log(
        LogLevel::Warn,
        "PagerDuty authorization returned an error",
        &[("user_id", user_id), ("error", error)],
    );
    let detail = match description {
        Some(description) if !description.is_empty() => {
            format!("PagerDuty returned the error {error}: {description}")
        }
        _ => format!("PagerDuty returned the error {error}."),
    };
    page(
        400,
        "PagerDuty authorization failed",
        &[&detail, "Nothing was linked. Run /pd connect again; if it keeps failing, ask a system admin to check the PagerDuty OAuth app."],
    )
}

fn token_error_page(context: &Context<'_>, user_id: &str, error: TokenError) -> HttpResponse {
    let advice = match &error {
        RequestTokenError::ServerResponse(response) => match response.error() {
            BasicErrorResponseType::InvalidGrant => "PagerDuty rejected the authorization code. Codes last about 30 seconds and work once. Run /pd connect again.",
            BasicErrorResponseType::InvalidClient | BasicErrorResponseType::UnauthorizedClient => "PagerDuty rejected the plugin's Client ID or Client Secret. Ask a system admin to check them with /pd configure, then run /pd connect again.",
            _ => "PagerDuty rejected the token request. Run /pd connect again; if it keeps failing, ask a system admin to check the PagerDuty OAuth app.",
        },
        RequestTokenError::Request(_) => "PagerDuty could not be reached. Try /pd connect again in a minute.",
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => "PagerDuty sent an unexpected reply. Try /pd connect again in a minute.",
    };
    context.host.log(
        LogLevel::Error,
        "OAuth code exchange failed",
        &[
            ("user_id", user_id),
            ("error", &describe_token_error(&error)),
        ],
    );
    page(
        502,
        "Linking to PagerDuty failed",
        &[advice, "Nothing was linked."],
    )
}

async fn finish_link(
    context: &Context<'_>,
    key: &crate::crypto::EncryptionKey,
    user_id: &str,
    token: &PagerDutyTokenResponse,
) -> HttpResponse {
    let config = &context.config;
    let granted: Vec<String> = match token.scopes() {
        Some(scopes) => scopes.iter().map(|scope| scope.to_string()).collect(),
        // RFC 6749 section 5.1: an omitted scope means the requested one.
        None => config.scopes.clone(),
    };
    if !scopes_cover(&config.scopes, &granted) {
        let requested = config.scope_string();
        let granted_text = granted.join(" ");
        context.host.log(
            LogLevel::Warn,
            "PagerDuty granted fewer scopes than requested",
            &[
                ("user_id", user_id),
                ("requested", &requested),
                ("granted", &granted_text),
            ],
        );
        return page(
            502,
            "PagerDuty granted too little access",
            &[
                &format!("The plugin requested the scope \"{requested}\" but PagerDuty granted only \"{granted_text}\"."),
                "Nothing was linked. A system admin should check that the OAuth app in PagerDuty offers the scope set in System Console > Plugins > PagerDuty, then run /pd connect again.",
            ],
        );
    }

    let claims = token
        .extra_fields()
        .id_token
        .as_deref()
        .and_then(parse_id_token)
        .unwrap_or_default();
    let access_token = token.access_token().secret();
    let api_base = config.api_base_for(claims.api_host.as_deref());
    let user = match pagerduty::current_user(context.http, &api_base, access_token).await {
        Ok(user) => user,
        Err(error) => return api_error_page(context, user_id, &error),
    };
    let account = claims
        .subdomain
        .clone()
        .unwrap_or_else(|| crate::links::account_of(&user.html_url))
        .to_ascii_lowercase();
    if let Some(allowed) = &config.allowed_subdomain {
        if &account != allowed {
            context.host.log(
                LogLevel::Warn,
                "Link rejected: PagerDuty account is not the allowed one",
                &[
                    ("user_id", user_id),
                    ("account", &account),
                    ("allowed", allowed),
                ],
            );
            return page(
                403,
                "This PagerDuty account is not allowed",
                &[
                    &format!("You signed in to the PagerDuty account \"{account}\", but this Mattermost server links only accounts of \"{allowed}\"."),
                    "Nothing was linked. Sign out of PagerDuty, then run /pd connect again and sign in with your account in the allowed organization.",
                ],
            );
        }
    }
    match store::claim_pagerduty_user(&context.host, &user.id, user_id) {
        Ok(None) => {}
        Ok(Some(owner)) => {
            context.host.log(
                LogLevel::Warn,
                "Link rejected: PagerDuty user already linked to another Mattermost user",
                &[
                    ("user_id", user_id),
                    ("pagerduty_user_id", &user.id),
                    ("owner_user_id", &owner),
                ],
            );
            return page(
                409,
                "This PagerDuty user is already linked",
                &[
                    "This PagerDuty user is linked to another Mattermost account, and each PagerDuty user can be linked to only one.",
                    "Nothing was linked. The other account can run /pd disconnect, or a system admin can remove that link.",
                ],
            );
        }
        Err(error) => {
            return context.internal_error_page("reserve the PagerDuty user", user_id, &error)
        }
    }
    // A relink to a different PagerDuty user frees the previous one.
    if let Ok(Some(previous)) = store::load_link(&context.host, user_id) {
        if previous.pagerduty_user_id != user.id {
            let _ =
                store::release_pagerduty_user(&context.host, &previous.pagerduty_user_id, user_id);
        }
    }
    let region_host = claims
        .api_host
        .clone()
        .or_else(|| api_host_from_html_url(&user.html_url).map(str::to_string));

    let now = unix_now();
    let link = LinkRecord {
        version: RECORD_VERSION,
        mattermost_user_id: user_id.to_string(),
        pagerduty_user_id: user.id.clone(),
        name: truncate(&user.name),
        email: truncate(&user.email),
        html_url: truncate(&user.html_url),
        scope: granted.join(" "),
        access_token: LinkRecord::seal_access_token(key, user_id, access_token),
        refresh_token: token
            .refresh_token()
            .map(|refresh| LinkRecord::seal_refresh_token(key, user_id, refresh.secret())),
        expires_at: token
            .expires_in()
            .map(|lifetime| now.saturating_add(lifetime.as_secs().min(i64::MAX as u64) as i64)),
        linked_at: now,
        client_id: config
            .client_id
            .as_ref()
            .map(|id| id.as_str().to_string())
            .unwrap_or_default(),
        key_fingerprint: key.fingerprint(),
        api_url: region_host,
        account_id: claims.account_id.clone(),
        subdomain: Some(account.clone()).filter(|account| !account.is_empty()),
        refreshed_at: None,
        reauthorize_notice_sent: false,
    };
    if let Err(error) = store::save_link(&context.host, &link) {
        return context.internal_error_page("save the link", user_id, &error);
    }
    context.host.log(
        LogLevel::Info,
        "Linked a Mattermost user to PagerDuty",
        &[("user_id", user_id), ("pagerduty_user_id", &user.id)],
    );

    let message = format!(
        "Your Mattermost account is now linked to the PagerDuty user **{}** ({}). Run `/pd disconnect` to unlink it.",
        escape_markdown(&link.name),
        escape_markdown(&link.email)
    );
    context.send_direct_message(user_id, &message);
    crate::links::publish_status(context, user_id, Some(&link));

    page_closing_popup(
        200,
        "Linked to PagerDuty",
        &[
            &format!(
                "Your Mattermost account is now linked to the PagerDuty user {} ({}).",
                link.name, link.email
            ),
            "You can close this window and return to Mattermost.",
        ],
    )
}

/// Longest PagerDuty name, email or URL kept, in characters, so a hostile
/// value cannot bloat pages, posts or records.
const MAX_PROFILE_FIELD_CHARS: usize = 256;

fn truncate(value: &str) -> String {
    value.chars().take(MAX_PROFILE_FIELD_CHARS).collect()
}

fn api_error_page(context: &Context<'_>, user_id: &str, error: &ApiError) -> HttpResponse {
    context.host.log(
        LogLevel::Error,
        "Reading the PagerDuty user failed",
        &[("user_id", user_id), ("error", &error.to_string())],
    );
    let advice = match error {
        ApiError::Status { status: 401, .. } => "PagerDuty did not accept the new access token. Run /pd connect again.".to_string(),
        ApiError::Status { status: 403, required_scopes, .. } => format!(
            "The access token lacks a scope PagerDuty requires ({}). A system admin should add it to the scope in System Console > Plugins > PagerDuty, then run /pd connect again.",
            if required_scopes.is_empty() { "not named".to_string() } else { required_scopes.join(", ") }
        ),
        ApiError::Status { status: 429, retry_after, .. } => match retry_after {
            Some(seconds) => format!("PagerDuty's rate limit was reached. Run /pd connect again in {seconds} seconds."),
            None => "PagerDuty's rate limit was reached. Run /pd connect again in a minute.".to_string(),
        },
        _ => "PagerDuty could not be reached or sent an unexpected reply. Try /pd connect again in a minute.".to_string(),
    };
    page(
        502,
        "Linking to PagerDuty failed",
        &[&advice, "Nothing was linked."],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_format_accepts_random_tokens() {
        assert!(is_valid_state_format(&random_token()));
    }

    #[test]
    fn state_format_rejects_other_shapes() {
        assert!(!is_valid_state_format(""));
        assert!(!is_valid_state_format(&"a".repeat(42)));
        assert!(!is_valid_state_format(&"a".repeat(44)));
        assert!(!is_valid_state_format(&format!("{}=", "a".repeat(42))));
        assert!(!is_valid_state_format(&format!("{}/", "a".repeat(42))));
    }

    #[test]
    fn write_covers_read() {
        let requested = vec!["read".to_string()];
        assert!(scopes_cover(&requested, &["openid".into(), "write".into()]));
        assert!(!scopes_cover(&requested, &["openid".into()]));
    }

    #[test]
    fn granular_scopes_must_match() {
        let requested = vec!["users.read".to_string(), "incidents.write".to_string()];
        assert!(scopes_cover(
            &requested,
            &[
                "openid".into(),
                "users.read".into(),
                "incidents.write".into()
            ]
        ));
        assert!(!scopes_cover(
            &requested,
            &["openid".into(), "users.read".into()]
        ));
    }
}
