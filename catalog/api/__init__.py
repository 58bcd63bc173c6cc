"""The catalogue REST API: the master catalogue on the apex, a tenant's copy on its host."""
