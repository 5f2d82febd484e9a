"""Java semantics of template values, as Velocity 1.7 and API Gateway's Java objects give them.

Values are plain Python: str (java.lang.String), bool (Boolean), int (Integer/Long/BigInteger), float (Double),
None (null), dict (a LinkedHashMap), list and the subclasses in `values`, and host objects (`VtlObject`). Lists
come in three Java flavours that print differently:

* `list` — a JSON array handed in by a host object (`$input.path`, `$util.parseJson`). API Gateway's JSONPath
  provider makes these json-smart `JSONArray`s, whose toString is compact JSON (`["a","b"]`).
* `JList` — a `java.util.ArrayList` made by the template (`[1, 2]`, `[1..3]`, `keySet()`, `values()` …), which
  prints `[1, 2]`.
* `StrArray` — the `String[]` of `String.split`, which prints as Java's default `[Ljava.lang.String;@…`.

Java methods are dispatched (`dispatch`) through explicit per-type tables keyed by (name, argument count)
(`strings`, `lists`, `maps`, `primitives`, `scopes`); nothing else of a value is ever reached. A method that does
not exist, or whose argument types match no Java overload (`conversions`), makes the reference undefined
(`NoMethod`). Where Java would throw (index out of bounds, bad regex, null argument), the template fails with
`TemplateRuntimeError`. Printing is in `text`, operators in `ops`, `#foreach` and ranges in `loops`, Java regular
expressions in `regex`, and the bounds on one render's work in `limits`.

The compiled template code calls these modules' functions directly; this package module imports nothing, so
importing one part loads only what that part needs.
"""
