"""QRDA III conversion throughput, warm, in one process.

Converts every shared QRDA III reference file (../shared/reference/qrda3/*.xml: successes and
errors alike) over and over, the whole way a user's file goes: hardened parse, decode,
validate, encode, and the QPP JSON or error JSON serialised to text. Prints files per second,
MB per second, and the ratio to the reference figure for CMS's converter warm in one JVM
(about 95 files/s and 21 MB/s on the same files). Figures are reported, never asserted.

    OPENQPP_MEASURES_DATA=../shared/data/qpp-measures-data .venv/bin/python bench/intake.py
    .venv/bin/python bench/intake.py --seconds 30 --dir path/to/qrda3-files
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from openqpp.intake.qrda3 import convert
from openqpp.measures import MeasuresCatalogue
from openqpp.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
REFERENCE_FILES_PER_SECOND = 95.0
REFERENCE_MB_PER_SECOND = 21.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=SHARED / "reference" / "qrda3")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time (min.)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    args = parser.parse_args()

    roots = list(get_settings().measures_roots)
    shared_data = SHARED / "data" / "qpp-measures-data"
    if shared_data.is_dir() and shared_data not in roots:
        roots.append(shared_data)
    catalogue = MeasuresCatalogue(roots)
    files = [(p.name, p.read_bytes()) for p in sorted(args.dir.glob("*.xml"))]
    if not files:
        raise SystemExit(f"no .xml files in {args.dir}")
    total_bytes = sum(len(data) for _, data in files)

    def one_round() -> tuple[int, int]:
        ok = failed = 0
        for name, data in files:
            result = convert(data, source=name, measures_for=catalogue.year)
            if result.ok and result.submission is not None:
                json.dumps(result.submission.to_qpp_json())
                ok += 1
            else:
                json.dumps(result.error_report())
                failed += 1
        return ok, failed

    for _ in range(args.warmup):
        ok, failed = one_round()

    rounds: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds or len(rounds) < 3:
        tick = time.perf_counter()
        one_round()
        rounds.append(time.perf_counter() - tick)
    elapsed = sum(rounds)

    conversions = len(rounds) * len(files)
    files_per_second = conversions / elapsed
    mb_per_second = len(rounds) * total_bytes / elapsed / 1e6
    median_round = statistics.median(rounds)
    print(f"files: {len(files)} ({ok} convert, {failed} give errors), {total_bytes / 1e6:.2f} MB")
    print(f"python {sys.version.split()[0]}, {len(rounds)} rounds in {elapsed:.1f} s")
    print(f"median round: {median_round * 1000:.1f} ms")
    print(
        f"throughput: {files_per_second:.0f} files/s, {mb_per_second:.1f} MB/s "
        f"(median round: {len(files) / median_round:.0f} files/s, "
        f"{total_bytes / median_round / 1e6:.1f} MB/s)"
    )
    files_ratio = files_per_second / REFERENCE_FILES_PER_SECOND
    mb_ratio = mb_per_second / REFERENCE_MB_PER_SECOND
    print(
        f"ratio to CMS's converter warm in one JVM ({REFERENCE_FILES_PER_SECOND:.0f} files/s, "
        f"{REFERENCE_MB_PER_SECOND:.0f} MB/s): {files_ratio:.2f}x files/s, {mb_ratio:.2f}x MB/s"
    )


if __name__ == "__main__":
    main()
