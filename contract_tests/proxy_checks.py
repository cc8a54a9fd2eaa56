"""What the validating proxy checks on each exchange it passes through.

`Observer.observe(exchange)` judges one request and its reply, in the order the replies
completed, and returns the findings. It keeps only what the traffic showed:

- the spec: the reply's status is documented for the operation, its body has the
  documented shape (Schemathesis's `validate_response` against the contract, the same
  validator the schema suite uses), an error body is the documented `Error` or
  `InvariantViolation` with a documented code (`checks.error_shape_problem`), and no
  reply is a 5xx;
- the ledger rules it can see: a 202 PostEntry whose debits and credits differ; a balance
  read that is not what the entries seen imply (only for accounts whose opening the
  proxy saw, and only for reads with no command of that tenant in flight); a replay (the
  same idempotency key, or commandId, with the same command) whose reply differs from the
  first, or a 202 for a key reused with another command; a hash chain that does not
  recompute or link in the events read, and an eventId served for two sequences; an
  account's `lastSequence` that is not its latest event's (reads at one quiet moment).

The checks of lists, tenant-id case, idempotency scope, correlation ids and product
bounds are in `proxy_lists.ListChecks`, the check of key scopes in
`proxy_scope.KeyScope`; this Observer calls both.

Each check is a row of a `SuiteResult("proxy")`, so the reports are `contract-test`'s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import orjson
import schemathesis
from schemathesis.core.transport import Response

from contract_tests import proxy_lists, proxy_scope
from contract_tests.checks import ErrorCatalogue, error_catalogue, error_shape_problem, loads
from contract_tests.results import CheckRow, SuiteResult, curl_command
from turingcore_client.canonical import event_hash
from turingcore_client.contract import gl_accounts, initial_deposit_account
from turingcore_client.money import amount

ZERO_HASH = "0" * 64
HASHES_KEPT_MAX = 1_000_000  # per tenant: sequence -> hash, for the links between pages
REPLIES_KEPT_MAX = 1_000_000  # per tenant: the first 202 of each idempotency key
# A replay refused with one of these is a finding (a 409 is a command still in flight,
# 401/403/429/5xx depend on who asked and when, not on the command).
REFUSALS = frozenset({400, 404, 413, 415, 422})

# The rows, in report order, with what each judges.
ROWS: dict[str, str] = {
    "spec_status": "the reply's status is documented for the operation",
    "spec_shape": "the reply's body has the documented shape",
    "error_shape": "an error body is an Error or InvariantViolation with a documented code",
    "no_server_error": "no reply is a 5xx",
    "entry_balanced": "a 202 PostEntry has debits equal to credits",
    "balance_follows": "a balance read is the fold of the entries the proxy saw",
    "replay_same_reply": "a replay gets the first reply unchanged",
    "key_reuse_refused": "a key reused with another command is not accepted",
    "hash_chain": "each event read recomputes (RFC 8785) and links to the one before",
    "event_ids_unique": "an eventId names one event",
    "last_sequence": "an account's lastSequence is its latest event's",
    **proxy_lists.ROWS,
    **proxy_scope.ROWS,
}


@dataclass
class Exchange:
    """One request and its reply, as the proxy passed them."""

    method: str
    path: str  # as the client sent it, the upstream's prefix included
    query: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int
    reply_headers: list[tuple[str, str]]
    reply_body: bytes
    started: float = 0.0  # epoch seconds
    elapsed_ms: float = 0.0
    # For reads: no command of the path's tenant was in flight while it ran, and
    # `epoch` commands of that tenant had completed when it started.
    quiet: bool = False
    epoch: int = 0
    upstream_error: str | None = None  # the upstream did not answer (the proxy said 502)

    def header(self, name: str, reply: bool = True) -> str | None:
        wanted = name.lower()
        headers = self.reply_headers if reply else self.request_headers
        return next((v for k, v in headers if k.lower() == wanted), None)


@dataclass
class Finding:
    check: str
    message: str
    method: str
    path: str
    key: str

    def line(self) -> str:
        """One line for the console: the check, the request and what is wrong."""
        return f"FINDING {self.check}: {self.method} {self.path} key={self.key}: {self.message}"


@dataclass
class _Tenant:
    """What the proxy knows of one tenant from the traffic."""

    balances: dict[str, Decimal] = field(default_factory=dict)  # accounts opened in view
    certain: bool = True  # False once a command's outcome was not seen
    first_replies: dict[str, tuple[bytes, Any]] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    event_ids: dict[str, int] = field(default_factory=dict)
    # account -> (epoch, lastSequence) from account reads; (epoch, latest event) from events
    last_sequences: dict[str, tuple[int, int]] = field(default_factory=dict)
    latest_events: dict[str, tuple[int, int]] = field(default_factory=dict)


def _parse(body: bytes) -> Any:
    try:
        return loads(body) if body else None
    except ValueError:
        return None


class Observer:
    """Judges exchanges against the contract `spec`; the API lives under `api_prefix`
    (e.g. `/v1`, or `/core/v1` behind a gateway)."""

    def __init__(self, spec: Mapping[str, Any], api_prefix: str = "/v1", target: str = "") -> None:
        self.api_prefix = api_prefix.rstrip("/")
        self.schema: Any = schemathesis.openapi.from_dict(copy.deepcopy(dict(spec)))
        self.catalogue: ErrorCatalogue = error_catalogue(spec)
        self.result = SuiteResult("proxy")
        self._rows = {name: self.result.row(name) for name in ROWS}
        self.tenants: dict[str, _Tenant] = {}
        self.findings: list[Finding] = []
        self.exchanges = 0
        self.target = target
        self._operations: dict[tuple[str, str], Any] = {}
        self._requests: dict[tuple[str, str], Any] = {}
        self.lists = proxy_lists.ListChecks(spec)
        self.scope = proxy_scope.KeyScope()

    # --- the entry point ---------------------------------------------------------------

    def observe(self, ex: Exchange) -> list[Finding]:
        """Judge one exchange; return its findings (also kept in `findings`)."""
        self.exchanges += 1
        if not ex.path.startswith(self.api_prefix + "/") or ex.upstream_error is not None:
            if ex.upstream_error is not None:
                tenant = self._tenant_of(ex.path[len(self.api_prefix) :])
                if tenant is not None:
                    self._tenant(tenant).certain = False
            return []
        rel = ex.path[len(self.api_prefix) :]
        found: list[Finding] = []
        request = _parse(ex.request_body) if ex.method == "POST" else None
        key = _key_of(request)
        reply = _parse(ex.reply_body)

        def check(row: str, problem: str | None) -> None:
            if problem is None:
                self._rows[row].record(True)
                return
            curl = curl_command(ex.method, self.target + ex.path, {}, ex.request_body or None)
            self._rows[row].record(False, problem, curl)
            found.append(Finding(row, problem, ex.method, ex.path, key))

        operation = self._operation(ex.method, rel)
        if operation is not None:
            self._check_spec(ex, operation, reply, check)
        if ex.method == "GET" and ex.status == 200 and rel in ("/openapi.yaml", "/openapi.json"):
            self.lists.learn_spec(spec_of(ex.reply_body))
        tenant_id = self._tenant_of(rel)
        if tenant_id is not None:
            self.lists.exchange(tenant_id, rel, ex, reply, check)
            self.scope.exchange(tenant_id, rel, ex, request, reply, check)
        if tenant_id is not None and ex.status < 500:
            if ex.method == "POST" and rel.endswith("/commands") and isinstance(request, dict):
                self._command(tenant_id, ex, request, reply, check)
            elif ex.method == "GET" and ex.status == 200 and isinstance(reply, dict):
                self._read(tenant_id, rel, ex, reply, check)
        self.findings.extend(found)
        return found

    def row_names(self) -> Sequence[str]:
        return tuple(ROWS)

    # --- the spec ----------------------------------------------------------------------

    def _operation(self, method: str, rel: str) -> Any:
        cache_key = (method, _template_key(rel))
        if cache_key not in self._operations:
            self._operations[cache_key] = self.schema.find_operation_by_path(method, rel)
        return self._operations[cache_key]

    def _request_for(self, method: str, path: str) -> Any:
        """The request a Schemathesis Response names (in its failure messages): made once
        per route through Schemathesis's own httpx adapter, for speed."""
        cache_key = (method, _template_key(path))
        if cache_key not in self._requests:
            request = httpx.Request(method, "http://proxy" + path)
            served = httpx.Response(200, request=request)
            served.elapsed = timedelta(0)
            self._requests[cache_key] = Response.from_httpx(served, verify=False).request
        return self._requests[cache_key]

    def _check_spec(self, ex: Exchange, operation: Any, reply: Any, check: Any) -> None:
        check("no_server_error", f"answered {ex.status}" if ex.status >= 500 else None)
        documented = operation.responses.find_by_status_code(ex.status) is not None
        check(
            "spec_status",
            None if documented else f"status {ex.status} is not documented for {operation.label}",
        )
        if ex.status >= 400:
            check("error_shape", error_shape_problem(ex.status, reply, self.catalogue))
        if not documented:
            return
        headers: dict[str, list[str]] = {}
        for name, value in ex.reply_headers:
            headers.setdefault(name.lower(), []).append(value)
        request = self._request_for(ex.method, ex.path)
        response = Response(ex.status, headers, ex.reply_body, request, ex.elapsed_ms / 1000, False)
        try:
            operation.validate_response(response)
            problem = None
        except (Exception, BaseExceptionGroup) as exc:  # Schemathesis's failure (group)
            parts = getattr(exc, "exceptions", None) or (exc,)
            problem = "; ".join(_first_lines(str(part), 160) for part in parts[:3])
        check("spec_shape", problem)

    # --- the ledger --------------------------------------------------------------------

    def _tenant(self, tenant_id: str) -> _Tenant:
        found = self.tenants.get(tenant_id)
        if found is None:
            found = self.tenants[tenant_id] = _Tenant()
        return found

    @staticmethod
    def _tenant_of(rel: str) -> str | None:
        parts = rel.strip("/").split("/")
        return parts[1] if len(parts) >= 2 and parts[0] == "tenants" and parts[1] else None

    def _command(
        self, tenant_id: str, ex: Exchange, command: dict[str, Any], reply: Any, check: Any
    ) -> None:
        tenant = self._tenant(tenant_id)
        key = str(command.get("idempotencyKey") or command.get("commandId"))
        what = orjson.dumps([command.get("commandType"), command.get("payload")], default=str)
        first = tenant.first_replies.get(key)
        if first is not None and first[0] != what:
            reused = (
                f"key {key} was used for another command and this one got 202, not 422 "
                "IDEMPOTENCY_KEY_REUSED"
            )
            check("key_reuse_refused", reused if ex.status == 202 else None)
            return
        if first is not None:
            if ex.status == 202:
                differs = _differences(first[1], reply) if reply != first[1] else None
                check("replay_same_reply", differs and f"the replay's reply differs: {differs}")
            elif ex.status in REFUSALS:
                check("replay_same_reply", f"the replay of an accepted command got {ex.status}")
            return
        self.lists.command(tenant_id, ex, command, reply, key, tenant.certain, check)
        if ex.status != 202 or not isinstance(reply, dict):
            return
        if ex.header("idempotent-replayed") == "true":
            tenant.certain = False  # a replay of a command the proxy never saw accepted
        if len(tenant.first_replies) < REPLIES_KEPT_MAX:
            tenant.first_replies[key] = (what, reply)
        self._apply(tenant, command, reply, check)

    def _apply(
        self, tenant: _Tenant, command: dict[str, Any], reply: dict[str, Any], check: Any
    ) -> None:
        kind = command.get("commandType")
        payload = command.get("payload") if isinstance(command.get("payload"), dict) else {}
        assert isinstance(payload, dict)
        if kind == "CreateTenant":
            for code in gl_accounts():
                tenant.balances.setdefault(code, Decimal(0))
        elif kind == "OpenAccount":
            result = reply.get("result") if isinstance(reply.get("result"), dict) else {}
            account = reply.get("accountId") or (result or {}).get("accountId")
            if isinstance(account, str):
                deposit = _amount(payload.get("initialDeposit")) or Decimal(0)
                tenant.balances[account] = deposit
                gl = initial_deposit_account()
                if gl in tenant.balances:  # else the tenant was made before the proxy saw it
                    tenant.balances[gl] -= deposit
        elif kind == "PostEntry":
            legs = payload.get("legs") if isinstance(payload.get("legs"), list) else []
            debits = credits = Decimal(0)
            for leg in legs or []:
                value = _amount(leg.get("amount")) if isinstance(leg, dict) else None
                if value is None:
                    continue
                debit = leg.get("direction") == "DEBIT"
                debits, credits = (debits + value, credits) if debit else (debits, credits + value)
                account = str(leg.get("accountId"))
                if account in tenant.balances:
                    tenant.balances[account] += value if debit else -value
            check(
                "entry_balanced",
                None
                if debits == credits
                else f"accepted an entry whose debits {debits} differ from its credits {credits}",
            )

    def _read(
        self, tenant_id: str, rel: str, ex: Exchange, reply: dict[str, Any], check: Any
    ) -> None:
        tenant = self._tenant(tenant_id)
        parts = rel.strip("/").split("/")
        if len(parts) in (3, 4) and parts[2] == "accounts":
            items = reply.get("accounts") if len(parts) == 3 else [reply]
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and isinstance(item.get("accountId"), str):
                    self._account(tenant, ex, item, check)
        if (len(parts) == 3 and parts[2] == "events") or (len(parts) == 5 and parts[4] == "events"):
            # Parsed again with floats: the hash is over the JSON numbers as served.
            events = orjson.loads(ex.reply_body).get("events")
            if not isinstance(events, list) or not events:
                return
            self._events(tenant, events, check)
            if len(parts) == 5 and ex.quiet and _whole_stream(ex.query, reply, events):
                latest = max(int(e.get("sequence") or 0) for e in events)
                tenant.latest_events[parts[3]] = (ex.epoch, latest)
                self._compare_sequence(tenant, parts[3], check)

    def _account(self, tenant: _Tenant, ex: Exchange, item: dict[str, Any], check: Any) -> None:
        account = item["accountId"]
        expected = tenant.balances.get(account)
        if expected is not None and tenant.certain and ex.quiet and "balance" in item:
            served = _amount(item["balance"])
            problem = None
            if served is None:
                problem = f"account {account} has balance {item['balance']!r}, not a number"
            elif served != expected:
                problem = (
                    f"account {account} has balance {served}; the entries seen make it {expected}"
                )
            check("balance_follows", problem)
        last = item.get("lastSequence")
        if ex.quiet and isinstance(last, int):
            tenant.last_sequences[account] = (ex.epoch, last)
            self._compare_sequence(tenant, account, check)

    def _compare_sequence(self, tenant: _Tenant, account: str, check: Any) -> None:
        read, events = tenant.last_sequences.get(account), tenant.latest_events.get(account)
        if read is None or events is None or read[0] != events[0]:
            return  # not read at one quiet moment
        check(
            "last_sequence",
            None
            if read[1] == events[1]
            else f"account {account} has lastSequence {read[1]}, its latest event {events[1]}",
        )

    def _events(self, tenant: _Tenant, events: list[Any], check: Any) -> None:
        for event in events:
            if not isinstance(event, dict) or not isinstance(event.get("hash"), str):
                continue  # the chain is an extension the service does not offer
            sequence = int(event.get("sequence") or 0)
            problem = None
            if event_hash(event) != event["hash"]:
                problem = f"event {sequence} ({event.get('eventType')}) does not recompute"
            elif sequence == 1 and event.get("prevHash") != ZERO_HASH:
                problem = "the first event's prevHash is not 64 zeros"
            elif (
                sequence - 1 in tenant.hashes
                and event.get("prevHash") != tenant.hashes[sequence - 1]
            ):
                problem = f"event {sequence}'s prevHash is not event {sequence - 1}'s hash"
            elif tenant.hashes.get(sequence, event["hash"]) != event["hash"]:
                problem = f"event {sequence} was served with another hash before"
            check("hash_chain", problem)
            if len(tenant.hashes) < HASHES_KEPT_MAX:
                tenant.hashes.setdefault(sequence, event["hash"])
            event_id = event.get("eventId")
            if isinstance(event_id, str):
                before = tenant.event_ids.setdefault(event_id, sequence)
                check(
                    "event_ids_unique",
                    None
                    if before == sequence
                    else f"eventId {event_id} names events {before} and {sequence}",
                )


