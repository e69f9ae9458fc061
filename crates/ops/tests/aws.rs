//! The desktop's operations on an AWS connection, against the emulated
//! payer: what the screens show is computed from the payer's CUR (checked
//! against an independent sum over the seeded Parquet), and only the
//! integration's accounts appear.

use std::collections::BTreeMap;
use std::sync::Arc;

use costcarve_core::ports::{Clock, SystemClock};
use costcarve_ops::{ChartRequest, ConnectionForm, Dirs, Session};

use crate::support::{request, Emulators, MemorySecrets};

/// The SDK's default chain reads the emulators' endpoints from the process
/// environment: one test at a time points it at its own emulators.
static AWS_ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `--flag value` pairs of the connection `up` describes.
fn flag(args: &str, name: &str) -> String {
    let words: Vec<&str> = args.split_whitespace().collect();
    let at = words.iter().position(|w| *w == name).unwrap();
    words[at + 1].to_string()
}

/// A desktop session on the emulated payer: the SDK's default chain points
/// at the emulators (as `up` exported them) and a connection "emu" is saved;
/// secrets (the integrations') stay in memory, never in a keyring.
fn session_on(emu: &Emulators, home: &std::path::Path, clock: Arc<dyn Clock>) -> Session {
    for (k, v) in &emu.env {
        if k.starts_with("AWS_") {
            std::env::set_var(k, v);
        }
    }
    std::env::remove_var("AWS_PROFILE");
    let s = Session::new(
        Dirs {
            config: home.join("config"),
            data: home.join("data"),
        },
        clock,
    )
    .with_secrets(Arc::new(MemorySecrets::default()));
    let args = &emu.env["COSTCARVE_EMU_CONNECTION_ARGS"];
    s.add_connection(ConnectionForm {
        name: "emu".into(),
        profile: None,
        access_key_id: None,
        secret_access_key: None,
        region: Some(flag(args, "--region")),
        role_arn: None,
        external_id: None,
        cur_table: flag(args, "--cur-table"),
        workgroup: flag(args, "--workgroup"),
        results: flag(args, "--results"),
        views_database: Some(flag(args, "--views-database")),
    })
    .unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_chart_on_a_payer_equals_the_cur_for_exactly_its_accounts() {
    let _env = AWS_ENV.lock().await;
    let emu = Emulators::up(&["--accounts", "10", "--health-delay-seconds", "0.2"]);
    let home = tempfile::tempdir().unwrap();
    let s = Arc::new(session_on(&emu, home.path(), Arc::new(SystemClock)));
    let info = s.open_connection("emu").await.unwrap();
    assert_eq!(info.kind, "aws");

    let org = s.organization(false).await.unwrap();
    let customer = org
        .accounts
        .iter()
        .filter_map(|a| {
            a.tags
                .iter()
                .find(|(k, _)| k == "customer")
                .map(|(_, v)| v.clone())
        })
        .find(|c| c != "internal")
        .expect("a seeded customer");
    let mine: Vec<String> = org
        .accounts
        .iter()
        .filter(|a| {
            a.tags
                .iter()
                .any(|(k, v)| k == "customer" && *v == customer)
        })
        .map(|a| a.id.clone())
        .collect();
    assert!(!mine.is_empty());
    let row = s.create_integration("Acme", &mine, false).await.unwrap();
    assert_eq!(row.status, "healthy");

    let (from, to) = (emu.month_start(3), emu.month_start(1));
    let by_account = ChartRequest {
        integration: "Acme".into(),
        kind: "account".into(),
        from: Some(from.clone()),
        to: Some(to.clone()),
        group_by: None,
        large: false,
        width: None,
        height: None,
    };
    let chart = s.chart(&by_account).await.unwrap();
    let want = emu.cur_sums(&[
        "--accounts",
        &mine.join(","),
        "--from",
        &from,
        "--to",
        &to,
        "--group-by",
        "account",
    ]);
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    for p in want["points"].as_array().unwrap() {
        let key = (
            p["period"].as_str().unwrap().to_string(),
            p["keys"][0].as_str().unwrap().to_string(),
        );
        expected.insert(key, p["amount"].as_f64().unwrap());
    }
    let got: BTreeMap<(String, String), f64> = chart
        .points
        .iter()
        .map(|p| {
            (
                (p.period.clone(), p.keys[0].clone()),
                p.amount.parse::<f64>().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "the same months and accounts"
    );
    for (k, w) in &expected {
        assert!(
            (got[k] - w).abs() < 0.006,
            "{k:?}: screen {} vs CUR {w}",
            got[k]
        );
    }
    assert!(chart.points.iter().all(|p| mine.contains(&p.keys[0])));
    let total: f64 = chart.total.parse().unwrap();
    assert!((total - want["total"].as_f64().unwrap()).abs() < 0.006);
    assert!(
        chart.ce_requests.is_some(),
        "a payer's chart says what it cost"
    );

    // Confined SQL through the desktop: only its accounts, the CUR's sums.
    let rows = s
        .query(
            "Acme",
            &format!(
                "SELECT line_item_usage_account_id, sum(line_item_unblended_cost) FROM cur \
                 WHERE billing_period = '{}' GROUP BY 1 ORDER BY 1",
                &from[..7]
            ),
            1000,
        )
        .await
        .unwrap();
    let month_end = emu.month_start(2);
    let want = emu.cur_sums(&[
        "--accounts",
        &mine.join(","),
        "--from",
        &from,
        "--to",
        &month_end,
        "--group-by",
        "account",
        "--granularity",
        "none",
    ]);
    let want: BTreeMap<String, f64> = want["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["keys"][0].as_str().unwrap().to_string(),
                p["amount"].as_f64().unwrap(),
            )
        })
        .collect();
    let got: BTreeMap<String, f64> = rows
        .rows
        .iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                r[1].as_deref().unwrap().parse::<f64>().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, w) in &want {
        assert!(
            (got[k] - w).abs() < 1e-6,
            "{k}: query {} vs CUR {w}",
            got[k]
        );
    }

    // While Athena keeps a query running, the other screens still answer
    // (Cost Explorer, the payer's integrations), and the query stops when
    // asked.
    request(
        &emu.env["COSTCARVE_EMU_MOTO_URL"],
        "POST",
        "/moto-api/costcarve/athena-faults",
        r#"{"match": "slow_marker", "times": 1, "running_ms": 120000}"#,
    );
    let slow = tokio::spawn({
        let s = s.clone();
        async move {
            s.query("Acme", "SELECT 'slow_marker' AS m FROM cur LIMIT 1", 10)
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let others = async {
        let chart = s.chart(&by_account).await.unwrap();
        let listed = s.integrations().await.unwrap();
        (chart, listed)
    };
    let (chart, listed) = tokio::time::timeout(std::time::Duration::from_secs(30), others)
        .await
        .expect("the other screens waited for the Athena query");
    assert!((chart.total.parse::<f64>().unwrap() - total).abs() < 0.006);
    assert_eq!(listed.len(), 1);
    assert!(!slow.is_finished(), "the Athena query ended early");
    assert!(s.cancel_query());
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(30), slow)
        .await
        .expect("the query did not stop")
        .unwrap();
    let e = costcarve_ops::IpcError::from(stopped.unwrap_err());
    assert_eq!(e.code.as_str(), "cancelled");

    s.delete_integration("Acme").await.unwrap();

    // A create a crash interrupted (its intent left in the journal) is
    // undone when the connection opens again, and the desktop is told.
    std::fs::write(
        home.path().join("data/connections/emu/journal.json"),
        format!(
            r#"{{"op": "create", "integration": {{"id": "7d7b0e43-6b0e-4a53-9a57-1f5c2a4f9e11",
            "name": "Ghost", "accounts": ["{}"], "created_at": "2026-11-30T10:00:00Z",
            "updated_at": "2026-11-30T10:00:00Z", "revision": 1}}}}"#,
            mine[0]
        ),
    )
    .unwrap();
    let info = s.open_connection("emu").await.unwrap();
    assert_eq!(info.recovery.len(), 1, "{:?}", info.recovery);
    assert!(
        info.recovery[0].contains("creating 'Ghost' was interrupted"),
        "{:?}",
        info.recovery
    );
    assert_eq!(s.workspace().await.unwrap().recovery, info.recovery);
    assert!(s.integrations().await.unwrap().is_empty());
}

