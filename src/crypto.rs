//! Encryption of tokens at rest (AES-256-GCM) and random values.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use sha2::{Digest, Sha256};

/// Length of an AES-GCM nonce in bytes.
const NONCE_LENGTH: usize = 12;

/// The key that seals tokens in the KV store. Its `Debug` output hides the key.
#[derive(Clone)]
pub struct EncryptionKey {
    key: [u8; 32],
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "EncryptionKey({})", self.fingerprint())
    }
}

/// Sealed data that failed to open: wrong key, altered bytes or bad encoding.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("stored data could not be decrypted with the configured encryption key")]
pub struct DecryptError;

impl EncryptionKey {
    /// Derives the AES-256 key from the System Console setting: SHA-256 of
    /// its text, so any string an admin enters gives a full-length key.
    pub fn from_setting(setting: &str) -> Self {
        let key: [u8; 32] = Sha256::digest(setting.as_bytes()).into();
        EncryptionKey { key }
    }

    /// Returns a short name for this key that reveals nothing about it:
    /// the first 8 bytes of SHA-256 over a label and the key, in hex.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"mattermost-pagerduty key fingerprint");
        hasher.update(self.key);
        hex(&hasher.finalize()[..8])
    }

    /// Encrypts `plaintext`; `context` is authenticated but not stored, so the
    /// sealed value only opens with the same context (the record it belongs to).
    /// The result is base64 of nonce followed by ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> String {
        let cipher = Aes256Gcm::new((&self.key).into());
        let nonce_bytes: [u8; NONCE_LENGTH] = random_bytes();
        let nonce = Nonce::from_slice(&nonce_bytes);
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = cipher
            .encrypt(nonce, payload)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut sealed = Vec::with_capacity(NONCE_LENGTH + ciphertext.len());
        sealed.extend_from_slice(&nonce_bytes);
        sealed.extend_from_slice(&ciphertext);
        STANDARD.encode(sealed)
    }

    /// Decrypts a value made by [`EncryptionKey::seal`] with the same context.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let bytes = STANDARD.decode(sealed).map_err(|_| DecryptError)?;
        if bytes.len() < NONCE_LENGTH + 16 {
            return Err(DecryptError);
        }
        let (nonce_bytes, ciphertext) = bytes.split_at(NONCE_LENGTH);
        let cipher = Aes256Gcm::new((&self.key).into());
        let payload = Payload {
            msg: ciphertext,
            aad: context,
        };
        cipher
            .decrypt(Nonce::from_slice(nonce_bytes), payload)
            .map_err(|_| DecryptError)
    }
}

/// Returns `N` bytes from the operating system's random number generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system random number generator failed");
    bytes
}

/// Returns 256 random bits as unpadded base64url (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Generates a new value for the encryption key setting: 256 random bits in base64.
pub fn generate_key_setting() -> String {
    STANDARD.encode(random_bytes::<32>())
}

/// Returns the lowercase hex SHA-256 of `value`.
pub fn sha256_hex(value: &str) -> String {
    hex(&Sha256::digest(value.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips() {
        let key = EncryptionKey::from_setting("setting");
        let sealed = key.seal(b"access-token", b"link:user1");
        assert_eq!(key.open(&sealed, b"link:user1").unwrap(), b"access-token");
    }

    #[test]
    fn open_rejects_other_context() {
        let key = EncryptionKey::from_setting("setting");
        let sealed = key.seal(b"access-token", b"link:user1");
        assert_eq!(key.open(&sealed, b"link:user2"), Err(DecryptError));
    }

    #[test]
    fn open_rejects_other_key() {
        let sealed = EncryptionKey::from_setting("one").seal(b"token", b"c");
        let other = EncryptionKey::from_setting("two");
        assert_eq!(other.open(&sealed, b"c"), Err(DecryptError));
    }

    #[test]
    fn open_rejects_altered_bytes() {
        let key = EncryptionKey::from_setting("setting");
        let sealed = key.seal(b"token", b"c");
        let mut bytes = STANDARD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(key.open(&STANDARD.encode(bytes), b"c"), Err(DecryptError));
        assert_eq!(key.open("not base64!", b"c"), Err(DecryptError));
        assert_eq!(key.open("", b"c"), Err(DecryptError));
    }

    #[test]
    fn seal_uses_fresh_nonce() {
        let key = EncryptionKey::from_setting("setting");
        assert_ne!(key.seal(b"same", b"c"), key.seal(b"same", b"c"));
    }

    #[test]
    fn debug_hides_key() {
        let key = EncryptionKey::from_setting("super-secret-setting");
        let printed = format!("{key:?}");
        assert!(printed.starts_with("EncryptionKey("));
        assert!(!printed.contains("super-secret-setting"));
        assert_eq!(key.fingerprint().len(), 16);
    }

    #[test]
    fn random_token_is_43_url_safe_characters() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(token, random_token());
    }
}
