#!/usr/bin/env bash
# CostCarve (DataFusion) vs DuckDB on the four dashboard questions, through a
# 20-account integration, on the same demo Parquet files, in one run.
# Usage: bench/dashboard.sh [ROWS] [RUNS]     (defaults: 10000000 rows, 5 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-10000000}"
RUNS="${2:-5}"
END_MONTH=2026-10
LAST_DAY=2026-10-31
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/costcarve/target}"
OUT="bench/out"
WS="$OUT/ws-$ROWS"
mkdir -p "$OUT"

echo "== building (release)" >&2
cargo build --locked --release -p costcarve-cli -p costcarve-local --bins >&2
BIN="$CARGO_TARGET_DIR/release"

if [ ! -d bench/.venv ]; then
  python3 -m venv bench/.venv
fi
bench/.venv/bin/pip install --quiet 'duckdb>=1.1,<2' >&2

if [ ! -f "$WS/costcarve-workspace.json" ]; then
  echo "== generating $ROWS rows" >&2
  rm -rf "$WS"
  /usr/bin/time -f "generated in %e s, peak RSS %M KB" \
    "$BIN/costcarve" demo --dir "$WS" --rows "$ROWS" --seed 42 --end-month "$END_MONTH" >&2
fi

# The first open of a workspace builds its daily rollup (cached in
# .costcarve-cache, rebuilt when the CUR files change): measured here.
rm -rf "$WS/.costcarve-cache"
/usr/bin/time -f "first open, building the daily rollup: %e s, peak RSS %M KB" \
  "$BIN/costcarve" --workspace "$WS" vi list >/dev/null 2>"$OUT/rollup.txt" || { cat "$OUT/rollup.txt"; exit 1; }
ROLLUP_LINE=$(tail -1 "$OUT/rollup.txt")

# A 20-account integration: every customer's prod accounts, first 20 by id.
IDS=$("$BIN/costcarve" --workspace "$WS" accounts --json | python3 -c '
import json, sys
a = json.load(sys.stdin)
ids = sorted(x["id"] for x in a if x["tags"].get("customer"))
print(",".join(ids[::2][:20]))')
if ! "$BIN/costcarve" --workspace "$WS" vi show "Bench 20" >/dev/null 2>&1; then
  "$BIN/costcarve" --workspace "$WS" vi create "Bench 20" --accounts "$IDS" >&2
fi

echo "== costcarve" >&2
"$BIN/costcarve-bench" "$WS" "Bench 20" "$LAST_DAY" "$RUNS" | tee "$OUT/costcarve.jsonl" >&2
echo "== duckdb" >&2
bench/.venv/bin/python bench/duckdb_dashboard.py "$WS/cur" "$IDS" "$LAST_DAY" "$RUNS" | tee "$OUT/duckdb.jsonl" >&2

echo "== raw line items (rollup off)" >&2
COSTCARVE_NO_ROLLUP=1 "$BIN/costcarve-bench" "$WS" "Bench 20" "$LAST_DAY" "$RUNS" | tee "$OUT/costcarve-raw.jsonl" >&2

python3 - "$OUT/costcarve.jsonl" "$OUT/duckdb.jsonl" "$ROWS" "$OUT/costcarve-raw.jsonl" <<'PY'
import json, sys
cc = {r["question"]: r for r in map(json.loads, open(sys.argv[1]))}
dd = {r["question"]: r for r in map(json.loads, open(sys.argv[2]))}
print(f"dashboard questions, {int(sys.argv[3]):,} rows, 20-account integration (median of runs)")
print(f"{'question':<22}{'costcarve ms':>14}{'duckdb ms':>12}{'ratio':>8}{'cc peak RSS MB':>16}{'duckdb peak RSS MB':>20}  totals match")
for q in ["monthly_by_service", "daily_last_30_days", "top10_usage_types", "by_account_by_month"]:
    a, b = cc[q], dd[q]
    ratio = a["median_ms"] / b["median_ms"] if b["median_ms"] else float("inf")
    match = abs(a["checksum"] - b["checksum"]) <= max(0.05, abs(b["checksum"]) * 1e-9)
    print(f"{q:<22}{a['median_ms']:>14.1f}{b['median_ms']:>12.1f}{ratio:>8.2f}{a['peak_rss_mb']:>16.1f}{b['peak_rss_mb']:>20.1f}  {'yes' if match else 'NO: %s vs %s' % (a['checksum'], b['checksum'])}")
print(f"open: costcarve {cc['open']['median_ms']:.0f} ms, duckdb {dd['open']['median_ms']:.0f} ms")
raw = {r["question"]: r for r in map(json.loads, open(sys.argv[4]))}
print("costcarve without the rollup (raw line items), for reference:")
for q in ["monthly_by_service", "daily_last_30_days", "top10_usage_types", "by_account_by_month"]:
    a, b = raw[q], dd[q]
    print(f"  {q:<22}{a['median_ms']:>10.1f} ms  ratio {a['median_ms'] / b['median_ms']:.2f}  peak RSS {a['peak_rss_mb']:.1f} MB")
PY
echo "$ROLLUP_LINE"
