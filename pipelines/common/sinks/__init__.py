"""Sinks several pipelines write through (see ARCHITECTURE.md, "A new sink").

``iceberg.py`` writes rows into Apache Iceberg tables; ``rows.py`` (contract events as
table rows) and ``offsets.py`` (which source records a table already holds) are its pure
logic, testable without a catalog or a broker.
"""
