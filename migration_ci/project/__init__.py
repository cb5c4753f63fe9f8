"""The user's project from the tool's side: its temporary copy, the worker (adapters)."""
