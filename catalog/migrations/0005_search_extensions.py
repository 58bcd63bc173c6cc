"""Search support in the public schema: pg_trgm, unaccent and two IMMUTABLE wrappers.

Every tenant schema resolves these through its search_path (tenant, public), and the tenant
catalogue's generated search vector and trigram index call the wrappers (local_catalog 0003).
They live in public because ``mpp_clone_schema`` refuses a template holding functions.

``unaccent()`` is only STABLE (its dictionary could be reconfigured), so PostgreSQL refuses
it in a generated column or an index; ``mpp_unaccent`` pins the dictionary by name and is
declared IMMUTABLE, the usual and safe wrapper as long as nobody edits unaccent.rules.
Both are SQL-standard bodies (``RETURN``, PostgreSQL 14+): they are parsed once, here, with
every name schema-qualified, so they behave the same under any search_path (the clone
function runs with ``search_path = pg_catalog``).
"""

from django.db import migrations

SQL = """
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

-- COST: matching a query against an accent-folded document (fold it, then compare its
-- trigrams) costs tens of microseconds a row, which the planner cannot see (pg_trgm's
-- operators claim the cost of an integer comparison). Without this it re-folds every row
-- of a small catalogue instead of asking the trigram index; with it, it asks the index.
CREATE OR REPLACE FUNCTION public.mpp_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 1000
    RETURN public.unaccent('public.unaccent'::regdictionary, $1);

-- What trigram search compares a query with: the name and the keywords (as their JSON
-- text, whose quotes also let a query be matched against one whole keyword: '"ktp"'),
-- lower-cased and without accents.
CREATE OR REPLACE FUNCTION public.mpp_search_text(name text, keywords jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.lower(public.mpp_unaccent(
        coalesce(name, '') || ' ' || coalesce(keywords::text, '')));
"""

REVERSE_SQL = """
DROP FUNCTION IF EXISTS public.mpp_search_text(text, jsonb);
DROP FUNCTION IF EXISTS public.mpp_unaccent(text);
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_province_release_immutable")]
    # The extensions stay on reversal: other objects may have come to depend on them.
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
