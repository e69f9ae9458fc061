"""Patches to moto 5.2.5 where it falls short of AWS in ways CostCarve's tests
notice. `harness.py serve-moto` calls `install()` before its server starts, so
everything here is reached over HTTP by unchanged SDK clients:

- Athena runs view DDL: `CREATE [OR REPLACE] VIEW` / `DROP VIEW [IF EXISTS]`
  create, replace or delete the Glue table Athena itself would write, or end
  FAILED with an Athena-like StateChangeReason (moto executes no SQL).
  The output location falls back to the workgroup's, as in AWS.
- Athena faults: matching executions end FAILED/CANCELLED and/or stay RUNNING
  for a while (so StopQueryExecution can cancel them before they apply).
- Cost Explorer: every request is recorded (and can be made to fail after a
  number of successes, `ce-faults`); GetCostForecast (which moto lacks)
  is validated and answered from a queue of canned results or a default.
- Organizations: pages of at most 20 (also ListAccounts' default page) and
  MaxResults outside 1..20 refused, as AWS does.
- RAM (ram_emulator.py): resource shares of billing views with their
  principals, reflected in the billing emulator's resource policies; faults.

Control endpoints (same port as moto, JSON, no auth) under /moto-api/costcarve/;
README.md ("moto patches") lists them. POST /moto-api/reset clears their state too.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from moto.athena.models import AthenaBackend, Execution, QueryResults
from moto.athena.responses import AthenaResponse
from moto.ce.responses import CostExplorerResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.glue.models import GlueBackend, glue_backends
from moto.moto_api._internal import urls as moto_api_urls
from moto.moto_api._internal.models import MotoAPIBackend
from moto.organizations import utils as organizations_utils
from moto.organizations.exceptions import InvalidInputException
from moto.organizations.responses import OrganizationsResponse
from moto.s3.models import s3_backends

import athena_engine  # beside this file
import ce_engine
import ram_emulator

CONTROL_PREFIX = "/moto-api/costcarve"


# ----------------------------------------------------------------------------
# State the control endpoints set and read (one set per process)


@dataclass
class AthenaFault:
    """What happens to the next `times` executions whose query text matches."""

    match: str  # Python regex, re.search'ed in the query text
    times: int | None = 1  # None: every matching execution
    state: str | None = None  # FAILED | CANCELLED; None: the normal outcome
    reason: str | None = None  # StateChangeReason of that state
    running_ms: int = 0  # RUNNING this long before the outcome
    fired: int = 0

    STATES = ("FAILED", "CANCELLED")

    @classmethod
    def from_json(cls, obj: Any) -> AthenaFault:
        if not isinstance(obj, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(obj) - {"match", "times", "state", "reason", "running_ms"}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        match = obj.get("match")
        if not isinstance(match, str):
            raise ValueError("'match' (a regex on the query text) is required")
        try:
            re.compile(match)
        except re.error as err:
            raise ValueError(f"'match' is not a valid regex: {err}") from None
        times = obj.get("times", 1)
        if times is not None and (type(times) is not int or times < 1):
            raise ValueError("'times' must be an integer >= 1, or null for every match")
        state = obj.get("state")
        if state is not None and state not in cls.STATES:
            raise ValueError(f"'state' must be one of {list(cls.STATES)}")
        reason = obj.get("reason")
        if reason is not None and (state is None or not isinstance(reason, str)):
            raise ValueError("'reason' must be a string, and goes with 'state'")
        running_ms = obj.get("running_ms", 0)
        if type(running_ms) is not int or running_ms < 0:
            raise ValueError("'running_ms' must be an integer >= 0")
        if state is None and running_ms == 0:
            raise ValueError("a fault needs 'state' and/or 'running_ms'")
        if state == "FAILED" and reason is None:
            reason = "GENERIC_INTERNAL_ERROR: failure injected by an Athena fault"
        return cls(match, times, state, reason, running_ms)

    def to_json(self) -> dict[str, Any]:
        return {"match": self.match, "times": self.times, "state": self.state, "reason": self.reason,
                "running_ms": self.running_ms, "fired": self.fired}


class Controls:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.athena_faults: list[AthenaFault] = []
            self.ce_requests: list[dict[str, Any]] = []
            # Cost Explorer faults: each lets `skip` requests through, then
            # fails the next one with its error (recorded, as AWS bills it).
            self.ce_faults: list[dict[str, Any]] = []
            # GetCostForecast canned results per account: queued, and those
            # already handed out, keyed by the request body (moto's CE scheme).
            self.forecast_queue: dict[str, list[Any]] = {}
            self.forecast_given: dict[tuple[str, str], Any] = {}

    def take_athena_fault(self, query: str) -> AthenaFault | None:
        """The first registered fault with turns left that matches; uses a turn."""
        with self.lock:
            for fault in self.athena_faults:
                if (fault.times is None or fault.fired < fault.times) and re.search(fault.match, query):
                    fault.fired += 1
                    return fault
        return None

    def record_ce_request(self, action: str, params: Any) -> dict[str, Any] | None:
        """Records a request; the fault it must fail with, if one is due."""
        with self.lock:
            self.ce_requests.append({"action": action, "params": params})
            if self.ce_faults:
                fault = self.ce_faults[0]
                if fault["skip"] == 0:
                    return self.ce_faults.pop(0)
                fault["skip"] -= 1
        return None

    def forecast_for(self, account_id: str, body: str) -> Any | None:
        with self.lock:
            key = (account_id, body)
            queue = self.forecast_queue.get(account_id)
            if key not in self.forecast_given and queue:
                self.forecast_given[key] = queue.pop(0)
            return self.forecast_given.get(key)


CONTROLS = Controls()


# ----------------------------------------------------------------------------
# Control endpoints


def _json_response(status: int, payload: Any) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload)


def _body(request: Any) -> Any:
    raw = request.get_data()
    return json.loads(raw) if raw else {}


def _control(name: str, handlers: dict[str, Callable[[Any], tuple[int, Any]]]):
    """The moto-api route `name`, answering the given methods with JSON; bad input is a 400."""

    def route(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        handler = handlers.get(request.method)
        if handler is None:
            return _json_response(405, {"error": f"allowed: {', '.join(sorted(handlers))}"})
        try:
            return _json_response(*handler(request))
        except ValueError as err:  # json.JSONDecodeError is one too
            return _json_response(400, {"error": str(err)})

    route.__name__ = f"costcarve_{name.replace('-', '_')}"  # moto's Flask app names endpoints by it
    return route


def _post_athena_faults(request: Any) -> tuple[int, Any]:
    body = _body(request)
    items = body["faults"] if isinstance(body, dict) and "faults" in body else [body]
    if not isinstance(items, list):
        raise ValueError("'faults' must be a list")
    faults = [AthenaFault.from_json(item) for item in items]  # all valid, or none registered
    with CONTROLS.lock:
        CONTROLS.athena_faults.extend(faults)
    return 201, {"faults": [f.to_json() for f in faults]}


def _get_athena_faults(request: Any) -> tuple[int, Any]:
    with CONTROLS.lock:
        return 200, {"faults": [f.to_json() for f in CONTROLS.athena_faults]}


def _delete_athena_faults(request: Any) -> tuple[int, Any]:
    with CONTROLS.lock:
        CONTROLS.athena_faults.clear()
    return 200, {"faults": []}


def _get_ce_requests(request: Any) -> tuple[int, Any]:
    with CONTROLS.lock:
        return 200, list(CONTROLS.ce_requests)


def _post_ce_faults(request: Any) -> tuple[int, Any]:
    body = _body(request)
    if not isinstance(body, dict) or set(body) - {"skip", "code", "message", "status"}:
        raise ValueError("a Cost Explorer fault is {skip, code, message, status}")
    fault = {"skip": int(body.get("skip", 0)), "code": str(body.get("code", "LimitExceededException")),
             "message": str(body.get("message", "failure injected by a Cost Explorer fault")),
             "status": int(body.get("status", 400))}
    if fault["skip"] < 0:
        raise ValueError("'skip' must be 0 or more")
    with CONTROLS.lock:
        CONTROLS.ce_faults.append(fault)
    return 201, fault


def _delete_ce_requests(request: Any) -> tuple[int, Any]:
    with CONTROLS.lock:
        CONTROLS.ce_requests.clear()
    return 200, []


def _post_forecast_results(request: Any) -> tuple[int, Any]:
    body = _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ValueError("expected {\"results\": [GetCostForecast answers...], \"account_id\"?: ...}")
    account_id = body.get("account_id", DEFAULT_ACCOUNT_ID)
    with CONTROLS.lock:
        queue = CONTROLS.forecast_queue.setdefault(account_id, [])
        queue.extend(body["results"])
        return 201, {"account_id": account_id, "queued": len(queue)}


def _delete_forecast_results(request: Any) -> tuple[int, Any]:
    with CONTROLS.lock:
        CONTROLS.forecast_queue.clear()
        CONTROLS.forecast_given.clear()
    return 200, {"queued": 0}


def _post_ram_faults(request: Any) -> tuple[int, Any]:
    body = _body(request)
    items = body["faults"] if isinstance(body, dict) and "faults" in body else [body]
    if not isinstance(items, list):
        raise ValueError("'faults' must be a list")
    faults = [ram_emulator.RamFault.from_json(item) for item in items]  # all valid, or none registered
    with ram_emulator.STORE.lock:
        ram_emulator.STORE.faults.extend(faults)
    return 201, {"faults": [f.to_json() for f in faults]}


def _get_ram_faults(request: Any) -> tuple[int, Any]:
    with ram_emulator.STORE.lock:
        return 200, {"faults": [f.to_json() for f in ram_emulator.STORE.faults]}


def _delete_ram_faults(request: Any) -> tuple[int, Any]:
    with ram_emulator.STORE.lock:
        ram_emulator.STORE.faults.clear()
    return 200, {"faults": []}


def _get_ram_requests(request: Any) -> tuple[int, Any]:
    with ram_emulator.STORE.lock:
        return 200, list(ram_emulator.STORE.requests)


def _delete_ram_requests(request: Any) -> tuple[int, Any]:
    with ram_emulator.STORE.lock:
        ram_emulator.STORE.requests.clear()
    return 200, []


def _get_ram_state(request: Any) -> tuple[int, Any]:
    ram_emulator.STORE.settle()
    return 200, ram_emulator.STORE.state()


CONTROL_ROUTES = {
    "athena-faults": {"GET": _get_athena_faults, "POST": _post_athena_faults, "DELETE": _delete_athena_faults},
    "ce-requests": {"GET": _get_ce_requests, "DELETE": _delete_ce_requests},
    "ce-faults": {"POST": _post_ce_faults},
    "ce-forecast-results": {"POST": _post_forecast_results, "DELETE": _delete_forecast_results},
    "ce-config": {"GET": lambda request: (200, ce_engine.CONFIG.get()),
                  "POST": lambda request: (200, ce_engine.CONFIG.update(_body(request)))},
    "ram-faults": {"GET": _get_ram_faults, "POST": _post_ram_faults, "DELETE": _delete_ram_faults},
    "ram-requests": {"GET": _get_ram_requests, "DELETE": _delete_ram_requests},
    "ram-state": {"GET": _get_ram_state},
    "ram-config": {"GET": lambda request: (200, ram_emulator.CONFIG.get()),
                   "POST": lambda request: (200, ram_emulator.CONFIG.update(_body(request)))},
}


# ----------------------------------------------------------------------------
# Athena: view DDL


_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT}){{0,2}}"  # [[catalog.]schema.]name
_VIEW_STATEMENT = re.compile(r"\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?VIEW|DROP\s+VIEW)\b", re.I)
_CREATE_VIEW = re.compile(
    rf"\s*CREATE\s+(?P<replace>OR\s+REPLACE\s+)?VIEW\s+(?P<name>{_NAME})"
    r"(?:\s+COMMENT\s+'(?:[^']|'')*')?(?:\s+SECURITY\s+(?:DEFINER|INVOKER))?"
    r"\s+AS\s+(?P<select>.+?)\s*;?\s*", re.I | re.S)
_DROP_VIEW = re.compile(rf"\s*DROP\s+VIEW\s+(?P<if_exists>IF\s+EXISTS\s+)?(?P<name>{_NAME})\s*;?\s*", re.I | re.S)
_FROM_TABLE = re.compile(rf"\bFROM\s+(?P<name>{_NAME})", re.I)
_QUOTED = re.compile(r"'(?:[^']|'')*'" r'|"(?:[^"]|"")*"')  # string literals, quoted identifiers
CATALOG = "awsdatacatalog"


@dataclass
class ViewDdl:
    drop: bool
    replace: bool  # CREATE OR REPLACE
    if_exists: bool  # DROP ... IF EXISTS
    database: str
    name: str
    select: str  # CREATE: the view's query


def _name_parts(name: str) -> list[str]:
    """`"Db"."v"` / `db.v` -> ["db", "v"]: Glue keeps names in lower case."""
    return [p[1:-1].replace('""', '"').lower() if p.startswith('"') else p.lower()
            for p in re.findall(_IDENT, name)]


def parse_view_ddl(query: str, context_database: str) -> ViewDdl | str | None:
    """None if `query` is no view DDL; else the statement, or the
    StateChangeReason of a statement Athena would refuse to parse."""
    if not _VIEW_STATEMENT.match(query):
        return None
    # Trino (Athena's engine for views) rejects `backquoted` identifiers anywhere.
    blanked = _QUOTED.sub(lambda m: " " * len(m.group()), query)
    tick = blanked.find("`")
    if tick >= 0:
        line, col = query.count("\n", 0, tick) + 1, tick - query.rfind("\n", 0, tick)
        return (f"SYNTAX_ERROR: line {line}:{col}: backquoted identifiers are not supported; "
                "use double quotes to quote identifiers")
    create, drop = _CREATE_VIEW.fullmatch(query), _DROP_VIEW.fullmatch(query)
    m = create or drop
    if m is None:
        return "SYNTAX_ERROR: line 1:1: the emulator could not parse this view statement"
    parts = _name_parts(m.group("name"))
    if len(parts) == 3:
        catalog = parts.pop(0)
        if catalog != CATALOG:
            return f"CATALOG_NOT_FOUND: line 1:1: Catalog '{catalog}' does not exist"
    database = parts[0] if len(parts) == 2 else context_database
    if create:
        return ViewDdl(drop=False, replace=bool(create.group("replace")), if_exists=False, database=database,
                       name=parts[-1], select=create.group("select"))
    return ViewDdl(drop=True, replace=False, if_exists=bool(drop.group("if_exists")), database=database,
                   name=parts[-1], select="")


def presto_type(hive_type: str) -> str:
    """A Glue (Hive) column type as Athena's view JSON writes it (Trino's names)."""
    t = hive_type.strip()
    low = t.lower()
    for kind in ("array", "map"):
        if low.startswith(f"{kind}<") and low.endswith(">"):
            return f"{kind}(" + ",".join(presto_type(p) for p in _split_top(t[len(kind) + 1:-1])) + ")"
    if low.startswith("struct<") and low.endswith(">"):
        fields = (f.split(":", 1) for f in _split_top(t[7:-1]))
        return "row(" + ",".join(f"{n.strip()} {presto_type(ft)}" for n, ft in fields) + ")"
    simple = {"string": "varchar", "int": "integer", "float": "real", "binary": "varbinary",
              "timestamp": "timestamp(3)"}
    return simple.get(low, low)


def _split_top(text: str) -> list[str]:
    """Splits on commas outside <> and ()."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _glue_table(glue: GlueBackend, database: str, table: str) -> dict[str, Any] | None:
    """Glue's GetTable answer for database.table, or None."""
    db = glue.databases.get(database)
    found = db.tables.get(table) if db else None
    return found.as_dict() if found else None


