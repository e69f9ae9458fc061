"""Cost Explorer for the emulated payer, inside moto's process: GetCostAndUsage,
GetDimensionValues and GetCostForecast computed from the payer's CUR (the Glue
table `up` seeds, read through athena_engine, so Athena and Cost Explorer see
the same rows), through a billing view resolved with the billing emulator.

- Requests are validated against botocore's Cost Explorer model (required
  members, enums, patterns, lengths, ranges), worded as AWS words it.
- `BillingViewArn`: none = the whole payer (the caller's own primary view
  likewise); a custom view applies its `dataFilterExpression` (LINKED_ACCOUNT
  values, tags, cost categories, time range) over the union of its source
  views; an unknown ARN -> ResourceNotFoundException, a view that is not
  HEALTHY -> BillingViewHealthStatusException, another account's view whose
  resource policy does not grant the caller `billing:GetBillingViewData` (RAM
  writes it for a share's principals) -> AccessDeniedException.
- Metrics -> CUR columns (`METRICS`), buckets on `line_item_usage_start_date`
  (DAILY, MONTHLY; the first/last bucket cut to the period), at most 2 GroupBy
  (DIMENSION: `DIMENSIONS`; TAG k -> `resource_tags['user_' || k]`, keys
  `k$value`; COST_CATEGORY k -> `cost_category[k]`), Filter (Dimensions, Tags,
  CostCategories with EQUALS / ABSENT / STARTS_WITH / ENDS_WITH / CONTAINS /
  CASE_INSENSITIVE, And, Or, Not), NextPageToken paging (`page_size` entries).
- `Estimated`: true for a bucket in the open month, and in the previous month
  until day `estimated_until_day` of this one.
"""
from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import json
import re
import threading
import urllib.request
from typing import Any

import athena_engine
from billing_emulator import policy_grants  # stdlib only; the same reading of a policy

CUR_TABLE = "awsdatacatalog.{db}.{table}"

# Cost Explorer metric -> SQL over the CUR (amortized: the effective cost of
# covered usage, 0 for the negation and the upfront/RI fees, else unblended).
_AMORTIZED = ("CASE line_item_line_item_type WHEN 'SavingsPlanCoveredUsage' THEN COALESCE({sp}, 0) "
              "WHEN 'DiscountedUsage' THEN COALESCE({ri}, 0) WHEN 'SavingsPlanNegation' THEN 0 "
              "WHEN 'SavingsPlanUpfrontFee' THEN 0 WHEN 'RIFee' THEN 0 ELSE COALESCE({plain}, 0) END")
METRICS = {
    "UnblendedCost": ("COALESCE(line_item_unblended_cost, 0)", "USD"),
    "NetUnblendedCost": ("COALESCE(line_item_net_unblended_cost, line_item_unblended_cost, 0)", "USD"),
    "BlendedCost": ("COALESCE(line_item_blended_cost, 0)", "USD"),
    "AmortizedCost": (_AMORTIZED.format(sp="savings_plan_savings_plan_effective_cost", ri="reservation_effective_cost",
                                        plain="line_item_unblended_cost"), "USD"),
    "NetAmortizedCost": (_AMORTIZED.format(sp="savings_plan_net_savings_plan_effective_cost",
                                           ri="reservation_net_effective_cost",
                                           plain="line_item_net_unblended_cost"), "USD"),
    "UsageQuantity": ("COALESCE(line_item_usage_amount, 0)", "N/A"),
    "NormalizedUsageAmount": ("COALESCE(line_item_normalized_usage_amount, 0)", "N/A"),
}
FORECAST_METRICS = {"AMORTIZED_COST": "AmortizedCost", "BLENDED_COST": "BlendedCost",
                    "NET_AMORTIZED_COST": "NetAmortizedCost", "NET_UNBLENDED_COST": "NetUnblendedCost",
                    "UNBLENDED_COST": "UnblendedCost"}
