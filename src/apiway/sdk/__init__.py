"""Client SDKs for a deployed REST API stage (GetSdk, `apiway sdk`): JavaScript in the layout of the SDK AWS
generates (`apigClient.js` and the `lib/` it loads), and a typed Python client module."""
