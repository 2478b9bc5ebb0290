"""``streamwise lake query "SQL"``: DuckDB over the lake's tables, offline.

DuckDB's own Iceberg extension would be downloaded on first use, and nothing may be
downloaded here. So each table the SQL names becomes a view over the Parquet files of the
table's current snapshot (from pyiceberg's scan plan), read with ``union_by_name`` (files
written before a column was added read null there). DuckDB reads only the columns and row
groups the query needs; the snapshot is fixed when the query starts, so an append landing
meanwhile is not half seen. A warehouse that is not a local folder is read through
pyiceberg into Arrow instead (DuckDB would need its httpfs extension).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb
import orjson
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from pipelines.common.settings import StreamwiseSettings
from pipelines.common.sinks.iceberg import NAMESPACE, open_catalog
from pipelines.lake.settings import CATALOG_FILE, LakeSettings

_LOCAL = "file://"


class LakeMissing(FileNotFoundError):
    """No lake where the settings point: nothing to query."""


class BadQuery(ValueError):
    """SQL that DuckDB refuses (a syntax error, an unknown table or column, a bad cast)."""


@dataclass(frozen=True)
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    empty_tables: list[str]
    """Tables the SQL names that hold no rows yet."""


def open_lake(settings: StreamwiseSettings, lake: LakeSettings) -> Catalog:
    """The lake's catalog; ``LakeMissing`` if ``run lake`` never wrote one there."""
    folder = lake.directory(settings)
    if not (folder / CATALOG_FILE).is_file():
        msg = (
            f"no lake at {folder}: 'streamwise run lake' writes it there "
            "(STREAMWISE_LAKE_DIR, default <STREAMWISE_DATA_DIR>/lake)"
        )
        raise LakeMissing(msg)
    return open_catalog(lake.location(settings))


def lake_tables(catalog: Catalog) -> list[str]:
    return sorted(name for _, name in catalog.list_tables(NAMESPACE))


def query(catalog: Catalog, sql: str) -> Answer:
    """Run ``sql`` over the lake's tables; ``BadQuery`` (one line) if DuckDB refuses it."""
    tables = lake_tables(catalog)
    connection = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        connection.execute("SET TimeZone = 'UTC'")
        try:
            named = duckdb.get_table_names(sql)
        except duckdb.Error as exc:
            raise BadQuery(_one_line(exc)) from None
        empty = []
        for name in sorted(set(named) & set(tables)):
            if not _register(connection, name, catalog.load_table((NAMESPACE, name))):
                empty.append(name)
        try:
            result = connection.sql(sql)
            if result is None:  # a statement with no result (SET, CREATE VIEW, ...)
                return Answer([], [], empty)
            return Answer(list(result.columns), result.fetchall(), empty)
        except duckdb.Error as exc:
            hint = f" (lake tables: {', '.join(tables) or 'none yet'})" if _unknown(exc) else ""
            raise BadQuery(_one_line(exc) + hint) from None
    finally:
        connection.close()


def _register(connection: duckdb.DuckDBPyConnection, name: str, table: Table) -> bool:
    """Make ``name`` a view of the table's current snapshot; False if it holds no rows."""
    scan = table.scan()
    files = [task.file.file_path for task in scan.plan_files()]
    if not files:
        empty = table.schema().as_arrow().empty_table()
        connection.register(name, empty)
        return False
    if all(path.startswith(_LOCAL) for path in files):
        paths = [path.removeprefix(_LOCAL) for path in files]
        files_sql = _sql_list(paths)
        connection.execute(
            f'CREATE VIEW "{name}" AS SELECT * FROM read_parquet({files_sql}, union_by_name = true)'
        )
        return True
    arrow: pa.Table = scan.to_arrow()
    connection.register(name, arrow)
    return True


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"


def _unknown(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.CatalogException)


def _one_line(exc: duckdb.Error) -> str:
    """DuckDB's message without its caret drawing: the first line, and the line it names."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else type(exc).__name__
    return re.sub(r"\s+", " ", first)


def json_lines(answer: Answer) -> Iterator[str]:
    """One JSON object per row, columns as keys; timestamps ISO 8601 in UTC."""
    for row in answer.rows:
        yield orjson.dumps(
            dict(zip(answer.columns, row, strict=True)),
            default=_json_default,
            option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS,
        ).decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)  # UUIDs, intervals, blobs


def table_text(answer: Answer) -> str:
    """The rows as an aligned text table, then how many there are."""
    cells = [[_cell(value) for value in row] for row in answer.rows]
    widths = [
        max([len(column), *(len(row[i]) for row in cells)])
        for i, column in enumerate(answer.columns)
    ]
    lines = [
        _aligned(answer.columns, widths),
        _aligned(["-" * width for width in widths], widths),
        *(_aligned(row, widths) for row in cells),
    ]
    count = len(answer.rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(line.rstrip() for line in lines)


def _aligned(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return orjson.dumps(value, default=str, option=orjson.OPT_UTC_Z).decode()
    return str(value)
