"""Domain checks for TuringCore v1, registered with Schemathesis and usable on their own.

Generic fuzzers check shapes; these three know the ledger:

- `error_shape`: every 4xx/5xx body is an `Error` {error, message, details} whose code
  the spec documents for that status, or, for a 422, an `InvariantViolation` with a
  documented invariant code. The codes are read from the spec, never hard-coded.
- `balance_derivability`: after an account read, the balance equals the fold of the
  account's events (the legs of its `EntryPosted` and `FundsPosted` events; DEBIT adds,
  CREDIT subtracts).
- `tenant_sums_to_zero`: after an account list read, the balances of the whole tenant
  sum to zero (from the page when it holds the whole tenant, else from follow-up reads).
  Only members' accounts are listed by default (the published listing); the whole
  tenant takes `accountType=ALL`, an extension, so this check runs only where the spec
  under test has that parameter (the target offers it).

Each is a small function registered with `@schemathesis.check`, so importing this module
enables them in any Schemathesis run, including `schemathesis run` with
`SCHEMATHESIS_HOOKS=contract_tests.checks`. The logic underneath is plain functions over
parsed JSON (`error_shape_problem`, `fold_balance`, `balance_problem`,
`tenant_sum_problem`) plus `Reader`-based helpers that the other suites can reuse with any
`httpx.Client`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import schemathesis

from turingcore_client.money import amount
from turingcore_client.paging import offset_items

if TYPE_CHECKING:
    import httpx
    from schemathesis import Case, CheckContext, Response

# A reader makes one GET under /v1 and returns (status, JSON body parsed with Decimals).
Reader = Callable[[str, Mapping[str, Any]], tuple[int, Any]]

POSTING_EVENTS = frozenset({"EntryPosted", "FundsPosted"})
PAGE_LIMIT = 1000  # the spec's page_size_max: follow-up reads take whole pages
FOLLOW_UP_PAGES_MAX = 200  # a tenant larger than 200 000 events or accounts is not sampled
ACCOUNTS_PER_PAGE_CHECKED = 10  # a list read checks the balances of its first ten accounts


def loads(content: bytes | str) -> Any:
    """Parse JSON with every number that has a fraction as a Decimal, so money stays exact."""
    return json.loads(content, parse_float=Decimal)


def money(value: Any) -> Decimal:
    """A JSON amount as a Decimal (ints and Decimals from `loads`, floats from elsewhere),
    read exactly by the kit (`turingcore_client.money.amount`)."""
    return amount(value)


# --- error_shape -------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCatalogue:
    """The error codes a spec documents: every `Error.error`, per status where the spec says,
    and every `InvariantViolation.invariant`."""

    codes: frozenset[str]
    by_status: Mapping[int, frozenset[str]]
    invariants: frozenset[str]

    def codes_for(self, status: int) -> frozenset[str]:
        """The codes allowed for a status: those the table names, else any documented code."""
        return self.by_status.get(status, self.codes)


_TABLE_ROW = re.compile(r"^\|\s*(\d{3})\s*\|\s*`([A-Z0-9_]+)`", re.MULTILINE)


def error_catalogue(spec: Mapping[str, Any]) -> ErrorCatalogue:
    """Read the documented error and invariant codes from a TuringCore OpenAPI document.

    The codes come from the `Error.error` and `InvariantViolation.invariant` enums; which
    status carries which code comes from the status table in `Error`'s description.
    """
    schemas = spec.get("components", {}).get("schemas", {})
    error = schemas.get("Error", {})
    codes = frozenset(error.get("properties", {}).get("error", {}).get("enum", []))
    invariant = schemas.get("InvariantViolation", {}).get("properties", {}).get("invariant", {})
    invariants = frozenset(invariant.get("enum", []))
    by_status: dict[int, set[str]] = {}
    for status, code in _TABLE_ROW.findall(error.get("description", "")):
        if code in codes:
            by_status.setdefault(int(status), set()).add(code)
    return ErrorCatalogue(codes, {k: frozenset(v) for k, v in by_status.items()}, invariants)


def error_shape_problem(status: int, body: Any, catalogue: ErrorCatalogue) -> str | None:
    """What is wrong with an error reply's body, or None when it has the documented shape."""
    if status < 400:
        return None
    if not isinstance(body, dict):
        return f"a {status} reply must have a JSON object body, got {_short(body)}"
    if status == 422:
        missing = [
            k for k in ("commandId", "error", "invariant", "message", "details") if k not in body
        ]
        if missing:
            return f"a 422 must be an InvariantViolation; missing {', '.join(missing)}"
        if body["error"] != "INVARIANT_VIOLATION":
            return f"a 422 must have error INVARIANT_VIOLATION, got {body['error']!r}"
        if body["invariant"] not in catalogue.invariants:
            return f"invariant {body['invariant']!r} is not a documented invariant code"
        return _message_and_details(status, body)
    missing = [k for k in ("error", "message", "details") if k not in body]
    if missing:
        return (
            f"a {status} must be an Error {{error, message, details}}; missing {', '.join(missing)}"
        )
    allowed = catalogue.codes_for(status)
    if body["error"] not in allowed:
        documented = ", ".join(sorted(allowed)) or "none"
        return f"error code {body['error']!r} is not documented for {status} ({documented} are)"
    return _message_and_details(status, body)


