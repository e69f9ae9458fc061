//! Integration views on Athena through the real aws-sdk-athena client, over
//! HTTP, against moto started by `tests/emulators up` (the harness applies
//! view DDL to Glue and runs queries with DuckDB over the seeded CUR, and
//! keeps each query's text, which the adapter reads back to validate a
//! change).

use chrono::{TimeZone, Utc};

use costcarve_aws::athena::{view_ddl, Athena, AthenaPlace};
use costcarve_core::account::Organization;
use costcarve_core::integration::{
    IntegrationChange, IntegrationSet, NewIntegration, VirtualIntegration,
};
use costcarve_core::view_definition::ViewDefinition;

use crate::support::{ids, Emulators, PAYER};

/// Puts the view and checks, from what Athena recorded, that its DDL names
/// exactly the integration's accounts.
async fn put_and_check(athena: &Athena, vi: &VirtualIntegration) -> String {
    let ran = athena.put_view(vi).await.unwrap();
    let executed = athena.executed(&ran.id).await.unwrap();
    assert_eq!(
        executed,
        view_ddl(athena.place(), vi).unwrap(),
        "byte for byte"
    );
    let (_, def) = ViewDefinition::parse_ddl(&executed).unwrap();
    assert_eq!(def.accounts, vi.accounts);
    ran.query
}

#[tokio::test]
async fn a_view_is_created_validated_from_its_executed_ddl_replaced_and_dropped() {
    let emu = Emulators::up(&[]);
    let args = &emu.env["COSTCARVE_EMU_CONNECTION_ARGS"];
    let arg = |flag: &str| {
        let words: Vec<&str> = args.split_whitespace().collect();
        let i = words.iter().position(|w| *w == flag).unwrap();
        words[i + 1].to_string()
    };
    let (cur_database, cur_table) = {
        let t = arg("--cur-table");
        let (d, t) = t.split_once('.').unwrap();
        (d.to_string(), t.to_string())
    };
    let place = AthenaPlace {
        cur_database,
        cur_table,
        views_database: arg("--views-database"),
        workgroup: arg("--workgroup"),
        results: Some(arg("--results")),
    };
    let athena = Athena::new(&emu.config().await, place);

    let accounts = ids(6, 700_000_000_000);
    let org = Organization::flat(
        PAYER.parse().unwrap(),
        accounts
            .iter()
            .map(|a| (a.clone(), String::new()))
            .collect(),
    );
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut set = IntegrationSet::default();
    let vi = set
        .create(
            &org,
            NewIntegration {
                name: "Acme".into(),
                accounts: accounts[..4].to_vec(),
                allow_shared: false,
                ..Default::default()
            },
            now,
        )
        .unwrap();
    let query = put_and_check(&athena, &vi).await;
    assert!(query.starts_with("CREATE OR REPLACE VIEW \"costcarve_views\".\"vi_acme\""));

    let (vi, _) = set
        .update(
            &org,
            "Acme",
            IntegrationChange {
                add: accounts[4..].to_vec(),
                remove: vec![accounts[0].clone()],
                rename: None,
                allow_shared: false,
                ..Default::default()
            },
            now,
        )
        .unwrap();
    put_and_check(&athena, &vi).await;

    let dropped = athena.drop_view(&vi.view_name()).await.unwrap();
    assert_eq!(
        dropped.query,
        "DROP VIEW IF EXISTS \"costcarve_views\".\"vi_acme\""
    );

    // An unknown execution id is an error that names it.
    let e = athena.executed("no-such-id").await.unwrap_err();
    assert!(e.to_string().contains("no-such-id"), "{e}");
}
