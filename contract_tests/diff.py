"""Differential mode: one seeded command stream sent to two services, every reply compared.

    run_diff(left, right) -> SuiteResult, rows "replies" and "projection:<name>";
    diff_targets(left, right) -> DiffReport, the same with every difference listed.

The stream is the twin's plan (`twin.generators.plan_scenario`, through its public API)
for a fresh tenant code, the same on both sides, plus a few deliberately invalid
commands (an overdraft, an unbalanced entry, an unknown account, a replay with a new
commandId, a key reuse) so that the error paths are compared too. Each command goes to
the left service, then to the right one; the `{"$ref": ...}` placeholders of the plan
are resolved separately on each side from that side's earlier replies.

Before comparing, each side's values are normalised: the ids a service made (customers,
accounts, entries, events) become the plan's local refs, timestamps become `<time>`,
hashes `<hash>`, any other UUID `<uuid>`, and human-readable messages are left out.
After the stream, the projections are compared the same way: the tenant, its products,
customers, accounts with balances, each account's events and the tenant's stream.
Each difference names the command that caused it: for a reply, the command itself; for
an event, its causationId; for an account, the last command that touched it.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import orjson

from contract_tests.diff_plan import TENANT_REF, Step, plan_steps
from contract_tests.results import SuiteResult, curl_command
from contract_tests.target import Target
from turingcore_client.envelope import build_envelope
from turingcore_client.paging import cursor_events, offset_items
from turingcore_client.refs import RefTable, produced_id

SUITE = "diff"
DIFF_ACTOR = {"actorType": "SYSTEM", "actorId": "contract-test-diff"}
TIME_KEYS = frozenset({"acceptedAt", "occurredAt", "createdAt", "updatedAt", "openedAt"})
HASH_KEYS = frozenset({"hash", "prevHash", "lastHash"})
TEXT_KEYS = frozenset({"message", "msg"})  # wording is not part of the contract
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

PROJECTIONS = ("tenant", "products", "customers", "accounts", "account_events", "events")

# Limits, unit last.
differences_kept_max = 500
differences_per_item_max = 5
excerpt_chars_max = 160
notes_differences_max = 30  # differences listed in the report's notes
page_size = 1000
pages_per_read_max = 1000


@dataclass
class Difference:
    """One way the two services disagree, and the command that caused it."""

    where: str  # "reply" or "projection:<name>"
    path: str  # where in the normalised value, e.g. "body.invariant"
    left: str
    right: str
    step: Step | None = None

    def describe(self) -> str:
        cause = f", caused by {self.step.label()}" if self.step is not None else ""
        return f"{self.where} {self.path}{cause}: left {self.left}, right {self.right}"


@dataclass
class DiffReport:
    """Every difference found, with the SuiteResult rows the report and JUnit use."""

    left: str
    right: str
    tenant: str
    commands: int = 0
    differences: list[Difference] = field(default_factory=list)
    dropped: int = 0  # differences beyond differences_kept_max
    result: SuiteResult = field(default_factory=lambda: SuiteResult(SUITE))

    @property
    def ok(self) -> bool:
        return self.result.ok

    def format(self) -> str:
        """The report as text, one difference per line."""
        lines = [
            f"diff of {self.left} (left) and {self.right} (right), tenant {self.tenant}: "
            f"{self.commands} commands, {len(self.differences) + self.dropped} differences"
        ]
        if self.result.error:
            lines.append(f"error: {self.result.error}")
        lines += [f"- {d.describe()}" for d in self.differences]
        if self.dropped:
            lines.append(f"... and {self.dropped} more")
        return "\n".join(lines)

    def summary_lines(self, shown: int = notes_differences_max) -> list[str]:
        """What the report says under the verdict: "the two services agree", or the
        differences, each naming the command that caused it."""
        compared = sum(row.runs for row in self.result.rows)
        if self.result.error:
            return [f"the two services could not be compared: {self.result.error}"]
        if self.result.interrupted:
            return [
                f"the diff stopped ({self.result.interrupted}) after {self.commands} "
                "commands: the two services were not fully compared"
            ]
        total = len(self.differences) + self.dropped
        if total == 0:
            return [
                f"the two services agree: {self.commands} commands sent to both, {compared} "
                "replies and projection items compared, no difference"
            ]
        lines = [
            f"the two services differ: {total} differences over {self.commands} commands "
            f"({self.left} left, {self.right} right)"
        ]
        lines += [d.describe() for d in self.differences[:shown]]
        if total > shown:
            lines.append(f"... and {total - shown} more")
        return lines


# ---------------------------------------------------------------------------
# One side.


class Side:
    """One service: its client, the ids it made, and what each refers to."""

    def __init__(self, name: str, target: Target, client: httpx.Client, tenant: str) -> None:
        self.name = name
        self.target = target
        self.client = client
        self.tenant = tenant
        self.base = f"/tenants/{tenant}"
        # local ref -> this side's id (the kit's refs; one nobody made is sent as such)
        self.ids = RefTable({TENANT_REF: tenant}, missing=lambda ref: f"UNRESOLVED:{ref}")
        self.refs: dict[str, str] = {tenant: "<tenant>"}  # this side's id -> local ref
        self.keys_by_command: dict[str, str] = {}  # commandId -> idempotency key

    def envelope(self, step: Step) -> bytes:
        """The step's command as this side receives it: its refs resolved to its ids."""
        envelope = build_envelope(
            step.command_type,
            self.ids.resolve(step.payload),
            tenant_id=self.tenant,
            command_id=step.command_id,
            idempotency_key=step.key,
            timestamp=step.timestamp,
            actor=DIFF_ACTOR,
        )
        return orjson.dumps(envelope)

    def send(self, step: Step) -> tuple[httpx.Response, str]:
        body = self.envelope(step)
        path = f"/v1{self.base}/commands"
        headers = {"Content-Type": "application/json"}
        response = self.client.post(path, content=body, headers=headers)
        curl = curl_command(
            "POST",
            self.target.base_url + path,
            {"Authorization": "Bearer x", **headers},
            body,
        )
        self.remember(step, response)
        return response, curl

    def remember(self, step: Step, response: httpx.Response) -> None:
        """Map the ids a 202 made to the plan's local refs."""
        self.keys_by_command.setdefault(step.command_id, step.key)
        if response.status_code != 202 or response.headers.get("Idempotent-Replayed") == "true":
            return
        try:
            reply = response.json()
        except ValueError:
            return
        if not isinstance(reply, dict):
            return
        # The ids at the reply's top level (published), else in `result` (ours).
        result = {**(reply.get("result") or {}), **reply}
        made = produced_id(step.produces, reply) if step.produces else None
        if step.produces and made is not None:
            self.ids.set(step.produces, made)
            self.refs.setdefault(made, step.produces)
        entry = result.get("entryId")
        if isinstance(entry, str):
            self.refs.setdefault(entry, f"entry:{step.key}")
        for index, event_id in enumerate(reply.get("eventIds") or []):
            if isinstance(event_id, str):
                self.refs.setdefault(event_id, f"event:{step.key}:{index}")

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(f"/v1{path}", params=params or None)
        if response.status_code != 200:
            return {"status": response.status_code, "body": _json_or_text(response)}
        return response.json()

    def pages(self, path: str, name: str, **params: Any) -> list[Any]:
        """Every item of a paged list (the kit's paging: by cursor for events, else by
        offset); a reply that is not a page stands for the whole list."""
        refused: list[Any] = []

        def fetch_at(where: str, position: int) -> dict[str, Any]:
            page = self.get(path, **params, limit=page_size, **{where: position})
            if isinstance(page, dict) and name in page:
                return page
            refused.append(page)
            return {}  # no items: the paging stops

        if name == "events":
            found = cursor_events(partial(fetch_at, "after"), 0, pages_per_read_max)
        else:
            found = offset_items(partial(fetch_at, "offset"), name, pages_max=pages_per_read_max)
        items = list(found)
        return refused[:1] or items

    def normalise(self, value: Any) -> Any:
        """`value` with this side's ids as refs, and no times, hashes or messages."""
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in TEXT_KEYS:
                    continue
                if key in TIME_KEYS and item is not None:
                    out[key] = "<time>"
                elif key in HASH_KEYS and item is not None:
                    out[key] = "<hash>"
                elif key == "causationId" and isinstance(item, str):
                    out[key] = self.keys_by_command.get(item, self.normalise(item))
                else:
                    out[key] = self.normalise(item)
            return out
        if isinstance(value, list):
            return [self.normalise(v) for v in value]
        if isinstance(value, str):
            if value in self.refs:
                return self.refs[value]
            if UUID.match(value):
                return "<uuid>"
        return value


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:excerpt_chars_max]


