//! The desktop's operations without a window, on the local demo workspace:
//! what each screen gets back, and that errors cross as `{code, message}`.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use costcarve_core::ports::FixedClock;
use costcarve_ops::{ChartRequest, ConnectionForm, Dirs, IpcError, Session};

use crate::support::MemorySecrets;

/// A session on `home` whose secrets stay in `secrets` (never a keyring).
fn session_with(home: &std::path::Path, secrets: Arc<MemorySecrets>) -> Session {
    Session::new(
        Dirs {
            config: home.join("config"),
            data: home.join("data"),
        },
        Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).unwrap(),
        )),
    )
    .with_secrets(secrets)
    .with_demo_rows(20_000)
}

fn session(home: &std::path::Path) -> Session {
    session_with(home, Arc::default())
}

fn code(e: costcarve_ops::OpsError) -> String {
    IpcError::from(e).code.as_str().to_string()
}

#[tokio::test]
async fn first_start_opens_the_demo_and_a_vi_goes_through_every_screen() {
    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    let info = s.workspace().await.unwrap();
    assert_eq!(info.kind, "demo");
    assert!(home
        .path()
        .join("data/demo/costcarve-workspace.json")
        .exists());

    let org = s.organization(false).await.unwrap();
    assert!(org.accounts.len() > 20);
    let acme = customer(&s, "acme-retail").await;
    assert!(acme.len() >= 2);

    // Review: the view names exactly those accounts.
    let plan = s.plan("Acme Retail", &acme, None).await.unwrap();
    assert_eq!(plan.added.len(), acme.len());
    for a in &acme {
        assert!(
            plan.view_sql.contains(&format!("'{a}'")),
            "{}",
            plan.view_sql
        );
    }
    let vi = s
        .create_integration("Acme Retail", &acme, false)
        .await
        .unwrap();
    assert_eq!(vi.status, "local");
    let org = s.organization(false).await.unwrap();
    assert!(org
        .accounts
        .iter()
        .filter(|a| acme.contains(&a.id))
        .all(|a| a.integrations == ["Acme Retail"]));

    // The chart by account shows only its accounts, and its total is the
    // sum of its points.
    let req = ChartRequest {
        integration: "acme retail".into(),
        kind: "account".into(),
        from: Some("2026-05-01".into()),
        to: Some("2026-11-01".into()),
        group_by: None,
        large: false,
        width: None,
        height: None,
    };
    let chart = s.chart(&req).await.unwrap();
    assert!(chart.svg.starts_with("<svg"), "{}", &chart.svg[..40]);
    assert!(chart.points.iter().all(|p| acme.contains(&p.keys[0])));
    let sum: rust_decimal::Decimal = chart
        .points
        .iter()
        .map(|p| p.amount.parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    assert!(
        (sum - chart.total.parse::<rust_decimal::Decimal>().unwrap()).abs()
            < rust_decimal::Decimal::new(5, 2)
    );
    let movers = s.movers("Acme Retail").await.unwrap();
    assert_eq!(
        (
            movers.previous_month.as_str(),
            movers.current_month.as_str()
        ),
        ("2026-09", "2026-10")
    );
    assert!(!movers.movers.is_empty());

    // Exports write real files.
    for (format, magic) in [
        ("png", &b"\x89PNG"[..]),
        ("svg", &b"<svg"[..]),
        ("csv", &b"period,account"[..]),
    ] {
        let path = home.path().join(format!("chart.{format}"));
        s.export_chart(&req, format, path.to_str().unwrap())
            .await
            .unwrap();
        assert!(std::fs::read(&path).unwrap().starts_with(magic), "{format}");
    }

    // Edit: the diff preview, then the change.
    let mut next = acme[1..].to_vec();
    let other = org
        .accounts
        .iter()
        .find(|a| a.integrations.is_empty() && !acme.contains(&a.id))
        .unwrap()
        .id
        .clone();
    next.push(other.clone());
    let plan = s
        .plan("Acme Retail", &next, Some("Acme Retail"))
        .await
        .unwrap();
    assert_eq!(
        (plan.added.clone(), plan.removed.clone()),
        (vec![other.clone()], vec![acme[0].clone()])
    );
    let vi = s
        .update_integration("Acme Retail", &next, None, false)
        .await
        .unwrap();
    assert_eq!(vi.accounts.len(), acme.len());
    assert!(vi.accounts.contains(&other));

    // Queries: an escape is refused with its code; a legit one answers.
    let err = s
        .query("Acme Retail", "SELECT * FROM costcarve.vi_other", 100)
        .await
        .unwrap_err();
    assert_eq!(code(err), "query_rejected");
    let rows = s
        .query(
            "Acme Retail",
            "SELECT count(DISTINCT line_item_usage_account_id) AS n FROM cur",
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        rows.rows[0][0].as_deref(),
        Some(next.len().to_string().as_str())
    );
    assert!(
        rows.executed_sql.contains("vi_acme_retail"),
        "{}",
        rows.executed_sql
    );
    let csv = home.path().join("q.csv");
    assert_eq!(
        s.export_query_csv(
            "Acme Retail",
            "SELECT 1 AS one FROM cur LIMIT 3",
            csv.to_str().unwrap()
        )
        .await
        .unwrap(),
        3
    );

    // Delete; then it is gone, and asking for it says what exists.
    s.delete_integration("Acme Retail").await.unwrap();
    assert!(s.integrations().await.unwrap().is_empty());
    let err = s.chart(&req).await.unwrap_err();
    assert_eq!(code(err), "not_found");
}

#[tokio::test]
async fn bad_input_crosses_as_code_and_message() {
    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    let e = IpcError::from(
        s.create_integration("bad/name", &["123456789012".into()], false)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code.as_str(), "invalid_input");
    assert!(
        e.message.contains("cannot be an integration name"),
        "{}",
        e.message
    );
    let e = IpcError::from(
        s.create_integration("Fine", &["12".into()], false)
            .await
            .unwrap_err(),
    );
    assert_eq!(e.code.as_str(), "invalid_input");
    let req = ChartRequest {
        integration: "nope".into(),
        kind: "pie".into(),
        from: None,
        to: None,
        group_by: None,
        large: false,
        width: None,
        height: None,
    };
    assert_eq!(code(s.chart(&req).await.unwrap_err()), "not_found");
    let e = IpcError::from(s.repair_integration("x").await.unwrap_err());
    assert!(e.message.contains("nothing to repair"), "{}", e.message);
}

#[tokio::test]
async fn a_connection_form_keeps_its_secret_out_of_every_reply_and_file() {
    let home = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemorySecrets::default());
    let s = session_with(home.path(), secrets.clone());
    let form = ConnectionForm {
        name: "payer".into(),
        profile: None,
        access_key_id: Some("AKIAEXAMPLE".into()),
        secret_access_key: Some("very-secret-value-123".into()),
        region: Some("us-east-1".into()),
        role_arn: None,
        external_id: None,
        cur_table: "cur.cur2".into(),
        workgroup: "primary".into(),
        results: "s3://results-bucket/athena/".into(),
        views_database: None,
    };
    s.add_connection(form.clone()).unwrap();
    let listed = serde_json::to_string(&s.connections().unwrap()).unwrap();
    assert!(listed.contains("access keys in the OS keyring"), "{listed}");
    assert!(!listed.contains("very-secret-value-123"));
    let saved = std::fs::read_to_string(home.path().join("config/connections.json")).unwrap();
    assert!(!saved.contains("very-secret-value-123"), "{saved}");
    // The keys went to the injected store, the only place that has them.
    assert_eq!(secrets.names(), ["connection/payer"]);
    let mut bad = form;
    bad.name = "other".into();
    bad.results = "bucket/no-scheme".into();
    let e = IpcError::from(s.add_connection(bad).unwrap_err());
    assert_eq!(e.code.as_str(), "invalid_input");
    s.remove_connection("payer").unwrap();
    assert!(secrets.names().is_empty(), "removing takes the keys too");
    assert_eq!(code(s.remove_connection("payer").unwrap_err()), "not_found");
}

