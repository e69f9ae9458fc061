"""Tests of moto_patches.py: what `tests/emulators up` serves where moto 5.2.5
alone falls short of AWS (Athena view DDL and faults, Cost Explorer request
log and GetCostForecast, Organizations paging). Like test_harness.py, the
harness runs as a subprocess and is driven over HTTP only, by boto3 clients
configured by the exports it printed and by the control endpoints.

Run from the repository root:
    python -m pytest tests/harness -q
"""
from __future__ import annotations

import base64
import json
import os
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import harness
from test_harness import Emu, emulators

PAYER = harness.PAYER_ACCOUNT_ID
CUR_TABLE = f'"{harness.CUR_DATABASE}"."{harness.CUR_TABLE}"'
VIEWS = harness.VIEWS_DATABASE
# 45 members: 4 shared, 2 sandbox, 39 in the one customer OU (more than a page of 20)
UP_ARGS = ("--accounts", "45", "--customers", "1", "--ous-per-customer", "prod", "--health-delay-seconds", "0")
BIG_OU = "Customers/Acme Retail/prod"
BILLING_VIEW = f"arn:aws:billing::{PAYER}:billingview/custom-0b6f3f5e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


def start(state_dir, *args: str) -> Emu:
    t0 = time.monotonic()
    up = emulators("up", *args, state_dir=state_dir)
    assert up.returncode == 0, f"up failed ({up.returncode}):\n{up.stderr}"
    return Emu(state_dir, up, time.monotonic() - t0)


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("emulators")
    try:
        yield start(state_dir, *UP_ARGS)
    finally:
        emulators("down", state_dir=state_dir)


def clients(emu: Emu, monkeypatch, validate: bool = True):
    """boto3 clients configured by nothing but the printed exports
    (`validate=False`: botocore sends what its model would refuse)."""
    for key in list(os.environ):
        if key.upper().startswith("AWS_") or key.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in emu.exports.items():
        monkeypatch.setenv(key, value)
    session = boto3.session.Session()
    config = Config(retries={"total_max_attempts": 1}, parameter_validation=validate)

    def client(service: str):
        c = session.client(service, config=config)
        assert c.meta.endpoint_url == emu.exports["AWS_ENDPOINT_URL"]  # moto, nothing else
        return c

    return client


@pytest.fixture
def aws(emu, monkeypatch):
    return clients(emu, monkeypatch)


def control(emu: Emu, method: str, path: str, payload=None):
    """(status, JSON answer) of a control endpoint on moto's port."""
    status, body = harness.http(method, f"{emu.exports['AWS_ENDPOINT_URL']}{path}", payload)
    return status, json.loads(body) if body else None


@pytest.fixture
def faults(emu):
    """Registers Athena faults for one test, and clears them after it."""
    def add(*items: dict) -> list[dict]:
        status, answer = control(emu, "POST", "/moto-api/costcarve/athena-faults", {"faults": list(items)})
        assert status == 201, answer
        return answer["faults"]

    yield add
    assert control(emu, "DELETE", "/moto-api/costcarve/athena-faults")[0] == 200


def start_query(athena, sql: str, **extra) -> str:
    """As CostCarve starts one: the workgroup, the views database as context."""
    return athena.start_query_execution(
        QueryString=sql, WorkGroup=harness.WORKGROUP,
        QueryExecutionContext={"Database": VIEWS}, **extra)["QueryExecutionId"]


def execution(athena, qid: str) -> dict:
    return athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]


