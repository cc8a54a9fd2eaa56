"""turingcore_sdk, the client generated from the spec: not stale, shipped, and working.

- The committed package is exactly what `make client` makes from the spec today
  (sdkgen/generate.py into a temporary folder, compared byte for byte); a spec whose
  one field description changed makes a package this check calls stale.
- The generator is the pinned one, and every generated subpackage is in the wheel.
- Through the generated client alone, against the mock in process: a tenant, a
  product, a customer, an account, an entry; the balance read back, the events
  listed, and 400, 404 and 422 replies parsed as the spec's `Error` and
  `InvariantViolation`.
"""

from __future__ import annotations

import datetime
import json
import re
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sdkgen.generate import (
    GENERATOR_VERSION,
    PACKAGE,
    SPEC,
    GenerationError,
    differences,
    generate,
)
from tests.twin.conftest import SyncASGITransport, mock_app
from turingcore_sdk import AuthenticatedClient
from turingcore_sdk.api.accounts import get_account, get_account_balance_as_of
from turingcore_sdk.api.commands import submit_command
from turingcore_sdk.api.events import list_events
from turingcore_sdk.models import (
    AccountBalanceAsOf,
    AccountSummary,
    Actor,
    ActorActorType,
    Address,
    CommandAccepted,
    CreateCustomerCommand,
    CreateCustomerPayload,
    CreateTenantCommand,
    CreateTenantPayload,
    Direction,
    EntryLeg,
    Error,
    ErrorError,
    EventPage,
    EventType,
    InvariantViolation,
    InvariantViolationInvariant,
    OpenAccountCommand,
    OpenAccountPayload,
    Person,
    PostEntryCommand,
    PostEntryPayload,
    ProductInterest,
    ProductType,
    UpsertProductCommand,
    UpsertProductPayload,
)

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_KEY = "sdk-platform-key"
TENANT = "SDK_TEST"
SYDNEY_SUMMER = datetime.timezone(datetime.timedelta(hours=11))
TIMESTAMP = datetime.datetime(2025, 1, 15, 9, 0, tzinfo=SYDNEY_SUMMER)
ACTOR = Actor(actor_type=ActorActorType.SYSTEM, actor_id="tests")
DAY = datetime.date(2025, 1, 15)
# A field description that the generator copies into a model's docstring.
DESCRIPTION = "The `EntryPosted` and `FundsPosted` events counted."


# ---------------------------------------------------------------- the package is current


def test_the_committed_package_is_what_the_generator_makes(tmp_path: Path) -> None:
    stale = differences(PACKAGE, generate(tmp_path))
    assert stale == [], "turingcore_sdk/ is stale; run `make client`:\n" + "\n".join(stale)


def test_a_changed_field_description_makes_the_package_stale(tmp_path: Path) -> None:
    """The staleness check failing on purpose: the spec with one description changed."""
    text = SPEC.read_text(encoding="utf-8")
    assert text.count(DESCRIPTION) == 1
    spec = tmp_path / "changed.yaml"
    spec.write_text(text.replace(DESCRIPTION, "Postings counted."), encoding="utf-8")
    stale = differences(PACKAGE, generate(tmp_path / "out", spec))
    assert stale == ["changed: models/trial_balance.py"]


def test_an_edited_generated_file_makes_the_package_stale(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    edited = fresh / "models" / "error.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
    (fresh / "extra.py").write_text("", encoding="utf-8")
    assert differences(PACKAGE, fresh) == [
        "changed: models/error.py",
        "missing from the committed package: extra.py",
    ]


def test_a_spec_the_generator_reads_in_part_is_refused(tmp_path: Path) -> None:
    """openapi-python-client exits 0 when it drops an operation or a model, with a
    warning; `generate` (so `make client` and the staleness check) refuses that."""
    text = SPEC.read_text(encoding="utf-8")
    ref = "#/components/schemas/TrialBalanceLine'"
    assert text.count(ref) == 1
    spec = tmp_path / "dangling.yaml"
    spec.write_text(text.replace(ref, "#/components/schemas/NoSuchSchema'"), encoding="utf-8")
    with pytest.raises(GenerationError, match="trial-balance"):
        generate(tmp_path / "out", spec)


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_generator_is_pinned_where_the_dev_tools_are() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]  # type: ignore[index]
    assert f"openapi-python-client=={GENERATOR_VERSION}" in extras["dev"]


