"""Athena's engine for the emulated payer, inside moto's process: a query is
executed for real by DuckDB over the Parquet objects in moto's S3, with Glue
as the catalog, as Athena (Trino + the Hive connector) would run it.

- The statement is parsed as Trino SQL (sqlglot); one SELECT-like statement
  (SELECT, WITH, VALUES, set operations) is run, anything else ends FAILED.
- Every table it names is looked up in Glue (`awsdatacatalog`, the context
  database for unqualified names): an EXTERNAL_TABLE reads the objects under
  its Glue partitions' locations (partition values from Glue, not from the
  paths; no partitions: every object under the table's location), with the
  Glue columns (a column missing from the files reads NULL); a VIRTUAL_VIEW is
  expanded from its stored `originalSql` (the `/* Presto View: ... */` text), so
  a view that filters wrongly returns the wrong rows, as in AWS.
- The Trino text is translated to DuckDB's dialect by sqlglot.
- DataScannedInBytes is the size of the files DuckDB read (partition pruning
  included), from DuckDB's profile of the query.
- Failures raise `AthenaQueryError` with an Athena-like StateChangeReason
  (`SYNTAX_ERROR: line 1:8: ...`, `TABLE_NOT_FOUND`, `SCHEMA_NOT_FOUND`,
  `COLUMN_NOT_FOUND`, `FUNCTION_NOT_FOUND`, `NOT_SUPPORTED`, ...).
- Values come back as Athena prints them (Trino's text forms: doubles as
  Java's Double.toString, timestamps `YYYY-MM-DD HH:MM:SS.mmm`, maps `{k=v}`).

`Catalog` is also what the Cost Explorer emulation reads the CUR through.
"""
from __future__ import annotations

import atexit
import base64
import datetime as dt
import decimal
import fnmatch
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

CATALOG = "awsdatacatalog"
MAX_VIEW_DEPTH = 20


class AthenaQueryError(Exception):
    """A query Athena would end FAILED; `reason` is its StateChangeReason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class QueryOutcome:
    columns: list[dict[str, Any]]  # Athena ColumnInfo
    rows: list[list[str | None]]  # as Athena prints the values; None = NULL
    scanned_bytes: int
    engine_ms: int
    files_read: list[str] = field(default_factory=list)  # s3:// URLs


# ----------------------------------------------------------------------------
# Types


def duckdb_type(hive_type: str) -> str:
    """A Glue (Hive) column type as DuckDB's."""
    t = hive_type.strip()
    low = t.lower()
    if low.startswith("map<") and low.endswith(">"):
        k, v = _split_top(t[4:-1])
        return f"MAP({duckdb_type(k)}, {duckdb_type(v)})"
    if low.startswith("array<") and low.endswith(">"):
        return f"{duckdb_type(t[6:-1])}[]"
    if low.startswith("struct<") and low.endswith(">"):
        fields = [f.split(":", 1) for f in _split_top(t[7:-1])]
        return "STRUCT(" + ", ".join(f'"{n.strip()}" {duckdb_type(ft)}' for n, ft in fields) + ")"
    if low.startswith("decimal") or low.startswith("varchar") or low.startswith("char"):
        return low.upper() if low.startswith("decimal") else "VARCHAR"
    simple = {"string": "VARCHAR", "double": "DOUBLE", "float": "FLOAT", "bigint": "BIGINT", "int": "INTEGER",
              "integer": "INTEGER", "smallint": "SMALLINT", "tinyint": "TINYINT", "boolean": "BOOLEAN",
              "timestamp": "TIMESTAMP", "date": "DATE", "binary": "BLOB"}
    if low not in simple:
        raise AthenaQueryError(f"HIVE_INVALID_METADATA: Glue column type '{hive_type}' is not supported by the emulator")
    return simple[low]


def _split_top(text: str) -> list[str]:
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
    return [p.strip() for p in parts]