def view_table_input(glue: GlueBackend, ddl: ViewDdl, context_database: str) -> dict[str, Any]:
    """The Glue table Athena writes for a view. Its columns are those of the
    first FROM table when Glue has it (the select list is not analysed)."""
    columns: list[dict[str, str]] = []
    source = _FROM_TABLE.search(ddl.select)
    if source:
        parts = _name_parts(source.group("name"))[-2:]
        table = _glue_table(glue, parts[0] if len(parts) == 2 else context_database, parts[-1])
        if table:
            columns = [{"Name": c["Name"], "Type": c["Type"]}
                       for c in table.get("StorageDescriptor", {}).get("Columns", []) + table.get("PartitionKeys", [])]
    definition = {
        "originalSql": ddl.select,
        "catalog": CATALOG,
        "schema": ddl.database,
        "columns": [{"name": c["Name"], "type": presto_type(c["Type"])} for c in columns],
    }
    encoded = base64.b64encode(json.dumps(definition, separators=(",", ":")).encode()).decode()
    return {
        "Name": ddl.name,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": f"/* Presto View: {encoded} */",
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {"Columns": columns, "Location": "", "Compressed": False, "NumberOfBuckets": 0,
                              "SerdeInfo": {}, "SortColumns": [], "StoredAsSubDirectories": False},
        "PartitionKeys": [],
        "Retention": 0,
    }