def test_every_generated_subpackage_is_in_the_wheel() -> None:
    shipped = set(_pyproject()["tool"]["setuptools"]["packages"])  # type: ignore[index]
    generated = {
        ".".join(init.parent.relative_to(ROOT).parts) for init in PACKAGE.rglob("__init__.py")
    }
    assert generated - shipped == set(), "add these to [tool.setuptools] packages"


def test_every_operation_of_the_spec_has_a_generated_module() -> None:
    """openapi-python-client skips an operation it cannot read (with a warning, which
    `generate` refuses): each operationId must have its module under api/."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    modules = {path.stem for path in (PACKAGE / "api").rglob("*.py")}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                name = re.sub(r"(?<!^)([A-Z])", r"_\1", operation["operationId"]).lower()
                assert name in modules, (method, path, name)


# ----------------------------------------------------------- the client against the mock


@pytest.fixture
def client(tmp_path: Path) -> Iterator[AuthenticatedClient]:
    """The generated client on the mock in process (a sync transport over its ASGI app)."""
    transport = SyncASGITransport(mock_app(tmp_path, api_keys=f"{PLATFORM_KEY}=*"))
    sdk = AuthenticatedClient(
        base_url="http://mock/v1", token=PLATFORM_KEY, httpx_args={"transport": transport}
    )
    with sdk:
        yield sdk
    transport.close()


Command = (
    CreateTenantCommand
    | UpsertProductCommand
    | CreateCustomerCommand
    | OpenAccountCommand
    | PostEntryCommand
)


def _accepted(client: AuthenticatedClient, body: Command) -> CommandAccepted:
    reply = submit_command.sync_detailed(TENANT, client=client, body=body)
    assert reply.status_code == 202, reply.content
    assert isinstance(reply.parsed, CommandAccepted)
    return reply.parsed


def _entry(legs: list[tuple[str, Direction, float]]) -> PostEntryCommand:
    return PostEntryCommand(
        command_id=uuid.uuid4(),
        tenant_id=TENANT,
        command_type="PostEntry",
        actor=ACTOR,
        timestamp=TIMESTAMP,
        payload=PostEntryPayload(
            booking_date=DAY,
            value_date=DAY,
            currency="AUD",
            legs=[EntryLeg(account_id=a, direction=d, amount=m) for a, d, m in legs],
            narrative="salary",
        ),
    )


def _open_member_account(client: AuthenticatedClient) -> str:
    """The five commands, each through the generated models; the new account's id."""
    tenant = CreateTenantPayload(
        tenant_code=TENANT,
        display_name="SDK test CU",
        region="AU",
        base_currency="AUD",
        time_zone="Australia/Sydney",
    )
    made = _accepted(
        client,
        CreateTenantCommand(
            command_id=uuid.uuid4(),
            tenant_id=TENANT,
            command_type="CreateTenant",
            actor=ACTOR,
            timestamp=TIMESTAMP,
            payload=tenant,
        ),
    )
    assert made.tenant_id == TENANT
    product = UpsertProductPayload(
        product_code="TXN",
        name="Everyday",
        product_type=ProductType.DEPOSIT,
        interest=ProductInterest(rate=0.0),
    )
    made = _accepted(
        client,
        UpsertProductCommand(
            command_id=uuid.uuid4(),
            tenant_id=TENANT,
            command_type="UpsertProduct",
            actor=ACTOR,
            timestamp=TIMESTAMP,
            payload=product,
        ),
    )
    assert made.product_code == "TXN"
    person = Person(
        first_name="Ann",
        last_name="Lee",
        date_of_birth=datetime.date(1990, 5, 1),
        email="ann@example.com",
        mobile="+61400000001",
    )
    address = Address(
        line1="1 George St", suburb="Sydney", state="NSW", postcode="2000", country="AU"
    )
    customer = _accepted(
        client,
        CreateCustomerCommand(
            command_id=uuid.uuid4(),
            tenant_id=TENANT,
            command_type="CreateCustomer",
            actor=ACTOR,
            timestamp=TIMESTAMP,
            payload=CreateCustomerPayload(person=person, address=address),
        ),
    )
    assert isinstance(customer.customer_id, str)
    account = _accepted(
        client,
        OpenAccountCommand(
            command_id=uuid.uuid4(),
            tenant_id=TENANT,
            command_type="OpenAccount",
            actor=ACTOR,
            timestamp=TIMESTAMP,
            payload=OpenAccountPayload(
                customer_id=customer.customer_id, product_code="TXN", currency="AUD"
            ),
        ),
    )
    assert isinstance(account.account_id, str)
    return account.account_id


