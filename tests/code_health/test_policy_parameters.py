"""The policy parameter files (DESIGN.md "Policy as data"): every file parses under the strict
reader, lists every supported year with a reference, and resolves into a typed policy; the reader
refuses the mistakes it promises to refuse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from openqpp.policy import (
    SUPPORTED_YEARS,
    PolicyFileError,
    UnsupportedPerformanceYear,
    load_policy,
)
from openqpp.policy.catalogue import (
    PARAMETERS_DIR,
    ParameterFile,
    iter_parameter_files,
    parse_parameter_file,
    read_catalogue,
)

FILES = list(iter_parameter_files())


def _ids(file: Path) -> str:
    return str(file.relative_to(PARAMETERS_DIR).with_suffix(""))


def _catalogue() -> tuple[ParameterFile, ...]:
    return read_catalogue()


# ---------------------------------------------------------------- the real files


def test_the_parameter_files_are_there() -> None:
    assert len(FILES) >= 60, "the policy parameters are missing"


@pytest.mark.parametrize("file", FILES, ids=_ids)
def test_every_file_parses(file: Path) -> None:
    parameter = parse_parameter_file(file)
    assert parameter.path == _ids(file).replace("/", ".")


def test_the_catalogue_reads_every_parameter_file() -> None:
    catalogue = _catalogue()
    assert len(catalogue) == len(FILES)
    assert len({p.path for p in catalogue}) == len(catalogue)


def test_the_supported_years_are_2019_through_2025() -> None:
    assert tuple(SUPPORTED_YEARS) == (2019, 2020, 2021, 2022, 2023, 2024, 2025)


@pytest.mark.parametrize("file", FILES, ids=_ids)
def test_every_supported_year_has_a_value_and_a_reference(file: Path) -> None:
    parameter = parse_parameter_file(file)
    assert set(SUPPORTED_YEARS) <= set(parameter.values), parameter.relative_file
    for year in SUPPORTED_YEARS:
        entry = parameter.values[year]
        assert entry.reference.strip(), f"{parameter.relative_file} {year}: no reference"
        assert len(entry.reference) >= 15, f"{parameter.relative_file} {year}: reference too thin"


@pytest.mark.parametrize("file", FILES, ids=_ids)
def test_every_parameter_is_described_in_words_with_a_unit(file: Path) -> None:
    parameter = parse_parameter_file(file)
    assert len(parameter.description.split()) >= 8, parameter.relative_file
    assert parameter.unit.strip(), parameter.relative_file


@pytest.mark.parametrize("file", FILES, ids=_ids)
def test_every_unverified_value_says_what_is_uncertain(file: Path) -> None:
    parameter = parse_parameter_file(file)
    for year, entry in parameter.values.items():
        if not entry.verified:
            why = f"{parameter.relative_file} {year}: status unverified needs a note saying why"
            assert entry.note, why
            assert entry.note.strip(), why


def test_table_rows_marked_unverified_make_the_year_unverified() -> None:
    redistribution = next(p for p in _catalogue() if p.path == "scoring.redistribution")
    for year, entry in redistribution.values.items():
        statuses = {row.get("status", "verified") for row in entry.value}
        if "unverified" in statuses:
            assert not entry.verified, f"redistribution {year} has unverified rows"


@pytest.mark.parametrize("year", SUPPORTED_YEARS)
def test_load_policy_resolves_every_supported_year(year: int) -> None:
    policy = load_policy(year)
    assert policy.year == year
    assert set(policy.parameters) == {p.path for p in _catalogue()}
    for resolved in policy.parameters.values():
        assert resolved.reference


@pytest.mark.parametrize("year", [2018, 2026, 1999])
def test_an_unsupported_year_is_refused_naming_the_supported_range(year: int) -> None:
    with pytest.raises(UnsupportedPerformanceYear) as caught:
        load_policy(year)
    message = str(caught.value)
    assert str(year) in message
    assert "2019-2025" in message
    assert caught.value.code == "OQ-POLICY-002"


def test_a_tree_without_one_parameter_does_not_load(tmp_path: Path) -> None:
    root = tmp_path / "parameters"
    shutil.copytree(PARAMETERS_DIR, root)
    (root / "scoring" / "quality" / "case_minimum.yaml").unlink()
    with pytest.raises(PolicyFileError) as caught:
        load_policy(2019, root=root)
    assert "scoring.quality.case_minimum" in str(caught.value)


# ---------------------------------------------------------------- the reader refuses mistakes

YEAR_LINES = "\n".join(
    f'  {year}: {{value: 200, reference: "CY{year} PFS final rule; 42 CFR 414.1305"}}'
    for year in SUPPORTED_YEARS
)
VALID = f"""description: A count used by the tests.
unit: count
comparison: greater_than
values:
{YEAR_LINES}
"""


def _write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "eligibility" / "sample.yaml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def _refused(tmp_path: Path, text: str, *, names_file: bool = True) -> str:
    file = _write(tmp_path, text)
    with pytest.raises(PolicyFileError) as caught:
        parse_parameter_file(file, root=tmp_path)
    if names_file:
        assert str(file) in str(caught.value), "the message must name the file"
    return str(caught.value)


def test_the_sample_file_itself_is_accepted(tmp_path: Path) -> None:
    parameter = parse_parameter_file(_write(tmp_path, VALID), root=tmp_path)
    assert parameter.path == "eligibility.sample"
    assert parameter.comparison == "greater_than"
    assert parameter.values[2021].value == 200
    assert parameter.values[2021].verified


def test_a_missing_year_is_refused(tmp_path: Path) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith("  2021:"))
    message = _refused(tmp_path, text + "\n")
    assert "missing performance year" in message
    assert "2021" in message


def test_a_missing_reference_is_refused(tmp_path: Path) -> None:
    text = VALID.replace(
        '  2022: {value: 200, reference: "CY2022 PFS final rule; 42 CFR 414.1305"}',
        "  2022: {value: 200}",
    )
    assert text != VALID
    message = _refused(tmp_path, text)
    assert "2022" in message
    assert "missing reference" in message


def test_a_blank_reference_is_refused(tmp_path: Path) -> None:
    text = VALID.replace('reference: "CY2023 PFS final rule; 42 CFR 414.1305"', 'reference: " "')
    assert text != VALID
    assert "missing reference" in _refused(tmp_path, text)


DUPLICATE_UNIT = VALID.replace("unit: count\n", "unit: count\nunit: points\n")


def test_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, DUPLICATE_UNIT, names_file=False)
    assert "duplicate key 'unit'" in message
    assert "line 3" in message


def test_a_duplicate_year_is_refused(tmp_path: Path) -> None:
    text = VALID + '  2019: {value: 201, reference: "CY2019 PFS final rule"}\n'
    assert "duplicate key 2019" in _refused(tmp_path, text, names_file=False)


def test_a_duplicate_key_message_names_the_file(tmp_path: Path) -> None:
    _refused(tmp_path, DUPLICATE_UNIT, names_file=True)


def test_an_unknown_file_level_key_is_refused(tmp_path: Path) -> None:
    text = VALID.replace("unit: count\n", "unit: count\nsource: somewhere\n")
    message = _refused(tmp_path, text)
    assert "unknown key" in message
    assert "source" in message


def test_an_unknown_year_level_key_is_refused(tmp_path: Path) -> None:
    text = VALID.replace(
        '  2020: {value: 200, reference: "CY2020 PFS final rule; 42 CFR 414.1305"}',
        '  2020: {value: 200, reference: "CY2020 PFS final rule", confidence: high}',
    )
    assert text != VALID
    message = _refused(tmp_path, text)
    assert "2020" in message
    assert "confidence" in message


def test_a_tab_is_refused(tmp_path: Path) -> None:
    text = VALID.replace("unit: count", "unit:\tcount")
    message = _refused(tmp_path, text)
    assert "tab" in message
    assert "line 2" in message


def test_an_unknown_status_is_refused(tmp_path: Path) -> None:
    text = VALID.replace(
        '  2024: {value: 200, reference: "CY2024 PFS final rule; 42 CFR 414.1305"}',
        '  2024: {value: 200, reference: "CY2024 PFS final rule", status: probable}',
    )
    assert text != VALID
    assert "status 'probable'" in _refused(tmp_path, text)


def test_an_unknown_comparison_is_refused(tmp_path: Path) -> None:
    text = VALID.replace("comparison: greater_than", "comparison: above")
    assert "comparison 'above'" in _refused(tmp_path, text)
