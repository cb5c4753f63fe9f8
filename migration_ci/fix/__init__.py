"""Merge migrations and rebases, named and written as Django would write them (pure core)."""
