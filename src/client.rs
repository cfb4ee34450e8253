//! The `oauth2` client for PagerDuty's identity service, shared by the code
//! exchange and the refresh, and the claims of PagerDuty's `id_token`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, EndpointNotSet, EndpointSet, ExtraTokenFields, RedirectUrl,
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::{redirect_uri, Configuration};

/// Fields PagerDuty adds to the token response (RFC 6749 section 5.1 allows them).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PagerDutyTokenFields {
    /// OpenID Connect ID token with the user's account and region.
    #[serde(default)]
    pub id_token: Option<String>,
}

impl ExtraTokenFields for PagerDutyTokenFields {}

pub type PagerDutyTokenResponse = StandardTokenResponse<PagerDutyTokenFields, BasicTokenType>;

pub type PagerDutyClient = oauth2::Client<
    BasicErrorResponse,
    PagerDutyTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A failed request to the token endpoint.
pub type TokenError =
    RequestTokenError<oauth2::HttpClientError<reqwest::Error>, BasicErrorResponse>;

/// Returns whether the token endpoint rejected the grant itself (RFC 6749
/// `invalid_grant`): the code or refresh token is expired, used or revoked.
pub fn is_invalid_grant(error: &TokenError) -> bool {
    matches!(error, RequestTokenError::ServerResponse(response)
        if *response.error() == BasicErrorResponseType::InvalidGrant)
}

/// Describes a token endpoint failure for logs, without any token.
pub fn describe_token_error(error: &TokenError) -> String {
    match error {
        RequestTokenError::ServerResponse(response) => {
            format!("token endpoint error {}", response.error())
        }
        RequestTokenError::Request(oauth2::HttpClientError::Reqwest(inner)) => format!(
            "token request failed: {}",
            crate::pagerduty::describe_reqwest_error(inner)
        ),
        RequestTokenError::Request(other) => format!("token request failed: {other}"),
        RequestTokenError::Parse(parse_error, _) => {
            format!("token response could not be read: {parse_error}")
        }
        RequestTokenError::Other(message) => format!("token request failed: {message}"),
    }
}

/// Builds the client from the settings. `site_url` sets the redirect URI,
/// which the code exchange needs and the refresh does not.
pub fn oauth_client(
    config: &Configuration,
    site_url: Option<&str>,
) -> Result<PagerDutyClient, String> {
    let client_id = config.client_id.clone().ok_or("the Client ID is not set")?;
    let client_secret = config
        .client_secret
        .clone()
        .ok_or("the Client Secret is not set")?;
    let identity = config.identity_url.as_str().trim_end_matches('/');
    let auth_url = AuthUrl::new(format!("{identity}/oauth/authorize"))
        .map_err(|error| format!("invalid authorize URL: {error}"))?;
    let token_url = TokenUrl::new(format!("{identity}/oauth/token"))
        .map_err(|error| format!("invalid token URL: {error}"))?;
    // PagerDuty documents client credentials in the form body only.
    let mut client: PagerDutyClient = oauth2::Client::new(ClientId::new(client_id.to_string()))
        .set_client_secret(client_secret)
        .set_auth_uri(auth_url)
        .set_token_uri(token_url)
        .set_auth_type(AuthType::RequestBody);
    if let Some(site_url) = site_url {
        let redirect = RedirectUrl::new(redirect_uri(site_url))
            .map_err(|error| format!("invalid redirect URI: {error}"))?;
        client = client.set_redirect_uri(redirect);
    }
    Ok(client)
}

/// The `id_token` claims the plugin uses. The token comes straight from the
/// token endpoint over TLS, so its signature is not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub account_id: Option<String>,
    pub subdomain: Option<String>,
    /// REST API host for the user's service region, from `aud`.
    pub api_host: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawClaims {
    account_id: Option<String>,
    subdomain: Option<String>,
    aud: Option<Audience>,
}

/// Reads the claims from a JWT's payload; `None` when it is not a JWT.
pub fn parse_id_token(token: &str) -> Option<IdTokenClaims> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let raw: RawClaims = serde_json::from_slice(&bytes).ok()?;
    let audiences = match raw.aud {
        Some(Audience::One(one)) => vec![one],
        Some(Audience::Many(many)) => many,
        None => Vec::new(),
    };
    let api_host = audiences
        .into_iter()
        .find(|audience| is_pagerduty_api_host(audience));
    Some(IdTokenClaims {
        account_id: raw.account_id,
        subdomain: raw.subdomain,
        api_host,
    })
}

/// PagerDuty's REST API hosts: US and EU service regions.
pub const API_HOSTS: [&str; 2] = ["https://api.pagerduty.com", "https://api.eu.pagerduty.com"];

fn is_pagerduty_api_host(audience: &str) -> bool {
    API_HOSTS.contains(&audience.trim_end_matches('/'))
}

/// Returns the REST API host of the region that `html_url` belongs to, as a
/// second source when the ID token names none.
pub fn api_host_from_html_url(html_url: &str) -> Option<&'static str> {
    let host = url::Url::parse(html_url)
        .ok()?
        .host_str()?
        .to_ascii_lowercase();
    if host.ends_with(".eu.pagerduty.com") {
        Some(API_HOSTS[1])
    } else if host.ends_with(".pagerduty.com") {
        Some(API_HOSTS[0])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn id_token_gives_region_and_account() {
        let token = jwt(serde_json::json!({
            "account_id": "PACME01", "subdomain": "acme",
            "aud": ["https://api.eu.pagerduty.com", "client-abc"],
        }));
        let claims = parse_id_token(&token).unwrap();
        assert_eq!(
            claims.api_host.as_deref(),
            Some("https://api.eu.pagerduty.com")
        );
        assert_eq!(claims.subdomain.as_deref(), Some("acme"));
        assert_eq!(claims.account_id.as_deref(), Some("PACME01"));
    }

    #[test]
    fn id_token_ignores_other_audiences() {
        let token = jwt(serde_json::json!({"aud": "https://evil.example"}));
        assert_eq!(parse_id_token(&token).unwrap().api_host, None);
        assert!(parse_id_token("not a jwt").is_none());
    }

    #[test]
    fn html_url_gives_region() {
        assert_eq!(
            api_host_from_html_url("https://acme.eu.pagerduty.com/users/P1"),
            Some("https://api.eu.pagerduty.com")
        );
        assert_eq!(
            api_host_from_html_url("https://acme.pagerduty.com/users/P1"),
            Some("https://api.pagerduty.com")
        );
        assert_eq!(
            api_host_from_html_url("https://pagerduty.com.evil.example/"),
            None
        );
    }
}