def finish(athena, qid: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        ex = execution(athena, qid)
        if ex["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return ex
        assert time.monotonic() < deadline, ex
        time.sleep(0.05)


def run(athena, sql: str, **extra) -> dict:
    return finish(athena, start_query(athena, sql, **extra))


def glue_table(glue, database: str, name: str) -> dict | None:
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def view_definition(table: dict) -> dict:
    text = table["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */"), text
    return json.loads(base64.b64decode(text[len("/* Presto View: "):-len(" */")]))


# ----------------------------------------------------------------------------
# Athena: view DDL


def test_create_or_replace_view_writes_the_glue_table_athena_writes(emu, aws):
    athena, glue = aws("athena"), aws("glue")
    select = f"SELECT * FROM {CUR_TABLE} WHERE line_item_usage_account_id IN ('111111111111')"
    sql = f'CREATE OR REPLACE VIEW "{VIEWS}"."acme_costs" AS {select}'
    ex = run(athena, sql)
    assert ex["Status"]["State"] == "SUCCEEDED"
    assert "StateChangeReason" not in ex["Status"]
    assert ex["Query"] == sql and ex["StatementType"] == "DDL"

    table = glue_table(glue, VIEWS, "acme_costs")
    assert table["TableType"] == "VIRTUAL_VIEW"
    assert table["Parameters"] == {"presto_view": "true", "comment": "Presto View"}
    assert table["ViewExpandedText"] == "/* Presto View */"
    assert table["PartitionKeys"] == []
    hive_columns = [{"Name": n, "Type": t} for n, t in harness.CUR2_COLUMNS]
    hive_columns.append({"Name": harness.CUR2_PARTITION_KEY, "Type": "string"})
    assert table["StorageDescriptor"]["Columns"] == hive_columns
    definition = view_definition(table)
    assert list(definition) == ["originalSql", "catalog", "schema", "columns"]
    assert definition["originalSql"] == select
    assert (definition["catalog"], definition["schema"]) == ("awsdatacatalog", VIEWS)
    types = {c["name"]: c["type"] for c in definition["columns"]}
    assert [c["name"] for c in definition["columns"]] == [c["Name"] for c in hive_columns]
    assert types["line_item_usage_account_id"] == "varchar"
    assert types["line_item_unblended_cost"] == "double"
    assert types["line_item_usage_start_date"] == "timestamp(3)"
    assert types["resource_tags"] == "map(varchar,varchar)"
    assert types["discount"] == "map(varchar,double)"
    assert types["billing_period"] == "varchar"

    # replacing it is a new version of the same table
    again = f"SELECT * FROM {CUR_TABLE} WHERE line_item_usage_account_id IN ('222222222222')"
    assert run(athena, f'CREATE OR REPLACE VIEW "{VIEWS}"."acme_costs" AS {again}')["Status"]["State"] == "SUCCEEDED"
    replaced = glue_table(glue, VIEWS, "acme_costs")
    assert view_definition(replaced)["originalSql"] == again
    assert int(replaced["VersionId"]) == int(table["VersionId"]) + 1
    assert replaced["CreateTime"] == table["CreateTime"]


def test_create_view_takes_plain_names_and_the_context_database(emu, aws):
    athena, glue = aws("athena"), aws("glue")
    assert run(athena, f"create view {VIEWS}.Plain_Name as\nselect 1 as one;")["Status"]["State"] == "SUCCEEDED"
    plain = glue_table(glue, VIEWS, "plain_name")  # Glue names are lower case
    assert plain["TableType"] == "VIRTUAL_VIEW"
    assert view_definition(plain) == {"originalSql": "select 1 as one", "catalog": "awsdatacatalog",
                                      "schema": VIEWS, "columns": []}  # no FROM table: no columns
    assert run(athena, "CREATE VIEW unqualified AS SELECT 2")["Status"]["State"] == "SUCCEEDED"
    assert glue_table(glue, VIEWS, "unqualified")["TableType"] == "VIRTUAL_VIEW"


def test_create_view_fails_where_athena_fails(emu, aws):
    athena, glue = aws("athena"), aws("glue")
    sql = 'CREATE OR REPLACE VIEW "no_such_db"."v" AS SELECT 1'
    ex = run(athena, sql)
    assert ex["Query"] == sql
    assert ex["Status"]["State"] == "FAILED"
    reason = "SCHEMA_NOT_FOUND: line 1:1: Schema 'no_such_db' does not exist"
    assert ex["Status"]["StateChangeReason"] == reason
    assert ex["Status"]["AthenaError"] == {"ErrorCategory": 2, "Retryable": False, "ErrorMessage": reason}
    with pytest.raises(ClientError) as err:
        athena.get_query_results(QueryExecutionId=ex["QueryExecutionId"])
    assert err.value.response["Error"] == {"Code": "InvalidRequestException", "Message": reason}

    # CREATE VIEW (without OR REPLACE) on an existing view
    assert run(athena, f"CREATE VIEW {VIEWS}.twice AS SELECT 1")["Status"]["State"] == "SUCCEEDED"
    ex = run(athena, f"CREATE VIEW {VIEWS}.twice AS SELECT 2")
    assert ex["Status"]["State"] == "FAILED"
    assert ex["Status"]["StateChangeReason"] == f"ALREADY_EXISTS: View already exists: '{VIEWS}.twice'"
    assert view_definition(glue_table(glue, VIEWS, "twice"))["originalSql"] == "SELECT 1"

    # a table that is not a view is never replaced
    ex = run(athena, f"CREATE OR REPLACE VIEW {CUR_TABLE} AS SELECT 1")
    assert ex["Status"]["State"] == "FAILED"
    assert glue_table(glue, harness.CUR_DATABASE, harness.CUR_TABLE)["TableType"] == "EXTERNAL_TABLE"

    # Trino refuses backquoted identifiers
    ex = run(athena, f"CREATE VIEW `{VIEWS}`.`ticks` AS SELECT 1")
    assert ex["Status"]["StateChangeReason"] == ("SYNTAX_ERROR: line 1:13: backquoted identifiers are not "
                                                 "supported; use double quotes to quote identifiers")
    assert glue_table(glue, VIEWS, "ticks") is None


def test_drop_view_deletes_the_glue_table(emu, aws):
    athena, glue = aws("athena"), aws("glue")
    assert run(athena, f'CREATE VIEW "{VIEWS}"."doomed" AS SELECT 1')["Status"]["State"] == "SUCCEEDED"
    ex = run(athena, f'DROP VIEW "{VIEWS}"."doomed"')
    assert ex["Status"]["State"] == "SUCCEEDED" and ex["StatementType"] == "DDL"
    assert glue_table(glue, VIEWS, "doomed") is None

    ex = run(athena, f'DROP VIEW "{VIEWS}"."doomed"')
    assert ex["Status"]["State"] == "FAILED"
    assert ex["Status"]["StateChangeReason"] == (
        f"TABLE_NOT_FOUND: line 1:1: View 'awsdatacatalog.{VIEWS}.doomed' does not exist")
    assert run(athena, f'DROP VIEW IF EXISTS "{VIEWS}"."doomed"')["Status"]["State"] == "SUCCEEDED"
    # DROP VIEW leaves tables that are not views alone
    assert run(athena, f"DROP VIEW IF EXISTS {CUR_TABLE}")["Status"]["State"] == "SUCCEEDED"
    assert glue_table(glue, harness.CUR_DATABASE, harness.CUR_TABLE) is not None


def csv_of(s3, location: str) -> str:
    bucket, key = location[len("s3://"):].split("/", 1)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_other_queries_run_on_the_cur_and_write_their_csv(emu, aws):
    athena, s3 = aws("athena"), aws("s3")
    sql = (f"SELECT line_item_line_item_type AS kind, count(*) AS n, sum(line_item_unblended_cost) "
           f"FROM {CUR_TABLE} GROUP BY 1 ORDER BY 1")
    # the workgroup's output location (what AWS uses when the request names none) ...
    first = run(athena, sql)
    # ... or the request's own
    second = run(athena, sql, ResultConfiguration={"OutputLocation": f"s3://{harness.RESULTS_BUCKET}/mine/"})
    for ex, prefix in ((first, harness.RESULTS_LOCATION), (second, f"s3://{harness.RESULTS_BUCKET}/mine/")):
        assert ex["Status"]["State"] == "SUCCEEDED" and ex["StatementType"] == "DML"
        assert ex["Statistics"]["DataScannedInBytes"] > 0
        answer = athena.get_query_results(QueryExecutionId=ex["QueryExecutionId"])["ResultSet"]
        columns = answer["ResultSetMetadata"]["ColumnInfo"]
        assert [(c["Name"], c["Type"]) for c in columns] == [("kind", "varchar"), ("n", "bigint"),
                                                             ("_col2", "double")]
        rows = answer["Rows"]
        assert rows[0] == {"Data": [{"VarCharValue": "kind"}, {"VarCharValue": "n"}, {"VarCharValue": "_col2"}]}
        kinds = [r["Data"][0]["VarCharValue"] for r in rows[1:]]
        assert kinds == sorted(kinds) and {"Usage", "Tax", "Credit", "SavingsPlanCoveredUsage"} <= set(kinds)
        location = ex["ResultConfiguration"]["OutputLocation"]
        assert location == f"{prefix}{ex['QueryExecutionId']}.csv"
        assert csv_of(s3, location) == "".join(
            ",".join(f'"{d["VarCharValue"]}"' for d in r["Data"]) + "\n" for r in rows)
    assert (athena.get_query_results(QueryExecutionId=first["QueryExecutionId"])["ResultSet"]["Rows"]
            == athena.get_query_results(QueryExecutionId=second["QueryExecutionId"])["ResultSet"]["Rows"])


@pytest.mark.parametrize("sql, reason", [
    ("SELECT * FROM nowhere", f"TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.{VIEWS}.nowhere' does not exist"),
    ("SELECT 1 FROM elsewhere.t", "SCHEMA_NOT_FOUND: line 1:"),
    ("SELECT 1 FROM other.db.t", "CATALOG_NOT_FOUND: line 1:"),
    (f"SELECT no_such_column FROM {CUR_TABLE}", "COLUMN_NOT_FOUND: line 1:1: Column 'no_such_column' cannot be resolved"),
    ("SELECT * FROM", "SYNTAX_ERROR: line 1:"),
    ("SELECT 1; SELECT 2", "INVALID_INPUT: Only one sql statement is allowed"),
    (f"INSERT INTO {CUR_TABLE} VALUES (1)", "NOT_SUPPORTED: "),
    (f"SELECT no_such_fn(1) FROM {CUR_TABLE}", "FUNCTION_NOT_FOUND: "),
    # Athena quotes the value a cast failed on (what CostCarve must not show).
    ("SELECT CAST('123456789012' AS INT)", "INVALID_CAST_ARGUMENT: Cannot cast '123456789012' to INT"),
])
def test_queries_athena_refuses_end_failed_with_its_reasons(emu, aws, sql, reason):
    athena = aws("athena")
    ex = run(athena, sql)  # context: the views database
    assert ex["Status"]["State"] == "FAILED", ex["Status"]
    assert ex["Status"]["StateChangeReason"].startswith(reason), ex["Status"]["StateChangeReason"]
    assert ex["Status"]["AthenaError"]["ErrorMessage"] == ex["Status"]["StateChangeReason"]
    with pytest.raises(athena.exceptions.InvalidRequestException, match=reason.split(":")[0]):
        athena.get_query_results(QueryExecutionId=ex["QueryExecutionId"])


# ----------------------------------------------------------------------------
# Athena: faults


def test_a_failed_fault_fails_the_ddl_without_applying_it(emu, aws, faults):
    athena, glue = aws("athena"), aws("glue")
    reason = "INTERNAL_ERROR_QUERY_ENGINE: Amazon Athena experienced an internal error"
    faults({"match": r"VIEW .*\"flaky\"", "times": 1, "state": "FAILED", "reason": reason})
    sql = f'CREATE OR REPLACE VIEW "{VIEWS}"."flaky" AS SELECT 1'
    ex = run(athena, sql)
    assert ex["Query"] == sql
    assert (ex["Status"]["State"], ex["Status"]["StateChangeReason"]) == ("FAILED", reason)
    assert glue_table(glue, VIEWS, "flaky") is None
    # times: 1 -- the next one runs normally
    assert run(athena, sql)["Status"]["State"] == "SUCCEEDED"
    assert glue_table(glue, VIEWS, "flaky") is not None
    # a failed DROP VIEW leaves the view
    faults({"match": "^DROP VIEW", "state": "FAILED", "reason": "boom"})
    assert run(athena, f'DROP VIEW "{VIEWS}"."flaky"')["Status"]["StateChangeReason"] == "boom"
    assert glue_table(glue, VIEWS, "flaky") is not None
    listed = control(emu, "GET", "/moto-api/costcarve/athena-faults")[1]["faults"]
    assert [(f["match"], f["times"], f["fired"]) for f in listed] == [
        (r"VIEW .*\"flaky\"", 1, 1), ("^DROP VIEW", 1, 1)]


def test_a_running_fault_delays_the_outcome(emu, aws, faults):
    athena, glue = aws("athena"), aws("glue")
    faults({"match": '"slow_view"', "running_ms": 800})
    t0 = time.monotonic()
    qid = start_query(athena, f'CREATE VIEW "{VIEWS}"."slow_view" AS SELECT 1')
    status = execution(athena, qid)["Status"]
    assert status["State"] == "RUNNING" and "CompletionDateTime" not in status
    assert glue_table(glue, VIEWS, "slow_view") is None  # not applied while running
    with pytest.raises(ClientError) as err:
        athena.get_query_results(QueryExecutionId=qid)
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    ex = finish(athena, qid)
    assert ex["Status"]["State"] == "SUCCEEDED" and time.monotonic() - t0 >= 0.8
    assert ex["Status"]["CompletionDateTime"] >= ex["Status"]["SubmissionDateTime"]
    assert glue_table(glue, VIEWS, "slow_view")["TableType"] == "VIRTUAL_VIEW"

    # running, then failed
    faults({"match": "slow_then_failed", "running_ms": 300, "state": "FAILED", "reason": "late failure"})
    qid = start_query(athena, f"CREATE VIEW {VIEWS}.slow_then_failed AS SELECT 1")
    assert execution(athena, qid)["Status"]["State"] == "RUNNING"
    assert finish(athena, qid)["Status"]["StateChangeReason"] == "late failure"
    assert glue_table(glue, VIEWS, "slow_then_failed") is None


def test_stopping_a_running_execution_cancels_it_and_its_ddl(emu, aws, faults):
    athena, glue = aws("athena"), aws("glue")
    faults({"match": "cancelled_view", "running_ms": 400})
    qid = start_query(athena, f"CREATE OR REPLACE VIEW {VIEWS}.cancelled_view AS SELECT 1")
    assert execution(athena, qid)["Status"]["State"] == "RUNNING"
    athena.stop_query_execution(QueryExecutionId=qid)
    time.sleep(0.5)  # past its running time: still cancelled, never applied
    status = execution(athena, qid)["Status"]
    assert status["State"] == "CANCELLED" and "CompletionDateTime" in status
    assert glue_table(glue, VIEWS, "cancelled_view") is None
    # stopping a finished execution changes nothing (as in AWS)
    faults({"match": "stop_after_end", "running_ms": 1})
    qid = start_query(athena, f"CREATE VIEW {VIEWS}.stop_after_end AS SELECT 1")
    time.sleep(0.05)
    athena.stop_query_execution(QueryExecutionId=qid)
    assert execution(athena, qid)["Status"]["State"] == "SUCCEEDED"
    assert glue_table(glue, VIEWS, "stop_after_end") is not None


def test_faults_match_only_their_queries_and_take_every_match_with_times_null(emu, aws, faults):
    athena = aws("athena")
    faults({"match": "(?i)select .* AS unlucky", "times": None, "state": "CANCELLED"})
    for _ in range(2):
        assert run(athena, "SELECT 1 AS unlucky")["Status"]["State"] == "CANCELLED"
    assert run(athena, "SELECT 1 AS lucky")["Status"]["State"] == "SUCCEEDED"
    assert control(emu, "GET", "/moto-api/costcarve/athena-faults")[1]["faults"][0]["fired"] == 2


@pytest.mark.parametrize("fault, error", [
    ({"match": "(", "state": "FAILED"}, "not a valid regex"),
    ({"state": "FAILED"}, "'match'"),
    ({"match": "x"}, "needs 'state' and/or 'running_ms'"),
    ({"match": "x", "state": "SUCCEEDED"}, "'state'"),
    ({"match": "x", "state": "FAILED", "times": 0}, "'times'"),
    ({"match": "x", "running_ms": -1}, "'running_ms'"),
    ({"match": "x", "state": "FAILED", "colour": "red"}, "unknown fault keys"),
])
def test_bad_faults_are_refused_and_none_of_the_batch_is_kept(emu, fault, error):
    status, answer = control(emu, "POST", "/moto-api/costcarve/athena-faults",
                             {"faults": [{"match": "fine", "state": "FAILED"}, fault]})
    assert status == 400 and error in answer["error"], answer
    assert control(emu, "GET", "/moto-api/costcarve/athena-faults") == (200, {"faults": []})


# ----------------------------------------------------------------------------
# Cost Explorer


def test_ce_requests_are_recorded_in_order(emu, aws):
    ce = aws("ce")
    assert control(emu, "DELETE", "/moto-api/costcarve/ce-requests") == (200, [])
    usage = {"TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"}, "Granularity": "MONTHLY",
             "Metrics": ["UnblendedCost"], "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}]}
    ce.get_cost_and_usage(**usage)
    with pytest.raises(ce.exceptions.InvalidNextTokenException):  # logged all the same
        ce.get_cost_and_usage(**usage, NextPageToken="page-2")
    forecast = {"TimePeriod": {"Start": "2026-02-01", "End": "2026-02-03"}, "Metric": "UNBLENDED_COST",
                "Granularity": "DAILY", "BillingViewArn": BILLING_VIEW}
    with pytest.raises(ce.exceptions.ResourceNotFoundException):  # no such view
        ce.get_cost_forecast(**forecast)
    assert control(emu, "GET", "/moto-api/costcarve/ce-requests") == (200, [
        {"action": "GetCostAndUsage", "params": usage},
        {"action": "GetCostAndUsage", "params": {**usage, "NextPageToken": "page-2"}},
        {"action": "GetCostForecast", "params": forecast},
    ])
    assert control(emu, "DELETE", "/moto-api/costcarve/ce-requests") == (200, [])
    assert control(emu, "GET", "/moto-api/costcarve/ce-requests") == (200, [])


def test_a_ce_fault_fails_the_request_after_its_skips_and_the_request_is_still_logged(emu, aws):
    ce = aws("ce")
    control(emu, "DELETE", "/moto-api/costcarve/ce-requests")
    assert control(emu, "POST", "/moto-api/costcarve/ce-faults",
                   {"skip": 1, "code": "LimitExceededException", "message": "slow down"})[0] == 201
    forecast = {"TimePeriod": {"Start": "2026-02-01", "End": "2026-02-03"}, "Metric": "UNBLENDED_COST",
                "Granularity": "DAILY", "BillingViewArn": BILLING_VIEW}
    with pytest.raises(ce.exceptions.ResourceNotFoundException):  # let through: no such view
        ce.get_cost_forecast(**forecast)
    with pytest.raises(ce.exceptions.LimitExceededException, match="slow down"):
        ce.get_cost_forecast(**forecast)
    with pytest.raises(ce.exceptions.ResourceNotFoundException):  # the fault is used up
        ce.get_cost_forecast(**forecast)
    assert len(control(emu, "GET", "/moto-api/costcarve/ce-requests")[1]) == 3
    assert control(emu, "POST", "/moto-api/costcarve/ce-faults", {"skip": -1})[0] == 400


def test_cost_forecast_is_the_recent_daily_mean_per_day_or_month(emu, aws):
    ce = aws("ce")
    daily = ce.get_cost_forecast(TimePeriod={"Start": "2026-03-30", "End": "2026-04-02"},
                                 Metric="NET_UNBLENDED_COST", Granularity="DAILY")
    means = [float(r["MeanValue"]) for r in daily["ForecastResultsByTime"]]
    assert [(r["TimePeriod"]["Start"], r["TimePeriod"]["End"]) for r in daily["ForecastResultsByTime"]] == [
        ("2026-03-30", "2026-03-31"), ("2026-03-31", "2026-04-01"), ("2026-04-01", "2026-04-02")]
    assert means[0] > 0 and means == [means[0]] * 3
    assert float(daily["Total"]["Amount"]) == pytest.approx(sum(means))
    bounds = daily["ForecastResultsByTime"][0]
    assert float(bounds["PredictionIntervalLowerBound"]) < means[0] < float(bounds["PredictionIntervalUpperBound"])
    monthly = ce.get_cost_forecast(TimePeriod={"Start": "2026-11-26", "End": "2027-02-01"},
                                   Metric="AMORTIZED_COST", Granularity="MONTHLY", PredictionIntervalLevel=80)
    assert [r["TimePeriod"] for r in monthly["ForecastResultsByTime"]] == [
        {"Start": "2026-11-26", "End": "2026-12-01"}, {"Start": "2026-12-01", "End": "2027-01-01"},
        {"Start": "2027-01-01", "End": "2027-02-01"}]
    cut, december, january = (float(r["MeanValue"]) for r in monthly["ForecastResultsByTime"])
    assert december == pytest.approx(january) and cut == pytest.approx(december * 5 / 31, rel=1e-6)


def test_cost_forecast_serves_canned_results_in_order(emu, aws):
    ce = aws("ce")
    canned = [{"Total": {"Amount": str(n), "Unit": "USD"}, "ForecastResultsByTime": [
        {"TimePeriod": {"Start": "2026-05-01", "End": "2026-06-01"}, "MeanValue": str(n),
         "PredictionIntervalLowerBound": str(n - 1), "PredictionIntervalUpperBound": str(n + 1)}]}
        for n in (11, 22)]
    status, answer = control(emu, "POST", "/moto-api/costcarve/ce-forecast-results", {"results": canned})
    assert (status, answer) == (201, {"account_id": PAYER, "queued": 2})

    def ask(metric: str) -> dict:
        out = ce.get_cost_forecast(TimePeriod={"Start": "2026-05-01", "End": "2026-06-01"}, Metric=metric,
                                   Granularity="MONTHLY")
        return {k: out[k] for k in ("Total", "ForecastResultsByTime")}

    assert ask("UNBLENDED_COST") == canned[0]
    assert ask("BLENDED_COST") == canned[1]
    assert ask("UNBLENDED_COST") == canned[0]  # the same request gets the same answer (as moto's CE)
    computed = ask("AMORTIZED_COST")  # queue empty: computed from the CUR again
    assert computed not in canned and float(computed["Total"]["Amount"]) > 0
    control(emu, "POST", "/moto-api/costcarve/ce-forecast-results", {"results": canned})
    assert control(emu, "DELETE", "/moto-api/costcarve/ce-forecast-results") == (200, {"queued": 0})
    assert ask("NET_AMORTIZED_COST") not in canned


@pytest.mark.parametrize("request_, message", [
    ({"Metric": "UNBLENDED_COST", "Granularity": "DAILY"},
     "1 validation error detected: Value null at 'timePeriod' failed to satisfy constraint: Member must not be null"),
    ({"TimePeriod": {"Start": "2026-01-01"}},
     "3 validation errors detected: Value null at 'timePeriod.end' failed to satisfy constraint: Member must not "
     "be null; Value null at 'metric' failed to satisfy constraint: Member must not be null; Value null at "
     "'granularity' failed to satisfy constraint: Member must not be null"),
    ({"TimePeriod": {"Start": "2026/01/01", "End": "2026-01-02"}, "Metric": "UNBLENDED_COST", "Granularity": "DAILY"},
     "Value '2026/01/01' at 'timePeriod.start' failed to satisfy constraint: Member must satisfy regular "
     "expression pattern"),
    ({"TimePeriod": {"Start": "2026-01-01", "End": "2026-01-02"}, "Metric": "UnblendedCost", "Granularity": "DAILY"},
     "Value 'UnblendedCost' at 'metric' failed to satisfy constraint: Member must satisfy enum value set: ["),
    ({"TimePeriod": {"Start": "2026-01-01", "End": "2026-01-02"}, "Metric": "USAGE_QUANTITY", "Granularity": "DAILY"},
     "Unsupported metric USAGE_QUANTITY for GetCostForecast"),
    ({"TimePeriod": {"Start": "2026-01-01", "End": "2026-01-02"}, "Metric": "BLENDED_COST", "Granularity": "HOURLY"},
     "GetCostForecast supports only DAILY and MONTHLY granularity"),
    ({"TimePeriod": {"Start": "2026-01-02", "End": "2026-01-02"}, "Metric": "BLENDED_COST", "Granularity": "DAILY"},
     "Requested Start: 2026-01-02 must be before requested End: 2026-01-02"),
    ({"TimePeriod": {"Start": "2026-02-30", "End": "2026-03-02"}, "Metric": "BLENDED_COST", "Granularity": "DAILY"},
     "Invalid start date: 2026-02-30"),
    ({"TimePeriod": {"Start": "2026-01-01", "End": "2026-01-02"}, "Metric": "BLENDED_COST", "Granularity": "DAILY",
      "PredictionIntervalLevel": 50},
     "Value '50' at 'predictionIntervalLevel' failed to satisfy constraint: Member must have value greater than "
     "or equal to 51"),
    ({"TimePeriod": {"Start": "2026-01-01", "End": "2026-01-02"}, "Metric": "BLENDED_COST", "Granularity": "DAILY",
      "BillingViewArn": "arn:aws:billing::123:billingview/x"},
     "at 'billingViewArn' failed to satisfy constraint"),
])
def test_cost_forecast_validates_like_aws(emu, monkeypatch, request_, message):
    ce = clients(emu, monkeypatch, validate=False)("ce")
    with pytest.raises(ClientError) as err:
        ce.get_cost_forecast(**request_)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert message in err.value.response["Error"]["Message"]


# ----------------------------------------------------------------------------
# Organizations


def pages(operation, key: str, **kwargs) -> list[list]:
    out, token = [], None
    while True:
        page = operation(**kwargs, **({"NextToken": token} if token else {}))
        out.append(page[key])
        token = page.get("NextToken")
        if not token:
            return out


def assert_refuses_more_than_20(operation, **kwargs) -> None:
    with pytest.raises(ClientError) as err:
        operation(MaxResults=21, **kwargs)
    assert err.value.response["Error"]["Code"] == "InvalidInputException"
    assert err.value.response["Reason"] == "MAX_VALUE_EXCEEDED"


def test_list_accounts_pages_by_at_most_20(emu, aws):
    org = aws("organizations")
    first = org.list_accounts(MaxResults=20)
    assert len(first["Accounts"]) == 20 and first["NextToken"]
    default = org.list_accounts()
    assert len(default["Accounts"]) == 20 and default["NextToken"]
    for size in (20, 7):
        got = pages(org.list_accounts, "Accounts", MaxResults=size)
        assert all(len(p) <= size for p in got)
        ids = [a["Id"] for p in got for a in p]
        assert len(ids) == len(set(ids)) == 46
    assert_refuses_more_than_20(org.list_accounts)


def test_list_accounts_and_ous_for_parent_page_by_at_most_20(emu, aws):
    org = aws("organizations")
    big_ou = emu.state()["seed"]["ous"][BIG_OU]
    for size in (20, 10, None):
        got = pages(org.list_accounts_for_parent, "Accounts", ParentId=big_ou,
                    **({"MaxResults": size} if size else {}))
        assert len(got) > 1 and all(len(p) <= (size or 20) for p in got)
        assert len({a["Id"] for p in got for a in p}) == 39
    assert_refuses_more_than_20(org.list_accounts_for_parent, ParentId=big_ou)

    parent = org.create_organizational_unit(ParentId=org.list_roots()["Roots"][0]["Id"],
                                            Name="Paging test")["OrganizationalUnit"]["Id"]
    made = {org.create_organizational_unit(ParentId=parent, Name=f"child {i}")["OrganizationalUnit"]["Id"]
            for i in range(23)}
    for size in (20, 5, None):
        got = pages(org.list_organizational_units_for_parent, "OrganizationalUnits", ParentId=parent,
                    **({"MaxResults": size} if size else {}))
        assert len(got) > 1 and all(len(p) <= (size or 20) for p in got)
        assert {ou["Id"] for p in got for ou in p} == made
    assert_refuses_more_than_20(org.list_organizational_units_for_parent, ParentId=parent)


def test_organization_is_all_features_with_the_payer_and_tagged_accounts(emu, aws):
    org = aws("organizations")
    described = org.describe_organization()["Organization"]
    assert (described["FeatureSet"], described["MasterAccountId"]) == ("ALL", PAYER)
    for account in emu.state()["seed"]["accounts"][:5]:
        tags = {t["Key"]: t["Value"] for t in org.list_tags_for_resource(ResourceId=account["id"])["Tags"]}
        assert tags == account["tags"]


# ----------------------------------------------------------------------------


def test_moto_reset_clears_faults_and_the_ce_log(tmp_path, monkeypatch):
    """On a harness of its own: a reset forgets the seed too."""
    emu = start(tmp_path / "emu", "--accounts", "0")
    try:
        assert control(emu, "POST", "/moto-api/costcarve/athena-faults", {"match": "x", "state": "FAILED"})[0] == 201
        clients(emu, monkeypatch)("ce").get_cost_and_usage(
            TimePeriod={"Start": "2026-01-01", "End": "2026-02-01"}, Granularity="MONTHLY", Metrics=["UnblendedCost"])
        assert len(control(emu, "GET", "/moto-api/costcarve/ce-requests")[1]) == 1
        assert harness.http("POST", f"{emu.exports['AWS_ENDPOINT_URL']}/moto-api/reset")[0] == 200
        assert control(emu, "GET", "/moto-api/costcarve/athena-faults") == (200, {"faults": []})
        assert control(emu, "GET", "/moto-api/costcarve/ce-requests") == (200, [])
        assert control(emu, "PUT", "/moto-api/costcarve/ce-requests")[0] == 405
    finally:
        emulators("down", state_dir=tmp_path / "emu")


def test_get_query_results_pages_like_aws(emu, aws):
    athena, s3 = aws("athena"), aws("s3")
    ex = run(athena, f"SELECT identity_line_item_id AS id FROM {CUR_TABLE} ORDER BY 1 LIMIT 2300")
    qid = ex["QueryExecutionId"]
    got, token, pages = [], None, 0
    while True:
        kw = {"QueryExecutionId": qid, "MaxResults": 1000}
        if token:
            kw["NextToken"] = token
        page = athena.get_query_results(**kw)
        pages += 1
        got += page["ResultSet"]["Rows"]
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(got) == 2301  # the header row, then 2,300 rows
    csv = csv_of(s3, ex["ResultConfiguration"]["OutputLocation"]).splitlines()
    assert csv == [f'"{r["Data"][0]["VarCharValue"]}"' for r in got]
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.get_query_results(QueryExecutionId=qid, MaxResults=1001)
