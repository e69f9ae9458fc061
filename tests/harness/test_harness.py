"""Tests of `tests/emulators` (harness.py): it is run as a person runs it, as a
subprocess, and what it seeded is read back with boto3 clients configured only
by the environment it printed.

Run from the repository root:
    python -m pytest tests/harness -q
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EMULATORS = ROOT / "tests" / "emulators"
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

ACCOUNTS = 120
PAYER = "123456789012"
EXPECTED_EXPORTS = {
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_BILLING", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED", "COSTCARVE_EMU_MOTO_URL",
    "COSTCARVE_EMU_BILLING_URL", "COSTCARVE_EMU_PAYER_ACCOUNT_ID", "COSTCARVE_EMU_CONNECTION_ARGS",
    "COSTCARVE_EMU_STATE_DIR",
}
REQUIRED_CUR_COLUMNS = {
    "bill_payer_account_id": "string",
    "line_item_usage_account_id": "string",
    "line_item_usage_account_name": "string",
    "line_item_unblended_cost": "double",
    "line_item_usage_start_date": "timestamp",
    "line_item_product_code": "string",
    "line_item_line_item_type": "string",
    "product": "map<string,string>",
    "resource_tags": "map<string,string>",
}


def child_env() -> dict[str, str]:
    """The caller's environment minus any AWS or emulator settings; the venv
    running this test is the one `tests/emulators` uses."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("AWS_") and not k.startswith("COSTCARVE_EMU_")}
    if sys.prefix != sys.base_prefix:
        env["COSTCARVE_TEST_VENV"] = sys.prefix
    return env


def emulators(*args: str, state_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(EMULATORS), *args, "--state-dir", str(state_dir)], env=child_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def parse_exports(stdout: str) -> dict[str, str]:
    out = {}
    for line in stdout.splitlines():
        assert re.fullmatch(r"export [A-Z_][A-Z0-9_]*='[^']*'", line), f"not an export line: {line!r}"
        word, assignment = shlex.split(line)
        name, value = assignment.split("=", 1)
        out[name] = value
    return out


def connection_flags(args: str) -> dict[str, str]:
    words = shlex.split(args)
    assert len(words) % 2 == 0 and all(w.startswith("--") for w in words[::2]), words
    return dict(zip(words[::2], words[1::2]))


class Emu:
    def __init__(self, state_dir: Path, up: subprocess.CompletedProcess, seconds: float):
        self.state_dir = state_dir
        self.up = up
        self.seconds = seconds
        self.exports = parse_exports(up.stdout)
        self.flags = connection_flags(self.exports["COSTCARVE_EMU_CONNECTION_ARGS"])

    def state(self) -> dict:
        return json.loads((self.state_dir / "state.json").read_text())


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("emulators")
    t0 = time.monotonic()
    up = emulators("up", "--accounts", str(ACCOUNTS), "--health-delay-seconds", "0", state_dir=state_dir)
    seconds = time.monotonic() - t0
    try:
        assert up.returncode == 0, f"up failed ({up.returncode}):\n{up.stderr}"
        print(f"\n`tests/emulators up --accounts {ACCOUNTS}` took {seconds:.1f} s", file=sys.stderr)
        yield Emu(state_dir, up, seconds)
    finally:
        emulators("down", state_dir=state_dir)


@pytest.fixture
def aws(emu, monkeypatch):
    """boto3 clients configured by nothing but the printed exports."""
    for key in list(os.environ):
        if key.upper().startswith("AWS_") or key.upper() in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    for key, value in emu.exports.items():
        monkeypatch.setenv(key, value)
    session = boto3.session.Session()
    config = Config(retries={"total_max_attempts": 1})

    def client(service: str):
        c = session.client(service, config=config)
        expected = emu.exports["AWS_ENDPOINT_URL_BILLING" if service == "billing" else "AWS_ENDPOINT_URL"]
        assert c.meta.endpoint_url == expected  # never anything but the emulators
        assert c.meta.region_name == "us-east-1"
        return c

    return client


def all_pages(client, operation: str, key: str, **kwargs) -> tuple[list, int]:
    items, pages = [], 0
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page[key])
        pages += 1
    return items, pages


# ----------------------------------------------------------------------------


