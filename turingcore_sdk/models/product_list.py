from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.product import Product





T = TypeVar("T", bound="ProductList")



@_attrs_define
class ProductList:
    """ An extension. All the tenant's products, in creation order.

        Attributes:
            products (list[Product]):
     """

    products: list[Product]





    def to_dict(self) -> dict[str, Any]:
        from ..models.product import Product # noqa: PLC0415
        products = []
        for products_item_data in self.products:
            products_item = products_item_data.to_dict()
            products.append(products_item)




        field_dict: dict[str, Any] = {}

        field_dict.update({
            "products": products,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.product import Product # noqa: PLC0415
        d = dict(src_dict)
        products = []
        _products = d.pop("products")
        for products_item_data in (_products):
            products_item = Product.from_dict(products_item_data)



            products.append(products_item)


        product_list = cls(
            products=products,
        )

        return product_list

