"""Check that the database servers of the test URLs answer: python -m tests.support.dbcheck.

Exit 0 when every URL that is set can be connected to; 1 naming the unreachable URL otherwise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

URL_VARIABLES = ("MIGRATION_CI_TEST_POSTGRES_URL", "MIGRATION_CI_TEST_MYSQL_URL")


def connect_error(url: str) -> str | None:
    """None if the server at ``url`` answers a query, else why not."""
    import dj_database_url

    conf = dj_database_url.parse(url)
    try:
        if "postgresql" in conf["ENGINE"]:
            import psycopg

            with psycopg.connect(
                host=conf["HOST"],
                port=conf["PORT"] or 5432,
                user=conf["USER"],
                password=conf["PASSWORD"] or None,
                dbname=conf["NAME"] or "postgres",
                connect_timeout=5,
            ) as conn:
                conn.execute("SELECT 1")
        elif "mysql" in conf["ENGINE"]:
            import MySQLdb

            conn = MySQLdb.connect(
                host=conf["HOST"],
                port=int(conf["PORT"] or 3306),
                user=conf["USER"],
                password=conf["PASSWORD"] or "",
                connect_timeout=5,
            )
            conn.cursor().execute("SELECT 1")
            conn.close()
        else:
            return f"unsupported engine {conf['ENGINE']!r}"
    except Exception as exc:  # report any driver failure as "unreachable"
        return " ".join(str(exc).split()) or type(exc).__name__
    return None


def main(argv: Sequence[str] | None = None) -> int:
    quiet = "--quiet" in (argv if argv is not None else sys.argv[1:])
    failed = False
    for name in URL_VARIABLES:
        url = os.environ.get(name)
        if not url:
            continue
        error = connect_error(url)
        if error:
            failed = True
            if not quiet:
                print(f"dbcheck: {name}={url} is set but unreachable: {error}", file=sys.stderr)
        elif not quiet:
            print(f"dbcheck: {name} answers")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
