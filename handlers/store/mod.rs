//! The curated store: schema, migrations and tenant-scoped repositories on SQLite and PostgreSQL. The only place SQL lives.
