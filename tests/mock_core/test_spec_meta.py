"""The mock and the spec kept in step: error codes, examples, reply shapes."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from mock_core.errors import INVARIANT_VIOLATION, INVARIANTS, REQUEST_ERRORS
from tests.mock_core.conftest import Api
from tests.test_spec import SPEC, validator_for

GATEWAY = SPEC["paths"]["/tenants/{tenantId}/commands"]["post"]
REQUEST_EXAMPLES = GATEWAY["requestBody"]["content"]["application/json"]["examples"]
ACCEPTED_EXAMPLES = GATEWAY["responses"]["202"]["content"]["application/json"]["examples"]


def schema(name: str) -> Any:
    return SPEC["components"]["schemas"][name]


def test_every_request_error_code_is_in_the_spec_and_back() -> None:
    assert schema("Error")["properties"]["error"]["enum"] == list(REQUEST_ERRORS)


def test_every_invariant_is_in_the_spec_in_precedence_order_and_back() -> None:
    violation = schema("InvariantViolation")["properties"]
    assert violation["invariant"]["enum"] == list(INVARIANTS)
    assert violation["error"]["const"] == INVARIANT_VIOLATION


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
