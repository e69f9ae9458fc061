#!/usr/bin/env bash
# Time and peak memory of `costcarve review` on a large demo: one customer's
# pack (PDF, PNGs, CSVs) for the last closed month, on a profile with a
# basis and exclusions, once with the daily rollup already built (what a
# desktop that opened the workspace before sees) and once from a cold start
# (the rollup built first).
# Usage: bench/review.sh [ROWS]        (default 10000000)
#   BIN=<dir with costcarve> to measure another build (default: a release
#   build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-10000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/costcarve/target}"
OUT="bench/out"
WS="${WS:-$OUT/review-ws-$ROWS}"
mkdir -p "$OUT"
if [ -z "${BIN:-}" ]; then
  echo "== building (release)" >&2
  cargo build --locked --release -p costcarve-cli >&2
  BIN="$CARGO_TARGET_DIR/release"
fi
CC="$BIN/costcarve"

# The last closed month is the one reviewed: the demo ends with it, full,
# so the 13 months hold all of ROWS and the pack has its year-ago month.
MONTH=$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)
if [ ! -f "$WS/costcarve-workspace.json" ]; then
  echo "== generating $ROWS rows" >&2
  rm -rf "$WS"
  /usr/bin/time -f "generated in %e s, peak RSS %M KB" "$CC" demo --dir "$WS" --rows "$ROWS" --seed 42 --end-month "$MONTH" >&2
fi
if ! "$CC" --workspace "$WS" vi show "Acme Retail" >/dev/null 2>&1; then
  "$CC" --workspace "$WS" vi import --from-ou Customers >/dev/null
fi
"$CC" --workspace "$WS" vi profile "Acme Retail" --display-name "Acme Corp GmbH" \
  --basis net_unblended --exclude Credit,Tax >/dev/null 2>&1 || true
ACCOUNTS=$("$CC" --workspace "$WS" vi show "Acme Retail" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["accounts"]))')
echo "== demo of --rows $ROWS, 'Acme Retail' ($ACCOUNTS accounts), month $MONTH" >&2

rm -rf "$WS/.costcarve-cache" "$OUT/review-pack"
/usr/bin/time -f "cold (rollup built first): %e s, peak RSS %M KB" \
  "$CC" --workspace "$WS" review "Acme Retail" --month "$MONTH" --out "$OUT/review-pack" >/dev/null
for run in 1 2 3; do
  rm -rf "$OUT/review-pack"
  /usr/bin/time -f "warm run $run (rollup built): %e s, peak RSS %M KB" \
    "$CC" --workspace "$WS" review "Acme Retail" --month "$MONTH" --out "$OUT/review-pack" >/dev/null
done
ls -l "$OUT/review-pack" >&2
