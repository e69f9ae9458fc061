"""AWS Resource Access Manager for the emulated payer, inside moto's process:
resource shares that hold billing views (`billing:billingview`) and the
principals they are shared with, shaped as botocore's `ram` model defines them.
moto_patches.install() routes moto's RAM to this module:

- CreateResourceShare, UpdateResourceShare, DeleteResourceShare,
  GetResourceShares (owner SELF / OTHER-ACCOUNTS, ARNs, status, name, tag
  filters, paging), AssociateResourceShare / DisassociateResourceShare
  (resources and/or principals), GetResourceShareAssociations, ListResources,
  ListPrincipals, TagResource / UntagResource, ListResourceTypes (moto's list
  plus `billing:billingview`). moto still answers EnableSharingWithAwsOrganization
  and ListPermissions.
- Principals: account ids, IAM role/user ARNs, the organization's ARN, its OUs'
  ARNs, service principals. With allowExternalPrincipals false, one outside the
  owner's organization is refused (OperationNotPermittedException). No
  invitations: an external principal is associated at once (`external: true`).
- Associations go ASSOCIATING -> ASSOCIATED (DISASSOCIATING -> DISASSOCIATED)
  after `association_delay_ms` (default 0: at once); DISASSOCIATED ones stay listed.
- A billing view must be one of the caller's CUSTOM views in the billing
  emulator (reached through ce-config's `billing_url`). Whenever the principals
  or resources of a share change, each billing view concerned gets, in the
  billing emulator, the resource policy RAM would write (`policy_document`): the
  principals of every ACTIVE share that holds it, or no policy once none does.
- Faults: the Nth call of an operation fails with a given error (`ram-faults`).
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.organizations.models import OrganizationsBackend, organizations_backends
from moto.ram import urls as ram_urls
from moto.ram import models as ram_models
from moto.ram import utils as ram_utils
from moto.ram.models import ResourceShare as MotoResourceShare
from moto.ram.responses import ResourceAccessManagerResponse

import ce_engine  # its config holds the billing emulator's URL

BILLING_VIEW_TYPE = "billing:billingview"
BILLING_VIEW_PERMISSION = "AWSRAMDefaultPermissionBillingView"
# What a principal of a share may do with a shared billing view (its resource policy).
BILLING_VIEW_ACTIONS = ["billing:GetBillingView", "billing:GetBillingViewData"]
GLOBAL_REGION = "us-east-1"  # global resources (billing views) are shared from here only
MAX_TAGS = 50
MAX_RESULTS = 500  # the model's MaxResults range is 1..500

# The operations this module answers (moto's own methods for the others).
OPERATIONS = ("CreateResourceShare", "UpdateResourceShare", "DeleteResourceShare", "GetResourceShares",
              "AssociateResourceShare", "DisassociateResourceShare", "GetResourceShareAssociations",
              "ListResources", "ListPrincipals", "TagResource", "UntagResource", "ListResourceTypes")

_BILLING_VIEW_ARN = re.compile(r"arn:aws[a-z-]*:billing::(\d{12}):billingview/[a-zA-Z0-9/:_+=.\-@]+")
_ARN = re.compile(r"arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:([a-zA-Z-]+)[/:].+")
_ACCOUNT = re.compile(r"\d{12}")
_IAM_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:iam::(\d{12}):(?:root|role/.+|user/.+)")
_ORG_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:organizations::(\d{12}):organization/(o-[a-z0-9]+)")
_OU_PRINCIPAL = re.compile(r"arn:aws[a-z-]*:organizations::(\d{12}):ou/(o-[a-z0-9]+)/(ou-[a-z0-9-]+)")
_SERVICE_PRINCIPAL = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.amazonaws\.com")


def ram_error(code: str, message: str, status: int = 400) -> JsonRESTError:
    error = JsonRESTError(code, message)
    error.code = status
    return error


def invalid(message: str) -> JsonRESTError:
    return ram_error("InvalidParameterException", message)


def unknown_share(arn: str) -> JsonRESTError:
    return ram_error("UnknownResourceException", f"ResourceShare {arn} could not be found.")


# ----------------------------------------------------------------------------
# Configuration (POST /moto-api/costcarve/ram-config)


class Config:
    KEYS = {"association_delay_ms": int, "page_size": int}
    DEFAULTS = {"association_delay_ms": 0, "page_size": MAX_RESULTS}

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: dict[str, Any] = dict(self.DEFAULTS)

    def update(self, patch: Any) -> dict[str, Any]:
        if not isinstance(patch, dict):
            raise ValueError("expected a JSON object")
        unknown = set(patch) - set(self.KEYS)
        if unknown:
            raise ValueError(f"unknown ram-config keys: {sorted(unknown)}")
        for key, value in patch.items():
            if type(value) is not int or value < (1 if key == "page_size" else 0):
                raise ValueError(f"'{key}' must be an integer >= {1 if key == 'page_size' else 0}")
        if patch.get("page_size", 1) > MAX_RESULTS:
            raise ValueError(f"'page_size' must be <= {MAX_RESULTS}")
        with self.lock:
            self.values.update(patch)
            return dict(self.values)

    def get(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.values)


CONFIG = Config()


# ----------------------------------------------------------------------------
# Faults (POST /moto-api/costcarve/ram-faults)


@dataclass
class RamFault:
    """Fails the `nth` .. `nth + times - 1`-th calls of `operation` counted
    from its registration (`times` null: every call from the nth on)."""

    operation: str  # a RAM operation name, or "*"
    nth: int = 1
    times: int | None = 1
    code: str = "ServerInternalException"
    status: int = 500
    message: str = "failure injected by a RAM fault"
    seen: int = 0
    fired: int = 0

    KEYS = {"operation", "nth", "times", "code", "status", "message"}

    @classmethod
    def from_json(cls, obj: Any) -> RamFault:
        if not isinstance(obj, dict):
            raise ValueError("a fault is a JSON object")
        unknown = set(obj) - cls.KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        operation = obj.get("operation")
        if not isinstance(operation, str) or not operation:
            raise ValueError("'operation' (a RAM operation name or \"*\") is required")
        nth, times, status = obj.get("nth", 1), obj.get("times", 1), obj.get("status", 500)
        if type(nth) is not int or nth < 1:
            raise ValueError("'nth' must be an integer >= 1")
        if times is not None and (type(times) is not int or times < 1):
            raise ValueError("'times' must be an integer >= 1, or null for every call from the nth on")
        if type(status) is not int or not 400 <= status <= 599:
            raise ValueError("'status' must be an HTTP error status (400..599)")
        code, message = obj.get("code", cls.code), obj.get("message", cls.message)
        if not isinstance(code, str) or not code or not isinstance(message, str):
            raise ValueError("'code' and 'message' must be strings")
        return cls(operation, nth, times, code, status, message)

    def take(self, operation: str) -> bool:
        """Counts a call of `operation`; whether this one must fail."""
        if self.operation not in ("*", operation):
            return False
        self.seen += 1
        due = self.seen >= self.nth and (self.times is None or self.seen < self.nth + self.times)
        self.fired += due
        return due

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "nth": self.nth, "times": self.times, "code": self.code,
                "status": self.status, "message": self.message, "seen": self.seen, "fired": self.fired}


# ----------------------------------------------------------------------------
# The shares


@dataclass
class Association:
    entity: str  # a resource ARN, or a principal
    kind: str  # RESOURCE | PRINCIPAL
    status: str
    created: float
    updated: float
    external: bool = False
    due: float = 0.0  # monotonic time at which ASSOCIATING/DISASSOCIATING ends

    def effective(self) -> bool:
        """Grants access: associated, or still being disassociated."""
        return self.status in ("ASSOCIATED", "DISASSOCIATING")


@dataclass
class Share:
    arn: str
    name: str
    owner: str
    region: str
    allow_external: bool
    tags: list[dict[str, str]]
    created: float
    updated: float
    status: str = "ACTIVE"
    seq: int = 0
    associations: list[Association] = field(default_factory=list)

    def associated(self, kind: str) -> list[Association]:
        return [a for a in self.associations if a.kind == kind and a.effective()]

    def association(self, kind: str, entity: str) -> Association | None:
        return next((a for a in self.associations if a.kind == kind and a.entity == entity), None)

    def describe(self) -> dict[str, Any]:
        out = {"resourceShareArn": self.arn, "name": self.name, "owningAccountId": self.owner,
               "allowExternalPrincipals": self.allow_external, "status": self.status,
               "creationTime": self.created, "lastUpdatedTime": self.updated, "featureSet": "STANDARD"}
        if self.tags:
            out["tags"] = copy.deepcopy(self.tags)
        return out

    def association_json(self, a: Association) -> dict[str, Any]:
        return {"resourceShareArn": self.arn, "resourceShareName": self.name, "associatedEntity": a.entity,
                "associationType": a.kind, "status": a.status, "creationTime": a.created,
                "lastUpdatedTime": a.updated, "external": a.external}


def resource_type(arn: str) -> str:
    """RAM's resource type of an ARN (`billing:billingview`, `ec2:Subnet`, ...)."""
    if _BILLING_VIEW_ARN.fullmatch(arn):
        return BILLING_VIEW_TYPE
    m = _ARN.fullmatch(arn)
    if not m:
        return "unknown"
    service, kind = m.group(1), m.group(4)
    for known in ram_utils.RAM_RESOURCE_TYPES:
        svc, _, name = known["resourceType"].partition(":")
        if svc == service and name.lower() == kind.replace("-", "").lower():
            return known["resourceType"]
    return f"{service}:{kind}"