def _whole_stream(query: str, reply: Mapping[str, Any], events: list[Any]) -> bool:
    """Whether an events page is the account's whole stream: from the start, and the last."""
    params = dict(parse_qsl(query))
    if params.get("after", "0") != "0" or params.get("offset", "0") != "0":
        return False
    if "nextCursor" in reply:
        return reply["nextCursor"] is None
    return len(events) < int(params.get("limit", "100"))


def spec_of(body: bytes) -> Any:
    """A served OpenAPI document (YAML or JSON), or None."""
    import yaml

    try:
        return yaml.safe_load(body)
    except yaml.YAMLError:
        return None


def _key_of(command: Any) -> str:
    if not isinstance(command, dict):
        return "-"
    return str(command.get("idempotencyKey") or command.get("commandId") or "-")


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return amount(value)


def _template_key(rel: str) -> str:
    """The path with its ids masked: one cached operation per route, not per id."""
    parts = rel.strip("/").split("/")
    return "/".join(p if i % 2 == 0 else "*" for i, p in enumerate(parts))


def _differences(first: Any, again: Any) -> str:
    if isinstance(first, dict) and isinstance(again, dict):
        names = sorted(k for k in first.keys() | again.keys() if first.get(k) != again.get(k))
        return ", ".join(f"{n} {first.get(n)!r} then {again.get(n)!r}" for n in names[:3])
    return f"{first!r} then {again!r}"[:200]


def _first_lines(text: str, limit: int = 300) -> str:
    joined = " ".join(line.strip() for line in text.strip().splitlines()[:6] if line.strip())
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def rows_not_reached(result: SuiteResult) -> list[CheckRow]:
    """The rows no exchange reached."""
    return [row for row in result.rows if row.runs == 0]
