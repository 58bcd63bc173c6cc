"""``mpp_clone_schema(source, target)``: copy a schema's tables, keys, indexes and rows.

Provisioning clones the migrated template schema with it. django-tenants ships a generic
clone function, but it walks the catalogue object by object and takes ~170 ms for a dozen
tables; this one does only what Django's migrations create, in ~25 ms, keeping every
constraint and index name (later migrations refer to them by name):

1. tables with their columns, defaults, identity and generated columns and CHECK constraints
   (``CREATE TABLE … (LIKE …)``);
2. primary keys, unique and exclusion constraints, under their own names;
3. the remaining indexes, under their own names;
4. the rows (content types, permissions, the migration history), and identity sequences
   moved past them;
5. foreign keys, re-pointed at the new schema's tables (references into ``public`` stay);
6. row and statement triggers.

An object kind it does not know how to copy (a view, a function, a free-standing sequence)
makes it raise instead of producing an incomplete tenant; the test suite compares a clone
with a migrated schema object by object.
"""

from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION mpp_clone_schema(source text, target text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog
AS $$
DECLARE
    r record;
    src oid := (SELECT oid FROM pg_namespace WHERE nspname = source);
    old_prefix text := quote_ident(source) || '.';
    new_prefix text := quote_ident(target) || '.';
    seq text;
BEGIN
    IF src IS NULL THEN
        RAISE EXCEPTION 'schema % does not exist', source;
    END IF;
    PERFORM 1 FROM pg_class c
        WHERE c.relnamespace = src
          AND (c.relkind IN ('v', 'm', 'f', 'p')
               OR (c.relkind = 'S' AND NOT EXISTS (
                   SELECT 1 FROM pg_depend d
                   WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))));
    IF FOUND THEN
        RAISE EXCEPTION 'schema % holds views, partitions or free sequences, which mpp_clone_schema does not copy', source;
    END IF;
    PERFORM 1 FROM pg_proc WHERE pronamespace = src;
    IF FOUND THEN
        RAISE EXCEPTION 'schema % holds functions, which mpp_clone_schema does not copy', source;
    END IF;

    EXECUTE format('CREATE SCHEMA %I', target);

    FOR r IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = src AND c.relkind = 'r' LOOP
        EXECUTE format(
            'CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING IDENTITY '
            'INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)',
            target, r.relname, source, r.relname);
    END LOOP;

    FOR r IN SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS def
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
             WHERE k.connamespace = src AND k.contype IN ('p', 'u', 'x') LOOP
        EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
                       target, r.relname, r.conname, r.def);
    END LOOP;

    FOR r IN SELECT pg_get_indexdef(i.indexrelid) AS def
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relnamespace = src
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                               WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) LOOP
        EXECUTE replace(r.def, ' ON ' || old_prefix, ' ON ' || new_prefix);
    END LOOP;

    FOR r IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = src AND c.relkind = 'r' LOOP
        EXECUTE format('INSERT INTO %I.%I OVERRIDING SYSTEM VALUE SELECT * FROM %I.%I',
                       target, r.relname, source, r.relname);
    END LOOP;
    FOR r IN SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             WHERE c.relnamespace = src AND c.relkind = 'r' AND a.attidentity <> '' LOOP
        seq := pg_get_serial_sequence(format('%I.%I', target, r.relname), r.attname);
        EXECUTE format('SELECT setval(%L, COALESCE((SELECT max(%I) FROM %I.%I), 0) + 1, false)',
                       seq, r.attname, target, r.relname);
    END LOOP;

    FOR r IN SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) AS def
             FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
             WHERE k.connamespace = src AND k.contype = 'f' LOOP
        EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s', target, r.relname, r.conname,
                       replace(r.def, 'REFERENCES ' || old_prefix, 'REFERENCES ' || new_prefix));
    END LOOP;

    FOR r IN SELECT pg_get_triggerdef(t.oid) AS def
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
             WHERE c.relnamespace = src AND NOT t.tgisinternal LOOP
        EXECUTE replace(r.def, ' ON ' || old_prefix, ' ON ' || new_prefix);
    END LOOP;
END
$$;
"""

REVERSE_SQL = "DROP FUNCTION IF EXISTS mpp_clone_schema(text, text);"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0002_routing_notify")]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
