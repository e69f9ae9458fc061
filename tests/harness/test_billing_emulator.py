"""Tests of the billing emulator, driven through boto3's stock `billing` client.

Run from the repository root:
    python -m pytest tests/harness -q   (with the venv of scripts/test)
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import billing_emulator  # noqa: E402
import update_model  # noqa: E402

ACCOUNT = "123456789012"
PRIMARY = f"arn:aws:billing::{ACCOUNT}:billingview/primary"


def accounts(n: int, start: int = 100000000000) -> list[str]:
    return [str(start + i) for i in range(n)]


def linked(values: list[str]) -> dict:
    return {"dimensions": {"key": "LINKED_ACCOUNT", "values": values}}


class Emulator:
    def __init__(self, url: str):
        self.url = url

    def control(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self.control("POST", "/_emulator/reset", {})

    def config(self, **patch) -> dict:
        return self.control("POST", "/_emulator/config", patch)

    def fault(self, **spec) -> dict:
        return self.control("POST", "/_emulator/faults", spec)["faults"][0]

    def state(self) -> dict:
        return self.control("GET", "/_emulator/state")

    def calls(self, operation: str | None = None) -> dict:
        return self.control("GET", "/_emulator/calls" + (f"?operation={operation}" if operation else ""))

    def custom_views(self) -> list[dict]:
        return [v for v in self.state()["views"] if v["billingViewType"] == "CUSTOM"]

    def raw(self, body: bytes, headers: dict) -> tuple[int, dict, dict]:
        req = urllib.request.Request(self.url + "/", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), json.loads(err.read())


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("billing-emulator")
    port_file = tmp / "port"
    stderr = open(tmp / "stderr.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "billing_emulator.py"), "--host", "127.0.0.1", "--port", "0",
         "--port-file", str(port_file), "--account-id", ACCOUNT],
        stdout=subprocess.DEVNULL, stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if proc.poll() is not None:
                stderr.seek(0)
                pytest.fail(f"emulator exited with {proc.returncode}: {stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("emulator did not write its port file")
            time.sleep(0.05)
        emu = Emulator(f"http://127.0.0.1:{int(port_file.read_text())}")
        assert emu.control("GET", "/_emulator/health")["ok"] is True
        yield emu
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


@pytest.fixture(autouse=True)
def fresh(emulator):
    emulator.reset()
    emulator.config(health_delay_seconds=0)
    yield


def make_client(emulator, total_attempts: int = 1, key: str = "testing"):
    """boto3's stock `billing` client. Note: botocore reads retries={"max_attempts": N}
    as N *retries* (total_max_attempts = N + 1), so retries are turned off with
    total_max_attempts=1."""
    return boto3.client(
        "billing",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": total_attempts, "mode": "standard"}),
    )


@pytest.fixture
def client(emulator):
    return make_client(emulator)


def create(client, name="Acme", values=None, **kw):
    kw.setdefault("sourceViews", [PRIMARY])
    kw.setdefault("dataFilterExpression", linked(values or ["111111111111", "222222222222"]))
    return client.create_billing_view(name=name, **kw)["arn"]


def wait_status(client, arn: str, code: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = client.get_billing_view(arn=arn)["billingView"]
        if view["healthStatus"]["statusCode"] == code:
            return view
        if time.monotonic() > deadline:
            pytest.fail(f"{arn} stayed {view['healthStatus']} instead of {code}")
        time.sleep(0.05)


def error_of(exc_info) -> dict:
    resp = exc_info.value.response
    return {"code": resp["Error"]["Code"], "message": resp["Error"]["Message"],
            "status": resp["ResponseMetadata"]["HTTPStatusCode"], **resp}


# ------------------------------------------------------------------------ lifecycle


def test_full_lifecycle(emulator, client):
    emulator.config(health_delay_seconds=0.4)
    arn = create(client, "Acme Corp", ["111111111111", "222222222222"], description="Acme VI",
                 resourceTags=[{"key": "costcarve:vi", "value": "acme"}])
    assert arn.startswith(f"arn:aws:billing::{ACCOUNT}:billingview/custom-")
    uuid.UUID(arn.rsplit("custom-", 1)[1])

    view = client.get_billing_view(arn=arn)["billingView"]
    assert view["healthStatus"]["statusCode"] == "CREATING"
    assert view["name"] == "Acme Corp"
    assert view["description"] == "Acme VI"
    assert view["billingViewType"] == "CUSTOM"
    assert view["ownerAccountId"] == ACCOUNT
    assert view["sourceAccountId"] == ACCOUNT
    assert view["sourceViewCount"] == 1
    assert view["derivedViewCount"] == 0
    assert view["dataFilterExpression"] == linked(["111111111111", "222222222222"])
    assert isinstance(view["createdAt"], dt.datetime)

    healthy = wait_status(client, arn, "HEALTHY")
    assert "statusReasons" not in healthy["healthStatus"]

    second = create(client, "Beta Ltd", ["333333333333"])
    primary = client.get_billing_view(arn=PRIMARY)["billingView"]
    assert primary["billingViewType"] == "PRIMARY"
    assert primary["derivedViewCount"] == 2

    pages, token = [], None
    while True:
        kwargs = {"maxResults": 1}
        if token:
            kwargs["nextToken"] = token
        resp = client.list_billing_views(**kwargs)
        pages.append(resp["billingViews"])
        token = resp.get("nextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [1, 1, 1]
    listed = [p[0] for p in pages]
    assert [v["arn"] for v in listed] == [PRIMARY, arn, second]
    assert listed[0]["billingViewType"] == "PRIMARY"
    assert {v["billingViewType"] for v in listed[1:]} == {"CUSTOM"}

    paginated = client.get_paginator("list_billing_views").paginate(PaginationConfig={"PageSize": 2})
    assert [v["arn"] for page in paginated for v in page["billingViews"]] == [PRIMARY, arn, second]

    before = client.get_billing_view(arn=arn)["billingView"]
    time.sleep(0.01)
    client.update_billing_view(arn=arn, dataFilterExpression=linked(["444444444444"]))
    updated = client.get_billing_view(arn=arn)["billingView"]
    assert updated["dataFilterExpression"] == linked(["444444444444"])
    assert updated["healthStatus"]["statusCode"] == "UPDATING"
    assert updated["name"] == "Acme Corp"  # omitted members are left unchanged
    assert updated["viewDefinitionLastUpdatedAt"] > before["viewDefinitionLastUpdatedAt"]
    wait_status(client, arn, "HEALTHY")

    assert client.list_tags_for_resource(resourceArn=arn)["resourceTags"] == [
        {"key": "costcarve:vi", "value": "acme"}]
    client.tag_resource(resourceArn=arn, resourceTags=[{"key": "owner", "value": "msp"},
                                                       {"key": "costcarve:vi", "value": "acme2"}])
    tags = client.list_tags_for_resource(resourceArn=arn)["resourceTags"]
    assert sorted((t["key"], t["value"]) for t in tags) == [("costcarve:vi", "acme2"), ("owner", "msp")]
    client.untag_resource(resourceArn=arn, resourceTagKeys=["owner"])
    assert client.list_tags_for_resource(resourceArn=arn)["resourceTags"] == [
        {"key": "costcarve:vi", "value": "acme2"}]

    assert client.delete_billing_view(arn=arn)["arn"] == arn
    with pytest.raises(client.exceptions.ResourceNotFoundException) as exc:
        client.get_billing_view(arn=arn)
    err = error_of(exc)
    assert err["resourceId"] == arn and err["resourceType"] == "billingview"
    assert [v["arn"] for v in client.list_billing_views()["billingViews"]] == [PRIMARY, second]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_billing_view(arn=arn)


def test_update_name_and_description_only_is_immediate(emulator, client):
    arn = create(client)
    emulator.config(health_delay_seconds=5)
    resp = client.update_billing_view(arn=arn, name="Acme Renamed", description="")
    view = client.get_billing_view(arn=arn)["billingView"]
    assert view["name"] == "Acme Renamed" and view["description"] == ""
    assert view["healthStatus"]["statusCode"] == "HEALTHY"
    assert view["updatedAt"] == resp["updatedAt"]


# ----------------------------------------------------------------------- validation

P = "dataFilterExpression.dimensions.values"


@pytest.mark.parametrize(
    "kwargs, field, needles",
    [
        pytest.param({"dataFilterExpression": linked(accounts(201))}, P,
                     ["less than or equal to 200", "201 items"], id="201-accounts"),
        pytest.param({"name": "acme/corp"}, "name", ["regular expression pattern", "'/'"], id="bad-name-char"),
        pytest.param({"name": "x" * 129}, "name", ["less than or equal to 128"], id="name-too-long"),
        pytest.param({"dataFilterExpression": linked(["111111111111", "12345678901"])}, P + ".2.member",
                     ["12-digit", "12345678901"], id="11-digit-account"),
        pytest.param({"dataFilterExpression": linked(["11111111111a"])}, P + ".1.member",
                     ["12-digit"], id="non-digit-account"),
        pytest.param({"dataFilterExpression": linked(["111111111111", "111111111111"])}, P + ".2.member",
                     ["Duplicate"], id="duplicate-account"),
        pytest.param({"description": "d" * 1025}, "description", ["less than or equal to 1024"],
                     id="description-too-long"),
        pytest.param({"description": "Acme, Inc."}, "description", ["regular expression pattern", "','"],
                     id="description-bad-char"),
        pytest.param({"dataFilterExpression": {"dimensions": {"key": "SERVICE", "values": ["x"]}}},
                     "dataFilterExpression.dimensions.key", ["enum value set", "LINKED_ACCOUNT"], id="bad-dimension"),
        pytest.param({"sourceViews": ["arn:aws:billing::123:billingview/primary"]}, "sourceViews.1.member",
                     ["regular expression pattern"], id="malformed-source-arn"),
        pytest.param({"dataFilterExpression": {}}, "dataFilterExpression", ["at least one of"], id="empty-filter"),
    ],
)
def test_create_validation(emulator, client, kwargs, field, needles):
    args = {"name": "Acme", "sourceViews": [PRIMARY], "dataFilterExpression": linked(["111111111111"])}
    args.update(kwargs)
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.create_billing_view(**args)
    err = error_of(exc)
    assert err["status"] == 400
    assert err["reason"] == "fieldValidationFailed"
    assert [f["name"] for f in err["fieldList"]] == [field]
    assert f"'{field}'" in err["message"]
    for needle in needles:
        assert needle in err["message"], err["message"]
    assert emulator.custom_views() == []


def test_update_validation(client):
    arn = create(client)
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.update_billing_view(arn=arn, dataFilterExpression=linked(accounts(201)))
    assert "less than or equal to 200" in error_of(exc)["message"]
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.update_billing_view(arn=arn, name="bad|name")
    assert "'|'" in error_of(exc)["message"]
    assert client.get_billing_view(arn=arn)["billingView"]["name"] == "Acme"
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.update_billing_view(arn=PRIMARY, name="Mine")
    assert "Only CUSTOM" in error_of(exc)["message"]


def test_unknown_source_view(emulator, client):
    missing = f"arn:aws:billing::{ACCOUNT}:billingview/custom-{uuid.uuid4()}"
    with pytest.raises(client.exceptions.ResourceNotFoundException) as exc:
        create(client, sourceViews=[missing])
    err = error_of(exc)
    assert err["resourceId"] == missing
    assert missing in err["message"]
    assert emulator.custom_views() == []


def test_source_view_of_another_account_is_denied(client):
    with pytest.raises(client.exceptions.AccessDeniedException) as exc:
        create(client, sourceViews=["arn:aws:billing::999999999999:billingview/primary"])
    assert "999999999999" in error_of(exc)["message"]


def test_max_200_accounts_is_accepted(client):
    arn = create(client, values=accounts(200))
    assert len(client.get_billing_view(arn=arn)["billingView"]["dataFilterExpression"]["dimensions"]["values"]) == 200


# -------------------------------------------------------------------- idempotency


def test_client_token_idempotency(emulator, client):
    token = str(uuid.uuid4())
    first = client.create_billing_view(name="Acme", sourceViews=[PRIMARY], clientToken=token,
                                       dataFilterExpression=linked(["111111111111"]))
    again = client.create_billing_view(name="Acme", sourceViews=[PRIMARY], clientToken=token,
                                       dataFilterExpression=linked(["111111111111"]))
    assert again["arn"] == first["arn"]
    assert again["createdAt"] == first["createdAt"]
    assert len(emulator.custom_views()) == 1
    assert emulator.calls()["counts"]["CreateBillingView"] == {"calls": 2, "errors": 0}

    with pytest.raises(client.exceptions.ConflictException) as exc:
        client.create_billing_view(name="Acme", sourceViews=[PRIMARY], clientToken=token,
                                   dataFilterExpression=linked(["222222222222"]))
    err = error_of(exc)
    assert token in err["message"] and err["resourceId"] == first["arn"]
    assert len(emulator.custom_views()) == 1

    # botocore fills clientToken itself (idempotencyToken), so plain calls create new views
    create(client)
    create(client)
    assert len(emulator.custom_views()) == 3
    assert all(c["request"].get("clientToken") for c in emulator.calls("CreateBillingView")["calls"])


# --------------------------------------------------------------------------- quota


def test_quota(emulator, client):
    emulator.config(quota=2, quota_code="L-TEST")
    first = create(client, "One")
    create(client, "Two")
    with pytest.raises(client.exceptions.ServiceQuotaExceededException) as exc:
        create(client, "Three")
    err = error_of(exc)
    assert err["quotaCode"] == "L-TEST" and err["serviceCode"] == "billing"
    assert err["resourceType"] == "billingview" and "quota is 2" in err["message"]
    client.delete_billing_view(arn=first)
    create(client, "Three")


# -------------------------------------------------------------------------- health


def test_update_while_creating_conflicts(emulator, client):
    emulator.config(health_delay_seconds=30)
    arn = create(client)
    with pytest.raises(client.exceptions.ConflictException) as exc:
        client.update_billing_view(arn=arn, dataFilterExpression=linked(["333333333333"]))
    err = error_of(exc)
    assert "CREATING" in err["message"] and err["resourceId"] == arn

    emulator.config(update_while_pending="health_status")
    with pytest.raises(client.exceptions.BillingViewHealthStatusException):
        client.update_billing_view(arn=arn, dataFilterExpression=linked(["333333333333"]))

    assert emulator.control("POST", "/_emulator/settle", {"arn": arn})["settled"] == 1
    client.update_billing_view(arn=arn, dataFilterExpression=linked(["333333333333"]))
    state = {v["arn"]: v for v in emulator.state()["views"]}[arn]
    assert state["revision"] == 2 and state["healthStatus"]["statusCode"] == "UPDATING"


def test_unhealthy_fault_and_health_propagation(emulator, client):
    arn = create(client)
    emulator.fault(kind="unhealthy", arn=arn, reasons=["SOURCE_VIEW_ACCESS_DENIED"])
    view = client.get_billing_view(arn=arn)["billingView"]
    assert view["healthStatus"] == {"statusCode": "UNHEALTHY", "statusReasons": ["SOURCE_VIEW_ACCESS_DENIED"]}
    listed = client.list_billing_views(arns=[arn])["billingViews"][0]
    assert listed["healthStatus"]["statusCode"] == "UNHEALTHY"
    with pytest.raises(client.exceptions.BillingViewHealthStatusException):
        create(client, "Derived", sourceViews=[arn])

    emulator.fault(kind="healthy", arn=arn)
    derived = create(client, "Derived", sourceViews=[arn])
    emulator.fault(kind="unhealthy", arn=arn)
    assert client.get_billing_view(arn=derived)["billingView"]["healthStatus"] == {
        "statusCode": "UNHEALTHY", "statusReasons": ["SOURCE_VIEW_UNHEALTHY"]}

    # a filter update clears a non-sticky UNHEALTHY
    client.update_billing_view(arn=arn, dataFilterExpression=linked(["999999999999"]))
    assert client.get_billing_view(arn=arn)["billingView"]["healthStatus"]["statusCode"] == "HEALTHY"


def test_delete_source_of_derived_view(client):
    base = create(client, "Base")
    derived = create(client, "Derived", sourceViews=[base])
    assert client.get_billing_view(arn=base)["billingView"]["derivedViewCount"] == 1
    with pytest.raises(client.exceptions.ConflictException) as exc:
        client.delete_billing_view(arn=base)
    assert derived in error_of(exc)["message"]
    client.delete_billing_view(arn=base, force=True)
    assert client.get_billing_view(arn=derived)["billingView"]["healthStatus"] == {
        "statusCode": "UNHEALTHY", "statusReasons": ["SOURCE_VIEW_NOT_FOUND"]}
    with pytest.raises(client.exceptions.ValidationException):
        client.delete_billing_view(arn=PRIMARY)


def test_source_view_association(client):
    a = create(client, "A")
    b = create(client, "B", sourceViews=[a])
    client.associate_source_views(arn=b, sourceViews=[PRIMARY])
    assert client.list_source_views_for_billing_view(arn=b)["sourceViews"] == [a, PRIMARY]
    first = client.list_source_views_for_billing_view(arn=b, maxResults=1)
    assert first["sourceViews"] == [a] and first["nextToken"]
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.associate_source_views(arn=a, sourceViews=[b])
    assert "cyclic" in error_of(exc)["message"]
    client.disassociate_source_views(arn=b, sourceViews=[a])
    assert client.list_source_views_for_billing_view(arn=b)["sourceViews"] == [PRIMARY]
    with pytest.raises(client.exceptions.ValidationException):
        client.disassociate_source_views(arn=b, sourceViews=[PRIMARY])


# -------------------------------------------------------------------------- faults


def test_nth_call_fails(emulator, client):
    arn = create(client)
    emulator.fault(operation="GetBillingView", nth=2, error_type="InternalServerException",
                   status=500, message="boom")
    client.get_billing_view(arn=arn)
    with pytest.raises(client.exceptions.InternalServerException) as exc:
        client.get_billing_view(arn=arn)
    err = error_of(exc)
    assert err["status"] == 500 and err["message"] == "boom"
    client.get_billing_view(arn=arn)
    report = emulator.calls("GetBillingView")
    assert report["counts"]["GetBillingView"] == {"calls": 3, "errors": 1}
    assert [c["error"] for c in report["calls"]] == [None, "InternalServerException", None]
    assert [c["status"] for c in report["calls"]] == [200, 500, 200]


def test_injected_conflict_for_one_view(emulator, client):
    a = create(client, "A")
    b = create(client, "B")
    emulator.fault(operation="UpdateBillingView", arn=a, error_type="ConflictException",
                   message="stale revision")
    client.update_billing_view(arn=b, name="B2")  # other view: not affected
    with pytest.raises(client.exceptions.ConflictException) as exc:
        client.update_billing_view(arn=a, name="A2")
    err = error_of(exc)
    assert err["resourceId"] == a and err["message"] == "stale revision" and err["status"] == 400
    client.update_billing_view(arn=a, name="A2")
    assert emulator.state()["faults"][0]["exhausted"] is True


def test_throttling_then_success_with_retries(emulator):
    emulator.fault(kind="throttle", operation="ListBillingViews", count=2)
    retrying = make_client(emulator, total_attempts=3)
    views = retrying.list_billing_views()["billingViews"]
    assert [v["arn"] for v in views] == [PRIMARY]
    report = emulator.calls("ListBillingViews")
    assert report["counts"]["ListBillingViews"] == {"calls": 3, "errors": 2}
    assert [c["error"] for c in report["calls"]] == ["ThrottlingException", "ThrottlingException", None]


def test_throttling_without_retries_surfaces(emulator, client):
    emulator.fault(kind="throttle", operation="*", count=1)
    with pytest.raises(client.exceptions.ThrottlingException) as exc:
        client.list_billing_views()
    assert error_of(exc)["status"] == 400
    client.list_billing_views()


def test_call_delay_and_delay_fault(emulator, client):
    emulator.config(call_delay_ms={"ListBillingViews": 300})
    start = time.monotonic()
    client.list_billing_views()
    assert time.monotonic() - start >= 0.3
    emulator.config(call_delay_ms=0)
    emulator.fault(kind="delay", operation="ListBillingViews", delay_ms=250)
    start = time.monotonic()
    client.list_billing_views()
    assert time.monotonic() - start >= 0.25
    start = time.monotonic()
    client.list_billing_views()
    assert time.monotonic() - start < 0.25


def test_disconnect_fault(emulator, client):
    emulator.fault(kind="disconnect", operation="ListBillingViews")
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ReadTimeoutError)):
        client.list_billing_views()
    client.list_billing_views()


# ------------------------------------------------------------- policy, list filters


def test_get_resource_policy(emulator, client):
    arn = create(client)
    resp = client.get_resource_policy(resourceArn=arn)
    assert resp["resourceArn"] == arn and "policy" not in resp
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "210987654321"},
                                                      "Action": "billing:GetBillingViewData", "Resource": arn}]}
    emulator.control("POST", "/_emulator/resource-policy", {"arn": arn, "policy": policy})
    assert json.loads(client.get_resource_policy(resourceArn=arn)["policy"]) == policy
    assert client.get_resource_policy(resourceArn=PRIMARY)["resourceArn"] == PRIMARY
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_resource_policy(resourceArn=f"arn:aws:billing::{ACCOUNT}:billingview/custom-{uuid.uuid4()}")


def test_list_filters(client):
    a = create(client, "Acme Prod")
    b = create(client, "Beta")
    assert [v["arn"] for v in client.list_billing_views(billingViewTypes=["PRIMARY"])["billingViews"]] == [PRIMARY]
    assert [v["arn"] for v in client.list_billing_views(billingViewTypes=["CUSTOM"])["billingViews"]] == [a, b]
    names = client.list_billing_views(names=[{"searchOption": "STARTS_WITH", "searchValue": "Acme"}])
    assert [v["arn"] for v in names["billingViews"]] == [a]
    assert [v["arn"] for v in client.list_billing_views(arns=[b, PRIMARY])["billingViews"]] == [PRIMARY, b]
    assert client.list_billing_views(ownerAccountId="999999999999")["billingViews"] == []
    assert len(client.list_billing_views(sourceAccountId=ACCOUNT)["billingViews"]) == 2

    now = dt.datetime.now(dt.timezone.utc)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    ok = client.list_billing_views(activeTimeRange={"activeAfterInclusive": start, "activeBeforeInclusive": now})
    assert len(ok["billingViews"]) == 3
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.list_billing_views(activeTimeRange={"activeAfterInclusive": start - dt.timedelta(days=40),
                                                   "activeBeforeInclusive": now})
    assert "calendar month" in error_of(exc)["message"]

    page = client.list_billing_views(maxResults=1)
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.list_billing_views(maxResults=1, nextToken=page["nextToken"], billingViewTypes=["CUSTOM"])
    assert "different filters" in error_of(exc)["message"]
    with pytest.raises(client.exceptions.ValidationException):
        client.list_billing_views(nextToken="bm90LWEtdG9rZW4=")
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.list_billing_views(maxResults=101)
    assert "less than or equal to 100" in error_of(exc)["message"]


def test_tag_validation(client):
    arn = create(client)
    with pytest.raises(client.exceptions.ValidationException) as exc:
        client.tag_resource(resourceArn=arn, resourceTags=[{"key": "aws:reserved", "value": "x"}])
    assert "reserved" in error_of(exc)["message"]
    with pytest.raises(client.exceptions.ValidationException):
        create(client, resourceTags=[{"key": "k", "value": "1"}, {"key": "k", "value": "2"}])


# ---------------------------------------------------------------- accounts and auth


def test_access_key_selects_account(emulator):
    emulator.config(access_keys={"AKIDOTHERPAYER": "210987654321"}, member_account_ids=["555555555555"])
    other = make_client(emulator, key="AKIDOTHERPAYER")
    other_primary = "arn:aws:billing::210987654321:billingview/primary"
    arn = create(other, sourceViews=[other_primary])
    assert arn.startswith("arn:aws:billing::210987654321:billingview/custom-")
    assert [v["arn"] for v in other.list_billing_views()["billingViews"]] == [other_primary, arn]
    default = make_client(emulator)
    assert [v["arn"] for v in default.list_billing_views()["billingViews"]] == [PRIMARY]
    with pytest.raises(default.exceptions.AccessDeniedException):
        default.get_billing_view(arn=arn)

    emulator.config(access_keys={"AKIDMEMBER": "555555555555"})
    member = make_client(emulator, key="AKIDMEMBER")
    with pytest.raises(member.exceptions.AccessDeniedException) as exc:
        create(member, sourceViews=["arn:aws:billing::555555555555:billingview/primary"])
    assert "management account" in error_of(exc)["message"]

    emulator.config(strict_access_keys=True)
    with pytest.raises(botocore.exceptions.ClientError) as exc:
        make_client(emulator, key="AKIDUNKNOWN").list_billing_views()
    assert error_of(exc)["code"] == "UnrecognizedClientException" and error_of(exc)["status"] == 403


SIGV4 = ("AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/billing/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00")


def headers(op: str, **extra) -> dict:
    h = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AWSBilling.{op}",
         "X-Amz-Date": "20250101T000000Z", "Authorization": SIGV4}
    h.update(extra)
    return {k: v for k, v in h.items() if v is not None}


def test_wire_format(emulator):
    body = json.dumps({"name": "Raw", "sourceViews": [PRIMARY],
                       "dataFilterExpression": linked(["111111111111"])}).encode()
    status, hdrs, out = emulator.raw(body, headers("CreateBillingView"))
    assert status == 200 and hdrs["Content-Type"] == "application/x-amz-json-1.0"
    assert isinstance(out["createdAt"], (int, float)) and set(out) == {"arn", "createdAt"}
    assert hdrs.get("x-amzn-RequestId")

    status, hdrs, out = emulator.raw(json.dumps({"arn": PRIMARY + "x"}).encode(), headers("GetBillingView"))
    assert status == 400 and out["__type"] == "ResourceNotFoundException"
    assert hdrs["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert out["resourceId"] == PRIMARY + "x" and out["message"]

    status, hdrs, out = emulator.raw(b"{}", headers("ListBillingViews", Authorization=None))
    assert status == 403 and out["__type"] == "MissingAuthenticationTokenException"
    assert hdrs["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"

    wrong_scope = SIGV4.replace("/billing/", "/ce/")
    status, _, out = emulator.raw(b"{}", headers("ListBillingViews", Authorization=wrong_scope))
    assert status == 403 and out["__type"] == "InvalidSignatureException"

    status, _, out = emulator.raw(b"{}", headers("Nope"))
    assert status == 400 and out["__type"] == "ValidationException" and out["reason"] == "unknownOperation"
    status, _, out = emulator.raw(b"{}", headers("GetCredits"))
    assert out["reason"] == "unknownOperation" and "not emulated" in out["message"]

    status, _, out = emulator.raw(b"{not json", headers("ListBillingViews"))
    assert status == 400 and out["reason"] == "cannotParse"
    status, _, out = emulator.raw(b'{"maxResults": "3"}', headers("ListBillingViews"))
    assert status == 400 and out["reason"] == "cannotParse" and "maxResults" in out["message"]
    status, _, out = emulator.raw(b"{}", headers("ListBillingViews", **{"Content-Type": "application/json"}))
    assert status == 400 and out["reason"] == "cannotParse"

    status, _, out = emulator.raw(b"{}", headers("GetBillingView"))
    assert status == 400 and out["fieldList"] == [{"name": "arn", "message": "Member must not be null"}]


def test_control_api(emulator, client):
    cfg = emulator.control("GET", "/_emulator/config")
    assert cfg["account_id"] == ACCOUNT and cfg["health_delay_seconds"] == 0
    with pytest.raises(urllib.error.HTTPError) as exc:
        emulator.config(no_such_key=1)
    assert exc.value.code == 400
    with pytest.raises(urllib.error.HTTPError):
        emulator.fault(operation="NoSuchOperation")

    arn = create(client, resourceTags=[{"key": "k", "value": "v"}])
    state = emulator.state()
    view = {v["arn"]: v for v in state["views"]}[arn]
    assert view["resourceTags"] == [{"key": "k", "value": "v"}]
    assert view["dataFilterExpression"] == linked(["111111111111", "222222222222"])
    assert view["healthStatus"] == {"statusCode": "HEALTHY"}
    assert len(state["client_tokens"]) == 1

    emulator.control("POST", "/_emulator/faults", {"faults": [{"kind": "throttle", "operation": "GetBillingView"}]})
    assert len(emulator.control("GET", "/_emulator/faults")["faults"]) == 1
    emulator.control("DELETE", "/_emulator/faults")
    client.get_billing_view(arn=arn)

    emulator.control("DELETE", "/_emulator/calls")
    assert emulator.calls()["counts"] == {}
    emulator.reset()
    assert emulator.custom_views() == []
    assert emulator.control("GET", "/_emulator/config")["health_delay_seconds"] == 1.0


def test_embedded_model_matches_botocore():
    """The shapes the emulator validates against are exactly botocore's (docs stripped)."""
    fresh = update_model.subset(update_model.load_botocore_model(), billing_emulator.IMPLEMENTED_OPERATIONS)
    assert fresh == billing_emulator.MODEL


