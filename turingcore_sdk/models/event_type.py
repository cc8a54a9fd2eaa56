from enum import StrEnum

class EventType(StrEnum):
    ACCOUNTBALANCEUPDATED = "AccountBalanceUpdated"
    ACCOUNTOPENED = "AccountOpened"
    CUSTOMERCREATED = "CustomerCreated"
    ENTRYPOSTED = "EntryPosted"
    FUNDSPOSTED = "FundsPosted"
    LOANFACILITYCREATED = "LoanFacilityCreated"
    PRODUCTCREATED = "ProductCreated"
    PRODUCTUPDATED = "ProductUpdated"
    TENANTCREATED = "TenantCreated"

    def __str__(self) -> str:
        return str(self.value)
