"""``python -m migration_ci.worker FD``: the worker process (see ``process``)."""

from __future__ import annotations

from migration_ci.worker.process import main

raise SystemExit(main())
