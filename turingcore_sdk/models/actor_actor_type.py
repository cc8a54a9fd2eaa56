from enum import StrEnum

class ActorActorType(StrEnum):
    SERVICE = "SERVICE"
    SYSTEM = "SYSTEM"
    USER = "USER"

    def __str__(self) -> str:
        return str(self.value)
