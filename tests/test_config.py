"""Configuration: defaults from the openai SDK's environment variables, one config file for every door."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_codeinterp.config import (
    DEFAULT_BASE_URL,
    DUMMY_API_KEY,
    CodeInterpreter,
    ConfigError,
    configure,
    normalize_base_url,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1"),
        ("http://localhost:11434/", "http://localhost:11434/v1"),
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        ("http://localhost:8000/v1/", "http://localhost:8000/v1"),
        ("https://x.openai.azure.com/openai/deployments/gpt", "https://x.openai.azure.com/openai/deployments/gpt"),
    ],
)
def test_a_base_url_works_with_or_without_v1(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


@pytest.mark.parametrize("bad", ["localhost:11434", "ftp://host/v1", "http://"])
def test_a_malformed_base_url_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="base_url must"):
        normalize_base_url(bad)


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("CODEINTERP_MODEL", "qwen")
    config = CodeInterpreter()
    assert (config.model, config.api_key, config.resolved_base_url) == ("qwen", "sk-env", "http://localhost:8000/v1")


def test_a_local_server_needs_no_key_but_openai_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert CodeInterpreter(base_url="http://localhost:11434").resolved_api_key() == DUMMY_API_KEY
    openai = CodeInterpreter(model="gpt-4.1-mini")
    assert openai.resolved_base_url == DEFAULT_BASE_URL
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        openai.check()


def test_the_public_view_never_has_the_key() -> None:
    config = CodeInterpreter(model="m", api_key="sk-very-secret", base_url="http://h:1")
    public = config.public_dict()
    assert "sk-very-secret" not in repr(public)
    assert public["has_api_key"] is True and public["base_url_host"] == "h:1"


@pytest.mark.parametrize(
    ("trait", "value", "message"),
    [("max_steps", 0, "at least 1"), ("exec_timeout", 0, "positive"), ("max_output_chars", 10, "at least 200")],
)
def test_nonsense_limits_are_refused(trait: str, value: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        CodeInterpreter(**{trait: value})


def test_the_config_file_is_read_and_run_options_win(jp_config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEINTERP_MODEL", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(jp_config_dir))
    (jp_config_dir / "jupyter_codeinterp_config.py").write_text(
        "c.CodeInterpreter.model = 'from-file'\nc.CodeInterpreter.max_steps = 7\n"
    )
    assert (configure().model, configure().max_steps) == ("from-file", 7)
    overridden = configure(model="from-cli", max_steps=3, timeout=9)
    assert (overridden.model, overridden.max_steps, overridden.exec_timeout) == ("from-cli", 3, 9.0)
