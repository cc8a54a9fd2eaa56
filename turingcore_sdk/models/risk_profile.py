from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="RiskProfile")



@_attrs_define
class RiskProfile:
    """ The customer's risk profile. `segment` and `kycStatus` are upper-case
    codes (the published values are `RETAIL` and `SIMULATED_PASSED`); the
    list reply `CustomerSummary` shows them.

        Attributes:
            segment (None | str | Unset):
            kyc_status (None | str | Unset):
            credit_score (int | None | Unset):
     """

    segment: None | str | Unset = UNSET
    kyc_status: None | str | Unset = UNSET
    credit_score: int | None | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        segment: None | str | Unset
        if isinstance(self.segment, Unset):
            segment = UNSET
        else:
            segment = self.segment

        kyc_status: None | str | Unset
        if isinstance(self.kyc_status, Unset):
            kyc_status = UNSET
        else:
            kyc_status = self.kyc_status

        credit_score: int | None | Unset
        if isinstance(self.credit_score, Unset):
            credit_score = UNSET
        else:
            credit_score = self.credit_score


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if segment is not UNSET:
            field_dict["segment"] = segment
        if kyc_status is not UNSET:
            field_dict["kycStatus"] = kyc_status
        if credit_score is not UNSET:
            field_dict["creditScore"] = credit_score

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        def _parse_segment(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        segment = _parse_segment(d.pop("segment", UNSET))


        def _parse_kyc_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        kyc_status = _parse_kyc_status(d.pop("kycStatus", UNSET))


        def _parse_credit_score(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        credit_score = _parse_credit_score(d.pop("creditScore", UNSET))


        risk_profile = cls(
            segment=segment,
            kyc_status=kyc_status,
            credit_score=credit_score,
        )

        return risk_profile

