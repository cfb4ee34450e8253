//! Records kept in the plugin's KV store, each with a format `version` so a
//! later plugin version can read what this one wrote.

use serde::{Deserialize, Serialize};

use crate::crypto::{sha256_hex, DecryptError, EncryptionKey};
use crate::host::{HostApi, HostError};

/// Prefix of OAuth state keys; the rest is the SHA-256 of the state, so the
/// database never contains a usable state value.
pub const STATE_KEY_PREFIX: &str = "oauth_state_";
/// Prefix of link keys; the rest is the Mattermost user id.
pub const LINK_KEY_PREFIX: &str = "link_";
/// Lifetime of an OAuth state, enforced by the KV store's expiry.
pub const STATE_LIFETIME_SECONDS: i64 = 600;
/// Format version written by this plugin version.
pub const RECORD_VERSION: u32 = 1;

/// A KV record that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the stored record is not valid JSON of the expected shape: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("the stored record has format version {0}, which this plugin version cannot read")]
    UnknownVersion(u32),
    #[error(transparent)]
    Host(#[from] HostError),
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

fn decode<T: for<'de> Deserialize<'de>>(json: &str) -> Result<T, RecordError> {
    let VersionOnly { version } = serde_json::from_str(json)?;
    if version != RECORD_VERSION {
        return Err(RecordError::UnknownVersion(version));
    }
    Ok(serde_json::from_str(json)?)
}

/// Returns the seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() as i64)
        .unwrap_or(0)
}

/// A pending authorization: who started it and the sealed PKCE code verifier.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StateRecord {
    pub version: u32,
    pub user_id: String,
    /// PKCE code verifier sealed with the encryption key.
    pub code_verifier: String,
    pub created_at: i64,
}

/// Returns the KV key of an OAuth state value.
pub fn state_key(state: &str) -> String {
    format!("{STATE_KEY_PREFIX}{}", sha256_hex(state))
}

/// Returns the authenticated context that binds a sealed value to its record.
pub fn seal_context(kind: &str, user_id: &str) -> Vec<u8> {
    format!("mattermost-pagerduty:{kind}:{user_id}").into_bytes()
}

/// A state record as read, with the exact stored text for compare-and-delete.
pub struct StoredState {
    pub stored: String,
    pub record: StateRecord,
}

/// Saves a new OAuth state that expires after [`STATE_LIFETIME_SECONDS`].
pub fn save_state(host: &HostApi<'_>, state: &str, record: &StateRecord) -> Result<(), HostError> {
    let json = serde_json::to_string(record).expect("a state record always serializes");
    host.kv_set(&state_key(state), &json, Some(STATE_LIFETIME_SECONDS))
}

/// Reads an OAuth state without consuming it.
pub fn load_state(host: &HostApi<'_>, state: &str) -> Result<Option<StoredState>, RecordError> {
    let Some(stored) = host.kv_get(&state_key(state))? else {
        return Ok(None);
    };
    let record = decode(&stored)?;
    Ok(Some(StoredState { stored, record }))
}

/// Deletes the state only if it is still exactly as read; returns false when
/// another request consumed it first.
pub fn consume_state(
    host: &HostApi<'_>,
    state: &str,
    stored: &StoredState,
) -> Result<bool, HostError> {
    host.kv_compare_and_delete(&state_key(state), &stored.stored)
}

/// A Mattermost user's link to a PagerDuty user, with sealed tokens.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkRecord {
    pub version: u32,
    pub mattermost_user_id: String,
    pub pagerduty_user_id: String,
    pub name: String,
    pub email: String,
    pub html_url: String,
    /// Scope that PagerDuty granted, space-separated.
    pub scope: String,
    /// Access token sealed with the encryption key.
    pub access_token: String,
    /// Refresh token sealed with the encryption key, when PagerDuty issued one.
    pub refresh_token: Option<String>,
    /// Access token expiry in Unix seconds, when PagerDuty sent `expires_in`.
    pub expires_at: Option<i64>,
    pub linked_at: i64,
    /// OAuth app the tokens belong to.
    pub client_id: String,
    /// Fingerprint of the encryption key that sealed the tokens.
    pub key_fingerprint: String,
    /// REST API host of the user's service region, such as
    /// `https://api.eu.pagerduty.com`; absent in records from before regions.
    #[serde(default)]
    pub api_url: Option<String>,
    /// PagerDuty account id and subdomain from the ID token.
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub subdomain: Option<String>,
    /// When the tokens were last refreshed, in Unix seconds.
    #[serde(default)]
    pub refreshed_at: Option<i64>,
    /// Whether the user was told that the re-authorization window closes soon.
    #[serde(default)]
    pub reauthorize_notice_sent: bool,
}

impl LinkRecord {
    /// Decrypts the access token.
    pub fn access_token(&self, key: &EncryptionKey) -> Result<String, DecryptError> {
        let context = seal_context("access_token", &self.mattermost_user_id);
        let bytes = key.open(&self.access_token, &context)?;
        String::from_utf8(bytes).map_err(|_| DecryptError)
    }

    /// Seals `token` as this record's access token.
    pub fn seal_access_token(key: &EncryptionKey, user_id: &str, token: &str) -> String {
        key.seal(token.as_bytes(), &seal_context("access_token", user_id))
    }

    /// Seals `token` as this record's refresh token.
    pub fn seal_refresh_token(key: &EncryptionKey, user_id: &str, token: &str) -> String {
        key.seal(token.as_bytes(), &seal_context("refresh_token", user_id))
    }
}

/// Returns the KV key of a Mattermost user's link.
pub fn link_key(user_id: &str) -> String {
    format!("{LINK_KEY_PREFIX}{user_id}")
}

