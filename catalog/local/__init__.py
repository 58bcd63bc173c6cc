"""A tenant's own catalogue, materialised in its schema."""
