"""Every call the console makes to TuringCore, behind one small typed facade.

The pages never speak HTTP themselves: they call `CoreApi`, which calls the client
generated from the spec (`turingcore_sdk`, each operation's `sync_detailed`).
Replies are read from the JSON the service sent, not from the generated models,
because the console shows the raw envelopes and recomputes their hashes: a hash
covers the exact values served.

Errors, one tree:
    ApiError                 a reply in the contract's error shape
      Unauthenticated        401: no key, or an unknown key
      Forbidden              403: the key's scope does not hold the tenant
      NotFound               404: unknown tenant, customer or account
    NotOffered               the target does not offer this extension
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from turingcore_sdk import AuthenticatedClient
from turingcore_sdk.api.accounts import (
    get_account,
    get_trial_balance_as_of,
    list_account_events,
    list_accounts,
)
from turingcore_sdk.api.commands import submit_command
from turingcore_sdk.api.customers import get_customer, list_customers
from turingcore_sdk.api.events import list_events
from turingcore_sdk.api.products import list_products
from turingcore_sdk.api.tenants import get_tenant
from turingcore_sdk.models import EventType, ListAccountsAccountType, PostEntryCommand
from turingcore_sdk.types import UNSET
from turingcore_sdk.types import Response as SdkResponse

API_PREFIX = "/v1"
PAGE_MAX = 1000
REQUEST_TIMEOUT_S = 10.0
ACTOR = {"actorType": "USER", "actorId": "turingcore-console"}
IN_FLIGHT_RETRIES = 20
IN_FLIGHT_WAIT_S = 0.05


class ApiError(Exception):
    """A reply in the contract's error shape (`Error` or `InvariantViolation`)."""

    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        self.status = status
        self.code = str(body.get("invariant") or body.get("error") or f"HTTP_{status}")
        self.message = str(body.get("message") or "")
        self.details: Mapping[str, Any] = body.get("details") or {}
        super().__init__(f"{status} {self.code}: {self.message}")


