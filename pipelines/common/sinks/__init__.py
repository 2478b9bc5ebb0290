"""Sinks several pipelines write through (see ARCHITECTURE.md, "A new sink").

``iceberg.py`` writes rows into Apache Iceberg tables. Its pure logic, testable without a
catalog or a broker: ``rows.py`` (contract events as table rows, schemas widened by new
fields), ``book.py`` (each table's schema as it grows, and conversion plans compiled from
it) and ``offsets.py`` (which source records a table already holds). ``backpressure.py``
turns any sink's outage into Quix backpressure, said once.
"""
