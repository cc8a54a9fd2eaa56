"""The proxy's checks of lists, tenant ids, idempotency scope, correlation ids and bounds.

`ListChecks` is called by `proxy_checks.Observer` on each exchange; each check judges only
where the traffic makes the verdict certain, so a service that follows the published
contract is never flagged:

- `paging`: a customers or accounts page holds min(limit, max(0, total - offset)) items
  (reads with no command of the tenant in flight); a walk of one list at one state (pages
  at offsets 0, limit, 2*limit ... up to total, no command of the tenant between them)
  holds each item once and `total` items, every page giving the same total;
- `filtered_total`: a customerId-filtered page that holds everything (offset 0, fewer
  items than limit) has total == its length;
- `list_order`: a list is in creation order, judged on pairs whose creations did not
  overlap (one's 202 came back before the other was sent);
- `tenant_id_case`: a request to a tenant id that differs only in case from a tenant the
  proxy saw created (and is no valid tenant code itself) is not answered 2xx;
- `idempotency_scope`: on a tenant the proxy saw created, a reply `Idempotent-Replayed:
  true`, or a 422 IDEMPOTENCY_KEY_REUSED, for a key the proxy never saw accepted there
  (keys are per tenant); judged only where no other command of the tenant overlapped;
- `correlation_echo`: a fresh 202 to a command sent with `X-Correlation-Id` has that
  `correlationId`, where the spec documents the header for the operation and, when the
  header is an extension, where the upstream offers it (its served spec says so, or a
  reply echoed one before);
- `balance_bounds`: a 202 PostEntry or OpenAccount that takes an account outside its
  product's bounds, by the reference model (`model.Ledger.expect`, `bound_breach`) fed
  from the traffic: only on tenants seen from their creation, with every outcome seen,
  and commands no other command of the tenant overlapped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from rfc8785 import CanonicalizationError

from contract_tests.extensions import (
    MARK,
    find_operation,
    offered_by_spec,
    resolve_ref,
)
from contract_tests.model import Ledger

if TYPE_CHECKING:
    from contract_tests.proxy_checks import Exchange

Check = Callable[[str, str | None], None]

ROWS: dict[str, str] = {
    "paging": "a page's length follows offset/limit/total; a walk holds each item once",
    "filtered_total": "a filtered page that holds everything has total == its length",
    "list_order": "a list is in creation order (creations that did not overlap)",
    "tenant_id_case": "a tenant id in another case is not served",
    "idempotency_scope": "a key is replayed or refused as reused only on its own tenant",
    "correlation_echo": "a command's X-Correlation-Id is its reply's correlationId",
    "balance_bounds": "an accepted command keeps every account within its product's bounds",
}
LISTS = {"customers": "customerId", "accounts": "accountId"}
TENANT_CODE = re.compile(r"^[A-Z0-9_]{2,32}$")
BOUNDS = frozenset({"OVERDRAFT_LIMIT_EXCEEDED", "MAX_BALANCE_EXCEEDED"})
LIMIT_DEFAULT, LIMIT_MAX = 50, 1000
COMMANDS = "/tenants/{t}/commands"


@dataclass
class _Walk:
    """The pages of one list at one state: offset -> (ids, total)."""

    pages: dict[int, tuple[list[str], int]] = field(default_factory=dict)
    judged: bool = False


@dataclass
class _Lists:
    epoch: int = -1
    walks: dict[tuple[str, str, int], _Walk] = field(default_factory=dict)
    # id -> (request started, reply ended), epoch seconds, of its creating command
    created: dict[str, tuple[float, float]] = field(default_factory=dict)


class ListChecks:
    """The checks above, with what they keep of the traffic."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.created_tenants: set[str] = set()
        self.lists: dict[str, _Lists] = {}
        self.ledger = Ledger()  # tenants seen from their creation, while certain
        self.offered: bool | None = None  # the correlation header, once known
        self._documented: tuple[bool, bool] | None = None

    # --- what the upstream offers ------------------------------------------------------

    def learn_spec(self, served: Any) -> None:
        """The upstream's served spec (from its /openapi.yaml|json) says what it offers."""
        if isinstance(served, dict) and "paths" in served:
            self.offered = offered_by_spec(served)["correlation_header"]

    def _header_documented(self) -> tuple[bool, bool]:
        """(documented for commands, marked as an extension) in the proxy's spec."""
        if self._documented is None:
            operation = find_operation(self.spec, "post", COMMANDS) or {}
            documented = marked = False
            for param in operation.get("parameters") or []:
                resolved = resolve_ref(self.spec, param)
                if isinstance(resolved, dict) and resolved.get("name") == "X-Correlation-Id":
                    documented, marked = True, resolved.get(MARK) is True
            self._documented = (documented, marked)
        return self._documented

    # --- every exchange ----------------------------------------------------------------

    def exchange(self, tenant_id: str, rel: str, ex: Exchange, reply: Any, check: Check) -> None:
        if tenant_id not in self.created_tenants and not TENANT_CODE.match(tenant_id):
            folded = tenant_id.upper()
            if folded in self.created_tenants:
                check(
                    "tenant_id_case",
                    f"tenant {tenant_id!r} answered {ex.status}: it is not {folded}"
                    if 200 <= ex.status < 300
                    else None,
                )
        parts = rel.strip("/").split("/")
        is_list = ex.method == "GET" and ex.status == 200 and len(parts) == 3
        items = reply.get(parts[-1]) if is_list and isinstance(reply, dict) else None
        if parts[-1] in LISTS and isinstance(items, list):
            self._list(tenant_id, parts[2], ex, reply, check)

    # --- lists -------------------------------------------------------------------------

    def _list(
        self, tenant_id: str, kind: str, ex: Exchange, reply: dict[str, Any], check: Check
    ) -> None:
        params = dict(parse_qsl(ex.query))
        limit = _int(reply.get("limit"), _int(params.get("limit"), LIMIT_DEFAULT))
        offset = _int(reply.get("offset"), _int(params.get("offset"), 0))
        total = reply.get("total")
        items = [i for i in reply[kind] if isinstance(i, dict)]
        ids = [str(i.get(LISTS[kind])) for i in items]
        lists = self.lists.setdefault(tenant_id, _Lists())
        self._order(kind, lists, ids, check)
        if not ex.quiet or not isinstance(total, int) or isinstance(total, bool):
            return
        if limit is None or offset is None or not 1 <= limit <= LIMIT_MAX or offset < 0:
            return
        expected = min(limit, max(0, total - offset))
        where = f"{kind} offset={offset} limit={limit}"
        check(
            "paging",
            None
            if len(items) == expected
            else f"{where}: {len(items)} items where total {total} makes {expected}",
        )
        if "customerId" in params and offset == 0 and len(items) < limit:
            check(
                "filtered_total",
                None
                if total == len(items)
                else f"{where} customerId={params['customerId']}: the page holds all "
                f"{len(items)} items, yet total is {total}",
            )
        if lists.epoch != ex.epoch:
            lists.epoch, lists.walks = ex.epoch, {}
        filters = "&".join(
            f"{k}={v}" for k, v in sorted(params.items()) if k not in ("limit", "offset")
        )
        walk = lists.walks.setdefault((kind, filters, limit), _Walk())
        walk.pages.setdefault(offset, (ids, total))
        if not walk.judged:
            self._walk(where.split(" ")[0], walk, limit, check)

    @staticmethod
    def _walk(kind: str, walk: _Walk, limit: int, check: Check) -> None:
        first = walk.pages.get(0)
        if first is None:
            return
        total = first[1]
        offsets = range(0, max(total, 1), limit)
        if any(o not in walk.pages for o in offsets):
            return
        walk.judged = True
        totals = {walk.pages[o][1] for o in offsets}
        ids = [i for o in offsets for i in walk.pages[o][0]]
        problem = None
        if len(totals) > 1:
            problem = f"the pages of one {kind} walk give totals {sorted(totals)}"
        elif len(set(ids)) != len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            problem = f"a walk of {kind} (limit {limit}) holds {twice} twice"
        elif len(ids) != total:
            problem = (
                f"the pages of a walk of {kind} (limit {limit}) hold {len(ids)} items, "
                f"total is {total}"
            )
        check("paging", problem)

    @staticmethod
    def _order(kind: str, lists: _Lists, ids: list[str], check: Check) -> None:
        latest_start, latest_id, judged = 0.0, "", False
        for item in ids:
            times = lists.created.get(item)
            if times is None:
                continue
            if times[1] < latest_start:
                check(
                    "list_order",
                    f"{kind}: {item} is listed after {latest_id}, which was created after it",
                )
                return
            judged = judged or latest_start > 0
            if times[0] > latest_start:
                latest_start, latest_id = times[0], item
        if judged:
            check("list_order", None)

    # --- commands ----------------------------------------------------------------------

    def command(
        self,
        tenant_id: str,
        ex: Exchange,
        command: dict[str, Any],
        reply: Any,
        key: str,
        certain: bool,
        check: Check,
    ) -> None:
        """A command whose key the proxy never saw accepted on this tenant."""
        from_creation = tenant_id in self.created_tenants and certain
        replayed = ex.header("idempotent-replayed") == "true"
        if from_creation and ex.quiet:
            reused = isinstance(reply, dict) and reply.get("invariant") == "IDEMPOTENCY_KEY_REUSED"
            if (ex.status == 202 and replayed) or (ex.status == 422 and reused):
                what = "replayed" if ex.status == 202 else "refused as reused"
                check(
                    "idempotency_scope",
                    f"key {key} was {what} on {tenant_id}, where it was never accepted "
                    "(keys are per tenant)",
                )
            elif ex.status == 202:
                check("idempotency_scope", None)
        if ex.status != 202 or replayed or not isinstance(reply, dict):
            if not certain:
                self.ledger.tenants.pop(tenant_id, None)
            return
        self._correlation(ex, reply, check)
        kind = command.get("commandType")
        result = {k: v for k, v in reply.items() if isinstance(v, str)}
        if isinstance(reply.get("result"), dict):
            result.update(reply["result"])
        created = result.get("customerId" if kind == "CreateCustomer" else "accountId")
        if kind in ("CreateCustomer", "OpenAccount") and isinstance(created, str):
            ended = ex.started + ex.elapsed_ms / 1000
            self.lists.setdefault(tenant_id, _Lists()).created[created] = (ex.started, ended)
        self._model(tenant_id, ex, command, result, key, certain, check)

    def _correlation(self, ex: Exchange, reply: dict[str, Any], check: Check) -> None:
        sent = ex.header("x-correlation-id", reply=False)
        if sent is None or "correlationId" not in reply:
            return
        documented, marked = self._header_documented()
        if reply["correlationId"] == sent and sent != reply.get("commandId"):
            self.offered = self.offered or marked  # it echoes: the extension is offered
        if not documented or (marked and not self.offered):
            return
        check(
            "correlation_echo",
            None
            if reply["correlationId"] == sent
            else f"sent X-Correlation-Id {sent!r}, the reply's correlationId is "
            f"{reply['correlationId']!r}",
        )

    def _model(
        self,
        tenant_id: str,
        ex: Exchange,
        command: dict[str, Any],
        result: dict[str, Any],
        key: str,
        certain: bool,
        check: Check,
    ) -> None:
        # The model reads JSON numbers as floats (the Observer's parse has Decimals).
        payload = orjson.loads(ex.request_body).get("payload")
        kind = command.get("commandType")
        if not isinstance(kind, str) or not isinstance(payload, dict):
            return
        if kind == "CreateTenant":
            if tenant_id in self.created_tenants:
                return  # made twice: the model cannot follow it
            self.created_tenants.add(tenant_id)
        if kind != "CreateTenant" and (tenant_id not in self.ledger.tenants or not certain):
            self.ledger.tenants.pop(tenant_id, None)
            return
        try:
            on = _date_of(command.get("timestamp"))
            if kind in ("PostEntry", "OpenAccount") and ex.quiet:
                outcome = self.ledger.expect(tenant_id, kind, payload, dedup_key=key, on=on)
                problem = None
                if outcome.invariant in BOUNDS:
                    problem = (
                        f"accepted a {kind} the account's bounds refuse "
                        f"({outcome.invariant}, the balances seen since its opening)"
                    )
                check("balance_bounds", problem)
            self.ledger.apply(
                tenant_id,
                kind,
                payload,
                dedup_key=key,
                command_id=str(command.get("commandId")),
                reply=b"",
                result=result,
            )
            self.ledger.tenants[tenant_id].commands.pop(key, None)  # the Observer keeps replies
        except (
            KeyError,
            TypeError,
            ValueError,
            AssertionError,
            AttributeError,
            CanonicalizationError,
        ):
            self.ledger.tenants.pop(tenant_id, None)  # beyond what the model can follow


def _int(value: Any, default: int | None) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return default if value is None else None


def _date_of(timestamp: Any) -> date:
    try:
        return datetime.fromisoformat(str(timestamp).replace("Z", "+00:00")).date()
    except ValueError:
        return datetime.now(UTC).date()