def apply_view_ddl(backend: AthenaBackend, ddl: ViewDdl, context_database: str) -> tuple[str, str | None]:
    """Runs the statement against Glue as Athena (Trino's Hive connector) would:
    (state, StateChangeReason)."""
    glue = glue_backends[backend.account_id][backend.region_name]
    existing = _glue_table(glue, ddl.database, ddl.name)
    is_view = existing is not None and existing.get("TableType") == "VIRTUAL_VIEW"
    if ddl.drop:
        if is_view:
            glue.delete_table(ddl.database, ddl.name)
        elif not ddl.if_exists:
            return "FAILED", f"TABLE_NOT_FOUND: line 1:1: View '{CATALOG}.{ddl.database}.{ddl.name}' does not exist"
        return "SUCCEEDED", None
    if ddl.database not in glue.databases:
        return "FAILED", f"SCHEMA_NOT_FOUND: line 1:1: Schema '{ddl.database}' does not exist"
    if existing is not None and not (ddl.replace and is_view):
        return "FAILED", f"ALREADY_EXISTS: View already exists: '{ddl.database}.{ddl.name}'"
    table_input = view_table_input(glue, ddl, context_database)
    if existing is None:
        glue.create_table(ddl.database, ddl.name, table_input)
    else:
        glue.update_table(ddl.database, ddl.name, table_input)
    return "SUCCEEDED", None


