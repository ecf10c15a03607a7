"""The magic recipients page: test mode's help, the simulator's table as it is
(channels_app.integrations.simulator.magic.TABLE), grouped by address family. Readable in
either mode, so it can be looked up before switching test mode on."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import account_view
from channels_app.integrations import get_integration
from channels_app.integrations.simulator import magic

FAMILY_TITLES = {
    magic.EMAIL: "Email addresses",
    magic.PHONE: "Phone numbers",
    magic.CHAT: "Chat identifiers",
}
WHAT_TO_WRITE = {
    magic.EMAIL: f"Any of these addresses at {magic.EMAIL_DOMAIN}.",
    magic.PHONE: (
        "A US number in the range reserved for fiction, 555-0100 to 555-0199, in any area "
        "code; the last four digits choose the outcome."
    ),
    magic.CHAT: "The word as the recipient; a contact with that identifier wins over it.",
}


@dataclass
class Family:
    family: str
    title: str
    what_to_write: str
    kinds: list[str]  # the titles of the channel kinds whose recipients it covers
    rows: list[magic.Magic]


def families() -> list[Family]:
    """The table by family, in its own order, each with the kinds that declare it
    (Integration.simulated_as, through magic.kinds_of)."""
    found: dict[str, Family] = {}
    for row in magic.TABLE:
        if row.family not in found:
            found[row.family] = Family(
                family=row.family,
                title=FAMILY_TITLES.get(row.family, row.family),
                what_to_write=WHAT_TO_WRITE.get(row.family, ""),
                kinds=[],
                rows=[],
            )
        found[row.family].rows.append(row)
    for family in found.values():
        family.kinds = [get_integration(kind).title for kind in magic.kinds_of(family.family)]
    return list(found.values())


@account_view()
def magic_recipients(request: HttpRequest) -> HttpResponse:
    return render(request, "channels_app/magic_recipients.html", {"families": families()})
