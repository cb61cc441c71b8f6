"""Everything about the SQLite file: its schema, writing records to it, and serving it."""
