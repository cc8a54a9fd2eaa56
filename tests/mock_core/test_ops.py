"""The mock's own endpoints (outside the contract): health, readiness, metrics, the spec,
Swagger UI, the access log, the admin endpoints, and how the settings treat API keys."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from sqlalchemy import func, select, text

from mock_core import cli
from mock_core.api.app import create_app
from mock_core.api.observability import LineHandler
from mock_core.settings import DEV_PLATFORM_KEY, Settings
from mock_core.store.schema import TENANT_TABLES
from tests.commands import envelope
from tests.mock_core.conftest import (
    CU_KEY,
    KEYS,
    OTHER_KEY,
    PLATFORM_KEY,
    TENANT,
    TXN_BASIC,
    Api,
    customer_payload,
)
from tests.mock_core.test_api import (
    BACKENDS,
    backend_url,
    owner_connection,
    quick_app,
    table_counts,
)

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "turingcore.v1.yaml"
ENV_VARS = (
    "MOCK_CORE_DATABASE_URL",
    "MOCK_CORE_API_KEYS",
    "MOCK_CORE_API_KEYS_FILE",
    "MOCK_CORE_ADMIN_ENABLED",
    "MOCK_CORE_ACCESS_LOG",
    "MOCK_CORE_MIGRATE_ON_START",
    "MOCK_CORE_SPEC_PATH",
)


def auth(key: str | None = PLATFORM_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error", "message", "details"}, body
    assert body["error"] == code
    return body  # type: ignore[no-any-return]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No MOCK_CORE_* variables, and whatever the code under test sets is undone after."""
    for name in ENV_VARS:
        monkeypatch.setenv(name, "")  # records the original value for the undo
        monkeypatch.delenv(name)
    return monkeypatch


def app_client(db: Path | str, real_spec: bool = False, **settings: Any) -> TestClient:
    """An app on a SQLite file (a Path) or any database URL (a str); it serves the
    contract file only with `real_spec` (parsing it is most of an app's start-up)."""
    options: dict[str, Any] = {"api_keys": KEYS, "access_log": False, **settings}
    url = f"sqlite:///{db}" if isinstance(db, Path) else db
    settings_ = Settings(database_url=url, **options)
    app = create_app(settings_) if real_spec else quick_app(settings_)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def spec_bytes_at_start() -> bytes:
    return SPEC.read_bytes()


@pytest.fixture(scope="module", params=BACKENDS)
def ops(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    spec_bytes_at_start: bytes,
) -> Iterator[TestClient]:
    with (
        backend_url(request.param, tmp_path_factory.mktemp("ops")) as url,
        app_client(url, real_spec=request.param == "sqlite") as client,
    ):
        api = Api(client)
        assert api.create_tenant().status_code == 202
        assert api.create_tenant("OTHER_CU").status_code == 202
        yield client


# What does not touch the store runs on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("ops", ["sqlite"], indirect=True)


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


# ------------------------------------------------------------------- health


@SQLITE_ONLY
def test_healthz(ops: TestClient) -> None:
    resp = ops.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_readyz(ops: TestClient) -> None:
    resp = ops.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ready"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_readyz_503_when_the_store_is_not_migrated(tmp_path: Path, backend: str) -> None:
    # backend_url gives an empty store (a new file, a new database) that nobody migrated.
    with (
        backend_url(backend, tmp_path) as url,
        app_client(url, migrate_on_start=False) as client,
    ):
        assert client.get("/healthz").status_code == 200  # alive, but not ready
        assert_error(client.get("/readyz"), 503, "NOT_READY")


