# The image of the django-migration-ci GitHub Action.
# Python 3.12 installs every supported Django, 4.2.8 to 6.1 (README: "Supported versions").
FROM python:3.12.15-slim-trixie

# git for the checks; gcc, pkg-config and the MySQL client headers to build mysqlclient.
# psycopg comes as a binary wheel with its own libpq. pg_dump/pg_restore and mariadb-dump keep
# base-state snapshots of server databases (the `cache` input); without a client as new as the
# server, verify says so and runs from zero. Debian 13 (trixie) has the PostgreSQL 17 and
# MariaDB 11.8 clients.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        git=1:2.47.* \
        gcc=4:14.2.* \
        pkg-config=1.8.* \
        default-libmysqlclient-dev=1.1.* \
        postgresql-client=17+* \
        mariadb-client=1:11.8.* \
    && rm -rf /var/lib/apt/lists/*

# The Action's workspace is owned by the runner's user, not root (CVE-2022-24765).
RUN git config --system --add safe.directory '*'

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install from a copy of the build context and drop it: `python /action/entrypoint.py` puts only
# /action on sys.path, so the installed package is what runs, never a source tree beside it.
COPY . /src
RUN pip install --no-cache-dir "/src[postgres,mysql]" && rm -rf /src
COPY entrypoint.py /action/entrypoint.py

ENTRYPOINT ["python", "/action/entrypoint.py"]
