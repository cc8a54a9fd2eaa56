from enum import StrEnum

class ListAccountsAccountType(StrEnum):
    ALL = "ALL"
    CUSTOMER = "CUSTOMER"
    GL = "GL"

    def __str__(self) -> str:
        return str(self.value)
