"""Talking to the target and recording checks: `Wire` sends commands and reads and
returns a `Sent` (request, response, curl); `Checks` counts each check into its row
and raises `Violation` at the first failure; `send_at_once` releases concurrent
commands together.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from contract_tests.ledger_commands import REPLY_ID_NAMES, TIMESTAMP, concurrent_wait_seconds
from contract_tests.results import SuiteResult, curl_command
from contract_tests.target import Target
from turingcore_client.envelope import build_envelope

ACTOR = {"actorType": "SYSTEM", "actorId": "contract-tests"}


class Violation(AssertionError):
    """The service disagreed with the contract: stops the machine, names the check."""

    def __init__(
        self, row: str, message: str, reproduce: str | None, trail: list[str] | None = None
    ) -> None:
        super().__init__(f"{row}: {message}")
        self.row = row
        self.message = message
        self.reproduce = reproduce
        self.trail = trail or []  # the steps of the example that showed it


class Unreachable(Exception):
    """The target could not be reached at all."""


@dataclass
class Sent:
    """One request and its response, with what it takes to reproduce it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    response: httpx.Response

    def curl(self) -> str:
        return curl_command(self.method, self.url, self.headers, self.body)

    def json(self) -> Any:
        try:
            return self.response.json()
        except ValueError:
            return None

    def summary(self) -> str:
        """The status and what the body says, in a few words."""
        body = self.json()
        status = self.response.status_code
        if isinstance(body, dict) and "error" in body:
            return f"{status} {body.get('invariant') or body.get('error')}"
        if isinstance(body, dict) and body.get("status") == "ACCEPTED":
            ids = {k: v for k, v in body.items() if k in REPLY_ID_NAMES}
            return f"{status} {body.get('status')} {orjson.dumps(ids).decode()}"
        return f"{status} {self.response.text[:160]}"


class Wire:
    """Commands and reads against a target, each returning a `Sent`."""

    def __init__(self, client: httpx.Client, target: Target) -> None:
        self.client = client
        self.target = target

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Sent:
        headers = {"Authorization": f"Bearer {api_key or self.target.api_key}", **(headers or {})}
        if body is not None:
            headers["Content-Type"] = "application/json"
        url = f"/v1{path}"
        try:
            response = self.client.request(
                method, url, params=params, content=body, headers=headers
            )
        except httpx.TransportError as exc:
            raise Unreachable(f"{method} {url}: {exc}") from exc
        shown = url + ("?" + str(httpx.QueryParams(params)) if params else "")
        return Sent(method, self.target.base_url + shown, headers, body, response)

    def command(
        self,
        tenant_id: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        command_id: str,
        key: str | None,
        timestamp: str = TIMESTAMP,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Sent:
        envelope = build_envelope(
            command_type,
            payload,
            tenant_id=tenant_id,
            command_id=command_id,
            idempotency_key=key,
            timestamp=timestamp,
            actor=ACTOR,
        )
        return self._send(
            "POST",
            f"/tenants/{tenant_id}/commands",
            body=orjson.dumps(envelope),
            api_key=api_key,
            headers=headers,
        )

    def get(self, path: str, api_key: str | None = None, **params: Any) -> Sent:
        return self._send("GET", path, params=params or None, api_key=api_key)


class Checks:
    """Counts each check into its row until the first failure, which stops the run.

    After the first failure Hypothesis only shrinks and replays; those re-runs are
    not counted, and the row's first_failure is replaced by the minimal example's.
    """

    def __init__(self, result: SuiteResult) -> None:
        self.result = result
        self.frozen = False
        self.trail: list[str] = []  # the steps of the example running now

    def ok(self, row: str) -> None:
        if not self.frozen:
            self.result.row(row).record(True)

    def fail(self, row: str, message: str, reproduce: str | None) -> None:
        if not self.frozen:
            self.result.row(row).record(False, message, reproduce)
            self.frozen = True
        raise Violation(row, message, reproduce, list(self.trail))

    def check(self, row: str, problem: str | None, reproduce: str | None) -> None:
        if problem is None:
            self.ok(row)
        else:
            self.fail(row, problem, reproduce)


def send_at_once(
    target: Target, wire: Wire, commands: list[tuple[str, str, dict[str, Any], str, str]]
) -> list[Sent]:
    """Send commands from one thread each, released together by a barrier.

    Against a URL each thread has its own client (its own connection). In process the
    threads share the suite's client: it runs the app on one event loop, as a server
    would; a TestClient per thread would give each request a loop of its own, which
    the mock's group commit does not support (it then never answers).
    """
    replies: list[Sent | BaseException | None] = [None] * len(commands)
    barrier = threading.Barrier(len(commands))

    def post(sender: Wire, index: int) -> None:
        tenant, command_type, payload, key, command_id = commands[index]
        barrier.wait(timeout=concurrent_wait_seconds)
        replies[index] = sender.command(
            tenant, command_type, payload, command_id=command_id, key=key
        )

    def worker(index: int) -> None:
        try:
            if target.in_process:
                post(wire, index)
            else:
                with target.client() as client:
                    post(Wire(client, target), index)
        except BaseException as exc:  # reported below, on the calling thread
            barrier.abort()
            replies[index] = exc

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(len(commands))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=concurrent_wait_seconds)
        if thread.is_alive():
            raise Unreachable(
                f"{len(commands)} concurrent commands got no reply in {concurrent_wait_seconds} s"
            )
    out: list[Sent] = []
    for reply in replies:
        if isinstance(reply, Unreachable):
            raise reply
        if not isinstance(reply, Sent):
            raise Unreachable(f"a concurrent request failed: {reply!r}")
        out.append(reply)
    return out
