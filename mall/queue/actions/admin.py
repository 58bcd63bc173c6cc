"""What the local admin sets: counters and each service's queue setting."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.local.models import LocalAgency, LocalService
from mall.queue.actions._common import local_date
from mall.queue.models import PREFIX_PATTERN, Booking, Counter, DayQuota, QueueSetting, Slot
from mpp.accounts.models import User
from mpp.audit.actions import record_event
from stats.tasks import schedule_refresh

COUNTER_NAME_MAX = 60
STAFF_ROLES = (User.Role.TENANT_ADMIN, User.Role.OFFICER)
SETTING_LIMITS = {
    "slot_minutes": (5, 120),
    "slot_capacity": (1, 500),
    "daily_quota": (1, 100_000),
}


def may_operate(user: Any, counter: Counter) -> bool:
    """Whether ``user`` may work ``counter``: one of its officers, or a tenant admin."""
    if user is None or not getattr(user, "is_active", False):
        return False
    if getattr(user, "role", "") == User.Role.TENANT_ADMIN:
        return True
    return counter.officers.filter(pk=user.pk).exists()


def _counter_state(counter: Counter) -> dict[str, Any]:
    return {
        "name": counter.name,
        "agency_code": counter.agency_code,
        "prefix": counter.prefix,
        "service_keys": list(counter.service_keys),
        "officers": sorted(counter.officers.values_list("email", flat=True)) if counter.pk else [],
        "active": counter.active,
        "priority_lane": counter.priority_lane,
    }


def _clean_service_keys(value: Any, agency_code: str) -> tuple[list[str], list[str]]:
    keys = [value] if isinstance(value, str) else list(value or [])
    keys = list(dict.fromkeys(str(k).strip() for k in keys if str(k).strip()))
    if not keys:
        return [], [_("Pilih minimal satu layanan.")]
    known = set(
        LocalService.objects.filter(
            key__in=keys, agency_code=agency_code, retired=False
        ).values_list("key", flat=True)
    )
    unknown = [k for k in keys if k not in known]
    if unknown:
        return keys, [
            _("Bukan layanan instansi ini: %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
        ]
    return keys, []


def _clean_officers(value: Iterable[Any]) -> tuple[list[User], list[str]]:
    wanted = [getattr(v, "pk", v) for v in value or []]
    try:
        ids = {int(v) for v in wanted}
    except (TypeError, ValueError):
        return [], [_("Petugas tidak dikenal.")]
    users = list(User.objects.filter(pk__in=ids, is_active=True, role__in=STAFF_ROLES))
    if len(users) != len(ids):
        return users, [_("Petugas harus staf aktif daerah ini (petugas atau admin daerah).")]
    return users, []


def save_counter(
    counter: Counter | None = None,
    *,
    name: str,
    agency_code: str,
    prefix: str,
    service_keys: Iterable[str],
    officers: Iterable[Any] = (),
    active: bool = True,
    priority_lane: bool = False,
    acting_user: Any | None,
) -> Counter:
    """Create a counter (``counter=None``) or change one; every field is given."""
    errors: dict[str, list[str]] = {}
    clean_name = " ".join(str(name or "").split())
    if not clean_name:
        errors["name"] = [_("Isi nama loket, misalnya Loket 3.")]
    elif len(clean_name) > COUNTER_NAME_MAX:
        errors["name"] = [_("Paling banyak %(n)d karakter.") % {"n": COUNTER_NAME_MAX}]
    elif (
        Counter.objects.filter(name__iexact=clean_name)
        .exclude(pk=getattr(counter, "pk", None))
        .exists()
    ):
        errors["name"] = [_("Nama loket ini sudah dipakai.")]
    agency = str(agency_code or "").strip()
    if not LocalAgency.objects.filter(code=agency, present=True).exists():
        errors["agency_code"] = [_("Instansi tidak ditemukan atau tidak hadir di mal ini.")]
    clean_prefix = str(prefix or "").strip().upper()
    if not re.match(PREFIX_PATTERN, clean_prefix):
        errors["prefix"] = [_("Awalan nomor 2–4 huruf, misalnya DKP.")]
    keys, key_errors = _clean_service_keys(service_keys, agency)
    if key_errors and "agency_code" not in errors:
        errors["service_keys"] = key_errors
    users, officer_errors = _clean_officers(officers)
    if officer_errors:
        errors["officers"] = officer_errors
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            if counter is not None:
                counter = Counter.objects.select_for_update().filter(pk=counter.pk).first()
                if counter is None:
                    raise ValidationError({"counter": [_("Loket tidak ditemukan.")]})
            before = _counter_state(counter) if counter is not None else {}
            counter = counter or Counter()
            counter.name, counter.agency_code, counter.prefix = clean_name, agency, clean_prefix
            counter.service_keys, counter.active = keys, bool(active)
            counter.priority_lane = bool(priority_lane)
            counter.save()
            counter.officers.set(users)
            after = _counter_state(counter)
            record_event(
                "queue.counter_saved",
                acting_user=acting_user,
                target=counter,
                before={k: v for k, v in before.items() if after.get(k) != v},
                after={k: v for k, v in after.items() if before.get(k) != v},
            )
            schedule_refresh()
    except IntegrityError:  # the same name saved by someone else meanwhile
        raise ValidationError({"name": [_("Nama loket ini sudah dipakai.")]}) from None
    return counter


def _clean_int(value: Any, field: str) -> tuple[int | None, list[str]]:
    low, high = SETTING_LIMITS[field]
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None, [_("Isi angka bulat.")]
    if not low <= number <= high:
        return None, [_("Antara %(low)d dan %(high)d.") % {"low": low, "high": high}]
    return number, []


def save_queue_setting(
    service_key: str,
    *,
    slot_minutes: int = 15,
    slot_capacity: int = 4,
    daily_quota: int = 100,
    online_booking: bool = True,
    acting_user: Any | None,
) -> QueueSetting:
    """Set how a service is queued. Future slots and quotas follow at once, never below what
    is already booked; a new slot length re-lays the future days that have no booking yet."""
    errors: dict[str, list[str]] = {}
    key = str(service_key or "").strip()
    if not LocalService.objects.filter(key=key, retired=False).exists():
        errors["service_key"] = [_("Layanan tidak ditemukan.")]
    values: dict[str, Any] = {"online_booking": bool(online_booking)}
    for field, raw in (
        ("slot_minutes", slot_minutes),
        ("slot_capacity", slot_capacity),
        ("daily_quota", daily_quota),
    ):
        number, problems = _clean_int(raw, field)
        if problems:
            errors[field] = problems
        values[field] = number
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        setting = QueueSetting.objects.select_for_update().filter(service_key=key).first()
        setting = setting or QueueSetting(service_key=key)
        before = {f: getattr(setting, f) for f in values} if setting.pk else {}
        for field, value in values.items():
            setattr(setting, field, value)
        setting.save()
        slot_table, quota_table = Slot._meta.db_table, DayQuota._meta.db_table
        with connection.cursor() as cursor:
            if before and before["slot_minutes"] != setting.slot_minutes:
                cursor.execute(
                    f"DELETE FROM {slot_table} s WHERE s.service_key = %s AND s.starts_at > %s "
                    f"AND NOT EXISTS (SELECT 1 FROM {Booking._meta.db_table} b "
                    "WHERE b.slot_id = s.id)",
                    [key, now],
                )
            cursor.execute(
                f"UPDATE {slot_table} SET capacity = GREATEST(%s, booked) "
                "WHERE service_key = %s AND starts_at > %s",
                [setting.slot_capacity, key, now],
            )
            cursor.execute(
                f"UPDATE {quota_table} SET quota = GREATEST(%s, used) "
                "WHERE service_key = %s AND date >= %s",
                [setting.daily_quota, key, local_date(now)],
            )
        record_event(
            "queue.setting_saved",
            acting_user=acting_user,
            target=setting,
            before=before,
            after={f: getattr(setting, f) for f in values},
        )
        schedule_refresh()
    return setting
