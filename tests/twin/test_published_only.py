"""The twin against a service built from the published document alone.

`tests/contract/published_only.py` wraps the mock so that every extension of ours is
gone: a 202 without `result` or `eventIds`, a 400 for any request field or query
parameter of ours (facilityLimit, description, minAge, accountType, ...), no tenant
stream. The twin's plan must run on it without one refusal, reading each new id from
the top of the 202 as the published client does, and leave the members' accounts
exactly as on the full mock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.twin.conftest import PLATFORM_KEY, SyncASGITransport, mock_app
from turingcore_client.client import TuringCoreClient
from twin.config import load_scenario_and_tenant
from twin.digest import is_gl, state_digest
from twin.generators import ScenarioPlan, plan_scenario
from twin.runner import ScenarioRunner, read_run_log

CUSTOMERS, DAYS, SEED = 25, 5, 42


@pytest.fixture(scope="module")
def plan() -> ScenarioPlan:
    scenario, tenant = load_scenario_and_tenant("steady-state")
    return plan_scenario(tenant, scenario, seed=SEED, customers=CUSTOMERS, days=DAYS)


def _run(app: Any, plan: ScenarioPlan, log: Path) -> tuple[Any, list[dict[str, Any]]]:
    """Run the plan against `app`; return the run and every account the service lists."""
    transport = SyncASGITransport(app)
    try:
        with TuringCoreClient(
            "http://published.test", PLATFORM_KEY, transport=transport, backoff=0.0
        ) as client:
            run = ScenarioRunner(client, plan, concurrency=4, log_path=log).run()
            run.extra["log"] = read_run_log(log)
            accounts = list(client.iter_ledger_accounts(plan.tenant_code))
    finally:
        transport.close()
    return run, accounts


@pytest.fixture(scope="module")
def runs(plan: ScenarioPlan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    published_only = pytest.importorskip("tests.contract.published_only")
    tmp = tmp_path_factory.mktemp("published")
    yield {
        "published": _run(published_only.app(), plan, tmp / "published.jsonl"),
        "full": _run(mock_app(tmp), plan, tmp / "full.jsonl"),
    }


def test_the_plan_runs_on_a_published_only_service(
    runs: dict[str, Any], plan: ScenarioPlan
) -> None:
    run, accounts = runs["published"]
    assert run.unexpected_count == 0, run.unexpected[:3]
    assert run.by_outcome["accepted"] == len(plan)
    # Every id came from the top of a 202 that has no `result`.
    replies = [record["reply"] for record in run.extra["log"]]
    assert replies and not any("result" in reply or "eventIds" in reply for reply in replies)
    assert sum("customerId" in reply for reply in replies) == CUSTOMERS
    digest, unmapped = state_digest(accounts, run.refs.by_server_id())
    assert unmapped == 0 and len(digest) == 64
    opened = sum(1 for c in plan.seed_phase if c.command_type == "OpenAccount")
    assert len(accounts) == opened  # the members' accounts: GL ones need accountType=GL


def test_the_members_accounts_end_as_on_the_full_mock(runs: dict[str, Any]) -> None:
    def members(run: Any, accounts: list[dict[str, Any]]) -> dict[str, Any]:
        refs = run.refs.by_server_id()
        return {refs[a["accountId"]]: a["balance"] for a in accounts if not is_gl(a)}

    published = members(*runs["published"])
    full_run, full_accounts = runs["full"]
    assert published == members(full_run, full_accounts)
    assert any(is_gl(a) for a in full_accounts)  # the full mock lists GL ones with ALL
    assert sum(round(a["balance"] * 100) for a in full_accounts) == 0
