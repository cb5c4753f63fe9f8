from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from migration_ci.github.workflow import (
    MAX_SUMMARY_BYTES,
    SUMMARY_CUT_NOTE,
    Annotation,
    Workflow,
    escape_data,
    escape_property,
    format_command,
    format_output,
)


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        pytest.param("plain", "plain", "plain", id="nothing to escape"),
        pytest.param("50%", "50%25", "50%25", id="percent first"),
        pytest.param("a\r\nb", "a%0D%0Ab", "a%0D%0Ab", id="line breaks"),
        pytest.param("a:b,c", "a:b,c", "a%3Ab%2Cc", id="colon and comma only in properties"),
        pytest.param("%0A", "%250A", "%250A", id="an already escaped sequence stays literal"),
    ],
)
def test_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_command_with_hostile_file_name_and_message() -> None:
    line = format_command("error", "two\n::warning::x", {"file": "a,b:c.py", "line": 3,
                                                         "title": None})
    assert line == "::error file=a%2Cb%3Ac.py,line=3::two%0A::warning::x"


def test_single_line_and_multiline_outputs() -> None:
    assert format_output("conflicts", "1") == "conflicts=1\n"
    assert format_output("paths", "a\nb", delimiter="EOF_x") == "paths<<EOF_x\na\nb\nEOF_x\n"
    random = format_output("paths", "a\nb")
    assert re.fullmatch(r"paths<<(ghadelimiter_[0-9a-f]{32})\na\nb\n\1\n", random)


def test_outputs_and_summary_are_appended_to_the_runner_files(tmp_path: Path) -> None:
    output, summary = tmp_path / "output", tmp_path / "summary"
    output.write_text("earlier=1\n")
    workflow = Workflow(str(output), str(summary), stream=io.StringIO())
    workflow.set_outputs({"conflicts": "0", "merge-migrations": ""})
    assert workflow.write_summary("# Report")
    assert output.read_text() == "earlier=1\nconflicts=0\nmerge-migrations=\n"
    assert summary.read_text() == "# Report\n"


def test_untrusted_text_is_fenced_by_a_random_stop_token() -> None:
    stream = io.StringIO()
    workflow = Workflow(stream=stream)
    workflow.print_untrusted("::set-output name=x::pwned")
    workflow.annotate(Annotation("error", "Conflict", file="shop/m.py", line=1))
    lines = stream.getvalue().splitlines()
    token = lines[0].removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert lines[1:] == ["::set-output name=x::pwned", f"::{token}::",
                         "::error file=shop/m.py,line=1::Conflict"]
    workflow.print_untrusted("again")
    assert stream.getvalue().splitlines()[4] != lines[0]


def test_the_summary_file_stays_within_1_mib(tmp_path: Path) -> None:
    summary, stream = tmp_path / "summary", io.StringIO()
    workflow = Workflow(summary_path=str(summary), stream=stream)
    assert workflow.write_summary("é" * (MAX_SUMMARY_BYTES // 2 - 100))
    assert workflow.write_summary("> [!WARNING]\n> " + "ü" * 500)
    data = summary.read_bytes()
    assert len(data) <= MAX_SUMMARY_BYTES
    assert data.decode("utf-8").endswith("ü" + SUMMARY_CUT_NOTE)
    assert not workflow.write_summary("more")
    assert stream.getvalue() == "The job summary is full (1 MiB); this part was left out of it.\n"
