"""Issue 13, set-up and packaging as a user meets it: the wheel carries the report's templates and
one version; PostgreSQL support is the `postgres` extra, and a postgresql:// URL without it says
so; the pre-commit hook lints a team's message fixtures (run by pre-commit itself)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml

from proxy_addon import __version__

from .audit_support import set_user
from .builders import REPO
from .processes import free_port
from .test_sarif_schema import schema_errors

TEMPLATES = ("report.html", "charts.html", "report.css")
MITMDUMP = Path(sys.executable).with_name("mitmdump")


def _env(**changes: str) -> dict[str, str]:
    return {**os.environ, **changes}


# -- the wheel ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("hatchling", reason="the `test` extra installs hatchling: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("wheel")
    # Offline: the build backend comes from this environment, not from an index.
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(out)], capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    (built,) = out.glob("webex_xml_lint-*.whl")
    return built


def test_the_wheel_ships_the_report_templates_and_one_version(wheel, tmp_path):
    assert wheel.name.startswith(f"webex_xml_lint-{__version__}-")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"webex_xml_lint-{__version__}.dist-info/METADATA").decode()
        archive.extractall(tmp_path / "site")
    assert {f"proxy_addon/audit/report/templates/{name}" for name in TEMPLATES} <= names
    assert f"Version: {__version__}\n" in metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any(line.lower().startswith("requires-dist: jinja2") for line in requires), requires
    (psycopg,) = [line for line in requires if "psycopg" in line]
    assert psycopg.replace('"', "'").endswith("; extra == 'postgres'"), "psycopg only with the postgres extra"
    # The unpacked wheel alone (not this checkout) writes a report: its templates are found in it.
    message = tmp_path / "m.xml"
    message.write_bytes(set_user(site_id="5941234567", webex_id="legacy"))
    done = subprocess.run([sys.executable, "-c", ("import sys, proxy_addon, proxy_addon.cli as cli; "
                           "print(proxy_addon.__file__, file=sys.stderr); sys.exit(cli.main())"),
                           "audit", str(message), "--db", str(tmp_path / "a.sqlite"), "--report",
                           str(tmp_path / "r.html"), "--jobs", "1"],
                          cwd=tmp_path, env=_env(PYTHONPATH=str(tmp_path / "site")), capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().startswith(str(tmp_path / "site" / "proxy_addon")), done.stderr.decode()
    assert "Migration checklist" in (tmp_path / "r.html").read_text()


def test_one_version_string():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "proxy_addon/__init__.py"
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "--version"], capture_output=True, timeout=60, check=False)
    assert done.stdout.decode().split() == ["webex-xml-lint", __version__]


# -- PostgreSQL is an extra ---------------------------------------------------------------------------


@pytest.fixture
def without_psycopg(tmp_path) -> dict[str, str]:
    """An environment in which `import psycopg` fails as it does when the extra is not installed
    (every Python process started with it, mitmdump's too)."""
    blocker = tmp_path / "no-psycopg"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nsys.modules['psycopg'] = None  # ModuleNotFoundError on import, as when not installed\n")
    return _env(PYTHONPATH=os.pathsep.join([str(blocker), *filter(None, [os.environ.get("PYTHONPATH")])]))


@pytest.mark.parametrize("how", ["audit", "inventory", "webex-xml-lint proxy", "mitmdump -s addon.py"])
def test_a_postgresql_url_without_the_extra_names_it(how, without_psycopg, tmp_path):
    url = f"postgresql://auditor:Sup3rS3cretPW@127.0.0.1:{free_port()}/inventory"
    message = tmp_path / "m.xml"
    message.write_bytes(set_user())
    command = {
        "audit": [sys.executable, "-m", "proxy_addon.cli", "audit", str(message), "--db", url],
        "inventory": [sys.executable, "-m", "proxy_addon.cli", "inventory", "--db", url],
        "webex-xml-lint proxy": [sys.executable, "-m", "proxy_addon.cli", "proxy", "--listen-port",
                                 str(free_port()), "--db", url],
        "mitmdump -s addon.py": [str(MITMDUMP), "-q", "--listen-host", "127.0.0.1", "--listen-port",
                                 str(free_port()), "-s", str(REPO / "proxy_addon" / "addon.py"),
                                 "--set", f"webexlint_db={url}"],
    }[how]
    done = subprocess.run(command, cwd=tmp_path, env=without_psycopg, capture_output=True, timeout=120, check=False)
    output = (done.stdout + done.stderr).decode()
    assert done.returncode != 0, output
    assert "pip install 'webex-xml-lint[postgres]'" in output, output
    assert "Sup3rS3cretPW" not in output, output
    if how != "mitmdump -s addon.py":  # mitmdump prints any script's startup OptionsError with its traceback
        assert "Traceback" not in output, output


def test_sqlite_needs_no_extra(without_psycopg, tmp_path):
    message = tmp_path / "m.xml"
    message.write_bytes(set_user())
    done = subprocess.run([sys.executable, "-m", "proxy_addon.cli", "audit", str(message), "--db",
                           str(tmp_path / "a.sqlite"), "--jobs", "1"], cwd=tmp_path, env=without_psycopg,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()


# -- pre-commit ---------------------------------------------------------------------------------------


def test_the_hook_manifest_is_valid_for_pre_commit():
    clientlib = pytest.importorskip("pre_commit.clientlib", reason="the `test` extra installs pre-commit")
    (hook,) = clientlib.load_manifest(str(REPO / ".pre-commit-hooks.yaml"))  # pre-commit's own schema
    assert hook["id"] == "webex-xml-lint" and hook["entry"] == "webex-xml-lint check --force-exclude"
    assert hook["language"] == "python", "pre-commit installs this package for the hook"
    entry = shutil.which(hook["entry"].split()[0], path=str(Path(sys.executable).parent))
    assert entry, "the entry is the console script the package installs"


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=folder,
                   check=True, capture_output=True, timeout=60)


def test_pre_commit_runs_the_hook_on_message_fixtures_only(tmp_path):
    """`pre-commit try-repo` with this repository's hook in a team's repository: the changed message
    fixtures are linted (a WX101 fails the commit), a Maven pom.xml and the README are not, nor is
    other XML the hook's pattern does not know (a Spring context) or a fixture the configuration
    excludes (--force-exclude).

    The hook's `language: python` would install this package (and mitmproxy) into a new
    environment from an index; offline, the copy of the hook tried here uses `language: system`
    with this environment's console script, which is what that install provides. The rest —
    which files, the entry, the arguments, the exit status — is pre-commit's own."""
    pytest.importorskip("pre_commit", reason="the `test` extra installs pre-commit")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    manifest = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "language: python\n" in manifest
    (hooks / ".pre-commit-hooks.yaml").write_text(manifest.replace("language: python\n", "language: system\n"))
    _git(hooks, "init", "-q")
    _git(hooks, "add", ".")
    _git(hooks, "commit", "-qm", "hooks")
    team = tmp_path / "team"
    (team / "src" / "test" / "resources" / "webex").mkdir(parents=True)
    fixtures = team / "src" / "test" / "resources" / "webex"
    (fixtures / "set-user.xml").write_bytes(set_user("acme"))
    (fixtures / "legacy-site-id.xml").write_bytes(set_user(site_id="5941234567", webex_id="legacy"))
    (team / "pom.xml").write_text("<project><modelVersion>4.0.0</modelVersion></project>\n")
    (team / "README.md").write_text("# team\n")
    (team / "src" / "main" / "resources").mkdir(parents=True)
    (team / "src" / "main" / "resources" / "spring-context.xml").write_text("<beans><bean id='x'/></beans>\n")
    (fixtures / "archived").mkdir()
    (fixtures / "archived" / "old-site-id.xml").write_bytes(set_user(site_id="5941234567", webex_id="old"))
    (team / "webex-xml-lint.toml").write_text('extend-exclude = ["src/test/resources/webex/archived/"]\n')
    _git(team, "init", "-q")
    _git(team, "add", ".")
    env = _env(PRE_COMMIT_HOME=str(tmp_path / "cache"), PATH=os.pathsep.join([str(Path(sys.executable).parent),
                                                                               os.environ.get("PATH", "")]))
    done = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "webex-xml-lint",
                           "--verbose", "--color", "never"], cwd=team, env=env, capture_output=True, timeout=300,
                          check=False)
    output = done.stdout.decode() + done.stderr.decode()
    assert done.returncode == 1, output
    assert "legacy-site-id.xml" in output and "WX101" in output, output
    assert "pom.xml" not in output.split("webex-xml-lint", 1)[-1] and "WX003" not in output, output
    assert "old-site-id.xml" not in output and "spring-context" not in output, output
    # Fixed, the commit goes through.
    (fixtures / "legacy-site-id.xml").write_bytes(set_user("acme", webex_id="legacy"))
    _git(team, "add", ".")
    done = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "webex-xml-lint",
                           "--color", "never"], cwd=team, env=env, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


