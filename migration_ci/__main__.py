from __future__ import annotations

from migration_ci.cli.main import main

raise SystemExit(main())
