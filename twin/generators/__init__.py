"""The deterministic plan of a scenario: every command the twin sends, in order, by lane.

`plan_scenario(tenant, scenario, seed=...)` turns the two configurations into a
`ScenarioPlan` of three phases:

- bootstrap: CreateTenant, then one UpsertProduct per product (lane "tenant");
- seed: per member, CreateCustomer, OpenAccount for each account, and the drawdown
  PostEntry of each loan (lane = the member's local id, "C000042");
- simulate: one list per day of PostEntry commands (salary, card spend, savings
  transfers, BPAY, NPP, ATM, loan and card repayments, card purchases), each in its
  member's lane.

`stream_scenario(...)` gives the same plan, command for command, as a `PlanStream`
whose batches are spilled to disk as they are drawn and read back as they are run
(what `twin run` uses: the plan is never held whole; see `twin.generators.stream`).

Commands of one lane must run in order; lanes may run concurrently. Payloads are the
wire payloads of docs/contract.md in the published shapes, with no field of ours (no
facilityLimit: loans and cards open as published, at the product's maxAmount; PostEntry
`tags` an object of strings), except where a server id goes: there they hold a
local ref, `{"$ref": "customer:C000042"}` or `{"$ref": "account:C000042:TXN"}`, which
the runner replaces with the id the service returned for the command that `produces`
it. Treat payloads as read-only: copy before substituting.

Determinism: one Faker("en_AU") seeded with `seed` fills pools of names, streets and
suburbs, and one random.Random seeded with `seed` draws the members from them in order.
Each member's days are then drawn from its own random.Random seeded with
`f"{seed}:{local id}"` (string seeds hash with SHA-512, so no PYTHONHASHSEED dependence).
That keeps a member's plan independent of how many members or days come after it: each
list of the plan for 500 members is a prefix of the same list for 1,000, and the days
of a 7-day plan are the first 7 days of a 30-day one. The same inputs give the same plan
byte for byte (`stream_digest`), given the same Faker version.

Account bounds: the generator keeps each member account's balance in integer minor
units (`twin.model.LedgerAccount`) and skips a payment, or shrinks a transfer or
repayment, that would take an account out of its bounds, so a healthy run has no
rejections. A card's bound is the member's own credit limit (drawn from the scenario's
ranges, at most the product's maxAmount, which is the service's bound). A lane never
shares a bounded account with another (GL accounts have no bounds), so the bounds hold
under any interleaving of lanes.
"""

from __future__ import annotations

from twin.generators.plan import PlannedCommand, ScenarioPlan, command_id_for
from twin.generators.planner import plan_scenario, stream_scenario
from twin.generators.stream import Batch, PlanStream
from twin.generators.vocabulary import COMMAND_ID_NAMESPACE, GL_ROLES, TENANT_LANE

__all__ = [
    "COMMAND_ID_NAMESPACE",
    "GL_ROLES",
    "TENANT_LANE",
    "Batch",
    "PlanStream",
    "PlannedCommand",
    "ScenarioPlan",
    "command_id_for",
    "plan_scenario",
    "stream_scenario",
]
