"""The ledger machine's rules on existing entities: entries valid and invalid,
transfers, product updates, replays, key reuse, concurrent entries and replays, and
reads across tenants, as one rule whose action is drawn evenly."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from contract_tests.ledger_commands import (
    AMOUNTS,
    COMMAND_DATE,
    ENTRY_VARIANTS,
    GL_LEGS,
    INVALID_ENTRIES,
    REPLAY_TIMESTAMP,
    AccountRef,
    CustomerRef,
    customer_payload,
    entry_payload,
    flip,
    leg,
    order_free,
    product_payload,
)
from contract_tests.ledger_replies import (
    AcceptedCommand,
    Group,
    TenantView,
    applied_copy,
    copies_problem,
    reply_problem,
    status_problem,
)
from contract_tests.ledger_rules_setup import SetupRules
from contract_tests.ledger_wire import send_at_once
from contract_tests.model import entry_changes


class MoneyRules(SetupRules):
    """Everything done to the entities the setup rules made."""

    # -- everything else: one rule, the action drawn evenly ----------------------

    # Hypothesis draws rules very unevenly over a few dozen examples (and turns
    # random subsets off per example), so the actions on existing entities are one
    # rule whose action is drawn from this list; the arguments come from the
    # bundles inside it. Entries come first and most often.
    ACTIONS = (
        "post_entry",
        "post_entry",
        "post_entry",
        "post_invalid_entry",
        "post_invalid_entry",
        "transfer",
        "transfer",
        "update_product",
        "replay",
        "reuse_key",
        "concurrent_entries",
        "concurrent_replays",
        "isolation",
    )

    @rule(data=st.data(), action=st.sampled_from(ACTIONS))
    def act(self, data: st.DataObject, action: str) -> None:
        self.trail.append(action)
        if action == "post_entry":
            self.entry(
                data.draw(self.accounts),
                None,
                data,
                data.draw(st.integers(2, 4)),
                data.draw(st.sampled_from(["small", "small", "medium", "large"])),
                data.draw(st.sampled_from(ENTRY_VARIANTS)),
                data.draw(st.sampled_from(["key", "key", "none", "rejected"])),
            )
        elif action == "post_invalid_entry":
            self.entry(
                data.draw(self.accounts),
                data.draw(self.accounts),
                data,
                2,
                data.draw(st.sampled_from(["small", "medium"])),
                data.draw(st.sampled_from(INVALID_ENTRIES)),
                data.draw(st.sampled_from(["key", "none"])),
            )
        elif action == "transfer":
            self.transfer(data.draw(self.accounts), data)
        elif action == "update_product":
            change = ["deactivate", "activate", "tighten", "loosen", "same"]
            self.update_product(data.draw(self.products), data.draw(st.sampled_from(change)))
        elif action == "replay" and self.accepted:
            self.replay_command(data.draw(st.sampled_from(self.accepted)))
        elif action == "reuse_key" and any(c.key is not None for c in self.accepted):
            keyed = [c for c in self.accepted if c.key is not None]
            self.reuse(data.draw(st.sampled_from(keyed)), data.draw(st.booleans()))
        elif action == "concurrent_entries":
            self.concurrent_entries(data.draw(self.accounts), data)
        elif action == "concurrent_replays":
            self.concurrent_replays(data.draw(self.accounts))
        elif action == "isolation":
            self.isolate(data.draw(self.accounts), data.draw(self.customers))

    def transfer(self, account: AccountRef, data: st.DataObject) -> None:
        """Money between two member accounts: overdrafts, maximums and facilities."""
        tenant = self.model.tenants[account.tenant]
        members = [a.account_id for a in tenant.customer_accounts()]
        payee = data.draw(st.sampled_from(members))
        amount = data.draw(st.sampled_from(AMOUNTS["medium"] + AMOUNTS["large"]))
        legs = [leg(account.account_id, "CREDIT", amount), leg(payee, "DEBIT", amount)]
        self.send(account.tenant, "PostEntry", entry_payload(legs))

    def entry(
        self,
        account: AccountRef,
        other: AccountRef | None,
        data: st.DataObject,
        n_legs: int,
        size: str,
        variant: str,
        key_mode: str,
    ) -> None:
        tenant = self.model.tenants[account.tenant]
        pool = [*GL_LEGS, *(a.account_id for a in tenant.customer_accounts())]
        amounts = st.sampled_from(AMOUNTS[size])
        direction = data.draw(st.sampled_from(["DEBIT", "CREDIT"]))
        legs = [leg(account.account_id, direction, data.draw(amounts))]
        for _ in range(n_legs - 2):
            legs.append(
                leg(
                    data.draw(st.sampled_from(pool)),
                    data.draw(st.sampled_from(["DEBIT", "CREDIT"])),
                    data.draw(amounts),
                )
            )
        net = sum(entry_changes(legs).values())
        last = data.draw(st.sampled_from(pool))
        if net != 0:
            legs.append(leg(last, "CREDIT" if net > 0 else "DEBIT", abs(net) / 100))
        extra: dict[str, Any] = {}
        if variant in ("explicit_leg_currency", "leg_currency") and not self.ext["leg_currency"]:
            variant = "tags" if variant == "explicit_leg_currency" else "unbalanced"
        if variant == "explicit_leg_currency":
            legs[0]["currency"] = "AUD"
        elif variant == "tags":
            extra.update(
                tags={"category": "INCOME", "source": "PAYROLL_SIM"},
                metadata={"scenarioId": "ledger-suite", "step": len(self.trail), "ok": True},
            )
        elif variant == "nulls":  # an explicit null is an absent field
            extra.update(tags=None, metadata=None)
        elif variant == "unbalanced":
            legs[-1]["amount"] = round(legs[-1]["amount"] + 0.01, 2)
        elif variant == "leg_currency":
            legs[-1]["currency"] = "NZD"
        elif variant == "entry_currency":
            extra["currency"] = "USD"
        elif variant == "value_date":
            extra["valueDate"] = "2025-01-14"
        elif variant == "foreign_account":
            # Another tenant's account is no account of this tenant.
            foreign = None
            if other is not None and other.tenant != account.tenant:
                foreign = other.account_id
            legs[-1]["accountId"] = foreign or str(uuid.uuid4())
        elif variant == "unknown_account":
            legs[0]["accountId"] = "GL_NO_SUCH_ACCOUNT"
        elif variant == "three_decimals":
            legs[0]["amount"] = 1.005
        elif variant == "zero_amount":
            legs[0]["amount"] = 0
        elif variant == "one_leg":
            legs = legs[:1]
        elif variant == "too_large":
            legs[0]["amount"] = 200_000_000_000  # above 100,000,000,000
        self.send(account.tenant, "PostEntry", entry_payload(legs, **extra), key_mode=key_mode)

    # -- idempotency --------------------------------------------------------------

    def replay_command(self, first: AcceptedCommand) -> None:
        self.send(
            first.tenant,
            first.command_type,
            first.payload,
            key=first.key,
            key_mode="none",
            # Without a key the commandId is the key, so it must stay the same.
            command_id=None if first.key is not None else first.command_id,
            timestamp=REPLAY_TIMESTAMP,
        )

    def reuse(self, first: AcceptedCommand, other_type: bool) -> None:
        command_type, payload = first.command_type, dict(first.payload)
        if other_type:
            alternative = "CreateCustomer" if command_type == "UpsertProduct" else "UpsertProduct"
            command_type = alternative
            if alternative == "UpsertProduct":
                payload = product_payload(f"REUSE_{next(self.serial)}", "TXN")
            else:
                payload = customer_payload(next(self.serial))
        elif command_type == "PostEntry":
            payload["narrative"] = "the same key, another entry"
        elif command_type == "CreateCustomer":
            payload["person"] = dict(payload["person"], firstName="Another")
        elif command_type == "OpenAccount":
            payload["accountAlias"] = "Another"
        elif command_type == "UpsertProduct":
            payload["name"] = "Another name"
        else:
            payload["displayName"] = "Another name"
        self.send(first.tenant, command_type, payload, key=first.key)

    # -- concurrency -------------------------------------------------------------------

    def concurrent_entries(self, account: AccountRef, data: st.DataObject) -> None:
        """K entries at once on the same two accounts, each valid in any order."""
        tenant = self.model.tenants[account.tenant]
        partners = [*GL_LEGS] + [
            a.account_id for a in tenant.customer_accounts() if a.account_id != account.account_id
        ]
        partner = data.draw(st.sampled_from(partners))
        pair = (account.account_id, partner)
        payloads = []
        for _ in range(self.concurrency):
            direction = data.draw(st.sampled_from(["DEBIT", "CREDIT"]))
            amount = data.draw(st.sampled_from(AMOUNTS["small"]))
            payloads.append(
                entry_payload(
                    [leg(pair[0], direction, amount), leg(pair[1], flip(direction), amount)]
                )
            )
        if not order_free(tenant, payloads):
            # Every entry moving the member account up is valid in any order unless it
            # is at its maximum; two GL accounts have no bounds at all.
            payloads = [
                entry_payload([leg(pair[0], "DEBIT", 0.01), leg(pair[1], "CREDIT", 0.01)])
                for _ in range(self.concurrency)
            ]
            if not order_free(tenant, payloads):
                pair = ("GL_SUSPENSE", "GL_FEES")
                payloads = [
                    entry_payload([leg(pair[0], "DEBIT", 1), leg(pair[1], "CREDIT", 1)])
                    for _ in range(self.concurrency)
                ]
        keys = [f"ct-{uuid.uuid4().hex}" for _ in payloads]
        ids = [str(uuid.uuid4()) for _ in payloads]
        outcomes = [
            self.model.expect(account.tenant, "PostEntry", p, dedup_key=k, on=COMMAND_DATE)
            for p, k in zip(payloads, keys, strict=True)
        ]
        assert all(outcome.fresh for outcome in outcomes), outcomes  # by construction
        replies = send_at_once(
            self.target,
            self.wire,
            [
                (account.tenant, "PostEntry", payload, key, command_id)
                for payload, key, command_id in zip(payloads, keys, ids, strict=True)
            ],
        )
        self.touch(account.tenant, "PostEntry")
        batch: list[Group] = []
        view = self.views.setdefault(account.tenant, TenantView())
        for index, (payload, key, command_id, sent, outcome) in enumerate(
            zip(payloads, keys, ids, replies, outcomes, strict=True)
        ):
            problem, where = reply_problem(
                outcome, sent, account.tenant, "PostEntry", command_id, self.ext
            )
            if problem is not None:
                self.checks.fail(
                    where or "concurrency",
                    f"{self.concurrency} concurrent entries on {pair[0]} and {pair[1]}, each "
                    f"valid in any order: reply {index + 1} was {sent.summary()}: {problem}",
                    sent.curl(),
                )
            self.fold(
                account.tenant,
                "PostEntry",
                payload,
                key,
                command_id,
                sent,
                sent.json(),
                key,
                batch,
            )
        view.batches.append(batch)
        self.checks.ok("concurrency")

    def concurrent_replays(self, account: AccountRef) -> None:
        """K copies of one command with one key at once: applied exactly once."""
        tenant = self.model.tenants[account.tenant]
        payload = entry_payload(
            [leg(account.account_id, "DEBIT", 0.01), leg("GL_SUSPENSE", "CREDIT", 0.01)]
        )
        if not order_free(tenant, [payload]):
            payload = entry_payload(
                [leg("GL_FEES", "DEBIT", 0.01), leg("GL_SUSPENSE", "CREDIT", 0.01)]
            )
        key = f"ct-{uuid.uuid4().hex}"
        expected = self.model.expect(
            account.tenant, "PostEntry", payload, dedup_key=key, on=COMMAND_DATE
        )
        assert expected.fresh, expected  # by construction
        ids = [str(uuid.uuid4()) for _ in range(self.concurrency)]
        replies = send_at_once(
            self.target, self.wire, [(account.tenant, "PostEntry", payload, key, i) for i in ids]
        )
        self.touch(account.tenant, "PostEntry")
        fresh = [
            (command_id, sent)
            for command_id, sent in zip(ids, replies, strict=True)
            if applied_copy(sent, command_id)
        ]
        if len(fresh) != 1:
            self.checks.fail(
                "concurrent_replay",
                f"{self.concurrency} copies of one PostEntry with key {key} sent at once: "
                f"{len(fresh)} were applied, not exactly one (replies: "
                f"{', '.join(sent.summary()[:40] for sent in replies)})",
                replies[0].curl(),
            )
        first_id, first = fresh[0]
        problem = copies_problem(first, replies, self.ext)
        if problem is not None:
            self.checks.fail(
                "concurrent_replay",
                f"{self.concurrency} copies of one PostEntry with key {key} sent at once: "
                f"{problem}",
                replies[0].curl(),
            )
        reply, where = reply_problem(
            expected, first, account.tenant, "PostEntry", first_id, self.ext
        )
        self.checks.check(where or "concurrent_replay", reply, first.curl())
        self.fold(account.tenant, "PostEntry", payload, key, first_id, first, first.json(), key)

    # -- tenant isolation ---------------------------------------------------------

    def isolate(self, account: AccountRef, customer: CustomerRef) -> None:
        t = account.tenant
        scoped = [(s, k) for s, k in sorted(self.target.scoped_keys.items()) if s != t]
        if scoped:
            scope, key = scoped[0]
            reads = (
                (f"/tenants/{t}", "tenant_read"),
                (f"/tenants/{t}/products", "product_read"),
                (f"/tenants/{t}/customers", None),
                (f"/tenants/{t}/accounts", None),
                (f"/tenants/{t}/accounts/{account.account_id}", "account_read"),
                (f"/tenants/{t}/accounts/{account.account_id}/events", None),
                (f"/tenants/{t}/events", "tenant_stream"),
            )
            for path, needs in reads:
                if needs is not None and not self.ext[needs]:
                    continue  # an extension the target does not offer
                sent = self.wire.get(path, api_key=key)
                self.checks.check(
                    "tenant_isolation",
                    status_problem(sent, 403, "FORBIDDEN", f"a key scoped to {scope}"),
                    sent.curl(),
                )
            legs = [leg("GL_FEES", "DEBIT", 1), leg("GL_SUSPENSE", "CREDIT", 1)]
            sent = self.wire.command(
                t,
                "PostEntry",
                entry_payload(legs),
                command_id=str(uuid.uuid4()),
                key=None,
                api_key=key,
            )
            self.touch(t, "PostEntry", entry_payload(legs))  # and nothing may be written
            self.checks.check(
                "tenant_isolation",
                status_problem(sent, 403, "FORBIDDEN", f"a key scoped to {scope}"),
                sent.curl(),
            )
        others = [u for u in self.model.tenants if u != t]
        if others:
            u = others[0]
            paths = [f"/tenants/{u}/accounts/{account.account_id}/events"]
            if self.ext["account_read"]:
                paths.append(f"/tenants/{u}/accounts/{account.account_id}")
            if customer.tenant != u and self.ext["customer_read"]:
                paths.append(f"/tenants/{u}/customers/{customer.customer_id}")
            for path in paths:
                sent = self.wire.get(path)
                self.checks.check(
                    "tenant_isolation",
                    status_problem(sent, 404, "NOT_FOUND", f"another tenant's id on {u}"),
                    sent.curl(),
                )
        unknown = f"CT_{self.run_id}_NONE"
        sent = self.wire.get(f"/tenants/{unknown}/accounts")
        self.checks.check(
            "NOT_FOUND", status_problem(sent, 404, "NOT_FOUND", "unknown tenant"), sent.curl()
        )
        legs = [leg("GL_FEES", "DEBIT", 1), leg("GL_SUSPENSE", "CREDIT", 1)]
        self.send(unknown, "PostEntry", entry_payload(legs))
