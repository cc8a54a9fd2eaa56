from enum import StrEnum

class CustomerStatus(StrEnum):
    ACTIVE = "ACTIVE"

    def __str__(self) -> str:
        return str(self.value)
