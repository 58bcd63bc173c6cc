"""Releases are immutable: the database refuses to change or delete one."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION catalog_release_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'catalogue release % is immutable', OLD.version
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_release_immutable
    BEFORE UPDATE OR DELETE ON catalog_release
    FOR EACH ROW EXECUTE FUNCTION catalog_release_immutable();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS catalog_release_immutable ON catalog_release;
DROP FUNCTION IF EXISTS catalog_release_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