# ----------------------------------------------------------------------------
# Athena: executions whose end is decided here


class ControlledExecution(Execution):
    """An execution of view DDL, or one an Athena fault matched: RUNNING until
    its due time, then `outcome` decides its state once (and applies any DDL).
    moto's StopQueryExecution sets `status = "CANCELLED"`: before the due time
    that cancels it and the outcome never runs; afterwards it changes nothing."""

    def __init__(self, *, running_s: float, outcome: Callable[[Execution], tuple[str, str | None]],
                 **kwargs: Any):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._due = time.monotonic() + running_s
        self._outcome = outcome
        self._state: str | None = None
        self.reason: str | None = None
        self.end_time = None

    def _finish(self, state: str, reason: str | None) -> None:
        self._state, self.reason, self.end_time = state, reason, time.time()

    def settle(self) -> None:
        """Ends the execution if it is due (callers hold no lock)."""
        with self._lock:
            if self._state is None and time.monotonic() >= self._due:
                self._finish(*self._outcome(self))

    @property
    def status(self) -> str:
        self.settle()
        return self._state or "RUNNING"

    @status.setter
    def status(self, value: str) -> None:
        self.settle()
        with self._lock:
            if self._state is None:
                self._finish(value, None)


_original_get_query_results = AthenaBackend.get_query_results
_original_get_query_execution_response = AthenaResponse.get_query_execution


