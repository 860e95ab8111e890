"""The packets carry patients' records: every file `standby report` writes is 0600 and
every folder it makes 0700, whatever the umask (docs/security.md#files-and-folders)."""

from __future__ import annotations

import os
import stat

import pytest
from typer.testing import CliRunner

from standby.cli.main import app


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["umask000", "umask022"])
def test_every_packet_file_is_0600_and_every_folder_0700(hospital_db, tmp_path, umask):
    out = tmp_path / "packets"
    old = os.umask(umask)
    try:
        result = CliRunner().invoke(
            app, ["report", "--db", str(hospital_db), "--out", str(out), "--unit", "ICU"]
        )
        assert result.exit_code == 0, result.output
        # a second run publishes over the first (links, renames, pruning)
        result = CliRunner().invoke(
            app, ["report", "--db", str(hospital_db), "--out", str(out), "--unit", "ICU"]
        )
        assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    files = [p for p in out.rglob("*") if p.is_file()]
    folders = [out, *(p for p in out.rglob("*") if p.is_dir())]
    assert any(p.suffix == ".pdf" for p in files) and (out / "manifest.json") in files
    assert {str(p.relative_to(out)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
        str(p.relative_to(out)): "0o600" for p in files
    }
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {
        str(p): "0o700" for p in folders
    }
