//! `costcarve sql` hardened (issue 14), as a user sees it: what could abort
//! or hang the process is refused (exit 3) or stopped at its time limit
//! (exit 1), never a signal; a failing query's message names the problem
//! and no account outside the integration.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::{costcarve, demo, fails, ids_of, ok};

/// Every account id and name of the demo organization outside `acme`.
fn outside(ws: &std::path::Path, acme: &[String]) -> Vec<String> {
    let accounts: Value = serde_json::from_str(&ok(ws, &["accounts", "--json"])).unwrap();
    accounts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !acme.iter().any(|id| a["id"] == id.as_str()))
        .flat_map(|a| {
            [
                a["id"].as_str().unwrap_or_default().to_string(),
                a["name"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn confined_sql_refuses_what_could_abort_and_stops_what_would_hang() {
    let (_tmp, ws) = demo();
    let acme = ids_of(&ws, "acme-retail");
    ok(
        &ws,
        &["vi", "create", "Acme", "--accounts", &acme.join(",")],
    );
    let others = outside(&ws, &acme);
    assert!(others.len() > 20, "{others:?}");

    // Aborted the process (SIGABRT): refused, naming the function.
    let err = fails(
        &ws,
        &[
            "sql",
            "Acme",
            "SELECT array_resize(arrow_cast(make_array(1), 'LargeList(Int64)'), 100000000000000000)",
        ],
        3,
    );
    assert!(err.contains("array_resize()"), "{err}");
    // Panicked in DataFusion: refused, naming the bound.
    let err = fails(
        &ws,
        &[
            "sql",
            "Acme",
            "SELECT sum(line_item_unblended_cost) OVER (ORDER BY line_item_usage_start_date \
             ROWS BETWEEN 18446744073709551615 PRECEDING AND CURRENT ROW) FROM cur",
        ],
        3,
    );
    assert!(
        err.contains("window frame bound 18446744073709551615"),
        "{err}"
    );
    // Aborted the process (a 34 GB buffer allocated up front): refused.
    let err = fails(
        &ws,
        &[
            "sql",
            "Acme",
            "SELECT approx_percentile_cont(line_item_unblended_cost, 0.5, 2147483647) FROM cur",
        ],
        3,
    );
    assert!(
        err.contains("centroid count of approx_percentile_cont()"),
        "{err}"
    );

    // Took the guard 52 s: answered at once.
    let mut nested = "SELECT * FROM cur".to_string();
    for i in 0..20 {
        nested = format!("SELECT * FROM ((({nested})) AS a{i} JOIN cur AS c{i} ON true)");
    }
    let started = Instant::now();
    let err = fails(&ws, &["sql", "Acme", &nested], 3);
    assert!(err.contains("too complex"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // Ran with no end: stopped at the time limit.
    let started = Instant::now();
    let err = fails(
        &ws,
        &[
            "sql",
            "Acme",
            "SELECT count(*) FROM cur a, cur b, cur c",
            "--timeout",
            "2",
        ],
        1,
    );
    assert!(err.contains("time limit of 2 s"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let out = costcarve(&ws, &["sql", "Acme", "SELECT 1", "--timeout", "0"]);
    assert_eq!(out.status.code(), Some(2));

    // Named another customer's account: the failure is named, no value is.
    for (query, named) in [
        (
            "SELECT CAST(line_item_usage_account_id AS INT) FROM cur",
            "CAST to INT32 failed",
        ),
        (
            "SELECT count(*) FROM cur WHERE line_item_usage_account_name = 1",
            "CAST to INT64 failed",
        ),
        (
            "SELECT CAST(line_item_usage_account_name AS DATE) FROM cur",
            "CAST",
        ),
    ] {
        let err = fails(&ws, &["sql", "Acme", query], 1);
        assert!(err.contains(named), "{query}: {err}");
        let leaked: Vec<&String> = others.iter().filter(|o| err.contains(o.as_str())).collect();
        assert!(leaked.is_empty(), "{query}: {err} names {leaked:?}");
        assert!(!acme.iter().any(|id| err.contains(id.as_str())), "{err}");
    }
}

/// `--explain` prints what Trino reads: sqlparser read `0x41` as X'41' and
/// `1_000` as `1 AS _000`; a ROW type and `'a' 'b'` it cannot print as
/// Trino reads them are refused.
#[test]
fn explain_prints_numbers_as_trino_reads_them() {
    let (_tmp, ws) = demo();
    let acme = ids_of(&ws, "acme-retail");
    ok(
        &ws,
        &["vi", "create", "Acme", "--accounts", &acme.join(",")],
    );
    let out = ok(
        &ws,
        &[
            "sql",
            "Acme",
            "SELECT 0x41 AS a, 1_000 AS b FROM cur",
            "--explain",
        ],
    );
    assert!(out.starts_with("SELECT 65 AS a, 1000 AS b FROM "), "{out}");
    let out = ok(
        &ws,
        &["sql", "Acme", "SELECT 0x41 AS a, 1_000 AS b", "--json"],
    );
    let rows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(rows["rows"][0], serde_json::json!(["65", "1000"]));
    for (query, named) in [
        ("SELECT CAST(ROW(1,2) AS ROW(a INT, b INT))", "ROW"),
        ("SELECT 'a' 'b'", "a string as a name"),
    ] {
        let err = fails(&ws, &["sql", "Acme", query, "--explain"], 3);
        assert!(err.contains(named), "{query}: {err}");
    }
}
