"""`standby schedule rules`: a bad file is refused with its line; the default loads."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from standby.cli.main import app
from standby.schedule.rules import default_rules_text


def test_rules_check_names_the_line_of_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text(default_rules_text().replace('elective = "postpone"', 'elective = "soon"', 1))
    line = next(
        n for n, t in enumerate(bad.read_text().splitlines(), 1) if 'elective = "soon"' in t
    )
    r = CliRunner().invoke(app, ["schedule", "rules", "--rules", str(bad)])
    assert r.exit_code == 1
    assert f"rules.toml, line {line}: [when_down.imaging] elective: 'soon' is not a decision" in (
        r.output
    )


def test_default_rules_check_and_print() -> None:
    r = CliRunner().invoke(app, ["schedule", "rules"])
    assert r.exit_code == 0 and "default_rules.toml: ok" in r.output
    r = CliRunner().invoke(app, ["schedule", "rules", "--default"])
    assert r.output == default_rules_text()
