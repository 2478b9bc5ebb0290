"""The operations console (``streamwise dashboard``): fraud, feedback and knowledge pages.

A package of its own beside the pipeline families, not inside one: it reads every
family's topics, and a family may import none of the others (``tests/test_layering.py``).
It imports only ``pipelines.common`` and ``state``: the contract events are its interface.
"""
