"""Citizen search: accent-folded search vector with one label per source, and a trigram index.

Django cannot change a generated column's expression in place ("Modifying GeneratedFields is
not supported"), so the vector is dropped and added again (PostgreSQL recomputes it for
every row) with its GIN index around it. The functions called here live in public (catalog
migration 0005), so cloned tenant schemas keep holding no functions of their own.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.functions.comparison
from django.db import migrations, models


def _unaccent(expression: object) -> models.Func:
    return models.Func(expression, function="public.mpp_unaccent", output_field=models.TextField())


SEARCH_VECTOR = django.contrib.postgres.search.CombinedSearchVector(
    django.contrib.postgres.search.CombinedSearchVector(
        django.contrib.postgres.search.CombinedSearchVector(
            django.contrib.postgres.search.SearchVector(
                _unaccent("name_id"), config="indonesian", weight="A"
            ),
            "||",
            django.contrib.postgres.search.SearchVector(
                _unaccent(
                    django.db.models.functions.comparison.Cast("keywords", models.TextField())
                ),
                config="indonesian",
                weight="B",
            ),
            django.contrib.postgres.search.SearchConfig("indonesian"),
        ),
        "||",
        django.contrib.postgres.search.SearchVector(
            _unaccent("name_en"), _unaccent("agency_name"), config="indonesian", weight="C"
        ),
        django.contrib.postgres.search.SearchConfig("indonesian"),
    ),
    "||",
    django.contrib.postgres.search.SearchVector(
        _unaccent("description_id"), config="indonesian", weight="D"
    ),
    django.contrib.postgres.search.SearchConfig("indonesian"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("local_catalog", "0002_merge_state_agencies_search"),
        ("catalog", "0005_search_extensions"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="localservice", name="localservice_search_gin"),
        migrations.RemoveField(model_name="localservice", name="search_vector"),
        migrations.AddField(
            model_name="localservice",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=SEARCH_VECTOR,
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="localservice",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="localservice_search_gin"
            ),
        ),
        migrations.AddIndex(
            model_name="localservice",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    models.Func(
                        "name_id",
                        "keywords",
                        function="public.mpp_search_text",
                        output_field=models.TextField(),
                    ),
                    name="gin_trgm_ops",
                ),
                name="localservice_search_trgm",
            ),
        ),
    ]
