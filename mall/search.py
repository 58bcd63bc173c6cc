"""Citizen search over the current tenant's effective catalogue (Bahasa Indonesia).

One SQL query per search, answered from two GIN indexes of ``LocalService``:

- full text: the generated ``search_vector`` (``indonesian`` stemming, accents folded by
  ``public.mpp_unaccent``; name, keywords, English name and agency, description labelled
  A–D) against ``plainto_tsquery`` of the query and of its synonym-rewritten form;
- typos: pg_trgm word similarity (``%>``) of the query against ``public.mpp_search_text``
  (name and keywords, lower-cased and accent-folded), the expression of the trigram index.

Rank (higher is better) adds up: the weighted text rank (name ≫ keywords ≫ description), the
trigram word similarity of the query to the service's *name* and, at half weight, to name and
keywords together, and a bonus when the query is exactly one of the service's keywords (an
acronym such as "skck", or "kartu tanda penduduk"). Rows are matched and ranked in
PostgreSQL; Python only normalises the query and applies the small synonym map below.

The typo threshold is pg_trgm's ``pg_trgm.word_similarity_threshold`` (default 0.6).
"""

from __future__ import annotations

import re
import unicodedata
from functools import reduce
from operator import or_

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Greatest

from catalog.local.models import LocalService

# Longer input is cut (a search box, not a document): keeps the query plan cheap.
MAX_QUERY_CHARS = 100
MAX_TERMS = 8
MIN_TRIGRAM_QUERY_CHARS = 3

# Spelling variants citizens type -> the catalogue's form. Keys are whole words or phrases
# of the normalised query; the rewritten query is searched *as well as* the original.
SYNONYMS: dict[str, str] = {
    "akte": "akta",
    "pasport": "paspor",
    "passport": "paspor",
    "pasfor": "paspor",
    "perpanjang": "perpanjangan",
    "e-ktp": "ktp-el",
    "ektp": "ktp-el",
    "e ktp": "ktp-el",
    "ktp el": "ktp-el",
    "ktpel": "ktp-el",
    "ijin": "izin",
    "sertifikat": "sertipikat",
    "kawin": "nikah",
    "imb": "pbg",
    "e-paspor": "paspor elektronik",
    # Long forms -> the acronym every service of that kind carries as a keyword.
    "kartu tanda penduduk": "ktp",
    "kartu keluarga": "kk",
    "kartu identitas anak": "kia",
    "surat izin mengemudi": "sim",
    "surat keterangan catatan kepolisian": "skck",
    "nomor induk berusaha": "nib",
    "nomor pokok wajib pajak": "npwp",
    "pajak bumi dan bangunan": "pbb",
    "bea perolehan hak atas tanah dan bangunan": "bphtb",
    "surat tanda nomor kendaraan": "stnk",
    "buku pemilik kendaraan bermotor": "bpkb",
}
# Words that say how, not what ("cara bikin paspor", "syarat perpanjang sim"): dropped,
# unless nothing else is left.
FILLER_WORDS = frozenset(
    {"cara", "syarat", "persyaratan", "bagaimana", "gimana", "mengurus", "urus", "ngurus"}
    | {"mau", "ingin", "saya", "tolong", "apa", "dimana", "mana"}
)

# ts_rank weights for labels D, C, B, A (description, English name/agency, keywords, name).
LABEL_WEIGHTS = [0.05, 0.2, 0.6, 1.0]
NAME_SIMILARITY_WEIGHT = 1.0
# Similarity to name and keywords together: orders typo-only matches among themselves.
DOCUMENT_SIMILARITY_WEIGHT = 0.5
EXACT_KEYWORD_BONUS = 1.0

_NOT_WORD = re.compile(r"[^\w-]+|_+")
_SYNONYM_PATTERNS = [
    (re.compile(rf"(?<![\w-]){re.escape(variant)}(?![\w-])"), canonical)
    for variant, canonical in sorted(SYNONYMS.items(), key=lambda item: -len(item[0]))
]


