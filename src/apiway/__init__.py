"""apiway — an AWS API Gateway you can run anywhere."""

from apiway import compiled as _compiled

__version__ = "0.1.0"
EXIT_BAD_INPUT = 2  # exit code for a bad document, project file or configuration

_compiled.guard()  # before any module of the hot path is imported: its compiled form only when current
