"""Tests of ram_emulator.py (moto's RAM as moto_patches installs it): billing
views shared through RAM resource shares, the billing emulator's resource
policy that follows the shares, member accounts reading a shared view (billing
and Cost Explorer), RAM's errors and faults. Like test_moto_patches.py, a set
started by `tests/emulators up` is driven over HTTP only, with boto3's stock
`ram`, `billing`, `ce` and `sts` clients.

Run from the repository root:
    python -m pytest tests/harness -q
"""
from __future__ import annotations

import datetime as dt
import json
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import harness
from test_harness import Emu, emulators
from test_moto_patches import clients, control, start

PAYER = harness.PAYER_ACCOUNT_ID
PRIMARY = f"arn:aws:billing::{PAYER}:billingview/primary"
UP_ARGS = ("--accounts", "12", "--customers", "1", "--ous-per-customer", "prod", "--rows", "3000",
           "--health-delay-seconds", "0")
OUTSIDE = "999999999999"  # no account of the organization
TAG = {"key": "costcarve:integration", "value": "acme"}
ACTIONS = ["billing:GetBillingView", "billing:GetBillingViewData"]


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    state_dir = tmp_path_factory.mktemp("emulators")
    try:
        yield start(state_dir, *UP_ARGS)
    finally:
        emulators("down", state_dir=state_dir)


@pytest.fixture
def aws(emu, monkeypatch):
    """Clients of the payer (the management account, which owns the views and shares)."""
    base = clients(emu, monkeypatch)

    def client(service: str):
        if service == "billing":
            return boto3.session.Session().client("billing", config=Config(retries={"total_max_attempts": 1}))
        return base(service)

    return client


@pytest.fixture
def members(emu) -> list[str]:
    """The customer accounts of the seeded organization."""
    return [a["id"] for a in emu.state()["seed"]["accounts"] if a["tags"].get("customer") == "acme-retail"]


def billing_control(emu: Emu, method: str, path: str, payload=None):
    status, body = harness.http(method, f"{emu.exports['AWS_ENDPOINT_URL_BILLING']}{path}", payload)
    return status, json.loads(body) if body else None


def as_member(emu: Emu, aws, account: str):
    """Clients acting as `account`, as CostCarve's user in a member account
    would: STS AssumeRole of its OrganizationAccountAccessRole (moto then maps
    the returned key to that account); the billing emulator learns the same
    key through its `access_keys` config."""
    creds = aws("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                   RoleSessionName="costcarve-test")["Credentials"]
    keys = billing_control(emu, "GET", "/_emulator/config")[1]["access_keys"]
    status, answer = billing_control(emu, "POST", "/_emulator/config",
                                     {"access_keys": {**keys, creds["AccessKeyId"]: account}})
    assert status == 200, answer
    session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                    aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"], region_name="us-east-1")

    def client(service: str):
        return session.client(service, config=Config(retries={"total_max_attempts": 1}))

    return client


def new_view(aws, accounts: list[str], name: str = "acme") -> str:
    return aws("billing").create_billing_view(
        name=name, sourceViews=[PRIMARY],
        dataFilterExpression={"dimensions": {"key": "LINKED_ACCOUNT", "values": accounts}})["arn"]


def policy_of(aws, view: str) -> dict | None:
    answer = aws("billing").get_resource_policy(resourceArn=view)
    assert answer["resourceArn"] == view
    return json.loads(answer["policy"]) if "policy" in answer else None


def expected_policy(view: str, *accounts: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": sorted(f"arn:aws:iam::{a}:root" for a in accounts)},
        "Action": ACTIONS, "Resource": view}]}


def error(exc: pytest.ExceptionInfo) -> tuple[str, int, str]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def last_month() -> dict[str, str]:
    first = dt.date.today().replace(day=1)
    return {"Start": str((first - dt.timedelta(days=1)).replace(day=1)), "End": str(first)}


# ----------------------------------------------------------------------------


def test_billing_views_are_a_shareable_resource_type(aws):
    types = aws("ram").list_resource_types()["resourceTypes"]
    assert {"resourceType": "billing:billingview", "serviceName": "billing", "resourceRegionScope": "GLOBAL"} in types
    assert {"resourceType": "billing:billingview", "serviceName": "billing", "resourceRegionScope": "GLOBAL"} in \
        aws("ram").list_resource_types(resourceRegionScope="GLOBAL")["resourceTypes"]
    permissions = aws("ram").list_permissions(resourceType="billing:billingview")["permissions"]
    assert [p["name"] for p in permissions] == ["AWSRAMDefaultPermissionBillingView"]


