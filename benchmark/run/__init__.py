"""The run machinery. Imports point one way, from what a run is to how it runs:

``config`` (what to run: RunConfig, Job) <- ``prepared`` (split, metric context, records' common blocks)
<- ``jobs`` (one job in its own process) <- ``locks`` (one lock per job) <- ``local`` and
``dask_executor`` (executors) <- ``runner`` (which jobs; records written by one writer).
``external`` builds generators from commands declared in TOML (and synthcity's, run by
``synthcity_runner.py`` in another environment); ``synthetic_files`` and ``score`` keep and score
synthetic rows.
"""