def region_scope(arn: str) -> str:
    kind = resource_type(arn).lower()
    return next((t["resourceRegionScope"] for t in ram_utils.RAM_RESOURCE_TYPES
                 if t["resourceType"].lower() == kind), "REGIONAL")


def policy_document(view_arn: str, principals: list[str], organizations: list[tuple[str, str]]) -> str | None:
    """The resource policy RAM writes on a billing view shared with
    `principals` (account ids, IAM ARNs, service principals) and with
    organizations / OUs (`(org id, org path)`, path None for the whole org).
    None when it is shared with nobody."""
    aws = sorted({f"arn:aws:iam::{p}:root" if _ACCOUNT.fullmatch(p) else p
                  for p in principals if not _SERVICE_PRINCIPAL.fullmatch(p)})
    services = sorted({p for p in principals if _SERVICE_PRINCIPAL.fullmatch(p)})
    statements: list[dict[str, Any]] = []

    def statement(principal: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
        s = {"Effect": "Allow", "Principal": principal, "Action": list(BILLING_VIEW_ACTIONS), "Resource": view_arn}
        if condition:
            s["Condition"] = condition
        return s

    if aws:
        statements.append(statement({"AWS": aws}))
    if services:
        statements.append(statement({"Service": services}))
    for org_id, path in sorted(set(organizations), key=lambda o: (o[0], o[1] or "")):
        condition = ({"StringEquals": {"aws:PrincipalOrgID": org_id}} if path is None
                     else {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{path}/*"]}})
        statements.append(statement({"AWS": "*"}, condition))
    if not statements:
        return None
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


class SyncError(Exception):
    """The billing emulator could not be told a view's policy."""


def _billing_url() -> str | None:
    return ce_engine.CONFIG.get().get("billing_url")


def _billing_http(method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    url = _billing_url()
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"{url}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
    except (OSError, ValueError) as err:
        raise SyncError(f"billing emulator at {url} unreachable: {err}") from None


def billing_views() -> dict[str, dict[str, Any]] | None:
    """The billing emulator's views by ARN; None when none is configured."""
    if not _billing_url():
        return None
    status, state = _billing_http("GET", "/_emulator/state")
    if status != 200:
        raise SyncError(f"billing emulator state: HTTP {status}")
    return {v["arn"]: v for v in state.get("views", [])}


def push_policy(view_arn: str, policy: str | None) -> None:
    status, answer = _billing_http("POST", "/_emulator/resource-policy", {"arn": view_arn, "policy": policy})
    if status == 400 and "no such view" in json.dumps(answer):
        return  # the view was deleted meanwhile: nothing to write on
    if status != 200:
        raise SyncError(f"billing emulator resource-policy for {view_arn}: HTTP {status} {answer}")


class Store:
    """Every account's shares (one store per moto process)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._fresh()

    def _fresh(self) -> None:
        self.shares: dict[str, Share] = {}
        self.tokens: dict[tuple[str, str], tuple[str, str]] = {}  # (account, token) -> (fingerprint, share ARN)
        self.policies: dict[str, str | None] = {}  # the policy last written per billing view
        self.sync_errors: list[str] = []
        self.faults: list[RamFault] = []
        self.requests: list[dict[str, Any]] = []
        self.seq = 0

    def clear(self) -> None:
        """Forgets everything; the policies it wrote are removed (best effort)."""
        with self.lock:
            written = [arn for arn, policy in self.policies.items() if policy is not None]
            self._fresh()
        if _billing_url():
            for arn in written:
                try:
                    push_policy(arn, None)
                except SyncError:
                    pass

    # ---------------------------------------------------------------- faults and log

    def record(self, operation: str, account: str, params: Any) -> RamFault | None:
        with self.lock:
            self.requests.append({"action": operation, "account": account, "params": params})
            fire = None
            for fault in self.faults:
                if fault.take(operation) and fire is None:
                    fire = fault
            return fire

    # ---------------------------------------------------------------- time and policies

    def settle(self) -> None:
        """Ends ASSOCIATING / DISASSOCIATING whose time has come; writes the
        policies that changed (errors are kept in `sync_errors`)."""
        with self.lock:
            now, changed = time.monotonic(), False
            for share in self.shares.values():
                for a in share.associations:
                    if a.status in ("ASSOCIATING", "DISASSOCIATING") and a.due <= now:
                        a.status = "ASSOCIATED" if a.status == "ASSOCIATING" else "DISASSOCIATED"
                        a.updated = time.time()
                        changed = True
            if changed:
                try:
                    self.sync_policies()
                except SyncError as err:
                    self.sync_errors.append(str(err))
                    print(f"ram_emulator: {err}", file=sys.stderr, flush=True)

    def wanted_policies(self) -> dict[str, str | None]:
        """The policy every billing view RAM knows of should have now."""
        principals: dict[str, list[str]] = {}
        orgs: dict[str, list[tuple[str, str | None]]] = {}
        for share in self.shares.values():
            for r in share.associations:
                if r.kind == "RESOURCE" and resource_type(r.entity) == BILLING_VIEW_TYPE:
                    principals.setdefault(r.entity, [])
                    orgs.setdefault(r.entity, [])
                    if share.status != "ACTIVE" or not r.effective():
                        continue
                    for p in share.associated("PRINCIPAL"):
                        target = org_principal(p.entity)
                        if target is None:
                            principals[r.entity].append(p.entity)
                        else:
                            orgs[r.entity].append(target)
        return {arn: policy_document(arn, principals[arn], orgs[arn]) for arn in principals}

    def sync_policies(self) -> None:
        """Writes every policy that differs from the one last written."""
        if not _billing_url():
            return
        for arn, policy in self.wanted_policies().items():
            if self.policies.get(arn) != policy:
                push_policy(arn, policy)
                self.policies[arn] = policy

    def mutate(self, change) -> Any:
        """Runs `change()` (which may raise AWS errors before it changes
        anything) and writes the policies it implies; if they cannot be
        written, the change is undone and the call fails as AWS's internal error."""
        with self.lock:
            before = (copy.deepcopy(self.shares), dict(self.tokens), self.seq)
            result = change()
            try:
                self.sync_policies()
            except SyncError as err:
                self.shares, self.tokens, self.seq = before
                try:
                    self.sync_policies()
                except SyncError:
                    pass
                raise ram_error("ServerInternalException", f"The emulator could not update the resource policy: {err}",
                                500) from None
            delay = CONFIG.get()["association_delay_ms"]
            if delay:
                timer = threading.Timer(delay / 1000 + 0.01, self.settle)
                timer.daemon = True
                timer.start()
            return result

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {"shares": [{**s.describe(), "region": s.region,
                                "associations": [s.association_json(a) for a in s.associations]}
                               for s in sorted(self.shares.values(), key=lambda s: s.seq)],
                    "policies": dict(self.policies), "sync_errors": list(self.sync_errors)}


STORE = Store()


# ----------------------------------------------------------------------------
# Organizations: who is inside


def organization_of(account: str) -> OrganizationsBackend | None:
    """The Organizations backend of the organization `account` belongs to."""
    master, partition = organizations_backends.master_accounts.get(account, (account, "aws"))
    backend = organizations_backends[master][partition]
    return backend if backend.org is not None else None


def in_organization(org: OrganizationsBackend | None, account: str) -> bool:
    return org is not None and (account == org.org.master_account_id
                                or any(a.id == account and a.status == "ACTIVE" for a in org.accounts))


def org_path(org: OrganizationsBackend, ou_id: str) -> str | None:
    """`o-x/r-y/ou-a/ou-b` for an OU, None if the organization has no such OU."""
    by_id = {ou.id: ou for ou in org.ou}
    if ou_id not in by_id:
        return None
    parts = [ou_id]
    node = by_id[ou_id]
    while getattr(node, "parent_id", None) and node.parent_id in by_id:
        node = by_id[node.parent_id]
        parts.append(node.id)
    if parts[-1] != org.org.root_id:
        parts.append(org.org.root_id)
    return "/".join([org.org.id, *reversed(parts)])


def account_path(org: OrganizationsBackend, account: str) -> str | None:
    acct = next((a for a in org.accounts if a.id == account), None)
    if acct is None:
        return f"{org.org.id}/{org.org.root_id}" if account == org.org.master_account_id else None
    return org_path(org, acct.parent_id)


def org_principal(principal: str) -> tuple[str, str | None] | None:
    """(org id, OU path or None) of an organization / OU principal; None for others."""
    m = _ORG_PRINCIPAL.fullmatch(principal)
    if m:
        return m.group(2), None
    m = _OU_PRINCIPAL.fullmatch(principal)
    if m:
        org = organization_of(m.group(1))
        return m.group(2), (org_path(org, m.group(3)) if org else None) or f"{m.group(2)}/{m.group(3)}"
    return None


def principal_account(principal: str) -> str | None:
    if _ACCOUNT.fullmatch(principal):
        return principal
    m = _IAM_PRINCIPAL.fullmatch(principal)
    return m.group(1) if m else None


def principal_covers(principal: str, account: str) -> bool:
    """Whether a share with `principal` is shared with `account`."""
    if principal_account(principal) == account:
        return True
    target = org_principal(principal)
    if target is None:
        return False
    org = organization_of(account)
    if org is None or org.org.id != target[0] or not in_organization(org, account):
        return False
    path = account_path(org, account)
    return target[1] is None or (path is not None and (path + "/").startswith(target[1] + "/"))


# ----------------------------------------------------------------------------
# Validation against botocore's `ram` model


_MODEL = None


def model():
    global _MODEL
    if _MODEL is None:
        import botocore.session

        _MODEL = botocore.session.get_session().get_service_model("ram")
    return _MODEL


def check_input(operation: str, params: dict[str, Any]) -> None:
    """Required members, JSON types, enums and integer ranges, as RAM reports them."""
    shape = model().operation_model(operation).input_shape
    for name in shape.required_members:
        if params.get(name) is None:
            raise ram_error("MissingRequiredParameterException", f"The request is missing the parameter {name}.")

    def walk(s: Any, value: Any, where: str) -> None:
        kind = s.type_name
        expected = {"structure": dict, "list": list, "string": str, "boolean": bool, "integer": int,
                    "timestamp": (int, float, str)}.get(kind, object)
        if not isinstance(value, expected) or (kind == "integer" and isinstance(value, bool)):
            raise invalid(f"The value of {where} is not a valid {kind}.")
        if kind == "structure":
            for key, member in s.members.items():
                if value.get(key) is not None:
                    walk(member, value[key], key)
        elif kind == "list":
            for item in value:
                walk(s.member, item, where)
        elif kind == "string" and "enum" in s.metadata and value not in s.metadata["enum"]:
            raise invalid(f"{value} is not a valid {where} value. Specify one of {', '.join(s.metadata['enum'])}.")
        elif kind == "integer" and not s.metadata.get("min", value) <= value <= s.metadata.get("max", value):
            raise invalid(f"The value {value} for {where} is out of range "
                          f"[{s.metadata.get('min')}, {s.metadata.get('max')}].")

    walk(shape, params, "request")


def output_errors(operation: str, answer: Any) -> list[str]:
    """Where an answer leaves the model's output shape (an emulator bug)."""
    errors: list[str] = []

    def walk(s: Any, value: Any, where: str) -> None:
        kind = s.type_name
        expected = {"structure": dict, "list": list, "string": str, "boolean": bool, "integer": int,
                    "timestamp": (int, float)}.get(kind, object)
        if not isinstance(value, expected):
            errors.append(f"{where}: expected {kind}, got {type(value).__name__}")
        elif kind == "structure":
            for key in value:
                if key not in s.members:
                    errors.append(f"{where}.{key}: not in the model")
                elif value[key] is not None:
                    walk(s.members[key], value[key], f"{where}.{key}")
        elif kind == "list":
            for i, item in enumerate(value):
                walk(s.member, item, f"{where}[{i}]")
        elif kind == "string" and "enum" in s.metadata and value not in s.metadata["enum"]:
            errors.append(f"{where}: {value!r} not in {s.metadata['enum']}")

    walk(model().operation_model(operation).output_shape, answer, operation)
    return errors


# ----------------------------------------------------------------------------
# Paging


def page(items: list[Any], params: dict[str, Any], operation: str) -> tuple[list[Any], str | None]:
    """A page of `items` and the token of the next; the token is refused if
    garbled or if the request's filters changed."""
    size = params.get("maxResults") or CONFIG.get()["page_size"]
    filters = {k: v for k, v in params.items() if k not in ("maxResults", "nextToken", "clientToken")}
    fingerprint = hashlib.sha256(json.dumps([operation, filters], sort_keys=True).encode()).hexdigest()[:16]
    start = 0
    token = params.get("nextToken")
    if token:
        try:
            offset, _, seen = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
            start = int(offset)
        except (ValueError, UnicodeDecodeError):
            raise ram_error("InvalidNextTokenException", "The specified value for NextToken is not valid.") from None
        if seen != fingerprint or start < 0:
            raise ram_error("InvalidNextTokenException", "The specified value for NextToken is not valid.")
    end = start + size
    following = base64.urlsafe_b64encode(f"{end}:{fingerprint}".encode()).decode() if end < len(items) else None
    return items[start:end], following


def paged(key: str, items: list[Any], params: dict[str, Any], operation: str) -> dict[str, Any]:
    chunk, token = page(items, params, operation)
    out: dict[str, Any] = {key: chunk}
    if token:
        out["nextToken"] = token
    return out


# ----------------------------------------------------------------------------
# The operations (`account`: the caller; `region`: the endpoint's)


def _own_share(arn: str, account: str, region: str) -> Share:
    if not isinstance(arn, str) or not re.fullmatch(r"arn:aws[a-z-]*:ram:[a-z0-9-]+:\d{12}:resource-share/.+", arn):
        raise ram_error("MalformedArnException", f"The specified resource share ARN {arn} is not valid. "
                        "Verify the ARN and try again.")
    share = STORE.shares.get(arn)
    if share is None or share.owner != account or share.region != region:
        raise unknown_share(arn)
    return share


def _check_tags(tags: list[dict[str, Any]], existing: list[dict[str, str]] | None = None) -> list[dict[str, str]]:
    merged = {t["key"]: t["value"] for t in existing or []}
    for tag in tags:
        key = tag.get("key")
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise invalid("A tag key must be 1 to 128 characters long.")
        if key.lower().startswith("aws:"):
            raise invalid(f"The tag key {key} uses the reserved prefix aws:.")
        value = tag.get("value") or ""
        if len(value) > 256:
            raise invalid("A tag value must be at most 256 characters long.")
        merged[key] = value
    if len(merged) > MAX_TAGS:
        raise ram_error("TagLimitExceededException", f"A resource share can have at most {MAX_TAGS} tags.")
    return [{"key": k, "value": v} for k, v in merged.items()]


def _check_principal(share: Share, principal: str) -> bool:
    """Validates a principal for `share`; whether it is external."""
    if not isinstance(principal, str):
        raise invalid("A principal must be a string.")
    org = organization_of(share.owner)
    target_org = _ORG_PRINCIPAL.fullmatch(principal) or _OU_PRINCIPAL.fullmatch(principal)
    if target_org:
        if org is None or target_org.group(2) != org.org.id:
            raise ram_error("UnknownResourceException", f"Organization {target_org.group(2)} could not be found.")
        if target_org.re is _OU_PRINCIPAL and org_path(org, target_org.group(3)) is None:
            raise ram_error("UnknownResourceException",
                            f"OrganizationalUnit {target_org.group(3)} in organization {org.org.id} "
                            "could not be found.")
        return False
    if _SERVICE_PRINCIPAL.fullmatch(principal):
        return False
    account = principal_account(principal)
    if account is None:
        if principal.startswith("arn:"):
            raise ram_error("MalformedArnException", f"The specified principal ARN {principal} is not valid. "
                            "Verify the ARN and try again.")
        raise invalid(f"Principal ID {principal} is malformed. Verify the ID and try again.")
    if account == share.owner:
        raise invalid(f"The resource share owner {account} cannot be a principal of its own resource share.")
    external = not in_organization(org, account)
    if external and not share.allow_external:
        raise ram_error("OperationNotPermittedException",
                        f"Principal {principal} is not in your AWS organization. You cannot share with principals "
                        f"outside your organization because resource share {share.arn} does not allow external "
                        "principals.")
    return external


def _check_resource(share: Share, arn: str, views: dict[str, dict[str, Any]] | None) -> None:
    if not isinstance(arn, str) or not _ARN.fullmatch(arn):
        raise ram_error("MalformedArnException", f"The specified resource ARN {arn} is not valid. "
                        "Verify the ARN and try again.")
    m = _BILLING_VIEW_ARN.fullmatch(arn)
    if m is None:
        kind = _ARN.fullmatch(arn).group(4)
        if kind not in MotoResourceShare.SHAREABLE_RESOURCES:
            raise ram_error("MalformedArnException", "You cannot share the selected resource type.")
        return
    if share.region != GLOBAL_REGION:
        raise invalid(f"{arn} is a global resource; share it from a resource share in {GLOBAL_REGION}.")
    view = (views or {}).get(arn)
    if m.group(1) != share.owner or (views is not None and view is None):
        raise ram_error("UnknownResourceException", f"Resource {arn} could not be found.")
    if view is not None and view.get("billingViewType") != "CUSTOM":
        raise invalid(f"You cannot share the billing view {arn}: only CUSTOM billing views can be shared.")


def _associate(share: Share, kind: str, entity: str, external: bool = False) -> Association:
    """Adds (or re-adds) an association: ASSOCIATED now, or ASSOCIATING for the configured delay."""
    now, delay = time.time(), CONFIG.get()["association_delay_ms"] / 1000
    a = share.association(kind, entity)
    if a is None:
        a = Association(entity, kind, "ASSOCIATING", now, now, external)
        share.associations.append(a)
    elif a.status in ("ASSOCIATED", "ASSOCIATING"):
        return a
    a.status, a.updated, a.external, a.due = "ASSOCIATING", now, external, time.monotonic() + delay
    if delay == 0:
        a.status = "ASSOCIATED"
    return a


def _disassociate(share: Share, a: Association) -> Association:
    delay = CONFIG.get()["association_delay_ms"] / 1000
    a.status, a.updated, a.due = "DISASSOCIATING", time.time(), time.monotonic() + delay
    if delay == 0:
        a.status = "DISASSOCIATED"
    return a


def _needs_views(resource_arns: list[str]) -> dict[str, dict[str, Any]] | None:
    if not any(_BILLING_VIEW_ARN.fullmatch(a or "") for a in resource_arns if isinstance(a, str)):
        return None
    try:
        return billing_views()
    except SyncError as err:
        raise ram_error("ServerInternalException", str(err), 500) from None


def _unique(values: list[Any], what: str) -> list[Any]:
    if len(set(map(str, values))) != len(values):
        raise invalid(f"The list of {what} contains duplicates.")
    return values


def create_resource_share(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    token = params.get("clientToken")
    fingerprint = json.dumps({k: v for k, v in params.items() if k != "clientToken"}, sort_keys=True)
    resources = _unique(params.get("resourceArns") or [], "resource ARNs")
    principals = _unique(params.get("principals") or [], "principals")
    views = _needs_views(resources)

    def change() -> dict[str, Any]:
        if token and (account, token) in STORE.tokens:
            seen, arn = STORE.tokens[account, token]
            if seen != fingerprint:
                raise ram_error("IdempotentParameterMismatchException",
                                f"The client token {token} was already used with different parameters.")
            return {"resourceShare": STORE.shares[arn].describe(), "clientToken": token}
        now = time.time()
        STORE.seq += 1
        share = Share(arn=f"arn:aws:ram:{region}:{account}:resource-share/{uuid.uuid4()}", name=params["name"],
                      owner=account, region=region, allow_external=params.get("allowExternalPrincipals", True),
                      tags=_check_tags(params.get("tags") or []), created=now, updated=now, seq=STORE.seq)
        externals = [_check_principal(share, p) for p in principals]
        for arn in resources:
            _check_resource(share, arn, views)
        for arn in resources:
            _associate(share, "RESOURCE", arn)
        for p, external in zip(principals, externals):
            _associate(share, "PRINCIPAL", p, external)
        STORE.shares[share.arn] = share
        if token:
            STORE.tokens[account, token] = (fingerprint, share.arn)
        out = {"resourceShare": share.describe()}
        if token:
            out["clientToken"] = token
        return out

    return STORE.mutate(change)


def update_resource_share(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    def change() -> dict[str, Any]:
        share = _own_share(params["resourceShareArn"], account, region)
        if share.status != "ACTIVE":
            raise ram_error("InvalidStateTransitionException", f"ResourceShare {share.arn} is {share.status}.")
        allow = params.get("allowExternalPrincipals")
        if allow is False and any(a.external for a in share.associated("PRINCIPAL")):
            raise ram_error("OperationNotPermittedException",
                            "The resource share has external principals; remove them before you disallow them.")
        if params.get("name") is not None:
            share.name = params["name"]
        if allow is not None:
            share.allow_external = allow
        share.updated = time.time()
        return _with_token({"resourceShare": share.describe()}, params)

    return STORE.mutate(change)


def _with_token(out: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    if params.get("clientToken"):
        out["clientToken"] = params["clientToken"]
    return out


def delete_resource_share(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    def change() -> dict[str, Any]:
        share = _own_share(params["resourceShareArn"], account, region)
        if share.status == "ACTIVE":
            for a in share.associations:
                if a.status != "DISASSOCIATED":
                    a.status, a.updated = "DISASSOCIATED", time.time()
            share.status, share.updated = "DELETED", time.time()
        return _with_token({"returnValue": True}, params)

    return STORE.mutate(change)


def associate_resource_share(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    resources = _unique(params.get("resourceArns") or [], "resource ARNs")
    principals = _unique(params.get("principals") or [], "principals")
    if not resources and not principals and not params.get("sources"):
        raise invalid("Specify at least one resource ARN or principal.")
    views = _needs_views(resources)

    def change() -> dict[str, Any]:
        share = _own_share(params["resourceShareArn"], account, region)
        if share.status != "ACTIVE":
            raise ram_error("InvalidStateTransitionException",
                            f"ResourceShare {share.arn} is {share.status}; you cannot associate with it.")
        externals = [_check_principal(share, p) for p in principals]
        for arn in resources:
            _check_resource(share, arn, views)
        out = [_associate(share, "RESOURCE", arn) for arn in resources]
        out += [_associate(share, "PRINCIPAL", p, ext) for p, ext in zip(principals, externals)]
        share.updated = time.time()
        return _with_token({"resourceShareAssociations": [share.association_json(a) for a in out]}, params)

    return STORE.mutate(change)


def disassociate_resource_share(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    resources = _unique(params.get("resourceArns") or [], "resource ARNs")
    principals = _unique(params.get("principals") or [], "principals")
    if not resources and not principals and not params.get("sources"):
        raise invalid("Specify at least one resource ARN or principal.")

    def change() -> dict[str, Any]:
        share = _own_share(params["resourceShareArn"], account, region)
        if share.status != "ACTIVE":
            raise ram_error("InvalidStateTransitionException",
                            f"ResourceShare {share.arn} is {share.status}; you cannot disassociate from it.")
        found = []
        for kind, entities in (("RESOURCE", resources), ("PRINCIPAL", principals)):
            for entity in entities:
                a = share.association(kind, entity)
                if a is None or a.status == "DISASSOCIATED":
                    what = "Resource" if kind == "RESOURCE" else "Principal"
                    raise ram_error("UnknownResourceException",
                                    f"{what} {entity} is not associated with ResourceShare {share.arn}.")
                found.append(a)
        out = [_disassociate(share, a) for a in found]
        share.updated = time.time()
        return _with_token({"resourceShareAssociations": [share.association_json(a) for a in out]}, params)

    return STORE.mutate(change)


def _shared_with(share: Share, account: str) -> bool:
    return share.status == "ACTIVE" and any(principal_covers(p.entity, account)
                                            for p in share.associated("PRINCIPAL"))


def _visible_shares(owner: str, account: str, region: str) -> list[Share]:
    if owner not in ("SELF", "OTHER-ACCOUNTS"):
        raise invalid(f"{owner} is not a valid resource owner. Specify either SELF or OTHER-ACCOUNTS and try again.")
    shares = sorted((s for s in STORE.shares.values() if s.region == region), key=lambda s: s.seq)
    if owner == "SELF":
        return [s for s in shares if s.owner == account]
    return [s for s in shares if s.owner != account and _shared_with(s, account)]


def _check_share_arns(arns: list[Any]) -> None:
    for arn in arns:
        if not isinstance(arn, str) or not re.fullmatch(r"arn:aws[a-z-]*:ram:[a-z0-9-]+:\d{12}:resource-share/.+", arn):
            raise ram_error("MalformedArnException", f"The specified resource share ARN {arn} is not valid. "
                            "Verify the ARN and try again.")


def get_resource_shares(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    shares = _visible_shares(params["resourceOwner"], account, region)
    arns = params.get("resourceShareArns") or []
    _check_share_arns(arns)
    if arns:
        shares = [s for s in shares if s.arn in arns]
    if params.get("resourceShareStatus"):
        shares = [s for s in shares if s.status == params["resourceShareStatus"]]
    if params.get("name") is not None:
        shares = [s for s in shares if s.name == params["name"]]
    for f in params.get("tagFilters") or []:
        key, values = f.get("tagKey"), f.get("tagValues") or []
        shares = [s for s in shares if any(t["key"] == key and (not values or t["value"] in values) for t in s.tags)]
    return paged("resourceShares", [s.describe() for s in shares], params, "GetResourceShares")


def get_resource_share_associations(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    kind = params["associationType"]
    if kind == "PRINCIPAL" and params.get("resourceArn"):
        raise invalid("You cannot specify a resource ARN when the association type is PRINCIPAL.")
    if kind == "RESOURCE" and params.get("principal"):
        raise invalid("You cannot specify a principal when the association type is RESOURCE.")
    arns = params.get("resourceShareArns") or []
    _check_share_arns(arns)
    out = []
    for share in sorted((s for s in STORE.shares.values() if s.region == region), key=lambda s: s.seq):
        if arns and share.arn not in arns:
            continue
        own = share.owner == account
        for a in share.associations:
            if a.kind != kind or not (own or (kind == "PRINCIPAL" and principal_covers(a.entity, account))):
                continue
            if params.get("resourceArn") not in (None, a.entity) or params.get("principal") not in (None, a.entity):
                continue
            if params.get("associationStatus") not in (None, a.status):
                continue
            out.append(share.association_json(a))
    return paged("resourceShareAssociations", out, params, "GetResourceShareAssociations")


def _check_type_filter(params: dict[str, Any]) -> str | None:
    wanted = params.get("resourceType")
    if wanted is None:
        return None
    known = {t["resourceType"].lower() for t in ram_utils.RAM_RESOURCE_TYPES}
    if wanted.lower() not in known:
        raise ram_error("InvalidResourceTypeException", f"The specified resource type {wanted} is not valid.")
    return wanted.lower()


def list_resources(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    owner = params["resourceOwner"]
    shares = _visible_shares(owner, account, region)
    kind = _check_type_filter(params)
    arns, share_arns = params.get("resourceArns") or [], params.get("resourceShareArns") or []
    _check_share_arns(share_arns)
    for arn in arns:
        if not isinstance(arn, str) or not _ARN.fullmatch(arn):
            raise ram_error("MalformedArnException", f"The specified resource ARN {arn} is not valid. "
                            "Verify the ARN and try again.")
    principal = params.get("principal")
    scope = params.get("resourceRegionScope") or "ALL"
    out = []
    for share in shares:
        if share.status != "ACTIVE" or (share_arns and share.arn not in share_arns):
            continue
        if principal is not None:
            if owner == "SELF" and not any(p.entity == principal for p in share.associated("PRINCIPAL")):
                continue
            if owner == "OTHER-ACCOUNTS" and share.owner != principal:
                continue
        for a in share.associations:
            if a.kind != "RESOURCE" or a.status not in ("ASSOCIATED", "ASSOCIATING"):
                continue
            if (arns and a.entity not in arns) or (kind and resource_type(a.entity).lower() != kind):
                continue
            if scope != "ALL" and region_scope(a.entity) != scope:
                continue
            out.append({"arn": a.entity, "type": resource_type(a.entity), "resourceShareArn": share.arn,
                        "status": "AVAILABLE" if a.status == "ASSOCIATED" else "PENDING",
                        "creationTime": a.created, "lastUpdatedTime": a.updated,
                        "resourceRegionScope": region_scope(a.entity)})
    return paged("resources", out, params, "ListResources")


def list_principals(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    owner = params["resourceOwner"]
    shares = _visible_shares(owner, account, region)
    kind = _check_type_filter(params)
    share_arns = params.get("resourceShareArns") or []
    _check_share_arns(share_arns)
    wanted = params.get("principals") or []
    resource = params.get("resourceArn")
    out = []
    for share in shares:
        if share.status != "ACTIVE" or (share_arns and share.arn not in share_arns):
            continue
        resources = [a.entity for a in share.associated("RESOURCE")]
        if (resource is not None and resource not in resources) or (
                kind and not any(resource_type(r).lower() == kind for r in resources)):
            continue
        if owner == "OTHER-ACCOUNTS":  # the accounts sharing with the caller
            if not wanted or share.owner in wanted:
                out.append({"id": share.owner, "resourceShareArn": share.arn, "creationTime": share.created,
                            "lastUpdatedTime": share.updated, "external": not in_organization(
                                organization_of(share.owner), account)})
            continue
        for a in share.associations:
            if a.kind == "PRINCIPAL" and a.status in ("ASSOCIATED", "ASSOCIATING") and (
                    not wanted or a.entity in wanted):
                out.append({"id": a.entity, "resourceShareArn": share.arn, "creationTime": a.created,
                            "lastUpdatedTime": a.updated, "external": a.external})
    return paged("principals", out, params, "ListPrincipals")


def _tagged_share(params: dict[str, Any], account: str, region: str) -> Share:
    if params.get("resourceShareArn") is None:
        if params.get("resourceArn") is not None:
            raise invalid("The emulator tags resource shares only (resourceShareArn), not managed permissions.")
        raise ram_error("MissingRequiredParameterException", "Specify resourceShareArn.")
    return _own_share(params["resourceShareArn"], account, region)


def tag_resource(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    with STORE.lock:
        share = _tagged_share(params, account, region)
        share.tags = _check_tags(params["tags"], share.tags)
        share.updated = time.time()
    return {}


def untag_resource(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    with STORE.lock:
        share = _tagged_share(params, account, region)
        share.tags = [t for t in share.tags if t["key"] not in params["tagKeys"]]
        share.updated = time.time()
    return {}


def list_resource_types(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    scope = params.get("resourceRegionScope") or "ALL"
    types = [dict(t) for t in ram_utils.RAM_RESOURCE_TYPES if scope in ("ALL", t["resourceRegionScope"])]
    return paged("resourceTypes", types, params, "ListResourceTypes")


HANDLERS = {
    "CreateResourceShare": create_resource_share, "UpdateResourceShare": update_resource_share,
    "DeleteResourceShare": delete_resource_share, "GetResourceShares": get_resource_shares,
    "AssociateResourceShare": associate_resource_share, "DisassociateResourceShare": disassociate_resource_share,
    "GetResourceShareAssociations": get_resource_share_associations, "ListResources": list_resources,
    "ListPrincipals": list_principals, "TagResource": tag_resource, "UntagResource": untag_resource,
    "ListResourceTypes": list_resource_types,
}


# ----------------------------------------------------------------------------
# Wiring into moto's RAM


def _request_params(response: ResourceAccessManagerResponse, operation: str) -> dict[str, Any]:
    """The JSON body, plus the members the model puts in the query string."""
    try:
        params = json.loads(response.body) if response.body else {}
    except ValueError:
        raise invalid("The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise invalid("The request body must be a JSON object.")
    for name, member in model().operation_model(operation).input_shape.members.items():
        if member.serialization.get("location") == "querystring" and name in response.querystring:
            params[name] = response.querystring[name][0]
    return params


def _handler(operation: str):
    def handle(self: ResourceAccessManagerResponse) -> tuple[int, dict[str, str], str]:
        params = _request_params(self, operation)
        check_input(operation, params)
        STORE.settle()
        with STORE.lock:  # moto's server is threaded; one RAM call at a time
            answer = HANDLERS[operation](params, self.current_account, self.region)
        problems = output_errors(operation, answer)
        if problems:
            raise ram_error("ServerInternalException", f"emulator bug: answer outside the model: {problems[:3]}", 500)
        return 200, {"Content-Type": "application/json"}, json.dumps(answer)

    handle.__name__ = re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()
    return handle


_original_call_action = ResourceAccessManagerResponse.call_action


def _call_action(self: ResourceAccessManagerResponse) -> Any:
    operation = self._get_action()
    try:
        params: Any = json.loads(self.body) if self.body else {}
    except ValueError:
        params = self.body
    if not params and self.querystring:
        params = {k: v[0] for k, v in self.querystring.items()}
    fault = STORE.record(operation, self.current_account, params)
    if fault is not None:
        raise ram_error(fault.code, fault.message, fault.status)
    return _original_call_action(self)


def install() -> None:
    """Routes moto's RAM operations here; call once, before moto's server handles a request."""
    if not any(t["resourceType"] == BILLING_VIEW_TYPE for t in ram_utils.RAM_RESOURCE_TYPES):
        # moto's backends read these lists when they are created (lazily, per account).
        ram_utils.RAM_RESOURCE_TYPES.append(
            {"resourceType": BILLING_VIEW_TYPE, "serviceName": "billing", "resourceRegionScope": "GLOBAL"})
        ram_utils.AWS_MANAGED_PERMISSIONS.append(ram_utils.format_ram_permission(
            name=BILLING_VIEW_PERMISSION, resource_type=BILLING_VIEW_TYPE, creation_time="2025-09-11 16:19:00.000"))
    for operation in OPERATIONS:
        uri = model().operation_model(operation).http["requestUri"]
        if not any(path.startswith(f"{{0}}{uri}") for path in ram_urls.url_paths):
            ram_urls.url_paths[f"{{0}}{uri}$"] = ResourceAccessManagerResponse.dispatch
        handler = _handler(operation)
        setattr(ResourceAccessManagerResponse, handler.__name__, handler)
    ResourceAccessManagerResponse.call_action = _call_action
    # As in AWS, enabling sharing with the organization enables RAM's
    # trusted access in Organizations (what `ListAWSServiceAccessForOrganization`
    # then lists, and what CostCarve's connection test reads).
    backend = ram_models.ResourceAccessManagerBackend
    if not getattr(backend.enable_sharing_with_aws_organization, "_costcarve", False):
        original = backend.enable_sharing_with_aws_organization

        def enable_sharing_with_aws_organization(self):  # type: ignore[no-untyped-def]
            out = original(self)
            self.organizations_backend.enable_aws_service_access(ServicePrincipal="ram.amazonaws.com")
            return out

        enable_sharing_with_aws_organization._costcarve = True  # type: ignore[attr-defined]
        backend.enable_sharing_with_aws_organization = enable_sharing_with_aws_organization
