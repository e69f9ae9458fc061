//! Secrets in the OS keyring (macOS Keychain, Windows Credential Manager,
//! on Linux the desktop's Secret Service: GNOME Keyring, KWallet): a
//! connection's access keys and each integration's secret. All three keep
//! them on disk, encrypted, across reboots. Nothing here is ever written to a
//! file, a log, an error message or output; errors name the entry, never its
//! value.

use std::fmt;

use keyring::Entry;
use serde::{Deserialize, Serialize};

/// The keyring service every CostCarve entry is filed under.
pub const SERVICE: &str = "costcarve";

/// Why the keyring could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The platform keyring refused or is unavailable.
    #[error("the OS keyring could not store or read '{entry}': {reason}; {hint}", hint = KEYRING_HINT)]
    Keyring {
        /// The entry's name (never its value).
        entry: String,
        /// The platform's message.
        reason: String,
    },
    /// The stored value is not what CostCarve wrote.
    #[error("the keyring entry '{0}' is damaged; remove and add it again")]
    Damaged(String),
}

/// What to do when the keyring refuses, for the platform at hand.
#[cfg(target_os = "linux")]
const KEYRING_HINT: &str = "on Linux CostCarve keeps secrets in the desktop's Secret Service \
    (GNOME Keyring or KWallet), which must be running and unlocked: log in to the desktop \
    or unlock its login keyring (e.g. in Seahorse); without a desktop (SSH, a server) run \
    `gnome-keyring-daemon --unlock` inside `dbus-run-session` (README: where secrets live)";
#[cfg(target_os = "macos")]
const KEYRING_HINT: &str = "unlock the login keychain (Keychain Access) and allow CostCarve \
    to use it";
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
const KEYRING_HINT: &str = "check that Windows Credential Manager is available to this user";

/// A keyring entry's name: what it is for, never what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretKey(String);

impl SecretKey {
    /// The access keys of a connection.
    pub fn connection(name: &str) -> Self {
        Self(format!("connection/{name}"))
    }

    /// The secret of an integration in a payer.
    pub fn integration(payer: &str, integration_id: &str) -> Self {
        Self(format!("integration/{payer}/{integration_id}"))
    }

    /// The entry's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value that is never printed (`Debug` shows a placeholder) and cannot be
/// serialized: it implements no `Serialize`, so it cannot end up in a file,
/// a log line or an IPC reply by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that needs it (an SDK credential).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A fresh random integration secret: 32 random bytes, hex.
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Access keys kept for a connection that does not use a profile.
#[derive(Clone, Debug)]
pub struct AccessKeys {
    /// The key id (not secret on its own, kept with the secret for simplicity).
    pub access_key_id: String,
    /// The secret key.
    pub secret_access_key: Secret,
    /// A session token, for temporary keys.
    pub session_token: Option<Secret>,
}

/// How access keys are written into their keyring entry (and only there).
#[derive(Serialize, Deserialize)]
struct StoredKeys {
    access_key_id: String,
    secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
}

/// Where secrets are kept. The product uses [`Keyring`]; it is a trait so
/// the operations do not care which platform store is behind it.
pub trait SecretStore: Send + Sync {
    /// Stores a value, replacing any earlier one.
    fn set(&self, key: &SecretKey, value: &Secret) -> Result<(), SecretError>;
    /// Reads a value; `None` if there is none.
    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError>;
    /// Removes a value; `false` if there was none (idempotent).
    fn delete(&self, key: &SecretKey) -> Result<bool, SecretError>;
}

/// The OS keyring: the macOS Keychain, Windows Credential Manager, or on
/// Linux the Secret Service of the user's D-Bus session (keyring's
/// `sync-secret-service` store, secrets encrypted on the bus). Not the kernel
/// keyring (keyutils): it keeps nothing across a reboot.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keyring;

fn entry(key: &SecretKey) -> Result<Entry, SecretError> {
    Entry::new(SERVICE, key.as_str()).map_err(|e| keyring_error(key, &e))
}

fn keyring_error(key: &SecretKey, e: &keyring::Error) -> SecretError {
    // keyring's messages describe the platform failure, never the value.
    SecretError::Keyring {
        entry: key.to_string(),
        reason: e.to_string(),
    }
}

impl SecretStore for Keyring {
    fn set(&self, key: &SecretKey, value: &Secret) -> Result<(), SecretError> {
        let e = entry(key)?;
        e.set_password(value.expose())
            .map_err(|err| keyring_error(key, &err))?;
        // A store may accept a write and then not return it (a collection
        // that is not the one searched, a backend that drops it): read it
        // back so that never goes unseen.
        match e.get_password() {
            Ok(v) if v == value.expose() => Ok(()),
            Ok(_) => Err(SecretError::Damaged(key.to_string())),
            Err(err) => Err(keyring_error(key, &err)),
        }
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        match entry(key)?.get_password() {
            Ok(v) => Ok(Some(Secret(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(keyring_error(key, &err)),
        }
    }

    fn delete(&self, key: &SecretKey) -> Result<bool, SecretError> {
        match entry(key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(keyring_error(key, &err)),
        }
    }
}

/// Reads a connection's access keys.
pub fn access_keys(
    store: &dyn SecretStore,
    connection: &str,
) -> Result<Option<AccessKeys>, SecretError> {
    let key = SecretKey::connection(connection);
    match store.get(&key)? {
        None => Ok(None),
        Some(s) => serde_json::from_str::<StoredKeys>(s.expose())
            .map(|k| {
                Some(AccessKeys {
                    access_key_id: k.access_key_id,
                    secret_access_key: Secret(k.secret_access_key),
                    session_token: k.session_token.map(Secret),
                })
            })
            .map_err(|_| SecretError::Damaged(key.to_string())),
    }
}

/// Stores a connection's access keys.
pub fn set_access_keys(
    store: &dyn SecretStore,
    connection: &str,
    keys: &AccessKeys,
) -> Result<(), SecretError> {
    let key = SecretKey::connection(connection);
    let stored = StoredKeys {
        access_key_id: keys.access_key_id.clone(),
        secret_access_key: keys.secret_access_key.expose().to_string(),
        session_token: keys.session_token.as_ref().map(|t| t.expose().to_string()),
    };
    let text = serde_json::to_string(&stored).map_err(|_| SecretError::Damaged(key.to_string()))?;
    store.set(&key, &Secret(text))
}

impl costcarve_core::error::Coded for SecretError {
    fn code(&self) -> costcarve_core::error::ErrorCode {
        costcarve_core::error::ErrorCode::Keyring
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(****)");
        let keys = AccessKeys {
            access_key_id: "AKIA".into(),
            secret_access_key: s,
            session_token: Some(Secret::new("tok")),
        };
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok\""),
            "{shown}"
        );
    }

    #[test]
    fn random_secrets_differ() {
        let (a, b) = (Secret::random(), Secret::random());
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 64);
    }
}
