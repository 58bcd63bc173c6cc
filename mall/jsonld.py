"""schema.org ``GovernmentService`` JSON-LD for a service page (search engines, open data)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from catalog.local.models import LocalService

# Inside <script>, only "<", ">" and "&" can end the element or start markup; JSON lets them
# be written as \u escapes, which every JSON parser reads back as the same characters.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def government_service(
    service: LocalService,
    *,
    url: str,
    name: str,
    description: str,
    mall_name: str,
    mall_address: str,
    area_name: str,
    counters: str,
    category_names: Iterable[str],
) -> dict[str, Any]:
    """The JSON-LD object describing ``service`` as served in this mall."""
    office: dict[str, Any] = {"@type": "GovernmentOffice", "name": mall_name}
    if mall_address:
        office["address"] = mall_address
    channel: dict[str, Any] = {
        "@type": "ServiceChannel",
        "name": counters or mall_name,
        "serviceLocation": office,
    }
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "GovernmentService",
        "@id": url,
        "url": url,
        "identifier": service.key,
        "name": name,
        "provider": {
            "@type": "GovernmentOrganization",
            "name": service.agency_name,
            "identifier": service.agency_code,
        },
        "serviceOperator": {"@type": "GovernmentOrganization", "name": mall_name},
        "areaServed": {"@type": "AdministrativeArea", "name": area_name},
        "availableChannel": channel,
    }
    if description:
        data["description"] = description
    categories = [c for c in category_names if c]
    if categories:
        data["serviceType"] = ", ".join(categories)
    if service.fee is not None:
        offer: dict[str, Any] = {"@type": "Offer", "price": service.fee, "priceCurrency": "IDR"}
        if service.fee_note:
            offer["description"] = service.fee_note
        data["offers"] = offer
    if service.product:
        data["serviceOutput"] = {"@type": "Thing", "name": service.product}
    if service.legal_basis:
        data["termsOfService"] = "; ".join(str(item) for item in service.legal_basis)
    return data


def as_script(data: dict[str, Any]) -> SafeString:
    """``data`` as a ``<script type="application/ld+json">`` element, safe to embed."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308
