"""Notify every process's routing cache of any change to tenants or domains.

A trigger, not a Django signal: it also fires for bulk updates, raw SQL and other clients.
NOTIFY is transactional, so a rolled-back change notifies nobody.
"""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION tenants_routing_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('tenants_routing', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tenants_tenant_routing_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants_tenant
    FOR EACH STATEMENT EXECUTE FUNCTION tenants_routing_notify();
CREATE TRIGGER tenants_domain_routing_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tenants_domain
    FOR EACH STATEMENT EXECUTE FUNCTION tenants_routing_notify();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS tenants_tenant_routing_notify ON tenants_tenant;
DROP TRIGGER IF EXISTS tenants_domain_routing_notify ON tenants_domain;
DROP FUNCTION IF EXISTS tenants_routing_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