/// A clock a test moves forward.
struct StepClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl Clock for StepClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

impl StepClock {
    fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

#[tokio::test]
async fn a_closed_month_is_cached_for_good_only_once_cost_explorer_calls_it_final() {
    let _env = AWS_ENV.lock().await;
    let emu = Emulators::up(&["--accounts", "6", "--health-delay-seconds", "0.2"]);
    let moto = &emu.env["COSTCARVE_EMU_MOTO_URL"];
    // Cost Explorer still marks last month estimated (as in the first days
    // of a month, when AWS may restate it).
    let ce_config = |body: &str| {
        let reply = request(moto, "POST", "/moto-api/costcarve/ce-config", body);
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    };
    ce_config(r#"{"estimated_until_day": 31}"#);
    let clock = Arc::new(StepClock(std::sync::Mutex::new(SystemClock.now())));
    let home = tempfile::tempdir().unwrap();
    let s = session_on(&emu, home.path(), clock.clone());
    s.open_connection("emu").await.unwrap();
    let org = s.organization(false).await.unwrap();
    let some: Vec<String> = org.accounts.iter().take(2).map(|a| a.id.clone()).collect();
    s.create_integration("Acme", &some, false).await.unwrap();

    // Last month, closed.
    let last_month = ChartRequest {
        integration: "Acme".into(),
        kind: "account".into(),
        from: Some(emu.month_start(1)),
        to: Some(emu.month_start(0)),
        group_by: None,
        large: false,
        width: None,
        height: None,
    };
    let asked = |chart: &costcarve_ops::ChartView| chart.ce_requests.unwrap();
    assert_eq!(asked(&s.chart(&last_month).await.unwrap()), 1);
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(
        asked(&s.chart(&last_month).await.unwrap()),
        0,
        "within the TTL"
    );
    // Still estimated: asked again after the TTL ...
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(asked(&s.chart(&last_month).await.unwrap()), 1, "estimated");
    // ... until Cost Explorer calls it final; then kept for good.
    ce_config(r#"{"estimated_until_day": 0}"#);
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(asked(&s.chart(&last_month).await.unwrap()), 1);
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(asked(&s.chart(&last_month).await.unwrap()), 0, "final");
    s.delete_integration("Acme").await.unwrap();
}

/// Issue 10: a billing view deleted outside CostCarve leaves its Athena view
/// behind. The list then has no integration but the desktop does not say
/// "no integrations yet": it is told of the view left behind, and dropping
/// it leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_billing_view_deleted_outside_leaves_a_view_the_desktop_is_told_of() {
    let _env = AWS_ENV.lock().await;
    let emu = Emulators::up(&["--accounts", "4", "--health-delay-seconds", "0.2"]);
    let home = tempfile::tempdir().unwrap();
    let s = session_on(&emu, home.path(), Arc::new(SystemClock));
    s.open_connection("emu").await.unwrap();
    let org = s.organization(false).await.unwrap();
    let one = vec![org.accounts.last().unwrap().id.clone()];
    let row = s.create_integration("Acme", &one, false).await.unwrap();
    assert!(s.orphan_views().await.unwrap().is_empty());

    let billing = aws_sdk_billing::Client::new(&emu.billing_config().await);
    let arn = s.integrations().await.unwrap()[0]
        .billing_view_arn
        .clone()
        .unwrap();
    billing
        .delete_billing_view()
        .arn(&arn)
        .send()
        .await
        .unwrap();

    assert!(s.integrations().await.unwrap().is_empty());
    assert_eq!(
        s.orphan_views().await.unwrap(),
        vec![format!("vi_{}", row.name.to_lowercase())]
    );
    s.drop_orphan_view("vi_acme").await.unwrap();
    assert!(s.integrations().await.unwrap().is_empty());
    assert!(s.orphan_views().await.unwrap().is_empty());
}

/// Issue 10: every billed request is counted. A chart over last month and
/// this one asks Cost Explorer twice; when the second request fails, the
/// first was still billed: the connection's total counts both, and the
/// month that was answered is kept (the next chart asks for the open month
/// only).
#[tokio::test]
async fn requests_are_counted_when_a_later_part_of_the_answer_fails() {
    let _env = AWS_ENV.lock().await;
    let emu = Emulators::up(&["--accounts", "6", "--health-delay-seconds", "0.2"]);
    let moto = &emu.env["COSTCARVE_EMU_MOTO_URL"];
    let home = tempfile::tempdir().unwrap();
    let s = session_on(&emu, home.path(), Arc::new(SystemClock));
    s.open_connection("emu").await.unwrap();
    let org = s.organization(false).await.unwrap();
    let some: Vec<String> = org.accounts.iter().take(2).map(|a| a.id.clone()).collect();
    s.create_integration("Acme", &some, false).await.unwrap();
    let two_months = ChartRequest {
        integration: "Acme".into(),
        kind: "daily".into(),
        from: Some(emu.month_start(1)),
        to: None,
        group_by: None,
        large: false,
        width: None,
        height: None,
    };
    let warm = s.chart(&two_months).await.unwrap();
    assert_eq!(warm.ce_requests, Some(2), "a closed and an open part");
    let before = warm.ce_requests_total.unwrap();
    // The same months by account: nothing of it is cached yet.
    let fresh = ChartRequest {
        kind: "account".into(),
        ..two_months.clone()
    };
    let reply = request(
        moto,
        "POST",
        "/moto-api/costcarve/ce-faults",
        r#"{"skip": 1, "code": "DataUnavailableException", "message": "Data is not available"}"#,
    );
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    let failed = s.chart(&fresh).await.unwrap_err();
    assert_eq!(costcarve_ops::IpcError::from(failed).code.as_str(), "aws");
    let after = s.chart(&fresh).await.unwrap();
    assert_eq!(
        after.ce_requests,
        Some(1),
        "only the open month is asked again"
    );
    assert_eq!(
        after.ce_requests_total,
        Some(before + 2 + 1),
        "the failed answer's two billed requests are counted"
    );
}
