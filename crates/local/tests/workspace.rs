//! The local workspace end to end: demo data, integrations and their views,
//! cost queries checked against an independent reading of the Parquet files.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimestampMillisecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rust_decimal::prelude::ToPrimitive;

use costcarve_core::account::AccountId;
use costcarve_core::cost::{CostQuery, Dimension, Granularity};
use costcarve_core::error::{Coded, ErrorCode};
use costcarve_core::integration::{IntegrationChange, IntegrationError, NewIntegration};
use costcarve_core::ports::FixedClock;
use costcarve_core::verification::Evidence;
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::workspace::CurFlavor;
use costcarve_local::{LocalError, LocalWorkspace};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 10, 20, 12, 0, 0).unwrap(),
    ))
}

fn spec() -> DemoSpec {
    DemoSpec::new(30_000, 7, d("2026-10-01"))
}

fn demo_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ws");
    demo::generate(&dir, &spec(), |_| {}).unwrap();
    (tmp, dir)
}

fn customer_accounts(ws: &LocalWorkspace, customer: &str) -> Vec<AccountId> {
    ws.organization()
        .accounts
        .iter()
        .filter(|a| a.tags.get("customer").map(String::as_str) == Some(customer))
        .map(|a| a.id.clone())
        .collect()
}

/// One CUR row as the oracle sees it.
struct Row {
    account: String,
    item_type: String,
    day: NaiveDate,
    cost: f64,
}

/// Reads every Parquet file with the parquet crate alone: an oracle that
/// shares no code with the engine.
fn read_rows(dir: &Path) -> Vec<Row> {
    let mut files = Vec::new();
    for period in fs::read_dir(dir.join("cur")).unwrap() {
        for f in fs::read_dir(period.unwrap().path()).unwrap() {
            files.push(f.unwrap().path());
        }
    }
    let mut rows = Vec::new();
    for f in files {
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(f).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let b = batch.unwrap();
            let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
            let account = cast(&col("line_item_usage_account_id"), &DataType::Utf8).unwrap();
            let item = cast(&col("line_item_line_item_type"), &DataType::Utf8).unwrap();
            let start = col("line_item_usage_start_date");
            let cost = col("line_item_unblended_cost");
            let (account, item) = (account.as_string::<i32>(), item.as_string::<i32>());
            let start = start.as_primitive::<TimestampMillisecondType>();
            let cost = cost.as_primitive::<Float64Type>();
            for i in 0..b.num_rows() {
                rows.push(Row {
                    account: account.value(i).to_string(),
                    item_type: item.value(i).to_string(),
                    day: chrono::DateTime::from_timestamp_millis(start.value(i))
                        .unwrap()
                        .date_naive(),
                    cost: cost.value(i),
                });
            }
        }
    }
    rows
}

#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let c = tmp.path().join("c");
    demo::generate(&a, &spec(), |_| {}).unwrap();
    demo::generate(&b, &spec(), |_| {}).unwrap();
    let mut other = spec();
    other.seed = 8;
    demo::generate(&c, &other, |_| {}).unwrap();
    let file = |root: &Path, rel: &str| fs::read(root.join(rel)).unwrap();
    for rel in [
        "cur/billing_period=2025-10/part-00000.snappy.parquet",
        "cur/billing_period=2026-10/part-00000.snappy.parquet",
        "organization.json",
    ] {
        assert_eq!(file(&a, rel), file(&b, rel), "{rel} differs between runs");
        assert_ne!(file(&a, rel), file(&c, rel), "{rel} ignores the seed");
    }
    let periods: Vec<_> = fs::read_dir(a.join("cur")).unwrap().collect();
    assert_eq!(periods.len(), 13);
    // Generating into an existing workspace is refused.
    let err = demo::generate(&a, &spec(), |_| {}).unwrap_err();
    assert!(matches!(err, LocalError::AlreadyAWorkspace(_)));
}

