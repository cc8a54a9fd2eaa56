from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.bonus_conditions import BonusConditions





T = TypeVar("T", bound="ProductInterest")



@_attrs_define
class ProductInterest:
    """ Interest configuration. Rates are fractions; which ones apply depends on
    the product type. Every rate must be non-negative (422
    `RATES_MUST_BE_NON_NEGATIVE`).

        Attributes:
            rate (float | None | Unset): A rate as a fraction (0.05 is 5 %), between -1000 and 1000. Negative rates
                are refused with 422 `RATES_MUST_BE_NON_NEGATIVE`, not by the schema.
                `null` means absent.
            base_rate (float | None | Unset): A rate as a fraction (0.05 is 5 %), between -1000 and 1000. Negative rates
                are refused with 422 `RATES_MUST_BE_NON_NEGATIVE`, not by the schema.
                `null` means absent.
            bonus_rate (float | None | Unset): A rate as a fraction (0.05 is 5 %), between -1000 and 1000. Negative rates
                are refused with 422 `RATES_MUST_BE_NON_NEGATIVE`, not by the schema.
                `null` means absent.
            bonus_conditions (BonusConditions | None | Unset):
            purchase_rate (float | None | Unset): A rate as a fraction (0.05 is 5 %), between -1000 and 1000. Negative rates
                are refused with 422 `RATES_MUST_BE_NON_NEGATIVE`, not by the schema.
                `null` means absent.
            cash_advance_rate (float | None | Unset): A rate as a fraction (0.05 is 5 %), between -1000 and 1000. Negative
                rates
                are refused with 422 `RATES_MUST_BE_NON_NEGATIVE`, not by the schema.
                `null` means absent.
            calculation_method (None | str | Unset):
            payment_frequency (None | str | Unset):
     """

    rate: float | None | Unset = UNSET
    base_rate: float | None | Unset = UNSET
    bonus_rate: float | None | Unset = UNSET
    bonus_conditions: BonusConditions | None | Unset = UNSET
    purchase_rate: float | None | Unset = UNSET
    cash_advance_rate: float | None | Unset = UNSET
    calculation_method: None | str | Unset = UNSET
    payment_frequency: None | str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.bonus_conditions import BonusConditions # noqa: PLC0415
        rate: float | None | Unset
        if isinstance(self.rate, Unset):
            rate = UNSET
        else:
            rate = self.rate

        base_rate: float | None | Unset
        if isinstance(self.base_rate, Unset):
            base_rate = UNSET
        else:
            base_rate = self.base_rate

        bonus_rate: float | None | Unset
        if isinstance(self.bonus_rate, Unset):
            bonus_rate = UNSET
        else:
            bonus_rate = self.bonus_rate

        bonus_conditions: dict[str, Any] | None | Unset
        if isinstance(self.bonus_conditions, Unset):
            bonus_conditions = UNSET
        elif isinstance(self.bonus_conditions, BonusConditions):
            bonus_conditions = self.bonus_conditions.to_dict()
        else:
            bonus_conditions = self.bonus_conditions

        purchase_rate: float | None | Unset
        if isinstance(self.purchase_rate, Unset):
            purchase_rate = UNSET
        else:
            purchase_rate = self.purchase_rate

        cash_advance_rate: float | None | Unset
        if isinstance(self.cash_advance_rate, Unset):
            cash_advance_rate = UNSET
        else:
            cash_advance_rate = self.cash_advance_rate

        calculation_method: None | str | Unset
        if isinstance(self.calculation_method, Unset):
            calculation_method = UNSET
        else:
            calculation_method = self.calculation_method

        payment_frequency: None | str | Unset
        if isinstance(self.payment_frequency, Unset):
            payment_frequency = UNSET
        else:
            payment_frequency = self.payment_frequency


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if rate is not UNSET:
            field_dict["rate"] = rate
        if base_rate is not UNSET:
            field_dict["baseRate"] = base_rate
        if bonus_rate is not UNSET:
            field_dict["bonusRate"] = bonus_rate
        if bonus_conditions is not UNSET:
            field_dict["bonusConditions"] = bonus_conditions
        if purchase_rate is not UNSET:
            field_dict["purchaseRate"] = purchase_rate
        if cash_advance_rate is not UNSET:
            field_dict["cashAdvanceRate"] = cash_advance_rate
        if calculation_method is not UNSET:
            field_dict["calculationMethod"] = calculation_method
        if payment_frequency is not UNSET:
            field_dict["paymentFrequency"] = payment_frequency

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bonus_conditions import BonusConditions # noqa: PLC0415
        d = dict(src_dict)
        def _parse_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        rate = _parse_rate(d.pop("rate", UNSET))


        def _parse_base_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        base_rate = _parse_base_rate(d.pop("baseRate", UNSET))


        def _parse_bonus_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        bonus_rate = _parse_bonus_rate(d.pop("bonusRate", UNSET))


        def _parse_bonus_conditions(data: object) -> BonusConditions | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                bonus_conditions_type_0 = BonusConditions.from_dict(data)



                return bonus_conditions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(BonusConditions | None | Unset, data)

        bonus_conditions = _parse_bonus_conditions(d.pop("bonusConditions", UNSET))


        def _parse_purchase_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        purchase_rate = _parse_purchase_rate(d.pop("purchaseRate", UNSET))


        def _parse_cash_advance_rate(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        cash_advance_rate = _parse_cash_advance_rate(d.pop("cashAdvanceRate", UNSET))


        def _parse_calculation_method(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        calculation_method = _parse_calculation_method(d.pop("calculationMethod", UNSET))


        def _parse_payment_frequency(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        payment_frequency = _parse_payment_frequency(d.pop("paymentFrequency", UNSET))


        product_interest = cls(
            rate=rate,
            base_rate=base_rate,
            bonus_rate=bonus_rate,
            bonus_conditions=bonus_conditions,
            purchase_rate=purchase_rate,
            cash_advance_rate=cash_advance_rate,
            calculation_method=calculation_method,
            payment_frequency=payment_frequency,
        )

        return product_interest