def test_botocore_max_attempts_1_still_retries_once(emulator):
    """Pins the pitfall documented in make_client: retries={"max_attempts": 1} is 2 attempts."""
    emulator.fault(kind="throttle", operation="ListBillingViews", count=1)
    c = boto3.client("billing", endpoint_url=emulator.url, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     config=Config(retries={"max_attempts": 1}))
    c.list_billing_views()
    assert emulator.calls()["counts"]["ListBillingViews"] == {"calls": 2, "errors": 1}


def test_concurrent_creates_respect_quota_and_tokens(emulator):
    """State is shared by the server's threads: the quota and clientTokens hold under concurrency."""
    from concurrent.futures import ThreadPoolExecutor

    emulator.config(quota=25)
    token = str(uuid.uuid4())

    def work(i: int) -> str:
        c = make_client(emulator)
        try:
            if i % 4 == 0:  # a quarter of the calls replay one clientToken
                return c.create_billing_view(name="Same", sourceViews=[PRIMARY], clientToken=token,
                                             dataFilterExpression=linked(["111111111111"]))["arn"]
            return create(c, f"View {i}")
        except c.exceptions.ServiceQuotaExceededException:
            return "quota"

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(60)))
    replayed = {results[i] for i in range(0, 60, 4)} - {"quota"}
    assert len(replayed) <= 1
    assert len(emulator.custom_views()) == 25
    assert len({r for r in results if r != "quota"}) == 25  # replays return the one ARN, even at quota
    assert emulator.calls()["counts"]["CreateBillingView"]["calls"] == 60