def _message_and_details(status: int, body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("message"), str):
        return f"a {status} must have a string message"
    if not isinstance(body.get("details"), dict):
        return f"a {status} must have an object in details"
    return None


# --- balance_derivability ----------------------------------------------------------------


def fold_balance(events: Iterable[Mapping[str, Any]], account_id: str) -> Decimal:
    """The balance an account's events imply: its legs in EntryPosted and FundsPosted,
    DEBIT adding and CREDIT subtracting (the contract's sign convention)."""
    total = Decimal(0)
    for event in events:
        if event.get("eventType") not in POSTING_EVENTS:
            continue
        for leg in event.get("payload", {}).get("legs", []):
            if leg.get("accountId") != account_id:
                continue
            amount = money(leg["amount"])
            total += amount if leg.get("direction") == "DEBIT" else -amount
    return total


def balance_problem(account: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> str | None:
    """Whether an account's balance equals the fold of its events (those up to its
    lastSequence, an extension, when it has one)."""
    last = account.get("lastSequence")
    seen = [e for e in events if last is None or e.get("sequence", 0) <= last]
    folded = fold_balance(seen, str(account["accountId"]))
    balance = money(account["balance"])
    if balance != folded:
        return (
            f"account {account['accountId']} has balance {balance} but its {len(seen)} events "
            f"fold to {folded} (DEBIT +, CREDIT -)"
        )
    return None


def read_account_events(
    read: Reader, tenant_id: str, account_id: str, cursor: bool = False
) -> list[dict[str, Any]]:
    """Every event of an account: by offset paging (published), or following nextCursor
    (`cursor`, an extension)."""
    events: list[dict[str, Any]] = []
    after = 0
    for _ in range(FOLLOW_UP_PAGES_MAX):
        params = {"after": after} if cursor else {"offset": len(events)}
        status, page = read(
            f"/tenants/{tenant_id}/accounts/{account_id}/events", {**params, "limit": PAGE_LIMIT}
        )
        if status != 200:
            raise AssertionError(f"reading the events of account {account_id} gave {status}")
        events.extend(page["events"])
        if cursor:
            if page.get("nextCursor") is None:
                break
            after = page["nextCursor"]
        elif len(page["events"]) < PAGE_LIMIT:
            break
    return events


def check_account_balance(read: Reader, tenant_id: str, account_id: str) -> str | None:
    """Read an account and its events; return what is wrong, or None."""
    status, account = read(f"/tenants/{tenant_id}/accounts/{account_id}", {})
    if status != 200:
        return f"reading account {account_id} gave {status}"
    return balance_problem(account, read_account_events(read, tenant_id, account_id))


# --- tenant_sums_to_zero -----------------------------------------------------------------


def tenant_sum_problem(accounts: Iterable[Mapping[str, Any]], tenant_id: str = "") -> str | None:
    """Whether the balances of a whole tenant's accounts sum to zero, per currency."""
    sums: dict[str, Decimal] = {}
    count = 0
    for account in accounts:
        count += 1
        currency = str(account.get("currency", ""))
        sums[currency] = sums.get(currency, Decimal(0)) + money(account["balance"])
    off = {currency: total for currency, total in sums.items() if total != 0}
    if off:
        shown = ", ".join(f"{total} {currency}" for currency, total in sorted(off.items()))
        return f"the balances of tenant {tenant_id} ({count} accounts) sum to {shown}, not 0"
    return None


def read_all_accounts(read: Reader, tenant_id: str) -> list[dict[str, Any]]:
    """Every account of a tenant, GL accounts included (accountType=ALL), page by page."""

    def fetch(offset: int) -> Mapping[str, Any]:
        status, page = read(
            f"/tenants/{tenant_id}/accounts",
            {"limit": PAGE_LIMIT, "offset": offset, "accountType": "ALL"},
        )
        if status != 200:
            raise AssertionError(f"listing the accounts of tenant {tenant_id} gave {status}")
        return {"accounts": page["accounts"], "total": page["total"]}

    return list(offset_items(fetch, "accounts", pages_max=FOLLOW_UP_PAGES_MAX))


def check_tenant_sum(read: Reader, tenant_id: str) -> str | None:
    """Read every account of a tenant and check that the balances sum to zero.

    The pages are read at different times, so a write in between can make a true ledger
    look unbalanced; the read is repeated (up to three times) until the tenant's
    lastSequence is the same before and after it.
    """
    problem = None
    for _ in range(3):
        before = _last_sequence(read, tenant_id)
        problem = tenant_sum_problem(read_all_accounts(read, tenant_id), tenant_id)
        if problem is None or _last_sequence(read, tenant_id) == before:
            return problem
    return problem


def _last_sequence(read: Reader, tenant_id: str) -> int | None:
    """The tenant's lastSequence (GET /tenants/{t}, an extension), or None."""
    try:
        status, tenant = read(f"/tenants/{tenant_id}", {})
    except ValueError:  # not in the spec under test: the target does not offer it
        return None
    return tenant.get("lastSequence") if status == 200 and isinstance(tenant, dict) else None


def httpx_reader(client: httpx.Client, prefix: str = "/v1") -> Reader:
    """A Reader over an httpx client bound to a target's root (see `Target.client`)."""

    def read(path: str, params: Mapping[str, Any]) -> tuple[int, Any]:
        reply = client.get(prefix + path, params=dict(params))
        try:
            return reply.status_code, loads(reply.content)
        except ValueError:
            return reply.status_code, None

    return read


# --- the Schemathesis checks -------------------------------------------------------------


@dataclass
class _Verified:
    """What the follow-up checks already proved, so one state is checked once, not per read."""

    keys: set[tuple[Any, ...]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first_time(self, key: tuple[Any, ...]) -> bool:
        with self.lock:
            if key in self.keys:
                return False
            if len(self.keys) > 100_000:
                self.keys.clear()
            self.keys.add(key)
            return True

    def forget(self, key: tuple[Any, ...]) -> None:
        with self.lock:
            self.keys.discard(key)


_verified = _Verified()
# Per loaded spec; the spec itself is kept alongside so that its id() cannot be reused.
_catalogues: dict[int, tuple[Any, ErrorCatalogue]] = {}


def _catalogue_for(case: Case) -> ErrorCatalogue:
    raw = case.operation.schema.raw_schema
    cached = _catalogues.get(id(raw))
    if cached is None or cached[0] is not raw:
        cached = _catalogues[id(raw)] = (raw, error_catalogue(raw))
    return cached[1]


def _offers_parameter(case: Case, operation_id: str, name: str) -> bool:
    """True when the spec under test gives `operation_id` the query parameter `name` (an
    extension parameter is only there when the target offers it)."""
    raw = case.operation.schema.raw_schema
    key = (id(raw), operation_id, name)
    cached = _parameters.get(key)
    if cached is not None and cached[0] is raw:
        return cached[1]
    found = False
    for item in (raw.get("paths") or {}).values():
        for operation in item.values() if isinstance(item, dict) else ():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                for param in operation.get("parameters") or []:
                    resolved = _resolve(raw, param)
                    found = found or (isinstance(resolved, dict) and resolved.get("name") == name)
    _parameters[key] = (raw, found)
    return found


_parameters: dict[tuple[int, str, str], tuple[Any, bool]] = {}


def _resolve(raw: Mapping[str, Any], node: Any) -> Any:
    ref = node.get("$ref") if isinstance(node, dict) else None
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return node
    target: Any = raw
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, dict) else None
    return target


def _operation_id(case: Case) -> str | None:
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None)
    return raw.get("operationId") if isinstance(raw, dict) else None


