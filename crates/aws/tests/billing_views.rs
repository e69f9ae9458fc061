//! Billing views through the real aws-sdk-billing client, over HTTP, against
//! the project's billing emulator (tests/harness/billing_emulator.py).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_billing::config::Credentials;
use chrono::{TimeZone, Utc};

use costcarve_aws::billing::{BillingViews, Health, TAG_INTEGRATION_ID, TAG_MANAGED};
use costcarve_aws::AwsError;
use costcarve_core::account::{AccountId, Organization};
use costcarve_core::integration::{IntegrationSet, NewIntegration, VirtualIntegration};

const PAYER: &str = "123456789012";

struct Emulator {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

fn emulator_script() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        "tests/harness/billing_emulator.py",
        "tests/emulators/billing_emulator.py",
    ]
    .iter()
    .map(|p| root.join(p))
    .find(|p| p.is_file())
    .expect("the billing emulator script")
}

impl Emulator {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let child = Command::new("python3")
            .arg(emulator_script())
            .args(["--host", "127.0.0.1", "--port", "0", "--account-id", PAYER])
            .args(["--health-delay-seconds", "0.3", "--port-file"])
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the emulator");
        let started = Instant::now();
        let port = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                if let Ok(p) = text.trim().parse() {
                    break p;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "emulator did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// POSTs JSON to the emulator's control API.
    fn control(&self, path: &str, body: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
            "{reply}"
        );
    }

    async fn views(&self) -> BillingViews {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.url())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .load()
            .await;
        BillingViews::new(&config)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ids(n: usize, base: u64) -> Vec<AccountId> {
    (0..n as u64)
        .map(|i| format!("{:012}", base + i).parse().unwrap())
        .collect()
}

fn org(accounts: &[AccountId]) -> Organization {
    Organization::flat(
        PAYER.parse().unwrap(),
        accounts
            .iter()
            .map(|a| (a.clone(), String::new()))
            .collect(),
    )
}

fn integration(name: &str, accounts: Vec<AccountId>) -> VirtualIntegration {
    let mut set = IntegrationSet::default();
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    set.create(
        &org(&accounts),
        NewIntegration {
            name: name.into(),
            accounts,
            allow_shared: false,
        },
        now,
    )
    .unwrap()
}

fn strings(a: &[AccountId]) -> BTreeSet<String> {
    a.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_view_is_created_waited_for_updated_found_again_and_deleted() {
    let emu = Emulator::start();
    let views = emu.views().await;
    let payer: AccountId = PAYER.parse().unwrap();
    let accounts = ids(5, 200_000_000_000);
    let mut vi = integration("Acme Retail", accounts.clone());

    let arn = views.create(&payer, &vi, "token-1").await.unwrap();
    assert!(
        arn.starts_with(&format!("arn:aws:billing::{PAYER}:billingview/custom-")),
        "{arn}"
    );
    let fresh = views.get(&arn).await.unwrap().unwrap();
    assert_eq!(fresh.health, Health::Creating);
    assert_eq!(fresh.name, "costcarve-Acme Retail");
    let healthy = views
        .wait_healthy(&arn, Duration::from_millis(100), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(healthy.accounts, strings(&accounts));

    // The same client token again: the same view, not a second one.
    assert_eq!(views.create(&payer, &vi, "token-1").await.unwrap(), arn);

    vi.accounts = ids(3, 300_000_000_000).into_iter().collect();
    views.update(&arn, &vi).await.unwrap();
    let updated = views
        .wait_healthy(&arn, Duration::from_millis(100), Duration::from_secs(10))
        .await
        .unwrap();
    let want: BTreeSet<String> = vi.accounts.iter().map(ToString::to_string).collect();
    assert_eq!(updated.accounts, want);

    let managed = views.list_managed().await.unwrap();
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0].arn, arn);
    assert_eq!(managed[0].tags[TAG_MANAGED], "true");
    assert_eq!(managed[0].tags[TAG_INTEGRATION_ID], vi.id.to_string());

    assert!(views.delete(&arn).await.unwrap());
    assert!(!views.delete(&arn).await.unwrap(), "delete is idempotent");
    assert_eq!(views.get(&arn).await.unwrap(), None);
    assert!(views.list_managed().await.unwrap().is_empty());
}

#[tokio::test]
async fn aws_errors_are_classified_with_what_to_do() {
    let emu = Emulator::start();
    let views = emu.views().await;
    let payer: AccountId = PAYER.parse().unwrap();
    let vi = integration("Borealis", ids(2, 400_000_000_000));

    emu.control("/_emulator/config", r#"{"quota": 0}"#);
    let e = views.create(&payer, &vi, "t-quota").await.unwrap_err();
    assert!(matches!(e, AwsError::Quota(_)), "{e}");
    assert!(e.to_string().contains("quota"), "{e}");

    emu.control("/_emulator/config", r#"{"quota": 100}"#);
    emu.control(
        "/_emulator/faults",
        r#"{"kind": "throttle", "operation": "CreateBillingView", "count": 1}"#,
    );
    let e = views.create(&payer, &vi, "t-throttle").await.unwrap_err();
    assert!(matches!(e, AwsError::Throttled(_)), "{e}");

    // A view that turns unhealthy stops the wait with AWS's reasons.
    let arn = views.create(&payer, &vi, "t-ok").await.unwrap();
    emu.control(
        "/_emulator/faults",
        &format!(
            r#"{{"kind": "unhealthy", "arn": "{arn}", "reasons": ["SOURCE_VIEW_UNHEALTHY"], "sticky": true}}"#
        ),
    );
    let e = views
        .wait_healthy(&arn, Duration::from_millis(50), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AwsError::Unhealthy(ref r) if r.contains("SOURCE_VIEW_UNHEALTHY")),
        "{e}"
    );

    // A wait that cannot finish in time says so.
    emu.control("/_emulator/config", r#"{"health_delay_seconds": 30}"#);
    let vi2 = integration("Cobalt", ids(1, 500_000_000_000));
    let arn2 = views.create(&payer, &vi2, "t-slow").await.unwrap();
    let e = views
        .wait_healthy(&arn2, Duration::from_millis(50), Duration::from_millis(400))
        .await
        .unwrap_err();
    assert!(matches!(e, AwsError::Timeout { .. }), "{e}");

    // Nothing listens: a clear "could not be reached".
    drop(emu);
    let e = views.get(&arn2).await.unwrap_err();
    assert!(matches!(e, AwsError::Service(_)), "{e}");
}
