"""Apache Iceberg tables as a sink: rows of several topics, one table each, one commit per
table per checkpoint, through ``pyiceberg`` and its SQL catalog.

Delivery: at-least-once from Kafka, each record once in the tables. Every append carries
the source offsets it covers in its snapshot (``offsets.py``); before writing, the sink
reads them back and skips the rows the table holds already. The snapshot and the offsets
are one atomic catalog commit, so a crash between the append and Kafka's offset commit,
a backpressure pause or a rebalance replays records without doubling a row.

Why Iceberg and not Quix's own ``FileSink`` with Parquet (measured in ``bench/lake_library``):
``FileSink`` writes faster (116,000 rows/s against 79,000, the sinks alone; the lake
pipeline's 15,000 rows/s are spent before the sink) and both avoid duplicates in a plain
crash (``FileSink`` names files by the first offset of a batch, so a replay overwrites them).
But ``FileSink`` writes a file per topic partition in place, as readers may be reading it
(a crash mid-write leaves a broken file queries fail on until the replay), knows no day
partitions, keeps no schema (each file has the types of its own batch: a field null in a
whole batch is a column of type NULL, an integer field that later holds ``0.5`` has two
types), and leaves nothing Spark or Trino can open as a table. Iceberg commits are atomic
snapshots readers never see half of, the schema is the table's (new fields become nullable
columns, ``update_schema().union_by_name``), partitions are by day, and the SQL catalog is
what Spark and Trino read.

Several writers (lake replicas sharing the catalog) are safe: a commit that meets another
writer's is refused by the catalog (compare-and-swap on the metadata location) and redone
here on the new snapshot with its offsets re-read. pyiceberg's own retry is switched off
for these tables (``commit.retry.num-retries=0``): it would re-apply the append on top of
the other writer's snapshot without re-reading the offsets.

An outage (catalog locked or unreachable, the warehouse unwritable or full) is not poison:
the sink raises ``SinkBackpressureError``, Quix pauses and rewinds to the last commit and
retries; nothing is dropped. A row Arrow refuses despite the conversion step's checks is
handed to ``reject`` (the dead-letter topic) and its neighbours are written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    NoSuchTableError,
    ValidationError,
)
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table import Table
from quixstreams.models import HeadersTuples
from quixstreams.sinks import BaseSink, SinkBackpressureError
from sqlalchemy.exc import OperationalError

from pipelines.common.sinks.backpressure import DestinationOutage
from pipelines.common.sinks.book import SchemaBook
from pipelines.common.sinks.offsets import (
    OFFSETS_PROPERTY,
    SourceOffsets,
    latest_offsets,
    unwritten,
)
from pipelines.common.sinks.rows import DAY, OFFSET, PARTITION, LakeRow, lacks

logger = logging.getLogger(__name__)

CATALOG_NAME = NAMESPACE = "streamwise"
SINK_STEP = "sink=iceberg"
TABLE_PROPERTIES = {
    "commit.retry.num-retries": "0",  # retried here, offsets re-read (module docstring)
    "commit.manifest-merge.enabled": "true",  # one manifest list, not one per commit
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "10",
}
"""Commit time grows with the snapshots a table's metadata lists (pyiceberg deep-copies the
metadata many times per commit). Over 600 appends of 50 rows (bench/lake_library): with
pyiceberg's defaults from 57 to 940 ms per append and 145 MB on disk; with these properties
and ``KEEP_SNAPSHOTS``, 40 ms first and 37 ms last, 14 MB."""
KEEP_SNAPSHOTS = 20
"""Snapshots a table keeps: a reader may time-travel 20 appends back (20 minutes at the default
interval). Older ones are expired; their data files stay while a newer snapshot uses them.
Kept at 100, a commit took 110 ms and more after 400 appends; at 20, 42 ms."""
EXPIRE_EVERY = 10
"""Commits of a table between two expiries: it lists 20 to 30 snapshots."""
COMMIT_ATTEMPTS = 5
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # the warehouse: full, unwritable, unreachable (ConnectionError, TimeoutError)
    OperationalError,  # the SQL catalog: locked, unreachable
    CommitFailedException,  # other writers won COMMIT_ATTEMPTS times in a row
    CommitStateUnknownException,  # it may have landed: the offsets tell on the replay
)

EXPIRY_ERRORS: tuple[type[BaseException], ...] = (ValidationError, *TRANSIENT)


class LakeUnavailable(ConnectionError):
    """The catalog or the warehouse cannot be opened at start."""


class SchemaMoved(Exception):
    """Another writer gave a column a type our rows do not fit: convert them again."""


@dataclass(frozen=True)
class CatalogLocation:
    """Where the catalog lives (an SQLAlchemy URI) and where tables keep their files."""

    uri: str
    warehouse: str


def open_catalog(location: CatalogLocation) -> Catalog:
    return SqlCatalog(CATALOG_NAME, uri=location.uri, warehouse=location.warehouse)


def ensure_tables(catalog: Catalog, schemas: Mapping[str, pa.Schema]) -> dict[str, Table]:
    """Each table of ``schemas``, created (partitioned by ``_day``) if it does not exist, and
    given the columns of ``schemas`` it lacks (fields the contract added since)."""
    catalog.create_namespace_if_not_exists(NAMESPACE)
    tables = {}
    for name, schema in schemas.items():
        identifier = (NAMESPACE, name)
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            create = catalog.create_table_transaction(
                identifier, schema=schema, properties=TABLE_PROPERTIES
            )
            with create, create.update_spec() as spec:  # one commit: created, partitioned
                spec.add_identity(DAY)
            table = catalog.load_table(identifier)
        if any(table.properties.get(k) != v for k, v in TABLE_PROPERTIES.items()):
            with table.transaction() as update:
                update.set_properties(TABLE_PROPERTIES)
        if missing := lacks(plain_schema(table), schema):
            _add_contract_columns(table, schema, missing)
        tables[name] = table
    return tables


def _add_contract_columns(table: Table, schema: pa.Schema, missing: Sequence[str]) -> None:
    """Columns for the fields the contract added to a table's topic, with their own types.

    A field a producer sent before the contract defined it has a column already, typed by
    its values (JSON text for a list); that column stays as it is, and says so.
    """
    try:
        with table.update_schema() as update:
            update.union_by_name(schema)
    except ValidationError as exc:
        logger.warning("%s: the contract's columns %s do not fit the table's (%s); kept the "
                       "table's", table.name()[-1], ", ".join(missing), exc)  # fmt: skip
        return
    logger.warning("%s: new column(s) of the contract %s", table.name()[-1], ", ".join(missing))


def plain_schema(table: Table) -> pa.Schema:
    """The table's columns as Arrow types, without Iceberg's field ids."""
    return schema_to_pyarrow(table.schema(), include_field_ids=False)


def written_offsets(table: Table) -> SourceOffsets:
    """The source offsets the table holds, from its newest snapshot that says."""

    def summaries() -> Iterator[Mapping[str, str] | None]:
        snapshot = table.current_snapshot()
        while snapshot is not None:
            yield snapshot.summary.additional_properties if snapshot.summary else None
            parent = snapshot.parent_snapshot_id
            snapshot = table.snapshot_by_id(parent) if parent is not None else None

    return latest_offsets(summaries())


@dataclass(frozen=True)
class Pending:
    """A row waiting for the checkpoint, with where it came from."""

    row: LakeRow
    key: Any
    headers: HeadersTuples
    topic: str
    partition: int
    offset: int


Reject = Callable[[Pending, str], None]
"""Dead-letters a row that cannot be written, with the reason; must have sent it on return."""


class IcebergSink(BaseSink):
    """Appends the rows of each checkpoint to their tables, skipping what a table holds."""

    def __init__(
        self,
        location: CatalogLocation,
        book: SchemaBook,
        tables: Mapping[str, pa.Schema],
        reject: Reject,
        *,
        backoff_s: float = 5.0,
    ) -> None:
        super().__init__()
        self._location, self._book, self._reject = location, book, reject
        self._new_tables = dict(tables)
        self._outage = DestinationOutage(SINK_STEP, "lake", "the lake", backoff_s)
        self._catalog: Catalog | None = None
        self._pending: dict[str, list[Pending]] = {}
        self._commits: dict[str, int] = {}
        self.written = self.skipped = self.rejected = 0

    def setup(self) -> None:
        """Open the catalog, create missing tables, learn their schemas (fails fast)."""
        try:
            self._catalog = open_catalog(self._location)
            tables = ensure_tables(self._catalog, self._new_tables)
        except TRANSIENT as exc:
            msg = f"cannot open the lake (catalog {self._location.uri}): {exc}"
            raise LakeUnavailable(msg) from exc
        for name, table in tables.items():
            self._book.set(name, plain_schema(table))

    def add(  # noqa: PLR0917 - Quix calls it with these positional arguments
        self,
        value: LakeRow,
        key: Any,
        timestamp: int,
        headers: HeadersTuples,
        topic: str,
        partition: int,
        offset: int,
    ) -> None:
        pending = Pending(value, key, headers, topic, partition, offset)
        self._pending.setdefault(value.table, []).append(pending)

    def flush(self) -> None:
        """Write this checkpoint's rows, one append per table."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            for table, rows in pending.items():
                self._write(table, rows)
        except SchemaMoved as exc:
            logger.warning("%s; converting the checkpoint's records again", exc)
            raise SinkBackpressureError(retry_after=0.0) from exc
        except TRANSIENT as exc:
            raise self._outage.backpressure(f"{type(exc).__name__}: {exc}") from exc
        self._outage.available()

    def on_paused(self) -> None:
        """Backpressure rewinds the partitions to their last commit: drop what is pending."""
        self._pending.clear()

    def _catalog_now(self) -> Catalog:
        if self._catalog is None:
            self._catalog = open_catalog(self._location)
        return self._catalog

    def _write(self, name: str, rows: list[Pending]) -> None:
        """One append of ``rows`` to table ``name``, without the rows it holds already."""
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            table = self._catalog_now().load_table((NAMESPACE, name))
            written = written_offsets(table)
            fresh = [rows[i] for i in unwritten(((r.topic, r.partition, r.offset) for r in rows),
                                                written)]  # fmt: skip
            if not fresh:
                self.skipped += len(rows)
                logger.warning("%s: skipped %d replayed row(s), all in the table already",
                               name, len(rows))  # fmt: skip
                return
            try:
                table = self._evolve(name, table)
                data = self._arrow(table, fresh)
                if data.num_rows == 0:  # every row dead-lettered: nothing to append
                    return
                offsets = written.advanced((r.topic, r.partition, r.offset) for r in fresh)
                table.append(data, snapshot_properties={OFFSETS_PROPERTY: offsets.encode()})
            except CommitFailedException:
                if attempt == COMMIT_ATTEMPTS:
                    raise
                logger.info("%s: another writer committed first; writing again on its snapshot",
                            name)  # fmt: skip
                continue
            skipped = len(rows) - len(fresh)
            self.written += data.num_rows
            self.skipped += skipped
            logger.log(logging.WARNING if skipped else logging.INFO,
                       "%s: appended %d row(s), skipped %d replayed row(s) in the table already",
                       name, data.num_rows, skipped)  # fmt: skip
            self._expire_now_and_then(name, table)
            return

    def _evolve(self, name: str, table: Table) -> Table:
        """Add the columns the converted rows brought to the table, before writing them.

        Also learns what another writer changed: a column it added is taken into the book,
        one it typed otherwise than our rows sends them back to conversion (``SchemaMoved``).
        """
        wanted, current = self._book.schema(name), plain_schema(table)
        if wanted == current:
            return table
        missing = lacks(current, wanted)
        try:
            with table.update_schema() as update:
                update.union_by_name(wanted)
        except ValidationError as exc:
            self._book.set(name, current)
            msg = f"{name}: another writer typed a column otherwise ({exc})"
            raise SchemaMoved(msg) from exc
        self._book.set(name, plain_schema(table))
        if missing:
            logger.warning("%s: new column(s) %s", name, ", ".join(missing))
        return table

    def _arrow(self, table: Table, rows: list[Pending]) -> pa.Table:
        """The rows as an Arrow table of the table's schema; rows Arrow refuses are rejected."""
        schema = table.schema().as_arrow()
        values = [{**r.row.values, PARTITION: r.partition, OFFSET: r.offset} for r in rows]
        try:
            return pa.Table.from_pylist(values, schema=schema)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            pass  # find the rows at fault; the others go through
        good = []
        for row, value in zip(rows, values, strict=True):
            try:
                pa.Table.from_pylist([value], schema=schema)
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
                self._reject(row, f"{type(exc).__name__}: {exc}")
                self.rejected += 1
                continue
            good.append(value)
        return pa.Table.from_pylist(good, schema=schema)

    def _expire_now_and_then(self, name: str, table: Table) -> None:
        """Expire all but the newest ``KEEP_SNAPSHOTS`` snapshots every ``EXPIRE_EVERY``
        commits: commit time and metadata otherwise grow with every commit."""
        self._commits[name] = count = self._commits.get(name, 0) + 1
        if count % EXPIRE_EVERY:
            return
        newest_first = sorted(table.metadata.snapshots, key=lambda s: -s.timestamp_ms)
        referenced = {ref.snapshot_id for ref in table.metadata.refs.values()}
        old = [s.snapshot_id for s in newest_first[KEEP_SNAPSHOTS:]
               if s.snapshot_id not in referenced]  # fmt: skip
        if not old:
            return
        try:
            table.maintenance.expire_snapshots().by_ids(old).commit()
        except EXPIRY_ERRORS as exc:  # the next round tries again
            logger.warning("%s: could not expire old snapshots: %s", name, exc)
