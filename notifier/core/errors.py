"""JSON errors of the HTTP API: ``{"error": {"code", "message", "field"?, "errors"?}}``.

Every failure under ``/api/`` answers in this shape with its proper status
(:mod:`notifier.web.errors` installs the handlers for the ones Flask and Redis raise).
An invalid body lists every problem found in ``errors`` (each ``{"field", "code",
"message"}``); ``code``, ``message`` and ``field`` repeat the first of them.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from typing import Any

from flask import Response, jsonify
from pydantic import ValidationError

log = logging.getLogger(__name__)

#: Seconds a client is told to wait when Redis is unreachable.
RETRY_AFTER = 5


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a request (``field`` None: the request as a whole)."""

    code: str
    message: str
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of an item of ``errors``."""
        return {"field": self.field, "code": self.code, "message": self.message}


class ApiError(Exception):
    """An error answered to the API client as JSON."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, *,
                 retry_after: int | None = None, errors: list[FieldError] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        #: Seconds to wait before trying again (sent as Retry-After).
        self.retry_after = retry_after
        #: Every problem found, the first being ``code``, ``message`` and ``field``.
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the answer."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        if self.errors is not None:
            error["errors"] = [e.to_dict() for e in self.errors]
        return error


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    """The JSON error response."""
    return api_error_response(ApiError(status, code, message, field))


def api_error_response(error: ApiError) -> Response:
    """The JSON response of ``error``."""
    response = jsonify(error=error.to_dict())
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def field_path(loc: tuple[str | int, ...]) -> str:
    """``("notifications", 3, "title")`` as ``notifications[3].title``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


#: Content types a client may label a JSON body with (the header is not required).
_JSON_TYPES = ("", "application/json", "text/plain")


def not_json(content_type: str | None, detail: str = "") -> ApiError:
    """The 400 for a body that is not JSON: the API takes JSON, and what this body was."""
    mimetype = (content_type or "").partition(";")[0].strip().lower()
    message = "The API takes JSON: send a JSON object (Content-Type: application/json)."
    message += f" This body is not valid JSON ({detail})" if detail else \
        " This body is not valid JSON"
    if mimetype == "application/x-www-form-urlencoded":
        message += "; it was sent as a form (application/x-www-form-urlencoded)"
    elif mimetype == "multipart/form-data":
        message += "; it was sent as a multipart form (multipart/form-data)"
    elif mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        message += f"; it was sent as {mimetype}"
    message += "."
    return ApiError(400, "invalid_json", message, "body",
                    errors=[FieldError("invalid_json", message, "body")])


def field_errors(exc: ValidationError, root_field: str | None = None,
                 drop_loc: int = 0) -> list[FieldError]:
    """Every problem pydantic found, each naming its field; unknown fields first, as a
    misspelt field usually explains a missing one.

    ``root_field`` names checks across fields that pydantic reports on no field;
    ``drop_loc`` leading parts of each location are left out (a union's tag).
    """
    details = exc.errors(include_url=False)
    missing: dict[tuple, list[str]] = {}
    for detail in details:
        loc = tuple(detail["loc"][drop_loc:])
        if detail["type"] == "missing" and loc and isinstance(loc[-1], str):
            missing.setdefault(loc[:-1], []).append(loc[-1])
    unknown, others = [], []
    for detail in details:
        loc = tuple(detail["loc"][drop_loc:])
        field = field_path(loc) or root_field
        if detail["type"] == "extra_forbidden":
            name = str(loc[-1]) if loc else ""
            guess = difflib.get_close_matches(name, missing.get(loc[:-1], ()), n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            unknown.append(FieldError("unknown_field", f"Unknown field {field!r}{hint}.",
                                      field))
        elif detail["type"] in ("model_type", "model_attributes_type", "dict_type") \
                and not loc:
            others.append(FieldError("invalid_body", "The body must be a JSON object."))
        else:
            message = detail["msg"].removeprefix("Value error, ")
            others.append(FieldError("invalid_field",
                                     f"{field}: {message}" if field else message, field))
    return unknown + others


def from_validation_error(exc: ValidationError, root_field: str | None = None, *,
                          content_type: str | None = None) -> ApiError:
    """Every problem pydantic found, naming their fields; the first one on top.

    ``content_type`` is the request's, to say what a body that is not JSON looked like.
    """
    for detail in exc.errors(include_url=False):
        if detail["type"] == "json_invalid":
            return not_json(content_type, detail["ctx"].get("error", "") if detail.get("ctx")
                            else "")
    errors = field_errors(exc, root_field)
    first = errors[0]
    return ApiError(422, first.code, first.message, first.field, errors=errors)