def _start_query_execution(self: AthenaBackend, query: str, context: dict[str, Any] | None,
                           config: dict[str, Any] | None, workgroup: str | None,
                           execution_parameters: list[str] | None) -> str:
    # AWS writes results to the workgroup's output location unless the request
    # names one (or the workgroup enforces its own); moto only used the request's.
    wg = self.work_groups.get(workgroup or "primary")
    wg_config = (wg.configuration if wg else {}).get("ResultConfiguration") or {}
    if "OutputLocation" in wg_config and (
            not (config or {}).get("OutputLocation") or wg.configuration.get("EnforceWorkGroupConfiguration")):
        config = {**(config or {}), "OutputLocation": wg_config["OutputLocation"]}

    context_database = ((context or {}).get("Database") or "default").lower()
    fault = CONTROLS.take_athena_fault(query)
    ddl = parse_view_ddl(query, context_database)
    backend = self

    def outcome(execution: Execution) -> tuple[str, str | None]:
        if fault is not None and fault.state is not None:
            return fault.state, fault.reason
        if isinstance(ddl, str):
            return "FAILED", ddl
        if ddl is not None:
            return apply_view_ddl(backend, ddl, context_database)
        # Any other statement is executed (DuckDB over the Parquet in S3).
        try:
            result = athena_engine.execute(backend.account_id, backend.region_name, query, context_database)
        except athena_engine.AthenaQueryError as err:
            return "FAILED", err.reason
        except Exception as err:  # noqa: BLE001 - an emulator bug surfaces as Athena's internal error
            return "FAILED", f"GENERIC_INTERNAL_ERROR: {type(err).__name__}: {err}"
        execution.outcome = result
        _write_result_csv(backend, execution, result)
        return "SUCCEEDED", None

    execution = ControlledExecution(
        running_s=fault.running_ms / 1000 if fault else 0, outcome=outcome, query=query, context=context,
        config=config, workgroup=self.work_groups.get(workgroup), execution_parameters=execution_parameters)
    execution.statement_type = "DDL" if ddl is not None else "DML"
    self.executions[execution.id] = execution
    execution.settle()
    return execution.id


