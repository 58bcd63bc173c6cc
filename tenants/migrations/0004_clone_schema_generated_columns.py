"""Replace ``mpp_clone_schema``: copy rows of tables that have generated columns.

The first version copied rows with ``SELECT *``, which PostgreSQL refuses for a table with a
generated column (the tenant catalogue's search vector). Rows are now copied by naming the
stored columns. Everything else is as in 0003.
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

    -- Generated columns cannot be inserted into: name the stored columns explicitly.
    FOR r IN SELECT c.relname,
                    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.attgenerated = '') AS columns
             FROM pg_class c
             WHERE c.relnamespace = src AND c.relkind = 'r' LOOP
        EXECUTE format('INSERT INTO %I.%I (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM %I.%I',
                       target, r.relname, r.columns, r.columns, source, r.relname);
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

REVERSE_SQL = migrations.RunSQL.noop


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_clone_schema_function")]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
