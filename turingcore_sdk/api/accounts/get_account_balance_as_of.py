from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.account_balance_as_of import AccountBalanceAsOf
from ...models.error import Error
from ...types import UNSET, Unset
from typing import cast
import datetime



def _get_kwargs(
    tenant_id: str,
    account_id: str,
    *,
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 100,
    after: int | Unset = 0,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["asOfSequence"] = as_of_sequence

    json_as_of_date: str | Unset = UNSET
    if not isinstance(as_of_date, Unset):
        json_as_of_date = as_of_date.isoformat()
    params["asOfDate"] = json_as_of_date

    params["limit"] = limit

    params["after"] = after


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/accounts/{account_id}/balance".format(tenant_id=quote(str(tenant_id), safe=""),account_id=quote(str(account_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AccountBalanceAsOf | Error | None:
    if response.status_code == 200:
        response_200 = AccountBalanceAsOf.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AccountBalanceAsOf | Error]:
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
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 100,
    after: int | Unset = 0,

) -> Response[AccountBalanceAsOf | Error]:
    """ An account's balance and events as of a point

     An extension (as-of reads). The account's balance and its events as of a
    sequence number (`asOfSequence`: every event with `sequence` <= it) or a
    booking date (`asOfDate`: every event booked on or before it; an
    `EntryPosted` by its `bookingDate`, any other event by the UTC date of
    `occurredAt`): the signed sum (DEBIT +, CREDIT -) of the account's legs
    in the `EntryPosted` and `FundsPosted` events counted (the mock keeps it
    as running figures written with each event, which `mock-core rebuild
    --check` verifies against the log). Exactly one of the two parameters (else 400 naming both).
    `events` is a page of `limit` of the counted events after `after`.

    Args:
        tenant_id (str):
        account_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 100.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountBalanceAsOf | Error]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
account_id=account_id,
as_of_sequence=as_of_sequence,
as_of_date=as_of_date,
limit=limit,
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
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 100,
    after: int | Unset = 0,

) -> AccountBalanceAsOf | Error | None:
    """ An account's balance and events as of a point

     An extension (as-of reads). The account's balance and its events as of a
    sequence number (`asOfSequence`: every event with `sequence` <= it) or a
    booking date (`asOfDate`: every event booked on or before it; an
    `EntryPosted` by its `bookingDate`, any other event by the UTC date of
    `occurredAt`): the signed sum (DEBIT +, CREDIT -) of the account's legs
    in the `EntryPosted` and `FundsPosted` events counted (the mock keeps it
    as running figures written with each event, which `mock-core rebuild
    --check` verifies against the log). Exactly one of the two parameters (else 400 naming both).
    `events` is a page of `limit` of the counted events after `after`.

    Args:
        tenant_id (str):
        account_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 100.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountBalanceAsOf | Error
     """


    return sync_detailed(
        tenant_id=tenant_id,
account_id=account_id,
client=client,
as_of_sequence=as_of_sequence,
as_of_date=as_of_date,
limit=limit,
after=after,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    account_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 100,
    after: int | Unset = 0,

) -> Response[AccountBalanceAsOf | Error]:
    """ An account's balance and events as of a point

     An extension (as-of reads). The account's balance and its events as of a
    sequence number (`asOfSequence`: every event with `sequence` <= it) or a
    booking date (`asOfDate`: every event booked on or before it; an
    `EntryPosted` by its `bookingDate`, any other event by the UTC date of
    `occurredAt`): the signed sum (DEBIT +, CREDIT -) of the account's legs
    in the `EntryPosted` and `FundsPosted` events counted (the mock keeps it
    as running figures written with each event, which `mock-core rebuild
    --check` verifies against the log). Exactly one of the two parameters (else 400 naming both).
    `events` is a page of `limit` of the counted events after `after`.

    Args:
        tenant_id (str):
        account_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 100.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountBalanceAsOf | Error]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
account_id=account_id,
as_of_sequence=as_of_sequence,
as_of_date=as_of_date,
limit=limit,
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
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 100,
    after: int | Unset = 0,

) -> AccountBalanceAsOf | Error | None:
    """ An account's balance and events as of a point

     An extension (as-of reads). The account's balance and its events as of a
    sequence number (`asOfSequence`: every event with `sequence` <= it) or a
    booking date (`asOfDate`: every event booked on or before it; an
    `EntryPosted` by its `bookingDate`, any other event by the UTC date of
    `occurredAt`): the signed sum (DEBIT +, CREDIT -) of the account's legs
    in the `EntryPosted` and `FundsPosted` events counted (the mock keeps it
    as running figures written with each event, which `mock-core rebuild
    --check` verifies against the log). Exactly one of the two parameters (else 400 naming both).
    `events` is a page of `limit` of the counted events after `after`.

    Args:
        tenant_id (str):
        account_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 100.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountBalanceAsOf | Error
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
account_id=account_id,
client=client,
as_of_sequence=as_of_sequence,
as_of_date=as_of_date,
limit=limit,
after=after,

    )).parsed
