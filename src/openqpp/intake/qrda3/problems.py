# ruff: noqa: E501  (messages are kept verbatim, one string each)
"""The error codes of CMS's QRDA III converter (CMSgov/qpp-conversion-tool @ ca8425be).

Generated from `shared/reference/notes/conversion-error-codes.json` (the codes whose status
is "current"; ProblemCode.java). Messages are emitted with the "CT - " prefix; each
``(placeholder)`` wrapped in backticks is replaced, in order, by the arguments given.
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Problem(NamedTuple):
    code: int
    name: str
    template: str


PROBLEMS: Final[dict[int, Problem]] = {
    1: Problem(
        1, "ENCODER_MISSING", "The system could not complete the request, please try again."
    ),
    2: Problem(
        2,
        "NOT_VALID_XML_DOCUMENT",
        "Contact you Health IT vendor to review your file and confirm it's properly formatted as an XML document.",
    ),
    3: Problem(
        3,
        "UNEXPECTED_ERROR",
        "There was an unexpected system error during the file conversion. Contact the customer service center for assistance by email at QPP@cms.hhs.gov or by phone at 1-866-288-8292 (TRS: 711)",
    ),
    4: Problem(
        4,
        "UNEXPECTED_ENCODE_ERROR",
        "There was an unexpected error during the file encoding.  Contact the customer service center for assistance by email at QPP@cms.hhs.gov or by phone at 1-866-288-8292 (TRS: 711)",
    ),
    5: Problem(
        5,
        "NOT_VALID_QRDA_DOCUMENT",
        "Verify that your file is a QRDA III XML document and that it complies with the `(Submission year's)` implementation guide. `(Implementation guide link)`",
    ),
    6: Problem(
        6,
        "MEASURE_GUID_MISSING",
        "Verify the measure GUID for `(Provided measure id)` against table 15 of the `(Submission year's)` Implementation Guide for valid measure GUIDs: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=43",
    ),
    7: Problem(
        7,
        "CHILD_MEASURE_MISSING",
        "Review the measure section of your file to confirm it contains at least 1 measure. ",
    ),
    8: Problem(
        8,
        "AGGREGATE_COUNT_VALUE_NOT_SINGULAR",
        "Review `(Parent element)`. It shows `(number of aggregate counts)` but it can only have 1.",
    ),
    9: Problem(
        9,
        "AGGREGATE_COUNT_VALUE_NOT_INTEGER",
        "The aggregate count must be a whole number without decimals.",
    ),
    11: Problem(
        11,
        "PI_MEASURE_PERFORMED_RNR_MEASURE_PERFORMED_EXACT",
        "Review this Promoting Interoperability reference for a missing required measure.",
    ),
    12: Problem(
        12,
        "PI_MEASURE_PERFORMED_RNR_MEASURE_ID_NOT_SINGULAR",
        "Review this Promoting Interoperability measure for multiple measure IDs. There can only  be 1 measure ID.",
    ),
    13: Problem(
        13,
        "DENOMINATOR_COUNT_INVALID",
        "The denominator count must be less than or equal to the initial population count for the measure population `(measure population id)`. You can check Table 15 of the `(Submission Year)` Implementation guide for valid measure GUIDs: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=43",
    ),
    14: Problem(
        14,
        "POPULATION_CRITERIA_COUNT_INCORRECT",
        "The electronic measure id: `(Current eMeasure ID)` requires `(Number of Subpopulations required)` `(Type of Subpopulation required)`(s) but there are `(Number of Subpopulations existing)`",
    ),
    15: Problem(
        15,
        "PI_NUMERATOR_DENOMINATOR_PARENT_NOT_PI_SECTION",
        "Review the Promoting Interoperability Numerator Denominator element. It must have a parent Promoting Interoperability Section.",
    ),
    16: Problem(
        16,
        "PI_NUMERATOR_DENOMINATOR_MISSING_MEASURE_ID",
        "Review the Promoting Interoperability Numerator Denominator element. It must have a measure name ID",
    ),
    17: Problem(
        17,
        "PI_NUMERATOR_DENOMINATOR_MISSING_CHILDREN",
        "Review the Promoting Interoperability Numerator Denominator element. it must have a child element.",
    ),
    18: Problem(
        18,
        "PI_NUMERATOR_DENOMINATOR_VALIDATOR_EXACTLY_ONE_NUMERATOR_OR_DENOMINATOR_CHILD_NODE",
        "This Promoting Interoperability Numerator Denominator element requires exactly one `(Denominator|Numerator)` element child",
    ),
    22: Problem(
        22,
        "PI_SECTION_MISSING_REPORTING_PARAMETER_ACT",
        "Review the Reporting Parameter Act in the Promoting Interoperability section. It must comply with the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    23: Problem(
        23,
        "CLINICAL_DOCUMENT_MISSING_PI_OR_IA_OR_ECQM_CHILD",
        "Review the element 'Clinical Document'. It must have at least one measure section or a child element of type Promoting Interoperability or Improvement Activities.",
    ),
    24: Problem(
        24,
        "CLINICAL_DOCUMENT_MISSING_PROGRAM_NAME",
        "Review the QRDA III file. It must only have one program name from this list: `(list of valid program names)`",
    ),
    25: Problem(
        25,
        "CLINICAL_DOCUMENT_INCORRECT_PROGRAM_NAME",
        "Review the Clinical Document for a valid program name from this list: `(list of valid program names)`.  `(program name)` is not valid.",
    ),
    26: Problem(
        26,
        "CLINICAL_DOCUMENT_CONTAINS_DUPLICATE_PI_SECTIONS",
        "Review the QRDA III file for duplicate Promoting Interoperability sections.",
    ),
    27: Problem(
        27,
        "CLINICAL_DOCUMENT_CONTAINS_DUPLICATE_IA_SECTIONS",
        "Review the QRDA III file for duplicate Improvement Activity sections.",
    ),
    28: Problem(
        28,
        "CLINICAL_DOCUMENT_CONTAINS_DUPLICATE_ECQM_SECTIONS",
        "Review the QRDA III file for duplicate measure sections.",
    ),
    29: Problem(
        29,
        "REPORTING_PARAMETERS_MUST_CONTAIN_SINGLE_PERFORMANCE_START",
        "The file must only have one performance period start. You can find more information on performance periods in the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    30: Problem(
        30,
        "REPORTING_PARAMETERS_MUST_CONTAIN_SINGLE_PERFORMANCE_END",
        "The file must only have one performance period end. You can find more information on performance periods in the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    31: Problem(
        31,
        "REPORTING_PARAMETERS_MISSING_PERFORMANCE_YEAR",
        "The file must have a performance year. You can find more information on performance periods in the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    32: Problem(
        32,
        "QUALITY_MEASURE_SECTION_REQUIRED_REPORTING_PARAM_REQUIREMENT",
        "The Quality Measure section must only have one Reporting Parameter Act. You can find more information on performance periods in the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    33: Problem(
        33,
        "PERFORMANCE_RATE_INVALID_VALUE",
        "The Performance Rate `(supplied value)` must be a decimal between 0 and 1.",
    ),
    39: Problem(
        39,
        "NUMERATOR_DENOMINATOR_CHILD_EXACT",
        "Review the aggregate count children for the Promoting Interoperability `(Numerator or Denominator)` element. It must have exactly one aggregate count element",
    ),
    41: Problem(
        41,
        "NUMERATOR_DENOMINATOR_MUST_BE_INTEGER",
        "Review the Promoting Interoperability `(Numerator or Denominator)` element's aggregate value. '`(value)`' must be a whole number.",
    ),
    42: Problem(
        42,
        "NUMERATOR_DENOMINATOR_INVALID_VALUE",
        "Review the Promoting Interoperability `(Numerator or Denominator)` element's aggregate value. '`(value)`' is not valid.",
    ),
    43: Problem(
        43,
        "IA_SECTION_MISSING_IA_MEASURE",
        "The Improvement Activities section must have at least one Improvement Activity",
    ),
    44: Problem(
        44,
        "IA_SECTION_MISSING_REPORTING_PARAM",
        "The Improvement Activities section must have one Reporting Parameter Act. You can find more information on the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    45: Problem(
        45,
        "IA_SECTION_WRONG_CHILD",
        "The Improvement Activities section must only contain Improvement Activities and a Reporting Parameter Act",
    ),
    50: Problem(
        50,
        "IA_MEASURE_INCORRECT_CHILDREN_COUNT",
        "Review your data. An Improvement Activities performed measure reference and results must have exactly one measure performed child.",
    ),
    51: Problem(
        51,
        "IA_MEASURE_INVALID_TYPE",
        "Review your data. The data for a performed measure is required and must be either a Y or an N.",
    ),
    52: Problem(
        52,
        "MEASURE_PERFORMED_MISSING_AGGREGATE_COUNT",
        "The measure data with population id `(population id)` must have exactly one Aggregate Count. You can find more information on GUIDs on the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=43",
    ),
    53: Problem(
        53,
        "MEASURE_DATA_VALUE_NOT_INTEGER",
        "The measure data with population id '`(population id)`' must be a whole number greater than or equal to 0. You can find more information on GUIDs on the Implementation Guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=43",
    ),
    57: Problem(
        57,
        "QUALITY_MEASURE_ID_MISSING_SINGLE_MEASURE_POPULATION",
        "The reference results for the measure must have a single measure population",
    ),
    58: Problem(
        58,
        "QUALITY_MEASURE_ID_MISSING_SINGLE_MEASURE_TYPE",
        "The reference results for the measure must have a single measure type",
    ),
    59: Problem(
        59,
        "QUALITY_MEASURE_ID_INCORRECT_UUID",
        "The electronic measure id: `(Current eMeasure ID)` requires a `(Subpopulation type)` with the correct UUID of `(Correct uuid required)`. You can find additional information on the implementation guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=43",
    ),
    61: Problem(
        61,
        "QUALITY_MEASURE_ID_MISSING_SINGLE_PERFORMANCE_RATE",
        "Review your data. A performance rate must contain a single numerator UUID reference.",
    ),
    69: Problem(
        69,
        "INVALID_PERFORMANCE_PERIOD_FORMAT",
        "Review the `(Performance period start or end date)` format. Valid date formats are 2024-02-26, 2024/02/26T01:45:23, or 2024-02-26T01:45:23.123. You cn find more information on the implementation guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    70: Problem(
        70,
        "MISSING_OR_DUPLICATED_MEASURE_GUID",
        "Review the measure GUID for measure section, measure reference, and results. There must only be one GUID per measure. Refer to page 36 of the implementation guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=36",
    ),
    71: Problem(
        71,
        "MEASURES_RNR_WITH_DUPLICATED_MEASURE_GUID",
        "Review the file for duplicate GUIDs. Each measure section, measure reference, and results must have its own GUID.",
    ),
    72: Problem(
        72,
        "PERFORMANCE_RATE_MISSING",
        "Contact your Health IT vendor. The QRDA III file is missing a performance rate. Performance rate is required for PCF reporting. You can find more information on page 17 of the implementation guide: https://ecqi.healthit.gov/sites/default/files/2025-CMS-QRDA-III-EC-IG-v1.1.pdf#page=17",
    ),
    78: Problem(
        78, "VIRTUAL_GROUP_ID_REQUIRED", "Enter an entity ID for the program 'MIPS Virtual Group'."
    ),
    79: Problem(
        79,
        "MISSING_PII_VALIDATOR",
        "Enter a TIN number to verify the NPI/Alternative Payment Model (APM) combinations.",
    ),
    80: Problem(
        80,
        "INCORRECT_API_NPI_COMBINATION",
        "Review count of TINs (`(tinCount)`) and NPIs (`(npiCount)`).  Ensure your TIN and NPI counts match.",
    ),
    81: Problem(
        81,
        "MEASURE_SECTION_MISSING_MEASURE",
        "At least one measure is required in a measure section",
    ),
    82: Problem(
        82,
        "TOO_MANY_ERRORS",
        "This QRDA III file shows 100 out of `(Error amount)` errors. Correct and re-submit the file. ",
    ),
    95: Problem(
        95,
        "MEASURE_SECTION_V5_REQUIRES_CATEGORY_SECTION",
        "The QRDA III file must contain one Category Section v5 with the extension 2020-12-01",
    ),
    96: Problem(96, "MISSING_API_TIN_NPI_FILE", "The APM to TIN/NPI Combination file is missing."),
    102: Problem(
        102,
        "PI_RESTRICTED_MEASURES",
        "The Promoting Interoperability section cannot contain PI_HIE_5 with PI_HIE_1, PI_LVOTC_1, PI_HIE_4, or PI_LVITC_2",
    ),
}


def message(code: int, *args: object) -> str:
    """The message as the converter emits it: "CT - " + the template with its arguments."""
    template = PROBLEMS[code].template
    for arg in args:
        start = template.find("`(")
        end = template.find(")`", start)
        if start < 0 or end < 0:
            break
        template = template[:start] + str(arg) + template[end + 2 :]
    return "CT - " + template
