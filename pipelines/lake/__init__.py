"""The lake: output topics as analytics tables (``run lake``), SQL over them (``lake query``)."""
