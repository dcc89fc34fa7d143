"""The run machinery. Imports point one way:

``config`` (what to run) <- ``prepared`` (split, metric context, records' common blocks) <- ``jobs``
(one job in its own process) <- ``locks``, ``local`` and ``dask_executor`` (executors) <- ``runner``
(which jobs, records written by one writer). ``external`` makes generators of commands declared in TOML.
"""
