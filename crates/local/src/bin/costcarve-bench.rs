//! Times the four dashboard questions through one integration of a local
//! workspace, the way the app asks them (as `CostQuery`s), and prints one
//! JSON line per question with the median time and the peak RSS so far.
//! Run by `bench/dashboard.sh`, which puts DuckDB beside it.
//!
//! Usage: costcarve-bench WORKSPACE INTEGRATION LAST_DAY [RUNS]

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use costcarve_core::cost::{first_of_month, CostQuery, Dimension, Granularity};
use costcarve_core::ports::SystemClock;
use costcarve_local::LocalWorkspace;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: costcarve-bench WORKSPACE INTEGRATION LAST_DAY [RUNS]".into());
    }
    let dir = std::path::PathBuf::from(&args[1]);
    let name = args[2].clone();
    let last_day = NaiveDate::parse_from_str(&args[3], "%Y-%m-%d")?;
    let runs: usize = args.get(4).map(|r| r.parse()).transpose()?.unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let started = Instant::now();
        let mut ws = LocalWorkspace::open(&dir, Arc::new(SystemClock)).await?;
        if std::env::var_os("COSTCARVE_NO_ROLLUP").is_some() {
            ws.engine_mut().use_rollup(false);
        }
        println!(
            "{{\"engine\":\"costcarve\",\"question\":\"open\",\"median_ms\":{:.1},\"peak_rss_mb\":{:.1}}}",
            started.elapsed().as_secs_f64() * 1000.0,
            peak_rss_mb()
        );
        let end = last_day + Duration::days(1);
        let mut first = first_of_month(last_day);
        for _ in 0..12 {
            first = first_of_month(first - Duration::days(1));
        }
        let q = |group: Vec<Dimension>, from: NaiveDate, gran: Granularity| {
            let mut q = CostQuery::new(name.clone(), from, end);
            q.group_by = group;
            q.granularity = gran;
            q
        };
        let questions = vec![
            ("monthly_by_service", q(vec![Dimension::Service], first, Granularity::Monthly)),
            ("daily_last_30_days", q(vec![], end - Duration::days(30), Granularity::Daily)),
            ("top10_usage_types", q(vec![Dimension::UsageType], first, Granularity::Monthly)),
            ("by_account_by_month", q(vec![Dimension::Account], first, Granularity::Monthly)),
        ];
        let explain = std::env::var_os("COSTCARVE_BENCH_EXPLAIN").is_some();
        for (label, query) in questions {
            if explain {
                let vi = ws.integration(&name)?;
                eprintln!("== {label}\n{}", ws.engine().explain_analyze_cost(&vi, &query).await?);
            }
            let mut times = Vec::new();
            let mut checksum = 0.0;
            // One warm-up run, then the timed ones.
            for i in 0..=runs {
                let t = Instant::now();
                let series = ws.cost(&query).await?;
                let summary: f64 = if label == "top10_usage_types" {
                    series
                        .totals_by_key(0)
                        .into_iter()
                        .take(10)
                        .map(|(_, v)| v.try_into().unwrap_or(0.0))
                        .sum()
                } else {
                    series.total.try_into().unwrap_or(0.0)
                };
                if i > 0 {
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                checksum = summary;
            }
            times.sort_by(|a, b| a.total_cmp(b));
            println!(
                "{{\"engine\":\"costcarve\",\"question\":\"{label}\",\"median_ms\":{:.1},\"peak_rss_mb\":{:.1},\"checksum\":{:.2}}}",
                times[times.len() / 2],
                peak_rss_mb(),
                checksum
            );
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
