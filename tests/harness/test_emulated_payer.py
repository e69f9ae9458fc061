"""The emulated payer holds data and its services compute (issue 9's "done
when"): with boto3 alone against `tests/emulators up`, Athena's sums over the
CUR table and over a view, and Cost Explorer's figures through a billing view
(and without one), equal an independent pyarrow sum over the Parquet objects
read back from moto's S3; a view that is not healthy is refused as AWS refuses
it; a wrong view SQL or billing view filter set from outside shows in the
figures.

The expected figures are never written down: they are computed here, from the
objects in S3, with pyarrow (not DuckDB, not SQL), so a query or a filter the
emulators got wrong cannot agree with them by construction.
"""
from __future__ import annotations

import base64
import calendar
import datetime as dt
import io
import json
import time
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import cur_data
import harness
from test_moto_patches import clients as moto_clients, control, run, start
from test_harness import emulators

PAYER = harness.PAYER_ACCOUNT_ID
CUR = f'"{harness.CUR_DATABASE}"."{harness.CUR_TABLE}"'
PRIMARY = f"arn:aws:billing::{PAYER}:billingview/primary"
UP_ARGS = ("--accounts", "30", "--rows", "24000", "--seed", "7", "--health-delay-seconds", "0.5")
REL = 1e-9  # figures are sums of doubles in another order: equal to ~15 digits


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("payer")
    try:
        yield start(state_dir, *UP_ARGS)
    finally:
        emulators("down", state_dir=state_dir)


def clients(emu, monkeypatch):
    """boto3 clients configured by nothing but the printed exports: moto, and
    the billing emulator for `billing` (AWS_ENDPOINT_URL_BILLING)."""
    moto = moto_clients(emu, monkeypatch)

    def client(service: str):
        if service != "billing":
            return moto(service)
        import boto3
        from botocore.config import Config

        c = boto3.session.Session().client("billing", config=Config(retries={"total_max_attempts": 1}))
        assert c.meta.endpoint_url == emu.exports["AWS_ENDPOINT_URL_BILLING"]
        return c

    return client


@pytest.fixture
def aws(emu, monkeypatch):
    return clients(emu, monkeypatch)


def state(emu) -> dict:
    return json.loads((emu.state_dir / "state.json").read_text())


def billing(emu, method: str, path: str, payload=None):
    status, body = harness.http(method, f"{emu.exports['COSTCARVE_EMU_BILLING_URL']}{path}", payload)
    assert status == 200, body
    return json.loads(body)


# ----------------------------------------------------------------------------
# The independent side: the Parquet objects in moto's S3, summed with pyarrow


def read_cur(aws) -> pa.Table:
    """Every object under the Glue table's partitions, read with pyarrow,
    with `billing_period` from the partition (as Athena adds it)."""
    glue, s3 = aws("glue"), aws("s3")
    parts = glue.get_partitions(DatabaseName=harness.CUR_DATABASE, TableName=harness.CUR_TABLE)["Partitions"]
    tables = []
    for p in parts:
        bucket, prefix = p["StorageDescriptor"]["Location"][len("s3://"):].split("/", 1)
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            t = pq.read_table(io.BytesIO(body))
            tables.append(t.append_column("billing_period", pa.array([p["Values"][0]] * t.num_rows)))
    return pa.concat_tables(tables)


def amortized(t: pa.Table) -> np.ndarray:
    """AmortizedCost as the README defines it: covered usage at its effective
    cost, the Savings Plan negation and RI fees at 0, the rest unblended."""
    kind = t["line_item_line_item_type"].to_numpy(zero_copy_only=False)
    unblended = t["line_item_unblended_cost"].to_numpy()
    out = unblended.copy()
    out[kind == "SavingsPlanCoveredUsage"] = t["savings_plan_savings_plan_effective_cost"].to_numpy()[
        kind == "SavingsPlanCoveredUsage"]
    out[kind == "DiscountedUsage"] = t["reservation_effective_cost"].to_numpy()[kind == "DiscountedUsage"]
    out[np.isin(kind, ["SavingsPlanNegation", "SavingsPlanUpfrontFee", "RIFee"])] = 0.0
    return out


