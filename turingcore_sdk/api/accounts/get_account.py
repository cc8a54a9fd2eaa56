from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.account_summary import AccountSummary
from ...models.error import Error
from typing import cast



def _get_kwargs(
    tenant_id: str,
    account_id: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/accounts/{account_id}".format(tenant_id=quote(str(tenant_id), safe=""),account_id=quote(str(account_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AccountSummary | Error | None:
    if response.status_code == 200:
        response_200 = AccountSummary.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AccountSummary | Error]:
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

) -> Response[AccountSummary | Error]:
    """ Get an account

     An extension. The account with its current balance. GL accounts are addressed by their code.

    Args:
        tenant_id (str):
        account_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountSummary | Error]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
account_id=account_id,

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

) -> AccountSummary | Error | None:
    """ Get an account

     An extension. The account with its current balance. GL accounts are addressed by their code.

    Args:
        tenant_id (str):
        account_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountSummary | Error
     """


    return sync_detailed(
        tenant_id=tenant_id,
account_id=account_id,
client=client,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    account_id: str,
    *,
    client: AuthenticatedClient | Client,

) -> Response[AccountSummary | Error]:
    """ Get an account

     An extension. The account with its current balance. GL accounts are addressed by their code.

    Args:
        tenant_id (str):
        account_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AccountSummary | Error]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
account_id=account_id,

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

) -> AccountSummary | Error | None:
    """ Get an account

     An extension. The account with its current balance. GL accounts are addressed by their code.

    Args:
        tenant_id (str):
        account_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AccountSummary | Error
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
account_id=account_id,
client=client,

    )).parsed
