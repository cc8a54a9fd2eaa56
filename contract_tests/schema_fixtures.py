"""The schema suite's fixtures: the state it seeds before Schemathesis runs (the spec's
example command sequence, re-addressed to a fresh tenant), and `CaseShaper`, which
points generated cases at those real entities so they reach the service's logic.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from random import Random
from typing import Any

import httpx
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

from contract_tests.extensions import Extensions
from contract_tests.results import CheckRow, SuiteResult, curl_command
from contract_tests.target import Target
from turingcore_client.contract import gl_accounts


@dataclass
class Fixtures:
    """The state the suite seeds before Schemathesis runs, and what it points cases at."""

    tenant_id: str
    base_currency: str = "AUD"
    customer_ids: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)
    gl_account_ids: list[str] = field(default_factory=list)
    product_codes: list[str] = field(default_factory=list)
    # ids that appear in the spec's examples -> the ids the service made for this run
    substitutions: dict[str, str] = field(default_factory=dict)
    example_tenant: str | None = None


def seed_fixtures(
    client: httpx.Client,
    spec: Mapping[str, Any],
    tenant_id: str,
    target: Target,
    result: SuiteResult | None = None,
    extensions: Extensions | None = None,
) -> Fixtures:
    """Run the spec's runnable example sequence against a fresh tenant and keep the ids.

    Each example command is re-addressed to `tenant_id`, with the ids of earlier examples
    replaced by the ones the service returned (the examples' own instructions). A
    refused example is a non-conformance, recorded in the `example-sequence` row.
    """
    fixtures = Fixtures(tenant_id)
    operation = spec["paths"]["/tenants/{tenantId}/commands"]["post"]
    requests = operation["requestBody"]["content"]["application/json"].get("examples", {})
    replies = (
        operation.get("responses", {})
        .get("202", {})
        .get("content", {})
        .get("application/json", {})
        .get("examples", {})
    )
    row = result.row("example-sequence") if result is not None else CheckRow("schema", "x")
    for name, example in requests.items():
        command = copy.deepcopy(example.get("value", {}))
        if not isinstance(command, dict):
            continue
        fixtures.example_tenant = fixtures.example_tenant or command.get("tenantId")
        command = rewrite_command(command, tenant_id, fixtures.substitutions)
        url = f"/v1/tenants/{tenant_id}/commands"
        reply = client.post(url, json=command)
        ok = reply.status_code == 202
        row.record(
            ok,
            None if ok else f"example {name!r} got {reply.status_code}: {reply.text[:300]}",
            None
            if ok
            else curl_command(
                "POST",
                public_url(target, target.base_url + url),
                {**target.headers(), **_JSON},
                command,
            ),
        )
        try:
            made = reply_ids(reply.json()) if reply.is_success else None
        except ValueError:
            made = None
        if not made:
            continue
        documented = reply_ids(replies.get(f"{name}Accepted", {}).get("value", {}))
        for key in ("customerId", "accountId", "entryId"):
            if key in made and key in documented:
                fixtures.substitutions[str(documented[key])] = str(made[key])
        if "customerId" in made:
            fixtures.customer_ids.append(made["customerId"])
        if "accountId" in made:
            fixtures.account_ids.append(made["accountId"])
        if "productCode" in made:
            fixtures.product_codes.append(made["productCode"])
        if command.get("commandType") == "CreateTenant":
            fixtures.base_currency = command["payload"].get("baseCurrency", "AUD")
    fixtures.gl_account_ids = list(gl_accounts())  # the chart every tenant opens
    if extensions is None or extensions["account_type"]:
        gl = client.get(
            f"/v1/tenants/{tenant_id}/accounts", params={"accountType": "GL", "limit": 100}
        )
        if gl.status_code == 200:
            fixtures.gl_account_ids = [a["accountId"] for a in gl.json().get("accounts", [])]
    return fixtures


_REPLY_IDS = ("tenantId", "productCode", "customerId", "accountId", "entryId")


def reply_ids(reply: Any) -> dict[str, Any]:
    """The ids a 202 names: at its top level (published), else in `result` (ours)."""
    if not isinstance(reply, dict):
        return {}
    result = reply.get("result")
    if not isinstance(result, dict):
        result = {}
    ids = {}
    for key in _REPLY_IDS:
        value = reply.get(key, result.get(key))
        if value is not None:
            ids[key] = value
    return ids


_JSON = {"Content-Type": "application/json"}


def rewrite_command(
    command: dict[str, Any], tenant_id: str, substitutions: Mapping[str, str]
) -> dict[str, Any]:
    """A command re-addressed to `tenant_id`, with known example ids substituted."""
    command = _substitute(command, substitutions)
    command["tenantId"] = tenant_id
    payload = command.get("payload")
    if command.get("commandType") == "CreateTenant" and isinstance(payload, dict):
        payload["tenantCode"] = tenant_id
    return command


def _substitute(value: Any, substitutions: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return substitutions.get(value, value)
    if isinstance(value, dict):
        return {k: _substitute(v, substitutions) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, substitutions) for v in value]
    return value


# --- aiming generated cases at real entities ---------------------------------------------


EXACTLY_ONE = "x-turingcore-exactly-one-of"


def exactly_one(operation: Any, query: Any, rng: Random) -> Any:
    """A positive query with exactly one of the operation's `x-turingcore-exactly-one-of`
    parameters (a rule no parameter schema can say): one of those given is kept, or the
    spec's value for one is added when none is."""
    names = operation.get(EXACTLY_ONE) if isinstance(operation, dict) else None
    if not isinstance(names, dict) or not names:
        return query
    query = dict(query or {})
    given = sorted(name for name in names if name in query)
    keep = rng.choice(given) if given else rng.choice(sorted(names))
    for name in names:
        if name != keep:
            query.pop(name, None)
    query.setdefault(keep, names[keep])
    return query


class CaseShaper:
    """A `map_case` hook that points most positive cases at the seeded entities.

    The choices come from one RNG seeded with the run's seed, drawn in the order
    Schemathesis generates cases. Components that were generated negative are left alone:
    their violation is the point of the case.
    """

    # How often a valid id is replaced by a seeded one, and by one that does not exist.
    AIM = 0.7
    UNKNOWN = 0.15

    def __init__(self, fixtures: Fixtures, seed: int) -> None:
        self.fixtures = fixtures
        self.rng = Random(seed)

    def __call__(self, context: Any, case: Any) -> Any:
        meta = case.meta
        rng = self.rng
        examples = meta is not None and meta.phase.name == TestPhase.EXAMPLES
        path_ok = meta is None or not meta.is_negative_at(ParameterLocation.PATH)
        if path_ok and case.path_parameters:
            case.path_parameters = self._path(dict(case.path_parameters), rng, examples)
        if meta is None or not meta.is_negative_at(ParameterLocation.QUERY):
            query = exactly_one(case.operation.definition.raw, case.query, rng)
            case.query = self._query(query, rng) if query else query
        body_ok = meta is None or not meta.is_negative_at(ParameterLocation.BODY)
        if path_ok and body_ok and isinstance(case.body, dict):
            case.body = self._command(copy.deepcopy(case.body), case.path_parameters, rng, examples)
        return case

    def examples(self, context: Any, examples: list[Any]) -> None:
        """The `before_add_examples` hook: the examples phase does not run `map_case`."""
        for index, case in enumerate(examples):
            examples[index] = self(context, case)

    def _path(self, params: dict[str, Any], rng: Random, examples: bool) -> dict[str, Any]:
        """Seeded ids mostly, sometimes ids that exist nowhere (the 404 paths), and the rest
        as Schemathesis generated them."""
        fx = self.fixtures
        if "tenantId" in params:
            params["tenantId"] = (
                fx.tenant_id if examples else self._pick(rng, fx.tenant_id, params["tenantId"])
            )
        if "customerId" in params:
            seeded = rng.choice(fx.customer_ids) if fx.customer_ids else None
            params["customerId"] = self._pick(rng, seeded, params["customerId"])
        if "accountId" in params:
            params["accountId"] = self._pick(rng, self._account(rng), params["accountId"])
        return params

    def _pick(self, rng: Random, seeded: str | None, generated: Any) -> Any:
        roll = rng.random()
        if roll < self.AIM and seeded is not None:
            return seeded
        if roll < self.AIM + self.UNKNOWN:
            return f"CT_UNKNOWN_{rng.getrandbits(32):08X}"  # valid as any id, and never made
        return generated

    def _account(self, rng: Random) -> str | None:
        """A seeded account: a member account more often than a GL one (their balances
        move with the examples' entries, and their events include FundsPosted)."""
        fx = self.fixtures
        pool = fx.account_ids if fx.account_ids and rng.random() < 0.7 else fx.gl_account_ids
        return rng.choice(pool) if pool else None

    def _query(self, query: dict[str, Any], rng: Random) -> dict[str, Any]:
        fx = self.fixtures
        if isinstance(query.get("customerId"), str) and fx.customer_ids and rng.random() < 0.5:
            query["customerId"] = rng.choice(fx.customer_ids)
        ids = fx.customer_ids + fx.account_ids + [fx.tenant_id]
        if isinstance(query.get("entityId"), str) and rng.random() < 0.5:
            query["entityId"] = rng.choice(ids)
        return query

    def _command(
        self, body: dict[str, Any], path: Mapping[str, Any], rng: Random, examples: bool
    ) -> dict[str, Any]:
        fx = self.fixtures
        tenant = path.get("tenantId")
        if not isinstance(tenant, str):
            return body
        if examples:
            return rewrite_command(body, tenant, fx.substitutions)
        body["tenantId"] = tenant
        payload = body.get("payload")
        if not isinstance(payload, dict):
            return body
        kind = body.get("commandType")
        if kind == "CreateTenant":
            payload["tenantCode"] = tenant
        if tenant != fx.tenant_id:
            return body
        # Make some commands on the seeded tenant pass the invariants, so the 202 path and
        # the reads after it are fuzzed too, not only the refusals.
        if kind == "OpenAccount":
            if fx.customer_ids and rng.random() < self.AIM:
                payload["customerId"] = rng.choice(fx.customer_ids)
            if fx.product_codes and rng.random() < self.AIM:
                payload["productCode"] = rng.choice(fx.product_codes)
            if rng.random() < self.AIM:
                payload["currency"] = fx.base_currency
        elif kind == "PostEntry":
            accounts = fx.account_ids + fx.gl_account_ids
            legs = payload.get("legs")
            if rng.random() < self.AIM:
                payload["currency"] = fx.base_currency
            if isinstance(legs, list) and accounts:
                for leg in legs:
                    if isinstance(leg, dict) and rng.random() < self.AIM:
                        leg["accountId"] = rng.choice(accounts)
                        leg.pop("currency", None)
                if rng.random() < 0.5:
                    _balance_legs(legs)
        return body


def _balance_legs(legs: list[Any]) -> None:
    """Make debits equal credits by turning the legs into one balanced pair of amounts."""
    if len(legs) < 2 or not all(isinstance(leg, dict) for leg in legs):
        return
    amount = legs[0].get("amount")
    if not isinstance(amount, int | float) or amount <= 0:
        return
    for index, leg in enumerate(legs):
        leg["amount"] = amount if index < 2 else leg.get("amount")
    legs[0]["direction"], legs[1]["direction"] = "DEBIT", "CREDIT"
    debits = sum(leg["amount"] for leg in legs[2:] if leg.get("direction") == "DEBIT")
    credits = sum(leg["amount"] for leg in legs[2:] if leg.get("direction") == "CREDIT")
    if debits != credits:
        del legs[2:]


def public_url(target: Target, url: str) -> str:
    """In-process requests go to http://testserver; show them against `mock-core serve`."""
    if target.app is not None:
        url = url.replace(target.base_url, "http://127.0.0.1:8080", 1)
    return url