/// Reads a user's link; `Ok(None)` when the user is not linked.
pub fn load_link(host: &HostApi<'_>, user_id: &str) -> Result<Option<LinkRecord>, RecordError> {
    match host.kv_get(&link_key(user_id))? {
        Some(json) => Ok(Some(decode(&json)?)),
        None => Ok(None),
    }
}

/// A link record as read, with the exact stored text for compare-and-set.
pub struct StoredLink {
    pub stored: String,
    pub record: LinkRecord,
}

/// Reads a user's link together with its stored text.
pub fn load_stored_link(
    host: &HostApi<'_>,
    user_id: &str,
) -> Result<Option<StoredLink>, RecordError> {
    match host.kv_get(&link_key(user_id))? {
        Some(stored) => {
            let record = decode(&stored)?;
            Ok(Some(StoredLink { stored, record }))
        }
        None => Ok(None),
    }
}

/// Replaces a link only while it is still exactly `old`; returns false when
/// another request changed or removed it first.
pub fn replace_link(
    host: &HostApi<'_>,
    old: &StoredLink,
    new: &LinkRecord,
) -> Result<bool, HostError> {
    let json = serde_json::to_string(new).expect("a link record always serializes");
    host.kv_compare_and_set(
        &link_key(&new.mattermost_user_id),
        Some(&old.stored),
        &json,
        None,
    )
}

/// Returns whether a link record exists, even one this version cannot read,
/// so `/pd disconnect` can always remove it.
pub fn link_exists(host: &HostApi<'_>, user_id: &str) -> Result<bool, HostError> {
    Ok(host.kv_get(&link_key(user_id))?.is_some())
}

/// Prefix of the index from a PagerDuty user id to the Mattermost user
/// linked to it, which keeps one PagerDuty user on one Mattermost account.
pub const PAGERDUTY_USER_KEY_PREFIX: &str = "pd_user_";

/// Returns the KV key of the index entry for a PagerDuty user.
pub fn pagerduty_user_key(pagerduty_user_id: &str) -> String {
    format!("{PAGERDUTY_USER_KEY_PREFIX}{pagerduty_user_id}")
}

/// Claims a PagerDuty user for `user_id`. Returns the other Mattermost user
/// id when that PagerDuty user is already linked to someone else.
pub fn claim_pagerduty_user(
    host: &HostApi<'_>,
    pagerduty_user_id: &str,
    user_id: &str,
) -> Result<Option<String>, HostError> {
    let key = pagerduty_user_key(pagerduty_user_id);
    loop {
        let current = host.kv_get(&key)?;
        match current.as_deref() {
            Some(owner) if owner == user_id => return Ok(None),
            Some(owner) => {
                // An index entry whose link is gone (or points elsewhere) is stale.
                let owner_link = load_link(host, owner).ok().flatten();
                if owner_link.is_some_and(|link| link.pagerduty_user_id == pagerduty_user_id) {
                    return Ok(Some(owner.to_string()));
                }
            }
            None => {}
        }
        if host.kv_compare_and_set(&key, current.as_deref(), user_id, None)? {
            return Ok(None);
        }
    }
}

/// Releases the index entry of a PagerDuty user if `user_id` holds it.
pub fn release_pagerduty_user(
    host: &HostApi<'_>,
    pagerduty_user_id: &str,
    user_id: &str,
) -> Result<(), HostError> {
    host.kv_compare_and_delete(&pagerduty_user_key(pagerduty_user_id), user_id)?;
    Ok(())
}

pub fn save_link(host: &HostApi<'_>, link: &LinkRecord) -> Result<(), HostError> {
    let json = serde_json::to_string(link).expect("a link record always serializes");
    host.kv_set(&link_key(&link.mattermost_user_id), &json, None)
}

pub fn delete_link(host: &HostApi<'_>, user_id: &str) -> Result<(), HostError> {
    host.kv_delete(&link_key(user_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_key_hides_state() {
        let key = state_key("abc");
        assert!(key.starts_with(STATE_KEY_PREFIX));
        assert!(!key.contains("abc"));
        assert_eq!(key.len(), STATE_KEY_PREFIX.len() + 64);
    }

    #[test]
    fn decode_rejects_newer_version() {
        let json = r#"{"version": 2, "user_id": "u", "code_verifier": "v", "created_at": 1}"#;
        let error = decode::<StateRecord>(json).unwrap_err();
        assert!(matches!(error, RecordError::UnknownVersion(2)));
    }

    #[test]
    fn decode_rejects_missing_version() {
        let json = r#"{"user_id": "u"}"#;
        assert!(matches!(
            decode::<StateRecord>(json).unwrap_err(),
            RecordError::Malformed(_)
        ));
    }

    #[test]
    fn access_token_opens_only_for_its_user() {
        let key = EncryptionKey::from_setting("k");
        let mut link = LinkRecord {
            version: RECORD_VERSION,
            mattermost_user_id: "user1".into(),
            pagerduty_user_id: "P1".into(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            html_url: String::new(),
            scope: "openid write".into(),
            access_token: LinkRecord::seal_access_token(&key, "user1", "token-1"),
            refresh_token: None,
            expires_at: None,
            linked_at: 0,
            client_id: "c".into(),
            key_fingerprint: key.fingerprint(),
            api_url: None,
            account_id: None,
            subdomain: None,
            refreshed_at: None,
            reauthorize_notice_sent: false,
        };
        assert_eq!(link.access_token(&key).unwrap(), "token-1");
        link.mattermost_user_id = "user2".into();
        assert!(link.access_token(&key).is_err());
    }
}