@pytest.mark.parametrize(
    "url",
    ["a-directory", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"],
    ids=["sqlite-path-is-a-directory", "postgres-nothing-listening"],
)
def test_readyz_503_when_the_store_is_unreachable(tmp_path: Path, url: str) -> None:
    if url == "a-directory":
        (tmp_path / url).mkdir()
    target: Path | str = tmp_path / url if url == "a-directory" else url
    with app_client(target, migrate_on_start=False) as client:
        assert_error(client.get("/readyz"), 503, "NOT_READY")
        assert client.get("/healthz").status_code == 200


# ------------------------------------------------------------------ metrics


@SQLITE_ONLY
def test_metrics_counters_move(ops: TestClient) -> None:
    api = Api(ops)
    before = samples(ops)
    tenant = "METRICS_CU"
    first = api.create_tenant(tenant)
    assert first.status_code == 202
    replay = api.send(
        tenant,
        "CreateTenant",
        json.loads(first.request.content)["payload"],
        commandId=json.loads(first.request.content)["commandId"],
    )
    assert replay.headers["idempotent-replayed"] == "true"
    assert api.upsert_product(tenant).status_code == 202
    unbalanced = api.post_entry(
        [("GL_FEES", "DEBIT", 10), ("GL_SUSPENSE", "CREDIT", 9)], tenant=tenant
    )
    assert unbalanced.json()["invariant"] == "LEGS_MUST_BALANCE"
    after = samples(ops)

    def delta(name: str, **labels: str) -> float:
        k = key(name, **labels)
        return after.get(k, 0.0) - before.get(k, 0.0)

    commands = "mock_core_commands_total"
    assert delta(commands, command_type="CreateTenant", outcome="ACCEPTED") == 1
    assert delta(commands, command_type="CreateTenant", outcome="REPLAYED") == 1
    assert delta(commands, command_type="UpsertProduct", outcome="ACCEPTED") == 1
    assert delta(commands, command_type="PostEntry", outcome="LEGS_MUST_BALANCE") == 1
    assert delta(commands, command_type="PostEntry", outcome="ACCEPTED") == 0
    latency = "mock_core_command_latency_seconds"
    assert delta(f"{latency}_count", command_type="CreateTenant") == 2
    assert delta(f"{latency}_count", command_type="UpsertProduct") == 1
    assert delta(f"{latency}_sum", command_type="CreateTenant") > 0
    assert delta(f"{latency}_bucket", command_type="UpsertProduct", le="+Inf") == 1
    events = "mock_core_events_appended_total"
    assert delta(events, event_type="TenantCreated") == 1
    assert delta(events, event_type="AccountOpened") == 11
    assert delta(events, event_type="ProductCreated") == 1
    assert delta(events, event_type="EntryPosted") == 0


# -------------------------------------------------------------- spec and docs


@SQLITE_ONLY
def test_openapi_yaml_is_the_spec_file(ops: TestClient, spec_bytes_at_start: bytes) -> None:
    resp = ops.get("/v1/openapi.yaml")
    assert resp.status_code == 200
    assert "yaml" in resp.headers["content-type"]
    assert resp.content
    # The file, but for its first server: the address the spec was asked at, so that
    # Swagger UI's "Try it out" reaches this mock wherever it runs.
    served, original = resp.content.splitlines(), spec_bytes_at_start.splitlines()
    differ = [n for n, (a, b) in enumerate(zip(served, original, strict=True)) if a != b]
    assert len(differ) == 1 and original[differ[0] - 1] == b"servers:", differ
    assert served[differ[0]] == b"  - url: http://testserver/v1"
    elsewhere = ops.get("/v1/openapi.yaml", headers={"Host": "mock.example:9000"})
    assert b"\n  - url: http://mock.example:9000/v1\n" in elsewhere.content


@SQLITE_ONLY
def test_openapi_json_is_the_spec_file(ops: TestClient, spec_bytes_at_start: bytes) -> None:
    resp = ops.get("/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the same result as safe_load, faster
    spec = yaml.load(spec_bytes_at_start, Loader=loader)
    served = resp.json()
    assert served["servers"] == [{"url": "http://testserver/v1", "description": "this mock-core"}]
    assert {**served, "servers": spec["servers"]} == spec
    assert served["openapi"].startswith("3.")


@SQLITE_ONLY
def test_docs_is_swagger_ui_on_the_json_spec(ops: TestClient) -> None:
    resp = ops.get("/docs")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in resp.text.lower()
    assert "/v1/openapi.json" in resp.text


# --------------------------------------------------------------- access log


def _reads_of_every_path(client: TestClient) -> None:
    """A read served ahead of the framework, one through it, a 401."""
    api = Api(client)
    assert api.get(f"/tenants/{TENANT}/accounts/NO_SUCH").status_code == 404
    assert api.get(f"/tenants/{TENANT}").status_code == 200
    assert client.get(f"/v1/tenants/{TENANT}").status_code == 401


def test_the_access_log_s_own_handler_gets_its_lines_without_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Configured as the kit leaves it, the lines go straight to the handler's stream (no
    LogRecord); with anything beside it, or when the write fails, through logging."""
    logger = logging.getLogger("mock_core.access")
    made: list[str] = []
    real = logger.makeRecord

    def counted(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(logger, "makeRecord", counted)
    with app_client(tmp_path / "mock.db", access_log=True) as client:
        # The kit's own handler alone (another test may have left one of its own).
        handler = next(h for h in logger.handlers if isinstance(h, LineHandler))
        monkeypatch.setattr(logger, "handlers", [handler])
        stream = io.StringIO()
        monkeypatch.setattr(handler, "stream", stream)
        assert Api(client).create_tenant().status_code == 202
        _reads_of_every_path(client)
        direct = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert made == []
        assert [(line["method"], line["status"], line["outcome"]) for line in direct] == [
            ("POST", 202, "ACCEPTED"),
            ("GET", 404, "NOT_FOUND"),
            ("GET", 200, None),
            ("GET", 401, "UNAUTHENTICATED"),
        ]
        # A filter on the logger sees every record: the lines go through logging.
        seen: list[logging.LogRecord] = []

        def keep(record: logging.LogRecord) -> bool:
            seen.append(record)
            return True

        logger.addFilter(keep)
        try:
            stream.seek(0)
            stream.truncate()
            _reads_of_every_path(client)
        finally:
            logger.removeFilter(keep)
        assert len(seen) == 3 and len(made) == 3
        through = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [line["status"] for line in through] == [404, 200, 401]
        # A write that fails is handed to logging, which reports it (handleError).
        broken = io.StringIO()
        broken.close()
        monkeypatch.setattr(handler, "stream", broken)
        errors: list[logging.LogRecord] = []
        monkeypatch.setattr(handler, "handleError", errors.append)
        assert client.get("/healthz").status_code == 200
        assert len(errors) == 1 and json.loads(errors[0].getMessage())["path"] == "/healthz"


def test_access_log_one_json_line_per_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("mock_core.access")
    with app_client(tmp_path / "mock.db", access_log=True) as client:
        logger.addHandler(caplog.handler)  # the access logger does not propagate to root
        try:
            with caplog.at_level(logging.INFO, logger="mock_core.access"):
                caplog.clear()
                api = Api(client)
                assert api.create_tenant().status_code == 202
                assert api.get(f"/tenants/{TENANT}").status_code == 200
                assert client.get(f"/v1/tenants/{TENANT}").status_code == 401
                bad = api.send(TENANT, "UpsertProduct", {**TXN_BASIC, "extra": 1})
                assert bad.status_code == 400
                assert client.get("/healthz").status_code == 200
                records = [r for r in caplog.records if r.name == "mock_core.access"]
        finally:
            logger.removeHandler(caplog.handler)
    lines = [json.loads(r.getMessage()) for r in records]
    assert len(lines) == 5, lines
    for line in lines:
        assert {"method", "path", "status", "tenant", "commandType", "latencyMs"} <= set(line)
        assert isinstance(line["latencyMs"], int | float) and line["latencyMs"] >= 0
    command, query, unauthenticated, invalid, health = lines
    assert command["method"] == "POST"
    assert command["path"] == f"/v1/tenants/{TENANT}/commands"
    assert (command["status"], command["tenant"], command["commandType"]) == (
        202,
        TENANT,
        "CreateTenant",
    )
    assert (query["method"], query["path"], query["status"], query["tenant"]) == (
        "GET",
        f"/v1/tenants/{TENANT}",
        200,
        TENANT,
    )
    assert query["commandType"] is None
    assert (unauthenticated["status"], unauthenticated["tenant"]) == (401, TENANT)
    assert (invalid["status"], invalid["method"], invalid["tenant"]) == (400, "POST", TENANT)
    assert (health["path"], health["status"], health["tenant"]) == ("/healthz", 200, None)


# -------------------------------------------------------------------- admin


counts = table_counts  # rows per table, as the owner (past PostgreSQL's row-level security)


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", "/_mock/reset"),
        ("POST", f"/_mock/tenants/{TENANT}/reset"),
        ("GET", f"/_mock/tenants/{TENANT}/verify"),
    ],
)
def test_admin_needs_the_platform_key(ops: TestClient, method: str, path: str) -> None:
    before = counts(ops)
    resp = ops.request(method, path)
    assert_error(resp, 401, "UNAUTHENTICATED")
    assert_error(ops.request(method, path, headers=auth("wrong-key-123")), 401, "UNAUTHENTICATED")
    # A tenant key is not enough, not even for its own tenant.
    assert_error(ops.request(method, path, headers=auth(CU_KEY)), 403, "FORBIDDEN")
    assert_error(ops.request(method, path, headers=auth(OTHER_KEY)), 403, "FORBIDDEN")
    assert counts(ops) == before


def test_admin_verify_says_ok(ops: TestClient) -> None:
    api = Api(ops)
    customer = api.create_customer(TENANT, n=7).json()["result"]["customerId"]
    assert api.upsert_product(TENANT).status_code in (202,)
    assert api.open_account(customer, initialDeposit=12.34).status_code == 202
    resp = ops.get(f"/_mock/tenants/{TENANT}/verify", headers=auth())
    assert resp.status_code == 200
    assert resp.json() == {
        "tenantId": TENANT,
        "events": api.last_sequence(),
        "ok": True,
        "problems": [],
    }
    assert_error(ops.get("/_mock/tenants/NO_SUCH_TENANT/verify", headers=auth()), 404, "NOT_FOUND")


def test_admin_verify_finds_a_tampered_event(ops: TestClient) -> None:
    api = Api(ops)
    tenant = "TAMPERED_CU"
    assert api.create_tenant(tenant).status_code == 202
    with owner_connection(ops) as conn:
        conn.execute(
            text(
                "UPDATE events SET envelope = replace(envelope, 'CU Digital Twin', 'CU Evil Twin')"
                " WHERE tenant_id = :t AND sequence = 1"
            ),
            {"t": tenant},
        )
    body = ops.get(f"/_mock/tenants/{tenant}/verify", headers=auth()).json()
    assert body["ok"] is False
    assert body["problems"]


def test_admin_reset_one_tenant(ops: TestClient) -> None:
    api = Api(ops)
    tenant = "RESET_ME"
    assert api.create_tenant(tenant).status_code == 202
    assert api.create_customer(tenant).status_code == 202
    other_before = ops.get("/v1/tenants/OTHER_CU", headers=auth()).json()
    resp = ops.post(f"/_mock/tenants/{tenant}/reset", headers=auth())
    assert resp.status_code == 200
    assert resp.json() == {"reset": tenant}
    assert_error(ops.get(f"/v1/tenants/{tenant}", headers=auth()), 404, "NOT_FOUND")
    with owner_connection(ops) as conn:
        for table in TENANT_TABLES:
            rows = conn.execute(
                select(func.count()).select_from(table).where(table.c.tenant_id == tenant)
            ).scalar_one()
            assert rows == 0, table.name
    assert ops.get("/v1/tenants/OTHER_CU", headers=auth()).json() == other_before
    # The command log went too: the same commands are new again, not replays.
    again = api.create_tenant(tenant)
    assert again.status_code == 202 and "idempotent-replayed" not in again.headers
    assert again.json()["eventIds"]
    assert api.last_sequence(tenant) == 12


def test_admin_reset_everything(api: Api) -> None:
    client = api.client
    assert api.create_tenant().status_code == 202
    assert api.create_tenant("OTHER_CU").status_code == 202
    command = envelope(TENANT, "CreateCustomer", customer_payload(1))
    assert (
        client.post(f"/v1/tenants/{TENANT}/commands", json=command, headers=auth()).status_code
        == 202
    )
    resp = client.post("/_mock/reset", headers=auth())
    assert resp.status_code == 200
    assert resp.json() == {"reset": "*"}
    assert set(counts(client).values()) == {0}
    assert_error(client.get(f"/v1/tenants/{TENANT}", headers=auth()), 404, "NOT_FOUND")
    assert api.create_tenant().status_code == 202
    # The first customer command is forgotten: sending it again creates a customer.
    resp = client.post(f"/v1/tenants/{TENANT}/commands", json=command, headers=auth())
    assert resp.status_code == 202 and "idempotent-replayed" not in resp.headers


def test_admin_endpoints_404_when_switched_off(tmp_path: Path) -> None:
    with app_client(tmp_path / "mock.db", admin_enabled=False) as client:
        assert Api(client).create_tenant().status_code == 202
        before = counts(client)
        for method, path in (
            ("POST", "/_mock/reset"),
            ("POST", f"/_mock/tenants/{TENANT}/reset"),
            ("GET", f"/_mock/tenants/{TENANT}/verify"),
        ):
            assert_error(client.request(method, path, headers=auth()), 404, "NOT_FOUND")
        assert counts(client) == before
        assert client.get(f"/v1/tenants/{TENANT}", headers=auth()).status_code == 200


def test_admin_enabled_setting_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MOCK_CORE_ADMIN_ENABLED", "false")
    assert Settings().admin_enabled is False
    clean_env.setenv("MOCK_CORE_ADMIN_ENABLED", "true")
    assert Settings().admin_enabled is True


# ----------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "spec",
    [
        "no-equals-sign",
        "valid-key-1=",
        "=CU_DIGITAL",
        "short=*",
        "valid-key-1=*;valid-key-1=CU_DIGITAL",
        "valid-key-1=*;garbage",
        "valid-key-1=, ,",
    ],
)
def test_malformed_api_keys_are_refused_at_start(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, spec: str
) -> None:
    url = f"sqlite:///{tmp_path}/mock.db"
    with pytest.raises(ValidationError):
        Settings(database_url=url, api_keys=spec)
    clean_env.setenv("MOCK_CORE_API_KEYS", spec)
    clean_env.setenv("MOCK_CORE_DATABASE_URL", url)
    with pytest.raises(ValidationError):
        Settings()
    with pytest.raises(ValidationError):
        create_app()


def test_malformed_api_keys_stop_the_cli(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["serve", "--database-url", f"sqlite:///{tmp_path}/m.db", "--api-keys", "oops"]
    assert cli.main(argv) == 2
    assert "bad settings" in capsys.readouterr().err
    assert not (tmp_path / "m.db").exists()  # refused before touching the store


def test_api_keys_parse(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys_file = tmp_path / "keys.txt"
    keys_file.write_text("# team keys\nfile-key-1=CU_DIGITAL,OTHER_CU\n\nfile-key-2=*\n")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/m.db",
        api_keys_file=keys_file,
        api_keys=" plat-key-1 = * ; cu-key-1=CU_DIGITAL ",
    )
    assert settings.keys() == {
        "file-key-1": frozenset({"CU_DIGITAL", "OTHER_CU"}),
        "file-key-2": frozenset({"*"}),
        "plat-key-1": frozenset({"*"}),
        "cu-key-1": frozenset({"CU_DIGITAL"}),
    }
    assert settings.using_dev_key is False
    configured = settings.keys()
    assert DEV_PLATFORM_KEY not in configured


def test_no_keys_means_the_dev_platform_key(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/m.db", access_log=False)
    assert settings.using_dev_key
    assert settings.keys() == {"dev-platform-key": frozenset({"*"})}
    with TestClient(quick_app(settings), raise_server_exceptions=False) as client:
        api = Api(client, key="dev-platform-key")
        assert api.create_tenant("DEV_CU").status_code == 202
        assert api.get("/tenants/DEV_CU").status_code == 200
        # Only that key: the keys of other configurations are unknown here.
        for other in (CU_KEY, OTHER_KEY, "platform-key"):
            assert_error(
                client.get("/v1/tenants/DEV_CU", headers=auth(other)), 401, "UNAUTHENTICATED"
            )


def test_configured_keys_replace_the_dev_key(tmp_path: Path) -> None:
    keys = "real-platform-key=*;cu-digital-key=CU_DIGITAL"
    with app_client(tmp_path / "m.db", api_keys=keys) as client:
        assert_error(
            client.get("/v1/tenants/X", headers=auth(DEV_PLATFORM_KEY)), 401, "UNAUTHENTICATED"
        )
        assert_error(
            client.get("/v1/tenants/X", headers=auth("real-platform-key")), 404, "NOT_FOUND"
        )


def test_settings_refuse_unknown_backends(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError):
        Settings(database_url="mysql://localhost/db")
    assert os.environ.get("MOCK_CORE_API_KEYS") is None
