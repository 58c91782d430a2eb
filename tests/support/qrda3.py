# ruff: noqa: E501  (XML templates read best unwrapped)
"""Build small QRDA III documents for tests, shaped like the CMS sample files.

    qrda3_document(guide="2018-05-01", year=2019, quality=[ecqm("4028...", [...])], ...)

Every part is optional so a test can leave out exactly what it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS = "urn:hl7-org:v3"


@dataclass(frozen=True)
class Population:
    kind: str  # IPOP, DENOM, NUMER, DENEX, DENEXCEP, NUMEX
    uuid: str
    count: str | int


@dataclass(frozen=True)
class Ecqm:
    guid: str
    populations: tuple[Population, ...] = ()
    rates: tuple[tuple[str, str], ...] = ()  # (numerator uuid, value)


@dataclass(frozen=True)
class PiProportion:
    measure_id: str
    numerator: str | int
    denominator: str | int


@dataclass(frozen=True)
class Attestation:
    measure_id: str
    answer: str = "Y"


@dataclass(frozen=True)
class Period:
    start: str
    end: str


@dataclass
class Document:
    guide: str = "2024-12-01"
    year: int = 2025
    program: str | None = "MIPS_INDIV"
    tin: str | None = "000777777"
    npi: str | None = "1234567893"
    apm_id: str | None = None
    vg_id: str | None = None
    subgroup_id: str | None = None
    cehrt: str | None = "0015C1235689784"
    mvp: str | None = None
    category_extension: str = "2020-12-01"
    quality: list[Ecqm] | None = None
    pi: list[PiProportion | Attestation] | None = None
    ia: list[Attestation] | None = None
    ia_template: str = "2.16.840.1.113883.10.20.27.2.4"
    ia_measure_template: str = "2.16.840.1.113883.10.20.27.3.33"
    periods: dict[str, Period] = field(default_factory=dict)
    doctype: str = ""

    def period(self, section: str) -> Period:
        return self.periods.get(section, Period(f"{self.year}0101", f"{self.year}1231"))


def _rpa(period: Period) -> str:
    return f"""
      <entry typeCode="DRIV">
        <act classCode="ACT" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.17.3.8"/>
          <effectiveTime>
            <low value="{period.start}"/>
            <high value="{period.end}"/>
          </effectiveTime>
        </act>
      </entry>"""


def _count(value: str | int) -> str:
    return f"""
                  <entryRelationship typeCode="SUBJ" inversionInd="true">
                    <observation classCode="OBS" moodCode="EVN">
                      <templateId root="2.16.840.1.113883.10.20.27.3.3"/>
                      <value xsi:type="INT" value="{value}"/>
                    </observation>
                  </entryRelationship>"""


def _ecqm(measure: Ecqm) -> str:
    parts = []
    for population in measure.populations:
        parts.append(
            f"""
          <component>
            <observation classCode="OBS" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.27.3.5" extension="2016-09-01"/>
              <templateId root="2.16.840.1.113883.10.20.27.3.16" extension="2019-05-01"/>
              <value xsi:type="CD" code="{population.kind}" codeSystem="2.16.840.1.113883.5.4"/>{_count(population.count)}
              <reference typeCode="REFR">
                <externalObservation classCode="OBS" moodCode="EVN">
                  <id root="{population.uuid}"/>
                </externalObservation>
              </reference>
            </observation>
          </component>"""
        )
    for uuid, value in measure.rates:
        parts.append(
            f"""
          <component>
            <observation classCode="OBS" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.27.3.25" extension="2022-05-01"/>
              <value xsi:type="REAL" value="{value}"/>
              <reference typeCode="REFR">
                <externalObservation classCode="OBS" moodCode="EVN">
                  <id root="{uuid}"/>
                </externalObservation>
              </reference>
            </observation>
          </component>"""
        )
    return f"""
      <entry>
        <organizer classCode="CLUSTER" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.24.3.98"/>
          <templateId root="2.16.840.1.113883.10.20.27.3.17" extension="2022-05-01"/>
          <reference typeCode="REFR">
            <externalDocument classCode="DOC" moodCode="EVN">
              <id root="2.16.840.1.113883.4.738" extension="{measure.guid}"/>
            </externalDocument>
          </reference>{"".join(parts)}
        </organizer>
      </entry>"""


def _performed(answer: str) -> str:
    return f"""
          <component>
            <observation classCode="OBS" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.27.3.27" extension="2016-09-01"/>
              <value xsi:type="CD" code="{answer}" codeSystem="2.16.840.1.113883.12.136"/>
            </observation>
          </component>"""


def _measure_reference(measure_id: str) -> str:
    return f"""
          <reference typeCode="REFR">
            <externalDocument classCode="DOC" moodCode="EVN">
              <id root="2.16.840.1.113883.3.7031" extension="{measure_id}"/>
            </externalDocument>
          </reference>"""


def _pi(measure: PiProportion | Attestation) -> str:
    if isinstance(measure, Attestation):
        return f"""
      <entry>
        <organizer classCode="CLUSTER" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.27.3.29" extension="2016-09-01"/>{_measure_reference(measure.measure_id)}{_performed(measure.answer)}
        </organizer>
      </entry>"""
    return f"""
      <entry>
        <organizer classCode="CLUSTER" moodCode="EVN">
          <templateId root="2.16.840.1.113883.10.20.27.3.28" extension="2017-06-01"/>{_measure_reference(measure.measure_id)}
          <component>
            <observation classCode="OBS" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.27.3.31" extension="2016-09-01"/>
              <value xsi:type="CD" code="NUMER" codeSystem="2.16.840.1.113883.5.4"/>{_count(measure.numerator)}
            </observation>
          </component>
          <component>
            <observation classCode="OBS" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.27.3.32" extension="2016-09-01"/>
              <value xsi:type="CD" code="DENOM" codeSystem="2.16.840.1.113883.5.4"/>{_count(measure.denominator)}
            </observation>
          </component>
        </organizer>
      </entry>"""


def _ia(doc: Document, activity: Attestation) -> str:
    return f"""
      <entry>
        <organizer classCode="CLUSTER" moodCode="EVN">
          <templateId root="{doc.ia_measure_template}" extension="2016-09-01"/>{_measure_reference(activity.measure_id)}{_performed(activity.answer)}
        </organizer>
      </entry>"""


def qrda3_document(doc: Document | None = None, **changes: object) -> bytes:
    """A QRDA III file; keyword arguments override `Document` fields."""
    doc = doc or Document()
    for key, value in changes.items():
        setattr(doc, key, value)
    program = (
        f"""
  <informationRecipient>
    <intendedRecipient>
      <id root="2.16.840.1.113883.3.249.7" extension="{doc.program}"/>
    </intendedRecipient>
  </informationRecipient>"""
        if doc.program is not None
        else ""
    )
    participants = ""
    if doc.cehrt is not None:
        participants += f"""
  <participant typeCode="DEV">
    <associatedEntity classCode="RGPR">
      <id root="2.16.840.1.113883.3.2074.1" extension="{doc.cehrt}"/>
    </associatedEntity>
  </participant>"""
    if doc.mvp is not None:
        participants += f"""
  <participant typeCode="TRC">
    <associatedEntity classCode="PROG">
      <id root="2.16.840.1.113883.3.249.5.6" extension="{doc.mvp}"/>
    </associatedEntity>
  </participant>"""
    org_ids = "".join(
        f'\n          <id root="{root}" extension="{value}"/>'
        for root, value in (
            ("2.16.840.1.113883.4.2", doc.tin),
            ("2.16.840.1.113883.3.249.5.4", doc.apm_id),
            ("2.16.840.1.113883.3.249.5.2", doc.vg_id),
            ("2.16.840.1.113883.3.249.5.5", doc.subgroup_id),
        )
        if value is not None
    )
    npi = (
        f'\n        <id root="2.16.840.1.113883.4.6" extension="{doc.npi}"/>'
        if doc.npi is not None
        else ""
    )
    sections = ""
    if doc.quality is not None:
        sections += f"""
    <component>
      <section>
        <templateId root="2.16.840.1.113883.10.20.27.2.1" extension="{doc.category_extension}"/>
        <templateId root="2.16.840.1.113883.10.20.27.2.3" extension="2022-05-01"/>{_rpa(doc.period("quality"))}{"".join(_ecqm(m) for m in doc.quality)}
      </section>
    </component>"""
    if doc.pi is not None:
        sections += f"""
    <component>
      <section>
        <templateId root="2.16.840.1.113883.10.20.27.2.5" extension="2020-12-01"/>{"".join(_pi(m) for m in doc.pi)}{_rpa(doc.period("pi"))}
      </section>
    </component>"""
    if doc.ia is not None:
        sections += f"""
    <component>
      <section>
        <templateId root="{doc.ia_template}" extension="2020-12-01"/>{"".join(_ia(doc, a) for a in doc.ia)}{_rpa(doc.period("ia"))}
      </section>
    </component>"""
    text = f"""<?xml version="1.0" encoding="utf-8"?>{doc.doctype}
