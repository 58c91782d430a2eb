"""The words of the election screens, as the 2019 and 2022 election guides show them, with the
year's numbers (performance year, payment year) filled in from policy."""

from __future__ import annotations

from dataclasses import dataclass

from openqpp.core.common import PerformanceYear
from openqpp.core.elections.model import ElectionKind, ExistingElection
from openqpp.core.eligibility import Level, Status

GROUP_NOTE = (
    "If your practice is participating as a group, you don't need to make an election for "
    "individual clinicians unless they are also submitting individual data."
)
"""The note the guides show beside the group and individual options."""

CANNOT_VOLUNTARILY_REPORT_APP = "You can't voluntarily report the APP."


@dataclass(frozen=True, slots=True)
class OptionText:
    kind: ElectionKind
    heading: str
    text: str
    button: str


def options(level: Level, year: int, *, app_voluntary_allowed: bool) -> tuple[OptionText, ...]:
    """The two choices on the Group / Individual Reporting Options page."""
    payment_year = PerformanceYear(year).payment_year
    opt_in_text = (
        "By electing to Opt-In, you become MIPS eligible. You will receive a MIPS final score "
        f"and a payment adjustment in {payment_year}."
    )
    if level is Level.GROUP:
        opt_in_text += (
            " All MIPS eligible clinicians in the practice will receive a payment adjustment "
            "based on the group's performance."
        )
    voluntary_text = (
        "By voluntarily reporting MIPS data, you will receive performance feedback for "
        f"informational purposes only. You will not receive a payment adjustment in "
        f"{payment_year}."
    )
    if not app_voluntary_allowed:
        voluntary_text += " " + CANNOT_VOLUNTARILY_REPORT_APP
    return (
        OptionText(ElectionKind.OPT_IN, "Elect to Opt-In", opt_in_text, "Opt-In"),
        OptionText(
            ElectionKind.VOLUNTARY,
            "Choose to Report Voluntarily",
            voluntary_text,
            "Report Voluntarily",
        ),
    )


def are_you_sure(kind: ElectionKind, name: str, year: int) -> str:
    """The "Are you sure?" paragraph (2019 guide, Step 5: Confirm Selection)."""
    payment_year = PerformanceYear(year).payment_year
    if kind is ElectionKind.OPT_IN:
        return (
            f"By opting-in, {name} will become MIPS eligible for the {year} performance year and "
            f"will receive a final score and {payment_year} payment adjustment based on any data "
            "submitted or not submitted. This election is permanent and cannot be changed later."
        )
    return (
        f"By reporting voluntarily, {name} will receive performance feedback for the {year} "
        f"performance year but no {payment_year} payment adjustment, and its data will not be "
        "included in measure benchmark calculations. This election is permanent and cannot be "
        "changed later."
    )


def confirm_button(kind: ElectionKind) -> str:
    return (
        "I'm sure, confirm opt-in"
        if kind is ElectionKind.OPT_IN
        else "I'm sure, report voluntarily"
    )


def cancel_link(kind: ElectionKind) -> str:
    return "Cancel Opt In" if kind is ElectionKind.OPT_IN else "Cancel"


def confirmed_heading(kind: ElectionKind) -> str:
    return "Opt-In Confirmed" if kind is ElectionKind.OPT_IN else "Voluntary Reporting Confirmed"


def confirmed_text(kind: ElectionKind, name: str, year: int) -> str:
    if kind is ElectionKind.OPT_IN:
        return f"{name} has been successfully opted in to report for the {year} performance year."
    return (
        f"{name} has been successfully elected to report voluntarily for the {year} "
        "performance year."
    )


OPTED_IN_DISPLAY = "MIPS eligible via opt-in"
VOLUNTARY_DISPLAY = "MIPS exempt · Reporting voluntarily"


def participation_display(status: Status, election: ExistingElection | None) -> str:
    """The status line every page shows: ``MIPS eligible via opt-in`` once opted in,
    ``MIPS exempt · Reporting voluntarily`` after a voluntary election, else the status."""
    if election is not None and election.kind is ElectionKind.OPT_IN:
        return OPTED_IN_DISPLAY
    if election is not None and election.kind is ElectionKind.VOLUNTARY:
        return VOLUNTARY_DISPLAY
    return status.display


