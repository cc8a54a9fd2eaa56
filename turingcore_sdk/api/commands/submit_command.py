from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.command_accepted import CommandAccepted
from ...models.create_customer_command import CreateCustomerCommand
from ...models.create_tenant_command import CreateTenantCommand
from ...models.error import Error
from ...models.invariant_violation import InvariantViolation
from ...models.open_account_command import OpenAccountCommand
from ...models.post_entry_command import PostEntryCommand
from ...models.upsert_product_command import UpsertProductCommand
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    tenant_id: str,
    *,
    body: CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand | UpsertProductCommand,
    x_correlation_id: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_correlation_id, Unset):
        headers["X-Correlation-Id"] = x_correlation_id



    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/commands".format(tenant_id=quote(str(tenant_id), safe=""),),
    }

    
    if isinstance(body, CreateTenantCommand):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, UpsertProductCommand):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, CreateCustomerCommand):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, OpenAccountCommand):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body.to_dict()


    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CommandAccepted | Error | InvariantViolation | None:
    if response.status_code == 202:
        response_202 = CommandAccepted.from_dict(response.json())



        return response_202

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())



        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())



        return response_404

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())



        return response_409

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())



        return response_415

    if response.status_code == 422:
        response_422 = InvariantViolation.from_dict(response.json())



        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CommandAccepted | Error | InvariantViolation]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand | UpsertProductCommand,
    x_correlation_id: str | Unset = UNSET,

) -> Response[CommandAccepted | Error | InvariantViolation]:
    """ Submit a command

     The only write path. A request can fail on its key (401, 403), its body
    (400, 413, 415) or its tenant (404: the path tenant does not exist; not
    for `CreateTenant`, whose path `tenantId` is the new `tenantCode`). A
    well-formed command is then looked up by idempotency key (a replay
    returns the first 202), and its invariants are checked in the order
    listed in `InvariantViolation` (422). On success the events are appended
    and the projections updated in one transaction, and the reply is a 202.

    The envelope's `tenantId` (and, for `CreateTenant`, `payload.tenantCode`)
    must equal the path's `tenantId`, else 400 `TENANT_MISMATCH`. This rule
    relates two parts of the request, which a JSON Schema cannot express: a
    request valid against the schemas below can still get this 400.

    Schema-valid commands may also get a 422 (`InvariantViolation`): the
    ledger's invariants depend on state the schema cannot see (an account or
    customer that does not exist yet, an overdraft, a duplicate email, a tenant
    code taken). Tenant codes, account ids, customer ids and idempotency keys
    are case-sensitive; an idempotency key is scoped to its tenant (the same
    key in two tenants names two commands).

    The 202 reply carries the id of what the command made at the top level
    (`customerId`, `accountId`, ...), where the published client reads it.

    The request body examples form one runnable sequence against an empty
    service. Their payloads are the published examples, verbatim, in the
    published order, plus two account openings of ours (the savings account
    the published transfer needs, and a personal loan opened with no limit
    field). Ids that the service generates (customer, account and entry
    ids; the published placeholders `cust_123456`, `ACC_123_TXN`,
    `ACC_123_SAVINGS`) must be replaced by the ids from the earlier replies;
    each example's description names them, and the values shown are those
    of the 202 examples (`<name>Accepted`).

    Args:
        tenant_id (str):
        x_correlation_id (str | Unset):
        body (CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand
            | UpsertProductCommand): A command. `commandType` selects the payload schema. Unknown
            fields
            anywhere are a 400 `VALIDATION_ERROR` naming the field, except inside the
            free-form maps `fees`, `tags`, `metadata`, `interest.bonusConditions` and
            `creditCriteria`. An explicit `null` in an optional field means the field
            is absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CommandAccepted | Error | InvariantViolation]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
body=body,
x_correlation_id=x_correlation_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand | UpsertProductCommand,
    x_correlation_id: str | Unset = UNSET,

) -> CommandAccepted | Error | InvariantViolation | None:
    """ Submit a command

     The only write path. A request can fail on its key (401, 403), its body
    (400, 413, 415) or its tenant (404: the path tenant does not exist; not
    for `CreateTenant`, whose path `tenantId` is the new `tenantCode`). A
    well-formed command is then looked up by idempotency key (a replay
    returns the first 202), and its invariants are checked in the order
    listed in `InvariantViolation` (422). On success the events are appended
    and the projections updated in one transaction, and the reply is a 202.

    The envelope's `tenantId` (and, for `CreateTenant`, `payload.tenantCode`)
    must equal the path's `tenantId`, else 400 `TENANT_MISMATCH`. This rule
    relates two parts of the request, which a JSON Schema cannot express: a
    request valid against the schemas below can still get this 400.

    Schema-valid commands may also get a 422 (`InvariantViolation`): the
    ledger's invariants depend on state the schema cannot see (an account or
    customer that does not exist yet, an overdraft, a duplicate email, a tenant
    code taken). Tenant codes, account ids, customer ids and idempotency keys
    are case-sensitive; an idempotency key is scoped to its tenant (the same
    key in two tenants names two commands).

    The 202 reply carries the id of what the command made at the top level
    (`customerId`, `accountId`, ...), where the published client reads it.

    The request body examples form one runnable sequence against an empty
    service. Their payloads are the published examples, verbatim, in the
    published order, plus two account openings of ours (the savings account
    the published transfer needs, and a personal loan opened with no limit
    field). Ids that the service generates (customer, account and entry
    ids; the published placeholders `cust_123456`, `ACC_123_TXN`,
    `ACC_123_SAVINGS`) must be replaced by the ids from the earlier replies;
    each example's description names them, and the values shown are those
    of the 202 examples (`<name>Accepted`).

    Args:
        tenant_id (str):
        x_correlation_id (str | Unset):
        body (CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand
            | UpsertProductCommand): A command. `commandType` selects the payload schema. Unknown
            fields
            anywhere are a 400 `VALIDATION_ERROR` naming the field, except inside the
            free-form maps `fees`, `tags`, `metadata`, `interest.bonusConditions` and
            `creditCriteria`. An explicit `null` in an optional field means the field
            is absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CommandAccepted | Error | InvariantViolation
     """


    return sync_detailed(
        tenant_id=tenant_id,
client=client,
body=body,
x_correlation_id=x_correlation_id,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand | UpsertProductCommand,
    x_correlation_id: str | Unset = UNSET,

) -> Response[CommandAccepted | Error | InvariantViolation]:
    """ Submit a command

     The only write path. A request can fail on its key (401, 403), its body
    (400, 413, 415) or its tenant (404: the path tenant does not exist; not
    for `CreateTenant`, whose path `tenantId` is the new `tenantCode`). A
    well-formed command is then looked up by idempotency key (a replay
    returns the first 202), and its invariants are checked in the order
    listed in `InvariantViolation` (422). On success the events are appended
    and the projections updated in one transaction, and the reply is a 202.

    The envelope's `tenantId` (and, for `CreateTenant`, `payload.tenantCode`)
    must equal the path's `tenantId`, else 400 `TENANT_MISMATCH`. This rule
    relates two parts of the request, which a JSON Schema cannot express: a
    request valid against the schemas below can still get this 400.

    Schema-valid commands may also get a 422 (`InvariantViolation`): the
    ledger's invariants depend on state the schema cannot see (an account or
    customer that does not exist yet, an overdraft, a duplicate email, a tenant
    code taken). Tenant codes, account ids, customer ids and idempotency keys
    are case-sensitive; an idempotency key is scoped to its tenant (the same
    key in two tenants names two commands).

    The 202 reply carries the id of what the command made at the top level
    (`customerId`, `accountId`, ...), where the published client reads it.

    The request body examples form one runnable sequence against an empty
    service. Their payloads are the published examples, verbatim, in the
    published order, plus two account openings of ours (the savings account
    the published transfer needs, and a personal loan opened with no limit
    field). Ids that the service generates (customer, account and entry
    ids; the published placeholders `cust_123456`, `ACC_123_TXN`,
    `ACC_123_SAVINGS`) must be replaced by the ids from the earlier replies;
    each example's description names them, and the values shown are those
    of the 202 examples (`<name>Accepted`).

    Args:
        tenant_id (str):
        x_correlation_id (str | Unset):
        body (CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand
            | UpsertProductCommand): A command. `commandType` selects the payload schema. Unknown
            fields
            anywhere are a 400 `VALIDATION_ERROR` naming the field, except inside the
            free-form maps `fees`, `tags`, `metadata`, `interest.bonusConditions` and
            `creditCriteria`. An explicit `null` in an optional field means the field
            is absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CommandAccepted | Error | InvariantViolation]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
