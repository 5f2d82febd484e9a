"""Velocity (VTL) mapping templates as API Gateway runs them: `engine` compiles and renders,
`builtins` provides `$input` and `$util` (with Jayway JSONPath from `apiway.jsonpath`), `java` gives
template values their Java semantics."""