def reporting_requirement(
    individual: Status,
    individual_election: ExistingElection | None,
    group: Status | None,
    group_election: ExistingElection | None,
) -> str:
    """The "Reporting requirements" paragraph beside a connected clinician (2019 guide,
    Step 4: View Individual Options in Practice Details)."""
    if individual_election is not None and individual_election.kind is ElectionKind.OPT_IN:
        text = (
            "This clinician opted in as an individual: they will receive a MIPS final score and "
            "a payment adjustment, even if no data is submitted."
        )
    elif individual_election is not None:
        text = (
            "This clinician elected to report voluntarily as an individual: they will receive "
            "performance feedback but no payment adjustment from individual reporting."
        )
    elif individual is Status.ELIGIBLE:
        text = (
            "This clinician is required to report because they exceed the individual "
            "low-volume threshold."
        )
    elif individual is Status.OPT_IN_ELIGIBLE:
        text = (
            "This clinician is not required to report because they do not exceed the individual "
            "low-volume threshold. Because they exceed one or two elements of the low-volume "
            "threshold, however, they can opt-in to report as an individual."
        )
    else:
        text = "This clinician is not required to report as an individual and cannot opt in."
    group_opted_in = group_election is not None and group_election.kind is ElectionKind.OPT_IN
    if group is Status.ELIGIBLE or group_opted_in:
        reason = "exceeds the low-volume threshold" if not group_opted_in else "opted in"
        lead = "In either case, because" if individual is Status.OPT_IN_ELIGIBLE else "Because"
        text += (
            f" {lead} the practice {reason}, if the practice reports as a group, the clinician's "
            "payment adjustment will be based on the group's performance."
        )
    return text


# ---------------------------------------------------------------- registry file upload
# 2019 election guide, "Registry Election Process", Steps 5-7; 2022 guide, Steps 4-6.

UPLOAD_PARTICIPANTS_INTRO = (
    'The following clinicians or groups have been identified as "opt-in eligible" for MIPS. '
    "To complete this file upload, you must indicate their preference to Report Voluntarily or "
    "Opt-In to MIPS."
)
UPLOAD_CHANGE_YOUR_MIND = (
    "You can click Cancel File Upload, which will cancel the entire upload (including data for "
    "those who are already MIPS eligible). Once an election to opt-in or voluntarily report is "
    "confirmed that election can't be undone or changed."
)
UPLOAD_ARE_YOU_SURE = (
    "By confirming these selections, you are indicating their preference to Report Voluntarily "
    "or Opt-In to MIPS. These selections are permanent and cannot be changed later."
)
UPLOAD_CONFIRM_BUTTON = "I'm Sure, Confirm Selections"
UPLOAD_CHANGE_SELECTIONS = "Change my selections"
UPLOAD_CONFIRMED_HEADING = "Participation Selections Confirmed"
UPLOAD_CHOICES = (ElectionKind.NO_DECISION, ElectionKind.VOLUNTARY, ElectionKind.OPT_IN)
"""The columns of the participant table, in the guide's order."""


def upload_choice_text(kind: ElectionKind, year: int) -> str:
    """What each choice of the participant table means ("Participant Elections")."""
    payment_year = PerformanceYear(year).payment_year
    if kind is ElectionKind.OPT_IN:
        return (
            "The clinician or group will receive performance feedback and a MIPS payment "
            f"adjustment in {payment_year}."
        )
    if kind is ElectionKind.VOLUNTARY:
        return (
            "The clinician or group will receive performance feedback but will not receive a "
            f"payment adjustment in {payment_year}."
        )
    return "The clinician or group will not be uploaded and will remain MIPS Exempt."


def upload_confirmed_text(year: int, *, opted_in: int, voluntary: int, dropped: int) -> str:
    """The "Participation Selections Confirmed" message, with what was chosen."""
    parts = []
    if opted_in:
        parts.append(f"{opted_in} opted in")
    if voluntary:
        parts.append(f"{voluntary} reporting voluntarily")
    chosen = " and ".join(parts) if parts else "no elections made"
    text = (
        f"Your selected participants have been successfully confirmed for the {year} "
        f"performance year ({chosen}), and their data was uploaded."
    )
    if dropped:
        if dropped == 1:
            text += " 1 participant with No Decision was not uploaded and remains MIPS Exempt."
        else:
            text += (
                f" {dropped} participants with No Decision were not uploaded and remain MIPS "
                "Exempt."
            )
    return text
