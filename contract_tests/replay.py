"""`contract-test replay`: send a recording's commands to another service and compare.

    contract-test replay traffic.jsonl --base-url http://127.0.0.1:9000 \\
                         [--reference http://127.0.0.1:8080] [--api-key K] [--reference-key K]

The recording is `contract-test proxy --record FILE`: one exchange a line. Its commands
(POSTs to `/tenants/{t}/commands`) are sent again, in the recorded order, one at a time;
then the final state of each tenant is read (the tenant, every account, the event
stream). Each run works on tenants of its own (the recorded code with a suffix, so one
service can hold several runs), and the ids a service makes (customers, accounts, ...)
are carried into the later commands that name them: a recorded command naming customer
X is sent naming the customer the replay made in X's place.

Which differences are noise is learned, never listed: the recording is replayed twice
against the reference (`--reference`, else `--base-url` itself), and every value that
differs between those two runs at the same place (exchange, JSON path) is noise. A noise
value is replaced by the place it was first seen in its run (`<3:result.customerId>`),
so an id must still be the same id wherever it appears again, and a replayed reply must
still carry the first reply's timestamp. Then the run on `--base-url` is compared, place
by place, with the first reference run (with `--reference`), or with the recorded
replies (without; the final state is then compared between the two runs of the
target only through the noise, so it needs `--reference` to be judged).

Exit 0 when nothing differs, 1 when something does, 2 on a usage error.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.markup import escape

from contract_tests import report
from contract_tests.results import SuiteResult
from contract_tests.target import DEFAULT_PLATFORM_KEY

Place = tuple[int, str]  # (exchange number, JSON path)
PAGE_LIMIT = 1000
PAGES_MAX = 1000
DIFFERENCES_SHOWN = 30
TENANT_CODE_MAX = 32
SENT_HEADERS = frozenset({"content-type", "x-correlation-id", "accept"})


@dataclass
class Recorded:
    """One recorded command: where it went, what it said, what it got."""

    tenant: str
    body: Any
    headers: dict[str, str]
    status: int
    reply: Any
    label: str


def load_recording(path: Path) -> list[Recorded]:
    """The commands of a recording, in its order (those the upstream answered)."""
    commands = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        item = orjson.loads(line)
        request, reply = item["request"], item["reply"]
        parts = request["path"].split("/")
        if request["method"] != "POST" or parts[-1] != "commands" or "tenants" not in parts:
            continue
        if "upstreamError" in item:
            continue  # the upstream never answered it: what it did is unknown
        tenant = parts[parts.index("tenants") + 1]
        body = request.get("body")
        headers = {k.lower(): v for k, v in request["headers"] if k.lower() in SENT_HEADERS}
        kind = body.get("commandType") if isinstance(body, dict) else "?"
        key = (
            (body.get("idempotencyKey") or body.get("commandId")) if isinstance(body, dict) else ""
        )
        label = f"line {number}: {kind} key={key}"
        commands.append(Recorded(tenant, body, headers, reply["status"], reply.get("body"), label))
    return commands


@dataclass
class Run:
    """One replay on one service: its tenants, its id map, and what it got."""

    base_url: str
    api_key: str
    tenants: dict[str, str] = field(default_factory=dict)  # recorded -> this run's
    ids: dict[str, str] = field(default_factory=dict)  # recorded id -> this run's
    replies: list[Any] = field(default_factory=list)  # per exchange: [status, body]
    labels: list[str] = field(default_factory=list)

    def tenant(self, recorded: str) -> str:
        if recorded not in self.tenants:
            suffix = "_R" + secrets.token_hex(3).upper()
            self.tenants[recorded] = recorded[: TENANT_CODE_MAX - len(suffix)] + suffix
            self.ids[recorded] = self.tenants[recorded]
        return self.tenants[recorded]

    def normalised(self, body: bytes) -> Any:
        """A reply body with this run's tenant codes written as the recorded ones."""
        text = body.decode("utf-8", "replace")
        for recorded, ours in self.tenants.items():
            text = text.replace(ours, recorded)
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return text


def _substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    return value


def _learn_ids(recorded: Any, ours: Any, ids: dict[str, str]) -> None:
    """Map each string of a recorded reply to the string at the same place of ours."""
    if isinstance(recorded, dict) and isinstance(ours, dict):
        for key, value in recorded.items():
            if key in ours:
                _learn_ids(value, ours[key], ids)
    elif isinstance(recorded, list) and isinstance(ours, list):
        for a, b in zip(recorded, ours, strict=False):
            _learn_ids(a, b, ids)
    elif isinstance(recorded, str) and isinstance(ours, str) and recorded != ours:
        ids.setdefault(recorded, ours)


def replay(commands: list[Recorded], base_url: str, api_key: str) -> Run:
    """Send the commands, then read the final state; return what came back."""
    run = Run(base_url.rstrip("/").removesuffix("/v1"), api_key)
    auth = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=run.base_url, headers=auth, timeout=60) as client:
        for command in commands:
            tenant = run.tenant(command.tenant)
            body = _substitute(command.body, run.ids)
            reply = client.post(
                f"/v1/tenants/{tenant}/commands",
                content=orjson.dumps(body),
                headers=command.headers,
            )
            got = run.normalised(reply.content)
            if reply.status_code == 202 and command.status == 202:
                _learn_ids(command.reply, got, run.ids)
            run.replies.append([reply.status_code, got])
            run.labels.append(command.label)
        for recorded, tenant in run.tenants.items():
            for label, path, params in _final_reads(tenant):
                for page in _pages(client, path, params):
                    run.replies.append([page[0], run.normalised(page[1])])
                    run.labels.append(f"final state of {recorded}: {label}")
    return run


