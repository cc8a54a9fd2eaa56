from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error import Error
from ...models.event_page import EventPage
from ...models.event_type import EventType
from ...types import UNSET, Unset
from typing import cast



def _get_kwargs(
    tenant_id: str,
    *,
    after: int | Unset = 0,
    limit: int | Unset = 50,
    event_type: EventType | Unset = UNSET,
    entity_id: str | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    params["after"] = after

    params["limit"] = limit

    json_event_type: str | Unset = UNSET
    if not isinstance(event_type, Unset):
        json_event_type = event_type.value

    params["eventType"] = json_event_type

    params["entityId"] = entity_id


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/events".format(tenant_id=quote(str(tenant_id), safe=""),),
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
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 50,
    event_type: EventType | Unset = UNSET,
    entity_id: str | Unset = UNSET,

) -> Response[Error | EventPage]:
    """ List the tenant's events

     An extension (the tenant stream). The tenant's event stream in
    ascending `sequence`, optionally filtered by `eventType` and `entityId`.
    Unfiltered pages have no gaps, so the hash chain can be recomputed page
    by page.

    Args:
        tenant_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.
        event_type (EventType | Unset): The type of an event (all nine are published).
        entity_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | EventPage]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
after=after,
limit=limit,
event_type=event_type,
entity_id=entity_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 50,
    event_type: EventType | Unset = UNSET,
    entity_id: str | Unset = UNSET,

) -> Error | EventPage | None:
    """ List the tenant's events

     An extension (the tenant stream). The tenant's event stream in
    ascending `sequence`, optionally filtered by `eventType` and `entityId`.
    Unfiltered pages have no gaps, so the hash chain can be recomputed page
    by page.

    Args:
        tenant_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.
        event_type (EventType | Unset): The type of an event (all nine are published).
        entity_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | EventPage
     """


    return sync_detailed(
        tenant_id=tenant_id,
client=client,
after=after,
limit=limit,
event_type=event_type,
entity_id=entity_id,

    ).parsed

async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 50,
    event_type: EventType | Unset = UNSET,
    entity_id: str | Unset = UNSET,

) -> Response[Error | EventPage]:
    """ List the tenant's events

     An extension (the tenant stream). The tenant's event stream in
    ascending `sequence`, optionally filtered by `eventType` and `entityId`.
    Unfiltered pages have no gaps, so the hash chain can be recomputed page
    by page.

    Args:
        tenant_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.
        event_type (EventType | Unset): The type of an event (all nine are published).
        entity_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | EventPage]
     """


    kwargs = _get_kwargs(
        tenant_id=tenant_id,
after=after,
limit=limit,
event_type=event_type,
entity_id=entity_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    tenant_id: str,
    *,
    client: AuthenticatedClient | Client,
    after: int | Unset = 0,
    limit: int | Unset = 50,
    event_type: EventType | Unset = UNSET,
    entity_id: str | Unset = UNSET,

) -> Error | EventPage | None:
    """ List the tenant's events

     An extension (the tenant stream). The tenant's event stream in
    ascending `sequence`, optionally filtered by `eventType` and `entityId`.
    Unfiltered pages have no gaps, so the hash chain can be recomputed page
    by page.

    Args:
        tenant_id (str):
        after (int | Unset):  Default: 0.
        limit (int | Unset):  Default: 50.
        event_type (EventType | Unset): The type of an event (all nine are published).
        entity_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | EventPage
     """


    return (await asyncio_detailed(
        tenant_id=tenant_id,
client=client,
after=after,
limit=limit,
event_type=event_type,
entity_id=entity_id,

    )).parsed
