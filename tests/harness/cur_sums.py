#!/usr/bin/env python3
"""Independent sums over the emulated payer's CUR, for tests of the app's AWS
path: reads the Parquet objects under the Glue table's partitions back from
moto's S3 (boto3, configured by the `tests/emulators up` exports in the
environment) and sums them with pyarrow/numpy — no SQL, no DuckDB, none of the
emulators' query code — so a figure the app got through Athena or Cost
Explorer can be checked against one computed from the data itself.

    python tests/harness/cur_sums.py --accounts ID,ID --from 2026-08-01 --to 2026-10-01 \\
        [--granularity monthly|daily|none] [--group-by service,account,region,usage_type,line_item_type,product_code,tag:KEY] \\
        [--metric unblended|net_unblended|amortized|blended|usage|public_on_demand] [--exclude Credit,Refund,Tax]

prints {"points": [{"period": "YYYY-MM-DD"|null, "keys": [...], "amount": float}], "total": float,
"rows": n} (points ordered by period, then keys). Dimensions as Cost Explorer
answers them (README "Cost Explorer computes"): service = product_name (Tax
lines: "Tax"), region = product_region_code or "NoRegion", tag:K = `K$value`
of resource_tags['user_K'].
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
from collections import defaultdict

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from botocore.config import Config

import harness


def read_cur() -> pa.Table:
    config = Config(retries={"total_max_attempts": 1})
    glue, s3 = boto3.client("glue", config=config), boto3.client("s3", config=config)
    parts = glue.get_partitions(DatabaseName=harness.CUR_DATABASE, TableName=harness.CUR_TABLE)["Partitions"]
    tables = []
    for p in parts:
        bucket, prefix = p["StorageDescriptor"]["Location"][len("s3://"):].split("/", 1)
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            t = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()))
            tables.append(t.append_column("billing_period", pa.array([p["Values"][0]] * t.num_rows)))
    return pa.concat_tables(tables)


def column(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(t[name].to_numpy(zero_copy_only=False), dtype=object)


def metric(t: pa.Table, name: str) -> np.ndarray:
    kind = column(t, "line_item_line_item_type")
    if name == "unblended":
        return t["line_item_unblended_cost"].to_numpy()
    if name == "net_unblended":
        return t["line_item_net_unblended_cost"].to_numpy()
    if name == "blended":
        return t["line_item_blended_cost"].to_numpy()
    if name == "usage":
        return t["line_item_usage_amount"].to_numpy()
    if name == "public_on_demand":
        return np.nan_to_num(t["pricing_public_on_demand_cost"].to_numpy(zero_copy_only=False).astype(float))
    if name == "amortized":
        out = t["line_item_unblended_cost"].to_numpy().copy()
        sp, ri = kind == "SavingsPlanCoveredUsage", kind == "DiscountedUsage"
        out[sp] = t["savings_plan_savings_plan_effective_cost"].to_numpy()[sp]
        out[ri] = t["reservation_effective_cost"].to_numpy()[ri]
        out[np.isin(kind, ["SavingsPlanNegation", "SavingsPlanUpfrontFee", "RIFee"])] = 0.0
        return out
    raise SystemExit(f"cur_sums: unknown metric {name!r}")


def dimension(t: pa.Table, name: str) -> np.ndarray:
    if name == "service":
        product = np.asarray(pc.map_lookup(t["product"], "product_name", "first").to_numpy(zero_copy_only=False),
                             dtype=object)
        return np.where(column(t, "line_item_line_item_type") == "Tax", "Tax", product)
    if name == "account":
        return column(t, "line_item_usage_account_id")
    if name == "region":
        region = column(t, "product_region_code")
        return np.array([r if r else "NoRegion" for r in region], dtype=object)
    if name == "usage_type":
        return column(t, "line_item_usage_type")
    if name == "line_item_type":
        return column(t, "line_item_line_item_type")
    if name == "product_code":
        return column(t, "line_item_product_code")
    if name.startswith("tag:"):
        key = name[4:]
        values = pc.map_lookup(t["resource_tags"], f"user_{key}", "first").to_numpy(zero_copy_only=False)
        return np.array([f"{key}${v or ''}" for v in values], dtype=object)
    raise SystemExit(f"cur_sums: unknown dimension {name!r}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", help="comma-separated account ids (default: every account)")
    p.add_argument("--from", dest="start", required=True, type=dt.date.fromisoformat)
    p.add_argument("--to", dest="end", required=True, type=dt.date.fromisoformat, help="first day not included")
    p.add_argument("--granularity", choices=("monthly", "daily", "none"), default="monthly")
    p.add_argument("--group-by", default="")
    p.add_argument("--metric", default="unblended")
    p.add_argument("--exclude", default="", help="line item types to leave out")
    args = p.parse_args(argv)

    t = read_cur()
    if args.accounts:
        t = t.filter(pc.is_in(t["line_item_usage_account_id"], pa.array(args.accounts.split(","))))
    day = np.array([d.date() for d in t["line_item_usage_start_date"].to_pylist()], dtype=object)
    keep = (day >= args.start) & (day < args.end)
    if args.exclude:
        keep &= ~np.isin(column(t, "line_item_line_item_type"), args.exclude.split(","))
    t, day = t.filter(pa.array(keep, pa.bool_())), day[keep]
    values = metric(t, args.metric)
    if args.granularity == "monthly":
        period = np.array([max(d.replace(day=1), args.start).isoformat() for d in day], dtype=object)
    elif args.granularity == "daily":
        period = np.array([d.isoformat() for d in day], dtype=object)
    else:
        period = np.full(len(day), None, dtype=object)
    keys = [dimension(t, g) for g in args.group_by.split(",") if g]
    sums: dict[tuple, float] = defaultdict(float)
    for i in range(t.num_rows):
        sums[(period[i], *(k[i] for k in keys))] += float(values[i])
    points = [{"period": k[0], "keys": list(k[1:]), "amount": v}
              for k, v in sorted(sums.items(), key=lambda kv: (kv[0][0] or "", kv[0][1:]))]
    json.dump({"points": points, "total": float(values.sum()), "rows": t.num_rows}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
