from enum import StrEnum

class CustomerSummaryStatus(StrEnum):
    ACTIVE = "ACTIVE"

    def __str__(self) -> str:
        return str(self.value)
