from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="OpenAccountPayload")



@_attrs_define
class OpenAccountPayload:
    """ Opens a member account. The customer and product must exist and be
    active, `currency` must be the tenant's base currency, and the initial
    deposit must respect the product's constraints (`minBalance`,
    `maxBalance`; for TERM_DEPOSIT also `minAmount`..`maxAmount`). Events:
    `AccountOpened`; `LoanFacilityCreated` for LOAN and CREDIT_CARD products;
    `FundsPosted` when `initialDeposit` > 0.

    LOAN and CREDIT_CARD accounts get a facility limit: `facilityLimit` if
    given, else the product's `constraints.maxAmount` (as published, a
    personal loan opens with no limit field); neither is 422
    `FACILITY_LIMIT_REQUIRED`, and a limit outside the product's
    `minAmount`..`maxAmount` (ends included) is 422
    `FACILITY_LIMIT_OUT_OF_RANGE`. Their balance then stays within
    `[-facilityLimit, 0]`.

        Attributes:
            customer_id (str):
            product_code (str): A product's code, unique per tenant.
            currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            account_alias (None | str | Unset):
            initial_deposit (float | None | Unset): When greater than zero, funded from `GL_INITIAL_DEPOSIT_CLEARING` (a
                `FundsPosted` event). Default 0.
            account_purpose (None | str | Unset):
            facility_limit (float | None | Unset): An extension: the credit limit of a LOAN or CREDIT_CARD account, instead
                of the product's `maxAmount`; within the product's
                `minAmount`..`maxAmount` (422 `FACILITY_LIMIT_OUT_OF_RANGE`). For a
                DEPOSIT or TERM_DEPOSIT product it is 422 `FACILITY_LIMIT_NOT_ALLOWED`.
     """

    customer_id: str
    product_code: str
    currency: str
    account_alias: None | str | Unset = UNSET
    initial_deposit: float | None | Unset = UNSET
    account_purpose: None | str | Unset = UNSET
    facility_limit: float | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        customer_id = self.customer_id

        product_code = self.product_code

        currency = self.currency

        account_alias: None | str | Unset
        if isinstance(self.account_alias, Unset):
            account_alias = UNSET
        else:
            account_alias = self.account_alias

        initial_deposit: float | None | Unset
        if isinstance(self.initial_deposit, Unset):
            initial_deposit = UNSET
        else:
            initial_deposit = self.initial_deposit

        account_purpose: None | str | Unset
        if isinstance(self.account_purpose, Unset):
            account_purpose = UNSET
        else:
            account_purpose = self.account_purpose

        facility_limit: float | None | Unset
        if isinstance(self.facility_limit, Unset):
            facility_limit = UNSET
        else:
            facility_limit = self.facility_limit


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "customerId": customer_id,
            "productCode": product_code,
            "currency": currency,
        })
        if account_alias is not UNSET:
            field_dict["accountAlias"] = account_alias
        if initial_deposit is not UNSET:
            field_dict["initialDeposit"] = initial_deposit
        if account_purpose is not UNSET:
            field_dict["accountPurpose"] = account_purpose
        if facility_limit is not UNSET:
            field_dict["facilityLimit"] = facility_limit

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        customer_id = d.pop("customerId")

        product_code = d.pop("productCode")

        currency = d.pop("currency")

        def _parse_account_alias(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account_alias = _parse_account_alias(d.pop("accountAlias", UNSET))


        def _parse_initial_deposit(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        initial_deposit = _parse_initial_deposit(d.pop("initialDeposit", UNSET))


        def _parse_account_purpose(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account_purpose = _parse_account_purpose(d.pop("accountPurpose", UNSET))


        def _parse_facility_limit(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        facility_limit = _parse_facility_limit(d.pop("facilityLimit", UNSET))


        open_account_payload = cls(
            customer_id=customer_id,
            product_code=product_code,
            currency=currency,
            account_alias=account_alias,
            initial_deposit=initial_deposit,
            account_purpose=account_purpose,
            facility_limit=facility_limit,
        )

        return open_account_payload