# ---------------------------------------------------------------------------
# Comparing.


def _excerpt(value: Any) -> str:
    text = (
        value
        if isinstance(value, str)
        else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    )
    return text if len(text) <= excerpt_chars_max else text[: excerpt_chars_max - 3] + "..."


_MISSING = object()


def differing_paths(left: Any, right: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, left, right) for each place the two normalised values differ."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in list(left) + [k for k in right if k not in left]:
            yield from differing_paths(
                left.get(key, _MISSING), right.get(key, _MISSING), f"{path}.{key}" if path else key
            )
        return
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            yield from differing_paths(a, b, f"{path}[{index}]")
        return
    if left is _MISSING or right is _MISSING:
        yield path, left, right
        return
    if type(left) is not type(right) and not (
        isinstance(left, int | float) and isinstance(right, int | float)
    ):
        yield path, left, right
        return
    if left != right:
        yield path, left, right


def _shown(value: Any) -> str:
    return "(missing)" if value is _MISSING else _excerpt(value)


class Differ:
    def __init__(self, report: DiffReport) -> None:
        self.report = report

    def compare(
        self,
        where: str,
        left: Any,
        right: Any,
        step: Step | None,
        reproduce: str | None = None,
        prefix: str = "",
    ) -> bool:
        """Record the differences of two normalised values; True when there were none."""
        row = self.report.result.row(where)
        found = list(differing_paths(left, right, prefix))
        if not found:
            row.record(True)
            return True
        first: Difference | None = None
        for path, a, b in found[:differences_per_item_max]:
            difference = Difference(where, path or "(value)", _shown(a), _shown(b), step)
            first = first or difference
            if len(self.report.differences) < differences_kept_max:
                self.report.differences.append(difference)
            else:
                self.report.dropped += 1
        self.report.dropped += max(0, len(found) - differences_per_item_max)
        assert first is not None
        row.record(False, first.describe(), reproduce)
        return False