def sums(t: pa.Table, keys: list, values: dict[str, np.ndarray]) -> dict[tuple, dict[str, float]]:
    """{key tuple: {name: sum}} over rows, keys given as arrays or column names."""
    cols = [np.asarray(t[k].to_numpy(zero_copy_only=False) if isinstance(k, str) else k, dtype=object)
            for k in keys]
    out: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for i in range(t.num_rows):
        key = tuple(c[i] for c in cols)
        for name, v in values.items():
            out[key][name] += float(v[i])
    return {k: dict(v) for k, v in out.items()}


def month_of(t: pa.Table) -> np.ndarray:
    return np.array([d.strftime("%Y-%m-01") for d in t["line_item_usage_start_date"].to_pylist()], dtype=object)


def only(t: pa.Table, accounts) -> pa.Table:
    return t.filter(pc.is_in(t["line_item_usage_account_id"], pa.array(sorted(accounts))))


@pytest.fixture(scope="module")
def cur(emu, tmp_path_factory):
    import pytest as _pytest

    mp = _pytest.MonkeyPatch()
    try:
        return read_cur(clients(emu, mp))
    finally:
        mp.undo()


def athena_rows(aws, sql: str) -> tuple[dict, list[list[str | None]]]:
    athena = aws("athena")
    ex = run(athena, sql)
    assert ex["Status"]["State"] == "SUCCEEDED", ex["Status"]
    rows, token = [], None
    while True:
        kw = {"QueryExecutionId": ex["QueryExecutionId"]}
        if token:
            kw["NextToken"] = token
        page = athena.get_query_results(**kw)
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            return ex, rows[1:]  # without the header row


def customer_accounts(emu, n: int = 0) -> list[str]:
    accounts = state(emu)["seed"]["accounts"]
    customers = sorted({a["tags"]["customer"] for a in accounts if a["tags"]["customer"] != "internal"})
    return sorted(a["id"] for a in accounts if a["tags"]["customer"] == customers[n])


# ----------------------------------------------------------------------------
# The CUR


def test_the_cur_is_13_billing_periods_of_cur2_parquet_for_the_organization(emu, aws, cur):
    seeded = state(emu)["seed"]
    assert cur.num_rows == seeded["cur"]["rows"] == sum(o["rows"] for o in seeded["cur"]["objects"])
    assert abs(cur.num_rows - 24000) <= 13  # --rows, split over the periods by their days
    periods = sorted(set(cur["billing_period"].to_pylist()))
    assert periods == harness.billing_periods(dt.datetime.now(dt.timezone.utc).date(), 13)
    # every line item is in the billing period of its partition, none after today
    assert all(d.strftime("%Y-%m") == p for d, p in zip(cur["line_item_usage_start_date"].to_pylist(),
                                                        cur["billing_period"].to_pylist()))
    assert max(cur["line_item_usage_start_date"].to_pylist()).date() <= dt.datetime.now(dt.timezone.utc).date()
    # the Glue table's columns, with matching types
    arrow = {"string": pa.string(), "double": pa.float64(), "timestamp": pa.timestamp("ms"),
             "map<string,string>": pa.map_(pa.string(), pa.string()),
             "map<string,double>": pa.map_(pa.string(), pa.float64())}
    for name, hive in harness.CUR2_COLUMNS:
        assert cur.schema.field(name).type == arrow[hive], name
    kinds = set(cur["line_item_line_item_type"].to_pylist())
    assert {"Usage", "Tax", "Credit", "Refund", "SppDiscount", "EdpDiscount", "SavingsPlanCoveredUsage",
            "SavingsPlanNegation", "DiscountedUsage", "RIFee"} <= kinds
    # every account of the organization has costs, and nobody else
    org = {a["id"] for a in seeded["accounts"]} | {PAYER}
    assert set(cur["line_item_usage_account_id"].to_pylist()) == org
    assert set(cur["bill_payer_account_id"].to_pylist()) == {PAYER}
    tags = {k for m in cur["resource_tags"].to_pylist() for k, _ in m}
    assert tags == {"user_team", "user_app", "user_environment"}


