from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.account_summary_status import AccountSummaryStatus
from ..models.account_type import AccountType
from ..models.product_type import ProductType
from ..types import UNSET, Unset
from typing import cast
import datetime






T = TypeVar("T", bound="AccountSummary")



@_attrs_define
class AccountSummary:
    """ An account and its balance (`sum(debits) - sum(credits)`; negative for
    what is owed on LOAN and CREDIT_CARD accounts). As published:
    `accountId, customerId, productCode, accountAlias, balance, currency,
    status, openedAt`. `tenantId`, `accountType`, `productType`,
    `facilityLimit`, `accountPurpose` and `lastSequence` are extensions. GL
    accounts have null customerId, productCode, productType and
    facilityLimit.

        Attributes:
            account_id (str):
            customer_id (None | str):
            product_code (None | str):
            account_alias (None | str):
            balance (float): The current balance, in major units with the currency's minor digits; may be negative.
            currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            status (AccountSummaryStatus):
            opened_at (datetime.datetime):
            tenant_id (str | Unset): A tenant's code, which is also its tenantId.
            account_type (AccountType | Unset): `CUSTOMER` for member accounts, `GL` for the general-ledger accounts opened
                with the tenant.
            product_type (None | ProductType | Unset):
            facility_limit (float | None | Unset): The credit limit of a LOAN or CREDIT_CARD account, else null.
            account_purpose (None | str | Unset):
            last_sequence (int | Unset): The `sequence` of the latest event that touched the account.
     """

    account_id: str
    customer_id: None | str
    product_code: None | str
    account_alias: None | str
    balance: float
    currency: str
    status: AccountSummaryStatus
    opened_at: datetime.datetime
    tenant_id: str | Unset = UNSET
    account_type: AccountType | Unset = UNSET
    product_type: None | ProductType | Unset = UNSET
    facility_limit: float | None | Unset = UNSET
    account_purpose: None | str | Unset = UNSET
    last_sequence: int | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        account_id = self.account_id

        customer_id: None | str
        customer_id = self.customer_id

        product_code: None | str
        product_code = self.product_code

        account_alias: None | str
        account_alias = self.account_alias

        balance = self.balance

        currency = self.currency

        status = self.status.value

        opened_at = self.opened_at.isoformat()

        tenant_id = self.tenant_id

        account_type: str | Unset = UNSET
        if not isinstance(self.account_type, Unset):
            account_type = self.account_type.value


        product_type: None | str | Unset
        if isinstance(self.product_type, Unset):
            product_type = UNSET
        elif isinstance(self.product_type, ProductType):
            product_type = self.product_type.value
        else:
            product_type = self.product_type

        facility_limit: float | None | Unset
        if isinstance(self.facility_limit, Unset):
            facility_limit = UNSET
        else:
            facility_limit = self.facility_limit

        account_purpose: None | str | Unset
        if isinstance(self.account_purpose, Unset):
            account_purpose = UNSET
        else:
            account_purpose = self.account_purpose

        last_sequence = self.last_sequence


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "accountId": account_id,
            "customerId": customer_id,
            "productCode": product_code,
            "accountAlias": account_alias,
            "balance": balance,
            "currency": currency,
            "status": status,
            "openedAt": opened_at,
        })
        if tenant_id is not UNSET:
            field_dict["tenantId"] = tenant_id
        if account_type is not UNSET:
            field_dict["accountType"] = account_type
        if product_type is not UNSET:
            field_dict["productType"] = product_type
        if facility_limit is not UNSET:
            field_dict["facilityLimit"] = facility_limit
        if account_purpose is not UNSET:
            field_dict["accountPurpose"] = account_purpose
        if last_sequence is not UNSET:
            field_dict["lastSequence"] = last_sequence

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        account_id = d.pop("accountId")

        def _parse_customer_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        customer_id = _parse_customer_id(d.pop("customerId"))


        def _parse_product_code(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        product_code = _parse_product_code(d.pop("productCode"))


        def _parse_account_alias(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        account_alias = _parse_account_alias(d.pop("accountAlias"))


        balance = d.pop("balance")

        currency = d.pop("currency")

        status = AccountSummaryStatus(d.pop("status"))




        opened_at = datetime.datetime.fromisoformat(d.pop("openedAt"))




        tenant_id = d.pop("tenantId", UNSET)

        _account_type = d.pop("accountType", UNSET)
        account_type: AccountType | Unset
        if isinstance(_account_type,  Unset):
            account_type = UNSET
        else:
            account_type = AccountType(_account_type)




        def _parse_product_type(data: object) -> None | ProductType | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                product_type_type_0 = ProductType(data)



                return product_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ProductType | Unset, data)

        product_type = _parse_product_type(d.pop("productType", UNSET))


        def _parse_facility_limit(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        facility_limit = _parse_facility_limit(d.pop("facilityLimit", UNSET))


        def _parse_account_purpose(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        account_purpose = _parse_account_purpose(d.pop("accountPurpose", UNSET))


        last_sequence = d.pop("lastSequence", UNSET)

        account_summary = cls(
            account_id=account_id,
            customer_id=customer_id,
            product_code=product_code,
            account_alias=account_alias,
            balance=balance,
            currency=currency,
            status=status,
            opened_at=opened_at,
            tenant_id=tenant_id,
            account_type=account_type,
            product_type=product_type,
            facility_limit=facility_limit,
            account_purpose=account_purpose,
            last_sequence=last_sequence,
        )

        return account_summary

