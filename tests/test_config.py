from __future__ import annotations

from pathlib import Path

import pytest

from migration_ci.config import Config, load_config
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
