from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error import Error
from ...models.trial_balance import TrialBalance
from ...types import UNSET, Unset
from typing import cast
import datetime



def _get_kwargs(
    tenant_id: str,
    *,
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 50,
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
        "url": "/tenants/{tenant_id}/trial-balance".format(tenant_id=quote(str(tenant_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Error | TrialBalance | None:
    if response.status_code == 200:
        response_200 = TrialBalance.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[Error | TrialBalance]:
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
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 50,
    after: int | Unset = 0,

) -> Response[Error | TrialBalance]:
    """ The tenant's trial balance as of a point

     An extension (as-of reads). Every account's balance as of a sequence
    number or a booking date (the same point as the account balance read:
    exactly one of `asOfSequence` and `asOfDate`, else 400 naming both),
    the sums of the log's `EntryPosted` and `FundsPosted` legs. Accounts
    opened by then, in opening order, and any account posted to by then,
    a page of `limit` lines at a time: the next page is asked for with
    `after` set to this page's `nextCursor`. The totals (`totalDebits`,
    `totalCredits`, `sum`, `postings`) are those of every account, on
    every page. Every entry balances, so `totalDebits` equals
    `totalCredits` and `sum` is 0.

    Args:
        tenant_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 50.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TrialBalance]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
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
    *,
    client: AuthenticatedClient | Client,
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 50,
    after: int | Unset = 0,

) -> Error | TrialBalance | None:
    """ The tenant's trial balance as of a point

     An extension (as-of reads). Every account's balance as of a sequence
    number or a booking date (the same point as the account balance read:
    exactly one of `asOfSequence` and `asOfDate`, else 400 naming both),
    the sums of the log's `EntryPosted` and `FundsPosted` legs. Accounts
    opened by then, in opening order, and any account posted to by then,
    a page of `limit` lines at a time: the next page is asked for with
    `after` set to this page's `nextCursor`. The totals (`totalDebits`,
    `totalCredits`, `sum`, `postings`) are those of every account, on
    every page. Every entry balances, so `totalDebits` equals
    `totalCredits` and `sum` is 0.

    Args:
        tenant_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 50.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TrialBalance
     """


    return sync_detailed(
        tenant_id=tenant_id,
client=client,
as_of_sequence=as_of_sequence,
as_of_date=as_of_date,
limit=limit,
after=after,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 50,
    after: int | Unset = 0,

) -> Response[Error | TrialBalance]:
    """ The tenant's trial balance as of a point

     An extension (as-of reads). Every account's balance as of a sequence
    number or a booking date (the same point as the account balance read:
    exactly one of `asOfSequence` and `asOfDate`, else 400 naming both),
    the sums of the log's `EntryPosted` and `FundsPosted` legs. Accounts
    opened by then, in opening order, and any account posted to by then,
    a page of `limit` lines at a time: the next page is asked for with
    `after` set to this page's `nextCursor`. The totals (`totalDebits`,
    `totalCredits`, `sum`, `postings`) are those of every account, on
    every page. Every entry balances, so `totalDebits` equals
    `totalCredits` and `sum` is 0.

    Args:
        tenant_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 50.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TrialBalance]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
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
    *,
    client: AuthenticatedClient | Client,
    as_of_sequence: int | Unset = UNSET,
    as_of_date: datetime.date | Unset = UNSET,
    limit: int | Unset = 50,
    after: int | Unset = 0,

) -> Error | TrialBalance | None:
    """ The tenant's trial balance as of a point

     An extension (as-of reads). Every account's balance as of a sequence
    number or a booking date (the same point as the account balance read:
    exactly one of `asOfSequence` and `asOfDate`, else 400 naming both),
    the sums of the log's `EntryPosted` and `FundsPosted` legs. Accounts
    opened by then, in opening order, and any account posted to by then,
    a page of `limit` lines at a time: the next page is asked for with
    `after` set to this page's `nextCursor`. The totals (`totalDebits`,
    `totalCredits`, `sum`, `postings`) are those of every account, on
    every page. Every entry balances, so `totalDebits` equals
    `totalCredits` and `sum` is 0.

    Args:
        tenant_id (str):
        as_of_sequence (int | Unset):
        as_of_date (datetime.date | Unset):
        limit (int | Unset):  Default: 50.
        after (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TrialBalance
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
client=client,
as_of_sequence=as_of_sequence,
as_of_date=as_of_date,
limit=limit,
after=after,

    )).parsed