def athena_type(duck_type: str) -> tuple[str, int, int]:
    """A DuckDB result type as Athena's ColumnInfo (Type, Precision, Scale)."""
    t = str(duck_type).upper()
    if t.startswith("DECIMAL"):
        m = re.match(r"DECIMAL\((\d+),\s*(\d+)\)", t)
        p, s = (int(m.group(1)), int(m.group(2))) if m else (38, 0)
        return "decimal", p, s
    if t.startswith("MAP("):
        return "map", 0, 0
    if t.endswith("[]") or t.startswith("LIST"):
        return "array", 0, 0
    if t.startswith("STRUCT"):
        return "row", 0, 0
    if t.startswith("TIMESTAMP"):
        return ("timestamp with time zone" if "TIME ZONE" in t else "timestamp"), 3, 0
    simple = {"VARCHAR": ("varchar", 2147483647), "DOUBLE": ("double", 17), "FLOAT": ("real", 7),
              "BIGINT": ("bigint", 19), "HUGEINT": ("bigint", 19), "UBIGINT": ("bigint", 19),
              "INTEGER": ("integer", 10), "UINTEGER": ("bigint", 19), "SMALLINT": ("smallint", 5),
              "TINYINT": ("tinyint", 3), "BOOLEAN": ("boolean", 0), "DATE": ("date", 0), "TIME": ("time", 3),
              "BLOB": ("varbinary", 2147483647), "INTERVAL": ("interval day to second", 0),
              "\"NULL\"": ("unknown", 0), "NULL": ("unknown", 0), "UUID": ("uuid", 0)}
    name, precision = simple.get(t, ("varchar", 2147483647))
    return name, precision, 0


def java_double(x: float) -> str:
    """Java's Double.toString (what Trino prints for a double): plain between
    1e-3 and 1e7, else computerized scientific notation (1.0E7, 1.5E-4)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        text = repr(x)
        if "e" in text or "E" in text:  # repr switches to exponent form at 1e16 only, but be safe
            text = format(decimal.Decimal(text), "f")
        return text if "." in text else text + ".0"
    sign, digits, exp = decimal.Decimal(repr(x)).as_tuple()  # shortest round-trip digits
    e10 = exp + len(digits) - 1
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    frac = ds[1:] or "0"
    return f"{'-' if sign else ''}{ds[0]}.{frac}E{e10}"


def athena_text(value: Any, type_name: str) -> str | None:
    """How Athena prints a value in GetQueryResults and the result CSV."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value) if type_name in ("double", "real") else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{athena_text(k, '')}={athena_text(v, _guess(v))}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(athena_text(v, _guess(v))) for v in value) + "]"
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def _guess(v: Any) -> str:
    return "double" if isinstance(v, float) else ""


# ----------------------------------------------------------------------------
# The catalog and the objects: moto's Glue and S3 backends, in this process


def parse_s3_url(url: str) -> tuple[str, str]:
    m = re.fullmatch(r"s3a?://([^/]+)/?(.*)", url or "")
    if not m:
        raise AthenaQueryError(f"HIVE_METASTORE_ERROR: location '{url}' is not an s3:// URL")
    return m.group(1), m.group(2)


