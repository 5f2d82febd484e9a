"""JSONPath as API Gateway evaluates it in mapping templates (`$input.json(...)`, `$input.path(...)`).

API Gateway uses Jayway JsonPath, so this package follows Jayway's semantics rather than Goessner's original:

* A *definite* path (only single names and single indexes, e.g. `$.a.b[0]`) yields one value; an *indefinite* path
  (wildcard, deep scan, filter, slice, several indexes, several names before the last step) yields a list.
* A definite path that finds nothing has no result (`evaluate` returns None). So does an indefinite path whose
  definite prefix fails: Jayway's default options throw "missing property" for `$.absent[*]`, while `$.a[*].absent`
  merely skips the elements without the property.
* Several names in the last step (`$['a','b']`) merge into one object holding the names that exist (definite).
* Filters `[?(...)]` support `==` `!=` `===` `!==` `<` `<=` `>` `>=` `=~ /re/flags` `in` `nin` `subsetof` `anyof`
  `noneof` `contains` `all` `size` `empty`, `&&` `||` `!` and parentheses; `@` is the current item and `$` the
  whole document.
* The functions `length()`, `size()`, `keys()`, `first()`, `last()`, `min()`, `max()`, `avg()`, `sum()` and
  `stddev()` may end a path.

Compiled paths are cached by expression text, since templates pass literal strings.

Parts: `parser` turns an expression into a `CompiledPath` (cached) and `filters` parses `[?(...)]` into a predicate
over `relations`; `path` evaluates the tokens, `functions` are the path-ending functions, `lexing` holds the
character-level helpers and `errors` the ways an evaluation ends without a value.
"""

from __future__ import annotations

from apiway.jsonpath.errors import MISSING, JsonPathError
from apiway.jsonpath.parser import compile_path, evaluate
from apiway.jsonpath.path import CompiledPath

__all__ = ["MISSING", "CompiledPath", "JsonPathError", "compile_path", "evaluate"]