# Cost Explorer dimension -> SQL over the CUR.
DIMENSIONS = {
    "LINKED_ACCOUNT": "line_item_usage_account_id",
    "LINKED_ACCOUNT_NAME": "line_item_usage_account_name",
    "PAYER_ACCOUNT": "bill_payer_account_id",
    "SERVICE": ("CASE WHEN line_item_line_item_type = 'Tax' THEN 'Tax' "
                "ELSE COALESCE(product['product_name'], line_item_product_code) END"),
    "SERVICE_CODE": "line_item_product_code",
    "REGION": "CASE WHEN COALESCE(product_region_code, '') = '' THEN 'NoRegion' ELSE product_region_code END",
    "USAGE_TYPE": "line_item_usage_type",
    "RECORD_TYPE": "line_item_line_item_type",
    "OPERATION": "line_item_operation",
    "INSTANCE_TYPE": "product_instance_type",
    "AZ": "line_item_availability_zone",
    "BILLING_ENTITY": "bill_billing_entity",
    "LEGAL_ENTITY_NAME": "line_item_legal_entity",
    "INVOICING_ENTITY": "bill_invoicing_entity",
    "RESOURCE_ID": "line_item_resource_id",
}
TAG_COLUMN = "resource_tags"  # CUR 2.0: user tag `k` is the key `user_k`
TAG_PREFIX = "user_"
MAX_GROUP_BY = 2


class CeError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, **fields: Any):
        super().__init__(message)
        self.code, self.message, self.status, self.fields = code, message, status, fields


def validation(message: str) -> CeError:
    return CeError("ValidationException", message)


# ----------------------------------------------------------------------------
# Configuration (set by `up` through POST /moto-api/costcarve/ce-config)


class Config:
    KEYS = {"billing_url": (str, type(None)), "payer_account_id": str, "region": str, "cur_database": str,
            "cur_table": str, "page_size": int, "estimated_until_day": int, "today": (str, type(None))}

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, Any] = {"billing_url": None, "payer_account_id": "123456789012",
                                       "region": "us-east-1", "cur_database": None, "cur_table": None,
                                       "page_size": 1000, "estimated_until_day": 5, "today": None}

    def update(self, patch: Any) -> dict[str, Any]:
        if not isinstance(patch, dict):
            raise ValueError("expected a JSON object")
        unknown = set(patch) - set(self.KEYS)
        if unknown:
            raise ValueError(f"unknown ce-config keys: {sorted(unknown)}")
        for key, value in patch.items():
            if not isinstance(value, self.KEYS[key]) or isinstance(value, bool):
                raise ValueError(f"'{key}' has the wrong type")
        if "page_size" in patch and patch["page_size"] < 1:
            raise ValueError("'page_size' must be >= 1")
        if "estimated_until_day" in patch and not 0 <= patch["estimated_until_day"] <= 31:
            raise ValueError("'estimated_until_day' must be 0..31")
        if patch.get("billing_url") and not re.fullmatch(r"http://127\.0\.0\.1:\d+", patch["billing_url"]):
            raise ValueError("'billing_url' must be http://127.0.0.1:PORT")
        if patch.get("today"):
            dt.date.fromisoformat(patch["today"])
        with self.lock:
            self.values.update(patch)
            return dict(self.values)

    def get(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.values)


CONFIG = Config()


def today(cfg: dict[str, Any]) -> dt.date:
    return dt.date.fromisoformat(cfg["today"]) if cfg.get("today") else dt.datetime.now(dt.timezone.utc).date()


# ----------------------------------------------------------------------------
# Request validation against botocore's model


_MODEL = None


