from enum import StrEnum

class AccountSummaryStatus(StrEnum):
    ACTIVE = "ACTIVE"

    def __str__(self) -> str:
        return str(self.value)
