"""Watch mode (``hoist watch``, ``hoist up --watch``): develop.watch rules turned into syncs, restarts,
execs and rebuilds of running services.

Modules: :mod:`rules` (which rule a changed path belongs to), :mod:`batcher` (quiet period),
:mod:`sync` (writing into a running container), :mod:`actions` (what a batch does to a service),
:mod:`loop` (events -> batches -> actions, re-syncs), :mod:`logs` (``up --watch``: the services' logs,
across restarts and recreates), :mod:`session` (the CLI-facing entry point).
"""
