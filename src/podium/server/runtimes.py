"""The Databricks runtime versions podium's clusters answer to: what `spark-versions`
offers (so clients that pick one, the SDK's select_spark_version, work) and what a
cluster reports when it was created without one. Every one runs on this machine's
pyspark."""

from __future__ import annotations

# (key, name, the Spark version Databricks ships in it, Scala)
RUNTIMES = [("17.3.x-scala2.13", "17.3 LTS", "4.0.0", "2.13"),
            ("16.4.x-scala2.12", "16.4 LTS", "3.5.2", "2.12"),
            ("16.4.x-scala2.13", "16.4 LTS", "3.5.2", "2.13"),
            ("16.4.x-cpu-ml-scala2.12", "16.4 LTS ML", "3.5.2", "2.12"),
            ("15.4.x-scala2.12", "15.4 LTS", "3.5.0", "2.12")]
DEFAULT_RUNTIME = RUNTIMES[0][0]
