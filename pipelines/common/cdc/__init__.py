"""Change data capture in: what CDC tools write to Kafka, read as contract events.

``debezium``: the connector's JSON output as row changes; ``mapping``: rows as
``customers`` profiles and ``kb-changes`` events through a column mapping.
"""
