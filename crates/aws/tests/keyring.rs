//! The OS keyring through [`Keyring`]: what goes in comes out, removal is
//! idempotent, and a connection's keys round-trip. On Linux that is the
//! Secret Service: run under `scripts/private-keyring` (a throwaway
//! gnome-keyring on a private bus), as `scripts/test` does; the tests refuse
//! to run against the developer's own keychain.

use costcarve_aws::secrets::{self, AccessKeys, Keyring, Secret, SecretKey, SecretStore};

use crate::support::private_keyring;

#[test]
fn secrets_round_trip_through_the_os_keyring() {
    private_keyring();
    let key = SecretKey::integration("123456789012", &uuid_like());
    let value = Secret::random();
    assert_eq!(Keyring.get(&key).unwrap(), None);
    Keyring.set(&key, &value).unwrap();
    assert_eq!(Keyring.get(&key).unwrap(), Some(value.clone()));
    let other = Secret::random();
    Keyring.set(&key, &other).unwrap();
    assert_eq!(Keyring.get(&key).unwrap(), Some(other), "set replaces");
    assert!(Keyring.delete(&key).unwrap());
    assert!(!Keyring.delete(&key).unwrap(), "a second delete is fine");
    assert_eq!(Keyring.get(&key).unwrap(), None);
}

#[test]
fn a_connections_access_keys_round_trip_and_never_print() {
    private_keyring();
    let name = format!("test-{}", uuid_like());
    let keys = AccessKeys {
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        session_token: None,
    };
    secrets::set_access_keys(&Keyring, &name, &keys).unwrap();
    let back = secrets::access_keys(&Keyring, &name).unwrap().unwrap();
    assert_eq!(back.secret_access_key, keys.secret_access_key);
    assert!(!format!("{back:?}").contains("wJalrXUtnFEMI"));
    Keyring.delete(&SecretKey::connection(&name)).unwrap();
    assert!(secrets::access_keys(&Keyring, &name).unwrap().is_none());
}

fn uuid_like() -> String {
    Secret::random().expose()[..16].to_string()
}
