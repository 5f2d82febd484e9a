"""SAM, CloudFormation and CDK templates read as projects: their APIs become OpenAPI documents the importers
read, their functions the project's functions (docs/templates.md)."""
