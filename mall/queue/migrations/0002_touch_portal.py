"""Queue settings and counters decide the portal's "Pesan antrean online" link: their
changes invalidate cached pages like the catalogue's and the mall's own (mall 0002)."""

from django.db import migrations

TABLES = ("queue_queuesetting", "queue_counter")


class Migration(migrations.Migration):
    dependencies = [
        ("queue", "0001_initial"),
        ("mall", "0002_page_version"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE TRIGGER {table}_touch_portal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION public.mpp_touch_portal();",
            f"DROP TRIGGER IF EXISTS {table}_touch_portal ON {table};",
        )
        for table in TABLES
    ]