def model():
    global _MODEL
    if _MODEL is None:
        import botocore.session

        _MODEL = botocore.session.get_session().get_service_model("ce")
    return _MODEL


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def shape_errors(operation: str, params: Any) -> list[str]:
    errors: list[str] = []

    def bad(value: Any, where: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        errors.append(f"Value {shown} at '{where}' failed to satisfy constraint: {constraint}")

    def walk(shape: Any, value: Any, path: str) -> None:
        kind = shape.type_name
        meta = shape.metadata
        if kind == "structure":
            if not isinstance(value, dict):
                raise validation(f"Expected an object at '{path or 'request'}'")
            for key, member in shape.members.items():  # in the model's order, as AWS reports them
                where = f"{path}.{_lower_first(key)}" if path else _lower_first(key)
                if value.get(key) is None:
                    if key in shape.required_members:
                        bad(None, where, "Member must not be null")
                else:
                    walk(member, value[key], where)
        elif kind == "list":
            if not isinstance(value, list):
                raise validation(f"Expected a list at '{path}'")
            if "max" in meta and len(value) > meta["max"]:
                bad(None, path, f"Member must have length less than or equal to {meta['max']}")
            if "min" in meta and len(value) < meta["min"]:
                bad(None, path, f"Member must have length greater than or equal to {meta['min']}")
            for i, item in enumerate(value):
                walk(shape.member, item, f"{path}.{i + 1}.member")
        elif kind == "map":
            if not isinstance(value, dict):
                raise validation(f"Expected an object at '{path}'")
            for k, v in value.items():
                walk(shape.key, k, f"{path}.{k}.key")
                walk(shape.value, v, f"{path}.{k}.value")
        elif kind == "string":
            if not isinstance(value, str):
                raise validation(f"Expected a string at '{path}'")
            if "enum" in meta and value not in meta["enum"]:
                bad(value, path, f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]")
            elif "pattern" in meta and not re.search(meta["pattern"], value):
                bad(value, path, f"Member must satisfy regular expression pattern: {meta['pattern']}")
            if "max" in meta and len(value) > meta["max"]:
                bad(value, path, f"Member must have length less than or equal to {meta['max']}")
            if "min" in meta and len(value) < meta["min"]:
                bad(value, path, f"Member must have length greater than or equal to {meta['min']}")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise validation(f"Expected an integer at '{path}'")
            if "min" in meta and value < meta["min"]:
                bad(value, path, f"Member must have value greater than or equal to {meta['min']}")
            if "max" in meta and value > meta["max"]:
                bad(value, path, f"Member must have value less than or equal to {meta['max']}")
        elif kind == "boolean" and not isinstance(value, bool):
            raise validation(f"Expected a boolean at '{path}'")

    walk(model().operation_model(operation).input_shape, params, "")
    return errors


def validate_shape(operation: str, params: Any) -> None:
    errors = shape_errors(operation, params)
    if errors:
        count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
        raise validation(f"{count}: {'; '.join(errors)}")


def check_output(operation: str, body: dict[str, Any]) -> None:
    """An answer that breaks the model's output shape is an emulator bug."""
    errors: list[str] = []
    shape = model().operation_model(operation).output_shape

    def walk(s: Any, v: Any, path: str) -> None:
        if s.type_name == "structure":
            if not isinstance(v, dict):
                errors.append(f"{path}: not an object")
                return
            for req in s.required_members:
                if req not in v:
                    errors.append(f"{path}.{req}: missing")
            for k, item in v.items():
                if k not in s.members:
                    errors.append(f"{path}.{k}: not in the model")
                elif item is not None:
                    walk(s.members[k], item, f"{path}.{k}")
        elif s.type_name == "list":
            if not isinstance(v, list):
                errors.append(f"{path}: not a list")
                return
            for i, item in enumerate(v):
                walk(s.member, item, f"{path}[{i}]")
        elif s.type_name == "map":
            if not isinstance(v, dict):
                errors.append(f"{path}: not a map")
                return
            for k, item in v.items():
                walk(s.value, item, f"{path}.{k}")
        elif s.type_name == "string" and not isinstance(v, str):
            errors.append(f"{path}: not a string")
        elif s.type_name == "boolean" and not isinstance(v, bool):
            errors.append(f"{path}: not a boolean")
        elif s.type_name in ("integer", "long") and (isinstance(v, bool) or not isinstance(v, int)):
            errors.append(f"{path}: not an integer")

    walk(shape, body, operation)
    if errors:
        raise CeError("InternalServerException", f"emulator bug, answer breaks the model: {'; '.join(errors[:5])}",
                      status=500)


def _dates(period: dict[str, str]) -> tuple[dt.date, dt.date]:
    out = []
    for key in ("Start", "End"):
        text = period[key]
        try:
            out.append(dt.date.fromisoformat(text[:10]))
        except ValueError:
            raise validation(f"Invalid {key.lower()} date: {text}") from None
    if out[0] >= out[1]:
        raise validation(f"Requested Start: {period['Start']} must be before requested End: {period['End']}")
    return out[0], out[1]


# ----------------------------------------------------------------------------
# The billing view: which rows a request sees


def _billing_state(cfg: dict[str, Any]) -> dict[str, Any]:
    url = cfg.get("billing_url")
    if not url:
        raise CeError("DataUnavailableException", "The emulator has no billing emulator configured "
                      "(POST /moto-api/costcarve/ce-config {\"billing_url\": ...})")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"{url}/_emulator/state", timeout=10) as resp:
        return json.loads(resp.read())