def _final_reads(tenant: str) -> list[tuple[str, str, dict[str, Any]]]:
    base = f"/v1/tenants/{tenant}"
    return [
        ("the tenant", base, {}),
        ("its accounts", f"{base}/accounts", {"accountType": "ALL", "limit": PAGE_LIMIT}),
        ("its event stream", f"{base}/events", {"limit": PAGE_LIMIT}),
    ]


def _pages(client: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[tuple[int, bytes]]:
    """Every page of a read: by nextCursor when the reply has one, else by offset."""
    query = dict(params)
    for _ in range(PAGES_MAX):
        reply = client.get(path, params=query)
        yield reply.status_code, reply.content
        try:
            body = reply.json()
        except ValueError:
            return
        if reply.status_code != 200 or not isinstance(body, dict):
            return
        if body.get("nextCursor") is not None:
            query["after"] = body["nextCursor"]
        elif isinstance(body.get("accounts"), list) and "total" in body:
            offset = int(body.get("offset", 0)) + len(body["accounts"])
            if offset >= body["total"] or not body["accounts"]:
                return
            query["offset"] = offset
        else:
            return


# --- noise and the comparison --------------------------------------------------------


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _leaves(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if not value:
            yield path, []
        for n, item in enumerate(value):
            yield from _leaves(item, f"{path}[{n}]")
    else:
        yield path, value


def learn_noise(first: Run, second: Run) -> set[Place]:
    """The places whose values differ between two runs of the same recording on one
    service: the service's own ids, timestamps, hashes."""
    noise: set[Place] = set()
    for n, (a, b) in enumerate(zip(first.replies, second.replies, strict=False)):
        left, right = dict(_leaves(a)), dict(_leaves(b))
        noise.update(
            (n, path) for path in left.keys() | right.keys() if left.get(path) != right.get(path)
        )
    return noise


def symbolised(replies: list[Any], noise: set[Place]) -> list[dict[str, Any]]:
    """Each reply's leaves, a noise value replaced by the place it was first seen."""
    first_seen: dict[str, str] = {}
    out = []
    for n, reply in enumerate(replies):
        leaves = {}
        for path, value in _leaves(reply):
            if (n, path) in noise:
                token = orjson.dumps(value).decode()
                value = first_seen.setdefault(token, f"<{n}:{path}>")
            leaves[path] = value
        out.append(leaves)
    return out


@dataclass
class Difference:
    label: str
    path: str
    expected: Any
    got: Any

    def line(self) -> str:
        where = self.path or "the reply"
        text = f"{self.label}: {where}: expected {self.expected!r}, got {self.got!r}"
        return text[:400]


def compare(expected: list[Any], got: Run, noise: set[Place]) -> tuple[int, list[Difference]]:
    """(places compared, differences) between the expected replies and a run's."""
    want, have = symbolised(expected, noise), symbolised(got.replies, noise)
    differences: list[Difference] = []
    compared = 0
    for n in range(max(len(want), len(have))):
        label = got.labels[n] if n < len(got.labels) else f"exchange {n}"
        a = want[n] if n < len(want) else {}
        b = have[n] if n < len(have) else {}
        for path in sorted(a.keys() | b.keys()):
            compared += 1
            if a.get(path, "<absent>") != b.get(path, "<absent>"):
                differences.append(
                    Difference(label, path, a.get(path, "<absent>"), b.get(path, "<absent>"))
                )
    return compared, differences


def cmd_replay(args: Any, console: Console) -> int:
    """`contract-test replay`: 0 no difference, 1 differences."""
    started = time.perf_counter()
    commands = load_recording(Path(args.file))
    key = args.api_key or os.environ.get("TURINGCORE_API_KEY") or DEFAULT_PLATFORM_KEY
    reference = args.reference or args.base_url
    reference_key = (args.reference_key or key) if args.reference else key
    console.print(
        f"Replay: {len(commands)} commands of {escape(args.file)} to [bold]{escape(args.base_url)}"
        f"[/], noise learned on {escape(reference)}"
    )
    first, second = (
        replay(commands, reference, reference_key),
        replay(commands, reference, reference_key),
    )
    noise = learn_noise(first, second)
    target = replay(commands, args.base_url, key)
    if args.reference:
        expected = first.replies
        against = f"the reference {args.reference}"
    else:
        expected = [[c.status, c.reply] for c in commands]
        target.replies = target.replies[: len(commands)]  # the recording has no final reads
        against = "the recording"
    compared, differences = compare(expected, target, noise)
    result = SuiteResult("replay", duration_s=time.perf_counter() - started)
    row = result.row("replies_and_final_state")
    for difference in differences[:1]:
        row.record(False, difference.line())
    if not differences:
        row.record(True)
    if differences:
        result.notes = [
            f"the replay differs from {against}: {len(differences)} differences over "
            f"{len(commands)} commands ({len(noise)} noise places learned)"
        ] + [d.line() for d in differences[:DIFFERENCES_SHOWN]]
    else:
        result.notes = [
            f"the replay agrees with {against}: {len(commands)} commands, {compared} places "
            f"compared, {len(noise)} noise places learned, no difference"
        ]
    for note in result.notes:
        console.print(escape(note))
    junit = Path(args.junit) if args.junit else None
    paths = report.write_reports([result], Path(args.report_dir), junit=junit, target=args.base_url)
    for name, path in paths.items():
        console.print(f"{name:>8}: {path}")
    if getattr(args, "format", "text") == "json":  # the console is on stderr then
        document = report.json_report([result], args.base_url, reports=paths)
        document["differences"] = len(differences)
        sys.stdout.write(report.json_text(document))
        sys.stdout.flush()
    return 1 if differences else 0
