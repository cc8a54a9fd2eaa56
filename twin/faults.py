"""`twin run --faults PROFILE[:SEED]`: the run against a mock that misbehaves on purpose.

The profile is put in force for the run's tenant through the mock's admin API
(`PUT /_mock/faults/{tenantId}`, platform key) before the first command, and taken
away at the end (`DELETE`), whatever happened. The checks run under it too (a
slow-reader profile stalls their reads). What the run needed is reported: the
client's retries by reason (a status such as 503 or 429, a transport failure, or a
resend after a connection closed before its reply), the commands that took more
than one attempt, and the faults the mock says it injected. The state digest must
be the clean run's: faults never change the ledger (docs/faults.md).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from turingcore_client.client import TuringCoreClient
from turingcore_client.replies import RawReply
from twin.service import Failed, UsageError, admin

# The shape the mock parses (mock_core/api/faults.py says what each name takes); the
# twin checks only the shape, so a typo is refused before anything is sent.
SPEC = re.compile(r"[a-z][a-z-]*(:\d{1,18})?(,[A-Za-z_.]+=[^,=]*)*")
SPEC_CHARS_MAX = 500


def fault_spec(text: str) -> str:
    """An argparse type: a profile spec `NAME[:SEED][,PARAM=VALUE...]`."""
    import argparse

    if len(text) > SPEC_CHARS_MAX or not SPEC.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not a fault profile (NAME[:SEED][,PARAM=VALUE...], "
            "e.g. drop-reply:7; see docs/faults.md)"
        )
    return text


def _path(tenant_id: str) -> str:
    return f"/_mock/faults/{urllib.parse.quote(tenant_id, safe='')}"


@dataclass
class FaultRun:
    """The profile in force for a run, and what it cost the client."""

    spec: str
    tenant_id: str
    profile: dict[str, Any] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=dict)
    retries_run: dict[str, int] = field(default_factory=dict)
    retries_checks: dict[str, int] = field(default_factory=dict)
    commands_retried: int = 0
    cleared: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.spec,
            "profile_in_force": self.profile,
            "injected_by_the_mock": self.injected,
            "retries": {
                "total": sum(self.retries_run.values()),
                "by_reason": self.retries_run,
                "commands_retried": self.commands_retried,
            },
            "retries_during_checks": {
                "total": sum(self.retries_checks.values()),
                "by_reason": self.retries_checks,
            },
            "cleared": self.cleared,
        }

    def lines(self) -> list[str]:
        """The console's summary of the faults and the retries."""
        injected = ", ".join(f"{k} {v:,}" for k, v in self.injected.items()) or "none"
        reasons = ", ".join(f"{k} {v:,}" for k, v in self.retries_run.items()) or "none"
        total = sum(self.retries_run.values())
        out = [
            f"faults ({self.profile.get('spec', self.spec)}): the mock injected {injected}",
            f"retries during the run: {total:,} ({reasons}); "
            f"{self.commands_retried:,} command(s) took more than one attempt",
        ]
        if self.retries_checks:
            checks = ", ".join(f"{k} {v:,}" for k, v in self.retries_checks.items())
            out.append(f"retries during the checks: {checks}")
        return out


def _call(client: TuringCoreClient, route: str, method: str, body: Any = None) -> RawReply:
    tenant_path = route.split(" ", 1)[1]
    send = partial(client.raw, method, tenant_path, json_body=body)
    try:
        return admin(client, route, send)
    except Failed as exc:
        if " gave 400" in str(exc):  # the mock refused the profile: the user's to fix
            raise UsageError(f"--faults: {exc}") from None
        raise


@contextmanager
def faults_in_force(
    client: TuringCoreClient, tenant_id: str, spec: str | None
) -> Iterator[FaultRun | None]:
    """Put `spec` in force for the tenant for the block, and take it away after; yields
    the `FaultRun` to fill (None, and nothing sent, without a spec)."""
    if spec is None:
        yield None
        return
    route = f"PUT {_path(tenant_id)}"
    reply = _call(client, route, "PUT", {"profile": spec})
    run = FaultRun(spec, tenant_id, profile=dict(reply.body.get("profile") or {}))
    try:
        yield run
    finally:
        cleared = _call(client, f"DELETE {_path(tenant_id)}", "DELETE")
        run.injected = dict(cleared.body.get("injected") or {})
        run.cleared = bool(cleared.body.get("cleared"))