def test_a_shared_view_is_readable_by_its_principals_only(emu, aws, members):
    ram = aws("ram")
    shared, other = members[0], members[1]
    view = new_view(aws, [shared])
    assert policy_of(aws, view) is None
    share = ram.create_resource_share(name="costcarve-acme", resourceArns=[view], principals=[shared],
                                      allowExternalPrincipals=False, tags=[TAG])["resourceShare"]
    arn = share["resourceShareArn"]
    assert arn.startswith(f"arn:aws:ram:us-east-1:{PAYER}:resource-share/")
    assert (share["name"], share["owningAccountId"], share["allowExternalPrincipals"], share["status"],
            share["featureSet"], share["tags"]) == ("costcarve-acme", PAYER, False, "ACTIVE", "STANDARD", [TAG])

    resources = ram.list_resources(resourceOwner="SELF", resourceShareArns=[arn])["resources"]
    assert [(r["arn"], r["type"], r["resourceShareArn"], r["status"], r["resourceRegionScope"])
            for r in resources] == [(view, "billing:billingview", arn, "AVAILABLE", "GLOBAL")]
    assert ram.list_resources(resourceOwner="SELF", resourceType="billing:billingview",
                              principal=shared, resourceArns=[view])["resources"] == resources
    assert ram.list_resources(resourceOwner="SELF", principal=other, resourceShareArns=[arn])["resources"] == []
    principals = ram.list_principals(resourceOwner="SELF", resourceShareArns=[arn])["principals"]
    assert [(p["id"], p["resourceShareArn"], p["external"]) for p in principals] == [(shared, arn, False)]
    assert ram.list_principals(resourceOwner="SELF", resourceArn=view)["principals"] == principals
    associations = ram.get_resource_share_associations(associationType="PRINCIPAL", resourceShareArns=[arn])
    assert [(a["associatedEntity"], a["associationType"], a["status"], a["resourceShareName"], a["external"])
            for a in associations["resourceShareAssociations"]] == [(shared, "PRINCIPAL", "ASSOCIATED",
                                                                     "costcarve-acme", False)]
    associations = ram.get_resource_share_associations(associationType="RESOURCE", resourceArn=view)
    assert [(a["resourceShareArn"], a["associatedEntity"], a["status"])
            for a in associations["resourceShareAssociations"]] == [(arn, view, "ASSOCIATED")]

    # The view's resource policy names exactly the shared principal.
    assert policy_of(aws, view) == expected_policy(view, shared)

    # The member reads the view (billing and Cost Explorer); another member cannot.
    member, stranger = as_member(emu, aws, shared), as_member(emu, aws, other)
    assert member("sts").get_caller_identity()["Account"] == shared
    assert member("billing").get_billing_view(arn=view)["billingView"]["arn"] == view
    answer = member("ce").get_cost_and_usage(TimePeriod=last_month(), Granularity="MONTHLY",
                                             Metrics=["UnblendedCost"], BillingViewArn=view,
                                             GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
    assert {g["Keys"][0] for t in answer["ResultsByTime"] for g in t["Groups"]} <= {shared}
    with pytest.raises(ClientError) as exc:
        stranger("billing").get_billing_view(arn=view)
    assert error(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        stranger("ce").get_cost_and_usage(TimePeriod=last_month(), Granularity="MONTHLY",
                                          Metrics=["UnblendedCost"], BillingViewArn=view)
    assert error(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:  # the policy grants reading, nothing else
        member("billing").delete_billing_view(arn=view)
    assert error(exc)[0] == "AccessDeniedException"

    # What the member sees of the share.
    seen = member("ram").list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"]
    assert [(r["arn"], r["resourceShareArn"]) for r in seen] == [(view, arn)]
    assert [(p["id"], p["resourceShareArn"]) for p in
            member("ram").list_principals(resourceOwner="OTHER-ACCOUNTS")["principals"]] == [(PAYER, arn)]
    assert [s["resourceShareArn"] for s in
            member("ram").get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]] == [arn]
    assert stranger("ram").list_resources(resourceOwner="OTHER-ACCOUNTS")["resources"] == []

    # Adding the other member adds it to the policy; removing the first leaves the other alone.
    added = ram.associate_resource_share(resourceShareArn=arn, principals=[other])["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["associationType"], a["status"]) for a in added] == \
        [(other, "PRINCIPAL", "ASSOCIATED")]
    assert policy_of(aws, view) == expected_policy(view, shared, other)
    assert stranger("billing").get_billing_view(arn=view)["billingView"]["arn"] == view
    gone = ram.disassociate_resource_share(resourceShareArn=arn, principals=[shared])["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"]) for a in gone] == [(shared, "DISASSOCIATED")]
    assert policy_of(aws, view) == expected_policy(view, other)
    with pytest.raises(ClientError) as exc:
        member("billing").get_billing_view(arn=view)
    assert error(exc)[0] == "AccessDeniedException"
    statuses = {a["associatedEntity"]: a["status"] for a in ram.get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[arn])["resourceShareAssociations"]}
    assert statuses == {shared: "DISASSOCIATED", other: "ASSOCIATED"}
    assert [p["id"] for p in ram.list_principals(resourceOwner="SELF", resourceShareArns=[arn])["principals"]] \
        == [other]

    # The last principal gone: no policy, no access.
    ram.disassociate_resource_share(resourceShareArn=arn, principals=[other])
    assert policy_of(aws, view) is None
    with pytest.raises(ClientError) as exc:
        stranger("billing").get_billing_view(arn=view)
    assert error(exc)[0] == "AccessDeniedException"

    # Back again, then the share deleted: the policy goes with it.
    ram.associate_resource_share(resourceShareArn=arn, principals=[shared])
    assert policy_of(aws, view) == expected_policy(view, shared)
    deleted = ram.delete_resource_share(resourceShareArn=arn, clientToken="del-1")
    assert (deleted["returnValue"], deleted["clientToken"]) == (True, "del-1")
    assert policy_of(aws, view) is None
    with pytest.raises(ClientError) as exc:
        member("billing").get_billing_view(arn=view)
    assert error(exc)[0] == "AccessDeniedException"
    deleted = ram.get_resource_shares(resourceOwner="SELF", resourceShareArns=[arn])["resourceShares"]
    assert [s["status"] for s in deleted] == ["DELETED"]
    assert ram.list_resources(resourceOwner="SELF", resourceShareArns=[arn])["resources"] == []
    with pytest.raises(ClientError) as exc:
        ram.associate_resource_share(resourceShareArn=arn, principals=[shared])
    assert error(exc)[0] == "InvalidStateTransitionException"


