"""The APM entity opt-in notification letter (guides/2019-apm-entity-opt-in-letter.txt), with the
year's threshold, determination periods and payment year from policy and the entity's own
numbers from the determination.

Letters go out in rounds: in ``september`` to APM entities opt-in eligible after the first
determination segment, in ``december`` to those newly opt-in eligible after the second.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from openqpp.core.common import PerformanceYear
from openqpp.core.elections.window import Window
from openqpp.core.eligibility import Criterion
from openqpp.core.eligibility.model import format_count, format_money, phrase
from openqpp.policy import Policy

WIDTH = 90
ELECTION_LINE = "WE ELECT TO OPT-IN TO MIPS REPORTING"


class LetterRound(StrEnum):
    SEPTEMBER = "september"
    DECEMBER = "december"


@dataclass(frozen=True, slots=True)
class ApmLetterFacts:
    apm_entity_id: str
    entity_name: str
    apm_name: str
    advanced_apm: bool
    mips_apm: bool
    beneficiaries: int
    allowed_charges: Decimal
    covered_services: int
    exceeded: tuple[Criterion, ...]
    participants: int


def _para(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), width=WIDTH)


def _date(day: dt.date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def apm_opt_in_letter(
    facts: ApmLetterFacts,
    *,
    policy: Policy,
    letter_round: LetterRound,
    return_to: str,
    return_by: dt.datetime | None = None,
) -> str:
    """The letter for one opt-in eligible APM entity, as plain text."""
    year = policy.year
    payment_year = PerformanceYear(year).payment_year
    lvt = policy.eligibility.low_volume_threshold
    segments = policy.eligibility.determination_period.segments
    periods = " and ".join(f"{_date(s.start)}-{_date(s.end)}" for s in segments)
    window = Window.for_policy(policy)
    deadline = window.when(return_by or window.closes)
    kinds = []
    if facts.advanced_apm:
        kinds.append("an Advanced Alternative Payment Model (Advanced APM)")
    if facts.mips_apm:
        kinds.append("a MIPS APM")
    model = " and ".join(kinds) or "an Alternative Payment Model"
    benefits = []
    if facts.advanced_apm:
        benefits.append(
            "Participating in an Advanced APM provides clinicians with the potential to receive "
            "the APM Incentive Payment and exemption from participating in MIPS."
        )
    if facts.mips_apm:
        benefits.append(
            "Participating in a MIPS APM provides clinicians with the APM Scoring Standard, in "
            "which clinicians will receive additional points toward their MIPS scores."
        )
    criteria = [
        f"Bills {phrase(lvt.allowed_charges.comparison)} "
        f"{format_money(lvt.allowed_charges.value)} for Part B covered professional services",
        f"Sees {phrase(lvt.beneficiaries.comparison)} {format_count(lvt.beneficiaries.value)} "
        "Part B patients",
    ]
    if lvt.covered_services is not None:
        criteria.append(
            f"Provides {phrase(lvt.covered_services.comparison)} "
            f"{format_count(lvt.covered_services.value)} covered professional services to "
            "Part B patients"
        )
    assessed = (
        "During the first 12-month segment"
        if letter_round is LetterRound.SEPTEMBER
        else "After the second 12-month segment"
    )
    values = {
        Criterion.ALLOWED_CHARGES: f"{format_money(facts.allowed_charges)} in allowed charges",
        Criterion.BENEFICIARIES: f"{format_count(facts.beneficiaries)} Part B patients",
        Criterion.COVERED_SERVICES: f"{format_count(facts.covered_services)} covered services",
    }
    exceeded = [values[c] for c in Criterion if c in facts.exceeded]
    below = [values[c] for c in Criterion if c not in facts.exceeded]
    lines = [
        f"Opt-in Policy and Election Process for APM Entities: performance year {year}",
        "",
        f"Dear {facts.entity_name},",
        "",
        _para(
            f"Your organization has been identified as a participant in {facts.apm_name}. Under "
            f"the Quality Payment Program, {facts.apm_name} is {model}. " + " ".join(benefits)
        ),
        "",
        _para(
            "We evaluate your eligibility to participate in MIPS at each APM Entity, identified "
            f"by APM Entity ID ({facts.apm_entity_id}), during two 12-month MIPS determination "
            f"periods ({periods}) to assess the volume of care you provide to Medicare "
            "beneficiaries."
        ),
        "",
        f"{assessed}, we assessed your APM Entity on the following criteria:",
        "",
        *(f"  * {c}{' AND' if i < len(criteria) - 1 else ''}" for i, c in enumerate(criteria)),
        "",
        _para(
            f"Your APM Entity ({facts.participants} participating clinicians) had "
            + (", ".join(exceeded) + " (above the threshold) and " if exceeded else "")
            + ", ".join(below)
            + " (at or below the threshold)."
        ),
        "",
        _para(
            "Your organization (also known as your APM Entity) was below the Low Volume "
            "Threshold for MIPS eligibility for at least one of these criteria. As a result, "
            "your APM Entity is currently eligible to Opt-In to participate in MIPS, but is not "
            "required to participate in MIPS. You will need to sign and return this letter in "
            "order to Opt-In to participate in MIPS."
        ),
        "",
    ]
    if letter_round is LetterRound.SEPTEMBER:
        lines += [
            _para(
                "Your election will not be binding until the end of the second determination "
                "period."
            ),
            "",
        ]
    lines += [
        "If your APM Entity elects to opt-in, they will:",
        "",
        "  * Have all individuals in the APM Entity considered MIPS eligible clinicians, if they",
        "    are not otherwise excluded;",
        "  * Receive a payment adjustment (positive, negative or neutral) based on your",
        "    performance;",
        "  * Be eligible to have their data published for public reporting; and",
        "  * Be assessed in the same way as MIPS eligible clinicians who are required to",
        "    participate in MIPS and are therefore automatically included.",
        "",
        _para(
            "If your APM Entity elects not to opt-in, there is no MIPS payment adjustment and "
            "no performance feedback."
        ),
        "",
        _para(
            "Because you exceeded one or two of the three thresholds above related to the "
            "volume of charges, beneficiaries and services, you can:"
        ),
        "",
        "  * Elect to opt-in. If you elect to opt-in to MIPS, you will be subject to a MIPS final",
        f"    score and payment adjustment (positive, negative or neutral) in {payment_year}.",
        "  * Do not opt-in. No further action needed and receive no payment adjustment and no",
        "    performance feedback.",
        "",
        "Elect to Opt-In",
        "",
        _para(
            "If your APM Entity would like to Opt-In to MIPS reporting, please check the Opt-In "
            "box below. In order to be scored in MIPS, we must receive a proactive election, "
            "along with the corresponding information."
        ),
        "",
        f"[ ] {ELECTION_LINE}",
        "",
        "PRINTED NAME  ______________________________",
        "SIGNATURE     ______________________________",
        "POSITION      ______________________________",
        "DATE SIGNED   ______________________________",
        f"APM Entity ID {facts.apm_entity_id}",
        "",
        _para(f"Please email the selected and signed form to {return_to} by {deadline}."),
        "",
    ]
    return "\n".join(lines)
