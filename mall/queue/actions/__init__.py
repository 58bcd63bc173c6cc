"""The queue's verbs: one function each, atomic, audited. Run inside the tenant's schema.

Every function raises ``django.core.exceptions.ValidationError`` with per-field messages
in Indonesian for bad input or a refused transition (nothing is stored then); each entry
keeps a ``code`` (``full``, ``quota``, ``already_booked``, ``not_found``, ``state``…) so
callers can tell the cases apart. ``now=`` (an aware datetime) may be passed for tests and
benchmarks; it defaults to the current instant.
"""

from mall.queue.actions._common import SlotView, notify_board, slot_view, tenant_zone
from mall.queue.actions.admin import may_operate, save_counter, save_queue_setting
from mall.queue.actions.booking import (
    available_slots,
    book,
    cancel_booking,
    closed_reason,
    ensure_slots,
    reschedule_booking,
)
from mall.queue.actions.tickets import (
    call_next,
    check_in,
    finish,
    issue_walk_in,
    recall,
    skip,
    start_serving,
    transfer,
)

__all__ = [
    "SlotView",
    "available_slots",
    "book",
    "call_next",
    "cancel_booking",
    "check_in",
    "closed_reason",
    "ensure_slots",
    "finish",
    "issue_walk_in",
    "may_operate",
    "notify_board",
    "recall",
    "reschedule_booking",
    "save_counter",
    "save_queue_setting",
    "skip",
    "slot_view",
    "start_serving",
    "tenant_zone",
    "transfer",
]
