from enum import StrEnum

class EmploymentStatus(StrEnum):
    CASUAL = "CASUAL"
    CONTRACT = "CONTRACT"
    FULL_TIME = "FULL_TIME"
    PART_TIME = "PART_TIME"
    RETIRED = "RETIRED"
    SELF_EMPLOYED = "SELF_EMPLOYED"
    STUDENT = "STUDENT"
    UNEMPLOYED = "UNEMPLOYED"

    def __str__(self) -> str:
        return str(self.value)
