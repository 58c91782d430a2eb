"""The Eligibility API v6 response shape (CMS's `npi/{npi}`), from the lookup views.

Documented fields keep CMS's names and meanings; openqpp's explanations are added beside them
under `explanation` (never replacing a documented field). TINs are masked for callers that
are not entitled to see them.
"""

from __future__ import annotations

from typing import Any

from openqpp.core.eligibility import SpecialStatus, Status
from openqpp.services.eligibility_lookup import (
    ApmView,
    ClinicianView,
    OrganizationView,
    ScenarioView,
)

MASKED_TIN = "XXXXXXXXXX"


def _explanation(view: ScenarioView) -> dict[str, Any]:
    return {
        "status": view.status.value,
        "statusText": view.display,
        "exceeded": [c.value for c in view.exceeded],
        "segments": [
            {
                "segment": s.segment,
                "allowedCharges": str(s.allowed_charges),
                "beneficiaries": s.beneficiaries,
                "coveredServices": s.covered_services,
                "patientFacingEncounters": s.patient_facing_encounters,
            }
            for s in view.segments
        ],
        "specialStatuses": {s.value: segment for s, segment in view.special_statuses.items()},
        "reasons": [{"code": r.code, "segment": r.segment, "text": r.text} for r in view.reasons],
        "election": _election(view),
    }


def _election(view: ScenarioView) -> dict[str, Any] | None:
    """The entity's election, when it has one (``isOptedIn`` says only opted in or not)."""
    election = view.election
    if election is None:
        return None
    return {
        "decision": election.kind.value,
        "via": election.source.value,
        "decidedAt": _iso(election.decided_at),
        "virtualGroupId": election.virtual_group_id,
        "publicReportingOptOut": view.public_reporting_opt_out,
    }


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    return str(moment.isoformat()).replace("+00:00", "Z")


def _low_volume_reasons(view: ScenarioView) -> list[dict[str, str]]:
    """CMS's lowVolumeStatusReasons: the criteria not exceeded, or none."""
    low_volume = view.low_volume_reason
    if low_volume is None:
        return []
    return [{"lowVolStusRsnCd": low_volume[0], "lowVolStusRsnDesc": low_volume[1]}]


def _scenario_common(view: ScenarioView) -> dict[str, Any]:
    latest = view.latest
    return {
        "aciHardship": False,
        "aciReweighting": view.has(SpecialStatus.HOSPITAL_BASED)
        or view.has(SpecialStatus.ASC_BASED)
        or view.has(SpecialStatus.NON_PATIENT_FACING),
        "ambulatorySurgicalCenter": view.has(SpecialStatus.ASC_BASED),
        "extremeHardship": False,
        "hospitalBasedClinician": view.has(SpecialStatus.HOSPITAL_BASED),
        "hpsaClinician": view.has(SpecialStatus.HPSA),
        "isFacilityBased": view.has(SpecialStatus.FACILITY_BASED),
        "isOptedIn": view.is_opted_in,
        "isOptInEligible": view.status is Status.OPT_IN_ELIGIBLE,
        "lowVolumeServices": latest.covered_services if latest else 0,
        "lowVolumeStatusReasons": _low_volume_reasons(view),
        "lowVolumeSwitch": view.low_volume_reason is not None,
        "mipsEligibleSwitch": view.status is Status.ELIGIBLE,
        "nonPatientFacing": view.has(SpecialStatus.NON_PATIENT_FACING),
        "optInDecisionDate": _iso(view.opt_in_decision_date),
        "ruralClinician": view.has(SpecialStatus.RURAL),
        "smallGroupPractitioner": view.has(SpecialStatus.SMALL_PRACTICE),
        "explanation": _explanation(view),
    }


