# The image of the django-migration-ci GitHub Action.
FROM python:3.11.11-slim-bookworm

# git for the checks; gcc, pkg-config and the MySQL client headers to build mysqlclient.
# psycopg comes as a binary wheel with its own libpq. pg_dump/pg_restore and mariadb-dump keep
# base-state snapshots of server databases (the `cache` input); without a client as new as the
# server, verify says so and runs from zero.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        git=1:2.39.* \
        gcc=4:12.2.* \
        pkg-config=1.8.* \
        default-libmysqlclient-dev=1.1.* \
        postgresql-client=15+* \
        mariadb-client=1:10.11.* \
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
