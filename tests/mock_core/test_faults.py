"""Fault profiles in the mock (mock_core/api/faults.py): the spec, the decisions, where
each fault sits against the commit, the admin API and the metrics.

In process (TestClient): a dropped reply has no connection to close here, so it comes
back as a 503 (docs/faults.md); tests/twin/test_faults.py runs every profile over real
connections with the twin as the client.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mock_core import cli
from mock_core.api.faults import (
    ActiveProfile,
    FaultSpecError,
    FaultTable,
    parse_spec,
)
from mock_core.settings import Settings
from tests.commands import tenant_payload
from tests.mock_core.conftest import CU_KEY, KEYS, PLATFORM_KEY, TENANT, Api
from tests.mock_core.test_api import assert_error, quick_app, table_counts

KEYS_100 = [f"key-{n}" for n in range(100)]


def app_client(tmp_path: Path, **settings: Any) -> TestClient:
    options: dict[str, Any] = {"api_keys": KEYS, "access_log": False, **settings}
    app = quick_app(Settings(database_url=f"sqlite:///{tmp_path}/mock.db", **options))
    return TestClient(app, raise_server_exceptions=False)


def auth(key: str = PLATFORM_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def put(client: TestClient, tenant: str, spec: str) -> Any:
    return client.put(f"/_mock/faults/{tenant}", json={"profile": spec}, headers=auth())


def fault_metrics(client: TestClient) -> dict[tuple[str, str], float]:
    text = client.get("/metrics").text
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name == "mock_core_faults":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    out[(sample.labels["profile"], sample.labels["kind"])] = sample.value
    return out


# ------------------------------------------------------------------ the spec


@pytest.mark.parametrize(
    ("spec", "name", "seed", "params"),
    [
        ("drop-reply", "drop-reply", 0, {"p": 0.2, "times": 1}),
        ("drop-reply:7,p=0.5,times=2", "drop-reply", 7, {"p": 0.5, "times": 2}),
        ("refuse:3,status=429,retry_after=0", "refuse", 3, {"status": "429", "retry_after": 0}),
        ("error-after-commit:1,mode=stall,stall_s=1.5", "error-after-commit", 1, {"stall_s": 1.5}),
        ("latency:2,dist=fixed,ms=3", "latency", 2, {"dist": "fixed", "ms": 3.0}),
        ("outage:0,seconds=3,after=10,every=30", "outage", 0, {"seconds": 3.0, "after": 10}),
        ("slow-reader:9,ms=50", "slow-reader", 9, {"ms": 50.0}),
    ],
)
def test_specs_parse(spec: str, name: str, seed: int, params: dict[str, Any]) -> None:
    profile = parse_spec(spec)
    assert (profile.name, profile.seed) == (name, seed)
    assert params.items() <= dict(profile.params).items()
    assert parse_spec(profile.spec) == profile  # the spec written back parses the same


def test_latency_takes_parameters_per_command_type() -> None:
    profile = parse_spec("latency:1,dist=fixed,ms=2,PostEntry.ms=40")
    assert profile.param("ms", "PostEntry") == 40.0
    assert profile.param("ms", "CreateCustomer") == 2.0
    active = ActiveProfile(profile)
    post = active.before("k", "PostEntry")
    other = active.before("k", "OpenAccount")
    assert post is not None and other is not None
    assert (post.delay_s, other.delay_s) == (0.04, 0.002)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "is not NAME"),
        ("explode:1", "unknown fault profile 'explode'"),
        ("drop-reply:x", "is not NAME"),
        ("drop-reply:1,q=2", "'q=2' is not a parameter"),
        ("drop-reply:1,p=2", "p must be at most 1.0"),
        ("drop-reply:1,p=-1", "finite number >= 0"),
        ("drop-reply:1,p=nan", "finite number >= 0"),
        ("drop-reply:1,times=3", "times must be at most 2"),
        ("drop-reply:1,times=0", "times must be 1 or 2"),
        ("refuse:1,status=500", "status must be one of 503, 429, mixed"),
        ("latency:1,dist=pareto", "dist must be one of"),
        ("latency:1,ms=99999", "ms must be at most"),
        ("latency:1,Bogus.ms=1", "only latency takes per-command-type parameters"),
        ("refuse:1,PostEntry.p=1", "only latency takes per-command-type parameters"),
        ("outage:1,seconds=3600", "seconds must be at most"),
        ("outage:1,seconds=2,every=3", "every must be 0 (once) or at least twice seconds"),
        ("outage:1,every=9999", "every must be at most 3600"),
        ("x" * 600, "at most 500 characters"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(FaultSpecError, match=None) as info:
        parse_spec(spec)
    assert says in str(info.value)


# ------------------------------------------------------------- the decisions


def hits(spec: str, keys: list[str]) -> list[tuple[str, str]]:
    """(key, kind) of every fault a fresh profile injects over `keys`, retrying each key
    until it gets through (as a client would), in the order given."""
    active = ActiveProfile(parse_spec(spec))
    out = []
    for key in keys:
        for _ in range(5):
            fault = active.before(key, "PostEntry") or active.after(key)
            if fault is None:
                break
            out.append((key, fault.kind))
    return out


@pytest.mark.parametrize(
    "spec", ["drop-reply:7", "refuse:7,status=mixed", "error-after-commit:7,times=2"]
)
def test_decisions_depend_on_the_seed_and_key_not_on_the_order(spec: str) -> None:
    forward = hits(spec, KEYS_100)
    backward = hits(spec, KEYS_100[::-1])
    assert sorted(forward) == sorted(backward)
    assert 5 <= len({key for key, _ in forward}) <= 40  # p = 0.2 of 100 keys
    other_seed = hits(spec.replace(":7", ":8"), KEYS_100)
    assert sorted(other_seed) != sorted(forward)


@pytest.mark.parametrize("times", [1, 2])
def test_a_key_is_hit_at_most_times_times(times: int) -> None:
    found = hits(f"refuse:1,p=1,times={times}", KEYS_100)
    assert len(found) == times * len(KEYS_100)
    kinds = {kind for _, kind in found}
    assert kinds == {"refuse-503"}


def test_latency_distributions() -> None:
    def delays(spec: str) -> list[float]:
        active = ActiveProfile(parse_spec(spec))
        return [f.delay_s for k in KEYS_100 if (f := active.before(k, "PostEntry")) is not None]

    assert set(delays("latency:1,dist=fixed,ms=7")) == {0.007}
    uniform = delays("latency:1,dist=uniform,min_ms=2,max_ms=4")
    assert all(0.002 <= d <= 0.004 for d in uniform) and len(set(uniform)) > 50
    lognormal = sorted(delays("latency:1,dist=lognormal,median_ms=10,sigma=0.5"))
    assert 0.007 < lognormal[50] < 0.014  # the median near 10 ms
    assert delays("latency:1,dist=uniform,max_ms=4") == delays("latency:1,dist=uniform,max_ms=4")


def test_an_outage_refuses_everything_in_its_window() -> None:
    now = [100.0]
    active = ActiveProfile(parse_spec("outage:1,seconds=3,after=5"), clock=lambda: now[0])
    before = [active.before(f"k{n}", "PostEntry") for n in range(4)]
    assert before == [None] * 4
    fault = active.before("k4", "PostEntry")  # the 5th command opens the window
    assert fault is not None and (fault.status, fault.retry_after) == (503, 3)
    now[0] = 101.2
    fault = active.before("k5", "PostEntry")
    assert fault is not None and fault.retry_after == 2
    now[0] = 103.0
    assert active.before("k6", "PostEntry") is None
    assert active.injected == {"outage": 2}


def test_an_outage_repeats_every_so_often() -> None:
    now = [0.0]
    active = ActiveProfile(parse_spec("outage:1,seconds=1,after=1,every=3"), clock=lambda: now[0])
    refused = []
    for moment in (0.0, 0.5, 1.5, 2.9, 3.2, 4.5, 6.0):
        now[0] = moment
        refused.append(active.before(f"k{moment}", "PostEntry") is not None)
    assert refused == [True, True, False, False, True, False, True]


# ------------------------------------------------- against the commit, in process


def events(api: Api, tenant: str = TENANT) -> int:
    return int(api.last_sequence(tenant))


def test_a_refusal_writes_nothing_and_the_retry_goes_through(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        api = Api(client)
        assert api.create_tenant().status_code == 202
        assert put(client, TENANT, "refuse:1,p=1,status=429,retry_after=2").status_code == 200
        before = table_counts(client)
        refused = api.send(
            TENANT, "UpsertProduct", _product(), idempotencyKey="prod-1", command_id=_id(1)
        )
        body = assert_error(refused, 429, "RATE_LIMITED")
        assert refused.headers["retry-after"] == "2"
        assert body["details"] == {
            "faultProfile": "refuse:1,p=1.0,status=429,retry_after=2",
            "faultKind": "refuse-429",
        }
        assert table_counts(client) == before  # refused before the gateway: nothing written
        again = api.send(
            TENANT, "UpsertProduct", _product(), idempotencyKey="prod-1", command_id=_id(1)
        )
        assert again.status_code == 202 and "idempotent-replayed" not in again.headers
        assert fault_metrics(client) == {("refuse", "refuse-429"): 1.0}


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("error-after-commit:1,p=1", "503-after-commit"), ("drop-reply:1,p=1", "drop")],
)
def test_a_fault_after_the_commit_leaves_it_committed_and_the_retry_replays(
    tmp_path: Path, spec: str, kind: str
) -> None:
    with app_client(tmp_path) as client:
        api = Api(client)
        assert api.create_tenant().status_code == 202
        assert put(client, TENANT, spec).status_code == 200
        sequence = events(api)
        first = api.send(
            TENANT, "UpsertProduct", _product(), idempotencyKey="prod-1", command_id=_id(1)
        )
        assert_error(first, 503, "SERVICE_UNAVAILABLE")
        assert events(api) == sequence + 1  # committed before the reply was spoiled
        again = api.send(
            TENANT, "UpsertProduct", _product(), idempotencyKey="prod-1", command_id=_id(2)
        )
        assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
        assert again.json()["commandId"] == _id(1)
        assert events(api) == sequence + 1
        assert fault_metrics(client) == {(spec.split(":")[0], kind): 1.0}


def test_a_stalled_reply_is_the_reply_late(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        api = Api(client)
        assert api.create_tenant().status_code == 202
        first = api.send(TENANT, "UpsertProduct", _product(), idempotencyKey="prod-1")
        assert first.status_code == 202
        spec = "error-after-commit:1,p=1,mode=stall,stall_s=0.2"
        assert put(client, TENANT, spec).status_code == 200
        started = time.perf_counter()
        again = api.send(TENANT, "UpsertProduct", _product(), idempotencyKey="prod-1")
        assert time.perf_counter() - started >= 0.2
        assert again.status_code == 202 and again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert fault_metrics(client) == {("error-after-commit", "stall-after-commit"): 1.0}


def test_a_slow_reader_stalls_only_its_tenants_queries(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        api = Api(client)
        assert api.create_tenant().status_code == 202
        assert api.create_tenant("OTHER_CU").status_code == 202
        assert put(client, TENANT, "slow-reader:1,ms=150").status_code == 200
        started = time.perf_counter()
        assert api.get(f"/tenants/{TENANT}").status_code == 200
        assert time.perf_counter() - started >= 0.15
        started = time.perf_counter()
        assert api.get("/tenants/OTHER_CU").status_code == 200
        assert time.perf_counter() - started < 0.15
        assert fault_metrics(client) == {("slow-reader", "slow-read"): 1.0}


def test_the_profile_for_every_tenant_comes_from_the_settings(tmp_path: Path) -> None:
    with app_client(tmp_path, faults="refuse:1,p=1") as client:
        api = Api(client)
        tenant = tenant_payload(TENANT)
        refused = api.send(TENANT, "CreateTenant", tenant, command_id=_id(1))
        assert_error(refused, 503, "SERVICE_UNAVAILABLE")
        again = api.send(TENANT, "CreateTenant", tenant, command_id=_id(1))
        assert again.status_code == 202  # once per key
        # The attempts are counted per tenant: the same key on another tenant is refused.
        other = api.send("OTHER_CU", "CreateTenant", tenant_payload("OTHER_CU"), command_id=_id(1))
        assert_error(other, 503, "SERVICE_UNAVAILABLE")
        listed = client.get("/_mock/faults", headers=auth()).json()
        assert listed["everyTenant"]["profile"]["name"] == "refuse"
        assert listed["everyTenant"]["injected"] == {"refuse-503": 2}
        # A tenant's own profile overrides it; `none` switches faults off for the tenant.
        assert put(client, "QUIET_CU", "none").status_code == 200
        assert api.create_tenant("QUIET_CU").status_code == 202


# -------------------------------------------------------------- the admin API


def test_the_admin_api_sets_reads_and_clears_a_tenants_profile(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        put_reply = put(client, TENANT, "drop-reply:7")
        assert put_reply.status_code == 200
        assert put_reply.json()["profile"]["spec"] == "drop-reply:7"
        got = client.get(f"/_mock/faults/{TENANT}", headers=auth()).json()
        assert (got["scope"], got["profile"]["seed"], got["injected"]) == ("tenant", 7, {})
        assert set(client.get("/_mock/faults", headers=auth()).json()["tenants"]) == {TENANT}
        cleared = client.delete(f"/_mock/faults/{TENANT}", headers=auth()).json()
        assert cleared["cleared"] is True
        got = client.get(f"/_mock/faults/{TENANT}", headers=auth()).json()
        assert (got["scope"], got["profile"]) == ("none", None)
        again = client.delete(f"/_mock/faults/{TENANT}", headers=auth()).json()
        assert again["cleared"] is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "MALFORMED_JSON"),
        (b"[]", "VALIDATION_ERROR"),
        (b'{"profile": 3}', "VALIDATION_ERROR"),
        (b'{"profile": "drop-reply", "extra": 1}', "VALIDATION_ERROR"),
        (b'{"profile": "explode"}', "VALIDATION_ERROR"),
        (b'{"profile": "drop-reply:1,p=7"}', "VALIDATION_ERROR"),
    ],
)
def test_bad_input_to_the_admin_api_is_a_400(tmp_path: Path, body: bytes, code: str) -> None:
    with app_client(tmp_path) as client:
        reply = client.put(f"/_mock/faults/{TENANT}", content=body, headers=auth())
        assert_error(reply, 400, code)
        assert client.get("/_mock/faults", headers=auth()).json()["tenants"] == {}


def test_the_admin_api_needs_the_platform_key_and_can_be_switched_off(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        assert_error(client.get("/_mock/faults"), 401, "UNAUTHENTICATED")
        reply = client.put(
            f"/_mock/faults/{TENANT}", json={"profile": "drop-reply"}, headers=auth(CU_KEY)
        )
        assert_error(reply, 403, "FORBIDDEN")
    with app_client(tmp_path / "..", admin_enabled=False) as client:
        for method in ("GET", "PUT", "DELETE"):
            reply = client.request(
                method, f"/_mock/faults/{TENANT}", json={"profile": "drop-reply"}, headers=auth()
            )
            assert_error(reply, 404, "NOT_FOUND")


def test_the_cli_refuses_a_bad_profile_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI passes its settings on in MOCK_CORE_* variables: record them as they are
    # (set, then removed) so that the undo puts them back as they were, not as it left them.
    for name in ("MOCK_CORE_FAULTS", "MOCK_CORE_DATABASE_URL"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    argv = ["serve", "--database-url", f"sqlite:///{tmp_path}/x.db", "--faults", "drop-reply:1,p=9"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["mock-core: bad settings: drop-reply: p must be at most 1.0"]


def test_the_faults_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOCK_CORE_FAULTS", " outage:3,seconds=1 ")
    assert Settings().faults == "outage:3,seconds=1"
    monkeypatch.setenv("MOCK_CORE_FAULTS", "")
    assert Settings().faults is None
    assert FaultTable(None).active is False


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _product() -> dict[str, Any]:
    return {
        "productCode": "TXN_FAULTS",
        "name": "Faults",
        "productType": "DEPOSIT",
        "interest": {"rate": 0.0},
    }
