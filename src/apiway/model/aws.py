"""The one AWS account and region apiway answers as: ARNs, `$context.accountId`, Lambda's environment."""

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
