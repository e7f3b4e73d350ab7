"""Exit codes tell CI what happened: 1 is "the messages have findings", 2 is "the tool could not do its job".

A bug inside the linter must never read as findings: it is one redacted line and exit 2, no traceback.
"""

from __future__ import annotations

import pytest

from proxy_addon.cli import main
from proxy_addon.lint import checks

from .builders import request_xml

SECRET = "Hunter2-internal-error"
SITE_ID_REQUEST = request_xml("GetUser", security=f"<siteID>5941234567</siteID><webExID>admin</webExID>"
                              f"<password>{SECRET}</password>")


def broken_check(*_args, **_kwargs):
    raise RuntimeError(f"check function exploded on <password>{SECRET}</password>")


def test_findings_exit_1_as_a_baseline(tmp_path, capsys):
    message = tmp_path / "site-id.xml"
    message.write_bytes(SITE_ID_REQUEST)
    assert main(["check", str(message)]) == 1
    assert "WX101" in capsys.readouterr().out


@pytest.mark.parametrize("output_format", ["text", "json", "sarif"])
def test_an_internal_error_in_check_exits_2_with_one_redacted_line(tmp_path, capsys, monkeypatch, output_format):
    message = tmp_path / "site-id.xml"
    message.write_bytes(SITE_ID_REQUEST)
    # A real fault inside the lint: the check function behind WX101 (and every `present` rule) raises.
    monkeypatch.setitem(checks.CHECKS, "present", broken_check)
    assert main(["check", "--format", output_format, str(message)]) == 2
    captured = capsys.readouterr()
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1, captured.err
    assert errors[0].startswith("webex-xml-lint: internal error: RuntimeError: check function exploded")
    assert "Traceback" not in captured.err
    assert SECRET not in captured.err and SECRET not in captured.out


def test_a_usage_error_is_still_exit_2_without_internal_error(tmp_path, capsys):
    """The guard does not swallow argparse's own exit (SystemExit is not an internal error)."""
    with pytest.raises(SystemExit) as exited:
        main(["check", "--format", "no-such-format", str(tmp_path)])
    assert exited.value.code == 2
    assert "internal error" not in capsys.readouterr().err
