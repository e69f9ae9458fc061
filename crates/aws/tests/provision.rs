//! Provisioning an integration in the emulated payer: both views made and
//! validated, and on a fault at either step nothing left behind — checked
//! from outside with separate clients.

use std::time::{Duration, Instant};

use costcarve_aws::athena::{Athena, AthenaPlace};
use costcarve_aws::billing::{BillingViews, Health};
use costcarve_aws::provision::{ProvisionError, Provisioner};
use costcarve_core::integration::VirtualIntegration;
use costcarve_core::view_definition::ViewDefinition;

use crate::support::{ids, Emulators, PAYER};

fn integration(name: &str, base: u64) -> VirtualIntegration {
    crate::support::integration(name, ids(5, base))
}

async fn setup(emu: &Emulators) -> (Provisioner, BillingViews, aws_sdk_athena::Client) {
    let place = AthenaPlace {
        cur_database: "costcarve_cur".into(),
        cur_table: "cur2".into(),
        views_database: "costcarve_views".into(),
        workgroup: "costcarve".into(),
        results: None,
    };
    let moto = emu.config().await;
    let billing = emu.billing_config().await;
    let provisioner = Provisioner::new(
        Athena::new(&moto, place),
        BillingViews::new(&billing),
        PAYER.parse().unwrap(),
    )
    .with_health_polling(Duration::from_millis(50), Duration::from_secs(10));
    // Separate clients to look from outside.
    (
        provisioner,
        BillingViews::new(&billing),
        aws_sdk_athena::Client::new(&moto),
    )
}

/// Every query Athena was asked to run, oldest first.
async fn athena_log(client: &aws_sdk_athena::Client) -> Vec<String> {
    let ids = client
        .list_query_executions()
        .work_group("costcarve")
        .send()
        .await
        .unwrap()
        .query_execution_ids()
        .to_vec();
    let mut out = Vec::new();
    for id in ids {
        let e = client
            .get_query_execution()
            .query_execution_id(id)
            .send()
            .await
            .unwrap();
        let e = e.query_execution().unwrap();
        let at = e
            .status()
            .and_then(|s| s.submission_date_time())
            .map(|t| t.as_nanos())
            .unwrap_or_default();
        out.push((at, e.query().unwrap_or_default().to_string()));
    }
    out.sort();
    out.into_iter().map(|(_, q)| q).collect()
}

#[tokio::test]
async fn an_integration_is_provisioned_validated_and_removed() {
    let emu = Emulators::up(&["--health-delay-seconds", "0.2"]);
    let (provisioner, outside, athena) = setup(&emu).await;
    let vi = integration("Acme", 600_000_000_000);
    let made = provisioner.create(&vi).await.unwrap();

    // The view is a scope Cost Explorer accepts.
    assert_eq!(made.scope().unwrap().as_str(), made.billing_view_arn);
    let view = outside.get(&made.billing_view_arn).await.unwrap().unwrap();
    assert_eq!(view.health, Health::Healthy);
    let want: std::collections::BTreeSet<String> =
        vi.accounts.iter().map(ToString::to_string).collect();
    assert_eq!(view.accounts, want);
    let log = athena_log(&athena).await;
    assert_eq!(log.len(), 1);
    // Exactly the view CostCarve makes: name, source and accounts, parsed.
    let (_, def) = ViewDefinition::parse_ddl(&log[0]).unwrap();
    assert_eq!(def.accounts, vi.accounts);
    assert_eq!(def.source, "\"costcarve_cur\".\"cur2\"");

    provisioner
        .delete(&vi, Some(&made.billing_view_arn))
        .await
        .unwrap();
    assert_eq!(outside.get(&made.billing_view_arn).await.unwrap(), None);
    let log = athena_log(&athena).await;
    assert_eq!(
        log.last().unwrap(),
        "DROP VIEW IF EXISTS \"costcarve_views\".\"vi_acme\""
    );
    // Deleting again is fine.
    provisioner
        .delete(&vi, Some(&made.billing_view_arn))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_fault_at_any_step_leaves_nothing_behind() {
    let emu = Emulators::up(&["--health-delay-seconds", "0.2"]);
    let (provisioner, outside, athena) = setup(&emu).await;

    // The billing view cannot be created: the Athena view is dropped again.
    emu.billing_control(
        "/_emulator/faults",
        r#"{"kind": "error", "operation": "CreateBillingView", "nth": 1, "error_type": "InternalServerException", "status": 500, "message": "boom"}"#,
    );
    let vi = integration("Acme", 610_000_000_000);
    let e = provisioner.create(&vi).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProvisionError::RolledBack {
                step: "creating the billing view",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("nothing was left behind"), "{e}");
    assert!(outside.list_managed().await.unwrap().is_empty());
    let log = athena_log(&athena).await;
    assert_eq!(
        log.last().unwrap(),
        "DROP VIEW IF EXISTS \"costcarve_views\".\"vi_acme\""
    );

    // The billing view turns unhealthy: both are removed.
    emu.billing_control(
        "/_emulator/faults",
        r#"{"kind": "error", "operation": "GetBillingView", "nth": 1, "error_type": "AccessDeniedException", "status": 400, "message": "not allowed"}"#,
    );
    let vi = integration("Borealis", 620_000_000_000);
    let e = provisioner.create(&vi).await.unwrap_err();
    assert!(
        matches!(
            e,
            ProvisionError::RolledBack {
                step: "waiting for the billing view",
                ..
            }
        ),
        "{e}"
    );
    assert!(outside.list_managed().await.unwrap().is_empty());
    let log = athena_log(&athena).await;
    assert_eq!(
        log.last().unwrap(),
        "DROP VIEW IF EXISTS \"costcarve_views\".\"vi_borealis\""
    );

    // Cleaning up fails too: the error says the integration needs repair.
    emu.billing_control(
        "/_emulator/faults",
        r#"{"faults": [{"kind": "error", "operation": "GetBillingView", "nth": 1, "error_type": "AccessDeniedException", "status": 400, "message": "not allowed"},
                       {"kind": "error", "operation": "DeleteBillingView", "nth": 1, "error_type": "InternalServerException", "status": 500, "message": "down"}]}"#,
    );
    let vi = integration("Cobalt", 630_000_000_000);
    let e = provisioner.create(&vi).await.unwrap_err();
    assert!(matches!(e, ProvisionError::NeedsRepair { .. }), "{e}");
    assert!(e.to_string().contains("needs repair"), "{e}");
}

#[tokio::test]
async fn provisioning_completes_when_every_billing_call_is_slow() {
    // Each billing call takes 300 ms: the billing branch alone is ~4 calls.
    let emu = Emulators::up(&["--health-delay-seconds", "0.5", "--billing-delay-ms", "300"]);
    let (provisioner, outside, _) = setup(&emu).await;
    let started = Instant::now();
    provisioner
        .create(&integration("Acme", 640_000_000_000))
        .await
        .unwrap();
    let both = started.elapsed();
    // The slowest branch alone: the billing view, created and waited for.
    let vi = integration("Borealis", 650_000_000_000);
    let started = Instant::now();
    let arn = outside
        .create(&PAYER.parse().unwrap(), &vi, "alone")
        .await
        .unwrap();
    outside
        .wait_healthy(&arn, Duration::from_millis(50), Duration::from_secs(10))
        .await
        .unwrap();
    let alone = started.elapsed();
    // Reported, not asserted: timing belongs to benchmarks, not tests.
    eprintln!(
        "create, both branches: {both:?}; billing branch alone: {alone:?}; ratio {:.2}",
        both.as_secs_f64() / alone.as_secs_f64()
    );
}
