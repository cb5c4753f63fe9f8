"""Sub-commands that load the user's Django project: verify and plan."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO


def add_parsers(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``verify`` and ``plan``."""


def dispatch(args: argparse.Namespace, out: TextIO) -> int:
    raise NotImplementedError(args.command)
