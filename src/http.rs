//! HTTP requests that Mattermost forwards to the plugin's routes, and replies.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A request to `/plugins/{plugin id}/…`, as the Go plugin forwards it.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpRequest {
    pub method: String,
    /// Path below the plugin's prefix, such as `/oauth/complete`.
    pub path: String,
    /// Raw query string without the leading `?`.
    #[serde(default)]
    pub query: String,
    /// Mattermost user id of the session, set by the server; empty without a session.
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub content_type: String,
    #[serde(default)]
    pub body: String,
}

/// The reply the Go plugin writes back.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Headers on every reply: nothing is cached, framed or sniffed, and the
/// callback URL (which carries the authorization code) is not sent as a referrer.
const COMMON_HEADERS: [(&str, &str); 4] = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
];

impl HttpResponse {
    fn with_headers(status: u16, content_type: &str, body: String) -> Self {
        let mut headers: Vec<(String, String)> = COMMON_HEADERS
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        headers.push(("Content-Type".to_string(), content_type.to_string()));
        HttpResponse {
            status,
            headers,
            body,
        }
    }

    /// Builds an HTML reply whose page may load no scripts, images or other resources.
    pub fn html(status: u16, body: String) -> Self {
        Self::html_with_policy(status, body, "")
    }

    /// Builds an HTML reply like [`HttpResponse::html`] that may also run
    /// inline scripts carrying `nonce`.
    pub fn html_with_script_nonce(status: u16, body: String, nonce: &str) -> Self {
        Self::html_with_policy(status, body, &format!(" script-src 'nonce-{nonce}';"))
    }

    fn html_with_policy(status: u16, body: String, script_policy: &str) -> Self {
        let mut response = Self::with_headers(status, "text/html; charset=utf-8", body);
        response.headers.push((
            "Content-Security-Policy".to_string(),
            format!("default-src 'none'; style-src 'unsafe-inline';{script_policy} frame-ancestors 'none'; form-action 'none'"),
        ));
        response
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::with_headers(status, "application/json", value.to_string())
    }

    pub fn redirect(location: &str) -> Self {
        let mut response = Self::with_headers(302, "text/plain; charset=utf-8", String::new());
        response
            .headers
            .push(("Location".to_string(), location.to_string()));
        response
    }

    pub fn not_found() -> Self {
        Self::with_headers(404, "text/plain; charset=utf-8", "Not found\n".to_string())
    }

    /// Returns the value of the first header called `name`, ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A query string with a parameter given more than once, which the plugin
/// rejects rather than guess which value counts.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("the query parameter `{0}` appears more than once")]
pub struct DuplicateParameter(pub String);

/// Decodes a query string into a map, rejecting repeated names.
pub fn parse_query(query: &str) -> Result<HashMap<String, String>, DuplicateParameter> {
    let mut parameters = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if parameters
            .insert(name.to_string(), value.to_string())
            .is_some()
        {
            return Err(DuplicateParameter(name.to_string()));
        }
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_query_decodes_values() {
        let parameters = parse_query("code=a%2Bb&state=x+y").unwrap();
        assert_eq!(parameters["code"], "a+b");
        assert_eq!(parameters["state"], "x y");
    }

    #[test]
    fn parse_query_rejects_repeats() {
        assert_eq!(
            parse_query("state=a&state=b"),
            Err(DuplicateParameter("state".into()))
        );
    }

    #[test]
    fn html_reply_forbids_scripts() {
        let response = HttpResponse::html(200, "<p>x</p>".into());
        let policy = response.header("content-security-policy").unwrap();
        assert!(policy.contains("default-src 'none'"));
        assert_eq!(response.header("Referrer-Policy"), Some("no-referrer"));
    }
}
