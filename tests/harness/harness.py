#!/usr/bin/env python3
"""Starts, seeds and stops CostCarve's AWS emulators: moto (server mode) and the
billing emulator beside this file. Run it through `tests/emulators`, which
finds the Python environment:

    eval "$(tests/emulators up)"      # start + seed; stdout is only `export` lines
    tests/emulators env               # print the exports of the running set again
    tests/emulators down              # stop both (idempotent)

Both servers listen on 127.0.0.1 only, on ports the OS picks, detached from
the caller (they outlive `up`); their pids, ports and logs are in the state
dir. Progress and errors go to stderr. See README.md ("Emulated payer account").
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BILLING_EMULATOR = HERE / "billing_emulator.py"

HOST = "127.0.0.1"  # the only address anything here listens on or talks to
REGION = "us-east-1"
# moto's default account: whoever calls with an unmapped access key is this
# account, so it becomes the organization's management (payer) account.
PAYER_ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
SEEDER_USER = "costcarve-emu-seeder"  # IAM user in the payer account whose key `up` seeds with

# What `up` creates (names are fixed so the exports are predictable).
CUR_BUCKET = f"costcarve-emu-cur-{PAYER_ACCOUNT_ID}"
CUR_EXPORT = "costcarve-cur2"
CUR_PREFIX = f"cur2/{CUR_EXPORT}/data"  # Data Exports layout: <prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/
CUR_DATABASE = "costcarve_cur"
CUR_TABLE = "cur2"
VIEWS_DATABASE = "costcarve_views"
WORKGROUP = "costcarve"
RESULTS_BUCKET = f"costcarve-emu-athena-results-{PAYER_ACCOUNT_ID}"
RESULTS_PREFIX = "athena/"
RESULTS_LOCATION = f"s3://{RESULTS_BUCKET}/{RESULTS_PREFIX}"
BILLING_PERIODS_BACK = 13  # partitions (and CUR data): this month and the twelve before it

MSP_EMAIL_DOMAIN = "msp.example"
CUSTOMERS_OU = "Customers"
SHARED_OU = "Shared services"
SANDBOX_OU = "Sandbox"
DEFAULT_ENV_OUS = ("prod", "dev")
ACCOUNTS_PER_CUSTOMER = 10  # for the default number of customers
CUR_DEFAULT_ROWS = 60_000  # cur_data.DEFAULT_ROWS (not imported: numpy is slow to import for `down`)
CUR_DEFAULT_SEED = 42

STATE_FILE = "state.json"
LOCK_FILE = "lock"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

# The CUR 2.0 (Data Exports) columns the table declares, with their Athena
# types: a realistic subset of the ~125, including every one CostCarve reads.
CUR2_COLUMNS = [
    ("bill_bill_type", "string"),
    ("bill_billing_entity", "string"),
    ("bill_billing_period_end_date", "timestamp"),
    ("bill_billing_period_start_date", "timestamp"),
    ("bill_invoice_id", "string"),
    ("bill_invoicing_entity", "string"),
    ("bill_payer_account_id", "string"),
    ("bill_payer_account_name", "string"),
    ("cost_category", "map<string,string>"),
    ("discount", "map<string,double>"),
    ("discount_bundled_discount", "double"),
    ("discount_total_discount", "double"),
    ("identity_line_item_id", "string"),
    ("identity_time_interval", "string"),
    ("line_item_availability_zone", "string"),
    ("line_item_blended_cost", "double"),
    ("line_item_blended_rate", "string"),
    ("line_item_currency_code", "string"),
    ("line_item_legal_entity", "string"),
    ("line_item_line_item_description", "string"),
    ("line_item_line_item_type", "string"),
    ("line_item_net_unblended_cost", "double"),
    ("line_item_net_unblended_rate", "string"),
    ("line_item_normalization_factor", "double"),
    ("line_item_normalized_usage_amount", "double"),
    ("line_item_operation", "string"),
    ("line_item_product_code", "string"),
    ("line_item_resource_id", "string"),
    ("line_item_tax_type", "string"),
    ("line_item_unblended_cost", "double"),
    ("line_item_unblended_rate", "string"),
    ("line_item_usage_account_id", "string"),
    ("line_item_usage_account_name", "string"),
    ("line_item_usage_amount", "double"),
    ("line_item_usage_end_date", "timestamp"),
    ("line_item_usage_start_date", "timestamp"),
    ("line_item_usage_type", "string"),
    ("pricing_currency", "string"),
    ("pricing_public_on_demand_cost", "double"),
    ("pricing_public_on_demand_rate", "string"),
    ("pricing_term", "string"),
    ("pricing_unit", "string"),
    ("product", "map<string,string>"),
    ("product_from_location", "string"),
    ("product_instance_type", "string"),
    ("product_product_family", "string"),
    ("product_region_code", "string"),
    ("product_servicecode", "string"),
    ("product_sku", "string"),
    ("product_to_location", "string"),
    ("reservation_effective_cost", "double"),
    ("reservation_net_effective_cost", "double"),
    ("reservation_reservation_a_r_n", "string"),
    ("resource_tags", "map<string,string>"),
    ("savings_plan_net_savings_plan_effective_cost", "double"),
    ("savings_plan_savings_plan_a_r_n", "string"),
    ("savings_plan_savings_plan_effective_cost", "double"),
]
CUR2_PARTITION_KEY = "billing_period"

COMPANIES = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Soylent",
    "Tyrell", "Cyberdyne", "Wonka", "Oscorp", "Vandelay", "Aperture", "Massive Dynamic",
    "Gekko", "Monarch", "Nakatomi", "Blue Sun", "Virtucon",
]
INDUSTRIES = [
    "Retail", "Health", "Logistics", "Labs", "Media", "Energy", "Finance", "Foods",
    "Travel", "Games",
]
WORKLOADS = [
    "Web", "Data", "Payments", "Analytics", "Core", "API", "ML", "Search", "Identity",
    "Edge", "CRM", "Mobile",
]
SHARED_ACCOUNTS = ["Log Archive", "Security Audit", "Network Hub", "Shared Tooling"]
SANDBOX_OWNERS = [
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
    "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yara",
]


def log(msg: str) -> None:
    print(f"emulators: {msg}", file=sys.stderr, flush=True)


class HarnessError(Exception):
    pass


# ----------------------------------------------------------------------------
# The organization to create (pure: no I/O, so tests can reason about it)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def plan_organization(accounts: int, customers: int | None = None,
                      env_ous: tuple[str, ...] = DEFAULT_ENV_OUS) -> dict:
    """The OUs and member accounts for `accounts` members.

    Root ─┬─ Customers ── <customer> ── <env OU> (prod, dev by default)
          ├─ Shared services  (min(4, N // 10) accounts)
          └─ Sandbox          (N // 20 accounts)
    Customer accounts are dealt round-robin over the customers, and within one
    customer over its env OUs. Tags: customer=<slug> (internal for shared and
    sandbox), env=<env OU>|shared|sandbox.
    """
    if accounts < 0:
        raise HarnessError("--accounts must be >= 0")
    if not env_ous or any(not e for e in env_ous) or len(set(env_ous)) != len(env_ous):
        raise HarnessError("--ous-per-customer needs distinct, non-empty names")
    shared = min(len(SHARED_ACCOUNTS), accounts // 10)
    sandbox = accounts // 20
    for_customers = accounts - shared - sandbox
    if customers is None:
        customers = max(1, math.ceil(for_customers / ACCOUNTS_PER_CUSTOMER))
    if customers < 1:
        raise HarnessError("--customers must be >= 1")

    names = []
    for i in range(customers):
        base = f"{COMPANIES[i % len(COMPANIES)]} {INDUSTRIES[(i // len(COMPANIES)) % len(INDUSTRIES)]}"
        rnd = i // (len(COMPANIES) * len(INDUSTRIES))
        names.append(base if rnd == 0 else f"{base} {rnd + 1}")
    customer_list = [{"name": n, "slug": slug(n)} for n in names]

    members: list[dict] = []
    emails: set[str] = set()

    def add(name: str, email_local: str, ou_path: list[str], tags: dict) -> None:
        email = f"aws+{email_local}@{MSP_EMAIL_DOMAIN}"
        assert email not in emails, email
        emails.add(email)
        members.append({"name": name, "email": email, "ou_path": ou_path, "tags": tags})

    for i, acct in enumerate(SHARED_ACCOUNTS[:shared]):
        add(acct, f"shared-{slug(acct)}", [SHARED_OU], {"customer": "internal", "env": "shared"})
    for i in range(sandbox):
        owner = SANDBOX_OWNERS[i % len(SANDBOX_OWNERS)]
        rnd = i // len(SANDBOX_OWNERS)
        label = owner if rnd == 0 else f"{owner} {rnd + 1}"
        add(f"Sandbox {label}", f"sandbox-{slug(label)}", [SANDBOX_OU],
            {"customer": "internal", "env": "sandbox"})
    for i in range(for_customers):
        cust = customer_list[i % customers]
        k = i // customers  # k-th account of this customer
        env = env_ous[k % len(env_ous)]
        workload = WORKLOADS[(k // len(env_ous)) % len(WORKLOADS)]
        rnd = k // (len(env_ous) * len(WORKLOADS))
        label = workload if rnd == 0 else f"{workload} {rnd + 1}"
        add(f"{cust['name']} {label} {env}", f"{cust['slug']}-{slug(label)}-{slug(env)}",
            [CUSTOMERS_OU, cust["name"], env], {"customer": cust["slug"], "env": env})

    ous = [[CUSTOMERS_OU], [SHARED_OU], [SANDBOX_OU]]
    for cust in customer_list:
        ous.append([CUSTOMERS_OU, cust["name"]])
        ous.extend([CUSTOMERS_OU, cust["name"], env] for env in env_ous)
    return {"customers": customer_list, "env_ous": list(env_ous), "ous": ous, "accounts": members}


def billing_periods(today: dt.date, count: int = BILLING_PERIODS_BACK) -> list[str]:
    out = []
    y, m = today.year, today.month
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return sorted(out)


# ----------------------------------------------------------------------------
# Environment hygiene: nothing here may reach anything but 127.0.0.1


def scrub_environment() -> None:
    """Drop the caller's AWS settings and proxies from this process (and so
    from the servers it starts): no profile, SSO, IMDS or proxy can be used."""
    for key in list(os.environ):
        upper = key.upper()
        if upper.startswith("AWS_") or upper in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
            del os.environ[key]
    os.environ.update({
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "*",
    })


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(method: str, url: str, payload: dict | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    if not url.startswith(f"http://{HOST}:"):
        raise HarnessError(f"refusing to talk to {url}: only http://{HOST}:PORT")
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def moto_healthy(url: str) -> bool:
    try:
        return http("GET", f"{url}/moto-api/", timeout=2.0)[0] == 200
    except (OSError, HarnessError):
        return False


def billing_healthy(url: str) -> bool:
    try:
        status, body = http("GET", f"{url}/_emulator/health", timeout=2.0)
        return status == 200 and json.loads(body).get("ok") is True
    except (OSError, ValueError, HarnessError):
        return False


# ----------------------------------------------------------------------------
# Processes


def proc_start_time(pid: int) -> str | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks): with the pid it
    names one process, so a recycled pid is never signalled. None if gone/zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):  # exited; its parent (maybe a non-reaping init) has not reaped it
        return None
    return fields[19]


def same_process(info: dict) -> bool:
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 1:
        return False
    if Path("/proc").is_dir():
        start = proc_start_time(pid)
        return start is not None and start == info.get("start_time")
    try:  # no /proc (macOS): best effort
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def spawn(argv: list[str], log_path: Path, cwd: Path) -> subprocess.Popen:
    """Start a server in its own session, stdin closed, stdout+stderr to its
    log, so it outlives `up` and never holds `up`'s stdout pipe open."""
    logf = open(log_path, "wb")
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                cwd=cwd, start_new_session=True, close_fds=True)
    finally:
        logf.close()


def wait_port_file(proc: subprocess.Popen, port_file: Path, name: str, log_path: Path, deadline: float) -> int:
    while True:
        if port_file.exists():
            text = port_file.read_text().strip()
            if text.isdigit():
                return int(text)
        if proc.poll() is not None:
            raise HarnessError(f"{name} exited with {proc.returncode}:\n{tail(log_path)}")
        if time.monotonic() > deadline:
            raise HarnessError(f"{name} did not report its port in {START_TIMEOUT:.0f} s:\n{tail(log_path)}")
        time.sleep(0.05)


def wait_healthy(check, url: str, name: str, proc: subprocess.Popen, log_path: Path, deadline: float) -> None:
    while not check(url):
        if proc.poll() is not None:
            raise HarnessError(f"{name} exited with {proc.returncode}:\n{tail(log_path)}")
        if time.monotonic() > deadline:
            raise HarnessError(f"{name} at {url} is not healthy after {START_TIMEOUT:.0f} s:\n{tail(log_path)}")
        time.sleep(0.1)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(info: dict, name: str) -> None:
    if not same_process(info):
        return
    pid = info["pid"]
    log(f"stopping {name} (pid {pid})")
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reaps it if it is our child
            if not same_process(info):
                return
            time.sleep(0.05)
    raise HarnessError(f"{name} (pid {pid}) did not stop")


def process_info(proc: subprocess.Popen, port: int, log_path: Path) -> dict:
    return {"pid": proc.pid, "start_time": proc_start_time(proc.pid), "port": port,
            "url": f"http://{HOST}:{port}", "log": str(log_path)}


# ----------------------------------------------------------------------------
# Seeding (boto3 against moto)


def aws_client(moto_url: str, service: str, key_id: str, secret: str):
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret, region_name=REGION)
    config = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60,
                    proxies={}, max_pool_connections=16)
    return session.client(service, endpoint_url=moto_url, config=config)


