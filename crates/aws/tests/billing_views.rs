//! Billing views through the real aws-sdk-billing client, over HTTP, against
//! the project's billing emulator (tests/harness/billing_emulator.py).

use std::collections::BTreeSet;
use std::time::Duration;

use costcarve_aws::billing::{BillingViews, Health, TAG_INTEGRATION_ID, TAG_MANAGED};
use costcarve_aws::AwsError;
use costcarve_core::account::AccountId;

use crate::support::{ids, integration, Emulators, PAYER};

async fn views(emu: &Emulators) -> BillingViews {
    BillingViews::new(&emu.billing_config().await)
}

fn strings(a: &[AccountId]) -> BTreeSet<String> {
    a.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_view_is_created_waited_for_updated_found_again_and_deleted() {
    let emu = Emulators::up(&["--health-delay-seconds", "0.3"]);
    let views = views(&emu).await;
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
    let poll = (Duration::from_millis(100), Duration::from_secs(10));
    views.update(&payer, &arn, &vi, poll).await.unwrap();
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
    let emu = Emulators::up(&["--health-delay-seconds", "0.3"]);
    let views = views(&emu).await;
    let payer: AccountId = PAYER.parse().unwrap();
    let vi = integration("Borealis", ids(2, 400_000_000_000));

    emu.billing_control("/_emulator/config", r#"{"quota": 0}"#);
    let e = views.create(&payer, &vi, "t-quota").await.unwrap_err();
    assert!(matches!(e, AwsError::Quota(_)), "{e}");
    assert!(e.to_string().contains("quota"), "{e}");

    emu.billing_control("/_emulator/config", r#"{"quota": 100}"#);
    emu.billing_control(
        "/_emulator/faults",
        r#"{"kind": "throttle", "operation": "CreateBillingView", "count": 1}"#,
    );
    let e = views.create(&payer, &vi, "t-throttle").await.unwrap_err();
    assert!(matches!(e, AwsError::Throttled(_)), "{e}");

    // A view that turns unhealthy stops the wait with AWS's reasons.
    let arn = views.create(&payer, &vi, "t-ok").await.unwrap();
    emu.billing_control(
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
    emu.billing_control("/_emulator/config", r#"{"health_delay_seconds": 30}"#);
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
