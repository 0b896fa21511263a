"""Settings: one home of defaults; file, then environment, then flags; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.config import Settings, describe, load_settings
from companion.errors import InputError


def test_defaults_file_environment_and_flags_in_that_order(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text('llm = "embedded"\n[server]\nport = 9000\nmax_sessions = 3\n')
    assert load_settings(env={}) == Settings()  # no file, no environment: the defaults
    s = load_settings(f, env={"COMPANION_PORT": "9100"})
    assert (s.llm, s.port, s.max_sessions) == ("embedded", 9100, 3)
    s = load_settings(f, env={"COMPANION_PORT": "9100"}, port=9200, llm=None)
    assert (s.llm, s.port) == ("embedded", 9200)  # a flag not given changes nothing
    s = load_settings(env={"COMPANION_CONFIG": str(f), "COMPANION_ALLOWED_ORIGINS": "a, b"})
    assert s.port == 9000 and s.allowed_origins == ("a", "b")


def test_bad_settings_name_the_key_and_where_it_came_from(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text("prot = 9000\n")
    with pytest.raises(InputError, match=r"unknown setting 'prot' in .*config.toml"):
        load_settings(f, env={})
    f.write_text('port = "high"\n')
    with pytest.raises(InputError, match=r"'port' from .*config.toml must be a whole number"):
        load_settings(f, env={})
    with pytest.raises(InputError, match=r"COMPANION_LABEL\) must be true or false"):
        load_settings(env={"COMPANION_LABEL": "maybe"})
    f.write_text("port = [\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_settings(f, env={})
    with pytest.raises(InputError, match="fps 24 is not supported"):
        load_settings(env={}, fps=24)
    with pytest.raises(InputError, match="not found"):
        load_settings(tmp_path / "missing.toml", env={})


def test_attestation_is_off_unless_the_deployment_turns_it_on() -> None:
    assert not load_settings(env={}).attestation_allowed  # the default: consent clips only
    assert load_settings(env={}, attestation="auto").attestation_allowed  # this computer only
    beyond = load_settings(env={}, host="0.0.0.0", token="t", attestation="auto")
    assert not beyond.attestation_allowed  # served beyond it: consent clips only
    assert load_settings(env={}, host="0.0.0.0", attestation="allowed").attestation_allowed
    assert not load_settings(env={}, attestation="clips-only").attestation_allowed


def test_secrets_are_not_printed() -> None:
    rows = {name: value for name, value, _ in
            describe(load_settings(env={"COMPANION_TOKEN": "s3cret", "COMPANION_LLM_API_KEY":
                                        "sk-1"}))}
    assert rows["token"] == "(set)" and rows["llm_api_key"] == "(set)"
    assert "s3cret" not in str(rows) and "sk-1" not in str(rows)


def test_every_setting_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    for name, _, what in describe(Settings()):
        assert f"| `{name}` |" in doc, name
        assert what, f"{name} has no description"
