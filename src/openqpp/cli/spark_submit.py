"""The eligibility determination as a Spark application, for ``spark-submit`` on a cluster.

It runs exactly what ``openqpp eligibility determine --engine spark`` runs (validate the inputs,
aggregate the claims on Spark, decide every entity, write the results Parquet and load the run
into OPENQPP_DATABASE_URL), but on the Spark session ``spark-submit`` configures: its master,
deploy mode, executors and ``--conf`` settings win; openqpp's defaults
(:func:`openqpp.batch.engines.spark.default_conf`) fill in only what is not set::

    spark-submit --master spark://spark-master:7077 --deploy-mode client \\
        --conf spark.executor.memory=8g --conf spark.sql.shuffle.partitions=2000 \\
        "$(python -c 'import openqpp.cli.spark_submit as m; print(m.__file__)')" \\
        --claims /shared/claims/py2025 --year 2025 --out /shared/results/eligibility.parquet

See docs/operations.md ("The Spark engine on a cluster"). ``python -m openqpp.cli.spark_submit``
runs the same job with a local Spark (``local[*]``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="openqpp.cli.spark_submit",
        description="Determine MIPS eligibility from claims on Spark and load the run "
        "(the same job as `openqpp eligibility determine --engine spark`).",
    )
    parser.add_argument(
        "--claims",
        required=True,
        type=Path,
        help="Directory with the batch-contract tables, at the same path on the driver and "
        "every executor (a shared file system).",
    )
    parser.add_argument("--year", required=True, type=int, help="Performance year.")
    parser.add_argument(
        "--out",
        default=None,
        help="Results Parquet (default: eligibility_<year>_run<N>.parquet).",
    )
    return parser.parse_args(argv)


def spark_session() -> Any:
    """The session spark-submit configured, with openqpp's defaults for what it left unset."""
    from openqpp.batch.engines.spark import default_conf, require_pyspark

    require_pyspark()
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    # Attach to the JVM spark-submit started (or start one) first, so that SparkConf reads
    # what spark-submit was given (--master, --conf ...), not an empty configuration.
    SparkContext._ensure_initialized()
    conf = SparkConf()
    for key, value in default_conf().items():
        if not conf.contains(key):
            conf.set(key, value)
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main(argv: Sequence[str] | None = None) -> int:
    """Run the determination; the exit code is the CLI's (0 done, 2 a user-facing error)."""
    import typer

    from openqpp.cli.common import console, user_errors
    from openqpp.cli.eligibility import run_determination

    args = _arguments(argv)
    spark = spark_session()
    where = f"Spark {spark.version} ({spark.sparkContext.master})"
    try:
        with user_errors():
            summary = run_determination(args.claims, args.year, engine="spark", out=args.out)
    except typer.Exit as exit_:
        return int(exit_.exit_code)
    finally:
        spark.stop()
    console.print(
        f"Determination run {summary.performance_year}:{summary.run_number} "
        f"(id {summary.run_id}) on {where}: {sum(summary.counts.values()):,} results written "
        f"to {summary.results_file} and loaded."
    )
    return 0


if __name__ == "__main__":
    # spark-submit runs this file as a script, which puts its folder (openqpp/cli) first on
    # sys.path, where its modules (`policy`, `data`, ...) could shadow installed packages.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    sys.exit(main())