class Sql:
    """A WHERE fragment with its parameters."""

    def __init__(self, text: str = "TRUE", params: list[Any] | None = None):
        self.text, self.params = text, list(params or [])

    @staticmethod
    def join(op: str, parts: list["Sql"]) -> "Sql":
        if not parts:
            return Sql("TRUE" if op == "AND" else "FALSE")
        return Sql("(" + f" {op} ".join(p.text for p in parts) + ")", [x for p in parts for x in p.params])


def _in(column: str, values: list[str]) -> Sql:
    if not values:
        return Sql("FALSE")
    return Sql(f"{column} IN ({', '.join('?' for _ in values)})", values)


def view_filter(arn: str | None, caller: str, cfg: dict[str, Any]) -> Sql:
    """The rows a request through `arn` may see (raises CE's errors)."""
    payer = cfg["payer_account_id"]
    if arn is None:
        return Sql() if caller == payer else _in("line_item_usage_account_id", [caller])
    state = _billing_state(cfg)
    views = {v["arn"]: v for v in state.get("views", [])}
    m = re.fullmatch(r"arn:aws[a-z-]*:billing::(\d{12}):billingview/(.+)", arn)
    if m and m.group(2) == "primary" and arn not in views:
        views[arn] = {"arn": arn, "billingViewType": "PRIMARY", "ownerAccountId": m.group(1),
                      "healthStatus": {"statusCode": "HEALTHY"}, "sourceViews": []}
    view = views.get(arn)
    if view is None:
        raise CeError("ResourceNotFoundException", f"Billing view {arn} not found", ResourceName=arn)
    if view.get("ownerAccountId") != caller and not policy_grants(view.get("policy"), caller,
                                                                  "billing:GetBillingViewData", arn):
        raise CeError("AccessDeniedException",
                      f"User: arn:aws:iam::{caller}:root is not authorized to perform: ce:GetCostAndUsage on "
                      f"resource: {arn}")
    health = view.get("healthStatus") or {}
    if health.get("statusCode") != "HEALTHY":
        reasons = ", ".join(health.get("statusReasons") or [])
        raise CeError("BillingViewHealthStatusException",
                      f"Billing view {arn} is {health.get('statusCode')}"
                      + (f" ({reasons})" if reasons else "") + "; it can be used once it is HEALTHY")

    def rows_of(v: dict[str, Any], depth: int) -> Sql:
        if v.get("billingViewType") == "PRIMARY":
            owner = v.get("ownerAccountId")
            return Sql() if owner == payer else _in("line_item_usage_account_id", [owner])
        if depth > 20:
            return Sql("FALSE")
        sources = [rows_of(views[s], depth + 1) if s in views else Sql("FALSE") for s in v.get("sourceViews", [])]
        parts = [Sql.join("OR", sources)] if sources else []
        expr = v.get("dataFilterExpression") or {}
        dims = expr.get("dimensions")
        if dims:
            column = DIMENSIONS.get(dims.get("key"), "NULL")
            parts.append(_in(column, list(dims.get("values", []))))
        tags = expr.get("tags")
        if tags:
            parts.append(_keyed(f"{TAG_COLUMN}['{TAG_PREFIX}' || ?]", tags.get("key", ""),
                                {"Values": list(tags.get("values", []))}))
        cats = expr.get("costCategories")
        if cats:
            parts.append(_keyed("cost_category[?]", cats.get("key", ""), {"Values": list(cats.get("values", []))}))
        rng = expr.get("timeRange")
        if rng:
            if rng.get("beginDateInclusive") is not None:
                parts.append(Sql("line_item_usage_start_date >= to_timestamp(?)::TIMESTAMP",
                                 [float(rng["beginDateInclusive"])]))
            if rng.get("endDateInclusive") is not None:
                parts.append(Sql("line_item_usage_start_date <= to_timestamp(?)::TIMESTAMP",
                                 [float(rng["endDateInclusive"])]))
        return Sql.join("AND", parts)

    return rows_of(view, 0)