#[tokio::test]
async fn demo_organization_looks_like_an_msp() {
    let (_tmp, dir) = demo_dir();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    assert_eq!(ws.flavor(), CurFlavor::Cur2);
    let org = ws.organization();
    assert!(
        (50..=70).contains(&org.accounts.len()),
        "{}",
        org.accounts.len()
    );
    let customers: BTreeSet<_> = org
        .accounts
        .iter()
        .filter_map(|a| a.tags.get("customer"))
        .collect();
    assert_eq!(customers.len(), 8);
    let acme = customer_accounts(&ws, "acme-retail");
    let unit = org.unit_path(&org.account(&acme[0]).unwrap().parent_id);
    assert!(unit.starts_with("Customers/Acme Retail/"), "{unit}");
    for name in ["Shared services", "Sandbox", "Customers"] {
        assert!(org.units.iter().any(|u| u.name == name), "{name}");
    }
}

#[tokio::test]
async fn integration_costs_equal_an_independent_sum_of_its_accounts_only() {
    let (_tmp, dir) = demo_dir();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let acme = customer_accounts(&ws, "acme-retail");
    ws.create_integration(NewIntegration {
        name: "Acme Retail".into(),
        accounts: acme.clone(),
        allow_shared: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let rows = read_rows(&dir);
    let ids: BTreeSet<String> = acme.iter().map(ToString::to_string).collect();
    let (from, to) = (d("2026-08-01"), d("2026-10-15"));
    let oracle = |exclude: &[&str]| -> HashMap<(String, String), f64> {
        let mut m = HashMap::new();
        for r in &rows {
            if ids.contains(&r.account)
                && r.day >= from
                && r.day < to
                && !exclude.contains(&r.item_type.as_str())
            {
                *m.entry((r.day.format("%Y-%m").to_string(), r.account.clone()))
                    .or_insert(0.0) += r.cost;
            }
        }
        m
    };

    let mut q = CostQuery::new("Acme Retail", from, to);
    q.group_by = vec![Dimension::Account];
    let series = ws.cost(&q).await.unwrap();
    let want = oracle(&[]);
    assert_eq!(series.points.len(), want.len());
    for p in &series.points {
        assert!(ids.contains(&p.keys[0]), "foreign account {}", p.keys[0]);
        let expected = want[&(p.period.format("%Y-%m").to_string(), p.keys[0].clone())];
        assert!(
            (p.amount.to_f64().unwrap() - expected).abs() < 0.01,
            "{} {}: {} vs {expected}",
            p.period,
            p.keys[0],
            p.amount
        );
    }

    // Leaving out credits, refunds and tax matches the oracle too.
    q.exclude_line_item_types = ["Credit", "Refund", "Tax"].map(String::from).into();
    let series = ws.cost(&q).await.unwrap();
    let want: f64 = oracle(&["Credit", "Refund", "Tax"]).values().sum();
    assert!((series.total.to_f64().unwrap() - want).abs() < 0.05);

    // Daily, by service and region: each day of the range, two keys.
    let mut q = CostQuery::new("Acme Retail", d("2026-09-01"), d("2026-09-08"));
    q.granularity = Granularity::Daily;
    q.group_by = vec![Dimension::Service, Dimension::Region];
    let series = ws.cost(&q).await.unwrap();
    assert_eq!(series.periods().len(), 7);
    assert!(series.points.iter().all(|p| p.keys.len() == 2));
    let services: BTreeSet<_> = series.points.iter().map(|p| p.keys[0].as_str()).collect();
    assert!(services.contains("AmazonEC2"), "{services:?}");
}

#[tokio::test]
async fn cost_queries_read_only_the_billing_periods_they_need() {
    let (_tmp, dir) = demo_dir();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let acme = customer_accounts(&ws, "acme-retail");
    let vi = ws
        .create_integration(NewIntegration {
            name: "Acme".into(),
            accounts: acme,
            allow_shared: false,
            ..Default::default()
        })
        .await
        .unwrap();
    let q = CostQuery::new("Acme", d("2026-09-10"), d("2026-10-05"));
    let plan = ws.engine().explain_cost(&vi, &q).await.unwrap();
    assert!(plan.contains("billing_period=2026-09"), "{plan}");
    assert!(plan.contains("billing_period=2026-10"), "{plan}");
    assert!(!plan.contains("billing_period=2026-08"), "{plan}");
    assert!(!plan.contains("billing_period=2025-"), "{plan}");
}

#[tokio::test]
async fn rules_are_enforced_and_a_refused_change_leaves_the_saved_state_alone() {
    let (_tmp, dir) = demo_dir();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let acme = customer_accounts(&ws, "acme-retail");
    let borealis = customer_accounts(&ws, "borealis-health");
    ws.create_integration(NewIntegration {
        name: "Acme Retail".into(),
        accounts: acme.clone(),
        allow_shared: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let saved = fs::read(dir.join("integrations.json")).unwrap();

    fn refuse<T>(r: Result<T, LocalError>) -> String {
        let e = r.err().expect("should be refused");
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
        e.to_string()
    }
    let new = |name: &str, accounts: Vec<AccountId>| NewIntegration {
        name: name.into(),
        accounts,
        allow_shared: false,
        ..Default::default()
    };
    let msg = refuse(
        ws.create_integration(new("bad/name", borealis.clone()))
            .await,
    );
    assert!(msg.contains("'/' is not allowed"), "{msg}");
    let msg = refuse(ws.create_integration(new("", borealis.clone())).await);
    assert!(msg.contains("empty"), "{msg}");
    let msg = refuse(
        ws.create_integration(new(&"x".repeat(65), borealis.clone()))
            .await,
    );
    assert!(msg.contains("longer than 64"), "{msg}");
    let msg = refuse(
        ws.create_integration(new("acme retail", borealis.clone()))
            .await,
    );
    assert!(msg.contains("already exists"), "{msg}");
    let msg = refuse(
        ws.create_integration(new("acme-retail", borealis.clone()))
            .await,
    );
    assert!(
        msg.contains("vi_acme_retail"),
        "view clash is not reported: {msg}"
    );
    let msg = refuse(ws.create_integration(new("B", vec![])).await);
    assert!(msg.contains("at least one account"), "{msg}");
    let unknown: AccountId = "999999999999".parse().unwrap();
    let msg = refuse(ws.create_integration(new("B", vec![unknown.clone()])).await);
    assert!(
        msg.contains("999999999999")
            && msg.contains("not in this organization")
            && !msg.contains("costcarve"),
        "{msg}"
    );
    let twice = vec![borealis[0].clone(), borealis[0].clone()];
    let msg = refuse(ws.create_integration(new("B", twice)).await);
    assert!(msg.contains("listed twice"), "{msg}");
    // The message says the way forward in words both surfaces can use; the
    // remedy lets the CLI name its flag (--allow-shared) and the desktop a control.
    let shared = ws.create_integration(new("B", vec![acme[0].clone()])).await;
    assert_eq!(
        shared.as_ref().err().and_then(|e| e.remedy()),
        Some(costcarve_core::error::Remedy::AllowShared)
    );
    let msg = refuse(shared);
    assert!(
        msg.contains("allow shared accounts") && msg.contains("Acme"),
        "{msg}"
    );
    let too_many: Vec<AccountId> = (0..2001)
        .map(|i| format!("{:012}", 100_000_000_000u64 + i).parse().unwrap())
        .collect();
    let e = ws.create_integration(new("B", too_many)).await.unwrap_err();
    assert!(
        matches!(
            e,
            LocalError::Integration(IntegrationError::TooManyAccounts(2001))
        ),
        "{e}"
    );
    assert!(e.to_string().contains("at most 200"));

    let change = |add: Vec<AccountId>, remove: Vec<AccountId>| IntegrationChange {
        add,
        remove,
        rename: None,
        allow_shared: false,
        ..Default::default()
    };
    let msg = refuse(
        ws.update_integration("Acme Retail", change(vec![], acme.clone()))
            .await,
    );
    assert!(msg.contains("at least one account"), "{msg}");
    let msg = refuse(
        ws.update_integration("Acme Retail", change(vec![acme[0].clone()], vec![]))
            .await,
    );
    assert!(msg.contains("already in"), "{msg}");
    let msg = refuse(
        ws.update_integration("Acme Retail", change(vec![], vec![borealis[0].clone()]))
            .await,
    );
    assert!(msg.contains("is not in"), "{msg}");
    let e = ws
        .update_integration("Nope", change(vec![], vec![]))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);
    assert!(
        e.to_string().contains("known integrations: Acme Retail"),
        "{e}"
    );

    assert_eq!(fs::read(dir.join("integrations.json")).unwrap(), saved);

    // Sharing is allowed when asked for.
    let mut shared = new("Shared", vec![acme[0].clone()]);
    shared.allow_shared = true;
    ws.create_integration(shared).await.unwrap();
}

#[tokio::test]
async fn integrations_survive_reopen_rename_and_an_interrupted_save() {
    let (_tmp, dir) = demo_dir();
    let acme;
    {
        let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
        acme = customer_accounts(&ws, "acme-retail");
        ws.create_integration(NewIntegration {
            name: "Acme".into(),
            accounts: acme[..2].to_vec(),
            allow_shared: false,
            ..Default::default()
        })
        .await
        .unwrap();
        let (vi, diff) = ws
            .update_integration(
                "Acme",
                IntegrationChange {
                    add: acme[2..].to_vec(),
                    remove: vec![acme[0].clone()],
                    rename: Some("Acme Retail".into()),
                    allow_shared: false,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(vi.revision, 2);
        assert_eq!(diff.removed, vec![acme[0].clone()]);
        assert_eq!(vi.accounts.len(), acme.len() - 1);
    }
    // A crash mid-save leaves a temp file behind: it must not matter.
    fs::write(
        dir.join(".integrations.json.tmp"),
        b"{\"version\": 1, \"integ",
    )
    .unwrap();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let vi = ws.integration("acme retail").unwrap().clone();
    assert_eq!(vi.name.as_str(), "Acme Retail");
    let r = ws
        .sql(
            "Acme Retail",
            "SELECT DISTINCT line_item_usage_account_id FROM cur ORDER BY 1",
            100,
        )
        .await
        .unwrap();
    let seen: BTreeSet<String> = r.rows.iter().map(|r| r[0].clone().unwrap()).collect();
    let want: BTreeSet<String> = vi.accounts.iter().map(ToString::to_string).collect();
    assert_eq!(seen, want);
    // The old view name is gone with the rename.
    let e = ws.sql("Acme", "SELECT 1 FROM cur", 10).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotFound);

    ws.delete_integration("Acme Retail").await.unwrap();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    assert!(ws.integrations().integrations.is_empty());

    // A damaged state file is reported, not silently replaced.
    fs::write(dir.join("integrations.json"), b"{not json").unwrap();
    let e = LocalWorkspace::open(&dir, clock()).await.err().unwrap();
    assert!(e.to_string().contains("damaged"), "{e}");
}

#[tokio::test]
async fn folders_that_are_not_a_cur_get_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let e = LocalWorkspace::open(tmp.path(), clock())
        .await
        .err()
        .unwrap();
    assert_eq!(e.code(), ErrorCode::NotAWorkspace);
    assert!(e.to_string().contains("no Parquet files"), "{e}");

    let e = LocalWorkspace::open(&tmp.path().join("missing"), clock())
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("not a folder"), "{e}");

    // A Parquet file of something else.
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{Field, Schema};
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let batch =
        RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))]).unwrap();
    let f = fs::File::create(tmp.path().join("other.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let e = LocalWorkspace::open(tmp.path(), clock())
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains("not a Cost and Usage Report") && msg.contains("line_item_usage_account_id"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_legacy_cur_export_opens_and_answers_cost_queries() {
    use datafusion::arrow::array::{
        Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
    let tmp = tempfile::tempdir().unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("identity_line_item_id", DataType::Utf8, false),
        Field::new("bill_payer_account_id", DataType::Utf8, false),
        Field::new("line_item_usage_account_id", DataType::Utf8, false),
        Field::new("line_item_line_item_type", DataType::Utf8, false),
        Field::new("line_item_product_code", DataType::Utf8, false),
        Field::new("line_item_usage_type", DataType::Utf8, false),
        Field::new("product_region", DataType::Utf8, false),
        Field::new(
            "line_item_usage_start_date",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
        Field::new("line_item_unblended_cost", DataType::Float64, false),
        Field::new("resource_tags_user_team", DataType::Utf8, true),
    ]));
    let ms = |s: &str| {
        d(s).and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    };
    for (month, day, scale) in [("10", "2025-10-03", 1.0), ("11", "2025-11-04", 2.0)] {
        let part = tmp
            .path()
            .join("report/report/year=2025")
            .join(format!("month={month}"));
        fs::create_dir_all(&part).unwrap();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
                Arc::new(StringArray::from(vec!["111111111111"; 3])),
                Arc::new(StringArray::from(vec![
                    "222222222222",
                    "333333333333",
                    "222222222222",
                ])),
                Arc::new(StringArray::from(vec!["Usage"; 3])),
                Arc::new(StringArray::from(vec!["AmazonEC2", "AmazonS3", "AmazonS3"])),
                Arc::new(StringArray::from(vec!["BoxUsage"; 3])),
                Arc::new(StringArray::from(vec!["us-east-1"; 3])),
                Arc::new(TimestampMillisecondArray::from(vec![ms(day); 3])),
                Arc::new(Float64Array::from(vec![
                    10.0 * scale,
                    5.0 * scale,
                    1.0 * scale,
                ])),
                Arc::new(StringArray::from(vec![Some("web"), None, Some("data")])),
            ],
        )
        .unwrap();
        let f = fs::File::create(part.join("report-00001.snappy.parquet")).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema.clone(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let ws = LocalWorkspace::open(tmp.path(), clock()).await.unwrap();
    assert_eq!(ws.flavor(), CurFlavor::Legacy);
    assert_eq!(ws.organization().accounts.len(), 2);
    assert_eq!(
        ws.organization().management_account_id.as_str(),
        "111111111111"
    );
    ws.create_integration(NewIntegration {
        name: "Two".into(),
        accounts: vec!["222222222222".parse().unwrap()],
        allow_shared: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut q = CostQuery::new("Two", d("2025-10-01"), d("2025-12-01"));
    q.group_by = vec![Dimension::Tag("user_team".into())];
    let s = ws.cost(&q).await.unwrap();
    let got: Vec<(String, String, f64)> = s
        .points
        .iter()
        .map(|p| {
            (
                p.period.to_string(),
                p.keys[0].clone(),
                p.amount.to_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("2025-10-01".into(), "data".into(), 1.0),
            ("2025-10-01".into(), "web".into(), 10.0),
            ("2025-11-01".into(), "data".into(), 2.0),
            ("2025-11-01".into(), "web".into(), 20.0),
        ]
    );
}

#[tokio::test]
async fn the_daily_rollup_answers_exactly_as_the_raw_line_items_and_follows_cur_changes() {
    // A CUR 2.0 export copied flat from S3: BILLING_PERIOD=... folders right
    // in the workspace folder, so the cache sits inside the CUR root.
    let (_tmp, demo_ws) = demo_dir();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    for period in ["2026-08", "2026-09", "2026-10"] {
        let to = dir.join(format!("BILLING_PERIOD={period}"));
        fs::create_dir_all(&to).unwrap();
        fs::copy(
            demo_ws.join(format!(
                "cur/billing_period={period}/part-00000.snappy.parquet"
            )),
            to.join("export-00001.snappy.parquet"),
        )
        .unwrap();
    }
    let mut ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let status = ws.rollup().expect("a rollup").clone();
    assert!(status.built && status.rows > 0, "{status:?}");
    assert!(status.dir.starts_with(&dir));
    let org = ws.organization().clone();
    let some: Vec<AccountId> = org.accounts.iter().take(7).map(|a| a.id.clone()).collect();
    ws.create_integration(NewIntegration {
        name: "Some".into(),
        accounts: some,
        allow_shared: false,
        ..Default::default()
    })
    .await
    .unwrap();

    let mut queries = Vec::new();
    for (from, to) in [("2026-08-01", "2026-11-01"), ("2026-08-17", "2026-10-03")] {
        for granularity in [Granularity::Monthly, Granularity::Daily] {
            for group_by in [
                vec![],
                vec![Dimension::Service],
                vec![Dimension::Account, Dimension::Region],
                vec![Dimension::UsageType, Dimension::LineItemType],
            ] {
                for metric in [
                    costcarve_core::cost::Metric::UnblendedCost,
                    costcarve_core::cost::Metric::AmortizedCost,
                ] {
                    let mut q = CostQuery::new("Some", d(from), d(to));
                    q.granularity = granularity;
                    q.group_by = group_by.clone();
                    q.metric = metric;
                    queries.push(q);
                }
            }
        }
    }
    let mut excluded = CostQuery::new("Some", d("2026-08-01"), d("2026-11-01"));
    excluded.exclude_line_item_types = ["Tax", "Credit"].map(String::from).into();
    excluded.metric = costcarve_core::cost::Metric::NetUnblendedCost;
    queries.push(excluded);
    for q in &queries {
        ws.engine_mut().use_rollup(true);
        let vi = ws.integration("Some").unwrap().clone();
        assert!(ws.engine().cost_sql(&vi, q).contains("__rollup"));
        let fast = ws.cost(q).await.unwrap();
        ws.engine_mut().use_rollup(false);
        let raw = ws.cost(q).await.unwrap();
        assert_eq!(fast.points.len(), raw.points.len(), "{q:?}");
        for (a, b) in fast.points.iter().zip(&raw.points) {
            assert_eq!((a.period, &a.keys), (b.period, &b.keys), "{q:?}");
            assert!(
                (a.amount - b.amount).abs() < rust_decimal::Decimal::new(1, 4),
                "{q:?}: {} vs {}",
                a.amount,
                b.amount
            );
        }
    }

    // Reopening reuses it; a changed CUR file rebuilds it.
    drop(ws);
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    assert!(!ws.rollup().unwrap().built);
    drop(ws);
    fs::remove_dir_all(dir.join("BILLING_PERIOD=2026-08")).unwrap();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    assert!(ws.rollup().unwrap().built);
    let q = CostQuery::new("Some", d("2026-08-01"), d("2026-11-01"));
    let s = ws.cost(&q).await.unwrap();
    assert_eq!(s.periods(), vec![d("2026-09-01"), d("2026-10-01")]);
}

#[tokio::test]
async fn a_stale_writer_is_refused_and_nothing_is_lost() {
    let (_tmp, dir) = demo_dir();
    // Two windows (or a window and the CLI) on one folder.
    let first = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let second = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let acme = customer_accounts(&first, "acme-retail");
    let borealis = customer_accounts(&first, "borealis-health");
    let new = |name: &str, accounts: &[AccountId]| NewIntegration {
        name: name.into(),
        accounts: accounts.to_vec(),
        allow_shared: false,
        ..Default::default()
    };
    first.create_integration(new("Acme", &acme)).await.unwrap();

    // The second has not seen Acme: its change is refused, Acme stays.
    let e = second
        .create_integration(new("Borealis", &borealis))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
    assert!(e.to_string().contains("changed elsewhere"), "{e}");
    let saved = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let names: Vec<String> = saved
        .integrations()
        .integrations
        .iter()
        .map(|vi| vi.name.to_string())
        .collect();
    assert_eq!(names, ["Acme"]);

    // It now shows what is saved (Acme answers there too), and the same
    // change applied again goes through.
    assert!(second.integration("Acme").is_ok());
    let r = second
        .sql("Acme", "SELECT count(*) FROM cur", 10)
        .await
        .unwrap();
    assert_eq!(r.rows.len(), 1);
    second
        .create_integration(new("Borealis", &borealis))
        .await
        .unwrap();
    // And the first is now the stale one, for updates and deletes alike.
    let e = first.delete_integration("Acme").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Conflict);
    assert_eq!(first.integrations().integrations.len(), 2);
}

/// Issue 10, locally: `verify` passes on a fresh integration with evidence
/// an independent reading of the Parquet files confirms (the accounts with
/// rows, the monthly totals of the last closed months), and fails, naming
/// the month, when the rollup the charts read no longer matches the line
/// items (a stale or damaged cache).
#[tokio::test]
async fn verify_shows_what_the_parquet_files_say_and_catches_a_damaged_rollup() {
    let (_tmp, dir) = demo_dir();
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let acme = customer_accounts(&ws, "acme-retail");
    ws.create_integration(NewIntegration {
        name: "Acme Retail".into(),
        accounts: acme.clone(),
        allow_shared: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let ids: BTreeSet<String> = acme.iter().map(ToString::to_string).collect();
    let rows = read_rows(&dir);
    let with_rows: Vec<String> = rows
        .iter()
        .filter(|r| ids.contains(&r.account))
        .map(|r| r.account.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let monthly = |month: &str| -> f64 {
        rows.iter()
            .filter(|r| ids.contains(&r.account) && r.day.format("%Y-%m").to_string() == month)
            .map(|r| r.cost)
            .sum()
    };

    let v = ws.verify("Acme Retail", 3).await.unwrap();
    assert!(v.ok, "{v:#?}");
    assert_eq!(v.workspace, "local");
    assert_eq!(v.requests, None, "no Cost Explorer locally");
    for name in ["isolation_line_items", "isolation_shown"] {
        let Evidence::Accounts {
            seen,
            outside,
            members,
            ..
        } = &v.check(name).unwrap().evidence
        else {
            panic!("{name}: {v:#?}")
        };
        assert_eq!(seen, &with_rows, "{name}");
        assert_eq!(members, &ids.iter().cloned().collect::<Vec<_>>());
        assert_eq!(*outside, 0);
    }
    let Evidence::Reconciliation { months, .. } = &v.check("reconciliation").unwrap().evidence
    else {
        panic!("{v:#?}")
    };
    let names: Vec<&str> = months.iter().map(|m| m.month.as_str()).collect();
    assert_eq!(
        names,
        ["2026-07", "2026-08", "2026-09"],
        "closed before 2026-10-20"
    );
    for m in months {
        let want = monthly(&m.month);
        assert!(want > 0.0);
        for got in [&m.shown, &m.line_items] {
            let got: f64 = got.parse().unwrap();
            assert!((got - want).abs() < 0.006, "{}: {got} vs {want}", m.month);
        }
        assert!(m.ok && !m.estimated);
    }

    // The rollup of September replaced by August's: the charts would show
    // wrong figures; verify says which month.
    let rollup = dir.join(".costcarve-cache/rollup-v2");
    let file = |p: &str| rollup.join(format!("billing_period={p}/part-00000.parquet"));
    fs::copy(file("2026-08"), file("2026-09")).unwrap();
    drop(ws);
    let ws = LocalWorkspace::open(&dir, clock()).await.unwrap();
    let v = ws.verify("Acme Retail", 3).await.unwrap();
    assert!(!v.ok);
    let check = v.check("reconciliation").unwrap();
    assert!(!check.ok);
    assert!(check.summary.contains("in 2026-09"), "{}", check.summary);
    assert!(v.check("definitions").unwrap().ok);
}