def seeder_credentials(moto_url: str) -> tuple[str, str]:
    """An IAM user's access key in the payer account, for seeding only.

    moto finds a caller's account by scanning every account's IAM backend for
    the access key (moto.iam.models.get_account_id_from), and each member account
    gets one, so a key found nowhere (like `testing`) costs O(accounts) per
    request. A key of the payer's own IAM user is found at the first backend:
    this halves the time to seed 1000 accounts. It is the same account either way.
    """
    iam = aws_client(moto_url, "iam", ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    iam.create_user(UserName=SEEDER_USER, Tags=[{"Key": "purpose", "Value": "tests/emulators seeding"}])
    key = iam.create_access_key(UserName=SEEDER_USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def seed(moto_url: str, billing_url: str, plan: dict, workers: int, rows: int = 0,
         data_seed: int = 0) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.monotonic()
    creds = seeder_credentials(moto_url)
    c = {name: aws_client(moto_url, name, *creds) for name in ("organizations", "s3", "glue", "athena")}
    org_api = c["organizations"]
    org = org_api.create_organization(FeatureSet="ALL")["Organization"]
    if org["MasterAccountId"] != PAYER_ACCOUNT_ID:
        raise HarnessError(f"moto made {org['MasterAccountId']} the management account, expected {PAYER_ACCOUNT_ID}")
    root_id = org_api.list_roots()["Roots"][0]["Id"]

    ou_ids: dict[tuple, str] = {(): root_id}
    for path in plan["ous"]:  # parents come before children in the plan
        ou = org_api.create_organizational_unit(ParentId=ou_ids[tuple(path[:-1])], Name=path[-1])
        ou_ids[tuple(path)] = ou["OrganizationalUnit"]["Id"]
    for cust in plan["customers"]:
        org_api.tag_resource(ResourceId=ou_ids[(CUSTOMERS_OU, cust["name"])],
                             Tags=[{"Key": "customer", "Value": cust["slug"]}])
    t_ous = time.monotonic()

    def make_account(member: dict) -> dict:
        # Tags ride on CreateAccount (as an MSP's account vending does): the
        # same result as a TagResource, one request fewer per account.
        status = org_api.create_account(
            AccountName=member["name"], Email=member["email"],
            Tags=[{"Key": k, "Value": v} for k, v in sorted(member["tags"].items())],
        )["CreateAccountStatus"]
        if status["State"] != "SUCCEEDED":  # moto completes at once; AWS would need polling
            raise HarnessError(f"create_account {member['name']}: {status}")
        account_id = status["AccountId"]
        org_api.move_account(AccountId=account_id, SourceParentId=root_id,
                             DestinationParentId=ou_ids[tuple(member["ou_path"])])
        return {"id": account_id, **member}

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            accounts = list(pool.map(make_account, plan["accounts"]))
    else:
        accounts = [make_account(m) for m in plan["accounts"]]
    if len({a["id"] for a in accounts}) != len(accounts):  # moto draws ids at random
        raise HarnessError("moto gave two accounts the same id; run `up` again")
    t_accounts = time.monotonic()

    s3 = c["s3"]
    for bucket in (CUR_BUCKET, RESULTS_BUCKET):
        s3.create_bucket(Bucket=bucket)  # us-east-1: no LocationConstraint

    glue = c["glue"]
    glue.create_database(DatabaseInput={"Name": CUR_DATABASE,
                                        "Description": "CUR 2.0 data export of the payer (emulated)"})
    glue.create_database(DatabaseInput={"Name": VIEWS_DATABASE,
                                        "Description": "CostCarve per-customer views"})
    location = f"s3://{CUR_BUCKET}/{CUR_PREFIX}/"
    serde = {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
             "Parameters": {"serialization.format": "1"}}
    storage = {
        "Columns": [{"Name": n, "Type": t} for n, t in CUR2_COLUMNS],
        "Location": location,
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": serde,
    }
    glue.create_table(DatabaseName=CUR_DATABASE, TableInput={
        "Name": CUR_TABLE,
        "Description": f"Data export {CUR_EXPORT} (CUR 2.0), Parquet",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "SNAPPY"},
        "PartitionKeys": [{"Name": CUR2_PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": storage,
    })
    today = dt.datetime.now(dt.timezone.utc).date()
    periods = billing_periods(today)
    for chunk in range(0, len(periods), 100):  # BatchCreatePartition takes at most 100
        glue.batch_create_partition(DatabaseName=CUR_DATABASE, TableName=CUR_TABLE, PartitionInputList=[
            {"Values": [p], "StorageDescriptor": {**storage, "Location": f"{location}BILLING_PERIOD={p}/"}}
            for p in periods[chunk:chunk + 100]
        ])
    t_glue = time.monotonic()

    # The CUR itself: one Parquet file per billing period at the partition's location.
    import cur_data  # beside this file

    payer_name = org_api.describe_account(AccountId=PAYER_ACCOUNT_ID)["Account"]["Name"]
    tables = cur_data.generate([{"id": a["id"], "name": a["name"], "tags": a["tags"]} for a in accounts],
                               {"id": PAYER_ACCOUNT_ID, "name": payer_name}, rows=rows, seed=data_seed,
                               today=today, months=len(periods))
    t_generated = time.monotonic()
    cur_objects = []
    for period in periods:
        key = f"{CUR_PREFIX}/BILLING_PERIOD={period}/{CUR_EXPORT}-00001.snappy.parquet"
        body = cur_data.parquet_bytes(tables[period])
        s3.put_object(Bucket=CUR_BUCKET, Key=key, Body=body)
        cur_objects.append({"key": key, "rows": tables[period].num_rows, "bytes": len(body)})
    t_cur = time.monotonic()

    c["athena"].create_work_group(
        Name=WORKGROUP,
        Description="CostCarve queries (emulated)",
        Configuration={
            "ResultConfiguration": {"OutputLocation": RESULTS_LOCATION},
            "EnforceWorkGroupConfiguration": False,
            "PublishCloudWatchMetricsEnabled": False,
        },
    )

    # The billing emulator refuses CreateBillingView to member accounts.
    status, body = http("POST", f"{billing_url}/_emulator/config",
                        {"member_account_ids": sorted(a["id"] for a in accounts)})
    if status != 200:
        raise HarnessError(f"billing emulator config: HTTP {status} {body[:200]!r}")
    # Cost Explorer (in moto) computes from this CUR, through the billing emulator's views.
    status, body = http("POST", f"{moto_url}/moto-api/costcarve/ce-config", {
        "billing_url": billing_url, "payer_account_id": PAYER_ACCOUNT_ID, "region": REGION,
        "cur_database": CUR_DATABASE, "cur_table": CUR_TABLE})
    if status != 200:
        raise HarnessError(f"moto ce-config: HTTP {status} {body[:200]!r}")
    t_end = time.monotonic()

    return {
        "organization_id": org["Id"],
        "root_id": root_id,
        "customers": plan["customers"],
        "env_ous": plan["env_ous"],
        "ous": {"/".join(path): ou_id for path, ou_id in ou_ids.items() if path},
        "accounts": [{k: a[k] for k in ("id", "name", "email", "tags")} | {"ou": "/".join(a["ou_path"])}
                     for a in accounts],
        "cur": {"bucket": CUR_BUCKET, "location": location, "database": CUR_DATABASE,
                "table": CUR_TABLE, "partitions": periods, "rows": sum(o["rows"] for o in cur_objects),
                "seed": data_seed, "objects": cur_objects},
        "athena": {"workgroup": WORKGROUP, "results": RESULTS_LOCATION,
                   "results_bucket": RESULTS_BUCKET, "views_database": VIEWS_DATABASE},
        "timings_s": {"organization_and_ous": round(t_ous - t0, 3),
                      "accounts": round(t_accounts - t_ous, 3),
                      "s3_glue": round(t_glue - t_accounts, 3),
                      "cur_generate": round(t_generated - t_glue, 3),
                      "cur_write": round(t_cur - t_generated, 3),
                      "athena_billing_ce": round(t_end - t_cur, 3),
                      "total": round(t_end - t0, 3)},
    }


# ----------------------------------------------------------------------------
# State and exports


def default_state_dir() -> Path:
    explicit = os.environ.get("COSTCARVE_EMU_STATE_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / "costcarve-emulators"


def exports_for(moto_url: str, billing_url: str, state_dir: Path) -> dict[str, str]:
    connection_args = (f"--region {REGION} --cur-table {CUR_DATABASE}.{CUR_TABLE} --workgroup {WORKGROUP} "
                       f"--results {RESULTS_LOCATION} --views-database {VIEWS_DATABASE}")
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ENDPOINT_URL_BILLING": billing_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "COSTCARVE_EMU_MOTO_URL": moto_url,
        "COSTCARVE_EMU_BILLING_URL": billing_url,
        "COSTCARVE_EMU_PAYER_ACCOUNT_ID": PAYER_ACCOUNT_ID,
        "COSTCARVE_EMU_CONNECTION_ARGS": connection_args,
        "COSTCARVE_EMU_STATE_DIR": str(state_dir),
    }


def print_exports(env: dict[str, str]) -> None:
    for name, value in env.items():
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
            raise HarnessError(f"bad variable name {name!r}")
        quoted = "'" + value.replace("'", "'\\''") + "'"
        print(f"export {name}={quoted}")
    sys.stdout.flush()


def read_state(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / STATE_FILE).read_text())
    except FileNotFoundError:
        return None
    except ValueError as err:
        raise HarnessError(f"{state_dir / STATE_FILE} is not valid JSON ({err}); remove it after "
                           "checking that no emulator is left running") from err


def write_state(state_dir: Path, state: dict) -> None:
    tmp = state_dir / f"{STATE_FILE}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(state, indent=1) + "\n")
    os.replace(tmp, state_dir / STATE_FILE)


def running(state: dict) -> bool:
    return (state.get("complete") is True and same_process(state["moto"]) and same_process(state["billing"])
            and moto_healthy(state["moto"]["url"]) and billing_healthy(state["billing"]["url"]))


@contextlib.contextmanager
def locked(state_dir: Path, create: bool):
    if create:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not state_dir.is_dir():
        yield
        return
    if state_dir.stat().st_uid != os.getuid():
        raise HarnessError(f"{state_dir} belongs to another user; pass --state-dir")
    with open(state_dir / LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def stop_all(state_dir: Path, state: dict | None) -> None:
    if state:
        errors = []
        for name in ("billing", "moto"):
            if name in state:
                try:
                    stop_process(state[name], name)
                except HarnessError as err:
                    errors.append(str(err))
        if errors:
            raise HarnessError("; ".join(errors))
    for leftover in (STATE_FILE, "moto.port", "billing.port"):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / leftover).unlink()


# ----------------------------------------------------------------------------
# Commands


def cmd_up(args) -> int:
    env_ous = tuple(e.strip() for e in args.ous_per_customer.split(",") if e.strip())
    plan = plan_organization(args.accounts, args.customers, env_ous)
    if args.rows < 0:
        raise HarnessError("--rows must be >= 0")
    state_dir = args.state_dir.resolve()
    with locked(state_dir, create=True):
        old = read_state(state_dir)
        if old is not None:
            if running(old):
                seeded = old.get("options", {})
                log(f"already up (state in {state_dir}, seeded with {seeded.get('accounts')} accounts); "
                    "printing its environment. `tests/emulators down` first to start afresh.")
                print_exports(old["env"])
                return 0
            log(f"found a stale state in {state_dir}; cleaning it up")
            stop_all(state_dir, old)

        def terminated(signum, _frame):  # SIGTERM/SIGHUP: clean up like on Ctrl-C
            raise SystemExit(128 + signum)

        signal.signal(signal.SIGTERM, terminated)
        signal.signal(signal.SIGHUP, terminated)
        t0 = time.monotonic()
        deadline = t0 + START_TIMEOUT
        started: dict[str, dict] = {}
        procs: dict[str, subprocess.Popen] = {}
        try:
            for f in ("moto.port", "billing.port"):
                with contextlib.suppress(FileNotFoundError):
                    (state_dir / f).unlink()
            moto_log, billing_log = state_dir / "moto.log", state_dir / "billing.log"
            moto_argv = [sys.executable, str(Path(__file__).resolve()), "serve-moto",
                         "--port-file", str(state_dir / "moto.port")]
            if args.verbose:
                moto_argv.append("--verbose")
            procs["moto"] = spawn(moto_argv, moto_log, state_dir)
            started["moto"] = {"pid": procs["moto"].pid, "start_time": proc_start_time(procs["moto"].pid)}

            billing_argv = [sys.executable, str(BILLING_EMULATOR), "--host", HOST, "--port", "0",
                            "--port-file", str(state_dir / "billing.port"), "--account-id", PAYER_ACCOUNT_ID,
                            "--health-delay-seconds", str(args.health_delay_seconds)]
            if args.billing_delay_ms:
                billing_argv += ["--config-json", json.dumps({"call_delay_ms": args.billing_delay_ms})]
            if args.verbose:
                billing_argv.append("--verbose")
            procs["billing"] = spawn(billing_argv, billing_log, state_dir)
            started["billing"] = {"pid": procs["billing"].pid,
                                  "start_time": proc_start_time(procs["billing"].pid)}
            # Recorded at once: should `up` die unhandled (SIGKILL), `down` still finds them.
            write_state(state_dir, {"version": 1, "complete": False, **started})

            moto_port = wait_port_file(procs["moto"], state_dir / "moto.port", "moto", moto_log, deadline)
            billing_port = wait_port_file(procs["billing"], state_dir / "billing.port", "billing emulator",
                                          billing_log, deadline)
            started["moto"] = process_info(procs["moto"], moto_port, moto_log)
            started["billing"] = process_info(procs["billing"], billing_port, billing_log)
            moto_url, billing_url = started["moto"]["url"], started["billing"]["url"]
            wait_healthy(moto_healthy, moto_url, "moto", procs["moto"], moto_log, deadline)
            wait_healthy(billing_healthy, billing_url, "billing emulator", procs["billing"], billing_log, deadline)
            t_started = time.monotonic()
            log(f"moto on {moto_url}, billing emulator on {billing_url} ({t_started - t0:.1f} s); "
                f"seeding {len(plan['accounts'])} accounts in {len(plan['customers'])} customers")

            seeded = seed(moto_url, billing_url, plan, args.workers, args.rows, args.seed)
            env = exports_for(moto_url, billing_url, state_dir)
            state = {
                "version": 1,
                "complete": True,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "options": {"accounts": args.accounts, "customers": len(plan["customers"]),
                            "ous_per_customer": list(env_ous), "billing_delay_ms": args.billing_delay_ms,
                            "health_delay_seconds": args.health_delay_seconds,
                            "rows": args.rows, "seed": args.seed},
                "payer_account_id": PAYER_ACCOUNT_ID,
                "region": REGION,
                "moto": started["moto"],
                "billing": started["billing"],
                "env": env,
                "seed": seeded,
                "timings_s": {"start": round(t_started - t0, 3), **{f"seed_{k}": v for k, v in
                                                                    seeded["timings_s"].items()}},
            }
            write_state(state_dir, state)
        except BaseException as err:
            for name in ("billing", "moto"):
                if name in procs and procs[name].poll() is None:
                    procs[name].terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        procs[name].wait(timeout=STOP_TIMEOUT)
                    if procs[name].poll() is None:
                        procs[name].kill()
                        procs[name].wait()
            stop_all(state_dir, None)  # the processes are gone: drop the state file
            if not isinstance(err, HarnessError):
                log(f"{type(err).__name__}: stopped the servers again")
            if isinstance(err, HarnessError):
                raise
            if isinstance(err, Exception):
                raise HarnessError(f"up failed: {type(err).__name__}: {err}") from err
            raise
        total = time.monotonic() - t0
        log(f"up in {total:.1f} s (servers {state['timings_s']['start']:.1f} s, "
            f"seeding {seeded['timings_s']['total']:.1f} s); state in {state_dir}")
        print_exports(env)
    return 0


def cmd_down(args) -> int:
    state_dir = args.state_dir.resolve()
    with locked(state_dir, create=False):
        state = read_state(state_dir) if state_dir.is_dir() else None
        if state is None:
            log(f"nothing running (no state in {state_dir})")
            return 0
        stop_all(state_dir, state)
        log("down")
    return 0


def cmd_env(args) -> int:
    state_dir = args.state_dir.resolve()
    with locked(state_dir, create=False):
        state = read_state(state_dir) if state_dir.is_dir() else None
        if state is None or not running(state):
            log(f"not running (state dir {state_dir}); start with `tests/emulators up`")
            return 1
        print_exports(state["env"])
    return 0


def cmd_serve_moto(args) -> int:
    """moto's own ThreadedMotoServer, patched by moto_patches.py, bound to
    127.0.0.1 port 0 (the OS picks a free port: no race), the port written to
    --port-file once it listens."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)
    import moto
    from moto.server import ThreadedMotoServer

    import moto_patches  # beside this file: where moto 5.2.5 falls short of AWS

    moto_patches.install()
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["MOTO_PORT"] = str(port)  # what moto uses when it builds URLs to itself
    tmp = f"{args.port_file}.tmp{os.getpid()}"
    Path(tmp).write_text(f"{port}\n")
    os.replace(tmp, args.port_file)
    print(f"moto {moto.__version__} listening on http://{host}:{port}", file=sys.stderr, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass
    server.stop()
    print("moto stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tests/emulators",
                                description="CostCarve's AWS emulators: moto + the billing emulator, seeded.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{up,down,env}")

    def state_dir_arg(sp):
        sp.add_argument("--state-dir", type=Path, default=default_state_dir(),
                        help="pids, ports, logs (default: $COSTCARVE_EMU_STATE_DIR, else "
                             "${XDG_RUNTIME_DIR:-/tmp}/costcarve-emulators)")

    up = sub.add_parser("up", help="start + seed both emulators; print `export` lines")
    up.add_argument("--accounts", type=int, default=60, help="member accounts (default 60)")
    up.add_argument("--customers", type=int, default=None,
                    help=f"customer OUs (default: one per {ACCOUNTS_PER_CUSTOMER} customer accounts)")
    up.add_argument("--ous-per-customer", default=",".join(DEFAULT_ENV_OUS),
                    help="comma-separated OUs under each customer (default prod,dev)")
    up.add_argument("--billing-delay-ms", type=int, default=0,
                    help="latency the billing emulator adds to every call")
    up.add_argument("--health-delay-seconds", type=float, default=1.0,
                    help="how long a new/changed billing view stays CREATING/UPDATING (default 1)")
    up.add_argument("--workers", type=int, default=1,
                    help="accounts created in parallel (default 1: in order; 4 saves ~15%% at 1000)")
    up.add_argument("--rows", type=int, default=CUR_DEFAULT_ROWS,
                    help=f"CUR line items over the 13 billing periods (default {CUR_DEFAULT_ROWS})")
    up.add_argument("--seed", type=int, default=CUR_DEFAULT_SEED,
                    help=f"seed of the CUR data (default {CUR_DEFAULT_SEED})")
    up.add_argument("--verbose", action="store_true", help="servers log every request")
    state_dir_arg(up)
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop both emulators (ok if none runs)")
    state_dir_arg(down)
    down.set_defaults(func=cmd_down)

    env = sub.add_parser("env", help="print the `export` lines of the running set")
    state_dir_arg(env)
    env.set_defaults(func=cmd_env)

    serve = sub.add_parser("serve-moto")  # internal: how `up` runs moto
    serve.add_argument("--port-file", required=True)
    serve.add_argument("--verbose", action="store_true")
    serve.set_defaults(func=cmd_serve_moto)

    args = p.parse_args(argv)
    scrub_environment()
    try:
        return args.func(args)
    except HarnessError as err:
        log(f"error: {err}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (`| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
