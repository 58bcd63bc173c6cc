"""Concurrent tenant requests through PgBouncer, in a process of its own.

``tests/deploy/test_pgbouncer.py`` starts this with ``DATABASE_URL`` pointing at PgBouncer
(and ``DB_POOL_MODE`` set or not) and reads the one JSON line it prints. Each of ``threads``
threads sends ``requests`` GETs through the whole Django stack (host routing without the
cache, middleware, a view) to tenants picked at random; the view reads its tenant's marker
and writes an audit row tagged with its tenant, once in autocommit mode and once inside
``transaction.atomic()``. It is also this process's URL conf.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path

ACTION_ENV = "PGBOUNCER_PROBE_ACTION"


def probe(request: HttpRequest, n: int) -> JsonResponse:
    """Read this tenant's marker and write a row tagged with this tenant, twice."""
    from mall.models import MallProfile
    from mpp.audit.models import AuditEvent

    slug = request.tenant.slug  # type: ignore[attr-defined]
    action = os.environ[ACTION_ENV]
    seen = []
    # Autocommit: each statement is a transaction of its own — where pooling mixes tenants.
    seen.append(MallProfile.objects.values_list("display_name", flat=True).get())
    AuditEvent.objects.create(
        action=action, target_type="probe", target_id=str(n), after={"tenant": slug}
    )
    with transaction.atomic():
        seen.append(MallProfile.objects.values_list("display_name", flat=True).get())
        AuditEvent.objects.create(
            action=action, target_type="probe", target_id=str(n), after={"tenant": slug}
        )
    return JsonResponse({"tenant": slug, "seen": seen})


urlpatterns = [path("probe/<int:n>/", probe)]


def main() -> None:
    """Run the requests described by the JSON in argv[1]; print what was seen as JSON."""
    config = json.loads(sys.argv[1])
    os.environ[ACTION_ENV] = config["action"]
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections
    from django.test import Client

    settings.ROOT_URLCONF = __name__
    markers: dict[str, str] = config["markers"]
    slugs = sorted(markers)
    lock = threading.Lock()
    result: dict[str, Any] = {
        "engine": "",
        "requests": 0,
        "per_tenant": dict.fromkeys(slugs, 0),
        "wrong_reads": 0,
        "errors": 0,
        "examples": [],
    }

    def worker(index: int) -> None:
        rng = random.Random(index)  # noqa: S311 -- spreads load, reproducibly
        client = Client(raise_request_exception=False)
        try:
            for i in range(config["requests"]):
                slug = rng.choice(slugs)
                n = index * 100_000 + i
                outcome = "ok"
                try:
                    response = client.get(
                        f"/probe/{n}/", HTTP_HOST=f"{slug}.{settings.PLATFORM_DOMAIN}"
                    )
                    if response.status_code != 200:
                        outcome = f"error {response.status_code}"
                    else:
                        body = response.json()
                        if body["tenant"] != slug or body["seen"] != [markers[slug]] * 2:
                            outcome = f"wrong: {slug} saw {body['seen']}"
                except Exception as exc:  # counted: a mixed-up path can also fail a query
                    outcome = f"error {type(exc).__name__}: {exc}"[:200]
                with lock:
                    result["requests"] += 1
                    result["per_tenant"][slug] += 1
                    if outcome.startswith("wrong"):
                        result["wrong_reads"] += 1
                    elif outcome != "ok":
                        result["errors"] += 1
                    if outcome != "ok" and len(result["examples"]) < 5:
                        result["examples"].append(outcome)
            with lock:
                result["engine"] = type(connections["default"]).__module__
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(config["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
