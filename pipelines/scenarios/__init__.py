"""The scenarios of ``streamwise demo``, one module per pipeline family (see ``base.py``)."""
