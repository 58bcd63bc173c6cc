"""Province statistics: a rollup of tenant figures in the public schema."""
