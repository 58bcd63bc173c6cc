"""Page-cache invalidation for the citizen portals, done by the database itself.

Each tenant schema holds one counter, ``mall_pageversion``, that is part of every cached
portal page's key (mall.page_cache). Statement triggers on the tables a portal page is made
of (mall 0002) call ``mpp_touch_portal``, which bumps the counter of the schema the changed
table lives in (``TG_TABLE_SCHEMA``, not the search_path), so every path that changes a
catalogue — actions, sync, bulk updates, raw SQL, another client — invalidates that tenant's
pages, and only that tenant's. The category names, shared by every portal, live in public:
a change to them bumps every tenant's counter.

The functions live in public because ``mpp_clone_schema`` refuses a template holding
functions; the counter is an upsert, so a schema whose row is missing gets one.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION public.mpp_bump_page_version(schema_name text) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF pg_catalog.to_regclass(pg_catalog.format('%I.mall_pageversion', schema_name))
            IS NOT NULL THEN
        EXECUTE pg_catalog.format(
            'INSERT INTO %I.mall_pageversion (id, version) VALUES (1, 1) '
            'ON CONFLICT (id) DO UPDATE SET version = mall_pageversion.version + 1',
            schema_name);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION public.mpp_touch_portal() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.mpp_bump_page_version(TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION public.mpp_touch_all_portals() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    s text;
BEGIN
    FOR s IN SELECT t.schema_name FROM public.tenants_tenant t LOOP
        PERFORM public.mpp_bump_page_version(s);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER catalog_category_touch_portals
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public.catalog_category
    FOR EACH STATEMENT EXECUTE FUNCTION public.mpp_touch_all_portals();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS catalog_category_touch_portals ON public.catalog_category;
DROP FUNCTION IF EXISTS public.mpp_touch_all_portals();
DROP FUNCTION IF EXISTS public.mpp_touch_portal();
DROP FUNCTION IF EXISTS public.mpp_bump_page_version(text);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_search_extensions"),
        ("tenants", "0004_clone_schema_generated_columns"),
    ]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