def reply_view(side: Side, response: httpx.Response) -> dict[str, Any]:
    body = _json_or_text(response)
    return {
        "status": response.status_code,
        "replayed": response.headers.get("Idempotent-Replayed") == "true",
        "body": side.normalise(body),
    }


def compare_projections(differ: Differ, left: Side, right: Side, steps: dict[str, Step]) -> None:
    """Read both sides' projections and compare them item by item."""

    def step_of(key: Any) -> Step | None:
        return steps.get(key) if isinstance(key, str) else None

    creator = next(iter(steps.values()), None)
    differ.compare(
        "projection:tenant",
        left.normalise(left.get(left.base)),
        right.normalise(right.get(right.base)),
        creator,
    )

    products = (
        [left.normalise(p) for p in left.get(f"{left.base}/products").get("products", [])],
        [right.normalise(p) for p in right.get(f"{right.base}/products").get("products", [])],
    )
    _compare_keyed(
        differ,
        "projection:products",
        products,
        "productCode",
        lambda code: next((s for s in steps.values() if s.produces == f"product:{code}"), None),
    )

    customers = []
    for side in (left, right):
        items = side.pages(f"{side.base}/customers", "customers")
        details = [
            side.normalise(side.get(f"{side.base}/customers/{c['customerId']}"))
            if isinstance(c, dict) and "customerId" in c
            else side.normalise(c)
            for c in items
        ]
        customers.append(details)
    _compare_keyed(
        differ,
        "projection:customers",
        (customers[0], customers[1]),
        "customerId",
        lambda ref: next((s for s in steps.values() if s.produces == ref), None),
    )

    accounts = [
        side.pages(f"{side.base}/accounts", "accounts", accountType="ALL") for side in (left, right)
    ]
    last_touch: dict[str, Step | None] = {}
    histories: list[dict[str, Any]] = []
    for side, items in zip((left, right), accounts, strict=True):
        history: dict[str, Any] = {}
        for item in items:
            if not isinstance(item, dict) or "accountId" not in item:
                continue
            ref = side.normalise(item["accountId"])
            events = side.pages(f"{side.base}/accounts/{item['accountId']}/events", "events")
            history[str(ref)] = [_event_view(side, e) for e in events]
            if side is left and events and isinstance(events[-1], dict):
                cause = str(events[-1].get("causationId"))
                last_touch[str(ref)] = step_of(left.keys_by_command.get(cause))
        histories.append(history)
    _compare_keyed(
        differ,
        "projection:accounts",
        ([left.normalise(a) for a in accounts[0]], [right.normalise(a) for a in accounts[1]]),
        "accountId",
        lambda ref: (
            last_touch.get(ref) or next((s for s in steps.values() if s.produces == ref), None)
        ),
    )
    for ref in list(histories[0]) + [r for r in histories[1] if r not in histories[0]]:
        a, b = histories[0].get(ref, []), histories[1].get(ref, [])
        _compare_streams(differ, "projection:account_events", a, b, step_of, prefix=f"{ref}")

    streams = [
        [_event_view(side, e) for e in side.pages(f"{side.base}/events", "events")]
        for side in (left, right)
    ]
    _compare_streams(differ, "projection:events", streams[0], streams[1], step_of)


