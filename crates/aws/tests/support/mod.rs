//! The AWS emulators (`tests/emulators up`) for the adapter tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_athena::config::Credentials;
use chrono::{TimeZone, Utc};
use costcarve_aws::secrets::{Secret, SecretError, SecretKey, SecretStore};
use costcarve_core::account::{AccountId, Organization};
use costcarve_core::integration::{IntegrationSet, NewIntegration, VirtualIntegration};

/// The emulated payer (moto's default account).
pub const PAYER: &str = "123456789012";

/// The emulators, up for one test and down when it ends.
pub struct Emulators {
    pub env: HashMap<String, String>,
    state: tempfile::TempDir,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/emulators")
}

impl Emulators {
    /// The state dir `up` used.
    pub fn state_dir(&self) -> &std::path::Path {
        self.state.path()
    }

    pub fn up(extra: &[&str]) -> Self {
        let state = tempfile::tempdir().unwrap();
        let out = Command::new(script())
            .args(["up", "--accounts", "4", "--state-dir"])
            .arg(state.path())
            .args(extra)
            .output()
            .expect("tests/emulators runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        Self { env, state }
    }

    pub async fn config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.env["COSTCARVE_EMU_MOTO_URL"]).await
    }

    /// What `up` recorded (`state.json`): the seeded accounts, the CUR, ...
    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.state.path().join("state.json")).unwrap())
            .unwrap()
    }

    /// The first day of the billing period `back` months before the open one
    /// (from the seeded partitions, not the clock).
    pub fn month_start(&self, back: usize) -> String {
        let state = self.state();
        let periods = state["seed"]["cur"]["partitions"].as_array().unwrap();
        format!("{}-01", periods[periods.len() - 1 - back].as_str().unwrap())
    }

    /// An independent sum over the seeded CUR (`tests/harness/cur_sums.py`:
    /// the Parquet objects read back from moto's S3 and summed with pyarrow,
    /// none of the emulators' query code); `args` are its flags.
    pub fn cur_sums(&self, args: &[&str]) -> serde_json::Value {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/harness/cur_sums.py");
        let mut all = vec![script.to_string_lossy().into_owned()];
        all.extend(args.iter().map(|a| a.to_string()));
        self.python(&all, &format!("cur_sums {args:?}"))
    }

    /// Runs Python `code` with boto3 pointed at the emulators (the stock
    /// clients, as a user's script would use them) and returns what it
    /// prints, as JSON.
    pub fn boto3(&self, code: &str) -> serde_json::Value {
        let code = format!("import boto3, json, sys\n{code}");
        self.python(&["-c".to_string(), code], "boto3")
    }

    /// The test venv's python with `args`, pointed at the emulators; what
    /// it prints, as JSON.
    fn python(&self, args: &[String], what: &str) -> serde_json::Value {
        let venv = std::env::var("COSTCARVE_TEST_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/costcarve/test-venv")
            });
        let mut c = Command::new(venv.join("bin/python"));
        c.args(args).env_remove("AWS_PROFILE");
        for (k, v) in &self.env {
            if k.starts_with("AWS_") {
                c.env(k, v);
            }
        }
        let out = c.output().expect("the test venv's python runs");
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{what} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Emulators {
    /// SDK configuration for the billing emulator.
    pub async fn billing_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.env["COSTCARVE_EMU_BILLING_URL"]).await
    }

    /// POSTs JSON to the billing emulator's control API.
    pub fn billing_control(&self, path: &str, body: &str) {
        let reply = post_json(&self.env["COSTCARVE_EMU_BILLING_URL"], path, body);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
}

/// SDK configuration for an emulator: test credentials, no retries.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// POSTs JSON to `url` + `path` on loopback; returns the whole reply.
pub fn post_json(url: &str, path: &str, body: &str) -> String {
    request(url, "POST", path, body)
}

/// Sends `method path` with a JSON body to `url` on loopback; returns the
/// whole reply (status line, headers, body).
pub fn request(url: &str, method: &str, path: &str, body: &str) -> String {
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    reply
}

/// The JSON body of a reply from [`request`].
pub fn json_body(reply: &str) -> serde_json::Value {
    let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {reply}"))
}

/// The variable `scripts/private-keyring` sets to the address of its private
/// D-Bus session, whose Secret Service is a throwaway gnome-keyring.
pub const PRIVATE_KEYRING_MARK: &str = "COSTCARVE_TEST_KEYRING_BUS";

/// Refuses (panics) unless this process talks to the private Secret Service
/// of `scripts/private-keyring`: a test that writes to the OS keyring must
/// never reach the developer's own keychain. The mark must equal the session
/// bus in use, so a mark left in a shell does not open a real session bus.
pub fn private_keyring() {
    let mark = std::env::var(PRIVATE_KEYRING_MARK).unwrap_or_default();
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
    assert!(
        cfg!(target_os = "linux") && !mark.is_empty() && mark == bus,
        "this test writes to the OS keyring and refuses to touch your own: run it through \
         scripts/test, or as `scripts/private-keyring cargo test ...`, which starts a private \
         Secret Service (dbus-run-session + gnome-keyring-daemon in a temp dir; Debian packages \
         dbus gnome-keyring) and sets {PRIVATE_KEYRING_MARK} to its bus \
         ({PRIVATE_KEYRING_MARK}='{mark}', DBUS_SESSION_BUS_ADDRESS='{bus}')"
    );
}

/// Secrets in memory, for tests that must not touch any keyring: inject it
/// with `Session::with_secrets` / `Connections::new`.
#[derive(Default)]
pub struct MemorySecrets(std::sync::Mutex<HashMap<String, Secret>>);

impl MemorySecrets {
    /// The names of the entries held, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.lock().unwrap().keys().cloned().collect();
        names.sort();
        names
    }
}

impl SecretStore for MemorySecrets {
    fn set(&self, key: &SecretKey, value: &Secret) -> Result<(), SecretError> {
        self.0
            .lock()
            .unwrap()
            .insert(key.as_str().to_string(), value.clone());
        Ok(())
    }

    fn get(&self, key: &SecretKey) -> Result<Option<Secret>, SecretError> {
        Ok(self.0.lock().unwrap().get(key.as_str()).cloned())
    }

    fn delete(&self, key: &SecretKey) -> Result<bool, SecretError> {
        Ok(self.0.lock().unwrap().remove(key.as_str()).is_some())
    }
}

/// `n` account ids counting up from `base`.
pub fn ids(n: u64, base: u64) -> Vec<AccountId> {
    (0..n)
        .map(|i| format!("{:012}", base + i).parse().unwrap())
        .collect()
}

/// An integration over `accounts`, made by the core's own rules.
pub fn integration(name: &str, accounts: Vec<AccountId>) -> VirtualIntegration {
    let org = Organization::flat(
        PAYER.parse().unwrap(),
        accounts
            .iter()
            .map(|a| (a.clone(), String::new()))
            .collect(),
    );
    IntegrationSet::default()
        .create(
            &org,
            NewIntegration {
                name: name.into(),
                accounts,
                allow_shared: false,
                ..Default::default()
            },
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        )
        .unwrap()
}

impl Drop for Emulators {
    fn drop(&mut self) {
        let _ = Command::new(script())
            .args(["down", "--state-dir"])
            .arg(self.state.path())
            .output();
    }
}
