"""Citizen search (mall.search) against the real catalogue of tenants A and B.

The shipped catalogue (198 services) is seeded into both tenants by the session fixtures, so
these cases search what a real mall offers; local services and overrides are made through
the tenant's own actions, and every test's changes roll back.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import tenant_context

from catalog.actions import delete_master_service
from catalog.local import actions as local
from catalog.local.models import LocalService
from catalog.local.sync import apply_sync, latest_upstream
from catalog.models import Service
from catalog.releases import publish_release
from mall.search import normalise_query, query_variants, search_queryset, search_services
from tenants.models import Province, Tenant
from tenants.provisioning import provision_tenant
from tests.conftest import spec

KTP_EL = {"dukcapil-ktp-el-baru", "dukcapil-ktp-el-hilang-rusak", "dukcapil-ktp-el-perubahan-data"}
KTP_EL_ALL = KTP_EL | {"dukcapil-ktp-el-orang-asing"}
AKTA_LAHIR = "dukcapil-akta-kelahiran"


def keys(tenant: Tenant, query: str, **kwargs: Any) -> list[str]:
    """Keys of the services a search on ``tenant`` returns, best first."""
    with tenant_context(tenant):
        return [service.key for service in search_services(query, **kwargs)]


def local_service(tenant: Tenant, key: str, name: str, description: str = "") -> LocalService:
    """A local-only service of ``tenant``, made by the tenant's own action."""
    with tenant_context(tenant):
        return local.create_local_service(
            {"key": key, "agency_code": "dukcapil", "name_id": name,
             "description_id": description, "fee": 0},
            acting_user=None,
        )  # fmt: skip


# --- acronyms and long forms -----------------------------------------------------------------


@pytest.mark.parametrize("query", ["KTP", "ktp", "e-KTP", "ektp", "KTP-el", "e ktp"])
def test_ktp_and_its_spellings_find_the_ktp_el_services_first(tenant_a: Tenant, query: str) -> None:
    found = keys(tenant_a, query)
    assert found[0] == "dukcapil-ktp-el-baru"
    assert set(found[:4]) == KTP_EL_ALL, found[:6]


def test_kartu_tanda_penduduk_finds_the_ktp_el_services(tenant_a: Tenant) -> None:
    found = keys(tenant_a, "kartu tanda penduduk")
    assert found[0] == "dukcapil-ktp-el-baru"
    assert set(found[:4]) == KTP_EL_ALL, found[:6]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SKCK", {"polres-skck-baru", "polres-skck-perpanjangan"}),
        ("nib", {"dpmptsp-nib-oss", "dpmptsp-perubahan-nib"}),
        ("BPHTB", {"bapenda-bphtb"}),
        ("npwp", {"kpp-npwp-coretax", "kpp-penghapusan-npwp"}),
        ("imb", {"dpmptsp-pbg"}),
        ("nomor induk berusaha", {"dpmptsp-nib-oss"}),
    ],
)
def test_exact_acronym_ranks_its_services_first(
    tenant_a: Tenant, query: str, expected: set[str]
) -> None:
    found = keys(tenant_a, query)
    assert set(found[: len(expected)]) == expected, found[:5]


# --- typos and variants ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["akte kelahiran", "akta kelahiran", "Akta Kelahíran", "akta kelahran", "AKTE LAHIR"]
)
def test_akta_kelahiran_and_its_misspellings_find_it_first(tenant_a: Tenant, query: str) -> None:
    assert keys(tenant_a, query)[0] == AKTA_LAHIR


@pytest.mark.parametrize("query", ["perpanjang sim", "perpanjangan SIM", "syarat perpanjang sim"])
def test_perpanjang_sim_finds_the_licence_renewals(tenant_a: Tenant, query: str) -> None:
    found = keys(tenant_a, query)
    renewals = {"satpas-sim-a-perpanjangan", "satpas-sim-c-perpanjangan",
                "satpas-sim-b1-perpanjangan", "satpas-sim-b2-perpanjangan"}  # fmt: skip
    assert set(found[:4]) == renewals, found[:6]


@pytest.mark.parametrize("query", ["pasport", "passport", "paspr", "Pasport baru"])
def test_passport_misspellings_find_passport_services(tenant_a: Tenant, query: str) -> None:
    found = keys(tenant_a, query)
    assert len(found) >= 6, found
    assert all(key.startswith("imigrasi-") and "paspor" in key for key in found[:6]), found[:8]