def _individual(view: ScenarioView | None, org: OrganizationView, clinician: ClinicianView) -> Any:
    if view is None:
        return None
    body = _scenario_common(view)
    body["isEligible"] = {
        "individual": view.status is Status.ELIGIBLE,
        "group": org.group is not None and org.group.status is Status.ELIGIBLE,
        "mipsApm": any(a.mips_apm for a in org.apms),
        "virtualGroup": any(v.status is Status.ELIGIBLE for v in org.virtual_groups),
    }
    body["specialtyCode"] = clinician.specialty_code
    body["specialty"] = {
        "specialtyDescription": None,
        "categoryReference": None,
        "typeDescription": clinician.clinician_type,
    }
    return body


def _group(view: ScenarioView | None) -> Any:
    if view is None:
        return None
    body = _scenario_common(view)
    body["isEligible"] = {"group": view.status is Status.ELIGIBLE}
    return body


def _apm(apm: ApmView) -> dict[str, Any]:
    result = apm.result
    return {
        "apmId": apm.apm_entity_id,
        "entityName": apm.apm_entity_id,
        "apmName": apm.apm_model,
        "mipsApmFlag": apm.mips_apm,
        "advancedApmFlag": apm.advanced_apm,
        "lvtFlag": result.exceeds_low_volume_threshold if result else None,
        "lvtPayments": str(result.latest.allowed_charges) if result and result.latest else None,
        "lvtPatients": result.latest.beneficiaries if result and result.latest else None,
        "lvtSmallStatus": result.has(SpecialStatus.SMALL_PRACTICE) if result else None,
        "isOptedIn": result.is_opted_in if result else None,
        "explanation": _explanation(result) if result else None,
    }


def _virtual_group(view: ScenarioView, *, show_ids: bool) -> dict[str, Any]:
    latest = view.latest
    return {
        "virtualGroupIdentifier": view.entity_key if show_ids else MASKED_TIN,
        "lowVolumeSwitch": view.low_volume_reason is not None,
        "lowVolumeStatusReasons": _low_volume_reasons(view),
        "beneficiaryCount": latest.beneficiaries if latest else 0,
        "allowedCharges": str(latest.allowed_charges) if latest else "0",
        "specialScenario": {
            "nonPatientFacing": view.has(SpecialStatus.NON_PATIENT_FACING),
            "ruralClinician": view.has(SpecialStatus.RURAL),
            "hpsaClinician": view.has(SpecialStatus.HPSA),
            "hospitalBasedClinician": view.has(SpecialStatus.HOSPITAL_BASED),
            "ambulatorySurgicalCenter": view.has(SpecialStatus.ASC_BASED),
            "smallGroupPractitioner": view.has(SpecialStatus.SMALL_PRACTICE),
        },
        "explanation": _explanation(view),
    }


def clinician(
    view: ClinicianView, *, show_tins: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The `data` object of `GET /api/eligibility/npi/{npi}` (v6); TINs outside ``show_tins``
    are masked."""
    enrolled = view.first_enrolled
    return {
        "firstName": view.first_name,
        "middleName": None,
        "lastName": view.last_name,
        "npi": str(view.npi),
        "nationalProviderIdentifierType": 1,
        "firstApprovedDate": enrolled.isoformat() if enrolled else None,
        "yearsInMedicare": max(0, view.performance_year - enrolled.year) if enrolled else None,
        "pecosEnrollmentDate": enrolled.year if enrolled else None,
        "newlyEnrolled": view.newly_enrolled,
        "qpStatus": view.qp_status,
        "performanceYear": view.performance_year,
        "runNum": view.run_number,
        "unverifiedPolicy": list(view.policy_unverified),
        "organizations": [
            {
                "TIN": str(org.tin) if org.tin in show_tins else MASKED_TIN,
                "prvdrOrgName": org.name,
                "isFacilityBased": bool(
                    org.individual and org.individual.has(SpecialStatus.FACILITY_BASED)
                ),
                "addressLineOne": org.address,
                "individualScenario": _individual(org.individual, org, view),
                "groupScenario": _group(org.group),
                "apms": [_apm(a) for a in org.apms],
                "virtualGroups": [
                    _virtual_group(v, show_ids=org.tin in show_tins) for v in org.virtual_groups
                ],
            }
            for org in view.organizations
        ],
    }
