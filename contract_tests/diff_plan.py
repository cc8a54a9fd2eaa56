"""The differential mode's command stream: the twin's plan for a seed, with invalid
commands injected, as `Step`s whose ids are local refs each side resolves to its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

INJECTED_NAMESPACE = uuid.UUID("6b0c1c51-7d8e-4f0f-9c55-2f7a4c3f1d20")
TENANT_REF = "tenant:code"  # the local ref of the tenant each side creates


@dataclass(frozen=True)
class Step:
    """One command of the stream, before its refs are resolved."""

    key: str  # idempotency key
    command_id: str
    command_type: str
    kind: str
    timestamp: str
    payload: dict[str, Any]
    produces: str | None = None
    expect: str | None = None  # the invariant a deliberately invalid command must break

    def label(self) -> str:
        return f"{self.command_type} [{self.kind}] idempotencyKey={self.key}"


def plan_steps(seed: int, customers: int, days: int, scenario: str) -> list[Step]:
    """The twin's plan, with the injected invalid commands, as Steps.

    The tenant code is left as the ref TENANT_REF: each side puts its own in.
    """
    from twin.config import load_scenario_config, load_tenant_config, resolve_scenario
    from twin.config import resolve_tenant as resolve_tenant_config

    scenario_config = load_scenario_config(resolve_scenario(scenario))
    tenant_config = load_tenant_config(resolve_tenant_config(scenario_config.tenant))
    from twin.generators import plan_scenario

    plan = plan_scenario(tenant_config, scenario_config, seed=seed, customers=customers, days=days)
    steps: list[Step] = []
    for command in plan.all_commands():
        payload = command.payload
        if command.command_type == "CreateTenant":
            payload = {**payload, "tenantCode": {"$ref": TENANT_REF}}
        steps.append(
            Step(
                command.idempotency_key,
                command.command_id,
                command.command_type,
                command.kind,
                command.timestamp,
                payload,
                command.produces,
                command.expect_invariant,
            )
        )
    return inject_invalid(steps)


def _injected(step: Step, suffix: str, kind: str, payload: dict[str, Any], expect: str) -> Step:
    key = f"{step.key}:{suffix}"
    return Step(
        key,
        str(uuid.uuid5(INJECTED_NAMESPACE, key)),
        "PostEntry",
        kind,
        step.timestamp,
        payload,
        None,
        expect,
    )


def inject_invalid(steps: list[Step]) -> list[Step]:
    """Add the error paths after the last seed command (they write nothing when refused)."""
    seeded = [i for i, s in enumerate(steps) if s.kind in ("account", "loan_drawdown")]
    accounts = [s for s in steps if s.produces and s.produces.startswith("account:")]
    entries = [s for s in steps if s.command_type == "PostEntry"]
    if not seeded or not accounts:
        return steps
    at = seeded[-1] + 1
    anchor = steps[seeded[-1]]
    member = {"$ref": accounts[0].produces}
    date = anchor.timestamp[:10]

    def entry(legs: list[tuple[Any, str, float]]) -> dict[str, Any]:
        return {
            "bookingDate": date,
            "valueDate": date,
            "currency": "AUD",
            "legs": [{"accountId": a, "direction": d, "amount": m} for a, d, m in legs],
            "narrative": "contract-test diff: deliberately invalid",
        }

    extra = [
        _injected(
            anchor,
            "overdraft",
            "injected_overdraft",
            entry([(member, "CREDIT", 90_000_000), ("GL_CARD_CLEARING", "DEBIT", 90_000_000)]),
            "OVERDRAFT_LIMIT_EXCEEDED",
        ),
        _injected(
            anchor,
            "unbalanced",
            "injected_unbalanced",
            entry([(member, "DEBIT", 10), ("GL_NPP_CLEARING", "CREDIT", 10.01)]),
            "LEGS_MUST_BALANCE",
        ),
        _injected(
            anchor,
            "unknown-account",
            "injected_unknown_account",
            entry([("GL_NO_SUCH_ACCOUNT", "CREDIT", 5), (member, "DEBIT", 5)]),
            "ACCOUNT_MUST_EXIST",
        ),
    ]
    first = accounts[0]
    replay_id = str(uuid.uuid5(INJECTED_NAMESPACE, f"{first.key}:replay"))
    extra.append(
        Step(
            first.key,
            replay_id,
            first.command_type,
            "injected_replay",
            anchor.timestamp,
            first.payload,
            None,
            None,
        )
    )
    if entries:
        reused = entries[0]
        payload = {**reused.payload, "narrative": "the same key, another entry"}
        extra.append(
            Step(
                reused.key,
                str(uuid.uuid5(INJECTED_NAMESPACE, f"{reused.key}:reuse")),
                reused.command_type,
                "injected_key_reuse",
                anchor.timestamp,
                payload,
                None,
                "IDEMPOTENCY_KEY_REUSED",
            )
        )
    return steps[:at] + extra + steps[at:]