def test_the_generator_is_deterministic_and_its_size_and_seed_are_options():
    accounts = [{"id": f"{100000000000 + i}", "name": f"a{i}", "tags": {"customer": "c", "env": "prod"}}
                for i in range(5)]
    payer = {"id": PAYER, "name": "payer"}
    day = dt.date(2026, 3, 10)
    a = cur_data.generate(accounts, payer, rows=3000, seed=1, today=day)
    b = cur_data.generate(accounts, payer, rows=3000, seed=1, today=day)
    c = cur_data.generate(accounts, payer, rows=3000, seed=2, today=day)
    assert list(a) == harness.billing_periods(day, 13)
    assert all(a[p].equals(b[p]) for p in a)
    assert cur_data.parquet_bytes(a["2026-01"]) == cur_data.parquet_bytes(b["2026-01"])
    assert not a["2026-01"].equals(c["2026-01"])
    assert abs(sum(t.num_rows for t in a.values()) - 3000) <= 13
    assert a["2026-03"].num_rows < a["2026-01"].num_rows  # the open month: 10 days of data


# ----------------------------------------------------------------------------
# Athena


def test_athena_sum_over_the_cur_table_equals_a_sum_over_the_parquet(emu, aws, cur):
    ex, rows = athena_rows(aws, f"""
        SELECT billing_period, line_item_usage_account_id AS account, count(*) AS n,
               sum(line_item_unblended_cost) AS cost, sum(pricing_public_on_demand_cost) AS od
        FROM {CUR} GROUP BY 1, 2 ORDER BY 1, 2""")
    want = sums(cur, ["billing_period", "line_item_usage_account_id"],
                {"n": np.ones(cur.num_rows), "cost": cur["line_item_unblended_cost"].to_numpy(),
                 "od": cur["pricing_public_on_demand_cost"].to_numpy()})
    got = {(r[0], r[1]): {"n": float(r[2]), "cost": float(r[3]), "od": float(r[4])} for r in rows}
    assert got.keys() == want.keys()
    for key, w in want.items():
        assert got[key]["n"] == w["n"]
        assert got[key]["cost"] == pytest.approx(w["cost"], rel=REL, abs=1e-9), key
        assert got[key]["od"] == pytest.approx(w["od"], rel=REL, abs=1e-9), key
    # a full scan reads every object
    assert ex["Statistics"]["DataScannedInBytes"] == sum(o["bytes"] for o in state(emu)["seed"]["cur"]["objects"])


def test_athena_prunes_partitions_and_counts_only_what_it_read(emu, aws, cur):
    objects = {o["key"].split("BILLING_PERIOD=")[1][:7]: o["bytes"] for o in state(emu)["seed"]["cur"]["objects"]}
    period = sorted(objects)[-2]
    ex, rows = athena_rows(aws, f"SELECT sum(line_item_net_unblended_cost) FROM {CUR} "
                                f"WHERE billing_period = '{period}'")
    assert ex["Statistics"]["DataScannedInBytes"] == objects[period]
    month = cur.filter(pc.equal(cur["billing_period"], period))
    assert float(rows[0][0]) == pytest.approx(pc.sum(month["line_item_net_unblended_cost"]).as_py(), rel=REL)


def presto_view(sql: str, schema: str) -> str:
    definition = {"originalSql": sql, "catalog": "awsdatacatalog", "schema": schema, "columns": []}
    return f"/* Presto View: {base64.b64encode(json.dumps(definition).encode()).decode()} */"


