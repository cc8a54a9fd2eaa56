from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.actor_actor_type import ActorActorType






T = TypeVar("T", bound="Actor")



@_attrs_define
class Actor:
    """ Who issued the command.

        Attributes:
            actor_type (ActorActorType):
            actor_id (str):
     """

    actor_type: ActorActorType
    actor_id: str





    def to_dict(self) -> dict[str, Any]:
        actor_type = self.actor_type.value

        actor_id = self.actor_id


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "actorType": actor_type,
            "actorId": actor_id,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        actor_type = ActorActorType(d.pop("actorType"))




        actor_id = d.pop("actorId")

        actor = cls(
            actor_type=actor_type,
            actor_id=actor_id,
        )

        return actor

