from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error import Error
from ...models.event_page import EventPage
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    tenant_id: str,
    account_id: str,
    *,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: int | Unset = 0,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["limit"] = limit

    params["offset"] = offset

    params["after"] = after


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/accounts/{account_id}/events".format(tenant_id=quote(str(tenant_id), safe=""),account_id=quote(str(account_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | EventPage | None:
    if response.status_code == 200:
        response_200 = EventPage.from_dict(response.json())



        return response_200

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

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | EventPage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    account_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: int | Unset = 0,

) -> Response[Error | EventPage]:
    """ List an account's events

     The events that touched the account, in ascending `sequence`: those whose
    `entityId` is the account (`AccountOpened`, `LoanFacilityCreated`,
    `FundsPosted`, `AccountBalanceUpdated`) and every `EntryPosted` or
    `FundsPosted` with a leg on it. The account's balance equals the signed
    sum (DEBIT +, CREDIT -) of its legs in those `EntryPosted` and
    `FundsPosted` events. Pages of `limit` events (default 100, as
    published), skipping `offset`; the cursor `after` (an extension) may be
    combined with `offset`: the events with `sequence` > `after`, oldest
    first, skipping `offset` of them. `sequence` values are the tenant's, so
    they have gaps here; each event still carries the tenant chain's
    `prevHash` and `hash` (extensions).

    Args:
        tenant_id (str):
        account_id (str):
        limit (int | Unset):  Default: 100.
        offset (int | Unset):  Default: 0.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | EventPage]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
account_id=account_id,
limit=limit,
offset=offset,
after=after,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    tenant_id: str,
    account_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: int | Unset = 0,

) -> Error | EventPage | None:
    """ List an account's events

     The events that touched the account, in ascending `sequence`: those whose
    `entityId` is the account (`AccountOpened`, `LoanFacilityCreated`,
    `FundsPosted`, `AccountBalanceUpdated`) and every `EntryPosted` or
    `FundsPosted` with a leg on it. The account's balance equals the signed
    sum (DEBIT +, CREDIT -) of its legs in those `EntryPosted` and
    `FundsPosted` events. Pages of `limit` events (default 100, as
    published), skipping `offset`; the cursor `after` (an extension) may be
    combined with `offset`: the events with `sequence` > `after`, oldest
    first, skipping `offset` of them. `sequence` values are the tenant's, so
    they have gaps here; each event still carries the tenant chain's
    `prevHash` and `hash` (extensions).

    Args:
        tenant_id (str):
        account_id (str):
        limit (int | Unset):  Default: 100.
        offset (int | Unset):  Default: 0.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | EventPage
     """


    return sync_detailed(
        tenant_id=tenant_id,
account_id=account_id,
client=client,
limit=limit,
offset=offset,
after=after,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    account_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: int | Unset = 0,

) -> Response[Error | EventPage]:
    """ List an account's events

     The events that touched the account, in ascending `sequence`: those whose
    `entityId` is the account (`AccountOpened`, `LoanFacilityCreated`,
    `FundsPosted`, `AccountBalanceUpdated`) and every `EntryPosted` or
    `FundsPosted` with a leg on it. The account's balance equals the signed
    sum (DEBIT +, CREDIT -) of its legs in those `EntryPosted` and
    `FundsPosted` events. Pages of `limit` events (default 100, as
    published), skipping `offset`; the cursor `after` (an extension) may be
    combined with `offset`: the events with `sequence` > `after`, oldest
    first, skipping `offset` of them. `sequence` values are the tenant's, so
    they have gaps here; each event still carries the tenant chain's
    `prevHash` and `hash` (extensions).

    Args:
        tenant_id (str):
        account_id (str):
        limit (int | Unset):  Default: 100.
        offset (int | Unset):  Default: 0.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | EventPage]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
account_id=account_id,
limit=limit,
offset=offset,
after=after,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    tenant_id: str,
    account_id: str,
    *,
    client: AuthenticatedClient | Client,
    limit: int | Unset = 100,
    offset: int | Unset = 0,
    after: int | Unset = 0,

) -> Error | EventPage | None:
    """ List an account's events

     The events that touched the account, in ascending `sequence`: those whose
    `entityId` is the account (`AccountOpened`, `LoanFacilityCreated`,
    `FundsPosted`, `AccountBalanceUpdated`) and every `EntryPosted` or
    `FundsPosted` with a leg on it. The account's balance equals the signed
    sum (DEBIT +, CREDIT -) of its legs in those `EntryPosted` and
    `FundsPosted` events. Pages of `limit` events (default 100, as
    published), skipping `offset`; the cursor `after` (an extension) may be
    combined with `offset`: the events with `sequence` > `after`, oldest
    first, skipping `offset` of them. `sequence` values are the tenant's, so
    they have gaps here; each event still carries the tenant chain's
    `prevHash` and `hash` (extensions).

    Args:
        tenant_id (str):
        account_id (str):
        limit (int | Unset):  Default: 100.
        offset (int | Unset):  Default: 0.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | EventPage
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
account_id=account_id,
client=client,
limit=limit,
offset=offset,
after=after,

    )).parsed
