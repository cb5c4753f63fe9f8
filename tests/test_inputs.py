from __future__ import annotations

import pytest

from migration_ci.errors import ConfigError
from migration_ci.github.inputs import INPUT_DEFAULTS, Inputs, RunContext, read_environ


def test_defaults_when_no_input_is_set() -> None:
    assert Inputs.from_environ({}) == Inputs()


def test_reads_hyphenated_names_as_the_runner_passes_them() -> None:
    environ = {
        "INPUT_GITHUB-TOKEN": "ghs_secret",
        "INPUT_WORKING-DIRECTORY": "backend/",
        "INPUT_SETTINGS-MODULE": "proj.settings",
        "INPUT_BASE-REF": "develop",
        "INPUT_DATABASE-URL": "postgres://u:pw@postgres/db",
        "INPUT_INSTALL-COMMAND": "pip install -r requirements.txt",
        "INPUT_FIX": "Commit",
        "INPUT_STRATEGY": "rebase",
        "INPUT_VERIFY": "false",
        "INPUT_COMMENT": "False",
        "INPUT_FAIL-ON-CONFLICT": "no",
        "INPUT_CACHE": "0",
        "INPUT_FAIL-ON-RISK": "Medium",
        "INPUT_RECHECK-PULL-REQUESTS": "off",
        "INPUT_RECHECK-LIMIT": "7",
    }
    assert Inputs.from_environ(environ) == Inputs(
        github_token="ghs_secret", working_directory="backend", settings_module="proj.settings",
        base_ref="develop", database_url="postgres://u:pw@postgres/db",
        install_command="pip install -r requirements.txt", fix="commit", strategy="rebase",
        verify=False, comment=False, fail_on_conflict=False, cache=False, fail_on_risk="medium",
        recheck_pull_requests=False, recheck_limit=7,
    )


def test_underscored_names_are_not_inputs() -> None:
    assert Inputs.from_environ({"INPUT_FAIL_ON_CONFLICT": "false"}).fail_on_conflict is True


def test_secrets_stay_out_of_repr() -> None:
    inputs = Inputs.from_environ({"INPUT_GITHUB-TOKEN": "ghs_secret",
                                  "INPUT_DATABASE-URL": "postgres://u:pw@h/d"})
    assert "ghs_secret" not in repr(inputs)
    assert "pw@" not in repr(inputs)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        pytest.param({"INPUT_FIX": "push"},
                     "Input 'fix' is 'push', which is not allowed. "
                     "Use one of: suggest, commit, off.",
                     id="unknown fix mode"),
        pytest.param({"INPUT_STRATEGY": "squash"},
                     "Input 'strategy' is 'squash', which is not allowed. "
                     "Use one of: merge, rebase.",
                     id="unknown strategy"),
        pytest.param({"INPUT_VERIFY": "maybe"},
                     "Input 'verify' is 'maybe', which is not a boolean. Use one of: true, false.",
                     id="not a boolean"),
        pytest.param({"INPUT_WORKING-DIRECTORY": "../other"},
                     "Input 'working-directory' is '../other', which leaves the repository. "
                     "Use a path relative to the repository root, e.g. 'backend'.",
                     id="working directory outside the repository"),
        pytest.param({"INPUT_WORKING-DIRECTORY": "/etc"},
                     "Input 'working-directory' is '/etc', which leaves the repository. "
                     "Use a path relative to the repository root, e.g. 'backend'.",
                     id="absolute working directory"),
        pytest.param({"INPUT_RECHECK-LIMIT": "0"},
                     "Input 'recheck-limit' is '0', which is not a whole number of at least 1. "
                     "Use a number such as 50.",
                     id="a limit of nothing"),
        pytest.param({"INPUT_RECHECK-LIMIT": "ten"},
                     "Input 'recheck-limit' is 'ten', which is not a whole number of at least "
                     "1. Use a number such as 50.",
                     id="a limit that is not a number"),
    ],
)
def test_bad_values_name_the_input_and_the_allowed_values(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Inputs.from_environ(environ)
    assert str(excinfo.value) == message


def test_every_input_has_a_field() -> None:
    fields = set(Inputs.__dataclass_fields__)
    assert {name.replace("-", "_") for name in INPUT_DEFAULTS} == fields


def test_run_context_honours_enterprise_urls() -> None:
    _, context = read_environ({
        "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "42",
    })
    assert context.api_url == "https://ghe.example.com/api/v3"
    assert context.run_url == "https://ghe.example.com/acme/shop/actions/runs/42"
    assert RunContext.from_environ({}).api_url == "https://api.github.com"
