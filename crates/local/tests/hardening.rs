//! Confined SQL on the local engine, hardened (issue 14): a row outside the
//! integration behaves exactly like a row that does not exist, no error
//! names an account outside the integration, and a query that would run
//! forever ends at its time limit.
//!
//! The demo holds Acme's accounts and everyone else's; every query runs
//! through `LocalWorkspace::sql*("Acme Retail", ..)`. An oracle (plain
//! DataFusion over the same Parquet, never the guard) finds values that
//! only other customers' rows hold, and shows what the unconfined engine
//! says.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use costcarve_core::account::AccountId;
use costcarve_core::integration::NewIntegration;
use costcarve_core::ports::FixedClock;
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::{LocalError, LocalWorkspace};

const SEED: u64 = 7;
const ROWS: u64 = 20_000;
const ACME: &str = "Acme Retail";
const ACCOUNT: &str = "line_item_usage_account_id";

struct Fixture {
    _dir: tempfile::TempDir,
    ws: LocalWorkspace,
    oracle: SessionContext,
    /// Acme's account ids.
    acme: BTreeSet<String>,
    /// Ids and names of every account of the organization that is not
    /// Acme's (the payer included).
    foreign: Vec<String>,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        let last_month = NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        demo::generate(&root, &DemoSpec::new(ROWS, SEED, last_month), |_| {}).expect("demo");
        let org = demo::organization(SEED);
        let acme_ids: Vec<AccountId> = org
            .accounts
            .iter()
            .filter(|a| a.tags.get("customer").map(String::as_str) == Some("acme-retail"))
            .map(|a| a.id.clone())
            .collect();
        assert!(!acme_ids.is_empty());
        let clock = Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2026, 10, 15, 12, 0, 0)
                .single()
                .expect("time"),
        ));
        let ws = LocalWorkspace::open(&root, clock).await.expect("open");
        ws.create_integration(NewIntegration {
            name: ACME.to_string(),
            accounts: acme_ids.clone(),
            allow_shared: false,
            ..Default::default()
        })
        .await
        .expect("create integration");
        let acme: BTreeSet<String> = acme_ids.iter().map(ToString::to_string).collect();
        let mut foreign: Vec<String> = org
            .accounts
            .iter()
            .filter(|a| !acme.contains(&a.id.to_string()))
            .flat_map(|a| [a.id.to_string(), a.name.clone()])
            .filter(|s| !s.is_empty())
            .collect();
        foreign.push(org.management_account_id.to_string());
        let oracle = SessionContext::new();
        oracle
            .register_parquet(
                "everything",
                format!("{}/", root.join("cur").display()),
                ParquetReadOptions::default()
                    .table_partition_cols(vec![("billing_period".to_string(), DataType::Utf8)]),
            )
            .await
            .expect("oracle table");
        let list: Vec<String> = acme.iter().map(|a| format!("'{a}'")).collect();
        let ddl = format!(
            "CREATE VIEW cur AS SELECT * FROM everything WHERE {ACCOUNT} IN ({}); \
             CREATE VIEW others AS SELECT * FROM everything WHERE {ACCOUNT} NOT IN ({})",
            list.join(", "),
            list.join(", ")
        );
        for statement in ddl.split("; ") {
            oracle
                .sql(statement)
                .await
                .expect("oracle view")
                .collect()
                .await
                .expect("oracle view");
        }
        Self {
            _dir: dir,
            ws,
            oracle,
            acme,
            foreign,
        }
    }

    /// The first row of the oracle's answer, as text.
    async fn oracle_row(&self, sql: &str) -> Option<Vec<String>> {
        let batches = self.oracle.sql(sql).await.ok()?.collect().await.ok()?;
        let b = batches.iter().find(|b| b.num_rows() > 0)?;
        b.columns()
            .iter()
            .map(|column| {
                if column.is_null(0) {
                    return None;
                }
                let f = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default()).ok()?;
                Some(f.value(0).to_string())
            })
            .collect()
    }

    async fn oracle_error(&self, sql: &str) -> Option<String> {
        match self.oracle.sql(sql).await {
            Err(e) => Some(e.to_string()),
            Ok(df) => df.collect().await.err().map(|e| e.to_string()),
        }
    }

    /// What a failed confined query shows: every account outside Acme it
    /// names.
    fn leaks(&self, message: &str) -> Vec<String> {
        self.foreign
            .iter()
            .filter(|f| message.contains(f.as_str()))
            .cloned()
            .collect()
    }

    async fn count(&self, sql: &str) -> Result<String, LocalError> {
        let res = self.ws.sql(ACME, sql, 10).await?;
        Ok(res.rows[0][0].clone().unwrap_or_default())
    }
}

