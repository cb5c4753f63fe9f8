"""One function per activity: check, fix, verify, plan, report, the Action (glue)."""
