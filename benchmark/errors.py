"""Errors a user can act on: each message names the file, column or row at fault."""


class BenchmarkError(Exception):
    """Base class: the CLI prints these as one clear line and exits non-zero."""


class DataError(BenchmarkError, ValueError):
    """Input data are malformed (file, column or row named in the message)."""


class GeneratorError(BenchmarkError):
    """A generator plugin misbehaved (crash, wrong shape, NaN, invalid genotype)."""


class ConfigError(BenchmarkError, ValueError):
    """A command-line option or card field is invalid."""


class Terminated(KeyboardInterrupt):
    """The run received SIGTERM: it unwinds like Ctrl-C (running jobs killed, finished records kept)."""