# ----------------------------------------------------------------------------
# Expressions


def _match(column: str, values: list[str], options: list[str]) -> Sql:
    opts = set(options or ["EQUALS"])
    if "ABSENT" in opts:
        return Sql(f"({column} IS NULL OR {column} = '')")
    ci = "CASE_INSENSITIVE" in opts
    col = f"lower({column})" if ci else column
    vals = [v.lower() for v in values] if ci else list(values)
    if "STARTS_WITH" in opts:
        return Sql.join("OR", [Sql(f"starts_with({col}, ?)", [v]) for v in vals])
    if "ENDS_WITH" in opts:
        return Sql.join("OR", [Sql(f"suffix({col}, ?)", [v]) for v in vals])
    if "CONTAINS" in opts:
        return Sql.join("OR", [Sql(f"contains({col}, ?)", [v]) for v in vals])
    if "GREATER_THAN_OR_EQUAL" in opts:
        raise validation("MatchOption GREATER_THAN_OR_EQUAL is not supported for these dimensions")
    return _in(col, vals)


def dimension_sql(key: str) -> str:
    if key not in DIMENSIONS:
        raise validation(f"Dimension {key} is not supported by the emulator in this context; "
                         f"supported: {', '.join(sorted(DIMENSIONS))}")
    return DIMENSIONS[key]


def expression_sql(expr: dict[str, Any], path: str = "Filter") -> Sql:
    roots = [k for k in ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories", "ProductAttributes")
             if expr.get(k) is not None]
    if len(roots) != 1:
        raise validation(f"Expression {path} must have exactly one root of And, Or, Not, Dimensions, Tags, "
                         f"CostCategories; got {len(roots)}")
    kind = roots[0]
    value = expr[kind]
    if kind in ("And", "Or"):
        if len(value) < 2:
            raise validation(f"{path}.{kind} must have at least 2 expressions")
        return Sql.join(kind.upper(), [expression_sql(e, f"{path}.{kind}[{i}]") for i, e in enumerate(value)])
    if kind == "Not":
        inner = expression_sql(value, f"{path}.Not")
        return Sql(f"(NOT COALESCE({inner.text}, FALSE))", inner.params)
    if kind == "Dimensions":
        if not value.get("Key"):
            raise validation(f"{path}.Dimensions.Key is required")
        return _match(dimension_sql(value["Key"]), value.get("Values", []), value.get("MatchOptions", []))
    if kind == "Tags":
        return _keyed(f"{TAG_COLUMN}['{TAG_PREFIX}' || ?]", value.get("Key") or "", value)
    if kind == "CostCategories":
        return _keyed("cost_category[?]", value.get("Key") or "", value)
    raise validation(f"{path}.ProductAttributes is not supported by the emulator")


def _keyed(column: str, key: str, value: dict[str, Any]) -> Sql:
    """A match on a map entry: the key parameter goes before each use of the column."""
    opts = value.get("MatchOptions", [])
    s = _match("§COL§", value.get("Values", []), opts)
    params: list[Any] = []
    pieces = s.text.split("§COL§")
    text = pieces[0]
    it = iter(s.params)
    for piece in pieces[1:]:
        text += column + piece
        params.append(key)
        params.extend(next(it) for _ in range(piece.count("?")))
    return Sql(text, params)


def group_sql(group: dict[str, Any]) -> tuple[str, list[Any]]:
    kind, key = group.get("Type"), group.get("Key")
    if not kind or not key:
        raise validation("GroupBy needs Type and Key")
    if kind == "DIMENSION":
        return f"COALESCE({dimension_sql(key)}, '')", []
    if kind == "TAG":
        return f"(? || '$' || COALESCE({TAG_COLUMN}['{TAG_PREFIX}' || ?], ''))", [key, key]
    if kind == "COST_CATEGORY":
        return "(? || '$' || COALESCE(cost_category[?], ''))", [key, key]
    raise validation(f"GroupBy type {kind} is not supported by the emulator")


