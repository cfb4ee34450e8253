//! The plugin's settings, as the System Console and `/pd configure` store them.
//!
//! Mattermost keeps plugin settings as a JSON object whose keys it lowercases,
//! so keys are matched without regard to case and written in lowercase.

use oauth2::{ClientId, ClientSecret};
use serde_json::{Map, Value};
use url::Url;

/// Default PagerDuty identity service, which is global (no EU host).
pub const DEFAULT_IDENTITY_URL: &str = "https://identity.pagerduty.com";
/// PagerDuty REST API host of the US service region.
pub const DEFAULT_API_URL: &str = "https://api.pagerduty.com";
/// Scope requested when the setting is empty: for a classic PagerDuty app
/// `write` also grants `read`.
pub const DEFAULT_SCOPE: &str = "write";

pub const KEY_CLIENT_ID: &str = "clientid";
pub const KEY_CLIENT_SECRET: &str = "clientsecret";
pub const KEY_SCOPE: &str = "scope";
pub const KEY_ENCRYPTION_KEY: &str = "encryptionkey";
pub const KEY_IDENTITY_URL: &str = "identityurl";
pub const KEY_API_URL: &str = "apiurl";
pub const KEY_ALLOWED_SUBDOMAIN: &str = "allowedsubdomain";

/// Longest Client ID or Client Secret accepted; PagerDuty's are far shorter.
const MAX_CREDENTIAL_LENGTH: usize = 512;

/// Parsed plugin settings.
#[derive(Debug, Clone)]
pub struct Configuration {
    /// The settings object as stored, kept so a save preserves unknown keys.
    pub raw: Map<String, Value>,
    pub client_id: Option<ClientId>,
    pub client_secret: Option<ClientSecret>,
    /// Scopes to request, split on white space.
    pub scopes: Vec<String>,
    pub encryption_key: Option<crate::crypto::EncryptionKey>,
    pub identity_url: Url,
    /// Explicit REST API base URL; `None` means PagerDuty's own host.
    pub api_url: Option<Url>,
    /// PagerDuty account subdomain that links must belong to, lowercase;
    /// `None` allows any account.
    pub allowed_subdomain: Option<String>,
    /// Problems that make the settings unusable, in words for an admin.
    pub problems: Vec<String>,
}

impl Default for Configuration {
    fn default() -> Self {
        Configuration::from_map(Map::new())
    }
}

fn string_setting(map: &Map<String, Value>, key: &str) -> String {
    map.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))
        .and_then(|(_, value)| value.as_str())
        .map(|value| value.trim().to_string())
        .unwrap_or_default()
}

/// Parses an absolute http(s) base URL and strips a trailing slash.
pub fn parse_base_url(value: &str) -> Result<Url, String> {
    let trimmed = value.trim().trim_end_matches('/');
    let url =
        Url::parse(trimmed).map_err(|error| format!("`{value}` is not a valid URL: {error}"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!("`{value}` must start with https:// or http://"));
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{value}` must be a base URL with a host and no query or fragment"
        ));
    }
    // Browsers receive the identity URL in redirects, so it must not carry credentials.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{value}` must not contain a user name or password"
        ));
    }
    // The client secret and tokens cross this connection: plain HTTP only on loopback.
    if url.scheme() == "http" && !is_loopback_host(&url) {
        return Err(format!(
            "`{value}` must use https:// (http:// is accepted only for loopback addresses)"
        ));
    }
    Ok(url)
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

