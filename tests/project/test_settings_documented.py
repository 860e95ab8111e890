"""Every setting has help text and a row in docs/settings.md."""

from pathlib import Path

import pytest

from standby.settings import Settings, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_setting_is_documented(name: str) -> None:
    field = Settings.model_fields[name]
    assert field.description, f"setting {name} has no description"
    assert f"| STANDBY_{name.upper()} |" in DOCS.read_text(), f"STANDBY_{name.upper()} missing"


def test_environment_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "standby.toml"
    toml.write_text('db = "from-file.db"\nport = 9001\n')
    monkeypatch.setenv("STANDBY_CONFIG", str(toml))
    monkeypatch.setenv("STANDBY_PORT", "9002")
    monkeypatch.delenv("STANDBY_DB", raising=False)  # another test's `serve` may have set it
    settings = load_settings()
    assert settings.db == Path("from-file.db")
    assert settings.port == 9002


def test_unknown_key_in_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "standby.toml"
    toml.write_text("no_such_setting = 1\n")
    monkeypatch.setenv("STANDBY_CONFIG", str(toml))
    with pytest.raises(ValueError, match="no_such_setting"):
        load_settings()
