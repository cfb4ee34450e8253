//! PagerDuty REST API calls (API version 2).

use serde::Deserialize;
use url::Url;

/// `Accept` header that selects version 2 of PagerDuty's REST API.
pub const ACCEPT_V2: &str = "application/vnd.pagerduty+json;version=2";

/// The fields of `GET /users/me` that the plugin stores.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct PagerDutyUser {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub html_url: String,
}

#[derive(Deserialize)]
struct UserEnvelope {
    user: PagerDutyUser,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    required_scopes: Vec<String>,
}

/// A failed REST call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// PagerDuty returned an error status; `message` and `code` come
    /// from its `{"error": {…}}` body when it has one.
    #[error("PagerDuty answered HTTP {status}: {message}")]
    Status {
        status: u16,
        message: String,
        code: Option<i64>,
        required_scopes: Vec<String>,
        /// Seconds until the rate limit resets, from `ratelimit-reset`.
        retry_after: Option<u64>,
    },
    #[error("the request to PagerDuty failed: {0}")]
    Network(String),
    #[error("PagerDuty sent a reply that could not be read: {0}")]
    Malformed(String),
}

/// Joins the API base URL and a path such as `users/me`.
pub fn endpoint(api_base: &Url, path: &str) -> String {
    format!("{}/{}", api_base.as_str().trim_end_matches('/'), path)
}

/// Fetches the PagerDuty user that owns `access_token`.
pub async fn current_user(
    client: &reqwest::Client,
    api_base: &Url,
    access_token: &str,
) -> Result<PagerDutyUser, ApiError> {
    let response = client
        .get(endpoint(api_base, "users/me"))
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, ACCEPT_V2)
        .send()
        .await
        .map_err(|error| ApiError::Network(describe_reqwest_error(&error)))?;

    let status = response.status();
    let retry_after = response
        .headers()
        .get("ratelimit-reset")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok());
    let body = read_limited(response).await?;

    if !status.is_success() {
        let parsed: Option<ErrorEnvelope> = serde_json::from_str(&body).ok();
        let (message, code, required_scopes) = match parsed {
            Some(ErrorEnvelope { error }) => (error.message, error.code, error.required_scopes),
            None => (String::new(), None, Vec::new()),
        };
        return Err(ApiError::Status {
            status: status.as_u16(),
            message,
            code,
            required_scopes,
            retry_after,
        });
    }

    let envelope: UserEnvelope =
        serde_json::from_str(&body).map_err(|error| ApiError::Malformed(error.to_string()))?;
    if envelope.user.id.is_empty() {
        return Err(ApiError::Malformed("the user has an empty id".to_string()));
    }
    Ok(envelope.user)
}

/// Largest reply body read from PagerDuty; `GET /users/me` is a few KiB.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reads a reply body as text, failing when it exceeds [`MAX_BODY_BYTES`].
async fn read_limited(mut response: reqwest::Response) -> Result<String, ApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| ApiError::Network(describe_reqwest_error(&error)))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::Malformed(format!(
                "the reply is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Describes a reqwest error without its URL, which never carries secrets
/// here but keeps log lines short.
pub fn describe_reqwest_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        error.without_url_ref().to_string()
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<url>");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_joins_without_double_slash() {
        let base = Url::parse("http://127.0.0.2:9000/").unwrap();
        assert_eq!(
            endpoint(&base, "users/me"),
            "http://127.0.0.2:9000/users/me"
        );
        let base = Url::parse("https://proxy.example/pd/").unwrap();
        assert_eq!(
            endpoint(&base, "users/me"),
            "https://proxy.example/pd/users/me"
        );
    }
}
