"""Coverage-guided fuzzing of apiway's untrusted-input surfaces (see fuzz/README.md).

`fuzz.targets` holds one target per surface: each is a plain function from bytes to None that raises only when the
input breaks the surface's invariant, importable without atheris so that the regression tests replay the kept
inputs in the ordinary test run. `fuzz.run` runs one target under atheris; `fuzz.campaign` is `make fuzz`."""
