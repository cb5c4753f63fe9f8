"""Where the caches kept outside the repository live (parse cache, compiled code).

``$MIGRATION_CI_CACHE_DIR``, else ``$XDG_CACHE_HOME/django-migration-ci``, else
``~/.cache/django-migration-ci``; ``MIGRATION_CI_NO_CACHE=1`` turns them off. A module of its
own so that the worker process can find them without importing the parser.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    if environ.get("MIGRATION_CI_NO_CACHE"):
        return None
    if environ.get("MIGRATION_CI_CACHE_DIR"):
        return Path(environ["MIGRATION_CI_CACHE_DIR"])
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "django-migration-ci"
