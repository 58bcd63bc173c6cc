"""The page-version counter and the triggers that bump it (see catalog migration 0006).

A trigger per table a citizen page is made of: the tenant's services and agencies
(local_catalog) and the mall's profile. Statement-level, so a bulk sync of hundreds of
services bumps the counter once per statement, not once per row.
"""

from django.db import migrations, models

TABLES = ("local_catalog_localservice", "local_catalog_localagency", "mall_mallprofile")

TRIGGERS = "\n".join(
    f"CREATE TRIGGER {table}_touch_portal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
    f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION public.mpp_touch_portal();"
    for table in TABLES
)
DROP_TRIGGERS = "\n".join(
    f"DROP TRIGGER IF EXISTS {table}_touch_portal ON {table};" for table in TABLES
)


class Migration(migrations.Migration):
    dependencies = [
        ("mall", "0001_initial"),
        ("local_catalog", "0003_search_unaccent_trigram"),
        ("catalog", "0006_portal_page_versions"),
    ]

    operations = [
        migrations.CreateModel(
            name="PageVersion",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("version", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="page_version_single"
                    )
                ],
            },
        ),
        migrations.RunSQL(
            "INSERT INTO mall_pageversion (id, version) VALUES (1, 0);",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
