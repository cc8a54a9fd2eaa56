"""The streamed plan is the whole plan: the same commands, in the same order, sent alike.

`twin run` streams its plan (`stream_scenario`: drawn member by member into spill files,
read back a batch at a time) instead of holding it (`plan_scenario`, which keeps the
draws of the plan before the stream: every member seeded, then every member's days).
These checks hold the two equal command for command, batch by batch, and the runner's
run of each equal request for request, so a stream that reorders, drops, repeats or
alters a command, or a runner that sends a streamed batch in another order, fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from turingcore_client.client import TuringCoreClient
from turingcore_client.replies import LatencyStats
from twin.config import ScenarioConfig, TenantConfig, load_scenario_and_tenant
from twin.generators import PlanStream, ScenarioPlan, plan_scenario, stream_scenario
from twin.latency import LatencyHistogram
from twin.runner import RunnerError, ScenarioRunner, read_run_log
from twin.service import client_for


@pytest.fixture(scope="module")
def configs() -> tuple[ScenarioConfig, TenantConfig]:
    return load_scenario_and_tenant("steady-state", None)


def _noisy(scenario: ScenarioConfig, rate: float = 0.05) -> ScenarioConfig:
    """The scenario with deliberately invalid entries (their own generator per member)."""
    invalid = scenario.invalid_commands.model_copy(update={"rate": rate})
    return scenario.model_copy(update={"invalid_commands": invalid})


def _batches(plan: ScenarioPlan | PlanStream) -> list[list[Any]]:
    return [list(plan.bootstrap), list(plan.seed_phase), *[list(day) for day in plan.simulate]]


@pytest.mark.parametrize(
    ("seed", "customers", "days", "invalid"),
    [(42, 60, 30, False), (7, 25, 45, True), (3, 1, 1, False)],
)
def test_the_stream_is_the_whole_plan_command_for_command(
    configs: tuple[ScenarioConfig, TenantConfig],
    tmp_path: Path,
    seed: int,
    customers: int,
    days: int,
    invalid: bool,
) -> None:
    scenario, tenant = configs
    scenario = _noisy(scenario) if invalid else scenario
    whole = plan_scenario(tenant, scenario, seed=seed, customers=customers, days=days)
    with stream_scenario(
        tenant, scenario, seed=seed, customers=customers, days=days, folder=tmp_path / "plan"
    ) as stream:
        expected, streamed = _batches(whole), _batches(stream)
        # Batch by batch (the barriers), then command by command, fields and payload
        # key order included (the canonical lines sort keys; the wire does not).
        assert [len(b) for b in streamed] == [len(b) for b in expected]
        assert [len(b) for b in (stream.bootstrap, stream.seed_phase, *stream.simulate)] == [
            len(b) for b in expected
        ]
        for mine, theirs in zip(streamed, expected, strict=True):
            assert mine == theirs
            for a, b in zip(mine, theirs, strict=True):
                assert json.dumps(a.payload) == json.dumps(b.payload)
        assert len(stream) == len(whole)
        assert stream.skipped == whole.skipped
        assert sorted(stream.counts_by_kind().items()) == sorted(whole.counts_by_kind().items())
        # The digest, from the passes above (in order) and from a fresh stream read
        # only by `stream_digest`.
        assert stream.stream_digest() == whole.stream_digest()
    assert not (tmp_path / "plan").exists(), "closing the stream removes its spill files"
    with stream_scenario(
        tenant, scenario, seed=seed, customers=customers, days=days, folder=tmp_path / "again"
    ) as again:
        assert again.stream_digest() == whole.stream_digest()


def test_the_plan_digest_of_seed_42_is_unchanged(
    configs: tuple[ScenarioConfig, TenantConfig],
) -> None:
    """The digest `twin run steady-state --seed 42` (500 x 30) printed before the stream."""
    scenario, tenant = configs
    with stream_scenario(tenant, scenario, seed=42) as stream:
        assert stream.stream_digest() == (
            "4933ec1f07a2082e6f6179c27ddc690f105415d097a520b6a77a8a2bbde02a3b"
        )


def _accepting_service() -> tuple[TuringCoreClient, list[dict[str, Any]]]:
    """Accept every command, with the new ids derived from the key; record each request."""
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        envelope = json.loads(request.content)
        seen.append(envelope)
        key = envelope["idempotencyKey"]
        body: dict[str, Any] = {"commandId": envelope["commandId"], "status": "ACCEPTED"}
        if envelope["commandType"] == "CreateCustomer":
            body["customerId"] = "CUS-" + key
        if envelope["commandType"] == "OpenAccount":
            body["accountId"] = "ACC-" + key
        if envelope["commandType"] == "PostEntry" and "invalid:" in key:
            return httpx.Response(422, json={"error": "INVARIANT_VIOLATION", "invariant": "X"})
        return httpx.Response(202, json=body)

    transport = httpx.MockTransport(handler)
    return TuringCoreClient("http://fake", "key-123456", transport=transport, backoff=0), seen


def _run(plan: ScenarioPlan | PlanStream, log: Path) -> tuple[Any, list[dict[str, Any]]]:
    client, seen = _accepting_service()
    with client:
        run = ScenarioRunner(client, plan, concurrency=1, log_path=log).run()
    return run, seen


def _requests(seen: list[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    for e in seen:
        yield (e["idempotencyKey"], e["commandId"], e["timestamp"], json.dumps(e["payload"]))


def test_the_runner_sends_a_stream_as_it_sends_the_whole_plan(
    configs: tuple[ScenarioConfig, TenantConfig], tmp_path: Path
) -> None:
    scenario, tenant = _noisy(configs[0]), configs[1]
    whole = plan_scenario(tenant, scenario, seed=11, customers=12, days=6)
    expected_run, expected = _run(whole, tmp_path / "whole.jsonl")
    with stream_scenario(tenant, scenario, seed=11, customers=12, days=6) as stream:
        run, seen = _run(stream, tmp_path / "stream.jsonl")
        # One command at a time: the requests are in one total order, the same one.
        assert list(_requests(seen)) == list(_requests(expected))
        assert run.plan_digest == expected_run.plan_digest == whole.stream_digest()
    assert len(seen) == len(whole)
    assert run.by_outcome == expected_run.by_outcome
    assert run.refs.as_dict() == expected_run.refs.as_dict()
    strip = ("latency_ms",)
    assert run.log_path is not None
    mine = [{k: v for k, v in r.items() if k not in strip} for r in read_run_log(run.log_path)]
    log = read_run_log(tmp_path / "whole.jsonl")
    assert mine == [{k: v for k, v in r.items() if k not in strip} for r in log]
    assert [r["key"] for r in mine] == [c.idempotency_key for c in whole.all_commands()]


def test_the_run_log_keeps_plan_order_at_any_concurrency(
    configs: tuple[ScenarioConfig, TenantConfig], tmp_path: Path
) -> None:
    scenario, tenant = configs
    with stream_scenario(tenant, scenario, seed=5, customers=40, days=3) as stream:
        client, seen = _accepting_service()
        with client:
            run = ScenarioRunner(client, stream, concurrency=8, log_path=tmp_path / "l").run()
        keys = [c.idempotency_key for c in stream.all_commands()]
    assert [r["key"] for r in read_run_log(tmp_path / "l")] == keys
    assert sorted(e["idempotencyKey"] for e in seen) == sorted(keys)
    assert run.total == len(keys)


def test_a_lane_that_comes_back_in_a_streamed_batch_is_a_plan_error(
    configs: tuple[ScenarioConfig, TenantConfig], tmp_path: Path
) -> None:
    """A lane's commands must stand together in a streamed batch: one that came back
    after another lane would be run as a second lane, beside its first part."""
    scenario, tenant = configs
    with stream_scenario(tenant, scenario, seed=5, customers=3, days=1) as stream:
        day = list(stream.simulate[0])
        first = next(c for c in day if c.lane == "C000001")
        moved = [c for c in day if c is not first] + [first]
        stream.simulate[0]._commands = moved  # a streamed batch, read from this list
        stream.simulate[0].path = None
        client, _ = _accepting_service()
        with client, pytest.raises(RunnerError, match="C000001 comes back"):
            ScenarioRunner(client, stream, concurrency=2).run()


def test_the_latency_histogram_summarises_as_the_list_did() -> None:
    samples = [0.0005 + (i * 7919 % 1000) * 1e-5 + (i % 3) * 1e-7 for i in range(5000)]
    listed, counted = LatencyStats(), LatencyHistogram()
    for i, seconds in enumerate(samples):
        name = "PostEntry" if i % 4 else "OpenAccount"
        listed.record(name, seconds)
        counted.record(name, seconds)
    a, b = listed.summary(), counted.summary()
    assert a.keys() == b.keys()
    for name in a:
        assert a[name]["count"] == b[name]["count"] == counted.count(name)
        for field in ("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
            assert abs(a[name][field] - b[name][field]) <= 0.001, (name, field)


def test_a_streamed_command_reads_back_as_planned(
    configs: tuple[ScenarioConfig, TenantConfig],
) -> None:
    scenario, tenant = configs
    whole = plan_scenario(tenant, scenario, seed=2, customers=3, days=2)
    with stream_scenario(tenant, scenario, seed=2, customers=3, days=2) as stream:
        for mine, theirs in zip(stream.all_commands(), whole.all_commands(), strict=True):
            assert dataclasses.astuple(mine) == dataclasses.astuple(theirs)
            assert type(mine.payload) is dict


def test_the_twin_gives_its_client_a_histogram() -> None:
    """The client records every command it sends: as a histogram, not a list."""
    args = argparse.Namespace(base_url="http://127.0.0.1:9", api_key="key-123456", timeout=1.0)
    with client_for(args) as client:
        assert isinstance(client.stats, LatencyHistogram)