def _write_result_csv(backend: AthenaBackend, execution: Execution, result: Any) -> None:
    """Athena writes `<OutputLocation>/<id>.csv`; moto made the config's
    OutputLocation that full path already."""
    location = (execution.config or {}).get("OutputLocation")
    if not location:
        return
    bucket, key = athena_engine.parse_s3_url(location)
    s3_backends[backend.account_id]["aws"].put_object(
        bucket_name=bucket, key_name=key, value=athena_engine.result_csv(result))


def _get_query_results(self: AthenaBackend, exec_id: str) -> Any:
    execution = self.executions.get(exec_id)
    if not isinstance(execution, ControlledExecution):
        return _original_get_query_results(self, exec_id)
    state = execution.status
    if state == "FAILED":
        # Athena answers with the query's failure reason.
        raise JsonRESTError("InvalidRequestException", execution.reason or "Query failed")
    if state != "SUCCEEDED":
        raise JsonRESTError("InvalidRequestException", f"Query has not yet finished. Current state: {state}")
    result = getattr(execution, "outcome", None)
    if result is None:  # DDL: no rows
        return QueryResults(rows=[], column_info=[])
    header = {"Data": [{"VarCharValue": c["Name"]} for c in result.columns]}
    rows = [header] + [{"Data": [{} if v is None else {"VarCharValue": v} for v in r]} for r in result.rows]
    return QueryResults(rows=rows, column_info=result.columns)


ATHENA_RESULTS_PAGE = 1000  # GetQueryResults' largest page in AWS


def _get_query_results_response(self: AthenaResponse) -> str:
    """GetQueryResults paged as AWS pages it (moto returns every row at once):
    at most MaxResults rows (1-1000, default 1000), NextToken to go on."""
    exec_id = self._get_param("QueryExecutionId")
    max_results = self._get_param("MaxResults") or ATHENA_RESULTS_PAGE
    if not 1 <= int(max_results) <= ATHENA_RESULTS_PAGE:
        raise JsonRESTError("InvalidRequestException",
                            f"MaxResults must be between 1 and {ATHENA_RESULTS_PAGE}")
    token = self._get_param("NextToken")
    start = int(token) if token and token.isdigit() else 0
    answer = self.athena_backend.get_query_results(exec_id).to_dict()
    rows = answer["ResultSet"]["Rows"]
    end = start + int(max_results)
    answer["ResultSet"]["Rows"] = rows[start:end]
    if end < len(rows):
        answer["NextToken"] = str(end)
    return json.dumps(answer)


def _get_query_execution_response(self: AthenaResponse) -> str:
    body = _original_get_query_execution_response(self)
    execution = self.athena_backend.executions[self._get_param("QueryExecutionId")]
    if not isinstance(execution, ControlledExecution):
        return body
    answer = json.loads(body)
    status = answer["QueryExecution"]["Status"]
    status["State"] = execution.status
    if status["State"] == "RUNNING":
        del status["CompletionDateTime"]
    else:
        status["CompletionDateTime"] = execution.end_time
    if execution.reason is not None:
        status["StateChangeReason"] = execution.reason
    answer["QueryExecution"]["StatementType"] = getattr(execution, "statement_type", "DML")
    result = getattr(execution, "outcome", None)
    if result is not None:
        stats = answer["QueryExecution"]["Statistics"]
        stats["DataScannedInBytes"] = result.scanned_bytes
        stats["EngineExecutionTimeInMillis"] = result.engine_ms
        stats["TotalExecutionTimeInMillis"] = result.engine_ms
    if status["State"] == "FAILED":
        status["AthenaError"] = {"ErrorCategory": 2, "Retryable": False,  # 2: a user error
                                 "ErrorMessage": execution.reason}
    return json.dumps(answer)