def test_athena_over_a_view_sums_exactly_its_accounts_and_a_wrong_view_sql_shows(emu, aws, cur):
    acme, other = customer_accounts(emu, 0), customer_accounts(emu, 1)
    in_list = ", ".join(f"'{a}'" for a in acme)
    ex = run(aws("athena"), f'CREATE OR REPLACE VIEW "{harness.VIEWS_DATABASE}"."vi_acme" AS SELECT * FROM {CUR} '
                            f"WHERE line_item_usage_account_id IN ({in_list})")
    assert ex["Status"]["State"] == "SUCCEEDED"
    query = (f'SELECT line_item_usage_account_id, sum(line_item_unblended_cost) FROM "{harness.VIEWS_DATABASE}".'
             f'"vi_acme" WHERE billing_period >= \'2026-01\' GROUP BY 1')

    def figures() -> dict[str, float]:
        return {r[0]: float(r[1]) for r in athena_rows(aws, query)[1]}

    def expected(accounts) -> dict[str, float]:
        t = only(cur, accounts)
        t = t.filter(pc.greater_equal(t["billing_period"], "2026-01"))
        return {k[0]: v["c"] for k, v in sums(t, ["line_item_usage_account_id"],
                                              {"c": t["line_item_unblended_cost"].to_numpy()}).items()}

    got, want = figures(), expected(acme)
    assert got.keys() == want.keys() == set(acme)
    assert all(got[a] == pytest.approx(want[a], rel=REL) for a in acme)

    # Someone rewrites the view's SQL in Glue (as a console edit would): Athena
    # expands the stored SQL, so the figures are now the other customer's.
    glue = aws("glue")
    table = glue.get_table(DatabaseName=harness.VIEWS_DATABASE, Name="vi_acme")["Table"]
    wrong = ", ".join(f"'{a}'" for a in other)
    table_input = {k: table[k] for k in ("Name", "TableType", "Parameters", "StorageDescriptor", "PartitionKeys",
                                         "ViewExpandedText")}
    table_input["ViewOriginalText"] = presto_view(
        f"SELECT * FROM {CUR} WHERE line_item_usage_account_id IN ({wrong})", harness.VIEWS_DATABASE)
    glue.update_table(DatabaseName=harness.VIEWS_DATABASE, TableInput=table_input)
    got, want = figures(), expected(other)
    assert got.keys() == set(other) and not got.keys() & set(acme)
    assert all(got[a] == pytest.approx(want[a], rel=REL) for a in other)
    run(aws("athena"), f'DROP VIEW "{harness.VIEWS_DATABASE}"."vi_acme"')


# ----------------------------------------------------------------------------
# Cost Explorer through billing views


def create_view(emu, aws, name: str, expression: dict | None = None, sources=(PRIMARY,), settle=True) -> str:
    kw = {"name": name, "sourceViews": list(sources)}
    if expression:
        kw["dataFilterExpression"] = expression
    arn = aws("billing").create_billing_view(**kw)["arn"]
    if settle:
        billing(emu, "POST", "/_emulator/settle", {"arn": arn})
    return arn


def accounts_filter(accounts) -> dict:
    return {"dimensions": {"key": "LINKED_ACCOUNT", "values": list(accounts)}}


