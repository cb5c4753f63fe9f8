"""Throwaway databases on SQLite, PostgreSQL, MariaDB and their snapshots (adapters)."""