def _body(response: Response) -> Any:
    try:
        return loads(response.content)
    except ValueError:
        return response.content[:200]


# The follow-up reads the checks make, as (path pattern, operationId, path parameter names).
_FOLLOW_UPS = (
    (re.compile(r"^/tenants/([^/]+)$"), "getTenant", ("tenantId",)),
    (re.compile(r"^/tenants/([^/]+)/accounts$"), "listAccounts", ("tenantId",)),
    (re.compile(r"^/tenants/([^/]+)/accounts/([^/]+)$"), "getAccount", ("tenantId", "accountId")),
    (
        re.compile(r"^/tenants/([^/]+)/accounts/([^/]+)/events$"),
        "listAccountEvents",
        ("tenantId", "accountId"),
    ),
)


def _schema_reader(ctx: CheckContext | None, response: Response, case: Case) -> Reader:
    """A Reader that sends follow-up GETs through the run's own Schemathesis transport
    (the same base URL, app, session and auth headers as the request being checked)."""
    schema = case.operation.schema
    kwargs = dict(ctx.internals.transport_kwargs or {}) if ctx is not None else {}
    headers = dict(kwargs.pop("headers", None) or {})
    sent = getattr(response.request, "headers", None) or {}
    if "Authorization" not in headers and sent.get("Authorization"):
        headers["Authorization"] = sent["Authorization"]
    if case.operation.app is not None:
        kwargs.setdefault("app", case.operation.app)

    def read(path: str, params: Mapping[str, Any]) -> tuple[int, Any]:
        for pattern, operation_id, names in _FOLLOW_UPS:  # noqa: B007 (used after the loop)
            match = pattern.match(path)
            if match is not None:
                break
        else:
            raise ValueError(f"no follow-up read for {path}")
        try:
            operation = schema.find_operation_by_id(operation_id)
        except Exception as exc:  # not in the spec under test (the target does not offer it)
            raise ValueError(f"{operation_id} is not offered") from exc
        follow = operation.Case(
            path_parameters=dict(zip(names, match.groups(), strict=True)),
            query=dict(params),
            headers=headers,
        )
        reply = follow.call(**kwargs)
        try:
            return reply.status_code, loads(reply.content)
        except ValueError:
            return reply.status_code, None

    return read