<ClinicalDocument xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <templateId root="2.16.840.1.113883.10.20.27.1.1" extension="2017-06-01"/>
  <templateId root="2.16.840.1.113883.10.20.27.1.2" extension="{doc.guide}"/>{program}{participants}
  <documentationOf>
    <serviceEvent classCode="PCPR">
      <performer typeCode="PRF">
        <assignedEntity>{npi}
          <representedOrganization>{org_ids}
          </representedOrganization>
        </assignedEntity>
      </performer>
    </serviceEvent>
  </documentationOf>
  <component>
    <structuredBody>{sections}
    </structuredBody>
  </component>
</ClinicalDocument>
"""
    return text.encode("utf-8")


def populations_for(
    stratum_uuids: object,
    *,
    met: int,
    denominator: int,
    exclusions: int = 0,
    exceptions: int = 0,
    initial: int | None = None,
) -> tuple[Population, ...]:
    """The populations of one stratum, from measures data `StratumUuids`."""
    found: list[Population] = []
    plan = (
        ("IPOP", "initial_population_uuid", denominator if initial is None else initial),
        ("DENOM", "denominator_uuid", denominator),
        ("NUMER", "numerator_uuid", met),
        ("DENEX", "denominator_exclusion_uuid", exclusions),
        ("DENEXCEP", "denominator_exception_uuid", exceptions),
    )
    for kind, attribute, count in plan:
        uuid = getattr(stratum_uuids, attribute, None)
        if uuid is not None:
            found.append(Population(kind, uuid, count))
    return tuple(found)
