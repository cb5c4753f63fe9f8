"""GitHub: the REST API, the Action's inputs, workflow commands (adapters)."""