def _event_view(side: Side, event: Any) -> Any:
    """An event without its envelope's noise: type, entity, payload, the command behind it."""
    if not isinstance(event, dict):
        return side.normalise(event)
    return side.normalise(
        {
            "sequence": event.get("sequence"),
            "eventType": event.get("eventType"),
            "entityId": event.get("entityId"),
            "causationId": event.get("causationId"),
            "payload": event.get("payload"),
        }
    )


def _compare_streams(
    differ: Differ,
    where: str,
    left: list[Any],
    right: list[Any],
    step_of: Any,
    prefix: str = "",
) -> None:
    """Compare two event lists position by position, blaming each event's command."""
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else _MISSING
        b = right[index] if index < len(right) else _MISSING
        cause = a if isinstance(a, dict) else b
        step = step_of(cause.get("causationId")) if isinstance(cause, dict) else None
        path = f"{prefix}[{index}]" if prefix else f"[{index}]"
        differ.compare(where, a, b, step, prefix=path)


def _compare_keyed(
    differ: Differ,
    where: str,
    sides: tuple[list[Any], list[Any]],
    key: str,
    blame: Any,
) -> None:
    left = {str(item.get(key)): item for item in sides[0] if isinstance(item, dict)}
    right = {str(item.get(key)): item for item in sides[1] if isinstance(item, dict)}
    for name in list(left) + [k for k in right if k not in left]:
        differ.compare(
            where, left.get(name, _MISSING), right.get(name, _MISSING), blame(name), prefix=name
        )


# ---------------------------------------------------------------------------
# Running it.


def diff_targets(
    left: Target,
    right: Target,
    *,
    seed: int = 42,
    customers: int = 20,
    days: int = 5,
    scenario: str = "steady-state",
) -> DiffReport:
    """Send one seeded stream to both targets and compare replies and projections.

    Returns a DiffReport; its `result` has a row "replies" (one run per command) and one
    row per projection (one run per item compared), and `result.error` when a side
    could not be reached or the plan could not be made.
    """
    started = time.perf_counter()
    tenant = f"DIFF_{seed % 10**6}_{secrets.token_hex(4).upper()}"
    # The same code on both sides, unless both sides are one service.
    same = left.app is right.app if left.in_process else left.base_url == right.base_url
    tenants = (tenant + "_L", tenant + "_R") if same else (tenant, tenant)
    report = DiffReport(left.describe(), right.describe(), " / ".join(dict.fromkeys(tenants)))
    for name in ("replies", *(f"projection:{p}" for p in PROJECTIONS)):
        report.result.row(name)
    differ = Differ(report)
    try:
        steps = plan_steps(seed, customers, days, scenario)
    except (OSError, ValueError) as exc:
        report.result.error = f"could not plan the command stream: {exc}"
        return report
    by_key: dict[str, Step] = {}
    try:
        with left.client() as left_client, right.client() as right_client:
            sides = (
                Side("left", left, left_client, tenants[0]),
                Side("right", right, right_client, tenants[1]),
            )
            for step in steps:
                by_key.setdefault(step.key, step)
                (a, curl_a), (b, _) = (side.send(step) for side in sides)
                report.commands += 1
                differ.compare(
                    "replies", reply_view(sides[0], a), reply_view(sides[1], b), step, curl_a
                )
            compare_projections(differ, sides[0], sides[1], by_key)
    except httpx.HTTPError as exc:
        report.result.error = f"a target could not be reached: {exc}"
    except KeyboardInterrupt:
        # Ctrl-C, SIGTERM or the CLI's --timeout: what was compared is kept.
        report.result.interrupted = "interrupted"
    report.result.duration_s = time.perf_counter() - started
    report.result.notes = report.summary_lines()
    return report


def run_diff(
    left: Target, right: Target, *, seed: int = 42, customers: int = 20, days: int = 5
) -> SuiteResult:
    """The rows of `diff_targets` (see there): "replies" and one per projection."""
    return diff_targets(left, right, seed=seed, customers=customers, days=days).result
