"""Catalogue import and export over the API: the master on the apex, a tenant's own services
on its host. Parsing, checking and writing are ``catalog.io``'s; these views only read the
request, check permission and shape the answer, as the CLI (``mpp catalogue import/export``).

An import is all or nothing: a refused file answers 400 with every problem as
``{"row", "key", "field", "reason"}`` and nothing is written.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError as APIValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import serializers as s
from catalog.api.permissions import MasterCataloguePermission, TenantCataloguePermission
from catalog.api.views import _filters
from catalog.io import (
    CatalogueImportError,
    RowError,
    export_csv,
    export_hsds,
    export_json,
    import_local_services,
    import_master,
    local_catalogue_data,
    master_catalogue_data,
    parse_csv,
    parse_json,
)
from catalog.models import Release

# The shipped master.json is about 0.4 MB; a file 25 times that is not a catalogue.
MAX_IMPORT_BYTES = 10 * 1024 * 1024
IMPORT_FORMATS = tuple(code for code, _ in s.IMPORT_FORMATS)
EXTENSIONS = {".json": "json", ".csv": "csv"}


# --- Reading a file from the request ----------------------------------------------------------


class FileFormatNegotiation(DefaultContentNegotiation):
    """On these endpoints ``?format=`` names the file to produce, not DRF's renderer (DRF
    would answer 404 to ``?format=csv``); every answer that is not the file is JSON."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = renderers[0]
        return renderer, renderer.media_type


