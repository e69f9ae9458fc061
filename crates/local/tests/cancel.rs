//! A cancelled query stops its engine work. Its own test binary: it watches
//! the process's query threads and CPU time, which the other tests' queries
//! would share.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};

use costcarve_core::integration::NewIntegration;
use costcarve_core::ports::FixedClock;
use costcarve_local::demo::{self, DemoSpec};
use costcarve_local::LocalWorkspace;

/// Threads of this process running a confined query.
fn query_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.trim() == "costcarve-sql")
        .count()
}

/// CPU time this process used so far (user + system), from /proc.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of stat; 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_query_stops_its_engine_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ws");
    let first = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    demo::generate(&dir, &DemoSpec::new(20_000, 5, first), |_| {}).unwrap();
    let clock = Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 10, 20, 12, 0, 0).unwrap(),
    ));
    let ws = LocalWorkspace::open(&dir, clock).await.unwrap();
    let accounts = ws
        .organization()
        .accounts
        .iter()
        .map(|a| a.id.clone())
        .take(3)
        .collect();
    ws.create_integration(NewIntegration {
        name: "All".into(),
        accounts,
        allow_shared: false,
        ..Default::default()
    })
    .await
    .unwrap();

    // A join that would run for hours, dropped after a second (what the
    // desktop's Cancel and the CLI's Ctrl-C do to the query's future).
    let sql = "SELECT count(*) FROM cur a, cur b, cur c";
    let slow = ws.sql_within("All", sql, 10, Duration::from_secs(3600));
    let ran = tokio::time::timeout(Duration::from_secs(1), slow).await;
    assert!(ran.is_err(), "the join should still have been running");

    // Its thread ends and the process goes quiet.
    let stopped = Instant::now();
    while query_threads() > 0 {
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "the query thread still runs {:?} after the cancel",
            stopped.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = cpu_time();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_time() - before;
    assert!(
        used < Duration::from_millis(500),
        "the process used {used:?} of CPU in the 2 s after the cancel: the engine kept working"
    );
}