#[tokio::test]
async fn the_review_shows_the_ddl_that_is_executed_byte_for_byte() {
    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    s.workspace().await.unwrap();
    let org = s.organization(false).await.unwrap();
    let picked: Vec<String> = org.accounts.iter().take(3).map(|a| a.id.clone()).collect();
    let reviewed = s.plan("Globex", &picked, None).await.unwrap();
    let made = s.create_integration("Globex", &picked, true).await.unwrap();

    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).unwrap(),
    ));
    let ws = costcarve_ops::Workspace::open_local(&home.path().join("data/demo"), clock, true)
        .await
        .unwrap();
    assert_eq!(
        ws.executed_view_ddl(&made.view_name).as_deref(),
        Some(reviewed.view_sql.as_str())
    );
}

/// The accounts the demo tags as one customer's.
async fn customer(s: &Session, tag: &str) -> Vec<String> {
    s.organization(false)
        .await
        .unwrap()
        .accounts
        .into_iter()
        .filter(|a| a.tags.iter().any(|(k, v)| k == "customer" && v == tag))
        .map(|a| a.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_query_does_not_hold_up_the_other_screens() {
    let home = tempfile::tempdir().unwrap();
    let s = Arc::new(session(home.path()));
    let acme = customer(&s, "acme-retail").await;
    s.create_integration("Acme Retail", &acme, false)
        .await
        .unwrap();

    // A query that runs for far longer than this test: a three-way join.
    let query = tokio::spawn({
        let s = s.clone();
        async move {
            s.query(
                "Acme Retail",
                "SELECT count(*) FROM cur a, cur b, cur c",
                10,
            )
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!query.is_finished(), "the join should still be running");

    // Meanwhile every other screen answers, and the integrations change.
    let daily = ChartRequest {
        integration: "Acme Retail".into(),
        kind: "daily".into(),
        from: None,
        to: None,
        group_by: None,
        large: false,
        width: None,
        height: None,
    };
    let chart = tokio::time::timeout(std::time::Duration::from_secs(30), s.chart(&daily))
        .await
        .expect("the chart waited for the query to end")
        .unwrap();
    assert!(!chart.points.is_empty());
    assert_eq!(s.integrations().await.unwrap().len(), 1);
    let borealis = customer(&s, "borealis-health").await;
    s.create_integration("Borealis", &borealis, false)
        .await
        .unwrap();
    assert_eq!(s.integrations().await.unwrap().len(), 2);
    assert!(!query.is_finished(), "the join ended before the others ran");

    // And the query stops when asked.
    assert!(s.cancel_query());
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), query)
        .await
        .expect("the query did not stop")
        .unwrap();
    assert_eq!(code(stopped.unwrap_err()), "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_calls_at_once_both_open_the_demo() {
    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    let (info, org) = tokio::join!(s.workspace(), s.organization(false));
    assert_eq!(info.unwrap().kind, "demo");
    assert!(org.unwrap().accounts.len() > 20);
}

#[tokio::test]
async fn a_first_start_that_was_interrupted_does_not_block_the_next() {
    let home = tempfile::tempdir().unwrap();
    // What an interrupted generation leaves: CUR files, no manifest; and a
    // half-written folder of the current kind.
    let demo = home.path().join("data/demo");
    std::fs::create_dir_all(demo.join("cur/BILLING_PERIOD=2026-01")).unwrap();
    std::fs::write(
        demo.join("cur/BILLING_PERIOD=2026-01/part-0.parquet"),
        b"PAR1",
    )
    .unwrap();
    std::fs::create_dir_all(home.path().join("data/demo.partial/cur")).unwrap();
    let s = session(home.path());
    let info = s.workspace().await.unwrap();
    assert_eq!(info.kind, "demo");
    assert!(demo.join("costcarve-workspace.json").exists());
    assert!(!home.path().join("data/demo.partial").exists());
    assert!(s.organization(false).await.unwrap().accounts.len() > 20);
}

/// The desktop's query time limit: out of range is invalid input; a query
/// that would run forever stops at it with the engine's code, and the
/// session answers the next query.
#[tokio::test]
async fn a_query_stops_at_the_time_limit_the_desktop_sets() {
    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    let acme = customer(&s, "acme-retail").await;
    s.create_integration("Acme Retail", &acme, false)
        .await
        .unwrap();
    for bad in [0, 86_401] {
        let err = s
            .query_within("Acme Retail", "SELECT 1", 10, Some(bad))
            .await
            .unwrap_err();
        assert_eq!(code(err), "invalid_input");
    }
    let started = std::time::Instant::now();
    let err = s
        .query_within(
            "Acme Retail",
            "SELECT count(*) FROM cur a, cur b, cur c",
            10,
            Some(1),
        )
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let wire = IpcError::from(err);
    assert_eq!(wire.code.as_str(), "engine");
    assert!(
        wire.message.contains("time limit of 1 s"),
        "{}",
        wire.message
    );
    let rows = s
        .query_within("Acme Retail", "SELECT count(*) AS n FROM cur", 10, Some(30))
        .await
        .unwrap();
    assert_eq!(rows.rows.len(), 1);
}

#[tokio::test]
async fn the_desktop_imports_one_integration_per_customer_ou_edits_rules_and_syncs() {
    use costcarve_ops::{ImportSource, RulesForm};
    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    s.workspace().await.unwrap();
    let org = s.organization(false).await.unwrap();
    let under = |path: &str| -> Vec<String> {
        let mut ids: Vec<String> = org
            .accounts
            .iter()
            .filter(|a| a.unit_path == path || a.unit_path.starts_with(&format!("{path}/")))
            .map(|a| a.id.clone())
            .collect();
        ids.sort();
        ids
    };
    let customers: std::collections::BTreeSet<String> = org
        .units
        .iter()
        .filter_map(|u| u.path.strip_prefix("Customers/"))
        .filter(|rest| !rest.contains('/'))
        .map(String::from)
        .collect();

    // Preview: one row per customer OU, nothing made; then made, with the
    // progress the screen polls.
    let source = ImportSource {
        csv: None,
        from_ou: Some("Customers".into()),
    };
    let preview = s.import_preview(&source).await.unwrap();
    assert_eq!(preview.len(), customers.len());
    assert!(preview.iter().all(|r| r.action == "create"));
    assert!(s.integrations().await.unwrap().is_empty());
    let outcomes = s.run_import(&source).await.unwrap();
    assert!(
        outcomes.iter().all(|o| o.outcome == "created"),
        "{outcomes:?}"
    );
    let progress = s.import_progress();
    assert!(!progress.running);
    assert_eq!(progress.outcomes.len(), customers.len());
    let list = s.integrations().await.unwrap();
    for c in &customers {
        let row = list.iter().find(|r| r.name == *c).unwrap();
        assert_eq!(row.accounts, under(&format!("Customers/{c}")), "{c}");
        assert_eq!(row.rules.units, [format!("Customers/{c}")]);
        assert_eq!(row.rules_text, [format!("OU Customers/{c} and below")]);
    }
    // Again: every row unchanged.
    let again = s.import_preview(&source).await.unwrap();
    assert!(again.iter().all(|r| r.action == "unchanged"));

    // Edit the rules of one: only its prod OU, one account excluded; the
    // preview says what the save then makes.
    let name = customers.iter().next().unwrap().clone();
    let prod = under(&format!("Customers/{name}/prod"));
    let rules = RulesForm {
        units: vec![format!("Customers/{name}/prod")],
        exclude: vec![prod[0].clone()],
        ..Default::default()
    };
    let preview = s.resolve_rules(&name, &rules, Some(&name)).await.unwrap();
    assert_eq!(preview.accounts, prod[1..].to_vec());
    let saved = s
        .update_integration_rules(&name, &rules, None)
        .await
        .unwrap();
    assert_eq!(saved.accounts, prod[1..].to_vec());
    assert_eq!(saved.rules.exclude, [prod[0].clone()]);

    // A new integration by tag leaves out what the others hold, and says so.
    let tagged = RulesForm {
        tags: vec!["env=prod".into()],
        ..Default::default()
    };
    let preview = s.resolve_rules("All prod", &tagged, None).await.unwrap();
    assert!(
        preview.accounts.contains(&prod[0]),
        "the excluded one is free"
    );
    assert!(preview
        .left_out
        .iter()
        .all(|l| l.reason.contains("already in")));
    assert!(!preview.left_out.is_empty());
    let err = s
        .resolve_rules(
            "Typo",
            &RulesForm {
                units: vec!["Customers/Nobody".into()],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "invalid_input");

    // Nothing moved: nothing out of date.
    let plan = s.sync_plan().await.unwrap();
    assert_eq!(plan.out_of_date, 0, "{plan:?}");
    assert!(s.apply_sync().await.unwrap().is_empty());

    // An account moves between two customers' OUs in the workspace's
    // organization file while the desktop has it open: the next sync plan
    // reads it again and sees both integrations out of date.
    let mut names = customers.iter().skip(1);
    let (from, to) = (names.next().unwrap(), names.next().unwrap());
    let moving = under(&format!("Customers/{from}"))[0].clone();
    let target = org
        .units
        .iter()
        .find(|u| u.path == format!("Customers/{to}/prod"))
        .unwrap()
        .id
        .clone();
    let file = home.path().join("data/demo/organization.json");
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for a in saved["accounts"].as_array_mut().unwrap() {
        if a["id"] == moving.as_str() {
            a["parent_id"] = target.clone().into();
        }
    }
    std::fs::write(&file, serde_json::to_vec(&saved).unwrap()).unwrap();
    let plan = s.sync_plan().await.unwrap();
    assert_eq!(plan.out_of_date, 2, "{plan:?}");
    let outcomes = s.apply_sync().await.unwrap();
    assert!(outcomes.iter().all(|o| o.applied), "{outcomes:?}");
    let list = s.integrations().await.unwrap();
    let holds = |name: &str| {
        list.iter()
            .find(|r| r.name == name)
            .unwrap()
            .accounts
            .contains(&moving)
    };
    assert!(holds(to) && !holds(from));
}

#[tokio::test]
async fn the_desktop_sets_a_profile_presents_the_pack_and_forecasts_the_open_month() {
    use costcarve_core::cost::{CostQuery, Granularity, Metric};
    use costcarve_core::presentation::money;
    use costcarve_ops::ProfileForm;
    use rust_decimal::Decimal;

    let home = tempfile::tempdir().unwrap();
    let s = session(home.path());
    s.workspace().await.unwrap();
    let acme = customer(&s, "acme-retail").await;
    s.create_integration("Acme Retail", &acme, false)
        .await
        .unwrap();
    let options = s.profile_options();
    assert_eq!(options.bases.len(), 4);
    assert!(options
        .line_item_types
        .iter()
        .any(|t| t.key == "EdpDiscount"));

    // Bad input is refused and changes nothing.
    let bad = ProfileForm {
        display_name: Some("Acme Corp GmbH".into()),
        basis: "list-ish".into(),
        exclude: vec![],
    };
    assert_eq!(
        code(s.set_profile("Acme Retail", &bad).await.unwrap_err()),
        "invalid_input"
    );
    let bad = ProfileForm {
        basis: "amortized".into(),
        exclude: vec!["Credits".into()],
        ..bad
    };
    let err = s.set_profile("Acme Retail", &bad).await.unwrap_err();
    assert!(
        err.message.contains("'Credits' is not a line item type"),
        "{err}"
    );
    let row = &s.integrations().await.unwrap()[0];
    assert_eq!(row.display_name, "Acme Retail");
    assert_eq!(
        row.basis_words,
        "Unblended cost (as billed); nothing left out."
    );

    let form = ProfileForm {
        display_name: Some("Acme Corp GmbH".into()),
        basis: "amortized".into(),
        exclude: vec!["credit".into()],
    };
    let row = s.set_profile("Acme Retail", &form).await.unwrap();
    assert_eq!(row.display_name, "Acme Corp GmbH");
    assert_eq!(row.profile.exclude, ["Credit"]);
    let basis = "Amortized cost (Savings Plans and Reserved Instances spread over the usage they cover); credits left out.";
    assert_eq!(row.basis_words, basis);

    // The Costs screen's chart is on the profile's basis and says so.
    let chart = s
        .chart(&ChartRequest {
            integration: "Acme Retail".into(),
            kind: "stacked".into(),
            from: None,
            to: None,
            group_by: None,
            large: false,
            width: Some(900),
            height: Some(500),
        })
        .await
        .unwrap();
    assert_eq!(chart.basis_words, basis);
    assert!(
        chart.svg.contains("Amortized cost"),
        "the chart states its basis"
    );
    let ec2: Vec<_> = chart
        .points
        .iter()
        .filter(|p| p.keys == ["AmazonEC2"])
        .collect();
    assert!(!ec2.is_empty());
    assert!(ec2.iter().all(|p| p.labels == ["Amazon EC2"]));
    assert!(chart.svg.contains("Amazon EC2") && !chart.svg.contains("AmazonEC2"));
    assert!(chart.total_text.starts_with('$') && chart.total_text.contains(','));

    // A local pack spends nothing and says so.
    let estimate = s.review_estimate("Acme Retail", None).await.unwrap();
    assert_eq!(estimate.month, "2026-10");
    assert_eq!(estimate.month_label, "October 2026");
    assert!(estimate.words.starts_with("Nothing"), "{}", estimate.words);

    // The open month: the pack forecasts it from the run rate of its last
    // seven full days, computed here from the daily costs.
    let pack = s
        .review_pack("Acme Retail", Some("2026-11".into()))
        .await
        .unwrap();
    assert_eq!(pack.display_name, "Acme Corp GmbH");
    assert_eq!(pack.basis, basis);
    assert!(pack.estimated);
    let ids: Vec<&str> = pack.pages.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cover", "total", "trend", "services", "movers", "accounts", "daily", "forecast",
            "appendix"
        ]
    );
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 11, 15, 12, 0, 0).unwrap(),
    ));
    let ws = costcarve_ops::Workspace::open_local(&home.path().join("data/demo"), clock, true)
        .await
        .unwrap();
    let d = |day: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
    // Month to date: every line but credits; the days: usage only.
    let mut q = CostQuery::new("Acme Retail", d(1), d(16));
    q.metric = Metric::AmortizedCost;
    q.exclude_line_item_types = ["Credit".to_string()].into();
    let to_date = ws.cost(&q).await.unwrap().series.total;
    q.granularity = Granularity::Daily;
    q.exclude_line_item_types = ["Credit", "Tax", "Fee", "Refund"].map(String::from).into();
    let daily = ws.cost(&q).await.unwrap().series;
    let on = |day: u32| -> Decimal {
        daily
            .points
            .iter()
            .filter(|p| p.period == d(day))
            .map(|p| p.amount)
            .sum()
    };
    let rate: Decimal = (8..15).map(on).sum::<Decimal>() / Decimal::from(7);
    let forecast = to_date - on(15) + rate * Decimal::from(16);
    let page = pack.pages.iter().find(|p| p.id == "forecast").unwrap();
    assert_eq!(page.figures[1].label, "Forecast to month end");
    assert_eq!(page.figures[1].value, money(forecast, "USD"));
    assert_eq!(page.figures[0].value, money(to_date, "USD"));
    assert!(
        page.lines[0].contains("for the 16 days left"),
        "{:?}",
        page.lines
    );

    // The desktop writes the pack's files where it is told.
    let dir = home.path().join("packs");
    let files = s
        .write_review_pack("Acme Retail", None, dir.to_str().unwrap())
        .await
        .unwrap();
    assert!(files.pdf.ends_with("Acme-Retail-2026-10.pdf"));
    assert!(std::path::Path::new(&files.pdf).exists());
    assert_eq!(files.pngs.len(), 2);
    assert_eq!(files.csvs.len(), 4);
}
