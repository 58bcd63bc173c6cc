"""Validation of service data, shared by imports, overrides, local services and the API.

Every error names the field and says why, in the terms an officer would use.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from catalog.models import Channel

KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TEXT_LIMITS = {
    "name_id": 200,
    "name_en": 200,
    "fee_note": 300,
    "fee_legal_basis": 300,
    "product": 300,
    "complaint_channel": 300,
    "agency_name": 200,
}
LONG_TEXT = {"description_id", "description_en"}
STRING_LISTS = {"procedure", "legal_basis", "keywords", "category_codes"}


def _text(name: str, value: Any, limit: int | None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(f"must be text, got {type(value).__name__}")
    value = value.strip()
    if limit is not None and len(value) > limit:
        raise ValidationError(f"at most {limit} characters (got {len(value)})")
    return value


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("must be a list of texts")
    cleaned = [v.strip() for v in value]
    if any(not v for v in cleaned):
        raise ValidationError("must not contain empty entries")
    return cleaned


def _requirements(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError("must be a list of {document, note}")
    result = []
    for position, item in enumerate(value, start=1):
        if isinstance(item, str):
            item = {"document": item, "note": ""}
        if not isinstance(item, dict) or set(item) - {"document", "note"}:
            raise ValidationError(f"item {position} must have only 'document' and 'note'")
        document = item.get("document")
        if not isinstance(document, str) or not document.strip():
            raise ValidationError(f"item {position} needs a document name")
        note = item.get("note") or ""
        if not isinstance(note, str):
            raise ValidationError(f"item {position}: the note must be text")
        result.append({"document": document.strip(), "note": note.strip()})
    return result


def _non_negative_int(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise ValidationError(f"must be a whole number of {what} or empty")
    if value < 0:
        raise ValidationError(f"must not be negative (got {value})")
    return value


def clean_field(name: str, value: Any) -> Any:
    """Return ``value`` cleaned for service field ``name``; raise ValidationError if bad."""
    if name in TEXT_LIMITS:
        cleaned = _text(name, value, TEXT_LIMITS[name])
        if name == "name_id" and not cleaned:
            raise ValidationError("is required")
        return cleaned
    if name in LONG_TEXT:
        return _text(name, value, None)
    if name in STRING_LISTS:
        return _string_list(value)
    if name == "requirements":
        return _requirements(value)
    if name == "fee":
        return _non_negative_int(value, "rupiah")
    if name == "processing_days":
        return _non_negative_int(value, "working days")
    if name == "same_day":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false", "1", "0", ""}:
            return value.strip().lower() in {"true", "1"}
        raise ValidationError("must be true or false")
    if name == "channel":
        if value not in Channel.values:
            raise ValidationError(f"must be one of {', '.join(Channel.values)} (got {value!r})")
        return value
    if name == "agency_code":
        if not isinstance(value, str) or not KEY_RE.match(value):
            raise ValidationError("must be a lowercase code such as dukcapil")
        return value
    raise ValidationError(f"unknown field {name!r}")


def clean_fields(data: dict[str, Any], names: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Clean every field of ``names`` present in ``data``; collect all errors by field."""
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in names:
        if name not in data:
            continue
        try:
            cleaned[name] = clean_field(name, data[name])
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_key(key: Any) -> str:
    """A service key: lowercase words joined by hyphens, at most 80 characters."""
    if not isinstance(key, str) or not KEY_RE.match(key) or len(key) > 80:
        raise ValidationError(
            {"key": ["must be lowercase letters, digits and hyphens, e.g. dukcapil-ktp-el"]}
        )
    return key


def service_defaults() -> dict[str, Any]:
    """Every Standar Pelayanan field at its empty value (what the model would store)."""
    from catalog.models import StandarPelayanan

    return {
        f.name: f.get_default()
        for f in StandarPelayanan._meta.get_fields()
        if f.name in StandarPelayanan.component_names()
    }
