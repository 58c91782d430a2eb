"""A broken data file fails loudly, naming the file and the record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openqpp.measures import MeasuresCatalogue, MeasuresDataError


def _measures_file(root: Path, year: int = 2025) -> Path:
    return root / "measures" / str(year) / "measures-data.json"


def _load_records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return records


def _save(path: Path, records: Any) -> None:
    path.write_text(json.dumps(records), encoding="utf-8")


def test_a_file_that_is_not_json_names_the_file(writable_root: Path) -> None:
    path = _measures_file(writable_root)
    path.write_text('[{"measureId": "001",', encoding="utf-8")
    with pytest.raises(MeasuresDataError) as caught:
        MeasuresCatalogue([writable_root]).year(2025)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.code == "OQ-MEASURES-002"
    assert error.file == path
    assert str(path) in str(error)
    assert "not valid JSON" in str(error)
    assert error.as_dict()["location"] == {"file": str(path)}


def test_a_bad_optional_file_of_the_year_also_fails(writable_root: Path) -> None:
    path = writable_root / "benchmarks" / "2025.json"
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(MeasuresDataError, match=r"benchmarks/2025\.json"):
        MeasuresCatalogue([writable_root]).year(2025)


def test_a_record_missing_a_required_field_names_file_index_and_measure_id(
    writable_root: Path,
) -> None:
    path = _measures_file(writable_root)
    records = _load_records(path)
    index = next(i for i, r in enumerate(records) if r["measureId"] == "AAD6")
    del records[index]["isInverse"]
    _save(path, records)
    with pytest.raises(MeasuresDataError) as caught:
        MeasuresCatalogue([writable_root]).year(2025)
    error = caught.value
    assert error.record == f"record {index} (measureId 'AAD6')"
    assert error.path == f"$[{index}].isInverse"
    assert str(path) in str(error)
    assert "isInverse" in str(error)
    assert "Field required" in str(error)


def test_a_wrongly_typed_nested_field_gives_its_json_path(writable_root: Path) -> None:
    path = _measures_file(writable_root)
    records = _load_records(path)
    records[0]["strata"][0]["eMeasureUuids"] = "not an object"
    _save(path, records)
    with pytest.raises(MeasuresDataError) as caught:
        MeasuresCatalogue([writable_root]).year(2025)
    assert caught.value.path == "$[0].strata[0].eMeasureUuids"


def test_a_benchmark_record_error_names_the_benchmarks_file(writable_root: Path) -> None:
    path = writable_root / "benchmarks" / "2025.json"
    records = _load_records(path)
    del records[1]["submissionMethod"]
    _save(path, records)
    with pytest.raises(MeasuresDataError) as caught:
        MeasuresCatalogue([writable_root]).year(2025)
    assert caught.value.file == path
    assert caught.value.record == "record 1 (measureId 'COST_ACOPD_1')"


def test_a_file_that_is_not_an_array_is_refused(writable_root: Path) -> None:
    _save(_measures_file(writable_root), {"measures": []})
    with pytest.raises(MeasuresDataError, match="expected a JSON array"):
        MeasuresCatalogue([writable_root]).year(2025)


def test_a_measure_without_category_is_refused(writable_root: Path) -> None:
    path = _measures_file(writable_root)
    records = _load_records(path)
    del records[2]["category"]
    _save(path, records)
    with pytest.raises(MeasuresDataError) as caught:
        MeasuresCatalogue([writable_root]).year(2025)
    assert caught.value.record == "record 2 (measureId 'AAD6')"


def test_a_measure_id_repeated_in_another_case_is_refused(writable_root: Path) -> None:
    path = _measures_file(writable_root)
    records = _load_records(path)
    records.append(records[2] | {"measureId": "aad6"})
    _save(path, records)
    with pytest.raises(MeasuresDataError, match="appears in record 2") as caught:
        MeasuresCatalogue([writable_root]).year(2025)
    assert caught.value.record == f"record {len(records) - 1}"


def test_a_repeated_benchmark_key_is_refused(writable_root: Path) -> None:
    path = writable_root / "benchmarks" / "2025.json"
    records = _load_records(path)
    records.append(records[0])
    _save(path, records)
    with pytest.raises(MeasuresDataError, match=r"\(measureId, submissionMethod\)"):
        MeasuresCatalogue([writable_root]).year(2025)


def test_a_failed_load_is_not_cached(writable_root: Path) -> None:
    path = _measures_file(writable_root)
    good = path.read_text(encoding="utf-8")
    path.write_text("{", encoding="utf-8")
    catalogue = MeasuresCatalogue([writable_root])
    with pytest.raises(MeasuresDataError):
        catalogue.year(2025)
    path.write_text(good, encoding="utf-8")
    assert catalogue.year(2025).quality("001") is not None
