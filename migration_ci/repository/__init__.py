"""The git repository: git itself and the trees a check reads (adapter)."""
