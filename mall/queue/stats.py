"""The queue's figures for the province rollup (collector ``queue``): today, local time.

Per day: tickets issued, no-shows, waiting time (issue — or slot start for an early
check-in — to first call) and service time (start to finish), median and p90 in whole
seconds. Each figure comes plain (the whole mall) and split ``.by_service``,
``.by_agency`` and ``.by_counter`` (the counter that called the ticket last, by name). A
mall that issued no ticket today reports nothing, rather than zeros and empty medians.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils import timezone

from mall.queue.actions._common import local_date
from mall.queue.models import Counter, Ticket
from stats.collectors import Metric, register

FIGURES = (
    "tickets",
    "no_shows",
    "wait_median_s",
    "wait_p90_s",
    "service_median_s",
    "service_p90_s",
)
DIMENSIONS = ("service", "agency", "counter")

_SQL = """
WITH t AS (
    SELECT t.date AS day, t.service_key, t.agency_code, c.name AS counter_name, t.status,
           -- GREATEST skips NULLs: a ticket never called must stay NULL, not become 0.
           CASE WHEN t.first_called_at IS NOT NULL
                THEN GREATEST(0, EXTRACT(EPOCH FROM t.first_called_at
                    - GREATEST(t.issued_at, COALESCE(t.slot_starts_at, t.issued_at)))) END
               AS wait,
           CASE WHEN t.status = 'done'
                THEN GREATEST(0, EXTRACT(EPOCH FROM t.finished_at - t.started_at)) END AS service
    FROM {ticket} t LEFT JOIN {counter} c ON c.id = t.counter_id
    WHERE t.date BETWEEN %s AND %s
)
SELECT GROUPING(day), GROUPING(service_key), GROUPING(agency_code), GROUPING(counter_name),
       day, service_key, agency_code, counter_name,
       count(*),
       count(*) FILTER (WHERE status = 'no_show'),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wait),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY wait),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY service),
       percentile_cont(0.9) WITHIN GROUP (ORDER BY service)
FROM t
GROUP BY GROUPING SETS ({sets})
"""
# The collector's split: the whole day, then per service, agency and counter. Over a single
# day, grouping by it equals not grouping (and GROUPING(day) needs ``day`` in some set).
COLLECTOR_SETS = "(day), (day, service_key), (day, agency_code), (day, counter_name)"


def figure_rows(first: dt.date, last: dt.date, sets: str = COLLECTOR_SETS) -> list[tuple[Any, ...]]:
    """One query over the tickets of local dates ``first``–``last``, grouped by ``sets``
    (SQL grouping sets over ``day``, ``service_key``, ``agency_code``, ``counter_name``).

    Each row: four GROUPING() flags (1 = not grouped by that column), the four column values,
    then the ``FIGURES`` in ``FIGURES`` order (medians and p90 as float seconds or None).
    """
    sql = _SQL.format(ticket=Ticket._meta.db_table, counter=Counter._meta.db_table, sets=sets)
    with connection.cursor() as cursor:
        cursor.execute(sql, [first, last])
        return cursor.fetchall()


@register("queue")
def queue_metrics() -> list[Metric]:
    """Today's queue figures of the current tenant, plain and split per dimension."""
    today = local_date(timezone.now())
    # Drop the day's GROUPING() flag and value: there is only today.
    rows = [row[1:4] + row[5:] for row in figure_rows(today, today)]
    if not any(row[6] for row in rows):
        return []
    metrics: list[Metric] = []
    for g_service, g_agency, g_counter, service, agency, counter, *values in rows:
        if g_service == g_agency == g_counter == 1:
            suffix, dimension = "", ""
        elif g_service == 0:
            suffix, dimension = ".by_service", service
        elif g_agency == 0:
            suffix, dimension = ".by_agency", agency
        elif counter is not None:
            suffix, dimension = ".by_counter", counter
        else:
            continue  # tickets no counter has called yet
        for figure, value in zip(FIGURES, values, strict=True):
            if value is not None:
                metrics.append(Metric(f"queue.{figure}{suffix}", round(value), dimension or ""))
    return metrics
