"""What Django's loader accepts in ``dependencies``, ``run_before`` and ``replaces``.

Django's loader uses each entry as a graph key ``(app_label, migration_name)``. Anything else
makes it fail: a tuple of another length or of non-strings (``IndexError``, or a
``NodeNotFoundError`` naming a node no file can be), a bare string (the same), a list
(``TypeError: unhashable type``). In ``replaces`` only a list fails; any other non-key entry
names no node and is ignored. Both engines report these the same way (``malformed_key``).
"""

from __future__ import annotations

from typing import Any

from migration_ci.errors import MigrationFileError

ATTRIBUTES = {"dependencies": "dependency", "run_before": "run_before entry",
              "replaces": "replaces entry"}
_WRITE_IT = "Write each entry as a tuple ('app_label', 'migration_name'), as makemigrations does."


def is_key(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2
            and isinstance(value[0], str) and isinstance(value[1], str))


def is_ignored(attribute: str, value: Any) -> bool:
    """A malformed ``replaces`` entry that Django's loader silently ignores: it is hashable,
    so it can be looked up, and it names no node."""
    if attribute != "replaces":
        return False
    try:
        hash(value)
    except TypeError:
        return False
    return True


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: values come from files under review."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


FAILS = "Django's loader fails on it"


def why_not_a_key(value: Any) -> str:
    """What is wrong with an entry that is not a key, e.g. ``: it has 1 item``."""
    if isinstance(value, list):
        return ": it is a list, which cannot be a graph key"
    if isinstance(value, str):
        return ": it is a bare string"
    if isinstance(value, tuple) and len(value) != 2:
        return f": it has {len(value)} item{'s' * (len(value) != 1)}"
    if isinstance(value, tuple):
        return ": it holds a value that is not a string"
    return ""


def malformed_key(where: str, attribute: str, value: Any, whole: Any = None) -> MigrationFileError:
    """``where``: ``path:line`` (or ``path``) of the entry; ``whole``: the attribute's value."""
    hint = _WRITE_IT
    if is_key(whole):
        hint = f"{attribute} = {shown(whole)} is one pair: put it in a list, [{shown(whole)}]."
    elif isinstance(value, list) and len(value) == 2:
        hint = f"Write it as a tuple: {shown(tuple(value))}."
    return MigrationFileError(
        f"{where}: {ATTRIBUTES[attribute]} {shown(value)} is not a tuple ('app_label', "
        f"'migration_name'){why_not_a_key(value)}; {FAILS}.",
        hint,
    )


def malformed_attribute(where: str, attribute: str, value: Any) -> MigrationFileError:
    """``dependencies = None`` and the like: not a list of keys at all."""
    return MigrationFileError(
        f"{where}: {attribute} is {shown(value)}, not a list of tuples ('app_label', "
        f"'migration_name'); {FAILS}.",
        f"Write it as a list: {attribute} = [('app_label', 'migration_name'), ...].",
    )
