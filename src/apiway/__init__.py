"""apiway — an AWS API Gateway you can run anywhere."""

__version__ = "0.1.0"