# -- the GitHub Actions example (docs/ci.md) ------------------------------------------------------------


def test_the_github_actions_example_uploads_valid_sarif_and_fails_on_findings(tmp_path):
    """The workflow in docs/ci.md, its `webex-xml-lint` steps run as written in a checkout with a
    message that has a finding: the SARIF file it uploads is valid SARIF 2.1.0 with that finding,
    and the last step fails the job with an annotation."""
    text = (REPO / "docs" / "ci.md").read_text()
    (workflow,) = re.findall(r"## GitHub Actions.*?```yaml\n(.*?)```", text, re.DOTALL)
    jobs = yaml.safe_load(workflow)
    assert jobs["permissions"]["security-events"] == "write"
    steps = jobs["jobs"]["webex-xml-lint"]["steps"]
    (upload,) = [step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    runs = [step["run"] for step in steps if step.get("run", "").startswith("webex-xml-lint ")]
    assert len(runs) == 2
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "legacy.xml").write_bytes(set_user(site_id="5941234567", webex_id="legacy"))
    env = _env(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    sarif_step = subprocess.run(["bash", "-e", "-c", runs[0]], cwd=tmp_path, env=env, capture_output=True, timeout=120,
                                check=False)
    assert sarif_step.returncode == 0, sarif_step.stderr.decode()
    document = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    assert schema_errors(document) == []
    assert [result["ruleId"] for result in document["runs"][0]["results"]] == ["WX101"]
    gate = subprocess.run(["bash", "-e", "-c", runs[1]], cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False)
    assert gate.returncode == 1 and "::warning file=fixtures/legacy.xml" in gate.stdout.decode(), gate.stdout.decode()