def normalise_query(query: str) -> str:
    """Lower-case, accent-free words of ``query`` (letters, digits, inner hyphens), bounded."""
    text = unicodedata.normalize("NFKD", query[: MAX_QUERY_CHARS * 4])
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    words = [word.strip("-") for word in _NOT_WORD.sub(" ", text).split()]
    words = [re.sub(r"-{2,}", "-", word) for word in words if word.strip("-")]
    meaningful = [word for word in words if word not in FILLER_WORDS]
    return " ".join((meaningful or words)[:MAX_TERMS])[:MAX_QUERY_CHARS].strip()


def query_variants(query: str) -> list[str]:
    """The normalised query and, if a synonym applies, its rewritten form (at most two)."""
    text = normalise_query(query)
    if not text:
        return []
    rewritten = text
    for pattern, canonical in _SYNONYM_PATTERNS:
        rewritten = pattern.sub(canonical, rewritten)
    return [text] if rewritten == text else [text, rewritten]


def _trigram_document() -> models.Func:
    """The expression of the trigram index (read from the model, so both stay one)."""
    index = next(i for i in LocalService._meta.indexes if i.name == "localservice_search_trgm")
    return index.expressions[0].get_source_expressions()[0]


def _unaccent(value: str) -> models.Func:
    return models.Func(
        Value(value), function="public.mpp_unaccent", output_field=models.TextField()
    )


def search_services(query: str, *, limit: int = 50) -> list[LocalService]:
    """Ranked services of the current tenant schema matching ``query``; each has a ``rank``
    attribute (float, higher is better). Only services citizens can see (enabled, not
    retired). Empty or blank query -> []."""
    variants = query_variants(query or "")
    if not variants or limit <= 0:
        return []
    return list(search_queryset(variants)[:limit])


def search_queryset(variants: list[str]) -> models.QuerySet[LocalService]:
    """The one query behind :func:`search_services`, for the variants of a query."""
    text_query = reduce(
        or_,
        (SearchQuery(_unaccent(v), config="indonesian", search_type="plain") for v in variants),
    )
    # Typos are caught on what the citizen typed; the synonym rewrite goes to full text only
    # (a trigram comparison is the costly part of a search). One- and two-letter queries
    # would be "similar" to every word starting with them, so they get full text only.
    matches = Q(search_vector=text_query)
    if len(variants[0]) >= MIN_TRIGRAM_QUERY_CHARS:
        matches |= Q(search_document__trigram_word_similar=_unaccent(variants[0]))
    name = models.Func(
        F("name_id"), function="public.mpp_unaccent", output_field=models.TextField()
    )
    name_similarity = [TrigramWordSimilarity(_unaccent(v), name) for v in variants]
    # The document holds the keywords as JSON text, so '"skck"' is exactly one keyword.
    exact_keyword = reduce(or_, (Q(search_document__contains=f'"{v}"') for v in variants))
    rank = (
        SearchRank(F("search_vector"), text_query, weights=LABEL_WEIGHTS)
        + NAME_SIMILARITY_WEIGHT
        * (Greatest(*name_similarity) if len(name_similarity) > 1 else name_similarity[0])
        + DOCUMENT_SIMILARITY_WEIGHT
        * TrigramWordSimilarity(_unaccent(variants[0]), F("search_document"))
        + Case(
            When(exact_keyword, then=Value(EXACT_KEYWORD_BONUS)),
            default=Value(0.0),
            output_field=models.FloatField(),
        )
    )
    return (
        LocalService.objects.filter(enabled=True, retired=False)
        .alias(search_document=_trigram_document())
        .filter(matches)
        .annotate(rank=models.ExpressionWrapper(rank, output_field=models.FloatField()))
        .defer("search_vector")
        .order_by("-rank", "name_id", "pk")
    )