def recent_months(n: int) -> tuple[str, str, list[str]]:
    today = dt.datetime.now(dt.timezone.utc).date()
    y, m = today.year, today.month
    months = []
    for _ in range(n):
        months.append(dt.date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    months.reverse()
    end = dt.date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return months[0].isoformat(), end.isoformat(), [d.isoformat() for d in months]


def ce_pages(ce, **request) -> list[dict]:
    pages, token = [], None
    while True:
        answer = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
        pages.append(answer)
        token = answer.get("NextPageToken")
        if not token:
            return pages


def grouped(pages: list[dict], metric: str) -> dict[tuple, float]:
    out: dict[tuple, float] = defaultdict(float)
    for page in pages:
        for r in page["ResultsByTime"]:
            for g in r["Groups"]:
                out[(r["TimePeriod"]["Start"], *g["Keys"])] += float(g["Metrics"][metric]["Amount"])
    return dict(out)


def test_cost_and_usage_through_a_custom_view_is_exactly_its_accounts(emu, aws, cur):
    acme = customer_accounts(emu, 0)
    arn = create_view(emu, aws, "acme", accounts_filter(acme))
    start_, end, months = recent_months(4)
    metrics = ["UnblendedCost", "NetUnblendedCost", "AmortizedCost", "UsageQuantity"]
    pages = ce_pages(aws("ce"), TimePeriod={"Start": start_, "End": end}, Granularity="MONTHLY", Metrics=metrics,
                     GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}], BillingViewArn=arn)
    t = only(cur, acme)
    t = t.filter(pc.greater_equal(t["billing_period"], months[0][:7]))
    want = sums(t, [month_of(t), "line_item_usage_account_id"], {
        "UnblendedCost": t["line_item_unblended_cost"].to_numpy(),
        "NetUnblendedCost": t["line_item_net_unblended_cost"].to_numpy(),
        "AmortizedCost": amortized(t), "UsageQuantity": t["line_item_usage_amount"].to_numpy()})
    for metric in metrics:
        got = grouped(pages, metric)
        assert {k[1] for k in got} == set(acme), "grouped by LINKED_ACCOUNT: no other account"
        assert got.keys() == want.keys()
        for key, w in want.items():
            assert got[key] == pytest.approx(w[metric], rel=1e-9, abs=2e-10), (metric, key)
    results = [r for p in pages for r in p["ResultsByTime"]]
    assert [r["TimePeriod"]["Start"] for r in results] == months
    config = control(emu, "GET", "/moto-api/costcarve/ce-config")[1]
    today = dt.datetime.now(dt.timezone.utc).date()
    for r, month in zip(results, months):
        previous = months[-2] == month and today.day <= config["estimated_until_day"]
        assert r["Estimated"] is (month == months[-1] or previous), month
    names = {a["id"]: a["name"] for a in state(emu)["seed"]["accounts"]}
    attrs = {a["Value"]: a["Attributes"]["description"] for a in pages[0]["DimensionValueAttributes"]}
    assert attrs == {a: names[a] for a in acme}

    # GetDimensionValues through the view: its accounts, named.
    values = aws("ce").get_dimension_values(TimePeriod={"Start": start_, "End": end}, Dimension="LINKED_ACCOUNT",
                                            BillingViewArn=arn)
    assert {v["Value"]: v["Attributes"]["description"] for v in values["DimensionValues"]} == attrs
    assert values["TotalSize"] == len(acme)


def test_without_a_view_cost_explorer_answers_for_the_whole_payer_daily_and_monthly(aws, cur):
    ce = aws("ce")
    start_, end, months = recent_months(3)
    monthly = ce_pages(ce, TimePeriod={"Start": start_, "End": end}, Granularity="MONTHLY",
                       Metrics=["BlendedCost"])
    t = cur.filter(pc.greater_equal(cur["billing_period"], months[0][:7]))
    want = sums(t, [month_of(t)], {"c": t["line_item_blended_cost"].to_numpy()})
    got = {r["TimePeriod"]["Start"]: float(r["Total"]["BlendedCost"]["Amount"])
           for p in monthly for r in p["ResultsByTime"]}
    assert got.keys() == {k[0] for k in want}
    assert all(got[m] == pytest.approx(want[(m,)]["c"], rel=1e-9) for m in got)

    # DAILY over the last 10 days of the previous month, by service
    prev = dt.date.fromisoformat(months[-2])
    last = calendar.monthrange(prev.year, prev.month)[1]
    first_day = prev.replace(day=last - 9)
    daily = ce_pages(ce, TimePeriod={"Start": first_day.isoformat(), "End": months[-1]}, Granularity="DAILY",
                     Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}])
    days = [r["TimePeriod"]["Start"] for p in daily for r in p["ResultsByTime"]]
    assert len(days) == 10 and days[0] == first_day.isoformat()
    t = cur.filter(pc.equal(cur["billing_period"], months[-2][:7]))
    day = np.array([d.date().isoformat() for d in t["line_item_usage_start_date"].to_pylist()], dtype=object)
    keep = day >= first_day.isoformat()
    t, day = t.filter(pa.array(keep)), day[keep]
    product = pc.map_lookup(t["product"], "product_name", "first").to_numpy(zero_copy_only=False)
    kind = t["line_item_line_item_type"].to_numpy(zero_copy_only=False)
    service = np.where(kind == "Tax", "Tax", product)
    want = sums(t, [day, service], {"c": t["line_item_unblended_cost"].to_numpy()})
    got = grouped(daily, "UnblendedCost")
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(w["c"], rel=1e-9, abs=2e-10) for k, w in want.items())


