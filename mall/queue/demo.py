"""The demo mall's queue: opening hours, counters and bookable services, through the actions.

Only what is missing is set up — hours when the mall has none, counters when it has none —
so loading the demo again never overrides what an admin changed.
"""

from __future__ import annotations

from mall.actions import get_mall_profile, update_mall_profile
from mall.queue.actions import save_counter, save_queue_setting
from mall.queue.models import Counter, QueueSetting

# Monday–Thursday 08:00–15:00, Friday 08:00–11:30 (Friday prayers), Saturday 08:00–12:00.
DEMO_HOURS = [["08:00", "15:00"]] * 4 + [["08:00", "11:30"], ["08:00", "12:00"], None]
DUKCAPIL = [
    "dukcapil-ktp-el-baru",
    "dukcapil-ktp-el-hilang-rusak",
    "dukcapil-kk-baru",
    "dukcapil-kk-perubahan",
    "dukcapil-akta-kelahiran",
]
DPMPTSP = ["dpmptsp-nib-oss", "dpmptsp-pbg", "dpmptsp-konsultasi-perizinan"]
# (name, agency, ticket prefix, services, priority lane)
DEMO_COUNTERS = [
    ("Loket 1", "dukcapil", "DKP", DUKCAPIL, True),
    ("Loket 2", "dukcapil", "DKP", DUKCAPIL, False),
    ("Loket 3", "dpmptsp", "PTSP", DPMPTSP, False),
]


def seed_demo_queue() -> list[str]:
    """In the current tenant schema: what the demo needs to book and call; what was done."""
    done: list[str] = []
    if not get_mall_profile().opening_hours:
        update_mall_profile({"opening_hours": DEMO_HOURS}, acting_user=None)
        done.append("hours")
    if not Counter.objects.exists():
        for name, agency, prefix, services, priority in DEMO_COUNTERS:
            save_counter(
                name=name,
                agency_code=agency,
                prefix=prefix,
                service_keys=services,
                priority_lane=priority,
                acting_user=None,
            )
        done.append(f"{len(DEMO_COUNTERS)} counters")
    if not QueueSetting.objects.exists():
        for key in DUKCAPIL + DPMPTSP:
            save_queue_setting(
                key, slot_minutes=30, slot_capacity=4, daily_quota=60, acting_user=None
            )
        done.append(f"{len(DUKCAPIL) + len(DPMPTSP)} bookable services")
    return done