def test_resources_added_and_removed_change_their_policies(aws, members):
    ram = aws("ram")
    first, second = new_view(aws, [members[2]], "first"), new_view(aws, [members[3]], "second")
    arn = ram.create_resource_share(name="principals-first", principals=[members[2]],
                                    allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    assert policy_of(aws, first) is None
    ram.associate_resource_share(resourceShareArn=arn, resourceArns=[first, second])
    assert policy_of(aws, first) == expected_policy(first, members[2])
    assert policy_of(aws, second) == expected_policy(second, members[2])
    ram.disassociate_resource_share(resourceShareArn=arn, resourceArns=[second])
    assert policy_of(aws, second) is None and policy_of(aws, first) == expected_policy(first, members[2])

    # A view in two shares: the policy names the principals of both.
    other = ram.create_resource_share(name="second-share", resourceArns=[first], principals=[members[3]],
                                      allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    assert policy_of(aws, first) == expected_policy(first, members[2], members[3])
    ram.delete_resource_share(resourceShareArn=other)
    assert policy_of(aws, first) == expected_policy(first, members[2])
    ram.delete_resource_share(resourceShareArn=arn)
    assert policy_of(aws, first) is None


def test_principals_outside_the_organization(aws, members):
    ram = aws("ram")
    view = new_view(aws, [members[4]], "outside")
    with pytest.raises(ClientError) as exc:
        ram.create_resource_share(name="closed", resourceArns=[view], principals=[OUTSIDE],
                                  allowExternalPrincipals=False)
    code, status, message = error(exc)
    assert (code, status) == ("OperationNotPermittedException", 400) and OUTSIDE in message
    assert not any(s["name"] == "closed" for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"])

    closed = ram.create_resource_share(name="closed", resourceArns=[view],
                                       allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    with pytest.raises(ClientError) as exc:
        ram.associate_resource_share(resourceShareArn=closed, principals=[members[4], OUTSIDE])
    assert error(exc)[0] == "OperationNotPermittedException"
    assert ram.list_principals(resourceOwner="SELF", resourceShareArns=[closed])["principals"] == []  # all or nothing
    assert policy_of(aws, view) is None

    # allowExternalPrincipals (the default) lets it in, marked external (no invitation is emulated).
    open_ = ram.create_resource_share(name="open", resourceArns=[view], principals=[OUTSIDE])["resourceShare"]
    assert open_["allowExternalPrincipals"] is True
    assert [(p["id"], p["external"]) for p in ram.list_principals(
        resourceOwner="SELF", resourceShareArns=[open_["resourceShareArn"]])["principals"]] == [(OUTSIDE, True)]
    assert policy_of(aws, view) == expected_policy(view, OUTSIDE)
    with pytest.raises(ClientError) as exc:
        ram.update_resource_share(resourceShareArn=open_["resourceShareArn"], allowExternalPrincipals=False)
    assert error(exc)[0] == "OperationNotPermittedException"
    for arn in (closed, open_["resourceShareArn"]):
        ram.delete_resource_share(resourceShareArn=arn)
    assert policy_of(aws, view) is None


@pytest.mark.parametrize("call, code", [
    (lambda ram, v, m: ram.associate_resource_share(
        resourceShareArn=f"arn:aws:ram:us-east-1:{PAYER}:resource-share/00000000-0000-4000-8000-000000000000",
        principals=[m]), "UnknownResourceException"),
    (lambda ram, v, m: ram.associate_resource_share(resourceShareArn="not-an-arn", principals=[m]),
     "MalformedArnException"),
    (lambda ram, v, m: ram.create_resource_share(name="x", principals=["12345"]), "InvalidParameterException"),
    (lambda ram, v, m: ram.create_resource_share(name="x", principals=[PAYER]), "InvalidParameterException"),
    (lambda ram, v, m: ram.create_resource_share(name="x", resourceArns=["arn:aws:billing"]),
     "MalformedArnException"),
    (lambda ram, v, m: ram.create_resource_share(
        name="x", resourceArns=[f"arn:aws:billing::{PAYER}:billingview/custom-00000000-0000-4000-8000-000000000000"]),
     "UnknownResourceException"),
    (lambda ram, v, m: ram.create_resource_share(name="x", resourceArns=[PRIMARY]), "InvalidParameterException"),
    (lambda ram, v, m: ram.create_resource_share(
        name="x", resourceArns=[v.replace(PAYER, m)]), "UnknownResourceException"),
    (lambda ram, v, m: ram.create_resource_share(name="x", tags=[{"key": "aws:x", "value": "y"}]),
     "InvalidParameterException"),
    (lambda ram, v, m: ram.create_resource_share(
        name="x", principals=[f"arn:aws:organizations::{PAYER}:organization/o-doesnotexist"]),
     "UnknownResourceException"),
    (lambda ram, v, m: ram.list_resources(resourceOwner="SELF", resourceType="billing:nothing"),
     "InvalidResourceTypeException"),
    (lambda ram, v, m: ram.list_resources(resourceOwner="SELF", nextToken="garbage"), "InvalidNextTokenException"),
])
def test_errors_as_ram_answers_them(aws, members, call, code):
    view = new_view(aws, [members[5]], "errors")
    with pytest.raises(ClientError) as exc:
        call(aws("ram"), view, members[5])
    assert error(exc)[:2] == (code, 400)


def test_disassociating_what_is_not_associated_is_refused(aws, members):
    ram = aws("ram")
    arn = ram.create_resource_share(name="empty")["resourceShare"]["resourceShareArn"]
    with pytest.raises(ClientError) as exc:
        ram.disassociate_resource_share(resourceShareArn=arn, principals=[members[0]])
    assert error(exc)[0] == "UnknownResourceException"
    with pytest.raises(ClientError) as exc:
        ram.associate_resource_share(resourceShareArn=arn)
    assert error(exc)[0] == "InvalidParameterException"
    ram.delete_resource_share(resourceShareArn=arn)


def test_tags_find_a_share(aws):
    ram = aws("ram")
    arn = ram.create_resource_share(name="tagged")["resourceShare"]["resourceShareArn"]
    wanted = [{"tagKey": "costcarve:desktop", "tagValues": ["d-1"]}]
    assert ram.get_resource_shares(resourceOwner="SELF", tagFilters=wanted)["resourceShares"] == []
    ram.tag_resource(resourceShareArn=arn, tags=[{"key": "costcarve:desktop", "value": "d-1"},
                                                  {"key": "team", "value": "finops"}])
    found = ram.get_resource_shares(resourceOwner="SELF", tagFilters=wanted)["resourceShares"]
    assert [(s["resourceShareArn"], s["tags"]) for s in found] == [
        (arn, [{"key": "costcarve:desktop", "value": "d-1"}, {"key": "team", "value": "finops"}])]
    assert [s["resourceShareArn"] for s in ram.get_resource_shares(
        resourceOwner="SELF", tagFilters=[{"tagKey": "team"}], name="tagged")["resourceShares"]] == [arn]
    ram.untag_resource(resourceShareArn=arn, tagKeys=["costcarve:desktop"])
    assert ram.get_resource_shares(resourceOwner="SELF", tagFilters=wanted)["resourceShares"] == []
    with pytest.raises(ClientError) as exc:
        ram.tag_resource(resourceShareArn=arn.replace(arn[-6:], "000000"), tags=[{"key": "k", "value": "v"}])
    assert error(exc)[0] == "UnknownResourceException"
    ram.delete_resource_share(resourceShareArn=arn)


def test_lists_page_and_tokens_stay_with_their_filters(aws, members):
    ram = aws("ram")
    views = [new_view(aws, [m], f"paged {i}") for i, m in enumerate(members[:3])]
    arn = ram.create_resource_share(name="paged", resourceArns=views, principals=members[:3],
                                    allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    for operation, key in (("list_resources", "resources"), ("list_principals", "principals")):
        seen, token = [], None
        while True:
            page = getattr(ram, operation)(resourceOwner="SELF", resourceShareArns=[arn], maxResults=2,
                                           **({"nextToken": token} if token else {}))
            assert len(page[key]) <= 2
            seen += page[key]
            token = page.get("nextToken")
            if not token:
                break
        assert len(seen) == 3
    first = ram.list_principals(resourceOwner="SELF", resourceShareArns=[arn], maxResults=1)
    with pytest.raises(ClientError) as exc:
        ram.list_principals(resourceOwner="SELF", maxResults=1, nextToken=first["nextToken"])
    assert error(exc)[0] == "InvalidNextTokenException"
    ram.delete_resource_share(resourceShareArn=arn)


def test_client_token_makes_create_idempotent(aws):
    ram = aws("ram")
    one = ram.create_resource_share(name="idem", clientToken="tok-1")
    again = ram.create_resource_share(name="idem", clientToken="tok-1")
    assert one["resourceShare"]["resourceShareArn"] == again["resourceShare"]["resourceShareArn"]
    assert again["clientToken"] == "tok-1"
    with pytest.raises(ClientError) as exc:
        ram.create_resource_share(name="other", clientToken="tok-1")
    assert error(exc)[0] == "IdempotentParameterMismatchException"
    ram.delete_resource_share(resourceShareArn=one["resourceShare"]["resourceShareArn"])


def test_a_fault_fails_the_nth_call_once_and_changes_nothing(emu, aws, members):
    ram = aws("ram")
    view = new_view(aws, [members[6]], "faulted")
    arn = ram.create_resource_share(name="faulted", resourceArns=[view],
                                    allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    status, answer = control(emu, "POST", "/moto-api/costcarve/ram-faults", {
        "operation": "AssociateResourceShare", "nth": 1, "code": "ServerInternalException", "status": 500,
        "message": "injected"})
    assert status == 201 and answer["faults"][0]["fired"] == 0
    try:
        with pytest.raises(ClientError) as exc:
            ram.associate_resource_share(resourceShareArn=arn, principals=[members[6]])
        assert error(exc) == ("ServerInternalException", 500, "injected")
        assert policy_of(aws, view) is None
        assert ram.list_principals(resourceOwner="SELF", resourceShareArns=[arn])["principals"] == []
        ram.associate_resource_share(resourceShareArn=arn, principals=[members[6]])  # the next one passes
        assert policy_of(aws, view) == expected_policy(view, members[6])
        faults = control(emu, "GET", "/moto-api/costcarve/ram-faults")[1]["faults"]
        assert [(f["operation"], f["seen"], f["fired"]) for f in faults] == [("AssociateResourceShare", 2, 1)]
        log = control(emu, "GET", "/moto-api/costcarve/ram-requests")[1]
        assert [r["action"] for r in log[-3:]] == ["AssociateResourceShare", "ListPrincipals",
                                                   "AssociateResourceShare"]  # the failed call is logged too
        assert log[-1]["params"] == {"resourceShareArn": arn, "principals": [members[6]]}
    finally:
        assert control(emu, "DELETE", "/moto-api/costcarve/ram-faults") == (200, {"faults": []})
    for bad in ({"nth": 1}, {"operation": "X", "nth": 0}, {"operation": "X", "status": 200}, {"operation": "X", "y": 1}):
        assert control(emu, "POST", "/moto-api/costcarve/ram-faults", bad)[0] == 400
    ram.delete_resource_share(resourceShareArn=arn)


def test_associations_can_take_a_while(emu, aws, members):
    ram = aws("ram")
    view = new_view(aws, [members[7]], "slow")
    assert control(emu, "POST", "/moto-api/costcarve/ram-config", {"association_delay_ms": 400})[0] == 200
    try:
        arn = ram.create_resource_share(name="slow", resourceArns=[view], principals=[members[7]],
                                        allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
        statuses = {a["status"] for a in ram.get_resource_share_associations(
            associationType="PRINCIPAL", resourceShareArns=[arn])["resourceShareAssociations"]}
        assert statuses == {"ASSOCIATING"}
        assert policy_of(aws, view) is None
        time.sleep(0.6)
        assert policy_of(aws, view) == expected_policy(view, members[7])  # written without a RAM call
        statuses = {a["status"] for a in ram.get_resource_share_associations(
            associationType="PRINCIPAL", resourceShareArns=[arn])["resourceShareAssociations"]}
        assert statuses == {"ASSOCIATED"}
        ram.disassociate_resource_share(resourceShareArn=arn, principals=[members[7]])
        statuses = {a["status"] for a in ram.get_resource_share_associations(
            associationType="PRINCIPAL", resourceShareArns=[arn])["resourceShareAssociations"]}
        assert statuses == {"DISASSOCIATING"}
        time.sleep(0.6)
        assert policy_of(aws, view) is None
    finally:
        assert control(emu, "POST", "/moto-api/costcarve/ram-config", {"association_delay_ms": 0})[0] == 200
    ram.delete_resource_share(resourceShareArn=arn)


def test_an_ou_principal_shares_with_the_accounts_below_it(emu, aws, members):
    ram = aws("ram")
    seed = emu.state()["seed"]
    ou_id = seed["ous"]["Customers/Acme Retail/prod"]
    ou_arn = f"arn:aws:organizations::{PAYER}:ou/{seed['organization_id']}/{ou_id}"
    view = new_view(aws, [members[8]], "ou")
    arn = ram.create_resource_share(name="ou", resourceArns=[view], principals=[ou_arn],
                                    allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    member = as_member(emu, aws, members[8])
    assert [r["arn"] for r in member("ram").list_resources(resourceOwner="OTHER-ACCOUNTS",
                                                           resourceShareArns=[arn])["resources"]] == [view]
    statement = policy_of(aws, view)["Statement"]
    assert statement == [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ACTIONS, "Resource": view,
                          "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [
                              f"{seed['organization_id']}/{seed['root_id']}/{seed['ous']['Customers']}/"
                              f"{seed['ous']['Customers/Acme Retail']}/{ou_id}/*"]}}}]
    ram.delete_resource_share(resourceShareArn=arn)
    assert policy_of(aws, view) is None


def test_moto_reset_forgets_the_shares_and_their_policies(emu, aws, members):
    """Last: the reset also forgets the seeded organization."""
    ram = aws("ram")
    view = new_view(aws, [members[9]], "reset")
    ram.create_resource_share(name="reset", resourceArns=[view], principals=[members[9]],
                              allowExternalPrincipals=False)
    control(emu, "POST", "/moto-api/costcarve/ram-faults", {"operation": "*", "nth": 99})
    assert policy_of(aws, view) == expected_policy(view, members[9])
    assert harness.http("POST", f"{emu.exports['AWS_ENDPOINT_URL']}/moto-api/reset")[0] == 200
    assert policy_of(aws, view) is None
    assert ram.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    assert control(emu, "GET", "/moto-api/costcarve/ram-faults")[1] == {"faults": []}
    assert control(emu, "GET", "/moto-api/costcarve/ram-state")[1] == {"shares": [], "policies": {},
                                                                       "sync_errors": []}