/// Every column of the CUR as text (a map column by one of its keys), with
/// its type's name.
async fn columns(fx: &Fixture) -> Vec<(String, String)> {
    let df = fx.oracle.table("everything").await.expect("table");
    df.schema()
        .fields()
        .iter()
        .map(|f| {
            let expr = match f.data_type() {
                DataType::Map(..) => format!("cardinality({})", f.name()),
                _ => f.name().clone(),
            };
            (expr, format!("{}", f.data_type()))
        })
        .collect()
}

/// A predicate that fails (a cast of 'boom') exactly on the rows of
/// `account` where `expr` reads `value`, and is true elsewhere.
fn fails_on(account: &str, expr: &str, value: &str) -> String {
    let value = value.replace('\'', "''");
    format!(
        "CAST(CASE WHEN {ACCOUNT} = '{account}' AND CAST({expr} AS VARCHAR) = '{value}' \
         THEN 'boom' ELSE '1' END AS INT) = 1"
    )
}

/// A predicate that fails exactly on rows where `expr` reads `value`: it
/// reads one column, so the scan may rank it before the account filter.
fn fails_on_value(expr: &str, value: &str) -> String {
    let value = value.replace('\'', "''");
    format!(
        "CAST(CASE WHEN CAST({expr} AS VARCHAR) = '{value}' THEN 'boom' ELSE '1' END AS INT) = 1"
    )
}

