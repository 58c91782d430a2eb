"""Which data root provides a performance year, and what happens when none does."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import openqpp.measures.catalogue as catalogue_module
from openqpp.measures import MeasuresCatalogue, MeasuresYearUnavailable, roots_from_path_list


def test_first_root_wins_when_two_roots_provide_the_same_year(root_a: Path, root_b: Path) -> None:
    year = MeasuresCatalogue([root_a, root_b]).year(2025)
    assert year.root == root_a
    assert year.quality("001") is not None
    assert year.quality("001").title == "Root A 2025 diabetes"  # type: ignore[union-attr]

    swapped = MeasuresCatalogue([root_b, root_a]).year(2025)
    assert swapped.root == root_b
    assert swapped.quality("001").title == "Root B 2025 diabetes"  # type: ignore[union-attr]


def test_a_year_only_in_the_second_root_comes_from_the_second_root(
    catalogue: MeasuresCatalogue, root_b: Path
) -> None:
    year = catalogue.year(2022)
    assert year.root == root_b
    assert year.quality("001").title == "Root B 2022 diabetes"  # type: ignore[union-attr]
    assert year.benchmark("001", "registry") is not None


def test_every_file_of_a_year_comes_from_the_root_that_provides_its_measures(
    catalogue: MeasuresCatalogue, root_a: Path
) -> None:
    # root-a has measures/2024 but no benchmarks/2024.json; root-b's benchmarks/2024.json
    # must not be mixed in.
    year = catalogue.year(2024)
    assert year.root == root_a
    assert year.files.benchmarks is None
    assert year.benchmarks == ()
    assert year.benchmark("IA_EPA_1", "registry") is None


def test_available_years_maps_each_year_to_the_first_root_providing_it(
    catalogue: MeasuresCatalogue, root_a: Path, root_b: Path
) -> None:
    assert catalogue.available_years() == {2019: root_a, 2022: root_b, 2024: root_a, 2025: root_a}
    assert list(catalogue.available_years()) == [2019, 2022, 2024, 2025]
    assert catalogue.has_year(2022)
    assert not catalogue.has_year(2030)


def test_a_root_that_does_not_exist_is_not_an_error_by_itself(tmp_path: Path, root_a: Path) -> None:
    missing = tmp_path / "not-there"
    catalogue = MeasuresCatalogue([missing, root_a])
    assert catalogue.available_years() == {2019: root_a, 2024: root_a, 2025: root_a}
    assert catalogue.year(2019).root == root_a


def test_a_missing_year_names_the_year_every_root_searched_and_the_fix(
    tmp_path: Path, root_a: Path, root_b: Path
) -> None:
    missing = tmp_path / "not-there"
    catalogue = MeasuresCatalogue([root_a, missing, root_b])
    with pytest.raises(MeasuresYearUnavailable) as caught:
        catalogue.year(2030)
    error = caught.value
    assert isinstance(error, LookupError)
    assert error.code == "OQ-MEASURES-001"
    assert error.year == 2030
    assert error.roots == (root_a, missing, root_b)
    text = str(error)
    assert "2030" in text
    assert "OQ-MEASURES-001" in text
    for root in (root_a, missing, root_b):
        assert str(root) in text
    assert f"{missing} (does not exist)" in text
    assert "measures/2030/measures-data.json" in text
    assert "OPENQPP_MEASURES_DATA" in text
    assert "openqpp data install" in text
    assert "2019, 2022, 2024, 2025" in text
    assert error.as_dict()["code"] == "OQ-MEASURES-001"


def test_the_catalogue_level_benchmark_lookup_also_reports_a_missing_year(
    catalogue: MeasuresCatalogue,
) -> None:
    with pytest.raises(MeasuresYearUnavailable, match="2016"):
        catalogue.benchmark(2016, "001", "registry")


def test_no_roots_at_all_says_so() -> None:
    with pytest.raises(MeasuresYearUnavailable, match="No data roots are configured"):
        MeasuresCatalogue([]).year(2025)


def test_a_single_path_is_refused_as_roots(root_a: Path) -> None:
    with pytest.raises(TypeError):
        MeasuresCatalogue(root_a)  # type: ignore[arg-type]


def test_a_year_is_loaded_once_and_the_same_object_is_returned(
    catalogue: MeasuresCatalogue,
) -> None:
    first = catalogue.year(2025)
    assert catalogue.year(2025) is first
    assert catalogue.benchmark(2025, "001", "electronicHealthRecord") is first.benchmark(
        "001", "electronicHealthRecord"
    )


def test_concurrent_first_requests_load_the_year_once(
    catalogue: MeasuresCatalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_load = catalogue_module.load_year

    def counting_load(root: Path, year: int):  # type: ignore[no-untyped-def]
        calls.append(year)
        return real_load(root, year)

    monkeypatch.setattr(catalogue_module, "load_year", counting_load)
    results = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        results.append(catalogue.year(2019))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [2019]
    assert len(results) == 8
    assert all(result is results[0] for result in results)


def test_separate_catalogues_do_not_share_their_cache(root_a: Path) -> None:
    assert MeasuresCatalogue([root_a]).year(2019) is not MeasuresCatalogue([root_a]).year(2019)


def test_source_comes_from_package_json_or_the_first_line_of_source_md(
    catalogue: MeasuresCatalogue,
) -> None:
    assert catalogue.year(2025).source.startswith("qpp-measures-data@0.0.0-fixture-a")
    assert catalogue.year(2022).source.startswith("Fixture root B, performance years 2022 and 2025")


def test_a_path_list_is_split_on_the_platform_separator(tmp_path: Path) -> None:
    value = os.pathsep.join([str(tmp_path / "a"), "", f" {tmp_path / 'b'} "])
    assert roots_from_path_list(value) == (tmp_path / "a", tmp_path / "b")
    assert roots_from_path_list(None) == ()
    assert roots_from_path_list("") == ()
