from enum import StrEnum

class TrialBalanceLineAccountType(StrEnum):
    CUSTOMER = "CUSTOMER"
    GL = "GL"

    def __str__(self) -> str:
        return str(self.value)
