"""The ledger machine's rules that make things: CreateTenant, UpsertProduct (and
updates of a product), CreateCustomer and OpenAccount, each with its valid and
invalid variants."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import multiple, precondition, rule

from contract_tests.ledger_commands import (
    TEMPLATES,
    AccountRef,
    CustomerRef,
    ProductRef,
    TenantRef,
    accounts_per_example_max,
    customer_payload,
    customers_per_example_max,
    product_payload,
    products_per_example_max,
    tenant_attempts_per_example_max,
    tenant_payload,
)
from contract_tests.ledger_machine import MachineBase, accounts, customers, products, tenants

# The variants of CreateCustomer and OpenAccount the rules draw from (a name twice: drawn
# twice as often).
CUSTOMER_VARIANTS = [
    "ok",
    "with_ref",
    "exactly_18",
    "under_age",
    "dup_email",
    "dup_mobile",
    "dup_ref",
    "dup_email_under_age",
]
ACCOUNT_VARIANTS = [
    "ok",
    "ok",
    "alias",
    "nulls",
    "no_facility",
    "facility_not_allowed",
    "facility_out_of_range",
    "deposit_below_min",
    "deposit_above_max",
    "deposit_above_term_max",
    "wrong_currency",
    "unknown_customer",
]


class SetupRules(MachineBase):
    """Tenants, products, customers and accounts, valid and not."""

    # -- CreateTenant -------------------------------------------------------------

    @precondition(lambda self: self.made["tenants"] < tenant_attempts_per_example_max)
    @rule(
        target=tenants,
        variant=st.sampled_from(["ok", "ok", "bad_currency", "bad_zone", "duplicate", "mismatch"]),
    )
    def create_tenant(self, variant: str) -> Any:
        self.made["tenants"] += 1
        self.trail.append(f"create_tenant({variant})")
        code = self.new_tenant_code()
        payload = tenant_payload(code)
        if variant == "bad_currency":
            payload["baseCurrency"] = "XXX"
        elif variant == "bad_zone":
            payload["timeZone"] = "Mars/Olympus_Mons"
        elif variant == "duplicate":
            code = self.ensure_primary()
            payload = tenant_payload(code) | {"displayName": "Again"}
        elif variant == "mismatch":
            payload["tenantCode"] = self.new_tenant_code()
        outcome, _ = self.send(code, "CreateTenant", payload)
        return TenantRef(code) if outcome.fresh else multiple()

    # -- UpsertProduct ------------------------------------------------------------

    # A rule only once bound to a run (`product_rule`): its templates depend on what
    # the target offers.
    def upsert_product(self, tenant: TenantRef, template: str, variant: str) -> Any:
        self.made["products"] += 1
        self.trail.append(f"upsert_product({template}, {variant})")
        code = f"{template}_{next(self.serial)}"
        payload = product_payload(code, template)
        credit = TEMPLATES[template][0] in ("LOAN", "CREDIT_CARD")
        limits: dict[str, Any]
        if variant == "negative_rate":
            payload["interest"] = {"rate": -0.01, "baseRate": 0.01}
        elif variant == "min_not_below_max":
            if credit:
                limits = {"minAmount": 3000, "maxAmount": 3000}
            else:
                limits = {"minBalance": 2000, "maxBalance": 1000}
            payload["constraints"] = limits
        elif variant == "inconsistent":
            if TEMPLATES[template][0] == "LOAN":
                limits = {"maxAmount": 9000, "termMonthsDefault": 18, "termMonthsOptions": [12]}
            else:  # an overdraft limit on a product that allows no overdraft
                limits = {"overdraftLimit": 50, "allowOverdraft": None}
            payload["constraints"] = limits
        outcome, _ = self.send(tenant.code, "UpsertProduct", payload)
        if not outcome.fresh:
            return multiple()
        self.product_payloads[(tenant.code, code)] = payload
        return ProductRef(tenant.code, code)

    def update_product(self, product: ProductRef, change: str) -> None:
        payload = dict(self.product_payloads[(product.tenant, product.code)])
        constraints = dict(payload.get("constraints") or {})
        credit = payload["productType"] in ("LOAN", "CREDIT_CARD")
        if change == "deactivate" and self.ext["product_active"]:
            payload["active"] = False
        elif change == "activate" and self.ext["product_active"]:
            payload["active"] = True
        elif change == "tighten" and not credit:
            # Existing accounts may now be outside their bounds; they may still
            # move back towards them.
            low = constraints.get("minBalance") or 0
            constraints.update(
                allowOverdraft=False, overdraftLimit=0, maxBalance=max(low + 50, 150)
            )
        elif change == "loosen" and not credit:
            constraints.update(allowOverdraft=True, overdraftLimit=500, maxBalance=100000)
        elif change in ("tighten", "loosen"):
            constraints.update(minAmount=1000, maxAmount=3000)
        if constraints:
            payload["constraints"] = constraints
        outcome, _ = self.send(product.tenant, "UpsertProduct", payload)
        if outcome.fresh:
            self.product_payloads[(product.tenant, product.code)] = payload

    # -- CreateCustomer -----------------------------------------------------------

    @precondition(lambda self: self.made["customers"] < customers_per_example_max)
    @rule(
        target=customers,
        tenant=tenants,
        data=st.data(),
        variant=st.sampled_from(CUSTOMER_VARIANTS),
    )
    def create_customer(self, tenant: TenantRef, data: st.DataObject, variant: str) -> Any:
        self.made["customers"] += 1
        self.trail.append(f"create_customer({variant})")
        n = next(self.serial)
        ref = f"REF-{self.run_id}-{n}" if variant in ("with_ref", "dup_ref") else None
        payload = customer_payload(n, ref=ref)
        person = payload["person"]
        existing = self.customer_payloads.get(tenant.code, [])
        if variant == "exactly_18":
            person["dateOfBirth"] = "2007-01-15"  # 18 on COMMAND_DATE: an adult
        elif variant == "under_age":
            person["dateOfBirth"] = "2007-01-16"  # 18 tomorrow
        elif variant.startswith("dup_") and existing:
            other = data.draw(st.sampled_from(existing))
            if variant.startswith("dup_email"):
                person["email"] = other["person"]["email"].upper()  # case-insensitive
                if variant.endswith("under_age"):
                    person["dateOfBirth"] = "2010-06-01"  # the age rule comes first
            elif variant == "dup_mobile":
                person["mobile"] = other["person"]["mobile"]
            elif variant == "dup_ref" and other.get("externalRef"):
                payload["externalRef"] = other["externalRef"]
        outcome, body = self.send(tenant.code, "CreateCustomer", payload)
        if not outcome.fresh:
            return multiple()
        self.customer_payloads.setdefault(tenant.code, []).append(payload)
        return CustomerRef(tenant.code, body["customerId"])

    # -- OpenAccount --------------------------------------------------------------

    @precondition(lambda self: self.made["accounts"] < accounts_per_example_max)
    @rule(
        target=accounts,
        customer=customers,
        product=products,
        data=st.data(),
        variant=st.sampled_from(ACCOUNT_VARIANTS),
    )
    def open_account(
        self, customer: CustomerRef, product: ProductRef, data: st.DataObject, variant: str
    ) -> Any:
        self.made["accounts"] += 1
        self.trail.append(f"open_account({variant})")
        facilities = self.ext["facility_limit"]
        if variant in ("facility_not_allowed", "facility_out_of_range") and not facilities:
            variant = "ok"  # only a facilityLimit asked for (an extension) reaches these
        wanted = {"deposit_below_min": "TERM", "deposit_above_term_max": "TERM"}
        wanted["no_facility"] = "LINE"
        if (customer.tenant, wanted.get(variant, "")) in self.product_payloads:
            # a product with a minimum, a maximum, or no maxAmount
            product = ProductRef(customer.tenant, wanted[variant])
        # Customer and product may belong to different tenants: the command then goes
        # to one of the two, where the other does not exist.
        tenant = data.draw(st.sampled_from(list(dict.fromkeys([customer.tenant, product.tenant]))))
        spec = self.product_payloads[(product.tenant, product.code)]
        k = spec.get("constraints") or {}
        kind = spec["productType"]
        credit = kind in ("LOAN", "CREDIT_CARD")
        low_d = 0
        payload: dict[str, Any] = {
            "customerId": customer.customer_id,
            "productCode": product.code,
            "currency": "AUD",
        }
        low_f, high_f = k.get("minAmount") or 100, k.get("maxAmount") or 50000
        if credit and variant != "no_facility" and facilities and data.draw(st.booleans()):
            payload["facilityLimit"] = data.draw(st.sampled_from([low_f, high_f]))
        if not credit:
            low_d = max(k.get("minBalance") or 0, k.get("minAmount") or 0)
            if kind != "TERM_DEPOSIT":
                low_d = k.get("minBalance") or 0
            if data.draw(st.booleans()) or low_d:
                payload["initialDeposit"] = data.draw(st.sampled_from([low_d, low_d + 40]))
        if variant == "alias":
            payload.update(accountAlias="Everyday", accountPurpose="Testing")
        elif variant == "nulls":  # an explicit null is an absent field
            payload.update(accountAlias=None, accountPurpose=None)
            if not payload.get("initialDeposit"):
                payload["initialDeposit"] = None
            if facilities and "facilityLimit" not in payload:
                payload["facilityLimit"] = None
        elif variant == "facility_not_allowed" and not credit:
            payload["facilityLimit"] = 1000
        elif variant == "facility_out_of_range" and credit:
            payload["facilityLimit"] = high_f + 0.01
        elif variant == "deposit_below_min" and low_d:
            payload["initialDeposit"] = round(low_d - 0.01, 2)
        elif variant == "deposit_above_term_max" and kind == "TERM_DEPOSIT":
            payload["initialDeposit"] = round((k.get("maxAmount") or 0) + 0.01, 2)
        elif variant == "deposit_above_max":
            top = k.get("maxBalance")
            payload["initialDeposit"] = round(top + 0.01, 2) if top is not None else 10
        elif variant == "wrong_currency":
            payload["currency"] = "NZD"
        elif variant == "unknown_customer":
            payload["customerId"] = str(uuid.uuid4())
        outcome, body = self.send(tenant, "OpenAccount", payload)
        if not outcome.fresh:
            return multiple()
        return AccountRef(tenant, body["accountId"])


def product_rule(templates: Sequence[str]) -> Any:
    """`SetupRules.upsert_product` as a rule drawing from `templates` (the ones the target
    can take), for `contract_tests.ledger.build_machine` to bind under the same name."""
    drawn = rule(
        target=products,
        tenant=tenants,
        template=st.sampled_from(sorted(templates)),
        variant=st.sampled_from(["ok", "ok", "negative_rate", "min_not_below_max", "inconsistent"]),
    )(SetupRules.upsert_product)
    return precondition(lambda self: self.made["products"] < products_per_example_max)(drawn)
