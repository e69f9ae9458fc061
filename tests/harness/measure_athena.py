"""Athena latency on the emulator, run after `eval "$(tests/emulators up ...)"`: a month of a
20-account view (StartQueryExecution -> SUCCEEDED -> every GetQueryResults page), median of N runs:

    $VENV/bin/python tests/harness/measure_athena.py [N]
"""
import json, os, statistics, sys, time
import boto3
from botocore.config import Config
state = json.load(open(os.path.join(os.environ["COSTCARVE_EMU_STATE_DIR"], "state.json")))
accounts = sorted(a["id"] for a in state["seed"]["accounts"])[:20]
period = state["seed"]["cur"]["partitions"][-2]
cfg = Config(retries={"total_max_attempts": 1})
athena = boto3.client("athena", config=cfg)
def run(q):
    t = time.monotonic()
    qid = athena.start_query_execution(QueryString=q, WorkGroup="costcarve",
                                       QueryExecutionContext={"Database": "costcarve_views"})["QueryExecutionId"]
    while (st := athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"])["Status"]["State"] in ("QUEUED", "RUNNING"):
        time.sleep(0.02)
    assert st["Status"]["State"] == "SUCCEEDED", st["Status"]
    rows, token = 0, None
    while True:
        page = athena.get_query_results(QueryExecutionId=qid, **({"NextToken": token} if token else {}))
        rows += len(page["ResultSet"]["Rows"]); token = page.get("NextToken")
        if not token: break
    return time.monotonic() - t, rows, st["Statistics"]["DataScannedInBytes"]
ids = ", ".join(f"'{a}'" for a in accounts)
run(f'CREATE OR REPLACE VIEW "costcarve_views"."vi_twenty" AS SELECT * FROM "costcarve_cur"."cur2" WHERE line_item_usage_account_id IN ({ids})')
queries = {
 "monthly by service": f"SELECT line_item_product_code, sum(line_item_unblended_cost) FROM vi_twenty WHERE billing_period = '{period}' GROUP BY 1",
 "daily by account": f"SELECT date_trunc('day', line_item_usage_start_date), line_item_usage_account_id, sum(line_item_unblended_cost) FROM vi_twenty WHERE billing_period = '{period}' GROUP BY 1, 2",
 "all rows": f"SELECT * FROM vi_twenty WHERE billing_period = '{period}'",
}
for name, q in queries.items():
    times = [run(q) for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 7)]
    print(f"{name}: median {statistics.median(t for t, _, _ in times)*1000:.0f} ms, max {max(t for t,_,_ in times)*1000:.0f} ms, rows {times[0][1]-1}, scanned {times[0][2]} B")
