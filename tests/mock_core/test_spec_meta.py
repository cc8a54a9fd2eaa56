"""The mock and the spec kept in step: error codes, examples, reply shapes."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mock_core import contract
from mock_core.errors import INVARIANT_VIOLATION, INVARIANTS, REQUEST_ERRORS
from tests.mock_core.conftest import Api
from tests.test_spec import SPEC, validator_for

GATEWAY = SPEC["paths"]["/tenants/{tenantId}/commands"]["post"]
REQUEST_EXAMPLES = GATEWAY["requestBody"]["content"]["application/json"]["examples"]
ACCEPTED_EXAMPLES = GATEWAY["responses"]["202"]["content"]["application/json"]["examples"]


def schema(name: str) -> Any:
    return SPEC["components"]["schemas"][name]


def test_the_mock_serves_by_the_codes_of_the_spec_it_ships() -> None:
    """The mock reads its codes from the packaged spec; that is this file's spec."""
    assert schema("Error")["properties"]["error"]["enum"] == list(REQUEST_ERRORS)
    violation = schema("InvariantViolation")["properties"]
    assert violation["invariant"]["enum"] == list(INVARIANTS)
    assert violation["error"]["const"] == INVARIANT_VIOLATION


def test_each_error_status_is_the_one_the_error_table_gives() -> None:
    """`x-turingcore-status` (data) and the table in `Error.description` (prose) agree."""
    table = re.findall(r"^\| (\d{3}) \| `([A-Z_]+)` \|", schema("Error")["description"], re.M)
    assert {code: int(status) for status, code in table} == REQUEST_ERRORS


def _broken(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    document = copy.deepcopy(SPEC)
    mutate(document)
    return document


def _schemas(document: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


BROKEN_CONTRACTS: dict[str, Callable[[dict[str, Any]], None]] = {
    "no GL chart": lambda d: _schemas(d).pop("GLAccountCode"),
    "a GL code twice": lambda d: _schemas(d)["GLAccountCode"]["enum"].append("GL_FEES"),
    "a deposit account outside the chart": lambda d: _schemas(d)["GLAccountCode"].update(
        {"x-turingcore-initial-deposit-account": "GL_NOWHERE"}
    ),
    "an error code without a status": lambda d: _schemas(d)["Error"]["properties"]["error"][
        "x-turingcore-status"
    ].pop("NOT_FOUND"),
    "an invariant twice": lambda d: _schemas(d)["InvariantViolation"]["properties"]["invariant"][
        "enum"
    ].append(INVARIANTS[0]),
}


@pytest.mark.parametrize("mutate", BROKEN_CONTRACTS.values(), ids=BROKEN_CONTRACTS.keys())
def test_a_spec_missing_or_contradicting_the_contracts_data_is_refused(
    mutate: Callable[[dict[str, Any]], None],
) -> None:
    assert contract.read(SPEC).invariants == INVARIANTS  # the shipped spec reads
    with pytest.raises(contract.ContractError):
        contract.read(_broken(mutate))


def _schema_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _conforms(name: str, body: Any) -> None:
    errors = sorted(validator_for(_schema_ref(name)).iter_errors(body), key=str)
    assert not errors, f"{name}: {[e.message for e in errors[:5]]}"


def test_every_command_example_in_the_spec_is_accepted_by_the_mock(client: TestClient) -> None:
    """Run the spec's examples in order; ids the server makes replace the examples' ids."""
    api = Api(client)
    substitutions: dict[str, str] = {}
    for name, example in REQUEST_EXAMPLES.items():
        text = json.dumps(example["value"])
        for example_id, real_id in substitutions.items():
            text = text.replace(example_id, real_id)
        body = json.loads(text)
        reply = client.post(
            f"/v1/tenants/{body['tenantId']}/commands", json=body, headers=api.headers()
        )
        assert reply.status_code == 202, f"example {name}: {reply.text}"
        _conforms("CommandAccepted", reply.json())
        accepted = ACCEPTED_EXAMPLES.get(f"{name}Accepted")
        if accepted is not None:
            # The ids at the top of the reply, where the published client reads them.
            for field in ("customerId", "accountId"):
                if field in accepted["value"]:
                    substitutions[accepted["value"][field]] = reply.json()[field]
    assert len(substitutions) >= 4, "the examples should chain a customer and its accounts"


def test_query_replies_conform_to_the_spec(client: TestClient, ledger: dict[str, str]) -> None:
    api = Api(client)
    api.post_entry([("GL_SALARY_CLEARING", "CREDIT", 3000), (ledger["txn"], "DEBIT", 3000)])
    t = "/tenants/CU_DIGITAL"
    for path, schema in (
        (t, "Tenant"),
        (f"{t}/products", "ProductList"),
        (f"{t}/customers", "CustomerPage"),
        (f"{t}/customers/{ledger['customer']}", "Customer"),
        (f"{t}/accounts", "AccountPage"),
        (f"{t}/accounts/{ledger['card']}", "AccountSummary"),
        (f"{t}/accounts/{ledger['txn']}/events", "EventPage"),
        (f"{t}/events?limit=1000", "EventPage"),
    ):
        reply = api.get(path)
        assert reply.status_code == 200, reply.text
        _conforms(schema, reply.json())


def test_error_replies_conform_to_the_spec(client: TestClient, ledger: dict[str, str]) -> None:
    api = Api(client)
    unbalanced = api.post_entry([(ledger["txn"], "CREDIT", 1), ("GL_FEES", "DEBIT", 2)])
    assert unbalanced.status_code == 422
    _conforms("InvariantViolation", unbalanced.json())
    for reply in (
        api.send("CU_DIGITAL", "PostEntry", {"legs": []}),
        client.get("/v1/tenants/CU_DIGITAL"),
        api.get("/tenants/CU_DIGITAL/accounts/nope"),
        api.get("/tenants/CU_DIGITAL/customers", limit=0),
    ):
        assert 400 <= reply.status_code < 500
        _conforms("Error", reply.json())