class Mirror:
    """Local copies of S3 objects (content-addressed), so DuckDB reads files."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="costcarve-athena-")
        self.lock = threading.Lock()
        atexit.register(shutil.rmtree, self.root, True)

    def blob(self, data: bytes, etag: str) -> str:
        name = hashlib.sha256(f"{etag}/{len(data)}".encode() + data[:64] + data[-64:]).hexdigest()
        path = os.path.join(self.root, "blobs", name)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.tmp{threading.get_ident()}"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        return path

    def layout(self, files: list[tuple[list[tuple[str, str]], str, str]]) -> tuple[str, dict[str, tuple[str, int]]]:
        """A directory of symlinks `k=v/.../<n>.parquet` to the blobs:
        (its glob root, local path -> (s3 url, size))."""
        key = hashlib.sha256(json.dumps(files).encode()).hexdigest()[:24]
        root = os.path.join(self.root, "tables", key)
        index: dict[str, tuple[str, int]] = {}
        with self.lock:
            for i, (parts, blob, url) in enumerate(files):
                folder = os.path.join(root, *[f"{k}={v}" for k, v in parts])
                path = os.path.join(folder, f"f{i:05d}.parquet")
                if not os.path.lexists(path):
                    os.makedirs(folder, exist_ok=True)
                    os.symlink(blob, path)
                index[path] = (url, os.path.getsize(blob))
        return root, index


MIRROR: Mirror | None = None


def mirror() -> Mirror:
    global MIRROR
    if MIRROR is None:
        MIRROR = Mirror()
    return MIRROR


class Catalog:
    """Glue + S3 of one account and region (moto's backends)."""

    def __init__(self, account_id: str, region: str):
        from moto.glue.models import glue_backends
        from moto.s3.models import s3_backends

        self.account_id = account_id
        self.region = region
        self.glue = glue_backends[account_id][region]
        self.s3 = s3_backends[account_id]["aws"]

    def database_exists(self, db: str) -> bool:
        return db in self.glue.databases

    def table(self, db: str, name: str) -> dict[str, Any] | None:
        d = self.glue.databases.get(db)
        t = d.tables.get(name) if d else None
        return t.as_dict() if t else None

    def partitions(self, db: str, name: str) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self.glue.get_partitions(db, name, "")]

    def objects(self, url: str) -> list[tuple[str, bytes, str]]:
        """(s3 url, bytes, etag) of every object under `url` (recursively),
        skipping folders and names starting with `_` or `.` as Athena does."""
        bucket_name, prefix = parse_s3_url(url)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        try:
            bucket = self.s3.get_bucket(bucket_name)
        except Exception:  # noqa: BLE001 (moto's MissingBucket)
            raise AthenaQueryError(f"HIVE_CANNOT_OPEN_SPLIT: bucket '{bucket_name}' does not exist") from None
        out = []
        for key_name in sorted(bucket.keys.keys()):
            if not key_name.startswith(prefix) or key_name.endswith("/"):
                continue
            if os.path.basename(key_name).startswith(("_", ".")):
                continue
            key = bucket.keys[key_name]
            value = getattr(key, "value", None)
            if value is None:
                continue
            out.append((f"s3://{bucket_name}/{key_name}", bytes(value), str(getattr(key, "etag", ""))))
        return out


# ----------------------------------------------------------------------------
# Building a DuckDB session that holds the tables a query reads


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pos(node: Any) -> str:
    meta = getattr(node, "meta", None) or {}
    this = getattr(node, "this", None)
    if not meta and this is not None:
        meta = getattr(this, "meta", None) or {}
    line, col = meta.get("line"), meta.get("col")
    if line and col:
        width = len(str(getattr(node, "name", "") or ""))
        return f"line {line}:{max(1, col - width + 1)}"
    return "line 1:1"


