"""The report as text, JSON, annotations and the pull-request comment (pure core)."""
