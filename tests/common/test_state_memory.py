"""RocksDB memory of a pipeline process: one budget, shared by every store it opens."""

from __future__ import annotations

from pathlib import Path

import rocksdict

from pipelines.common.state_memory import MIB, bounded_rocksdb_options


def test_every_store_charges_its_memtables_to_the_one_shared_budget(tmp_path: Path) -> None:
    options = bounded_rocksdb_options(64)
    assert options.block_cache_size == 32 * MIB
    assert options.write_buffers is not None
    assert options.write_buffers.get_buffer_size() == 32 * MIB

    stores = [rocksdict.Rdict(str(tmp_path / f"p{i}"), options.to_options()) for i in range(2)]
    usage = [options.write_buffers.get_usage()]
    try:
        for store in stores:
            for n in range(2000):
                store[f"card-{n}".encode()] = bytes(200)
            usage.append(options.write_buffers.get_usage())
    finally:
        for store in stores:
            store.close()

    assert usage[0] < usage[1] < usage[2], f"each store's memtable is counted: {usage}"
