"""The `migration-ci` command line and its sub-commands (entry point)."""