/// Checks a Client ID as entered by an admin; returns the message to show when invalid.
pub fn validate_client_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("Enter the Client ID of the PagerDuty OAuth app.".to_string());
    }
    if value.len() > MAX_CREDENTIAL_LENGTH {
        return Err(format!(
            "The Client ID is too long ({} characters; at most {MAX_CREDENTIAL_LENGTH}). Copy it again from the PagerDuty app.",
            value.len()
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    {
        return Err("The Client ID may contain only letters, digits and - _ . ~ characters. Copy it again from the PagerDuty app.".to_string());
    }
    Ok(())
}

/// Checks a Client Secret as entered by an admin; returns the message to show when invalid.
pub fn validate_client_secret(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("Enter the Client Secret of the PagerDuty OAuth app.".to_string());
    }
    if value.len() > MAX_CREDENTIAL_LENGTH {
        return Err(format!(
            "The Client Secret is too long ({} characters; at most {MAX_CREDENTIAL_LENGTH}). Copy it again from the PagerDuty app.",
            value.len()
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The Client Secret must not contain spaces or control characters. Copy it again from the PagerDuty app.".to_string());
    }
    Ok(())
}

impl Configuration {
    /// Parses the settings object; invalid values are listed in `problems`.
    pub fn from_map(raw: Map<String, Value>) -> Self {
        let mut problems = Vec::new();

        let client_id = string_setting(&raw, KEY_CLIENT_ID);
        let client_id = if client_id.is_empty() {
            None
        } else if let Err(problem) = validate_client_id(&client_id) {
            problems.push(problem);
            None
        } else {
            Some(ClientId::new(client_id))
        };

        let client_secret = string_setting(&raw, KEY_CLIENT_SECRET);
        let client_secret = if client_secret.is_empty() {
            None
        } else if let Err(problem) = validate_client_secret(&client_secret) {
            problems.push(problem);
            None
        } else {
            Some(ClientSecret::new(client_secret))
        };

        let scope = string_setting(&raw, KEY_SCOPE);
        let scope = if scope.is_empty() {
            DEFAULT_SCOPE.to_string()
        } else {
            scope
        };
        let scopes = scope.split_whitespace().map(str::to_string).collect();

        let key = string_setting(&raw, KEY_ENCRYPTION_KEY);
        let encryption_key = if key.is_empty() {
            problems.push("the token encryption key is empty; the plugin generates one when it is enabled, or an admin can regenerate it in System Console > Plugins > PagerDuty".to_string());
            None
        } else {
            Some(crate::crypto::EncryptionKey::from_setting(&key))
        };

        let identity = string_setting(&raw, KEY_IDENTITY_URL);
        let identity_url = if identity.is_empty() {
            Url::parse(DEFAULT_IDENTITY_URL).expect("the default identity URL is valid")
        } else {
            parse_base_url(&identity).unwrap_or_else(|problem| {
                problems.push(format!("PagerDuty identity service URL: {problem}"));
                Url::parse(DEFAULT_IDENTITY_URL).expect("the default identity URL is valid")
            })
        };

        let api = string_setting(&raw, KEY_API_URL);
        let api_url = if api.is_empty() {
            None
        } else {
            match parse_base_url(&api) {
                Ok(url) => Some(url),
                Err(problem) => {
                    problems.push(format!("PagerDuty REST API URL: {problem}"));
                    None
                }
            }
        };

        let allowed = string_setting(&raw, KEY_ALLOWED_SUBDOMAIN).to_ascii_lowercase();
        let allowed_subdomain = if allowed.is_empty() {
            None
        } else if allowed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            Some(allowed)
        } else {
            problems.push(format!(
                "allowed PagerDuty subdomain: `{allowed}` is not a subdomain; enter only the first part of `<subdomain>.pagerduty.com`"
            ));
            None
        };

        Configuration {
            raw,
            client_id,
            client_secret,
            scopes,
            encryption_key,
            identity_url,
            api_url,
            allowed_subdomain,
            problems,
        }
    }

    /// True when users can connect: credentials and key present, no problems.
    pub fn is_configured(&self) -> bool {
        self.client_id.is_some()
            && self.client_secret.is_some()
            && self.encryption_key.is_some()
            && self.problems.is_empty()
    }

    /// True when an admin has saved a Client ID and Client Secret, even if
    /// another setting still has a problem.
    pub fn has_credentials(&self) -> bool {
        self.client_id.is_some() && self.client_secret.is_some()
    }

    /// Returns the settings object with `key` set, keeping every other key.
    /// An existing key that differs only in case is replaced.
    pub fn with_setting(raw: &Map<String, Value>, key: &str, value: &str) -> Map<String, Value> {
        let mut updated: Map<String, Value> = raw
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case(key))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        updated.insert(key.to_string(), Value::String(value.to_string()));
        updated
    }

    /// Returns the REST API base URL: the override, else the US host.
    pub fn api_base(&self) -> Url {
        self.api_base_for(None)
    }

    /// Returns the REST API base URL for a user: the override, else the
    /// user's region host when known and valid, else the US host.
    pub fn api_base_for(&self, region_host: Option<&str>) -> Url {
        if let Some(url) = &self.api_url {
            return url.clone();
        }
        region_host
            .filter(|host| crate::client::API_HOSTS.contains(host))
            .and_then(|host| Url::parse(host).ok())
            .unwrap_or_else(|| Url::parse(DEFAULT_API_URL).expect("the default API URL is valid"))
    }

    /// Returns the scope string to request, space-separated.
    pub fn scope_string(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Builds the redirect URI that PagerDuty calls back after consent.
pub fn redirect_uri(site_url: &str) -> String {
    format!(
        "{}/plugins/{}/oauth/complete",
        site_url.trim_end_matches('/'),
        crate::PLUGIN_ID
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn empty_settings_are_not_configured() {
        let config = Configuration::default();
        assert!(!config.is_configured());
        assert_eq!(config.problems.len(), 1, "{:?}", config.problems);
        assert!(config.problems[0].contains("encryption key"));
        assert_eq!(config.scopes, vec!["write"]);
        assert_eq!(
            config.identity_url.as_str(),
            "https://identity.pagerduty.com/"
        );
        assert!(config.api_url.is_none());
    }

    #[test]
    fn keys_match_without_case() {
        let config = Configuration::from_map(map(json!({
            "ClientID": " abc123 ",
            "clientsecret": "s3cret",
            "EncryptionKey": "k",
            "Scope": "users.read  incidents.write",
            "APIURL": "http://127.0.0.2:9000/",
        })));
        assert!(config.is_configured(), "problems: {:?}", config.problems);
        assert_eq!(config.client_id.as_ref().unwrap().as_str(), "abc123");
        assert_eq!(config.scopes, vec!["users.read", "incidents.write"]);
        assert_eq!(config.api_base().as_str(), "http://127.0.0.2:9000/");
    }

    #[test]
    fn invalid_urls_are_problems() {
        let config = Configuration::from_map(map(json!({
            "clientid": "abc", "clientsecret": "s", "encryptionkey": "k",
            "identityurl": "ftp://example", "apiurl": "not a url",
        })));
        assert!(!config.is_configured());
        assert_eq!(config.problems.len(), 2);
    }

    #[test]
    fn base_url_rejects_credentials_and_remote_http() {
        assert!(parse_base_url("http://user:pass@127.0.0.2:9000").is_err());
        assert!(parse_base_url("https://user@proxy.example").is_err());
        assert!(parse_base_url("http://proxy.example").is_err());
        assert!(parse_base_url("http://localhost:9000").is_ok());
        assert!(parse_base_url("http://[::1]:9000").is_ok());
        assert!(parse_base_url("https://proxy.example/pd/").is_ok());
    }

    #[test]
    fn api_base_prefers_override_then_region() {
        let config = Configuration::default();
        assert_eq!(
            config
                .api_base_for(Some("https://api.eu.pagerduty.com"))
                .as_str(),
            "https://api.eu.pagerduty.com/"
        );
        assert_eq!(
            config.api_base_for(Some("https://evil.example")).as_str(),
            "https://api.pagerduty.com/"
        );
        let config = Configuration::from_map(map(json!({"apiurl": "http://127.0.0.2:9"})));
        assert_eq!(
            config
                .api_base_for(Some("https://api.eu.pagerduty.com"))
                .as_str(),
            "http://127.0.0.2:9/"
        );
    }

    #[test]
    fn allowed_subdomain_is_validated() {
        let config = Configuration::from_map(map(json!({"allowedsubdomain": " ACME "})));
        assert_eq!(config.allowed_subdomain.as_deref(), Some("acme"));
        let config =
            Configuration::from_map(map(json!({"allowedsubdomain": "acme.pagerduty.com"})));
        assert!(config.allowed_subdomain.is_none());
        assert!(config.problems.iter().any(|p| p.contains("subdomain")));
    }

    #[test]
    fn client_id_rejects_spaces() {
        assert!(validate_client_id("abc def").is_err());
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id("0a1b-2c_3d.4e~").is_ok());
    }

    #[test]
    fn client_secret_rejects_control_characters() {
        assert!(validate_client_secret("a\tb").is_err());
        assert!(validate_client_secret(&"x".repeat(513)).is_err());
        assert!(validate_client_secret("p+/=x!").is_ok());
    }

    #[test]
    fn with_setting_replaces_key_in_any_case() {
        let raw = map(json!({"ClientID": "old", "other": 1}));
        let updated = Configuration::with_setting(&raw, "clientid", "new");
        assert_eq!(updated.get("clientid"), Some(&json!("new")));
        assert!(updated.get("ClientID").is_none());
        assert_eq!(updated.get("other"), Some(&json!(1)));
    }

    #[test]
    fn redirect_uri_uses_plugin_route() {
        assert_eq!(
            redirect_uri("https://chat.example.com/"),
            "https://chat.example.com/plugins/mattermost-pagerduty/oauth/complete"
        );
    }
}