def test_how_to_words_are_ignored(tenant_a: Tenant) -> None:
    assert keys(tenant_a, "cara bikin paspor")[0] == "imigrasi-paspor-non-elektronik"
    assert keys(tenant_a, "Bagaimana cara mengurus SKCK?")[0].startswith("polres-skck-")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("legalisir ijasah", "disdik-legalisir-ijazah"),  # typo, no synonym
        ("ijin usaha", "dpmptsp-sertifikat-standar-izin"),  # synonym ijin -> izin
        ("kir", "dishub-uji-berkala-kir"),
        ("balik nama motor", "samsat-balik-nama"),
        ("paspor hilang", "imigrasi-paspor-hilang"),
    ],
)
def test_typos_and_synonyms_find_the_right_service_first(
    tenant_a: Tenant, query: str, expected: str
) -> None:
    assert keys(tenant_a, query)[0] == expected


def test_surat_izin_mengemudi_finds_only_driving_licences_on_top(tenant_a: Tenant) -> None:
    found = keys(tenant_a, "surat izin mengemudi")
    assert len(found) >= 10 and all(key.startswith("satpas-sim-") for key in found[:10])


# --- ranking ---------------------------------------------------------------------------------


def test_sim_a_ranks_sim_a_above_sim_c(tenant_a: Tenant) -> None:
    found = keys(tenant_a, "sim a")
    assert set(found[:2]) == {"satpas-sim-a-baru", "satpas-sim-a-perpanjangan"}
    assert found.index("satpas-sim-a-baru") < found.index("satpas-sim-c-baru")


def test_results_carry_a_float_rank_best_first(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        results = search_services("akta")
    ranks = [service.rank for service in results]
    assert len(results) >= 5 and all(isinstance(rank, float) for rank in ranks)
    assert ranks == sorted(ranks, reverse=True) and ranks[-1] >= 0


def test_name_match_ranks_above_description_match(tenant_a: Tenant) -> None:
    in_description = local_service(
        tenant_a, "alpha-antar-berkas", "Antar Berkas ke Pulau",
        "Berkas diantar dengan kapal pompong ke pulau-pulau.",
    )  # fmt: skip
    in_name = local_service(tenant_a, "alpha-pompong", "Layanan Pompong Keliling")
    found = keys(tenant_a, "pompong")
    assert found == [in_name.key, in_description.key]


def test_limit_bounds_the_results(tenant_a: Tenant) -> None:
    assert len(keys(tenant_a, "sim", limit=3)) == 3
    assert len(keys(tenant_a, "sim")) > 3
    assert keys(tenant_a, "sim", limit=0) == []


# --- what citizens may see -------------------------------------------------------------------


def test_disabled_service_is_not_returned(tenant_a: Tenant) -> None:
    with tenant_context(tenant_a):
        service = LocalService.objects.get(key=AKTA_LAHIR)
        local.set_enabled(service, False, acting_user=None)
    assert AKTA_LAHIR not in keys(tenant_a, "akta kelahiran")
    assert AKTA_LAHIR not in keys(tenant_a, "akte kelahiran")  # nor through the typo path


def test_retired_service_is_not_returned(tenant_a: Tenant) -> None:
    delete_master_service(Service.objects.get(key="bapenda-bphtb"), acting_user=None)
    publish_release(acting_user=None)
    apply_sync(tenant_a, latest_upstream(), acting_user=None)
    with tenant_context(tenant_a):
        assert LocalService.objects.get(key="bapenda-bphtb").retired
    found = keys(tenant_a, "bphtb")
    assert "bapenda-bphtb" not in found
    assert "bank-brk-syariah-pembayaran-pajak-daerah" in found  # the others still are


# --- tenants ---------------------------------------------------------------------------------


def test_local_service_is_found_on_its_tenant_only(tenant_a: Tenant, tenant_b: Tenant) -> None:
    own = local_service(tenant_a, "alpha-kartu-pelajar", "Kartu Pelajar Élite Kepulauan")
    assert keys(tenant_a, "kartu pelajar elite")[0] == own.key
    assert keys(tenant_a, "pelajr")[0] == own.key  # typo path too
    for query in ["kartu pelajar elite", "pelajr", "élite", own.key]:
        assert own.key not in keys(tenant_b, query)


def test_override_is_searched_on_its_tenant_only(tenant_a: Tenant, tenant_b: Tenant) -> None:
    with tenant_context(tenant_a):
        service = LocalService.objects.get(key=AKTA_LAHIR)
        local.override_field(service, "keywords", ["akta kilat"], acting_user=None)
    assert keys(tenant_a, "akta kilat")[0] == AKTA_LAHIR
    assert AKTA_LAHIR not in keys(tenant_b, "akta kilat")
    assert keys(tenant_b, "akte kelahiran")[0] == AKTA_LAHIR  # B keeps upstream's keywords


def test_a_tenant_provisioned_now_can_search(kepri: Province) -> None:
    tenant = provision_tenant(spec(kepri), acting_user=None)
    with tenant_context(tenant), connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
            [tenant.schema_name, LocalService._meta.db_table],
        )
        indexes = {row[0] for row in cursor.fetchall()}
        assert {"localservice_search_gin", "localservice_search_trgm"} <= indexes
        assert search_services("akte kelahiran")[0].key == AKTA_LAHIR
        assert {s.key for s in search_services("KTP")[:4]} == KTP_EL_ALL

        # The clone's indexes answer the search (no per-row folding of every service).
        sql, params = search_queryset(query_variants("pasport")).query.sql_with_params()
        cursor.execute(f"ANALYZE {LocalService._meta.db_table}")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "localservice_search_gin" in plan and "localservice_search_trgm" in plan, plan


