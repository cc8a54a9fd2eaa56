"""The twin's checks of the service around a run: is it there, does it take the key,
is the tenant empty, and the mock's admin endpoints (reset, snapshots), each failure
one line for `twin.cli` to print (`UsageError`: exit code 2, `Failed`: 1)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from turingcore_client.client import ENV_API_KEY, TuringCoreClient
from turingcore_client.errors import ApiError, NotFoundError, ServiceUnreachableError
from turingcore_client.replies import RawReply
from twin.latency import LatencyHistogram


class UsageError(Exception):
    """A problem the user must fix before anything can run (exit code 2)."""


class Failed(Exception):
    """A step after the run went wrong (exit code 1)."""


def client_for(args: argparse.Namespace) -> TuringCoreClient:
    """The client `--base-url`, `--api-key` and `--timeout` name."""
    try:
        # A histogram, not the client's default list of every command's latency.
        return TuringCoreClient(
            args.base_url, args.api_key, timeout=args.timeout, stats=LatencyHistogram()
        )
    except ValueError as exc:  # the base URL: not http(s), no host, a bad port
        raise UsageError(f"--base-url: {exc}") from None


def refuse_foreign_data(client: TuringCoreClient, plan: Any) -> None:
    """Refuse to seed a tenant that already holds customers this plan did not make.

    The plan's commands replay on a tenant it made before (same seed: same keys), but
    on a tenant holding other data its customers and accounts would collide with what
    is there, and the run would end in thousands of "unexpected" refusals that hide
    the real cause.
    """
    planned = {
        (c.payload.get("externalRef"), str(c.payload["person"]["email"]).lower())
        for c in plan.seed_phase
        if c.command_type == "CreateCustomer"
    }
    page = client.list_customers(plan.tenant_code, limit=100)
    foreign = [
        c
        for c in page["customers"]
        if (c.get("externalRef"), str(c["email"]).lower()) not in planned
    ]
    if foreign:
        first = foreign[0]
        raise UsageError(
            f"tenant {plan.tenant_code} already holds data this run did not make "
            f"({page['total']} customer(s), e.g. {first.get('externalRef')} "
            f"{first.get('fullName') or first['email']}): the twin seeds an empty tenant. "
            f"Empty it with `twin reset {plan.tenant_code}` (the mock's admin endpoints), "
            "or run on another tenant with --tenant-code"
        )


def preflight(client: TuringCoreClient, tenant_id: str, *, must_exist: bool) -> bool:
    """Reach the service and check the key before sending thousands of commands; return
    whether the tenant exists."""
    try:
        client.get_tenant(tenant_id)
    except NotFoundError:
        if must_exist:
            raise UsageError(f"tenant {tenant_id} does not exist at {client.base_url}") from None
        return False
    except ServiceUnreachableError as exc:
        raise UsageError(f"service unreachable: {exc}") from None
    except ApiError as exc:
        if exc.status in (401, 403):
            raise UsageError(
                f"the service refuses the API key for {tenant_id}: {exc.status} {exc.error} "
                f"({exc.message}); set --api-key or {ENV_API_KEY}"
            ) from None
        raise UsageError(f"GET /v1/tenants/{tenant_id}: {exc}") from None
    return True


def admin(client: TuringCoreClient, route: str, call: Callable[[], RawReply]) -> RawReply:
    """One call to the mock's admin API (`route` names it); a refusal is a `UsageError`
    (no such endpoint: not the mock, or its admin endpoints off; not the platform key),
    another error reply `Failed`."""
    try:
        reply = call()
    except ServiceUnreachableError as exc:
        raise UsageError(f"service unreachable: {exc}") from None
    said = reply.body.get("message") if isinstance(reply.body, dict) else None
    because = f"{route} gave {reply.status}" + (f": {said}" if said else "")
    if reply.status in (404, 405):
        raise UsageError(
            f"{client.base_url} refuses the mock's admin endpoint ({because}). Only the mock "
            "offers it, and only with its admin endpoints switched on; the twin never "
            "changes a real platform's data that way."
        )
    if reply.status in (401, 403):
        raise UsageError(f"{route} needs the platform key as --api-key ({because})")
    if reply.status >= 400:
        raise Failed(f"{because} {reply.body}")
    return reply
