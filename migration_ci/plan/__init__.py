"""The `migrate --plan` diff of a branch, its risk levels and its rendering (pure core)."""
