"""Province releases are immutable, like master releases."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION catalog_provincerelease_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'province catalogue release % is immutable', OLD.version
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER catalog_provincerelease_immutable
    BEFORE UPDATE OR DELETE ON catalog_provincerelease
    FOR EACH ROW EXECUTE FUNCTION catalog_provincerelease_immutable();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS catalog_provincerelease_immutable ON catalog_provincerelease;
DROP FUNCTION IF EXISTS catalog_provincerelease_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_province_overlay")]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
