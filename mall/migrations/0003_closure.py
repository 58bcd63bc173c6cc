"""Holidays and special closures; their changes invalidate cached pages like the rest."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("mall", "0002_page_version"),
    ]

    operations = [
        migrations.CreateModel(
            name="Closure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField(unique=True, verbose_name="tanggal")),
                ("name", models.CharField(max_length=120, verbose_name="keterangan")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["date"],
            },
        ),
        migrations.RunSQL(
            "CREATE TRIGGER mall_closure_touch_portal AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON mall_closure FOR EACH STATEMENT EXECUTE FUNCTION public.mpp_touch_portal();",
            "DROP TRIGGER IF EXISTS mall_closure_touch_portal ON mall_closure;",
        ),
    ]