/// Issue 14: with the user's predicate pushed into the Parquet scan and
/// run before the view's account filter, `WHERE <fails only on another
/// customer's row>` errored, a yes/no oracle on other customers' rows.
/// Now such a predicate, over a column of every type, gives the answer it
/// gives when those rows do not exist; the same predicate on one of Acme's
/// own rows does fail, so the probe bites.
#[tokio::test]
async fn predicates_that_fail_only_on_other_customers_rows_behave_as_if_the_rows_were_absent() {
    let fx = Fixture::new().await;
    let total = fx.count("SELECT count(*) FROM cur").await.expect("count");
    let mut probed_types = BTreeSet::new();
    let mut problems = Vec::new();
    for (expr, ty) in columns(&fx).await {
        let row_of = |view: &str| {
            format!(
                "SELECT {ACCOUNT} AS a, CAST({expr} AS VARCHAR) AS v FROM {view} \
                 WHERE {expr} IS NOT NULL ORDER BY v DESC LIMIT 1"
            )
        };
        let Some(theirs) = fx.oracle_row(&row_of("others")).await else {
            problems.push(format!("{expr} ({ty}): no value on other customers' rows"));
            continue;
        };
        probed_types.insert(ty.clone());
        let sql = format!(
            "SELECT count(*) FROM cur WHERE {}",
            fails_on(&theirs[0], &expr, &theirs[1])
        );
        match fx.count(&sql).await {
            Ok(n) if n == total => {}
            Ok(n) => problems.push(format!("{expr} ({ty}): {n} rows, not {total}")),
            Err(e) => problems.push(format!(
                "{expr} ({ty}): failed on another customer's row: {e}"
            )),
        }
        // A value only other customers' rows hold, probed alone.
        let only_theirs = fx
            .oracle_row(&format!(
                "SELECT v FROM (SELECT CAST({expr} AS VARCHAR) AS v FROM others \
                 EXCEPT SELECT CAST({expr} AS VARCHAR) AS v FROM cur) t \
                 WHERE v IS NOT NULL ORDER BY v LIMIT 1"
            ))
            .await;
        if let Some(value) = only_theirs {
            let sql = format!(
                "SELECT count(*) FROM cur WHERE {}",
                fails_on_value(&expr, &value[0])
            );
            match fx.count(&sql).await {
                Ok(n) if n == total => {}
                Ok(n) => problems.push(format!("{expr} ({ty}) alone: {n} rows, not {total}")),
                Err(e) => problems.push(format!(
                    "{expr} ({ty}) alone: failed on another customer's value: {e}"
                )),
            }
        }
        // The same probe on one of Acme's rows fails.
        if let Some(ours) = fx.oracle_row(&row_of("cur")).await {
            let sql = format!(
                "SELECT count(*) FROM cur WHERE {}",
                fails_on(&ours[0], &expr, &ours[1])
            );
            if fx.count(&sql).await.is_ok() {
                problems.push(format!(
                    "{expr} ({ty}): the probe on Acme's own row did not fail"
                ));
            }
        }
    }
    // The issue's own probe: division by zero on one other customer's row.
    let theirs = fx
        .oracle_row(&format!("SELECT {ACCOUNT} FROM others LIMIT 1"))
        .await
        .expect("another account");
    let sql = format!(
        "SELECT count(*) FROM cur WHERE 1 / (CASE WHEN {ACCOUNT} = '{}' THEN 0 ELSE 1 END) = 1",
        theirs[0]
    );
    match fx.count(&sql).await {
        Ok(n) if n == total => {}
        other => problems.push(format!("division probe: {other:?}")),
    }
    for ty in ["Dictionary(Int32, Utf8)", "Float64", "Utf8View"] {
        assert!(
            probed_types.iter().any(|t| t == ty),
            "no column of type {ty} was probed: {probed_types:?}"
        );
    }
    for prefix in ["Timestamp", "Map"] {
        assert!(
            probed_types.iter().any(|t| t.starts_with(prefix)),
            "no {prefix} column was probed: {probed_types:?}"
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Issue 14: `CAST(line_item_usage_account_id AS INT)` failed with
/// `Cannot cast string '<another customer's id>'` (the filtered dictionary
/// kept every value), and `WHERE line_item_usage_account_name = 1` named
/// another customer's account. No error of a confined query names an
/// account outside the integration, whatever the column and the failure.
#[tokio::test]
async fn no_error_of_a_confined_query_names_an_account_outside_the_integration() {
    let fx = Fixture::new().await;
    // Without confinement the engine does quote other customers' values:
    // the check below can see a leak.
    let unconfined = fx
        .oracle_error(&format!("SELECT CAST({ACCOUNT} AS INT) FROM everything"))
        .await
        .expect("the cast fails");
    assert!(!fx.leaks(&unconfined).is_empty(), "{unconfined}");

    let mut queries = Vec::new();
    for (expr, _) in columns(&fx).await {
        for q in [
            format!("SELECT CAST({expr} AS INT) FROM cur"),
            format!("SELECT CAST({expr} AS DATE) FROM cur"),
            format!("SELECT CAST({expr} AS DECIMAL(3, 1)) FROM cur"),
            format!("SELECT count(*) FROM cur WHERE {expr} = 1"),
            format!("SELECT sum(CAST({expr} AS DOUBLE)) FROM cur"),
            format!("SELECT to_timestamp(CAST({expr} AS VARCHAR)) FROM cur"),
            format!("SELECT count(*) FROM cur WHERE regexp_like('x', CAST({expr} AS VARCHAR))"),
            format!("SELECT count(*) FROM cur GROUP BY {expr} HAVING 1 / (count(*) - count(*)) = 1"),
            format!("SELECT 1 / (CASE WHEN CAST({expr} AS VARCHAR) IS NOT NULL THEN 0 ELSE 1 END) FROM cur"),
        ] {
            queries.push(q);
        }
    }
    let mut failed = 0;
    let mut problems = Vec::new();
    for q in &queries {
        let message = match fx.ws.sql(ACME, q, 10).await {
            Ok(_) => continue,
            Err(e) => e.to_string(),
        };
        failed += 1;
        let leaks = fx.leaks(&message);
        if !leaks.is_empty() {
            problems.push(format!("{q}\n    -> {message}\n    names {leaks:?}"));
        }
        for id in &fx.acme {
            if message.contains(id.as_str()) && q.contains("CAST") {
                problems.push(format!("{q}\n    -> {message}\n    quotes a value ({id})"));
            }
        }
    }
    assert!(
        failed > queries.len() / 2,
        "{failed} of {} failed",
        queries.len()
    );
    // The failure is named.
    let e = fx
        .ws
        .sql(ACME, &format!("SELECT CAST({ACCOUNT} AS INT) FROM cur"), 10)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("CAST to INT32 failed"), "{e}");
    let e = fx
        .ws
        .sql(ACME, "SELECT count(*) FROM cur WHERE 1 / (CASE WHEN line_item_unblended_cost > -1 THEN 0 ELSE 1 END) = 1", 10)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("division by zero"), "{e}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Issue 14: `SELECT count(*) FROM cur a, cur b, cur c` ran with no end.
/// It ends at the query's time limit with a clear message, and the
/// workspace answers the next query.
#[tokio::test]
async fn a_query_that_runs_forever_ends_at_its_time_limit() {
    let fx = Fixture::new().await;
    let started = Instant::now();
    let e = fx
        .ws
        .sql_within(
            ACME,
            "SELECT count(*) FROM cur a, cur b, cur c",
            10,
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, LocalError::Timeout(2)), "{e}");
    assert!(e.to_string().contains("time limit of 2 s"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let n = fx
        .count("SELECT count(*) FROM cur")
        .await
        .expect("still works");
    assert!(n.parse::<u64>().unwrap_or(0) > 0, "{n}");
}

/// Issue 14: these aborted the process (SIGABRT) or panicked in
/// DataFusion; they are refused before any engine sees them.
#[tokio::test]
async fn queries_that_could_abort_or_panic_are_refused() {
    let fx = Fixture::new().await;
    for q in [
        "SELECT array_resize(arrow_cast(make_array(1), 'LargeList(Int64)'), 100000000000000000)",
        "SELECT sum(line_item_unblended_cost) OVER (ORDER BY line_item_usage_start_date \
         ROWS BETWEEN 18446744073709551615 PRECEDING AND CURRENT ROW) FROM cur",
        "SELECT repeat('x', 2147483647) FROM cur",
    ] {
        match fx.ws.sql(ACME, q, 10).await {
            Err(LocalError::Guard(_)) => {}
            other => panic!("{q}: {other:?}"),
        }
    }
}
