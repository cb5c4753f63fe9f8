"""Workflow commands and files: step outputs, the job summary, annotations, stop-commands.

Formats follow https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from migration_ci.report.safe import visible

# https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions#step-isolation-and-limits
MAX_SUMMARY_BYTES = 1024 * 1024  # per step; over it the runner drops the whole summary
SUMMARY_CUT_NOTE = "\n\n(cut: the job summary is limited to 1 MiB)\n"


def escape_data(value: str) -> str:
    """Escape the message part of a workflow command (what follows ``::``)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """Escape a property value (``file=...,line=...``), where ``:`` and ``,`` also delimit."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_command(
    command: str, message: str, properties: Mapping[str, object] | None = None
) -> str:
    """``::command props::message``; ANSI escapes and bidi controls in the message and title
    are shown escaped, line breaks travel as ``%0A`` (an annotation may have several lines).
    ``file`` stays exact: it must name the file."""
    message = visible(message, keep="\n\r")
    props = ",".join(
        f"{key}={escape_property(str(value) if key == 'file' else visible(str(value)))}"
        for key, value in (properties or {}).items()
        if value is not None and value != ""
    )
    return f"::{command}{' ' + props if props else ''}::{escape_data(message)}"


def format_output(name: str, value: str, delimiter: str | None = None) -> str:
    """One ``GITHUB_OUTPUT`` entry; multi-line values use a random heredoc delimiter."""
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    delimiter = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if delimiter in value:
        raise ValueError(f"Output {name!r} contains its delimiter {delimiter!r}.")
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


@dataclass(frozen=True)
class Annotation:
    level: str  # "error" | "warning" | "notice"
    message: str
    file: str | None = None
    line: int | None = None
    title: str | None = None


class Workflow:
    """Writes to the files and the log stream the runner gives a step."""

    def __init__(self, output_path: str = "", summary_path: str = "",
                 stream: TextIO | None = None) -> None:
        self.output_path = output_path
        self.summary_path = summary_path
        self.stream = stream if stream is not None else sys.stdout

    def set_outputs(self, outputs: Mapping[str, str]) -> None:
        text = "".join(format_output(name, value) for name, value in outputs.items())
        if self.output_path:
            with Path(self.output_path).open("a", encoding="utf-8") as f:
                f.write(text)
        else:
            self.print("Outputs (no GITHUB_OUTPUT file):\n" + text)

    def write_summary(self, markdown: str) -> bool:
        """Append to the job summary, cut so the file stays within ``MAX_SUMMARY_BYTES``."""
        if not self.summary_path:
            return False
        path = Path(self.summary_path)
        room = MAX_SUMMARY_BYTES - (path.stat().st_size if path.exists() else 0)
        data = (markdown.rstrip("\n") + "\n").encode("utf-8")
        if len(data) > room:
            note = SUMMARY_CUT_NOTE.encode("utf-8")
            if room < len(note):
                self.print("The job summary is full (1 MiB); this part was left out of it.")
                return False
            data = data[: room - len(note)].decode("utf-8", errors="ignore").encode() + note
        with path.open("ab") as f:
            f.write(data)
        return True

    def annotate(self, annotation: Annotation) -> None:
        props = {"file": annotation.file, "line": annotation.line, "title": annotation.title}
        self.print(format_command(annotation.level, annotation.message, props))

    def print(self, text: str) -> None:
        self.stream.write(text if text.endswith("\n") else text + "\n")
        self.stream.flush()

    @contextmanager
    def stop_commands(self) -> Iterator[None]:
        """Between these markers the runner ignores ``::`` commands in untrusted text."""
        token = secrets.token_hex(16)
        self.print(f"::stop-commands::{token}")
        try:
            yield
        finally:
            self.print(f"::{token}::")

    def print_untrusted(self, text: str) -> None:
        with self.stop_commands():
            self.print(text)

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self.print(f"::group::{escape_data(title)}")
        try:
            yield
        finally:
            self.print("::endgroup::")
