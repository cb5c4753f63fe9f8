from __future__ import annotations

from migration_ci.cli import main

raise SystemExit(main())
