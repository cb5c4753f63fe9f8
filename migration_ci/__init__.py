"""django-migration-ci: find, fix and verify forked Django migration leaves."""

from __future__ import annotations

__version__ = "0.1.0"