class _RawFileParser(BaseParser):
    """The body as bytes, untouched: ``catalog.io`` parses it and reports a bad file in the
    same ``errors`` shape as a bad row (DRF's JSONParser would answer its own 400)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> bytes:
        # One byte past the limit tells "too large" from "exactly at the limit".
        return stream.read(MAX_IMPORT_BYTES + 1)


class JSONFileParser(_RawFileParser):
    """A master.json-format file sent as the request body."""

    media_type = "application/json"


class CSVFileParser(_RawFileParser):
    """A CSV file (one row per service) sent as the request body."""

    media_type = "text/csv"


def _refused(field: str, reason: str) -> CatalogueImportError:
    return CatalogueImportError([RowError(None, "", field, reason)])


def _received_file(request: Request) -> tuple[str, str]:
    """(format, text) of the file sent as a multipart ``file`` field or as the raw body.

    Raises CatalogueImportError naming ``file`` or ``format`` when there is nothing usable.
    """
    data = request.data
    if isinstance(data, bytes):
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        fmt, raw = ("csv" if media_type == CSVFileParser.media_type else "json"), data
    else:
        upload = request.FILES.get("file")
        if upload is None:
            raise _refused(
                "file",
                "Kirim berkas di kolom `file`, atau isi berkas sebagai badan permintaan "
                "(application/json atau text/csv). / Send a file in the `file` field, or the "
                "file itself as the body (application/json or text/csv).",
            )
        fmt = str(data.get("format") or "").strip().lower()
        if not fmt:
            name = (upload.name or "").lower()
            fmt = next((f for ext, f in EXTENSIONS.items() if name.endswith(ext)), "")
            if not fmt:
                raise _refused(
                    "format",
                    "Format tidak dapat ditebak dari nama berkas; isi kolom `format` (json "
                    "atau csv). / Cannot tell the format from the file name; set `format` "
                    "(json or csv).",
                )
        if fmt not in IMPORT_FORMATS:
            raise _refused(
                "format",
                f"Format impor harus json atau csv (bukan {fmt!r}). / "
                f"Import format must be json or csv (got {fmt!r}).",
            )
        raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise _refused(
            "file",
            f"Berkas lebih dari {MAX_IMPORT_BYTES // (1024 * 1024)} MB. / "
            f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.",
        )
    if not raw.strip():
        raise _refused("file", "Berkas kosong. / The file is empty.")
    try:
        return fmt, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refused(
            "file",
            f"Berkas bukan teks UTF-8 (byte {exc.start}). / The file is not UTF-8 text "
            f"(byte {exc.start}); save it as UTF-8.",
        ) from None


def _parsed(fmt: str, text: str) -> dict[str, Any]:
    return parse_csv(text) if fmt == "csv" else parse_json(text)


def _errors_response(exc: CatalogueImportError) -> Response:
    return Response({"errors": [dataclasses.asdict(error) for error in exc.errors]}, status=400)


def _file_response(data: dict[str, Any], fmt: str, name: str, *, base_url: str) -> HttpResponse:
    """The catalogue ``data`` rendered as ``fmt``, offered as a download named ``name``."""
    if fmt == "csv":
        body, content_type, suffix = export_csv(data), "text/csv", ".csv"
    elif fmt == "hsds":
        hsds = export_hsds(data, base_url=base_url)
        body = json.dumps(hsds, ensure_ascii=False, indent=2) + "\n"
        content_type, suffix = "application/json", "-hsds.json"
    else:
        body, content_type, suffix = export_json(data), "application/json", ".json"
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}{suffix}"'
    return response


EXPORT_RESPONSES = {
    (200, "application/json"): OpenApiResponse(
        OpenApiTypes.OBJECT, description="format=json (master.json format) or format=hsds"
    ),
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="format=csv"),
}
IMPORT_REQUEST = {
    "multipart/form-data": s.ImportUploadSerializer,
    "application/json": OpenApiTypes.OBJECT,
    "text/csv": OpenApiTypes.STR,
}
IMPORT_RESPONSES = {200: s.ImportResultSerializer, 400: s.ImportErrorsSerializer}


# --- Master catalogue (apex) ------------------------------------------------------------------


class MasterExportView(APIView):
    """Download the master catalogue, live or as published in a release."""

    permission_classes = [MasterCataloguePermission]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        operation_id="catalogue_export",
        parameters=[s.MasterExportQuerySerializer],
        responses=EXPORT_RESPONSES,
    )
    def get(self, request: Request) -> HttpResponse:
        """The master catalogue as JSON (master.json format), CSV or Open Referral HSDS."""
        query = _filters(s.MasterExportQuerySerializer, request)
        version = query.get("release")
        try:
            data = master_catalogue_data(version)
        except Release.DoesNotExist:
            raise APIValidationError(
                {"release": [f"Rilis {version} tidak ada. / No catalogue release {version}."]}
            ) from None
        name = "satuatap-induk" + (f"-rilis-{version}" if version else "")
        # The master has no portal of its own, so HSDS services carry no page URL.
        return _file_response(data, query["format"], name, base_url="")


class MasterImportView(APIView):
    """Load a catalogue file into the master catalogue (operators only)."""

    permission_classes = [MasterCataloguePermission]
    renderer_classes = [JSONRenderer]
    parser_classes = [MultiPartParser, JSONFileParser, CSVFileParser]

    @extend_schema(
        operation_id="catalogue_import", request=IMPORT_REQUEST, responses=IMPORT_RESPONSES
    )
    def post(self, request: Request) -> Response:
        """Insert or update master agencies, categories and services by key, all or nothing.

        Services not in the file are left as they are. Tenants receive the changes with the
        next release.
        """
        try:
            fmt, text = _received_file(request)
            counts = import_master(_parsed(fmt, text), acting_user=request.user)
        except CatalogueImportError as exc:
            return _errors_response(exc)
        return Response({"format": fmt, "counts": counts})


# --- A tenant's catalogue (tenant host) -------------------------------------------------------


class LocalExportView(APIView):
    """Download this mall's catalogue."""

    permission_classes = [TenantCataloguePermission]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        operation_id="export",
        parameters=[s.LocalExportQuerySerializer],
        responses=EXPORT_RESPONSES,
    )
    def get(self, request: Request) -> HttpResponse:
        """Every service this mall offers (``scope=all``), or only its own (``scope=local``),
        as JSON (master.json format), CSV or Open Referral HSDS with links to the portal."""
        query = _filters(s.LocalExportQuerySerializer, request)
        own_only = query["scope"] == "local"
        data = local_catalogue_data(include_master=not own_only)
        slug = request.tenant.slug  # type: ignore[attr-defined]
        name = f"satuatap-{slug}" + ("-lokal" if own_only else "")
        base_url = f"{request.scheme}://{request.get_host()}"
        return _file_response(data, query["format"], name, base_url=base_url)


class LocalImportView(APIView):
    """Create or update this mall's own services from a file (the tenant admin only)."""

    permission_classes = [TenantCataloguePermission]
    renderer_classes = [JSONRenderer]
    parser_classes = [MultiPartParser, JSONFileParser, CSVFileParser]

    @extend_schema(operation_id="import", request=IMPORT_REQUEST, responses=IMPORT_RESPONSES)
    def post(self, request: Request) -> Response:
        """Create or update local services by key, all or nothing.

        A key of a master service, or an agency this mall does not have, refuses the file.
        ``GET /api/v1/export/?scope=local`` gives a file in the shape this takes.
        """
        try:
            fmt, text = _received_file(request)
            counts = import_local_services(_parsed(fmt, text), acting_user=request.user)
        except CatalogueImportError as exc:
            return _errors_response(exc)
        return Response({"format": fmt, "counts": counts})
