"""django-tenants' PostgreSQL backend, safe behind PgBouncer in transaction mode (see base)."""
