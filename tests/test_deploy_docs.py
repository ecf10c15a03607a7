"""docs/deploy.md shows what the topology test runs: the Procfile, the honcho commands and
the overlay, word for word (a change to one without the other fails here, on both
profiles, even where the topology test itself is skipped)."""

import re

from tests.topology_formation import HOST_A, HOST_B, OVERLAY, PROCFILE, ROOT, command

DOC = (ROOT / "docs" / "deploy.md").read_text()


def code_blocks() -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", DOC, flags=re.DOTALL)


def assignments(text: str) -> dict[str, str]:
    """KEY=value lines, comments dropped."""
    pairs = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            pairs[key] = value
    return pairs


def test_the_doc_shows_the_procfile_as_it_is():
    processes = [
        line
        for line in (ROOT / PROCFILE).read_text().splitlines()
        if line and not line.startswith("#")
    ]

    assert processes
    assert any(block.splitlines() == processes for block in code_blocks()), processes


def test_the_doc_shows_the_honcho_commands_the_test_runs():
    shown = [
        line.split("#", 1)[0].split() for block in code_blocks() for line in block.splitlines()
    ]

    assert command(HOST_A) in shown
    assert command(HOST_B) in shown


def test_the_doc_shows_the_overlay_the_test_passes():
    overlay = assignments((ROOT / OVERLAY).read_text())

    assert overlay
    assert any(assignments(block) == overlay for block in code_blocks()), overlay