# ----------------------------------------------------------------------------
# Buckets


def _next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


def buckets(start: dt.date, end: dt.date, granularity: str) -> list[tuple[dt.date, dt.date]]:
    out, cursor = [], start
    while cursor < end:
        following = cursor + dt.timedelta(days=1) if granularity == "DAILY" else _next_month(cursor)
        following = min(following, end)
        out.append((cursor, following))
        cursor = following
    return out


def estimated(bucket_start: dt.date, cfg: dict[str, Any]) -> bool:
    now = today(cfg)
    this_month = dt.date(now.year, now.month, 1)
    month = dt.date(bucket_start.year, bucket_start.month, 1)
    if month >= this_month:
        return True
    previous = dt.date(this_month.year - (this_month.month == 1), (this_month.month - 2) % 12 + 1, 1)
    return month == previous and now.day <= cfg["estimated_until_day"]


def _amount(x: float | None) -> str:
    text = f"{(x or 0.0):.10f}"
    return "0" if float(text) == 0 else text


# ----------------------------------------------------------------------------
# Running SQL over the CUR


def _run(cfg: dict[str, Any], select: str, where: Sql, start: dt.date, end: dt.date, tail: str = "",
         extra_params: list[Any] | None = None) -> list[tuple]:
    if not cfg.get("cur_database") or not cfg.get("cur_table"):
        raise CeError("DataUnavailableException", "Data is not available: the emulator has no CUR configured")
    session = athena_engine.Session(athena_engine.Catalog(cfg["payer_account_id"], cfg["region"]))
    try:
        session.define(cfg["cur_database"], cfg["cur_table"])
        table = f'awsdatacatalog."{cfg["cur_database"]}"."{cfg["cur_table"]}"'
        months = []
        m = dt.date(start.year, start.month, 1)
        while m < end:
            months.append(f"{m.year:04d}-{m.month:02d}")
            m = _next_month(m)
        sql = (f"SELECT {select} FROM {table} WHERE billing_period IN ({', '.join('?' for _ in months)}) "
               f"AND line_item_usage_start_date >= ?::TIMESTAMP AND line_item_usage_start_date < ?::TIMESTAMP "
               f"AND {where.text} {tail}")
        params = list(extra_params or []) + months + [start.isoformat(), end.isoformat()] + where.params
        return session.con.execute(sql, params).fetchall()
    except CeError:
        raise
    except athena_engine.AthenaQueryError as err:
        raise CeError("DataUnavailableException", f"Data is not available: {err.reason}") from None
    finally:
        session.close()


def _token(offset: int, params: dict[str, Any]) -> str:
    h = _request_hash(params)
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "h": h}).encode()).decode()


