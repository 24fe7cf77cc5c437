"""PostgreSQL adapters: connection pool, migrations, fencing-token guard."""
