"""The SDK types GetSdkTypes lists: the ones apiway generates. AWS also generates SDKs for Android, Java,
iOS (Objective-C and Swift) and Ruby; apiway names them in the error GetSdk answers for them."""

from __future__ import annotations

from typing import Any

GENERATED: dict[str, dict[str, Any]] = {
    "javascript": {"id": "javascript", "friendlyName": "JavaScript",
                   "description": "JavaScript SDK in API Gateway's layout (apigClient.js, lib/)",
                   "configurationProperties": []},
    "python": {"id": "python", "friendlyName": "Python",
               "description": "Typed Python client module (apiway's own; SigV4 through botocore)",
               "configurationProperties": []},
}

# AWS's other SDK types (GetSdk's `sdkType`), which apiway does not generate.
AWS_ONLY = ("android", "java", "objectivec", "ruby", "swift")