# ----------------------------------------------------------------------------
# Cost Explorer


def _ce_answer(self: CostExplorerResponse, operation: str, compute: Callable[[dict[str, Any], str], Any]) -> str:
    try:
        params = json.loads(self.body or "{}")
    except ValueError:
        raise JsonRESTError("SerializationException", "Start of structure or map found where not expected") from None
    try:
        return json.dumps(compute(params, self.current_account))
    except ce_engine.CeError as err:
        error = JsonRESTError(err.code, err.message)
        error.code = err.status
        raise error from None


def _get_cost_forecast(self: CostExplorerResponse) -> str:
    def compute(params: dict[str, Any], caller: str) -> Any:
        ce_engine.validate_shape("GetCostForecast", params)
        canned = CONTROLS.forecast_for(caller, self.body)
        return canned if canned is not None else ce_engine.get_cost_forecast(params, caller)

    return _ce_answer(self, "GetCostForecast", compute)


def _get_cost_and_usage(self: CostExplorerResponse) -> str:
    return _ce_answer(self, "GetCostAndUsage", ce_engine.get_cost_and_usage)


def _get_dimension_values(self: CostExplorerResponse) -> str:
    return _ce_answer(self, "GetDimensionValues", ce_engine.get_dimension_values)


_original_ce_call_action = CostExplorerResponse.call_action


def _ce_call_action(self: CostExplorerResponse) -> Any:
    try:
        params = json.loads(self.body) if self.body else {}
    except ValueError:
        params = self.body
    fault = CONTROLS.record_ce_request(self._get_action(), params)
    if fault is not None:
        error = JsonRESTError(fault["code"], fault["message"])
        error.code = fault["status"]
        raise error
    return _original_ce_call_action(self)


# ----------------------------------------------------------------------------
# Organizations


ORGANIZATIONS_MAX_RESULTS = 20  # the model's MaxResults range is 1..20 for every operation


def _checked_max_results(method: Callable[[OrganizationsResponse], str]) -> Callable[[OrganizationsResponse], str]:
    def checked(self: OrganizationsResponse) -> str:
        value = self.request_params.get("MaxResults")
        if value is None or (type(value) is int and 1 <= value <= ORGANIZATIONS_MAX_RESULTS):
            return method(self)
        if type(value) is int and value < 1:
            error = InvalidInputException("You provided a value that is less than the minimum allowed value.")
            error.Reason = "MIN_VALUE_EXCEEDED"
        else:
            error = InvalidInputException("You provided a value that exceeds the maximum allowed value.")
            error.Reason = "MAX_VALUE_EXCEEDED"
        raise error

    checked.__name__ = method.__name__
    return checked


# ----------------------------------------------------------------------------


_original_reset = MotoAPIBackend.reset


def _reset(self: MotoAPIBackend) -> None:
    _original_reset(self)
    CONTROLS.clear()
    ram_emulator.STORE.clear()  # its config, like ce-config, survives


def install() -> None:
    """Applies every patch; call once, before moto's server handles a request."""
    for name, handlers in CONTROL_ROUTES.items():
        moto_api_urls.url_paths[f"{{0}}{CONTROL_PREFIX}/{name}"] = _control(name, handlers)
    MotoAPIBackend.reset = _reset

    AthenaBackend.start_query_execution = _start_query_execution
    AthenaBackend.get_query_results = _get_query_results
    AthenaResponse.get_query_execution = _get_query_execution_response
    AthenaResponse.get_query_results = _get_query_results_response

    ram_emulator.install()

    CostExplorerResponse.call_action = _ce_call_action
    CostExplorerResponse.get_cost_forecast = _get_cost_forecast
    CostExplorerResponse.get_cost_and_usage = _get_cost_and_usage
    CostExplorerResponse.get_dimension_values = _get_dimension_values

    # moto pages ListAccounts by 100 when MaxResults is absent; AWS by 20.
    organizations_utils.PAGINATION_MODEL["list_accounts"]["limit_default"] = ORGANIZATIONS_MAX_RESULTS
    for name in dir(OrganizationsResponse):
        if name.startswith("list_"):
            setattr(OrganizationsResponse, name, _checked_max_results(getattr(OrganizationsResponse, name)))