def test_the_generated_client_drives_the_mock(client: AuthenticatedClient) -> None:
    account_id = _open_member_account(client)
    posted = _accepted(
        client,
        _entry(
            [
                (account_id, Direction.DEBIT, 3000.25),
                ("GL_SALARY_CLEARING", Direction.CREDIT, 3000.25),
            ]
        ),
    )
    assert isinstance(posted.entry_id, str)

    summary = get_account.sync(TENANT, account_id, client=client)
    assert isinstance(summary, AccountSummary)
    assert summary.balance == 3000.25

    page = list_events.sync(TENANT, client=client, limit=1000)
    assert isinstance(page, EventPage)
    kinds = [event.event_type for event in page.events]
    assert kinds[0] == EventType.TENANTCREATED
    assert kinds.count(EventType.ENTRYPOSTED) == 1
    assert [event.sequence for event in page.events] == list(range(1, len(kinds) + 1))

    # The as-of read (an extension) at the head of the stream just listed.
    head = len(kinds)
    as_of = get_account_balance_as_of.sync(TENANT, account_id, client=client, as_of_sequence=head)
    assert isinstance(as_of, AccountBalanceAsOf)
    assert (as_of.balance, as_of.opened, as_of.through_sequence) == (3000.25, True, head)


def test_error_replies_parse_as_the_documented_shapes(client: AuthenticatedClient) -> None:
    account_id = _open_member_account(client)

    unknown = get_account.sync_detailed(TENANT, "NO_SUCH_ACCOUNT", client=client)
    assert unknown.status_code == 404
    assert isinstance(unknown.parsed, Error)
    assert unknown.parsed.error == ErrorError.NOT_FOUND

    # The typed models do not check amounts: the service does, with a 400.
    legs = [(account_id, Direction.DEBIT, 0.001), ("GL_SUSPENSE", Direction.CREDIT, 0.001)]
    invalid = submit_command.sync_detailed(TENANT, client=client, body=_entry(legs))
    assert invalid.status_code == 400
    assert isinstance(invalid.parsed, Error)
    assert invalid.parsed.error == ErrorError.VALIDATION_ERROR

    unbalanced = [(account_id, Direction.DEBIT, 10.0), ("GL_SUSPENSE", Direction.CREDIT, 9.0)]
    refused = submit_command.sync_detailed(TENANT, client=client, body=_entry(unbalanced))
    assert refused.status_code == 422
    assert isinstance(refused.parsed, InvariantViolation)
    assert refused.parsed.invariant == InvariantViolationInvariant.LEGS_MUST_BALANCE


@pytest.mark.slow
def test_the_speed_bench_runs_both_clients(tmp_path: Path) -> None:
    """bench/sdk_speed.py, tiny: every row has both clients' figures."""
    from bench import sdk_speed

    argv = ["--n", "5", "--concurrent", "32", "--rounds", "1", "--results-dir", str(tmp_path)]
    assert sdk_speed.main(argv) == 0
    summary = json.loads((tmp_path / "sdk-speed.json").read_text())["summary"]
    assert set(summary) == {"post_entry", "get_account", "post_entry_32", "codec_only"}
    for row in summary.values():
        assert row["kit"]["ops_per_s"] > 0 and row["sdk"]["ops_per_s"] > 0
    assert "| GET account |" in (tmp_path / "sdk-speed.md").read_text()