# --- input that must not break anything ------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "!!!", "%_%", "-- -", "'\"", "\x00"])
def test_blank_or_symbol_only_query_returns_nothing_without_a_query(
    tenant_a: Tenant, query: str, django_assert_num_queries: Any
) -> None:
    with tenant_context(tenant_a), django_assert_num_queries(0):
        assert search_services(query) == []


@pytest.mark.parametrize(
    ("query", "finds_ktp"),
    [
        ("'; DROP TABLE local_catalog_localservice; --", False),
        ("ktp' OR '1'='1", False),  # every word must match: "or", "1" do not
        ("100% ktp", False),
        ("%", False),
        ("ktp_el", True),
        ("ktp:* & !akta | <-> (", False),
        ('"ktp"', True),
        ("ktp\\", True),
        ("ktp\x00", True),
        ("ktp \U0001f600", True),
    ],
)
def test_sql_and_tsquery_syntax_is_just_text(tenant_a: Tenant, query: str, finds_ktp: bool) -> None:
    found = keys(tenant_a, query)
    assert isinstance(found, list)
    with tenant_context(tenant_a):
        assert LocalService.objects.count() == 198  # the table is still there
    if finds_ktp:
        assert set(found[:4]) == KTP_EL_ALL, found[:6]


@pytest.mark.parametrize(
    "query", ["akta kelahiran " * 2000, "x" * 100_000, "a " * 50_000, "-" * 10_000 + "ktp"]
)
def test_very_long_input_is_cut_not_an_error(
    tenant_a: Tenant, query: str, django_assert_max_num_queries: Any
) -> None:
    assert len(normalise_query(query)) <= 100
    with tenant_context(tenant_a):
        LocalService.objects.exists()  # switch to the tenant's schema first
        with django_assert_max_num_queries(1):
            found = [service.key for service in search_services(query)]
    if query.startswith("akta"):
        assert found[0] == AKTA_LAHIR


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["akte kelahiran", "KTP", "sim a", "pasport", "x"])
def test_one_sql_query_per_search(
    tenant_a: Tenant, query: str, django_assert_num_queries: Any
) -> None:
    with tenant_context(tenant_a):
        LocalService.objects.exists()  # the schema switch is not the search's cost
        with django_assert_num_queries(1):
            # What a results page shows (name, agency, fee, time) needs no further query.
            shown = [
                (s.name_id, s.agency_name, s.fee, s.processing_days, s.rank)
                for s in search_services(query)
            ]
    assert shown or query == "x"


def test_query_normalisation_and_variants() -> None:
    assert normalise_query("  Cara   Bikin  PASPÒR!! ") == "bikin paspor"
    assert normalise_query("cara") == "cara"  # only filler: kept rather than dropped
    assert normalise_query("--e--ktp--") == "e-ktp"
    assert query_variants("akte kelahiran") == ["akte kelahiran", "akta kelahiran"]
    assert query_variants("kartu tanda penduduk") == ["kartu tanda penduduk", "ktp"]
    assert query_variants("skck") == ["skck"]
    assert query_variants("?!") == []