def test_filters_two_group_bys_and_paging_are_computed(emu, aws, cur):
    ce = aws("ce")
    start_, end, months = recent_months(2)
    request = dict(TimePeriod={"Start": start_, "End": end}, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                   GroupBy=[{"Type": "DIMENSION", "Key": "RECORD_TYPE"}, {"Type": "TAG", "Key": "team"}],
                   Filter={"And": [
                       {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit", "Refund", "Tax"]}}},
                       {"Or": [{"Dimensions": {"Key": "REGION", "Values": ["us-east-1", "eu-west-1"]}},
                               {"Tags": {"Key": "team", "Values": ["ml"]}}]}]})
    whole = ce_pages(ce, **request)
    assert len(whole) == 1
    control(emu, "POST", "/moto-api/costcarve/ce-config", {"page_size": 7})
    try:
        paged = ce_pages(ce, **request)
    finally:
        control(emu, "POST", "/moto-api/costcarve/ce-config", {"page_size": 1000})
    assert len(paged) > 2
    assert grouped(paged, "UnblendedCost") == grouped(whole, "UnblendedCost")

    t = cur.filter(pc.greater_equal(cur["billing_period"], months[0][:7]))
    kind = t["line_item_line_item_type"].to_numpy(zero_copy_only=False)
    team = pc.map_lookup(t["resource_tags"], "user_team", "first").to_numpy(zero_copy_only=False)
    region = t["product_region_code"].to_numpy(zero_copy_only=False)
    keep = ~np.isin(kind, ["Credit", "Refund", "Tax"]) & (np.isin(region, ["us-east-1", "eu-west-1"])
                                                          | (team == "ml"))
    t, kind, team = t.filter(pa.array(keep)), kind[keep], team[keep]
    tag = np.array([f"team${x or ''}" for x in team], dtype=object)
    want = sums(t, [month_of(t), kind, tag], {"c": t["line_item_unblended_cost"].to_numpy()})
    got = grouped(whole, "UnblendedCost")
    assert got.keys() == want.keys()
    assert all(got[k] == pytest.approx(w["c"], rel=1e-9, abs=2e-10) for k, w in want.items())

    with pytest.raises(ce.exceptions.ClientError, match="at most 2"):
        ce.get_cost_and_usage(**{**request, "GroupBy": request["GroupBy"] + [{"Type": "DIMENSION",
                                                                              "Key": "SERVICE"}]})


def test_aggregate_and_tag_views_and_a_wrong_filter_set_from_outside_show_in_the_figures(emu, aws, cur):
    ce = aws("ce")
    start_, end, months = recent_months(2)
    a, b = customer_accounts(emu, 0)[:2], customer_accounts(emu, 1)[:3]
    va = create_view(emu, aws, "agg-a", accounts_filter(a))
    vb = create_view(emu, aws, "agg-b", accounts_filter(b))
    both = create_view(emu, aws, "agg-ab", None, sources=(va, vb))
    ask = dict(TimePeriod={"Start": start_, "End": end}, Granularity="MONTHLY", Metrics=["UnblendedCost"],
               GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    got = grouped(ce_pages(ce, **ask, BillingViewArn=both), "UnblendedCost")
    t = only(cur, a + b)
    t = t.filter(pc.greater_equal(t["billing_period"], months[0][:7]))
    want = sums(t, [month_of(t), "line_item_usage_account_id"], {"c": t["line_item_unblended_cost"].to_numpy()})
    assert got.keys() == want.keys() and {k[1] for k in got} == set(a + b)
    assert all(got[k] == pytest.approx(w["c"], rel=1e-9) for k, w in want.items())

    # A deliberately wrong filter, set from outside with boto3: view A now
    # names B's accounts, and Cost Explorer through A answers with B's figures.
    aws("billing").update_billing_view(arn=va, dataFilterExpression=accounts_filter(b))
    with pytest.raises(ce.exceptions.BillingViewHealthStatusException):  # UPDATING, as AWS refuses it
        ce.get_cost_and_usage(**ask, BillingViewArn=va)
    billing(emu, "POST", "/_emulator/settle", {"arn": va})
    assert {k[1] for k in grouped(ce_pages(ce, **ask, BillingViewArn=va), "UnblendedCost")} == set(b)

    # A tag-filtered view: only the rows with that tag value.
    ml = create_view(emu, aws, "team-ml", {"tags": {"key": "team", "values": ["ml"]}})
    total = sum(float(r["Total"]["UnblendedCost"]["Amount"]) for p in ce_pages(
        ce, TimePeriod={"Start": start_, "End": end}, Granularity="MONTHLY", Metrics=["UnblendedCost"],
        BillingViewArn=ml) for r in p["ResultsByTime"])
    t = cur.filter(pc.greater_equal(cur["billing_period"], months[0][:7]))
    team = pc.map_lookup(t["resource_tags"], "user_team", "first")
    assert total == pytest.approx(pc.sum(t.filter(pc.equal(team, "ml"))["line_item_unblended_cost"]).as_py(),
                                  rel=1e-9)


def test_a_view_that_is_not_healthy_or_unknown_is_refused_as_aws_refuses_it(emu, aws):
    ce = aws("ce")
    start_, end, _ = recent_months(1)
    ask = dict(TimePeriod={"Start": start_, "End": end}, Granularity="MONTHLY", Metrics=["UnblendedCost"])
    creating = create_view(emu, aws, "just-made", accounts_filter(customer_accounts(emu, 2)), settle=False)
    with pytest.raises(ce.exceptions.BillingViewHealthStatusException, match="CREATING"):
        ce.get_cost_and_usage(**ask, BillingViewArn=creating)
    billing(emu, "POST", "/_emulator/settle", {"arn": creating})
    ce.get_cost_and_usage(**ask, BillingViewArn=creating)
    billing(emu, "POST", "/_emulator/faults", {"kind": "unhealthy", "arn": creating, "reasons": ["SOURCE_VIEW_ACCESS_DENIED"]})
    for call in (lambda: ce.get_cost_and_usage(**ask, BillingViewArn=creating),
                 lambda: ce.get_dimension_values(TimePeriod=ask["TimePeriod"], Dimension="SERVICE",
                                                 BillingViewArn=creating),
                 lambda: ce.get_cost_forecast(TimePeriod={"Start": "2030-01-01", "End": "2030-02-01"},
                                              Metric="UNBLENDED_COST", Granularity="MONTHLY",
                                              BillingViewArn=creating)):
        with pytest.raises(ce.exceptions.BillingViewHealthStatusException, match="UNHEALTHY"):
            call()
    gone = creating[:-4] + "0000"
    with pytest.raises(ce.exceptions.ResourceNotFoundException):
        ce.get_cost_and_usage(**ask, BillingViewArn=gone)


def test_forecast_through_a_view_is_its_recent_daily_mean(emu, aws, cur):
    accounts = customer_accounts(emu, 1)
    arn = create_view(emu, aws, "forecast", accounts_filter(accounts))
    today = dt.datetime.now(dt.timezone.utc).date()
    start_ = today + dt.timedelta(days=1)
    answer = aws("ce").get_cost_forecast(TimePeriod={"Start": start_.isoformat(),
                                                     "End": (start_ + dt.timedelta(days=3)).isoformat()},
                                         Metric="UNBLENDED_COST", Granularity="DAILY", BillingViewArn=arn)
    t = only(cur, accounts)
    day = np.array([d.date() for d in t["line_item_usage_start_date"].to_pylist()], dtype=object)
    window = (day >= today - dt.timedelta(days=28)) & (day < today)
    mean = float(t["line_item_unblended_cost"].to_numpy()[window].sum()) / 28
    assert [float(r["MeanValue"]) for r in answer["ForecastResultsByTime"]] == pytest.approx([mean] * 3, rel=1e-9)