class Session:
    """One query's DuckDB connection with the Glue tables it names as DuckDB
    views `awsdatacatalog."db"."name"`."""

    def __init__(self, catalog: Catalog):
        import duckdb

        self.catalog = catalog
        # One thread: the same query over the same files gives the same floating-point sums.
        self.con = duckdb.connect(":memory:", config={"threads": 1})
        self.con.execute(f"ATTACH ':memory:' AS {CATALOG}")
        self.schemas: set[str] = set()
        self.defined: set[tuple[str, str]] = set()
        self.files: dict[str, tuple[str, int]] = {}  # local path -> (s3 url, size)
        self.table_files: dict[tuple[str, str], list[str]] = {}

    def close(self) -> None:
        self.con.close()

    def _schema(self, db: str) -> None:
        if db not in self.schemas:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {CATALOG}.{_quote(db)}")
            self.schemas.add(db)

    def qualify(self, ast: Any, context_db: str, depth: int = 0) -> Any:
        """Resolves every table of `ast` against Glue (defining what it reads
        in DuckDB) and writes it fully qualified; returns the AST."""
        from sqlglot import exp

        cte_names = {c.alias_or_name.lower() for c in ast.find_all(exp.CTE)}
        for table in list(ast.find_all(exp.Table)):
            if not isinstance(table.this, exp.Identifier):
                continue  # table functions and the like
            name = table.name.lower()
            if not table.args.get("db") and name in cte_names:
                continue
            catalog = (table.catalog or CATALOG).lower()
            if catalog != CATALOG:
                raise AthenaQueryError(f"CATALOG_NOT_FOUND: {_pos(table)}: Catalog '{catalog}' does not exist")
            db = (table.db or context_db).lower()
            self.define(db, name, table, depth)
            table.set("catalog", exp.to_identifier(CATALOG, quoted=True))
            table.set("db", exp.to_identifier(db, quoted=True))
            table.set("this", exp.to_identifier(name, quoted=True))
        return ast

    def define(self, db: str, name: str, node: Any = None, depth: int = 0) -> None:
        if (db, name) in self.defined:
            return
        if not self.catalog.database_exists(db):
            raise AthenaQueryError(f"SCHEMA_NOT_FOUND: {_pos(node)}: Schema '{db}' does not exist")
        table = self.catalog.table(db, name)
        if table is None:
            raise AthenaQueryError(f"TABLE_NOT_FOUND: {_pos(node)}: Table '{CATALOG}.{db}.{name}' does not exist")
        self._schema(db)
        if table.get("TableType") == "VIRTUAL_VIEW":
            self._define_view(db, name, table, depth)
        else:
            self._define_table(db, name, table)
        self.defined.add((db, name))

    def _define_view(self, db: str, name: str, table: dict[str, Any], depth: int) -> None:
        import sqlglot

        if depth >= MAX_VIEW_DEPTH:
            raise AthenaQueryError(f"VIEW_IS_RECURSIVE: line 1:1: View '{CATALOG}.{db}.{name}' is recursive")
        text = table.get("ViewOriginalText") or ""
        m = re.fullmatch(r"/\* Presto View: (.*) \*/", text.strip(), re.S)
        if not m:
            raise AthenaQueryError(f"HIVE_INVALID_VIEW_DATA: View '{CATALOG}.{db}.{name}' has no Presto view text")
        try:
            definition = json.loads(base64.b64decode(m.group(1)))
            original = definition["originalSql"]
        except (ValueError, KeyError, TypeError):
            raise AthenaQueryError(f"HIVE_INVALID_VIEW_DATA: View '{CATALOG}.{db}.{name}' has invalid data") from None
        view_db = (definition.get("schema") or db).lower()
        try:
            ast = sqlglot.parse_one(original, read="trino")
        except sqlglot.errors.ParseError as err:
            raise AthenaQueryError(f"VIEW_IS_STALE: line 1:1: View '{CATALOG}.{db}.{name}' is invalid: "
                                   f"{_parse_error_text(err)}") from None
        self.qualify(ast, view_db, depth + 1)
        sql = ast.sql(dialect="duckdb")
        self.con.execute(f"CREATE VIEW {CATALOG}.{_quote(db)}.{_quote(name)} AS {sql}")

    def _define_table(self, db: str, name: str, table: dict[str, Any]) -> None:
        sd = table.get("StorageDescriptor") or {}
        columns = [(c["Name"].lower(), c["Type"]) for c in sd.get("Columns", [])]
        keys = [(c["Name"].lower(), c.get("Type", "string")) for c in table.get("PartitionKeys", [])]
        files: list[tuple[list[tuple[str, str]], str, str]] = []
        m = mirror()
        if keys:
            for part in self.catalog.partitions(db, name):
                values = part.get("Values", [])
                location = (part.get("StorageDescriptor") or {}).get("Location")
                if not location:
                    continue
                for url, data, etag in self.catalog.objects(location):
                    files.append((list(zip([k for k, _ in keys], values)), m.blob(data, etag), url))
        elif sd.get("Location"):
            for url, data, etag in self.catalog.objects(sd["Location"]):
                files.append(([], m.blob(data, etag), url))
        target = f"{CATALOG}.{_quote(db)}.{_quote(name)}"
        if not files:
            cols = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in columns + keys)
            self.con.execute(f"CREATE VIEW {target} AS SELECT {cols} WHERE false")
            self.table_files[(db, name)] = []
            return
        root, index = m.layout(files)
        self.files.update(index)
        self.table_files[(db, name)] = list(index)
        pattern = os.path.join(root, *(["*"] * len(keys)), "*.parquet")
        hive_types = ", ".join(f"'{k}': {duckdb_type(t)}" for k, t in keys)
        source = (f"read_parquet('{pattern}', union_by_name=true"
                  + (f", hive_partitioning=true, hive_types={{{hive_types}}}" if keys else ", hive_partitioning=false")
                  + ")")
        present = {r[0].lower() for r in self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        select = []
        for c, t in columns + keys:
            if c in present:
                select.append(_quote(c))
            else:
                select.append(f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}")
        self.con.execute(f"CREATE VIEW {target} AS SELECT {', '.join(select)} FROM {source}")

    def run(self, sql: str) -> tuple[list[tuple[str, Any]], list[tuple], list[str]]:
        """Runs DuckDB SQL with profiling: (description, rows, local files read)."""
        self.con.execute("PRAGMA enable_profiling='no_output'")
        self.con.execute("SET profiling_mode='detailed'")
        try:
            cur = self.con.execute(sql)
            rows = cur.fetchall()
            description = [(d[0], d[1]) for d in cur.description or []]
        finally:
            pass
        read: list[str] = []
        try:
            profile = json.loads(self.con.get_profiling_information(format="json"))
            unknown = False
            stack = list(profile.get("operator", []))
            while stack:
                node = stack.pop()
                stack.extend(node.get("children", []))
                info = node.get("extra_info") or {}
                if node.get("type") == "TABLE_SCAN" and info.get("Function") == "READ_PARQUET":
                    names = info.get("Filename(s)")
                    if not names:
                        unknown = True
                    for n in (names or "").split(","):
                        n = n.strip()
                        if any(ch in n for ch in "*?["):  # a glob: every file it matches was read
                            read.extend(p for p in self.files if fnmatch.fnmatchcase(p, n))
                        elif n:
                            read.append(n)
            if unknown:
                read = list(self.files)
        except (ValueError, AttributeError):
            read = list(self.files)
        return description, rows, read


def _parse_error_text(err: Any) -> str:
    errors = getattr(err, "errors", None) or []
    if errors:
        e = errors[0]
        text = re.sub(r"<Token token_type: TokenType\.(\w+), text: ([^,]*),[^>]*>",
                      lambda m: "'<EOF>'" if m.group(1) == "SENTINEL" else f"'{m.group(2)}'",
                      str(e.get("description", "syntax error")))
        return f"line {e.get('line', 1)}:{e.get('col', 1)}: {text}"
    return f"line 1:1: {err}"


def _name_columns(ast: Any) -> None:
    """Trino names an output column that is neither a column nor aliased `_colN`."""
    from sqlglot import exp

    node = ast
    while isinstance(node, exp.SetOperation):
        node = node.left
    if not isinstance(node, exp.Select):
        return
    for i, e in enumerate(list(node.expressions)):
        if not isinstance(e, (exp.Alias, exp.Column, exp.Star)):
            e.replace(exp.alias_(e.copy(), f"_col{i}", quoted=True))


_DUCK_ERRORS = [
    (re.compile(r'Referenced column "?([^"\s]+)"? not found'), "COLUMN_NOT_FOUND", "Column '{0}' cannot be resolved"),
    (re.compile(r"column \"?([^\"\s]+)\"? must appear in the GROUP BY clause"), "SYNTAX_ERROR",
     "'{0}' must be an aggregate expression or appear in GROUP BY clause"),
    (re.compile(r"(?:Scalar|Aggregate|Table) Function with name \"?([^\"\s]+)\"? does not exist"), "FUNCTION_NOT_FOUND",
     "Function '{0}' not registered"),
    (re.compile(r"Could not convert string '([^']*)' to (\w+)"), "INVALID_CAST_ARGUMENT", "Cannot cast '{0}' to {1}"),
    (re.compile(r"Conversion Error: (.*)"), "INVALID_CAST_ARGUMENT", "{0}"),
    (re.compile(r"Division by zero"), "DIVISION_BY_ZERO", "Division by zero"),
    (re.compile(r"Binder Error: (.*)"), "SYNTAX_ERROR", "{0}"),
    (re.compile(r"Parser Error: (.*)"), "SYNTAX_ERROR", "{0}"),
]


# DuckDB's names of the types a cast fails to, as Trino (Athena) names them.
_TRINO_TYPES = {"INT8": "TINYINT", "INT16": "SMALLINT", "INT32": "INT", "INT64": "BIGINT",
                "INTEGER": "INT", "FLOAT": "REAL", "DOUBLE": "DOUBLE", "DATE": "DATE",
                "TIMESTAMP": "TIMESTAMP", "BOOLEAN": "BOOLEAN"}


def _duck_reason(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    for rx, code, template in _DUCK_ERRORS:
        m = rx.search(text)
        if m:
            if code == "INVALID_CAST_ARGUMENT" and len(m.groups()) == 2:
                # Athena's own words, value quoted, Trino's type name, no position.
                value, duck_type = m.groups()
                return f"{code}: {template.format(value, _TRINO_TYPES.get(duck_type.upper(), duck_type.upper()))}"
            return f"{code}: line 1:1: {template.format(*m.groups())}"
    return f"GENERIC_INTERNAL_ERROR: {text}"


def execute(account_id: str, region: str, query: str, context_db: str) -> QueryOutcome:
    """Runs one query as Athena would; raises AthenaQueryError when it fails."""
    import duckdb
    import sqlglot
    from sqlglot import exp

    t0 = time.monotonic()
    try:
        statements = [s for s in sqlglot.parse(query, read="trino") if s is not None]
    except sqlglot.errors.ParseError as err:
        raise AthenaQueryError(f"SYNTAX_ERROR: {_parse_error_text(err)}") from None
    except sqlglot.errors.TokenError as err:
        raise AthenaQueryError(f"SYNTAX_ERROR: line 1:1: {err}") from None
    if not statements:
        raise AthenaQueryError("SYNTAX_ERROR: line 1:1: mismatched input '<EOF>'. Expecting: a statement")
    if len(statements) > 1:
        raise AthenaQueryError("INVALID_INPUT: Only one sql statement is allowed. Got: " + str(len(statements)))
    ast = statements[0]
    if not isinstance(ast, exp.Query) and not isinstance(ast, exp.Values):
        kind = type(ast).__name__.upper()
        raise AthenaQueryError(f"NOT_SUPPORTED: the emulator runs SELECT queries and view DDL only, not {kind}")
    session = Session(Catalog(account_id, region))
    try:
        session._schema(context_db)
        session.qualify(ast, context_db)
        _name_columns(ast)
        sql = ast.sql(dialect="duckdb")
        try:
            description, raw_rows, read = session.run(sql)
        except duckdb.Error as err:
            raise AthenaQueryError(_duck_reason(err)) from None
        columns = []
        types = []
        for name, duck_type in description:
            type_name, precision, scale = athena_type(str(duck_type))
            types.append(type_name)
            columns.append({"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name,
                            "Type": type_name, "Precision": precision, "Scale": scale, "Nullable": "UNKNOWN",
                            "CaseSensitive": type_name == "varchar"})
        rows = [[athena_text(v, types[i]) for i, v in enumerate(r)] for r in raw_rows]
        scanned = {session.files[p] for p in read if p in session.files}
        return QueryOutcome(columns=columns, rows=rows, scanned_bytes=sum(size for _, size in scanned),
                            engine_ms=int((time.monotonic() - t0) * 1000),
                            files_read=sorted(url for url, _ in scanned))
    finally:
        session.close()


def result_csv(outcome: QueryOutcome) -> bytes:
    """The result file Athena writes: a header, then every value quoted; NULL empty."""
    def line(values: list[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)

    out = [line([c["Name"] for c in outcome.columns])] + [line(r) for r in outcome.rows]
    return ("\n".join(out) + "\n").encode()
