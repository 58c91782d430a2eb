"""`make audit` (tools/dependency_audit.py): a known vulnerability fails the build; a service
that cannot be asked is reported, not taken for a clean bill of health or a failure."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "dependency_audit.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dependency_audit", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake(monkeypatch: pytest.MonkeyPatch, module: ModuleType, answers: dict[str, Any]) -> None:
    def run(args: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        answer = answers[args[args.index("--vulnerability-service") + 1]]
        if isinstance(answer, str):  # the service could not be reached
            return subprocess.CompletedProcess(args, 1, "", f"Traceback ...\n{answer}\n")
        return subprocess.CompletedProcess(
            args, 1 if "vulns" in str(answer) else 0, json.dumps(answer), ""
        )

    monkeypatch.setattr(module.subprocess, "run", run)


OK = {"name": "jinja2", "version": "3.1.6", "vulns": []}
SKIPPED = {"name": "jinja2", "skip_reason": "Dependency not found on PyPI"}
BAD = {
    "name": "jinja2",
    "version": "2.4",
    "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"]}],
}


def test_a_known_vulnerability_fails_the_audit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _load()
    _fake(monkeypatch, module, {"osv": {"dependencies": [OK, BAD]}, "pypi": {}})
    assert module.main() == 1
    assert "jinja2 2.4: PYSEC-2019-217 (fixed in 2.10.1)" in capsys.readouterr().out


def test_the_second_service_is_asked_when_the_first_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _load()
    _fake(monkeypatch, module, {"osv": "ConnectionError: no route", "pypi": {"dependencies": [OK]}})
    assert module.main() == 0
    assert "pip-audit (pypi): no known vulnerabilities in 1 installed packages" in (
        capsys.readouterr().out
    )


def test_no_reachable_service_is_reported_loudly_and_fails_only_when_required(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _load()
    _fake(
        monkeypatch,
        module,
        {"osv": "ConnectionError: no route", "pypi": {"dependencies": [SKIPPED]}},
    )
    assert module.main() == 0
    out = capsys.readouterr().out
    assert "DEPENDENCY AUDIT NOT RUN" in out
    assert "osv: ConnectionError: no route" in out
    assert "pypi: answered for none of 1" in out
    monkeypatch.setenv("OPENQPP_AUDIT_REQUIRED", "1")
    assert module.main() == 1