def reset_follow_up_cache() -> None:
    """Forget which ledger states the follow-up checks already verified (once per run)."""
    with _verified.lock:
        _verified.keys.clear()


@schemathesis.check
def error_shape(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every error reply has the documented body and a code the spec documents for its status."""
    if response.status_code < 400:
        return True  # not applicable
    problem = error_shape_problem(response.status_code, _body(response), _catalogue_for(case))
    if problem:
        raise AssertionError(problem)
    return None


@schemathesis.check
def balance_derivability(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After an account read (one account, or a page of them), each balance equals the
    fold of the account's events."""
    operation = _operation_id(case)
    if response.status_code != 200 or operation not in ("getAccount", "listAccounts"):
        return True
    body = _body(response)
    if operation == "getAccount":
        accounts = [body]
    else:
        listed = body.get("accounts") if isinstance(body, dict) else None
        accounts = listed[:ACCOUNTS_PER_PAGE_CHECKED] if isinstance(listed, list) else []
    read: Reader | None = None
    checked = False
    for account in accounts:
        if not isinstance(account, dict) or "balance" not in account or "accountId" not in account:
            continue  # the shape is response_schema_conformance's business
        tenant_id = str(account.get("tenantId") or case.path_parameters.get("tenantId"))
        state = (account["accountId"], account.get("lastSequence"), account["balance"])
        if not _verified.first_time(("balance", tenant_id, *state)):
            continue
        read = read or _schema_reader(ctx, response, case)
        checked = True
        cursor = _offers_parameter(case, "listAccountEvents", "after")
        try:
            events = read_account_events(read, tenant_id, account["accountId"], cursor)
            problem = balance_problem(account, events)
        except (KeyError, TypeError, ArithmeticError) as exc:
            problem = f"the events of account {account['accountId']} cannot be folded: {exc!r}"
        if problem:
            _verified.forget(("balance", tenant_id, *state))  # fail every read of this state
            raise AssertionError(problem)
    return None if checked or accounts else True


@schemathesis.check
def tenant_sums_to_zero(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """After an account list read, the balances of the whole tenant sum to zero (where the
    target lists every account: accountType=ALL, an extension)."""
    if response.status_code != 200 or _operation_id(case) != "listAccounts":
        return True
    if not _offers_parameter(case, "listAccounts", "accountType"):
        return True  # the published listing has members' accounts only
    page = _body(response)
    if not isinstance(page, dict) or not isinstance(page.get("accounts"), list):
        return True
    tenant_id = str(case.path_parameters.get("tenantId"))
    query = case.query or {}
    whole = (
        not query.get("customerId")
        and query.get("accountType") == "ALL"
        and page.get("offset", 0) == 0
        and page.get("total") == len(page["accounts"])
    )
    key: tuple[Any, ...] | None = None
    try:
        if whole:
            problem = tenant_sum_problem(page["accounts"], tenant_id)
        else:
            read = _schema_reader(ctx, response, case)
            key = ("sum", tenant_id, _last_sequence(read, tenant_id))
            if not _verified.first_time(key):
                return None
            problem = check_tenant_sum(read, tenant_id)
    except (KeyError, TypeError, ArithmeticError) as exc:
        problem = f"the balances of tenant {tenant_id} cannot be summed: {exc!r}"
    if problem and key is not None:
        _verified.forget(key)
    if problem:
        raise AssertionError(problem)
    return None


DOMAIN_CHECKS = ("error_shape", "balance_derivability", "tenant_sums_to_zero")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
