"""One memory ceiling for a pipeline's RocksDB state, however many stores it opens.

Quix's defaults suit a machine with memory to spare: one shared block cache of 1 GiB,
and up to three 64 MB memtables for every column family of every store partition. The
fraud pipeline opens six store partitions (two stores on three partitions); in a
20-minute soak at 1,000 tx/s its resident memory rose from 157 to 901 MiB and kept
rising, which a container sized for the working set would not survive. Here the
block cache gets half of ``STREAMWISE_STATE_MEMORY_MB`` and one write-buffer manager
shared by every store of the process the other half: past it RocksDB flushes memtables
early (more, smaller files: compaction is cheap at our volumes), it does not stall writes.
"""

from __future__ import annotations

import dataclasses

import rocksdict
from quixstreams.state.rocksdb import RocksDBOptions

MIB = 1024 * 1024
WRITE_BUFFER_MIB = 16
"""One memtable's size: small enough that every store partition fits a modest budget."""


@dataclasses.dataclass(frozen=True)
class BoundedRocksDBOptions(RocksDBOptions):
    """Quix's RocksDB options, with every store's memtables charged to one shared budget.

    The application hands one instance to every store partition it opens, so they all
    join the same ``write_buffers``.
    """

    write_buffers: rocksdict.WriteBufferManager | None = dataclasses.field(
        default=None, compare=False
    )

    def to_options(self) -> rocksdict.Options:
        options = super().to_options()
        if self.write_buffers is not None:
            options.set_write_buffer_manager(self.write_buffers)
        return options


def bounded_rocksdb_options(memory_mib: int) -> BoundedRocksDBOptions:
    """Options that keep a process's RocksDB memory near ``memory_mib`` (see the module doc);
    index and bloom-filter blocks come on top, about 1.25 bytes per key."""
    half = memory_mib * MIB // 2
    return BoundedRocksDBOptions(
        block_cache_size=half,
        write_buffers=rocksdict.WriteBufferManager(half, False),
        write_buffer_size=min(WRITE_BUFFER_MIB * MIB, half),
        max_write_buffer_number=2,
    )