class Unauthenticated(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class NotOffered(Exception):
    """The target answered as if it did not have this endpoint (an extension)."""


@dataclass(frozen=True)
class Page:
    """One page of a list read: its items and the list's total."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class EventPage:
    """Events in ascending sequence and the cursor after the last of them."""

    events: list[dict[str, Any]]
    next_cursor: int | None


@dataclass(frozen=True)
class Outcome:
    """What a command came to: `posted`, `replayed` or `refused` (with its code)."""

    outcome: str
    code: str | None = None
    message: str = ""
    details: Mapping[str, Any] | None = None
    reply: Mapping[str, Any] | None = None


def api_root(base_url: str) -> str:
    """The API's root URL: the service root with `/v1` added when it is missing."""
    root = base_url.rstrip("/")
    return root if root.endswith(API_PREFIX) else root + API_PREFIX


def service_root(base_url: str) -> str:
    """The service root, outside `/v1` (where a mock serves /metrics)."""
    root = api_root(base_url)
    return root[: -len(API_PREFIX)]


def _json(content: bytes) -> Any:
    try:
        return orjson.loads(content) if content else {}
    except orjson.JSONDecodeError:
        return {}


def _raise_for(status: int, content: bytes) -> None:
    """Raise the error a reply of `status` stands for (none below 400)."""
    if status < 400:
        return
    body = _json(content)
    kind = {401: Unauthenticated, 403: Forbidden, 404: NotFound}.get(status, ApiError)
    raise kind(status, body if isinstance(body, dict) else {})


def _not_offered_or(exc: NotFound, what: str) -> Exception:
    """A 404 naming what it did not find (`details`) is about the data; a bare one
    ("no such path") means the target does not have the endpoint."""
    return exc if exc.details else NotOffered(what)


class CoreApi:
    """TuringCore's public API as the console uses it, for one API key."""

    def __init__(
        self, base_url: str, api_key: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = api_root(base_url)
        self._sdk = AuthenticatedClient(
            base_url=self.base_url,
            token=api_key,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_S),
            httpx_args={"transport": transport} if transport is not None else {},
        )
        self._http = self._sdk.get_httpx_client()
        self._owns_transport = transport is None

    def close(self) -> None:
        """Close the connections; a transport given by the caller stays the caller's."""
        if self._owns_transport:
            self._http.close()

    # ------------------------------------------------------------------ reads

    def _call(self, operation: Any, *args: Any, **params: Any) -> SdkResponse[Any]:
        """One generated operation's `sync_detailed`, a None parameter not sent (not
        even the generated default: `accountType` defaults to CUSTOMER there);
        an error reply raised as ApiError. A reply the generated models cannot parse
        is a reply in no shape the spec allows: a 502 ApiError of its own."""
        given = {k: UNSET if v is None else v for k, v in params.items()}
        try:
            response = operation.sync_detailed(*args, client=self._sdk, **given)
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(502, {"error": "MALFORMED_REPLY", "message": str(exc)}) from exc
        _raise_for(int(response.status_code), response.content)
        return response

    def _read(self, operation: Any, *args: Any, **params: Any) -> Any:
        return _json(self._call(operation, *args, **params).content)

    def _read_raw(self, operation: Any, *args: Any, **params: Any) -> Any:
        """The operation's request as the generated code builds it (`_get_kwargs`), sent
        on the generated client's connection, its JSON read without the generated
        models. For event pages only: the models cost several times what the JSON
        itself costs (1,000 events: 8.9 vs 2.4 ms, bench/results/console-pages.md), and
        the console needs the JSON as served anyway, to recompute each hash."""
        given = {k: UNSET if v is None else v for k, v in params.items()}
        response = self._http.request(**operation._get_kwargs(*args, **given))
        _raise_for(response.status_code, response.content)
        return _json(response.content)

    def tenant(self, tenant_id: str) -> dict[str, Any]:
        """The tenant with `lastSequence` and `lastHash` (an extension)."""
        try:
            body: dict[str, Any] = self._read(get_tenant, tenant_id)
        except NotFound as exc:
            raise _not_offered_or(exc, "the tenant read") from exc
        return body

    def products(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every product of the tenant (an extension)."""
        try:
            body = self._read(list_products, tenant_id)
        except NotFound as exc:
            raise _not_offered_or(exc, "the product list") from exc
        return list(body.get("products", []))

    def customers(self, tenant_id: str, *, limit: int = 50, offset: int = 0) -> Page:
        """One page of customers, in creation order."""
        body = self._read(list_customers, tenant_id, limit=limit, offset=offset)
        return Page(body["customers"], int(body["total"]), limit, offset)

    def customer(self, tenant_id: str, customer_id: str) -> dict[str, Any]:
        """One customer (an extension); NotOffered without it."""
        try:
            body: dict[str, Any] = self._read(get_customer, tenant_id, customer_id)
        except NotFound as exc:
            raise _not_offered_or(exc, "the customer read") from exc
        return body

    def accounts(
        self,
        tenant_id: str,
        *,
        customer_id: str | None = None,
        account_type: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Page:
        """One page of accounts (members' by default; `GL` or `ALL` by `account_type`)."""
        try:
            body = self._read(
                list_accounts,
                tenant_id,
                customer_id=customer_id,
                account_type=ListAccountsAccountType(account_type) if account_type else None,
                limit=limit,
                offset=offset,
            )
        except ApiError as exc:
            if account_type and exc.status == 400:  # `accountType` is an extension
                raise NotOffered("the accountType filter") from exc
            raise
        return Page(body["accounts"], int(body.get("total", len(body["accounts"]))), limit, offset)

    def account(self, tenant_id: str, account_id: str) -> dict[str, Any]:
        """One account (an extension); NotOffered without it."""
        try:
            body: dict[str, Any] = self._read(get_account, tenant_id, account_id)
        except NotFound as exc:
            raise _not_offered_or(exc, "the account read") from exc
        return body

    def account_events(
        self,
        tenant_id: str,
        account_id: str,
        *,
        after: int = 0,
        offset: int = 0,
        limit: int = PAGE_MAX,
    ) -> EventPage:
        """The events that touched the account: with a sequence above `after` (the
        cursor is an extension, so it is sent only when above 0), skipping `offset`."""
        body = self._read_raw(
            list_account_events,
            tenant_id,
            account_id,
            after=after if after > 0 else None,
            offset=offset,
            limit=limit,
        )
        return EventPage(body["events"], body.get("nextCursor"))

    def events(
        self,
        tenant_id: str,
        *,
        after: int = 0,
        limit: int = PAGE_MAX,
        event_type: str | None = None,
    ) -> EventPage:
        """The tenant's stream after `after` (an extension); NotOffered without it."""
        try:
            body = self._read_raw(
                list_events,
                tenant_id,
                after=after,
                limit=limit,
                event_type=EventType(event_type) if event_type else None,
            )
        except NotFound as exc:
            raise _not_offered_or(exc, "the tenant event stream") from exc
        return EventPage(body["events"], body.get("nextCursor"))

    def trial_balance(self, tenant_id: str, as_of_sequence: int) -> dict[str, Any]:
        """The trial balance's totals at a sequence (an extension; one line is asked for,
        as every page carries the totals of every account); NotOffered without it."""
        try:
            body: dict[str, Any] = self._read(
                get_trial_balance_as_of, tenant_id, as_of_sequence=as_of_sequence, limit=1
            )
        except NotFound as exc:
            raise _not_offered_or(exc, "the trial balance") from exc
        except ApiError as exc:
            if isinstance(exc, (Forbidden, Unauthenticated)):
                raise
            raise NotOffered("the trial balance") from exc
        return body

    def metrics_text(self) -> str | None:
        """The target's Prometheus text at /metrics, or None where it has none."""
        try:
            response = self._http.get(service_root(self.base_url) + "/metrics")
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or "text/plain" not in response.headers.get(
            "content-type", ""
        ):
            return None
        return response.text

    # ---------------------------------------------------------------- writes

    def post_entry(
        self, tenant_id: str, payload: Mapping[str, Any], *, idempotency_key: str
    ) -> Outcome:
        """Submit one PostEntry with `idempotency_key`: posted, replayed or refused."""
        envelope = {
            "commandId": str(uuid.uuid4()),
            "tenantId": tenant_id,
            "commandType": "PostEntry",
            "actor": ACTOR,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "payload": dict(payload),
            "idempotencyKey": idempotency_key,
        }
        body_model = PostEntryCommand.from_dict(envelope)
        for attempt in range(IN_FLIGHT_RETRIES + 1):
            try:
                response = self._call(submit_command, tenant_id, body=body_model)
                break
            except (Unauthenticated, Forbidden, NotFound):
                raise
            except ApiError as exc:
                # The same key still being applied (a double click): once it is applied,
                # the same command is a replay.
                if exc.code != "COMMAND_IN_FLIGHT" or attempt == IN_FLIGHT_RETRIES:
                    return Outcome("refused", exc.code, exc.message, exc.details)
                time.sleep(IN_FLIGHT_WAIT_S)
        body = _json(response.content)
        # A replay is the first reply unchanged, so it names the first command's id; the
        # header saying so is an extension.
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true" or (
            isinstance(body, dict) and body.get("commandId") not in (None, envelope["commandId"])
        )
        return Outcome("replayed" if replayed else "posted", reply=body)
