"""The four dashboard questions in DuckDB, on the same Parquet files and the
same 20 accounts, printed as JSON lines like costcarve-bench's.

Usage: python duckdb_dashboard.py CUR_DIR ACCOUNT_IDS LAST_DAY [RUNS]
"""
import datetime as dt
import json
import resource
import sys
import time

import duckdb


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def first_of_month(d):
    return d.replace(day=1)


def main():
    cur_dir, ids, last_day = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    last = dt.date.fromisoformat(last_day)
    end = last + dt.timedelta(days=1)
    first = first_of_month(last)
    for _ in range(12):
        first = first_of_month(first - dt.timedelta(days=1))
    periods = []
    m = first
    while m < end:
        periods.append(m.strftime("%Y-%m"))
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start30 = end - dt.timedelta(days=30)
    periods30 = sorted({(start30 + dt.timedelta(days=i)).strftime("%Y-%m") for i in range(31)})

    con = duckdb.connect()
    t = time.perf_counter()
    id_list = ", ".join(f"'{i}'" for i in ids)
    con.execute(
        f"""CREATE VIEW vi AS SELECT * FROM read_parquet('{cur_dir}/*/*.parquet', hive_partitioning = true)
            WHERE line_item_usage_account_id IN ({id_list})"""
    )
    print(json.dumps({"engine": "duckdb", "question": "open",
                      "median_ms": round((time.perf_counter() - t) * 1000, 1),
                      "peak_rss_mb": round(peak_rss_mb(), 1)}))

    def plist(ps):
        return ", ".join(f"'{p}'" for p in ps)

    rng = lambda a: f"line_item_usage_start_date >= TIMESTAMP '{a} 00:00:00' AND line_item_usage_start_date < TIMESTAMP '{end} 00:00:00'"
    # The same formulation CostCarve's engine uses: partition pruning on
    # billing_period, monthly buckets from the partition value, and no
    # per-row date filter when the range is whole months.
    month = "CAST(billing_period || '-01' AS DATE)"
    questions = [
        ("monthly_by_service", f"""SELECT {month}, line_item_product_code, SUM(line_item_unblended_cost)
             FROM vi WHERE billing_period IN ({plist(periods)}) GROUP BY 1, 2""", "total"),
        ("daily_last_30_days", f"""SELECT CAST(date_trunc('day', line_item_usage_start_date) AS DATE), SUM(line_item_unblended_cost)
             FROM vi WHERE {rng(start30)} AND billing_period IN ({plist(periods30)}) GROUP BY 1""", "total"),
        ("top10_usage_types", f"""SELECT line_item_usage_type, SUM(line_item_unblended_cost) AS c FROM vi
             WHERE billing_period IN ({plist(periods)}) GROUP BY 1 ORDER BY c DESC LIMIT 10""", "total"),
        ("by_account_by_month", f"""SELECT {month}, line_item_usage_account_id, SUM(line_item_unblended_cost)
             FROM vi WHERE billing_period IN ({plist(periods)}) GROUP BY 1, 2""", "total"),
    ]
    for label, sql, _ in questions:
        times = []
        checksum = 0.0
        for i in range(runs + 1):
            t = time.perf_counter()
            rows = con.execute(sql).fetchall()
            elapsed = (time.perf_counter() - t) * 1000
            checksum = sum(r[-1] or 0 for r in rows)
            if i > 0:
                times.append(elapsed)
        times.sort()
        print(json.dumps({"engine": "duckdb", "question": label,
                          "median_ms": round(times[len(times) // 2], 1),
                          "peak_rss_mb": round(peak_rss_mb(), 1),
                          "checksum": round(checksum, 2)}))


if __name__ == "__main__":
    main()
