"""The migration graph, read from the files as Django's loader reads them (pure core)."""
