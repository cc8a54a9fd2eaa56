from enum import StrEnum

class AccountType(StrEnum):
    CUSTOMER = "CUSTOMER"
    GL = "GL"

    def __str__(self) -> str:
        return str(self.value)
