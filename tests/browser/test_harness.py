"""The browser tests' own rules: CI never skips them, and they leave the work tree alone.
(These run without a browser.)"""

import re
from pathlib import Path

import pytest

from tests.browser import conftest as browser

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("ci", ["true", "1", "yes", "TRUE"])
def test_with_ci_set_a_missing_browser_fails(monkeypatch, tmp_path, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        browser.require_chromium(tmp_path / "no-chromium")


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_elsewhere_a_missing_browser_skips(monkeypatch, tmp_path, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser.require_chromium(tmp_path / "no-chromium")


def test_ci_exports_ci_true_before_the_tests():
    script = (REPO / ".ci" / "run").read_text()
    exported = re.search(r"^export CI=true$", script, re.MULTILINE)
    assert exported and exported.start() < script.index("\nmake lint")


class FakePage:
    def screenshot(self, path: str, full_page: bool) -> None:
        Path(path).write_bytes(b"\x89PNG")


def test_screenshots_go_to_a_temporary_folder_not_the_work_tree(monkeypatch):
    monkeypatch.delenv("ONEPING_SCREENSHOTS_DIR", raising=False)

    path = browser.screenshot(FakePage(), "overview")

    assert path.exists()
    assert REPO not in path.parents


def test_screenshots_go_where_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("ONEPING_SCREENSHOTS_DIR", str(tmp_path / "shots"))

    path = browser.screenshot(FakePage(), "overview")

    assert path == tmp_path / "shots" / "overview.png"
    assert path.read_bytes() == b"\x89PNG"
