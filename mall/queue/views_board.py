"""The hall TV's display board at ``/antrian/layar/``: public, read-only, live.

The page is server-rendered and refreshes itself every 10 s without JavaScript (a
``<noscript>`` meta refresh, inert when scripts run); with JavaScript, ``board.js`` follows
the Server-Sent Events stream at ``events/`` instead and chimes on every new call. All three
answers are ``never_cache`` and none goes through the portal's page cache
(``mall.page_cache.cached_page``): they change with every call.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from mall.actions import get_mall_profile
from mall.queue.board import board_hub, board_state, event_stream
from mall.views import citizen_page, mall_name


@require_safe
@citizen_page
@never_cache
def board(request: HttpRequest) -> HttpResponse:
    """The board page: every active counter's current ticket, the latest calls, waiting."""
    profile = get_mall_profile()
    tenant = request.tenant  # type: ignore[attr-defined]
    return render(
        request,
        "queue/board/board.html",
        {
            "tenant": tenant,
            "profile": profile,
            "mall_name": mall_name(profile, tenant),
            "accent_color": profile.accent_color,
            "state": board_state(),
            "now": timezone.localtime(),
        },
    )


@require_safe
@never_cache
def status(request: HttpRequest) -> JsonResponse:
    """The board's state as JSON (what the event stream sends)."""
    return JsonResponse(board_state(), json_dumps_params={"ensure_ascii": False})


@require_GET
@never_cache
def events(request: HttpRequest) -> StreamingHttpResponse:
    """Server-Sent Events: the board's state on every change of this tenant's queue."""
    board_hub.ensure_listener()
    # GZipMiddleware would compress the stream through a gzip buffer that holds small
    # events back until kilobytes pile up; events are tiny, so ask for none.
    request.META.pop("HTTP_ACCEPT_ENCODING", None)
    response = StreamingHttpResponse(
        event_stream(request.tenant),  # type: ignore[attr-defined]
        content_type="text/event-stream; charset=utf-8",
    )
    response["X-Accel-Buffering"] = "no"  # nginx-style proxies: pass events on at once
    return response
