from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.error_error import ErrorError
from typing import cast

if TYPE_CHECKING:
  from ..models.error_details import ErrorDetails





T = TypeVar("T", bound="Error")



@_attrs_define
class Error:
    """ Every non-422 error. The status of each code, as data, is the
    `x-turingcore-status` map of the `error` property.

    | status | error | when |
    |---|---|---|
    | 400 | `MALFORMED_JSON` | the body is not JSON |
    | 400 | `VALIDATION_ERROR` | a field is missing (or null where required), unknown, of the wrong type or out of its
    limits; also bad path or query parameters, and a query parameter the operation does not define |
    | 400 | `TENANT_MISMATCH` | the envelope `tenantId` (or CreateTenant `tenantCode`) differs from the path |
    | 401 | `UNAUTHENTICATED` | no key, or an unknown key |
    | 403 | `FORBIDDEN` | the key's scope does not include the tenant, or CreateTenant without the platform key |
    | 404 | `NOT_FOUND` | unknown tenant, customer, account or path; another tenant's ids |
    | 405 | `METHOD_NOT_ALLOWED` | wrong method on a known path |
    | 409 | `COMMAND_IN_FLIGHT` | the same idempotency key is being applied by another request |
    | 413 | `PAYLOAD_TOO_LARGE` | body over 1 MiB |
    | 415 | `UNSUPPORTED_MEDIA_TYPE` | the content type is not JSON |
    | 500 | `INTERNAL_ERROR` | a bug in the service |
    | 503 | `NOT_READY` | readiness probe only (outside this API): the store is not reachable |

        Attributes:
            error (ErrorError):
            message (str): Human-readable; not for matching.
            details (ErrorDetails): Context for the error. A `VALIDATION_ERROR` of the body lists every
                problem in `errors`; one for a query parameter the operation does not
                define names it in `parameter` and lists the defined ones in `allowed`.
     """

    error: ErrorError
    message: str
    details: ErrorDetails





    def to_dict(self) -> dict[str, Any]:
        from ..models.error_details import ErrorDetails # noqa: PLC0415
        error = self.error.value

        message = self.message

        details = self.details.to_dict()


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "error": error,
            "message": message,
            "details": details,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_details import ErrorDetails # noqa: PLC0415
        d = dict(src_dict)
        error = ErrorError(d.pop("error"))




        message = d.pop("message")

        details = ErrorDetails.from_dict(d.pop("details"))




        error = cls(
            error=error,
            message=message,
            details=details,
        )

        return error