body=body,
x_correlation_id=x_correlation_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand | UpsertProductCommand,
    x_correlation_id: str | Unset = UNSET,

) -> CommandAccepted | Error | InvariantViolation | None:
    """ Submit a command

     The only write path. A request can fail on its key (401, 403), its body
    (400, 413, 415) or its tenant (404: the path tenant does not exist; not
    for `CreateTenant`, whose path `tenantId` is the new `tenantCode`). A
    well-formed command is then looked up by idempotency key (a replay
    returns the first 202), and its invariants are checked in the order
    listed in `InvariantViolation` (422). On success the events are appended
    and the projections updated in one transaction, and the reply is a 202.

    The envelope's `tenantId` (and, for `CreateTenant`, `payload.tenantCode`)
    must equal the path's `tenantId`, else 400 `TENANT_MISMATCH`. This rule
    relates two parts of the request, which a JSON Schema cannot express: a
    request valid against the schemas below can still get this 400.

    Schema-valid commands may also get a 422 (`InvariantViolation`): the
    ledger's invariants depend on state the schema cannot see (an account or
    customer that does not exist yet, an overdraft, a duplicate email, a tenant
    code taken). Tenant codes, account ids, customer ids and idempotency keys
    are case-sensitive; an idempotency key is scoped to its tenant (the same
    key in two tenants names two commands).

    The 202 reply carries the id of what the command made at the top level
    (`customerId`, `accountId`, ...), where the published client reads it.

    The request body examples form one runnable sequence against an empty
    service. Their payloads are the published examples, verbatim, in the
    published order, plus two account openings of ours (the savings account
    the published transfer needs, and a personal loan opened with no limit
    field). Ids that the service generates (customer, account and entry
    ids; the published placeholders `cust_123456`, `ACC_123_TXN`,
    `ACC_123_SAVINGS`) must be replaced by the ids from the earlier replies;
    each example's description names them, and the values shown are those
    of the 202 examples (`<name>Accepted`).

    Args:
        tenant_id (str):
        x_correlation_id (str | Unset):
        body (CreateCustomerCommand | CreateTenantCommand | OpenAccountCommand | PostEntryCommand
            | UpsertProductCommand): A command. `commandType` selects the payload schema. Unknown
            fields
            anywhere are a 400 `VALIDATION_ERROR` naming the field, except inside the
            free-form maps `fees`, `tags`, `metadata`, `interest.bonusConditions` and
            `creditCriteria`. An explicit `null` in an optional field means the field
            is absent.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CommandAccepted | Error | InvariantViolation
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
client=client,
body=body,
x_correlation_id=x_correlation_id,

    )).parsed
