from enum import StrEnum

class ProductType(StrEnum):
    CREDIT_CARD = "CREDIT_CARD"
    DEPOSIT = "DEPOSIT"
    LOAN = "LOAN"
    TERM_DEPOSIT = "TERM_DEPOSIT"

    def __str__(self) -> str:
        return str(self.value)