def _request_hash(params: dict[str, Any]) -> str:
    body = {k: v for k, v in params.items() if k != "NextPageToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _offset(params: dict[str, Any]) -> int:
    token = params.get("NextPageToken")
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset, h = int(data["o"]), data["h"]
    except (ValueError, KeyError, TypeError):
        raise CeError("InvalidNextTokenException", "The pagination token is invalid.") from None
    if h != _request_hash(params):
        raise CeError("RequestChangedException", "The request changed between pages; start again without a token.")
    return offset


# ----------------------------------------------------------------------------
# The operations


def get_cost_and_usage(params: dict[str, Any], caller: str) -> dict[str, Any]:
    validate_shape("GetCostAndUsage", params)
    cfg = CONFIG.get()
    start, end = _dates(params["TimePeriod"])
    granularity = params["Granularity"]
    if granularity == "HOURLY":
        raise validation("Hourly granularity is not enabled for this account (the emulator has daily data)")
    metrics = params["Metrics"]
    if not metrics:
        raise validation("Metrics must have at least one metric")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise validation(f"Invalid metrics: {', '.join(unknown)}; valid: {', '.join(METRICS)}")
    groups = params.get("GroupBy") or []
    if len(groups) > MAX_GROUP_BY:
        raise validation(f"GroupBy must have at most {MAX_GROUP_BY} entries; got {len(groups)}")
    offset = _offset(params)
    where = view_filter(params.get("BillingViewArn"), caller, cfg)
    if params.get("Filter"):
        where = Sql.join("AND", [where, expression_sql(params["Filter"])])

    bucket_expr = ("date_trunc('day', line_item_usage_start_date)" if granularity == "DAILY"
                   else "date_trunc('month', line_item_usage_start_date)")
    group_exprs = [group_sql(g) for g in groups]
    select = ", ".join([f"CAST({bucket_expr} AS DATE) AS bucket"] + [e for e, _ in group_exprs]
                       + [f"SUM({METRICS[m][0]})" for m in metrics])
    extra = [p for _, ps in group_exprs for p in ps]
    group_by = "GROUP BY " + ", ".join(str(i + 1) for i in range(1 + len(groups)))
    order = "ORDER BY " + ", ".join(str(i + 1) for i in range(1 + len(groups)))
    rows = _run(cfg, select, where, start, end, f"{group_by} {order}", extra)

    spans = buckets(start, end, granularity)

    def bucket_of(day: dt.date) -> int:
        for i, (s, e) in enumerate(spans):
            if s <= day < e:
                return i
        return -1

    per_bucket: dict[int, list[tuple]] = {}
    for r in rows:
        day = r[0] if isinstance(r[0], dt.date) else dt.date.fromisoformat(str(r[0])[:10])
        i = bucket_of(max(day, start))
        if i >= 0:
            per_bucket.setdefault(i, []).append(r)
    entries: list[tuple[int, Any]] = []  # (bucket, group keys + values) or (bucket, None) for an empty bucket
    for i in range(len(spans)):
        if not groups:
            entries.append((i, [r[1:] for r in per_bucket.get(i, [])]))
        elif per_bucket.get(i):
            # merge rows of one group that fell into the same (cut) bucket
            merged: dict[tuple, list[float]] = {}
            for r in per_bucket[i]:
                keys = tuple(r[1:1 + len(groups)])
                vals = merged.setdefault(keys, [0.0] * len(metrics))
                for j, v in enumerate(r[1 + len(groups):]):
                    vals[j] += v or 0.0
            entries.extend((i, (k, v)) for k, v in sorted(merged.items()))
        else:
            entries.append((i, None))

    page = cfg["page_size"]
    chunk = entries[offset:offset + page]
    results: dict[int, dict[str, Any]] = {}
    for i, item in chunk:
        s, e = spans[i]
        res = results.setdefault(i, {"TimePeriod": {"Start": s.isoformat(), "End": e.isoformat()},
                                     "Total": {}, "Groups": [], "Estimated": estimated(s, cfg)})
        if not groups:
            totals = [0.0] * len(metrics)
            for r in item:
                for j, v in enumerate(r):
                    totals[j] += v or 0.0
            res["Total"] = {m: {"Amount": _amount(totals[j]), "Unit": METRICS[m][1]} for j, m in enumerate(metrics)}
        elif item is not None:
            keys, vals = item
            res["Groups"].append({"Keys": [str(k) for k in keys], "Metrics": {
                m: {"Amount": _amount(vals[j]), "Unit": METRICS[m][1]} for j, m in enumerate(metrics)}})
    answer: dict[str, Any] = {"ResultsByTime": [results[i] for i in sorted(results)]}
    if groups:
        answer["GroupDefinitions"] = [{"Type": g["Type"], "Key": g["Key"]} for g in groups]
        if any(g["Type"] == "DIMENSION" and g["Key"] == "LINKED_ACCOUNT" for g in groups):
            answer["DimensionValueAttributes"] = _account_attributes(cfg, where, start, end)
    if offset + page < len(entries):
        answer["NextPageToken"] = _token(offset + page, params)
    check_output("GetCostAndUsage", answer)
    return answer


def _account_attributes(cfg: dict[str, Any], where: Sql, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    rows = _run(cfg, "line_item_usage_account_id, max(line_item_usage_account_name)", where, start, end,
                "GROUP BY 1 ORDER BY 1")
    return [{"Value": r[0], "Attributes": {"description": r[1] or ""}} for r in rows]


def get_dimension_values(params: dict[str, Any], caller: str) -> dict[str, Any]:
    validate_shape("GetDimensionValues", params)
    cfg = CONFIG.get()
    start, end = _dates(params["TimePeriod"])
    if params.get("Context", "COST_AND_USAGE") != "COST_AND_USAGE":
        raise validation(f"Context {params['Context']} is not supported by the emulator")
    if params.get("SortBy"):
        raise validation("SortBy is not supported by the emulator")
    column = dimension_sql(params["Dimension"])
    offset = _offset(params)
    where = view_filter(params.get("BillingViewArn"), caller, cfg)
    if params.get("Filter"):
        where = Sql.join("AND", [where, expression_sql(params["Filter"])])
    if params.get("SearchString"):
        where = Sql.join("AND", [where, Sql(f"contains(lower({column}), ?)", [params["SearchString"].lower()])])
    if params["Dimension"] == "LINKED_ACCOUNT":
        rows = _run(cfg, f"{column}, max(line_item_usage_account_name)", where, start, end,
                    f"AND {column} <> '' GROUP BY 1 ORDER BY 1")
        values = [{"Value": r[0], "Attributes": {"description": r[1] or ""}} for r in rows]
    else:
        rows = _run(cfg, f"DISTINCT {column}", where, start, end, f"AND COALESCE({column}, '') <> '' ORDER BY 1")
        values = [{"Value": str(r[0]), "Attributes": {}} for r in rows]
    size = min(params.get("MaxResults") or cfg["page_size"], cfg["page_size"])
    chunk = values[offset:offset + size]
    answer: dict[str, Any] = {"DimensionValues": chunk, "ReturnSize": len(chunk), "TotalSize": len(values)}
    if offset + size < len(values):
        answer["NextPageToken"] = _token(offset + size, params)
    check_output("GetDimensionValues", answer)
    return answer


FORECAST_HISTORY_DAYS = 28


def get_cost_forecast(params: dict[str, Any], caller: str) -> dict[str, Any]:
    """The mean daily cost of the last FORECAST_HISTORY_DAYS days before the
    forecast starts (through the view and the filter), per day of each bucket;
    the bounds ±10 % (at the default 80 % level; wider for higher levels)."""
    cfg = CONFIG.get()
    start, end = _dates(params["TimePeriod"])
    metric = FORECAST_METRICS.get(params["Metric"])
    if metric is None:
        raise validation(f"Unsupported metric {params['Metric']} for GetCostForecast; "
                         f"use one of {', '.join(FORECAST_METRICS)}")
    if params["Granularity"] not in ("DAILY", "MONTHLY"):
        raise validation("GetCostForecast supports only DAILY and MONTHLY granularity")
    where = view_filter(params.get("BillingViewArn"), caller, cfg)
    if params.get("Filter"):
        where = Sql.join("AND", [where, expression_sql(params["Filter"])])
    history_end = min(start, today(cfg))
    history_start = history_end - dt.timedelta(days=FORECAST_HISTORY_DAYS)
    rows = _run(cfg, f"SUM({METRICS[metric][0]})", where, history_start, history_end)
    daily = (rows[0][0] or 0.0) / FORECAST_HISTORY_DAYS if rows else 0.0
    level = params.get("PredictionIntervalLevel") or 80
    spread = 0.1 * (1 + (level - 80) / 20)
    results, total = [], 0.0
    for s, e in buckets(start, end, params["Granularity"]):
        mean = daily * (e - s).days
        total += mean
        results.append({"TimePeriod": {"Start": s.isoformat(), "End": e.isoformat()}, "MeanValue": _amount(mean),
                        "PredictionIntervalLowerBound": _amount(mean * (1 - spread)),
                        "PredictionIntervalUpperBound": _amount(mean * (1 + spread))})
    answer = {"Total": {"Amount": _amount(total), "Unit": "USD"}, "ForecastResultsByTime": results}
    check_output("GetCostForecast", answer)
    return answer


def days_in_month(d: dt.date) -> int:
    return calendar.monthrange(d.year, d.month)[1]
