"""Template filters linking portal pages to the queue's online booking."""

from __future__ import annotations

from django import template

from mall.queue import views_citizen

register = template.Library()


@register.filter
def takes_online_booking(service_key: str) -> bool:
    """Whether the service ``service_key`` can be booked online now (one query)."""
    return views_citizen.takes_online_booking(str(service_key or ""))
