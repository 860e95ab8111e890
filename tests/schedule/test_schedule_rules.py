"""The rules file: the shipped default loads; every mistake names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from standby.schedule.rules import (
    RulesError,
    default_rules,
    default_rules_text,
    load_rules,
    load_rules_file,
)

GOOD = default_rules_text()


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_rules_load() -> None:
    rules = default_rules()
    assert {"imaging", "lab", "pharmacy", "anesthesia_record", "telehealth_video"} <= set(
        rules.systems
    )
    assert rules.on_down("imaging", "elective") == "postpone"
    assert rules.on_down("imaging", "emergent") == "proceed on paper"  # from [when_down.any]


@pytest.mark.parametrize(
    ("change", "needle", "words"),
    [
        (('elective = "postpone"', 'elective = "later"'), 'elective = "later"', "not a decision"),
        (('probes = ["pacs"]', 'probes = "pacs"'), 'probes = "pacs"', "list of probe names"),
        (
            ('systems = ["imaging"]\n', 'systems = ["imagng"]\n'),
            'systems = ["imagng"]',
            "unknown system 'imagng'",
        ),
        (('kind = "visit"', 'kind = "clinic"'), 'kind = "clinic"', "kind 'clinic'"),
        (("[when_down.lab]", "[when_down.labs]"), "[when_down.labs]", "unknown system 'labs'"),
        (
            ('[when_unavailable]\nemergent = "proceed"', '[when_unavailable]\nsoon = "cancel"'),
            'soon = "cancel"',
            "'soon' is not a priority",
        ),
    ],
)
def test_a_mistake_names_its_line(change: tuple[str, str], needle: str, words: str) -> None:
    old, new = change
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    with pytest.raises(RulesError) as e:
        load_rules(text, "rules.toml")
    assert e.value.line == _line_of(text, needle), str(e.value)
    assert words in str(e.value)
    assert str(e.value).startswith(f"rules.toml, line {e.value.line}: ")


def test_bad_toml_names_its_line() -> None:
    text = GOOD.replace("[systems.lab]", "[systems.lab", 1)
    with pytest.raises(RulesError) as e:
        load_rules(text, "rules.toml")
    assert e.value.line == _line_of(text, "[systems.lab")
    assert "not valid TOML" in str(e.value)


def test_missing_priority_in_any_is_refused() -> None:
    text = GOOD.replace('unknown = "proceed on paper"\n', "", 1)
    with pytest.raises(RulesError, match=r"\[when_down.any\] must give a decision for unknown"):
        load_rules(text, "rules.toml")


def test_unknown_top_level_setting_is_refused() -> None:
    text = "horizon = 5\n" + GOOD
    with pytest.raises(RulesError, match="line 1: unknown setting 'horizon'"):
        load_rules(text, "rules.toml")


def test_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read the rules"):
        load_rules_file(tmp_path / "missing.toml")
    f = tmp_path / "r.toml"
    f.write_text(GOOD.replace("horizon_hours = 72", 'horizon_hours = "72"'))
    with pytest.raises(RulesError, match=r"r.toml, line \d+: horizon_hours"):
        load_rules_file(f)