def test_up_prints_only_export_lines_for_both_emulators(emu):
    ex = emu.exports
    assert set(ex) == EXPECTED_EXPORTS
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", ex["AWS_ENDPOINT_URL"])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", ex["AWS_ENDPOINT_URL_BILLING"])
    assert ex["AWS_ENDPOINT_URL"] != ex["AWS_ENDPOINT_URL_BILLING"]
    assert ex["COSTCARVE_EMU_MOTO_URL"] == ex["AWS_ENDPOINT_URL"]
    assert ex["COSTCARVE_EMU_BILLING_URL"] == ex["AWS_ENDPOINT_URL_BILLING"]
    assert (ex["AWS_ACCESS_KEY_ID"], ex["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")
    assert ex["AWS_REGION"] == ex["AWS_DEFAULT_REGION"] == "us-east-1"
    assert ex["AWS_EC2_METADATA_DISABLED"] == "true"
    assert ex["COSTCARVE_EMU_PAYER_ACCOUNT_ID"] == PAYER
    assert Path(ex["COSTCARVE_EMU_STATE_DIR"]) == emu.state_dir.resolve()
    assert set(emu.flags) == {"--region", "--cur-table", "--workgroup", "--results", "--views-database"}
    assert emu.flags["--region"] == "us-east-1"
    assert emu.flags["--workgroup"] == "costcarve"
    assert re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", emu.flags["--cur-table"])
    assert re.fullmatch(r"s3://[a-z0-9.-]+/.+/", emu.flags["--results"])
    assert emu.seconds < 30, f"up took {emu.seconds:.1f} s"


def test_exports_survive_eval_in_a_shell(emu):
    script = 'eval "$1"; printf "%s\\n%s" "$AWS_ENDPOINT_URL" "$COSTCARVE_EMU_CONNECTION_ARGS"'
    out = subprocess.run(["bash", "-c", script, "_", emu.up.stdout], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n") == [emu.exports["AWS_ENDPOINT_URL"], emu.exports["COSTCARVE_EMU_CONNECTION_ARGS"]]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with_link = os.readlink(fd) if fd.is_symlink() else ""
        m = re.fullmatch(r"socket:\[(\d+)\]", with_link)
        if m:
            inodes.add(m.group(1))
    return inodes


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_servers_listen_on_loopback_only_and_talk_to_nobody_else(emu):
    state = emu.state()
    inodes = _socket_inodes(state["moto"]["pid"]) | _socket_inodes(state["billing"]["pid"])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, st, inode = fields[1], fields[2], fields[3], fields[9]
            if inode not in inodes:
                continue
            assert table == "/proc/net/tcp", f"socket in {table}: {line}"
            for addr in (local, remote):
                ip = addr.split(":")[0]
                assert ip in ("0100007F", "00000000") and (ip != "00000000" or st == "0A"), line
            if st == "0A":  # LISTEN
                assert local.split(":")[0] == "0100007F", line
                listening.append(int(local.split(":")[1], 16))
    assert sorted(listening) == sorted([state["moto"]["port"], state["billing"]["port"]])


def test_organization_has_the_payer_and_every_member(emu, aws):
    org = aws("organizations")
    described = org.describe_organization()["Organization"]
    assert described["MasterAccountId"] == PAYER
    assert described["FeatureSet"] == "ALL"
    accounts, pages = all_pages(org, "list_accounts", "Accounts", PaginationConfig={"PageSize": 20})
    # without MaxResults a page holds 20, as in AWS (moto alone: 100; moto_patches.py fixes it)
    first = org.list_accounts()
    assert len(first["Accounts"]) == 20 and "NextToken" in first
    assert len(accounts) == ACCOUNTS + 1
    assert pages == -(-(ACCOUNTS + 1) // 20)
    ids = [a["Id"] for a in accounts]
    assert len(set(ids)) == len(ids) and PAYER in ids
    assert all(re.fullmatch(r"\d{12}", i) for i in ids)
    assert all(a["Status"] == "ACTIVE" for a in accounts)
    members = [a for a in accounts if a["Id"] != PAYER]
    emails = [a["Email"] for a in members]
    assert len(set(emails)) == len(emails)
    assert all(re.fullmatch(r"aws\+[a-z0-9-]+@msp\.example", e) for e in emails)
    assert all(1 <= len(a["Name"]) <= 50 for a in members)


def walk_tree(org) -> tuple[dict, dict]:
    """OU path -> OU id, account id -> OU path, by walking from the root."""
    root = org.list_roots()["Roots"][0]["Id"]
    ou_paths: dict[str, str] = {}
    account_paths: dict[str, str] = {}
    todo = [("", root)]
    while todo:
        path, parent = todo.pop()
        for acct in all_pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent)[0]:
            account_paths[acct["Id"]] = path
        for ou in all_pages(org, "list_organizational_units_for_parent", "OrganizationalUnits",
                            ParentId=parent)[0]:
            child = f"{path}/{ou['Name']}" if path else ou["Name"]
            ou_paths[child] = ou["Id"]
            todo.append((child, ou["Id"]))
    return ou_paths, account_paths


def test_ou_tree_customers_with_env_ous_shared_services_and_sandbox(emu, aws):
    org = aws("organizations")
    ou_paths, account_paths = walk_tree(org)
    top = {p for p in ou_paths if "/" not in p}
    assert top == {"Customers", "Shared services", "Sandbox"}
    customers = {p.split("/")[1] for p in ou_paths if p.startswith("Customers/")}
    assert len(customers) == emu.state()["options"]["customers"] >= 10
    for cust in customers:
        children = {p.rsplit("/", 1)[1] for p in ou_paths if p.startswith(f"Customers/{cust}/")}
        assert children == {"prod", "dev"}, cust
    assert account_paths.pop(PAYER) == ""  # the management account stays at the root
    assert len(account_paths) == ACCOUNTS
    assert "" not in account_paths.values()
    per_ou: dict[str, int] = {}
    for path in account_paths.values():
        per_ou[path] = per_ou.get(path, 0) + 1
    assert per_ou.pop("Shared services") == 4
    assert per_ou.pop("Sandbox") == ACCOUNTS // 20
    assert all(re.fullmatch(r"Customers/[^/]+/(prod|dev)", p) for p in per_ou)
    assert sum(per_ou.values()) == ACCOUNTS - 4 - ACCOUNTS // 20
    # every customer has accounts, spread evenly (round-robin)
    per_customer = {}
    for path, n in per_ou.items():
        per_customer[path.split("/")[1]] = per_customer.get(path.split("/")[1], 0) + n
    assert set(per_customer) == customers
    assert max(per_customer.values()) - min(per_customer.values()) <= 1


def test_accounts_are_tagged_with_their_customer_and_env(emu, aws):
    org = aws("organizations")
    ou_paths, account_paths = walk_tree(org)
    account_paths.pop(PAYER)
    customer_slug = {}
    for path, ou_id in ou_paths.items():
        if re.fullmatch(r"Customers/[^/]+", path):
            tags = {t["Key"]: t["Value"] for t in org.list_tags_for_resource(ResourceId=ou_id)["Tags"]}
            customer_slug[path.split("/")[1]] = tags["customer"]
    assert len(set(customer_slug.values())) == len(customer_slug)
    for account_id, path in account_paths.items():
        tags = {t["Key"]: t["Value"] for t in org.list_tags_for_resource(ResourceId=account_id)["Tags"]}
        if path == "Shared services":
            assert tags == {"customer": "internal", "env": "shared"}, account_id
        elif path == "Sandbox":
            assert tags == {"customer": "internal", "env": "sandbox"}, account_id
        else:
            _, customer, env = path.split("/")
            assert tags == {"customer": customer_slug[customer], "env": env}, (account_id, path)


def test_glue_has_a_cur2_table_partitioned_by_billing_period(emu, aws):
    glue = aws("glue")
    database, table_name = emu.flags["--cur-table"].split(".")
    table = glue.get_table(DatabaseName=database, Name=table_name)["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    for name, typ in REQUIRED_CUR_COLUMNS.items():
        assert columns.get(name) == typ, name
    assert "billing_period" not in columns
    assert table["PartitionKeys"] == [{"Name": "billing_period", "Type": "string"}]
    assert table["TableType"] == "EXTERNAL_TABLE"
    sd = table["StorageDescriptor"]
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert sd["InputFormat"].endswith("MapredParquetInputFormat")
    assert re.fullmatch(r"s3://[a-z0-9.-]+/.+/", sd["Location"])
    partitions = glue.get_partitions(DatabaseName=database, TableName=table_name)["Partitions"]
    periods = sorted(p["Values"][0] for p in partitions)
    assert periods == harness.billing_periods(dt.datetime.now(dt.timezone.utc).date(), 13)
    for p in partitions:
        assert p["StorageDescriptor"]["Location"] == f"{sd['Location']}BILLING_PERIOD={p['Values'][0]}/"
    # ... and every partition holds its CUR 2.0 Parquet object (test_emulated_payer.py checks its rows).
    s3 = aws("s3")
    bucket, prefix = sd["Location"][len("s3://"):].split("/", 1)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    assert sorted(keys) == [f"{prefix}BILLING_PERIOD={p}/{harness.CUR_EXPORT}-00001.snappy.parquet" for p in periods]
    assert glue.get_database(Name=emu.flags["--views-database"])["Database"]["Name"] == emu.flags["--views-database"]


def test_athena_workgroup_writes_to_the_results_bucket(emu, aws):
    wg = aws("athena").get_work_group(WorkGroup=emu.flags["--workgroup"])["WorkGroup"]
    assert wg["State"] == "ENABLED"
    assert wg["Configuration"]["ResultConfiguration"]["OutputLocation"] == emu.flags["--results"]


def test_s3_has_the_cur_and_results_buckets(emu, aws):
    s3 = aws("s3")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    results_bucket = emu.flags["--results"][len("s3://"):].split("/")[0]
    database, table_name = emu.flags["--cur-table"].split(".")
    location = aws("glue").get_table(DatabaseName=database, Name=table_name)["Table"]["StorageDescriptor"]["Location"]
    cur_bucket = location[len("s3://"):].split("/")[0]
    assert {results_bucket, cur_bucket} <= buckets
    assert results_bucket != cur_bucket
    s3.head_bucket(Bucket=results_bucket)


def test_billing_lists_the_payers_primary_view(emu, aws):
    billing = aws("billing")
    views = billing.list_billing_views()["billingViews"]
    primary = [v for v in views if v["billingViewType"] == "PRIMARY"]
    assert [v["arn"] for v in primary] == [f"arn:aws:billing::{PAYER}:billingview/primary"]
    assert primary[0]["ownerAccountId"] == PAYER
    # the billing emulator knows the members (it denies them CreateBillingView)
    status, body = harness.http("GET", f"{emu.exports['COSTCARVE_EMU_BILLING_URL']}/_emulator/config")
    members = json.loads(body)["member_account_ids"]
    org_ids = {a["Id"] for a in all_pages(aws("organizations"), "list_accounts", "Accounts")[0]}
    assert set(members) == org_ids - {PAYER}


def test_up_while_up_reprints_the_same_environment(emu):
    again = emulators("up", "--accounts", "5", state_dir=emu.state_dir)
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stderr
    assert parse_exports(again.stdout) == emu.exports
    env = emulators("env", state_dir=emu.state_dir)
    assert env.returncode == 0, env.stderr
    assert parse_exports(env.stdout) == emu.exports


def _refused(url: str) -> bool:
    host, port = url[len("http://"):].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_down_stops_both_and_is_idempotent(emu):
    state = emu.state()
    down = emulators("down", state_dir=emu.state_dir)
    assert down.returncode == 0, down.stderr
    assert down.stdout == ""
    assert _refused(emu.exports["AWS_ENDPOINT_URL"])
    assert _refused(emu.exports["AWS_ENDPOINT_URL_BILLING"])
    assert not harness.same_process(state["moto"]) and not harness.same_process(state["billing"])
    assert not (emu.state_dir / "state.json").exists()
    again = emulators("down", state_dir=emu.state_dir)
    assert again.returncode == 0, again.stderr
    env = emulators("env", state_dir=emu.state_dir)
    assert env.returncode == 1 and env.stdout == ""


# ----------------------------------------------------------------------------
# The plan alone (no servers)


def test_plan_for_1000_accounts_fits_organizations_limits():
    plan = harness.plan_organization(1000)
    accounts = plan["accounts"]
    assert len(accounts) == 1000
    assert len(plan["customers"]) == 95
    assert len({a["email"] for a in accounts}) == 1000
    assert len({a["name"] for a in accounts}) == 1000
    assert all(1 <= len(a["name"]) <= 50 and len(a["email"]) <= 64 for a in accounts)  # AWS limits
    assert all(len(p[-1]) <= 128 for p in plan["ous"])
    paths = {tuple(p) for p in plan["ous"]}
    assert all(tuple(a["ou_path"]) in paths for a in accounts)
    for i, path in enumerate(plan["ous"]):  # parents come first
        assert len(path) == 1 or path[:-1] in plan["ous"][:i]


def test_plan_takes_custom_env_ous_and_customer_count():
    plan = harness.plan_organization(30, customers=3, env_ous=("prod", "staging", "dev"))
    assert [c["slug"] for c in plan["customers"]] == ["acme-retail", "globex-retail", "initech-retail"]
    envs = {a["tags"]["env"] for a in plan["accounts"] if a["ou_path"][0] == "Customers"}
    assert envs == {"prod", "staging", "dev"}
    with pytest.raises(harness.HarnessError):
        harness.plan_organization(10, env_ous=("prod", "prod"))
    assert harness.plan_organization(0)["accounts"] == []


def test_billing_periods_cross_year_boundaries():
    import datetime as dt

    assert harness.billing_periods(dt.date(2026, 2, 14), 3) == ["2025-12", "2026-01", "2026-02"]
    assert len(harness.billing_periods(dt.date(2026, 2, 14))) == 13
