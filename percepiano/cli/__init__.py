"""The ``percepiano`` command: ``main`` parses and dispatches, one module per command group,
shared options and output in ``common``."""
