"""The magic recipients' table is one table: the README's (under "Test mode") is
magic.TABLE row for row, and every channel kind answers to one of its address families."""

from pathlib import Path

import pytest

from channels_app.integrations import channel_kinds, get_integration
from channels_app.integrations.simulator import magic
from channels_app.integrations.simulator.callbacks import STEPS

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_rows() -> list[list[str]]:
    """The cells of the README's magic recipients table, header and rule left out."""
    text = README.read_text()
    section = text.split("### Magic recipients", 1)[1]
    lines = [line for line in section.splitlines() if line.strip()]
    table = []
    for line in lines[2:]:  # the header and its rule
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return table


def expected_row(entry: magic.Magic) -> list[str]:
    channels = ", ".join(get_integration(kind).title for kind in magic.kinds_of(entry.family))
    statuses = " → ".join(f"`{status}`" for status in entry.statuses)
    if entry.statuses_with_read:
        statuses += " (WhatsApp: " + " → ".join(f"`{s}`" for s in entry.statuses_with_read) + ")"
    return [channels, f"`{entry.example}`", entry.outcome, statuses]


def test_the_readme_table_is_the_magic_table():
    assert readme_rows() == [expected_row(entry) for entry in magic.TABLE]


@pytest.mark.parametrize("kind", channel_kinds())
def test_every_kind_answers_to_an_address_family(kind):
    assert get_integration(kind).simulated_as in (magic.EMAIL, magic.PHONE, magic.CHAT)


def test_every_family_has_a_kind_and_every_report_a_name():
    for family in (magic.EMAIL, magic.PHONE, magic.CHAT):
        assert magic.kinds_of(family)
    for entry in magic.TABLE:
        assert set(entry.reports) <= set(STEPS), entry
        assert magic.lookup(entry.family, entry.recipient) is entry
