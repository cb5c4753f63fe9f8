from __future__ import annotations

from pathlib import Path

import pytest

from migration_ci.cli.main import main
from migration_ci.config import MAX_CONFIG_BYTES, Config, load_config
from migration_ci.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / ".migration-ci.yml").write_text(text, encoding="utf-8")
    return tmp_path


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


def test_every_key_is_read(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "paths: [src]\nexclude: ['legacy/*']\napp-labels: {src/shop: store}\n"
            "auth-user-model: accounts.User\nsettings: mysite.settings\nproject-dir: src\n"
            "base: origin/main\nstrategy: rebase\ndatabase-url: sqlite:///x.db\n",
        )
    )
    assert config == Config(
        paths=("src",),
        exclude=("legacy/*",),
        app_labels={"src/shop": "store"},
        auth_user_model="accounts.User",
        settings="mysite.settings",
        project_dir="src",
        base="origin/main",
        strategy="rebase",
        database_url="sqlite:///x.db",
    )


def test_flags_override_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "base: origin/main\n")).override(
        base="upstream/dev", settings=None
    )
    assert config.base == "upstream/dev"
    assert config.settings is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "bsae: main\n",
            ".migration-ci.yml: unknown key 'bsae'. Known keys: app-labels, auth-user-model, "
            "base, database-url, exclude, fail-on, paths, project-dir, risk-ignore, "
            "risk-levels, settings, strategy.",
            id="unknown key",
        ),
        pytest.param(
            "strategy: squash\n",
            ".migration-ci.yml: 'strategy' is 'squash'. Use one of: merge, rebase.",
            id="bad strategy",
        ),
        pytest.param(
            "auth-user-model: User\n",
            ".migration-ci.yml: 'auth-user-model' is 'User'. Use Django's 'app_label.ModelName' "
            "form, e.g. 'accounts.User'.",
            id="auth user model without app",
        ),
        pytest.param(
            "- base\n",
            ".migration-ci.yml: expected a mapping of settings, got list. Write one 'key: value' "
            "per line, e.g. 'base: origin/main'.",
            id="not a mapping",
        ),
        pytest.param(
            "paths: {a: b}\n",
            ".migration-ci.yml: 'paths' must be a list of paths, got {'a': 'b'}.",
            id="paths not a list",
        ),
    ],
)
def test_bad_config_names_the_key_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert str(info.value) == message


def test_invalid_yaml_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "base: [unclosed\n"))
    message = str(info.value)
    assert message.startswith(".migration-ci.yml: not valid YAML (")
    assert message.endswith("). Fix the file or delete it to use the defaults.")
    assert "\n" not in message


LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
              for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    + "base: *i\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            LAUGHS,
            ".migration-ci.yml:2: YAML alias '*a' refused: aliases can expand a small file into "
            "a huge one. Write the value out in full.",
            id="billion laughs",
        ),
        pytest.param(
            "base: &main origin/main\nsettings: *main\n",
            ".migration-ci.yml:2: YAML alias '*main' refused: aliases can expand a small file "
            "into a huge one. Write the value out in full.",
            id="any alias",
        ),
        pytest.param(
            "base: " + "[" * 20_000 + "]" * 20_000 + "\n",
            ".migration-ci.yml: values nested too deeply to read. Each setting is a string, a "
            "list or a mapping of strings.",
            id="deep nesting",
        ),
        pytest.param(
            "strategy: " + "x" * 10_000 + "\n",
            ".migration-ci.yml: 'strategy' is '" + "x" * 58 + "…. Use one of: merge, rebase.",
            id="long bad value",
        ),
        pytest.param(
            "? " + "y" * 10_000 + "\n: 1\n",
            ".migration-ci.yml: unknown key '" + "y" * 58 + "…. Known keys: app-labels, "
            "auth-user-model, base, database-url, exclude, fail-on, paths, project-dir, "
            "risk-ignore, risk-levels, settings, strategy.",
            id="long unknown key",
        ),
        pytest.param(
            "paths: [" + ", ".join(["a"] * 5_000) + ", 1]\n",
            ".migration-ci.yml: 'paths' must be a list of paths, got ['a', 'a', 'a', 'a', "
            "'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'….",
            id="long bad list",
        ),
    ],
)
def test_hostile_config_is_refused_before_it_grows(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert str(info.value) == message


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    (tmp_path / ".migration-ci.yml").write_bytes(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == (
        ".migration-ci.yml is 1,048,579 bytes, over the limit of 1,048,576. It holds a few "
        'settings (README: "Configuration"); shorten it.'
    )


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    body = b"base: main\n"
    (tmp_path / ".migration-ci.yml").write_bytes(body + b"#" * (MAX_CONFIG_BYTES - len(body)))
    assert load_config(tmp_path) == Config(base="main")


def test_a_file_not_in_utf8_names_the_byte(tmp_path: Path) -> None:
    (tmp_path / ".migration-ci.yml").write_bytes(b"base: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(info.value) == ".migration-ci.yml: not UTF-8 (byte 9). Save the file as UTF-8."


def test_the_command_stops_at_a_hostile_config_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with the one message; no migration file is read, nothing is written."""
    write(tmp_path, LAUGHS)
    (tmp_path / "shop/migrations").mkdir(parents=True)
    (tmp_path / "shop/migrations/0001_initial.py").write_text("this is not Python (")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["check", "--root", str(tmp_path)]) == 2
    assert capsys.readouterr() == ("", (
        "migration-ci: .migration-ci.yml:2: YAML alias '*a' refused: aliases can expand a small "
        "file into a huge one. Write the value out in full.\n"
    ))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
