"""A reference model of TuringCore ledgers, written from docs/contract.md alone.

For every command the model predicts the reply the service must give (status,
error code, invariant code, or a replay of an earlier reply) and the events it
must append, and it folds accepted commands into balances. It knows nothing of
`mock_core`: where the service and the model disagree, one of them (or the
contract) is wrong, and the ledger suite reports it.

Money is integer minor units throughout (every tenant the suites create is in
AUD, two minor digits). Balances follow the contract's sign convention: a DEBIT
leg adds to an account's balance and a CREDIT leg subtracts.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from contract_tests.model_state import (
    CREDIT_PRODUCT_TYPES,
    INVARIANT_VIOLATION,
    SUPPORTED_CURRENCIES,
    UNSUPPORTED_CURRENCIES,
    Account,
    Customer,
    Exactly,
    ExpectedEvent,
    Outcome,
    Product,
    Record,
    TenantLedger,
    adult_age_years,
    age_on,
    bad_request,
    canonical,
    entry_changes,
    exactly,
    given,
    legs_per_entry_max,
    legs_per_entry_min,
    number_to_minor,
    refused,
    to_minor,
    to_number,
    valid_time_zone,
)
from turingcore_client.contract import gl_accounts, initial_deposit_account
from turingcore_client.payloads import CONSTRAINT_RANGES

__all__ = ["INVARIANT_VIOLATION", "Exactly", "ExpectedEvent", "Ledger", "Outcome"]
__all__ += ["TenantLedger", "canonical", "entry_changes", "number_to_minor", "to_minor"]


class Ledger:
    """Every tenant the suite has created, and what each command must do to them."""

    def __init__(self) -> None:
        self.tenants: dict[str, TenantLedger] = {}

    # -- prediction ------------------------------------------------------------------

    def expect(
        self,
        tenant_id: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        dedup_key: str,
        on: date,
    ) -> Outcome:
        """The reply `command_type` with `payload` must get on tenant `tenant_id`.

        `dedup_key` is the idempotencyKey, or the commandId when there is none; `on`
        is the date of the command's timestamp. Pure: nothing is changed.
        """
        invalid = self.validate(tenant_id, command_type, payload)
        if invalid is not None:
            return invalid
        tenant = self.tenants.get(tenant_id)
        if tenant is None and command_type != "CreateTenant":
            return Outcome(404, "NOT_FOUND")
        if tenant is not None:
            record = tenant.commands.get(dedup_key)
            if record is not None:
                if record.command_type == command_type and record.payload == canonical(payload):
                    return Outcome(202, replay_of=record)
                return refused("IDEMPOTENCY_KEY_REUSED")
        if command_type == "CreateTenant":
            return self._create_tenant(tenant, payload)
        assert tenant is not None
        handler = {
            "UpsertProduct": self._upsert_product,
            "CreateCustomer": self._create_customer,
            "OpenAccount": self._open_account,
            "PostEntry": self._post_entry,
        }[command_type]
        return handler(tenant, payload, on)

    def validate(
        self, tenant_id: str, command_type: str, payload: dict[str, Any]
    ) -> Outcome | None:
        """The 400 of a malformed command, for the shape errors the suites send."""
        if command_type == "CreateTenant" and payload.get("tenantCode") != tenant_id:
            return bad_request("TENANT_MISMATCH")
        if command_type == "OpenAccount":
            deposit = given(payload, "initialDeposit")
            if deposit is not None and to_minor(deposit, allow_zero=True) is None:
                return bad_request()
            facility = given(payload, "facilityLimit")
            if facility is not None and to_minor(facility) is None:
                return bad_request()
        if command_type == "PostEntry":
            legs = payload.get("legs", [])
            if not legs_per_entry_min <= len(legs) <= legs_per_entry_max:
                return bad_request()
            if any(to_minor(leg.get("amount")) is None for leg in legs):
                return bad_request()
        return None

    def _create_tenant(self, tenant: TenantLedger | None, p: dict[str, Any]) -> Outcome:
        if tenant is not None:
            return refused("TENANT_CODE_UNIQUE")
        assert p["baseCurrency"] in SUPPORTED_CURRENCIES | UNSUPPORTED_CURRENCIES
        if p["baseCurrency"] in UNSUPPORTED_CURRENCIES:
            return refused("CURRENCY_MUST_BE_SUPPORTED")
        if not valid_time_zone(p["timeZone"]):
            return refused("TIME_ZONE_MUST_BE_VALID")
        return Outcome(202, events=("TenantCreated",) + ("AccountOpened",) * len(gl_accounts()))

    def _upsert_product(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        rates = ("rate", "baseRate", "bonusRate", "purchaseRate", "cashAdvanceRate")
        interest = given(p, "interest") or {}
        if any(given(interest, name) is not None and interest[name] < 0 for name in rates):
            return refused("RATES_MUST_BE_NON_NEGATIVE")
        k = given(p, "constraints") or {}
        for low, high in CONSTRAINT_RANGES:
            lo, hi = given(k, low), given(k, high)
            if lo is not None and hi is not None and not lo < hi:
                return refused("MIN_MUST_BE_BELOW_MAX")
        if (given(k, "overdraftLimit") or 0) > 0 and given(k, "allowOverdraft") is not True:
            return refused("CONSTRAINTS_MUST_BE_CONSISTENT")
        default, options = given(k, "termMonthsDefault"), given(k, "termMonthsOptions")
        if default is not None and options is not None and default not in options:
            return refused("CONSTRAINTS_MUST_BE_CONSISTENT")
        created = p["productCode"] not in tenant.products
        return Outcome(202, events=("ProductCreated" if created else "ProductUpdated",))

    def _create_customer(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        person = p["person"]
        if age_on(date.fromisoformat(person["dateOfBirth"]), on) < adult_age_years:
            return refused("CUSTOMER_MUST_BE_ADULT")
        customers = tenant.customers.values()
        if any(c.email == person["email"].lower() for c in customers):
            return refused("CUSTOMER_EMAIL_UNIQUE")
        if any(c.mobile == person["mobile"] for c in customers):
            return refused("CUSTOMER_MOBILE_UNIQUE")
        ref = given(p, "externalRef")
        if ref is not None and any(c.external_ref == ref for c in customers):
            return refused("CUSTOMER_EXTERNAL_REF_UNIQUE")
        return Outcome(202, events=("CustomerCreated",))

    def _open_account(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        if p["customerId"] not in tenant.customers:
            return refused("CUSTOMER_MUST_EXIST")
        product = tenant.products.get(p["productCode"])
        if product is None:
            return refused("PRODUCT_MUST_EXIST")
        if not product.active:
            return refused("PRODUCT_MUST_BE_ACTIVE")
        if p["currency"] != tenant.base_currency:
            return refused("ACCOUNT_CURRENCY_MUST_MATCH_TENANT")
        credit = product.product_type in CREDIT_PRODUCT_TYPES
        facility = self.facility(product, p)
        if credit and facility is None:
            return refused("FACILITY_LIMIT_REQUIRED")
        if not credit and facility is not None:
            return refused("FACILITY_LIMIT_NOT_ALLOWED")
        if (
            credit
            and facility is not None
            and (
                (product.min_amount is not None and facility < product.min_amount)
                or (product.max_amount is not None and facility > product.max_amount)
            )
        ):
            return refused("FACILITY_LIMIT_OUT_OF_RANGE")
        deposit = to_minor(given(p, "initialDeposit") or 0, allow_zero=True) or 0
        if not credit:
            # The opening amount: at least minBalance for every deposit product, and
            # within minAmount..maxAmount for a term deposit.
            low = product.min_balance or 0
            high = None
            if product.product_type == "TERM_DEPOSIT":
                low = max(low, product.min_amount or 0)
                high = product.max_amount
            if deposit < low:
                return refused("INITIAL_DEPOSIT_BELOW_MINIMUM")
            if high is not None and deposit > high:
                return refused("INITIAL_DEPOSIT_ABOVE_MAXIMUM")
        if deposit > 0:
            # The new account's bounds hold from its first posting on.
            ceiling = 0 if credit else product.max_balance
            if ceiling is not None and deposit > ceiling:
                return refused("MAX_BALANCE_EXCEEDED")
        events = ["AccountOpened"]
        if credit:
            events.append("LoanFacilityCreated")
        if deposit > 0:
            events.append("FundsPosted")
        return Outcome(202, events=tuple(events))

    @staticmethod
    def facility(product: Product, p: dict[str, Any]) -> int | None:
        """A new account's facility limit: facilityLimit (an extension) if given, else,
        for a loan or card, the product's maxAmount."""
        asked = given(p, "facilityLimit")
        if asked is not None:
            return to_minor(asked)
        return product.max_amount if product.product_type in CREDIT_PRODUCT_TYPES else None

    def _post_entry(self, tenant: TenantLedger, p: dict[str, Any], on: date) -> Outcome:
        if p["valueDate"] < p["bookingDate"]:  # ISO dates order as strings
            return refused("VALUE_DATE_BEFORE_BOOKING_DATE")
        legs = p["legs"]
        if any((given(leg, "currency") or p["currency"]) != p["currency"] for leg in legs):
            return refused("LEGS_MUST_SHARE_CURRENCY")
        if any(leg["accountId"] not in tenant.accounts for leg in legs):
            return refused("ACCOUNT_MUST_EXIST")
        if any(tenant.accounts[leg["accountId"]].currency != p["currency"] for leg in legs):
            return refused("ENTRY_CURRENCY_MUST_MATCH_ACCOUNT")
        changes = entry_changes(legs)
        if sum(changes.values()) != 0:
            return refused("LEGS_MUST_BALANCE")
        breach = tenant.bound_breach(changes)
        if breach is not None:
            return refused(breach)
        return Outcome(202, events=("EntryPosted",) + ("AccountBalanceUpdated",) * len(changes))

    # -- application -----------------------------------------------------------------

    def apply(
        self,
        tenant_id: str,
        command_type: str,
        payload: dict[str, Any],
        *,
        dedup_key: str,
        command_id: str,
        reply: bytes,
        result: dict[str, Any],
    ) -> list[ExpectedEvent]:
        """Fold an accepted command in, with the ids the service made (`result`).

        Returns the events the service must have appended for it, in order.
        """
        if command_type == "CreateTenant":
            tenant = TenantLedger(tenant_id, payload["baseCurrency"])
            self.tenants[tenant_id] = tenant
            events = [ExpectedEvent("TenantCreated", tenant_id, dict(payload))]
            for code in gl_accounts():
                tenant.accounts[code] = Account(code, "GL", payload["baseCurrency"])
                events.append(ExpectedEvent("AccountOpened", code, _opened(tenant.accounts[code])))
            tenant.events += len(events)
        else:
            tenant = self.tenants[tenant_id]
            apply = {
                "UpsertProduct": self._apply_product,
                "CreateCustomer": self._apply_customer,
                "OpenAccount": self._apply_account,
                "PostEntry": self._apply_entry,
            }[command_type]
            events = apply(tenant, payload, result)
            tenant.events += len(events)
        tenant.commands[dedup_key] = Record(command_type, canonical(payload), reply, command_id)
        return events

    def _apply_product(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        created = p["productCode"] not in tenant.products
        tenant.products[p["productCode"]] = Product.from_payload(p)
        subset = {
            "productCode": p["productCode"],
            "productType": p["productType"],
            "name": p["name"],
        }
        event_type = "ProductCreated" if created else "ProductUpdated"
        return [ExpectedEvent(event_type, p["productCode"], subset)]

    def _apply_customer(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        customer_id = result["customerId"]
        person = p["person"]
        tenant.customers[customer_id] = Customer(
            customer_id, person["email"].lower(), person["mobile"], given(p, "externalRef")
        )
        subset = {
            "customerId": customer_id,
            "externalRef": given(p, "externalRef"),
            "person": _without_nulls(person),
        }
        return [ExpectedEvent("CustomerCreated", customer_id, subset)]

    def _apply_account(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        account_id = result["accountId"]
        product = tenant.products[p["productCode"]]
        facility = self.facility(product, p)
        deposit = to_minor(given(p, "initialDeposit") or 0, allow_zero=True) or 0
        account = Account(
            account_id,
            "CUSTOMER",
            p["currency"],
            p["customerId"],
            product.code,
            product.product_type,
            facility,
        )
        tenant.accounts[account_id] = account
        opened = _opened(account)
        opened.update(
            accountAlias=given(p, "accountAlias"), accountPurpose=given(p, "accountPurpose")
        )
        events = [ExpectedEvent("AccountOpened", account_id, opened)]
        if facility is not None:
            events.append(
                ExpectedEvent(
                    "LoanFacilityCreated",
                    account_id,
                    {
                        "accountId": account_id,
                        "facilityLimit": to_number(facility),
                        "currency": p["currency"],
                    },
                )
            )
        if deposit > 0:
            account.balance += deposit
            tenant.accounts[initial_deposit_account()].balance -= deposit
            amount = to_number(deposit)
            events.append(
                ExpectedEvent(
                    "FundsPosted",
                    account_id,
                    {
                        "accountId": account_id,
                        "currency": p["currency"],
                        "amount": amount,
                        "legs": [
                            {"accountId": account_id, "direction": "DEBIT", "amount": amount},
                            {
                                "accountId": initial_deposit_account(),
                                "direction": "CREDIT",
                                "amount": amount,
                            },
                        ],
                    },
                )
            )
        return events

    def _apply_entry(
        self, tenant: TenantLedger, p: dict[str, Any], result: dict[str, Any]
    ) -> list[ExpectedEvent]:
        entry_id = result["entryId"]
        changes = entry_changes(p["legs"])
        legs = [
            {
                "accountId": leg["accountId"],
                "direction": leg["direction"],
                "amount": to_number(to_minor(leg["amount"]) or 0),
            }
            for leg in p["legs"]
        ]
        events = [
            ExpectedEvent(
                "EntryPosted",
                entry_id,
                {
                    "entryId": entry_id,
                    "bookingDate": p["bookingDate"],
                    "valueDate": p["valueDate"],
                    "currency": p["currency"],
                    "legs": legs,
                    "narrative": p["narrative"],
                    "tags": exactly(given(p, "tags") or {}),
                    "metadata": exactly(given(p, "metadata") or {}),
                },
            )
        ]
        for account_id, change in changes.items():
            tenant.accounts[account_id].balance += change
            # The running balance depends on the order concurrent entries were applied
            # in, so it is checked against the fold of the stream, not predicted here.
            events.append(
                ExpectedEvent(
                    "AccountBalanceUpdated",
                    account_id,
                    {"accountId": account_id, "entryId": entry_id, "change": to_number(change)},
                )
            )
        return events


def _without_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v is not None}


def _opened(account: Account) -> dict[str, Any]:
    return {
        "accountId": account.account_id,
        "accountType": account.account_type,
        "customerId": account.customer_id,
        "productCode": account.product_code,
        "productType": account.product_type,
        "currency": account.currency,
    }
