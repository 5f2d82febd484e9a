"""Velocity (VTL) mapping templates as API Gateway runs them: `engine` compiles and renders,
`builtins` provides `$input` and `$util`, `jsonpath` evaluates Jayway JSONPath."""
