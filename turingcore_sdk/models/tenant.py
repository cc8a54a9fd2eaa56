from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.tenant_status import TenantStatus
from typing import cast
import datetime






T = TypeVar("T", bound="Tenant")



@_attrs_define
class Tenant:
    """ An extension (the reply of the extension query `GET /tenants/{tenantId}`):
    a tenant, with the position of its event stream.

        Attributes:
            tenant_id (str): A tenant's code, which is also its tenantId.
            tenant_code (str): A tenant's code, which is also its tenantId.
            display_name (str):
            region (str):
            base_currency (str): ISO 4217 alphabetic code. Whether it is supported is an invariant (422).
            time_zone (str):
            regulatory_jurisdiction (None | str):
            business_type (None | str):
            status (TenantStatus):
            created_at (datetime.datetime):
            last_sequence (int): The `sequence` of the tenant's latest event.
            last_hash (str): A SHA-256 digest, 64 lowercase hex digits.
     """

    tenant_id: str
    tenant_code: str
    display_name: str
    region: str
    base_currency: str
    time_zone: str
    regulatory_jurisdiction: None | str
    business_type: None | str
    status: TenantStatus
    created_at: datetime.datetime
    last_sequence: int
    last_hash: str





    def to_dict(self) -> dict[str, Any]:
        tenant_id = self.tenant_id

        tenant_code = self.tenant_code

        display_name = self.display_name

        region = self.region

        base_currency = self.base_currency

        time_zone = self.time_zone

        regulatory_jurisdiction: None | str
        regulatory_jurisdiction = self.regulatory_jurisdiction

        business_type: None | str
        business_type = self.business_type

        status = self.status.value

        created_at = self.created_at.isoformat()

        last_sequence = self.last_sequence

        last_hash = self.last_hash


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "tenantId": tenant_id,
            "tenantCode": tenant_code,
            "displayName": display_name,
            "region": region,
            "baseCurrency": base_currency,
            "timeZone": time_zone,
            "regulatoryJurisdiction": regulatory_jurisdiction,
            "businessType": business_type,
            "status": status,
            "createdAt": created_at,
            "lastSequence": last_sequence,
            "lastHash": last_hash,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        tenant_id = d.pop("tenantId")

        tenant_code = d.pop("tenantCode")

        display_name = d.pop("displayName")

        region = d.pop("region")

        base_currency = d.pop("baseCurrency")

        time_zone = d.pop("timeZone")

        def _parse_regulatory_jurisdiction(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        regulatory_jurisdiction = _parse_regulatory_jurisdiction(d.pop("regulatoryJurisdiction"))


        def _parse_business_type(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        business_type = _parse_business_type(d.pop("businessType"))


        status = TenantStatus(d.pop("status"))




        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))




        last_sequence = d.pop("lastSequence")

        last_hash = d.pop("lastHash")

        tenant = cls(
            tenant_id=tenant_id,
            tenant_code=tenant_code,
            display_name=display_name,
            region=region,
            base_currency=base_currency,
            time_zone=time_zone,
            regulatory_jurisdiction=regulatory_jurisdiction,
            business_type=business_type,
            status=status,
            created_at=created_at,
            last_sequence=last_sequence,
            last_hash=last_hash,
        )

        return tenant

