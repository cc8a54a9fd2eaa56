"""The ledger state machine's base: its bundles, its state, and how it sends a command,
checks the reply against the reference model and folds it in.

The rules live in subclasses, one module per family, each extending the one before:

    MachineBase            (this module: send, check_reply, fold, the first state)
     +-- SetupRules        contract_tests.ledger_rules_setup: tenants, products,
          |                customers, accounts
          +-- MoneyRules   contract_tests.ledger_rules_money: entries, transfers,
               |           replays, key reuse, concurrency, tenant isolation
               +-- Verification   contract_tests.ledger_verify: after every step
                    +-- ScriptedSequence   contract_tests.ledger_sequence

`contract_tests.ledger.build_machine` binds the last one to a run: the target, its
`Wire`, the run's `Checks`, what the target offers, and the run id, as class
attributes (`Bound`), so that every rule reads them from `self`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, ClassVar

from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, multiple

from contract_tests.extensions import Extensions
from contract_tests.laws import run_laws
from contract_tests.ledger_commands import (
    FIRST_ACCOUNTS,
    TIMESTAMP,
    AccountRef,
    CustomerRef,
    ProductRef,
    TenantRef,
    customer_payload,
    product_payload,
    reply_ids,
    tenant_payload,
)
from contract_tests.ledger_replies import (
    AcceptedCommand,
    Group,
    TenantView,
    extension_rows,
    reply_problem,
    reply_row,
)
from contract_tests.ledger_wire import Checks, Sent, Wire
from contract_tests.model import Ledger, Outcome
from contract_tests.target import Target

tenants = Bundle("tenants")
products = Bundle("products")
customers = Bundle("customers")
accounts = Bundle("accounts")


class MachineBase(RuleBasedStateMachine):
    """The machine's state and its one way to send a command; no rules of its own
    besides the state every example starts from."""

    tenants = tenants
    products = products
    customers = customers
    accounts = accounts

    # Bound per run (contract_tests.ledger.build_machine).
    target: ClassVar[Target]
    wire: ClassVar[Wire]
    checks: ClassVar[Checks]
    ext: ClassVar[Extensions]
    run_id: ClassVar[str]
    concurrency: ClassVar[int]
    serial: ClassVar[Iterator[int]]  # shared by every example of a run
    templates: ClassVar[list[str]]  # the product templates the target can take

    def __init__(self) -> None:
        super().__init__()
        self.model = Ledger()
        self.views: dict[str, TenantView] = {}
        # Tenants a command was sent to, in order: True when money may have moved.
        self.dirty: dict[str, bool] = {}
        self.accepted: list[AcceptedCommand] = []
        self.rejected_keys: dict[str, list[str]] = {}
        self.product_payloads: dict[tuple[str, str], dict[str, Any]] = {}
        self.customer_payloads: dict[str, list[dict[str, Any]]] = {}
        self.primary: str | None = None
        self.catalogue_refs: list[ProductRef] | None = None
        self.first_customers: list[CustomerRef] | None = None
        self.first_accounts: list[AccountRef] | None = None
        self.checked = 0  # steps verified so far
        self.made = {"tenants": 0, "products": 0, "customers": 0, "accounts": 0}
        # The ids the service made (customerId, accountId, entryId): "tenant/id".
        self.made_ids: dict[str, list[str]] = {}
        self.trail: list[str] = ["setup"]  # this example's steps, for the report
        self.checks.trail = self.trail

    # -- sending and checking commands ---------------------------------------

    def new_tenant_code(self) -> str:
        return f"CT_{self.run_id}_{next(self.serial)}"

    def serial_number(self) -> int:
        return next(self.serial)

    def laws(self) -> None:
        """The scripted laws (contract_tests.laws), on tenants of their own."""
        self.trail[:] = ["scripted laws"]
        run_laws(self, self.wire, self.checks, self.ext)

    def send(
        self,
        tenant: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        key_mode: str = "key",
        key: str | None = None,
        command_id: str | None = None,
        timestamp: str = TIMESTAMP,
        row: str | None = None,
        correlation: str | None = None,
    ) -> tuple[Outcome, Any]:
        """Send one command, check the reply against the model, fold it in.

        `row`: the row a wrong reply fails (default: the reply's own row);
        `correlation`: an X-Correlation-Id to send, which the reply must echo.
        """
        command_id = command_id or str(uuid.uuid4())
        if key is None and key_mode == "rejected" and self.rejected_keys.get(tenant):
            # A refused command is not remembered: its key may be used again.
            key = self.rejected_keys[tenant].pop()
        elif key is None and key_mode in ("key", "rejected"):
            key = f"ct-{uuid.uuid4().hex}"
        dedup = key if key is not None else command_id
        on = date.fromisoformat(timestamp[:10])
        outcome = self.model.expect(tenant, command_type, payload, dedup_key=dedup, on=on)
        headers = {"X-Correlation-Id": correlation} if correlation is not None else None
        sent = self.wire.command(
            tenant,
            command_type,
            payload,
            command_id=command_id,
            key=key,
            timestamp=timestamp,
            headers=headers,
        )
        self.touch(tenant, command_type, payload)
        body = self.check_reply(
            outcome, sent, tenant, command_type, command_id, row=row, correlation=correlation
        )
        if outcome.fresh:
            self.fold(tenant, command_type, payload, dedup, command_id, sent, body, key)
        elif outcome.status != 202 and key is not None:
            self.rejected_keys.setdefault(tenant, []).append(key)
        return outcome, body

    def touch(self, tenant: str, command_type: str, payload: dict[str, Any] | None = None) -> None:
        money = command_type in ("OpenAccount", "PostEntry")
        self.dirty[tenant] = self.dirty.get(tenant, False) or money
        if command_type == "PostEntry" and payload and not self.ext["tenant_stream"]:
            # Without the tenant stream, a refused entry is seen to write nothing on
            # the streams of the accounts it names.
            view = self.views.get(tenant)
            if view is not None:
                for posting in payload.get("legs") or []:
                    named = posting.get("accountId") if isinstance(posting, dict) else None
                    if named in self.model.tenants[tenant].accounts:
                        view.suspects.add(str(named))

    def check_reply(
        self,
        outcome: Outcome,
        sent: Sent,
        tenant: str,
        command_type: str,
        command_id: str,
        *,
        row: str | None = None,
        correlation: str | None = None,
    ) -> Any:
        law = row
        row = reply_row(outcome, command_type)
        problem, where = reply_problem(
            outcome, sent, tenant, command_type, command_id, self.ext, correlation
        )
        if problem is not None:
            self.checks.fail(
                law or where or row,
                f"{command_type} on {tenant}: expected {outcome.describe()}, got "
                f"{sent.summary()}: {problem}",
                sent.curl(),
            )
        self.checks.ok(row)
        if law is not None:
            self.checks.ok(law)
        for name in extension_rows(outcome, self.ext):
            self.checks.ok(name)
        return sent.json()

    def fold(
        self,
        tenant: str,
        command_type: str,
        payload: dict[str, Any],
        dedup: str,
        command_id: str,
        sent: Sent,
        body: Any,
        key: str | None,
        batch: list[Group] | None = None,
    ) -> None:
        events = self.model.apply(
            tenant,
            command_type,
            payload,
            dedup_key=dedup,
            command_id=command_id,
            reply=sent.response.content,
            result=reply_ids(body, command_type),
        )
        for name, value in reply_ids(body, command_type).items():
            if name != "tenantId" and name != "productCode":
                self.made_ids.setdefault(name, []).append(f"{tenant}/{value}")
        view = self.views.setdefault(tenant, TenantView())
        ids = list(body["eventIds"]) if self.ext["event_ids"] else None
        group = Group(command_id, ids, events, f"{command_type} {dedup}")
        if batch is None:
            view.batches.append([group])
        else:
            batch.append(group)
        self.accepted.append(AcceptedCommand(tenant, command_type, payload, key, command_id))

    # -- the state every example starts from -----------------------------------

    def ensure_primary(self) -> str:
        if self.primary is None:
            code = self.new_tenant_code()
            outcome, _ = self.send(code, "CreateTenant", tenant_payload(code))
            assert outcome.fresh
            self.primary = code
        return self.primary

    def ensure_catalogue(self) -> list[ProductRef]:
        if self.catalogue_refs is None:
            tenant = self.ensure_primary()
            self.catalogue_refs = []
            for template in self.templates:
                payload = product_payload(template, template)
                self.send(tenant, "UpsertProduct", payload)
                self.product_payloads[(tenant, template)] = payload
                self.catalogue_refs.append(ProductRef(tenant, template))
        return self.catalogue_refs

    def ensure_customers(self) -> list[CustomerRef]:
        if self.first_customers is None:
            tenant = self.ensure_primary()
            self.first_customers = []
            for ref in ("MEM-1", None):
                payload = customer_payload(next(self.serial), ref=ref and f"{ref}-{self.run_id}")
                _, body = self.send(tenant, "CreateCustomer", payload)
                self.customer_payloads.setdefault(tenant, []).append(payload)
                self.first_customers.append(CustomerRef(tenant, body["customerId"]))
        return self.first_customers

    def ensure_accounts(self) -> list[AccountRef]:
        if self.first_accounts is None:
            self.ensure_catalogue()
            customer = self.ensure_customers()[0]
            self.first_accounts = []
            for template, deposit, facility in FIRST_ACCOUNTS:
                payload: dict[str, Any] = {
                    "customerId": customer.customer_id,
                    "productCode": template,
                    "currency": "AUD",
                }
                if deposit is not None:
                    payload["initialDeposit"] = deposit
                if facility is not None and self.ext["facility_limit"]:
                    payload["facilityLimit"] = facility
                _, body = self.send(customer.tenant, "OpenAccount", payload)
                account_id = body["accountId"]
                self.first_accounts.append(AccountRef(customer.tenant, account_id))
        return self.first_accounts

    @initialize(target=tenants)
    def primary_tenant(self) -> TenantRef:
        return TenantRef(self.ensure_primary())

    @initialize(target=products)
    def catalogue(self) -> Any:
        return multiple(*self.ensure_catalogue())

    @initialize(target=customers)
    def first_members(self) -> Any:
        return multiple(*self.ensure_customers())

    @initialize(target=accounts)
    def opening_accounts(self) -> Any:
        return multiple(*self.ensure_accounts())
