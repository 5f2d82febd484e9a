"""Serverless Framework services (`serverless.yml`) read as the project the deployer serves."""
