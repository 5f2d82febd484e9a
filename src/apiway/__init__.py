"""apiway — an AWS API Gateway you can run anywhere."""

__version__ = "0.1.0"
EXIT_BAD_INPUT = 2  # exit code for a bad document, project file or configuration
