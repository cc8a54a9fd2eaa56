from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.account_page import AccountPage
from ...models.error import Error
from ...models.list_accounts_account_type import ListAccountsAccountType
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    tenant_id: str,
    *,
    customer_id: str | Unset = UNSET,
    account_type: ListAccountsAccountType | Unset = ListAccountsAccountType.CUSTOMER,
    limit: int | Unset = 50,
    offset: int | Unset = 0,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["customerId"] = customer_id

    json_account_type: str | Unset = UNSET
    if not isinstance(account_type, Unset):
        json_account_type = account_type.value

    params["accountType"] = json_account_type

    params["limit"] = limit

    params["offset"] = offset


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/accounts".format(tenant_id=quote(str(tenant_id), safe=""),),
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AccountPage | Error | None:
    if response.status_code == 200:
        response_200 = AccountPage.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AccountPage | Error]:
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
    customer_id: str | Unset = UNSET,
    account_type: ListAccountsAccountType | Unset = ListAccountsAccountType.CUSTOMER,
    limit: int | Unset = 50,
    offset: int | Unset = 0,

) -> Response[AccountPage | Error]:
    """ List accounts

     One page of the tenant's accounts, in creation order, optionally
    filtered by customer. By default only members' accounts are listed (the
    published acceptance flow reads `accounts?limit=1` as a member's
    account); the extension parameter `accountType` selects the GL accounts
    (`GL`) or all of them (`ALL`, GL accounts first). `total` counts what
    the filters select, on every page; pages concatenate to the whole
    selection. `customerId` is matched exactly (ids are case-sensitive). An
    account's `balance` is the signed sum of the legs on it in its events,
    and its `lastSequence` the sequence of its latest event.

    Args:
        tenant_id (str):
        customer_id (str | Unset):
        account_type (ListAccountsAccountType | Unset):  Default:
            ListAccountsAccountType.CUSTOMER.
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountPage | Error]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
customer_id=customer_id,
account_type=account_type,
limit=limit,
offset=offset,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    customer_id: str | Unset = UNSET,
    account_type: ListAccountsAccountType | Unset = ListAccountsAccountType.CUSTOMER,
    limit: int | Unset = 50,
    offset: int | Unset = 0,

) -> AccountPage | Error | None:
    """ List accounts

     One page of the tenant's accounts, in creation order, optionally
    filtered by customer. By default only members' accounts are listed (the
    published acceptance flow reads `accounts?limit=1` as a member's
    account); the extension parameter `accountType` selects the GL accounts
    (`GL`) or all of them (`ALL`, GL accounts first). `total` counts what
    the filters select, on every page; pages concatenate to the whole
    selection. `customerId` is matched exactly (ids are case-sensitive). An
    account's `balance` is the signed sum of the legs on it in its events,
    and its `lastSequence` the sequence of its latest event.

    Args:
        tenant_id (str):
        customer_id (str | Unset):
        account_type (ListAccountsAccountType | Unset):  Default:
            ListAccountsAccountType.CUSTOMER.
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountPage | Error
     """


    return sync_detailed(
        tenant_id=tenant_id,
client=client,
customer_id=customer_id,
account_type=account_type,
limit=limit,
offset=offset,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    customer_id: str | Unset = UNSET,
    account_type: ListAccountsAccountType | Unset = ListAccountsAccountType.CUSTOMER,
    limit: int | Unset = 50,
    offset: int | Unset = 0,

) -> Response[AccountPage | Error]:
    """ List accounts

     One page of the tenant's accounts, in creation order, optionally
    filtered by customer. By default only members' accounts are listed (the
    published acceptance flow reads `accounts?limit=1` as a member's
    account); the extension parameter `accountType` selects the GL accounts
    (`GL`) or all of them (`ALL`, GL accounts first). `total` counts what
    the filters select, on every page; pages concatenate to the whole
    selection. `customerId` is matched exactly (ids are case-sensitive). An
    account's `balance` is the signed sum of the legs on it in its events,
    and its `lastSequence` the sequence of its latest event.

    Args:
        tenant_id (str):
        customer_id (str | Unset):
        account_type (ListAccountsAccountType | Unset):  Default:
            ListAccountsAccountType.CUSTOMER.
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountPage | Error]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
customer_id=customer_id,
account_type=account_type,
limit=limit,
offset=offset,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    customer_id: str | Unset = UNSET,
    account_type: ListAccountsAccountType | Unset = ListAccountsAccountType.CUSTOMER,
    limit: int | Unset = 50,
    offset: int | Unset = 0,

) -> AccountPage | Error | None:
    """ List accounts

     One page of the tenant's accounts, in creation order, optionally
    filtered by customer. By default only members' accounts are listed (the
    published acceptance flow reads `accounts?limit=1` as a member's
    account); the extension parameter `accountType` selects the GL accounts
    (`GL`) or all of them (`ALL`, GL accounts first). `total` counts what
    the filters select, on every page; pages concatenate to the whole
    selection. `customerId` is matched exactly (ids are case-sensitive). An
    account's `balance` is the signed sum of the legs on it in its events,
    and its `lastSequence` the sequence of its latest event.

    Args:
        tenant_id (str):
        customer_id (str | Unset):
        account_type (ListAccountsAccountType | Unset):  Default:
            ListAccountsAccountType.CUSTOMER.
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountPage | Error
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
client=client,
customer_id=customer_id,
account_type=account_type,
limit=limit,
offset=offset,

    )).parsed
