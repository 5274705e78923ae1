"""Auto Loader (`spark.readStream.format("cloudFiles")`) in task code, over Spark's own
file streaming source, which reads each new file once as Auto Loader does.

`cloudFiles.format` names the files' format; options without the `cloudFiles.` prefix go
to it (`header`, `multiLine`, ...); `cloudFiles.maxFilesPerTrigger` and
`cloudFiles.maxBytesPerTrigger` become Spark's. Without a `.schema(...)`, the schema is
inferred from the files there now — for JSON and CSV every column a string, as Auto Loader
has them unless `cloudFiles.inferColumnTypes` is true — and, given
`cloudFiles.schemaLocation`, kept there (`_schemas/0`, a `dbfs:/` path when plain, as on
Databricks) so the next run reads with the same schema; `cloudFiles.schemaHints` override
the types of the columns they name. Notification mode, schema evolution and the
`_rescued_data` column are not there.
"""

from __future__ import annotations

import json
from typing import Any

FORMAT = "cloudfiles"
PREFIX = "cloudFiles."
SPARK_OPTIONS = {"maxfilespertrigger": "maxFilesPerTrigger",
                 "maxbytespertrigger": "maxBytesPerTrigger"}
_installed = False


class AutoLoaderError(ValueError):
    """An Auto Loader stream that cannot be set up here."""


class AutoLoaderReader:
    """The reader `format("cloudFiles")` gives: records Auto Loader's options and hands the
    rest to the real reader, which it sets up when the stream is loaded."""

    def __init__(self, reader: Any, spark: Any):
        self._reader, self._spark = reader, spark
        self._cloud: dict[str, str] = {}
        self._given: dict[str, str] = {}
        self._schema: Any = None

    def option(self, key: str, value: Any) -> AutoLoaderReader:
        """An option: Auto Loader's own (`cloudFiles.*`) or the files' format's."""
        if key.startswith(PREFIX) or key.lower().startswith(PREFIX.lower()):
            self._cloud[key[len(PREFIX):].lower()] = str(value)
        else:
            self._given[key] = str(value)
            self._reader.option(key, value)
        return self

    def options(self, **options: Any) -> AutoLoaderReader:
        """Several options."""
        for key, value in options.items():
            self.option(key, value)
        return self

    def schema(self, schema: Any) -> AutoLoaderReader:
        """The stream's schema, so nothing is inferred."""
        self._schema = schema
        self._reader.schema(schema)
        return self

    def format(self, source: str) -> Any:
        """Another format after all."""
        return self._reader.format(source)

    def load(self, path: str | None = None, **options: Any) -> Any:
        """The stream of new files under `path`."""
        self.options(**options)
        fmt = self._cloud.get("format")
        if not fmt or path is None:
            raise AutoLoaderError("Auto Loader needs .option('cloudFiles.format', ...) and a "
                                  "path to load")
        for name, spark_name in SPARK_OPTIONS.items():
            if name in self._cloud:
                self._reader.option(spark_name, self._cloud[name])
        if self._schema is None:
            self._reader.schema(self._inferred(fmt, path))
        return self._reader.format(fmt).load(path)

    def _inferred(self, fmt: str, path: str) -> Any:
        """The files' schema: kept at schemaLocation, else read off the files now."""
        from pyspark.sql.types import StructType

        kept = _schema_file(self._cloud.get("schemalocation"))
        if kept is not None and kept.is_file():
            return StructType.fromJson(json.loads(kept.read_text()))
        typed = self._cloud.get("infercolumntypes", "false").lower() == "true"
        reader = self._spark.read.format(fmt).options(**self._given)
        if fmt.lower() == "csv" and typed:
            reader = reader.option("inferSchema", "true")
        schema = reader.load(path).schema
        if not typed and fmt.lower() in ("json", "csv"):
            schema = _as_strings(schema)
        schema = _with_hints(schema, self._cloud.get("schemahints"))
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(schema.json())
        return schema


def _schema_file(location: str | None) -> Any:
    """Where the stream's schema is kept under `cloudFiles.schemaLocation`."""
    if not location:
        return None
    from podium.runtime.dbutils import Fs

    return Fs.local(location) / "_schemas" / "0"


def _as_strings(schema: Any) -> Any:
    """Every atomic field (nested ones too) a string, as Auto Loader infers JSON and CSV."""
    from pyspark.sql.types import ArrayType, MapType, StringType, StructField, StructType

    def convert(kind: Any) -> Any:
        if isinstance(kind, StructType):
            return StructType([StructField(f.name, convert(f.dataType), True)
                               for f in kind.fields])
        if isinstance(kind, ArrayType):
            return ArrayType(convert(kind.elementType), True)
        if isinstance(kind, MapType):
            return MapType(kind.keyType, convert(kind.valueType), True)
        return StringType()

    return convert(schema)


def _with_hints(schema: Any, hints: str | None) -> Any:
    """`cloudFiles.schemaHints` ("a INT, b DATE") over the inferred types."""
    if not hints:
        return schema
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    wanted = {f.name.lower(): f for f in _parse_datatype_string(hints).fields}
    fields = [StructField(f.name, wanted.pop(f.name.lower()).dataType, True)
              if f.name.lower() in wanted else f for f in schema.fields]
    return StructType(fields + list(wanted.values()))


def install() -> None:
    """Make `readStream.format("cloudFiles")` Auto Loader, classic and Spark Connect."""
    global _installed
    if _installed:
        return
    from pyspark.sql.connect.streaming.readwriter import DataStreamReader as ConnectReader
    from pyspark.sql.streaming.readwriter import DataStreamReader

    for cls, session in ((DataStreamReader, "_spark"), (ConnectReader, "_client")):
        original = cls.format

        def format(self: Any, source: str, _original: Any = original,
                   _session: str = session) -> Any:
            if isinstance(source, str) and source.lower() == FORMAT:
                return AutoLoaderReader(self, getattr(self, _session))
            return _original(self, source)

        cls.format = format  # type: ignore[method-assign]
    _installed = True
