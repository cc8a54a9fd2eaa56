from enum import StrEnum

class TenantStatus(StrEnum):
    ACTIVE = "ACTIVE"

    def __str__(self) -> str:
        return str(self.value)
