"""Demo claims: the practices and clinicians of the CMS guides, as batch-contract CSV tables.

The numbers reproduce the guides' examples in both determination segments, e.g. Greenville
Podiatry with 150 Medicare patients, $90,300 allowed charges and 234 covered services (exempt,
opt-in eligible as a group), so the demo server and the tests show the cases the guides show.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openqpp.core.common import npi_check_digit
from openqpp.policy import Policy


def demo_npi(stem: str) -> str:
    """A valid NPI from a 9-digit stem (adds the check digit)."""
    return stem + str(npi_check_digit(stem))


@dataclass(frozen=True, slots=True)
class DemoClinician:
    npi: str
    first_name: str
    last_name: str
    clinician_type: str
    specialty_code: str
    first_enrolled: dt.date


@dataclass(frozen=True, slots=True)
class DemoVolume:
    """What one clinician bills under one TIN in each segment."""

    tin: str
    npi: str
    beneficiaries: int
    allowed_charges: Decimal
    covered_services: int
    place_of_service: str = "11"
    patient_facing: bool = True


MIAMI_MEDICAL = "123456789"
GREENVILLE_PODIATRY = "454599323"

CLINICIANS = (
    DemoClinician(demo_npi("123456789"), "Debara", "Jones", "physician", "08", dt.date(2009, 5, 1)),
    DemoClinician(
        demo_npi("100300012"), "Sam", "Rivera", "nurse_practitioner", "50", dt.date(2012, 3, 1)
    ),
    DemoClinician(demo_npi("145319959"), "Alex", "Green", "physician", "48", dt.date(2011, 9, 1)),
    DemoClinician(
        demo_npi("198765432"), "Pat", "Morgan", "physical_therapist", "65", dt.date(2015, 1, 1)
    ),
)

VOLUMES = (
    # Debara Jones at Miami Medical: opt-in eligible as an individual (exceeds charges only).
    DemoVolume(MIAMI_MEDICAL, CLINICIANS[0].npi, 180, Decimal("95000.00"), 190),
    # A nurse practitioner at Miami Medical: exceeds every criterion.
    DemoVolume(MIAMI_MEDICAL, CLINICIANS[1].npi, 260, Decimal("130500.00"), 410),
    # Greenville Podiatry (the 2019 guide's example): 150 patients, $90,300, 234 services.
    DemoVolume(GREENVILLE_PODIATRY, CLINICIANS[2].npi, 150, Decimal("90300.00"), 234),
    # A physical therapist at Miami Medical, well below the threshold.
    DemoVolume(MIAMI_MEDICAL, CLINICIANS[3].npi, 40, Decimal("12000.00"), 90),
)

CLAIM_COLUMNS = (
    "claim_id",
    "line_number",
    "tin",
    "npi",
    "beneficiary_id",
    "date_of_service",
    "processed_date",
    "allowed_amount",
    "hcpcs",
    "place_of_service",
    "covered_professional_service",
    "patient_facing",
    "facility_ccn",
)


def _split(total: Decimal, parts: int) -> list[Decimal]:
    """``parts`` cent amounts that add up to ``total`` exactly."""
    cents = int(total * 100)
    base, extra = divmod(cents, parts)
    return [Decimal(base + (1 if i < extra else 0)) / 100 for i in range(parts)]


def write_demo_claims(out: Path, policy: Policy) -> Path:
    """Write the demo tables for ``policy``'s year into ``out`` (CSV); returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    segments = policy.eligibility.determination_period.segments
    with (out / "claim_lines.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CLAIM_COLUMNS)
        claim = 0
        for segment in segments:
            span = (segment.end - segment.start).days
            for volume in VOLUMES:
                amounts = _split(volume.allowed_charges, volume.covered_services)
                for line, amount in enumerate(amounts):
                    claim += 1
                    day = segment.start + dt.timedelta(days=(line * 7) % max(span, 1))
                    writer.writerow(
                        [
                            f"C{segment.number}{claim:08d}",
                            1,
                            volume.tin,
                            volume.npi,
                            f"B{volume.tin[-4:]}{line % volume.beneficiaries:05d}",
                            day.isoformat(),
                            day.isoformat(),
                            f"{amount:.2f}",
                            "99213",
                            volume.place_of_service,
                            "true",
                            "true" if volume.patient_facing else "false",
                            "",
                        ]
                    )
    with (out / "clinicians.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["npi", "clinician_type", "specialty_code", "first_enrolled", "first_name", "last_name"]
        )
        for c in CLINICIANS:
            writer.writerow(
                [
                    c.npi,
                    c.clinician_type,
                    c.specialty_code,
                    c.first_enrolled.isoformat(),
                    c.first_name,
                    c.last_name,
                ]
            )
    with (out / "practice_locations.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["tin", "npi", "zip", "rural", "hpsa"])
        writer.writerow([MIAMI_MEDICAL, "", "33101", "false", "false"])
        writer.writerow([GREENVILLE_PODIATRY, "", "45331", "true", "false"])
    return out
