"""What every queue API view shares: strict request bodies, error answers, caching, throttles.

The queue actions (``mall.queue.actions``) decide what is acceptable and say why, with a
``code`` per message; this module only turns their ``ValidationError`` into an HTTP answer:

- ``400`` with one list of messages per field, plus ``codes``: the same fields, one code per
  message (``invalid``, ``past``, ``closed``…), so a client can act on the case, not the words;
- ``409`` when the request was well formed but the current state refuses it (a full slot, a
  used-up quota, an active booking already, a ticket or counter in another state);
- ``404`` when the object named in the path is unknown (a booking code, a service key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.cache import add_never_cache_headers
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from mpp.throttling import AnonThrottle, UserThrottle

T = TypeVar("T")

NOT_AN_OBJECT = "Isi permintaan harus berupa objek JSON. / The body must be a JSON object."
UNKNOWN_FIELD = "Kolom tidak dikenal. / Unknown field."
REQUIRED = "Wajib diisi. / This field is required."
TYPE_MESSAGES = {
    "str": "Harus berupa teks. / Must be a string.",
    "int": "Harus bilangan bulat. / Must be an integer.",
    "bool": "Harus true atau false. / Must be true or false.",
    "str_list": "Harus daftar teks. / Must be a list of strings.",
    "int_list": "Harus daftar bilangan bulat. / Must be a list of integers.",
}
# Codes of refusals by the current state of things rather than by the input: answered 409.
CONFLICT_CODES = frozenset(
    {
        "full",  # the slot has no place left
        "quota",  # the service's daily quota is used up
        "already_booked",  # this NIK already has an active booking that day
        "checked_in",  # booking states that forbid the change asked for
        "cancelled",
        "done",
        "no_show",
        "busy",  # the counter still has a ticket called or being served
        "inactive",  # the counter is inactive
        "state",  # the ticket is not in a state that allows this
        "idle",  # the counter has no ticket called or being served
        "stale",  # the ticket named is not the counter's current one any more
    }
)


class QueueConflict(APIException):
    """The request is well formed but the current state refuses it (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Konflik dengan keadaan saat ini. / Conflict with the current state."
    default_code = "conflict"


def error_body(errors: Mapping[str, Iterable[tuple[str, str]]]) -> dict[str, Any]:
    """``{field: [(message, code)…]}`` → ``{field: [messages], "codes": {field: [codes]}}``."""
    body: dict[str, Any] = {}
    codes: dict[str, list[str]] = {}
    for field, entries in errors.items():
        pairs = list(entries)
        body[field] = [message for message, _code in pairs]
        codes[field] = [code for _message, code in pairs]
    return body | {"codes": codes}


def _entries(exc: DjangoValidationError) -> dict[str, list[tuple[str, str]]]:
    """The action's errors by field, each message with its code (``invalid`` when it has none)."""
    if hasattr(exc, "error_dict"):
        grouped = exc.error_dict.items()
    else:
        grouped = [("non_field_errors", exc.error_list)]
    result: dict[str, list[tuple[str, str]]] = {}
    for field, errors in grouped:
        for error in errors:
            for message in error.messages:
                result.setdefault(field, []).append((message, error.code or "invalid"))
    return result


def api_error(
    exc: DjangoValidationError,
    *,
    rename: Mapping[str, str] | None = None,
    lookup: str = "",
    missing: frozenset[str] = frozenset({"not_found"}),
) -> APIException:
    """The HTTP answer to an action's refusal.

    ``rename`` maps the action's field names to the request's (``service_key`` → ``service``);
    ``lookup`` names the field that came from the URL: an error on it coded in ``missing``
    is a 404 (the object the URL names does not exist, as far as this caller can tell).
    """
    entries = {(rename or {}).get(f, f): e for f, e in _entries(exc).items()}
    if lookup and any(code in missing for _m, code in entries.get(lookup, [])):
        return NotFound(entries[lookup][0][0])
    body = error_body(entries)
    codes = {code for field_codes in body["codes"].values() for code in field_codes}
    if codes and codes <= CONFLICT_CODES:
        error: APIException = QueueConflict()
        error.detail = body
        return error
    return APIValidationError(body)


def call(
    fn: Callable[..., T],
    *args: Any,
    rename: Mapping[str, str] | None = None,
    lookup: str = "",
    missing: frozenset[str] = frozenset({"not_found"}),
    **kwargs: Any,
) -> T:
    """Run a queue action; its ValidationError becomes a 400, 404 or 409 (see ``api_error``)."""
    try:
        return fn(*args, **kwargs)
    except DjangoValidationError as exc:
        raise api_error(exc, rename=rename, lookup=lookup, missing=missing) from None


@dataclass(frozen=True)
class Field:
    """One key a request body may carry: its JSON type and whether it must be there."""

    kind: str  # "str", "int", "bool", "str_list" or "int_list"
    required: bool = False


def _is(kind: str, value: Any) -> bool:
    """Whether ``value`` (parsed JSON) is of ``kind``; booleans are not integers here."""
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str_list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "int_list":
        return isinstance(value, list) and all(_is("int", v) for v in value)
    raise ValueError(f"unknown field kind {kind!r}")


def parse_body(request: Request, fields: Mapping[str, Field]) -> dict[str, Any]:
    """The JSON object sent, keys and types checked (values are the action's to judge).

    Unknown keys are refused rather than ignored, so a typo never passes silently; an empty
    body counts as ``{}``.
    """
    data = request.data
    if data is None or (not isinstance(data, dict) and not data):
        data = {}
    if not isinstance(data, dict):
        raise APIValidationError(error_body({"non_field_errors": [(NOT_AN_OBJECT, "invalid")]}))
    errors: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(set(data) - set(fields)):
        errors[name] = [(UNKNOWN_FIELD, "unknown")]
    for name, spec in fields.items():
        if name not in data or data[name] is None:
            if spec.required:
                errors[name] = [(REQUIRED, "required")]
        elif not _is(spec.kind, data[name]):
            errors[name] = [(TYPE_MESSAGES[spec.kind], "invalid")]
    if errors:
        raise APIValidationError(error_body(errors))
    return {name: data[name] for name in fields if data.get(name) is not None}


def acting_user(request: Request) -> Any | None:
    """The signed-in user, or None for an anonymous citizen (the actions audit it so)."""
    user = request.user
    return user if user is not None and user.is_authenticated else None


class QueueAPIMixin:
    """JSON in, JSON out, never cached, throttled per user and (anonymous) per address.

    Answers carry bookings (names, masked NIKs) and a live queue: no browser or proxy may
    keep them (``Cache-Control: private, no-store``).
    """

    parser_classes = [JSONParser]
    throttle_classes = [UserThrottle, AnonThrottle]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        add_never_cache_headers(response)
        return response
