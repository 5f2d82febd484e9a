"""JSONPath as API Gateway mapping templates evaluate it (Jayway JsonPath semantics).

Unless noted otherwise, expected values come from the Jayway JsonPath README (github.com/json-path/JsonPath,
"Path Examples" on its bookstore document) and from Jayway's evaluation rules: definite paths give one value,
indefinite ones a list; PathNotFoundException (here: None) for a missing definite path or a missing definite prefix.
"""

from __future__ import annotations

import copy

import pytest

from apiway.jsonpath import MISSING, JsonPathError, compile_path, evaluate

BOOKSTORE = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
            {
                "category": "fiction",
                "author": "Herman Melville",
                "title": "Moby Dick",
                "isbn": "0-553-21311-3",
                "price": 8.99,
            },
            {
                "category": "fiction",
                "author": "J. R. R. Tolkien",
                "title": "The Lord of the Rings",
                "isbn": "0-395-19395-8",
                "price": 22.99,
            },
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
}
BOOKS = BOOKSTORE["store"]["book"]
AUTHORS = ["Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien"]
TITLES = [book["title"] for book in BOOKS]


def test_readme_examples_on_the_bookstore() -> None:
    # Jayway README, "Path Examples" table, row by row.
    assert evaluate("$.store.book[*].author", BOOKSTORE) == AUTHORS
    assert evaluate("$..author", BOOKSTORE) == AUTHORS
    assert evaluate("$.store.*", BOOKSTORE) == [BOOKS, BOOKSTORE["store"]["bicycle"]]
    assert evaluate("$.store..price", BOOKSTORE) == [8.95, 12.99, 8.99, 22.99, 19.95]
    assert evaluate("$..book[2]", BOOKSTORE) == [BOOKS[2]]
    assert evaluate("$..book[-2]", BOOKSTORE) == [BOOKS[2]]
    assert evaluate("$..book[0,1]", BOOKSTORE) == BOOKS[0:2]
    assert evaluate("$..book[:2]", BOOKSTORE) == BOOKS[0:2]
    assert evaluate("$..book[1:2]", BOOKSTORE) == [BOOKS[1]]
    assert evaluate("$..book[-2:]", BOOKSTORE) == BOOKS[2:]
    assert evaluate("$..book[2:]", BOOKSTORE) == BOOKS[2:]
    assert evaluate("$..book[?(@.isbn)]", BOOKSTORE) == BOOKS[2:]
    assert evaluate("$.store.book[?(@.price < 10)]", BOOKSTORE) == [BOOKS[0], BOOKS[2]]
    assert evaluate("$..book[?(@.price <= $['expensive'])]", BOOKSTORE) == [BOOKS[0], BOOKS[2]]
    assert evaluate("$..book[?(@.author =~ /.*REES/i)]", BOOKSTORE) == [BOOKS[0]]
    assert evaluate("$..book.length()", BOOKSTORE) == 4  # "The number of books"


def test_deep_scan_of_everything_is_depth_first() -> None:
    # `$..*` ("Give me every thing"): Jayway's scan lists an object's values, then walks into each of them.
    store, bicycle = BOOKSTORE["store"], BOOKSTORE["store"]["bicycle"]
    expected = [store, 10, BOOKS, bicycle, *BOOKS]
    for book in BOOKS:
        expected.extend(book.values())
    expected.extend(["red", 19.95])
    assert evaluate("$..*", BOOKSTORE) == expected


def test_definite_paths_return_the_value_itself() -> None:
    assert evaluate("$.store.book[0].author", BOOKSTORE) == "Nigel Rees"
    assert evaluate("$['store']['bicycle']['color']", BOOKSTORE) == "red"
    assert evaluate('$["store"]["bicycle"]["price"]', BOOKSTORE) == 19.95
    assert evaluate("$.store.book[-1].title", BOOKSTORE) == "The Lord of the Rings"
    assert evaluate("$.expensive", BOOKSTORE) == 10
    assert evaluate("$", BOOKSTORE) is BOOKSTORE
    # Jayway prefixes paths that do not start with $ or @ with "$.".
    assert evaluate("store.bicycle.color", BOOKSTORE) == "red"
    assert compile_path("$.store.book[0].author").definite
    assert compile_path("$.store.book[-1]").definite


def test_indefinite_paths_return_lists() -> None:
    for expression in (
        "$.store.book[*]",
        "$..book",
        "$.store.*",
        "$.store.book[0:1]",
        "$.store.book[?(@.isbn)]",
        "$.store.book[0,1]",
        "$['store','expensive'].book",
    ):
        assert not compile_path(expression).definite, expression
    assert evaluate("$.store.book[0:1].title", BOOKSTORE) == ["Sayings of the Century"]
    assert evaluate("$.store.book[?(@.price > 100)]", BOOKSTORE) == []
    # Several names before the last step iterate; names missing there are skipped.
    assert evaluate("$['store','expensive'].bicycle", BOOKSTORE) == [BOOKSTORE["store"]["bicycle"]]


def test_several_names_in_the_last_step_merge_into_one_object() -> None:
    # Jayway PropertyPathToken.multiPropertyMergeCase: definite, absent names left out.
    assert evaluate("$.store.book[0]['author','title']", BOOKSTORE) == {
        "author": "Nigel Rees",
        "title": "Sayings of the Century",
    }
    assert evaluate("$.store.book[0]['author','isbn']", BOOKSTORE) == {"author": "Nigel Rees"}
    assert compile_path("$.store.book[0]['author','title']").definite
    assert evaluate("$.store.book[*]['title','price']", BOOKSTORE) == [
        {"title": book["title"], "price": book["price"]} for book in BOOKS
    ]


def test_missing_values() -> None:
    # Definite path, nothing there: Jayway throws PathNotFoundException, the caller sees None (or `missing`).
    assert evaluate("$.nope", BOOKSTORE) is None
    assert evaluate("$.store.book[10]", BOOKSTORE) is None
    assert evaluate("$.store.book[0].isbn", BOOKSTORE) is None
    assert evaluate("$.expensive.deeper", BOOKSTORE) is None  # property of a number
    assert evaluate("$.store[0]", BOOKSTORE) is None  # index into an object
    assert compile_path("$.nope").evaluate(BOOKSTORE, MISSING) is MISSING
    # A present null is a value, not a miss.
    assert compile_path("$.a").evaluate({"a": None}, MISSING) is None
    # Indefinite path: elements without the leaf property are skipped ...
    assert evaluate("$.store.book[*].isbn", BOOKSTORE) == ["0-553-21311-3", "0-395-19395-8"]
    # ... but a missing definite prefix fails the whole read ("Missing property in path $['nope']").
    assert evaluate("$.nope[*]", BOOKSTORE) is None
    assert evaluate("$.nope.deeper[*]", BOOKSTORE) is None
    assert evaluate("$.expensive[0:2]", BOOKSTORE) is None  # slice of a number with a definite prefix
    assert evaluate("$..nope", BOOKSTORE) == []


def test_array_indexes_and_slices() -> None:
    numbers = [1, 3, 5, 7, 8, 13, 20]
    assert evaluate("$[0]", numbers) == 1
    assert evaluate("$[-1]", numbers) == 20
    assert evaluate("$[7]", numbers) is None
    assert evaluate("$[0, 2, -1]", numbers) == [1, 5, 20]
    assert evaluate("$[0,99]", numbers) == [1]
    assert evaluate("$[:3]", numbers) == [1, 3, 5]
    assert evaluate("$[1:15]", numbers) == [3, 5, 7, 8, 13, 20]
    assert evaluate("$[-3:]", numbers) == [8, 13, 20]
    assert evaluate("$[:-3]", numbers) == [1, 3, 5, 7]
    assert evaluate("$[3:3]", numbers) == []
    # Jayway's [from:to] caps `to` at the length but does not count a negative `to` from the end
    # (ArraySliceToken.sliceBetween), so this slice is empty.
    assert evaluate("$[0:-1]", numbers) == []
    assert evaluate("$[*]", numbers) == numbers
    assert evaluate("$.*", numbers) == numbers
    assert evaluate("$[*]", []) == []


def test_wildcard_on_objects_and_scalars() -> None:
    assert evaluate("$.store.bicycle.*", BOOKSTORE) == ["red", 19.95]
    assert evaluate("$.store.bicycle['*']", BOOKSTORE) is None  # quoted: a property named "*"
    assert evaluate("$.expensive.*", BOOKSTORE) == []


def test_deep_scan() -> None:
    assert evaluate("$..price", BOOKSTORE) == [8.95, 12.99, 8.99, 22.99, 19.95]
    assert evaluate("$..book[0].title", BOOKSTORE) == ["Sayings of the Century"]
    assert evaluate("$..['color']", BOOKSTORE) == ["red"]
    assert evaluate("$..[?(@.color)].price", BOOKSTORE) == [19.95]
    doc = {"a": {"x": 1, "y": 2}, "b": [{"x": 3}, {"y": 4}, [{"x": 5}]], "c": {"x": {"x": 6}}}
    assert evaluate("$..x", doc) == [1, 3, 5, {"x": 6}, 6]
    # Jayway's scan predicate for a merge step: only objects holding every name.
    assert evaluate("$..['x','y']", doc) == [{"x": 1, "y": 2}]
    assert evaluate("$..[0].x", doc) == [3, 5]


def test_filter_comparisons() -> None:
    items = [
        {"id": 1, "name": "a", "price": 5, "code": "10", "tags": ["x", "y"]},
        {"id": 2, "name": "b", "price": 15.5, "code": 10, "tags": []},
        {"id": 3, "name": "c/d", "price": None, "flag": True, "tags": ["y"]},
    ]
    doc = {"items": items, "limit": 10, "names": ["a", "c/d"]}

    def ids(expression: str) -> list[int]:
        return evaluate(f"$.items[?({expression})].id", doc)

    assert ids("@.price == 5") == [1]
    assert ids("@.price != 5") == [2, 3]  # null != 5
    assert ids("@.price < 10") == [1]
    assert ids("@.price <= 15.5") == [1, 2]
    assert ids("@.price > 5") == [2]
    assert ids("@.price >= 5") == [1, 2]
    assert ids("@.price == null") == [3]
    assert ids("@.name == 'c/d'") == [3]
    assert ids('@.name == "a"') == [1]
    assert ids("@.name > 'a'") == [2, 3]  # strings compare as strings
    assert ids("@.name < 5") == []  # string against number: false (EvaluatorFactory.LessThanEvaluator)
    # Jayway NumberNode/StringNode equality: a number equals a string that parses to the same number.
    assert ids("@.code == 10") == [1, 2]
    assert ids("@.code == '10'") == [1, 2]
    assert ids("@.code === 10") == [2]  # type-safe
    assert ids("@.code !== 10") == [1, 3]
    assert ids("@.flag == true") == [3]
    assert ids("@.price <= $.limit") == [1]
    assert ids("@.id >= $['limit']") == []


def test_filter_logic_and_existence() -> None:
    items = [{"id": 1, "a": 1, "b": 2}, {"id": 2, "a": 1}, {"id": 3, "b": None}, {"id": 4}]

    def ids(expression: str) -> list[int]:
        return evaluate(f"$[?({expression})].id", items)

    assert ids("@.a") == [1, 2]
    assert ids("@.b") == [1, 3]  # a null value exists
    assert ids("!@.a") == [3, 4]
    assert ids("@.a && @.b") == [1]
    assert ids("@.a || @.b") == [1, 2, 3]
    assert ids("@.a == 1 && @.b == 2 || @.id == 4") == [1, 4]  # && binds tighter than ||
    assert ids("@.a == 1 && (@.b == 2 || @.id == 2)") == [1, 2]
    assert ids("!(@.a == 1)") == [3, 4]
    assert ids("@.missing != 1") == [1, 2, 3, 4]  # undefined equals nothing
    assert ids("true") == [1, 2, 3, 4]


def test_filter_regex() -> None:
    names = [{"n": "Nigel Rees"}, {"n": "nigel"}, {"n": "x/y"}, {"n": 42}, {"n": True}]
    assert evaluate("$[?(@.n =~ /nigel.*/)].n", names) == ["nigel"]
    assert evaluate("$[?(@.n =~ /NIGEL.*/i)].n", names) == ["Nigel Rees", "nigel"]
    assert evaluate("$[?(@.n =~ /Rees/)].n", names) == []  # Java Matcher.matches(): the whole string
    assert evaluate("$[?(@.n =~ /x\\/y/)].n", names) == ["x/y"]
    assert evaluate("$[?(@.n =~ /4\\d/)].n", names) == [42]  # numbers match by their text
    assert evaluate("$[?(@.n =~ /true/)].n", names) == [True]


def test_filter_collection_operators() -> None:
    items = [
        {"id": 1, "name": "a", "tags": ["x", "y"]},
        {"id": 2, "name": "b", "tags": []},
        {"id": 3, "name": "c", "tags": ["y"]},
    ]
    doc = {"items": items, "names": ["a", "c"]}

    def ids(expression: str) -> list[int]:
        return evaluate(f"$.items[?({expression})].id", doc)

    assert ids("@.name in ['a','b']") == [1, 2]
    assert ids('@.name in ["c"]') == [3]
    assert ids("@.name nin ['a','b']") == [3]
    assert ids("@.name in $.names") == [1, 3]
    assert ids("@.tags contains 'x'") == [1]
    assert ids("@.name contains 'a'") == [1]
    assert ids("@.tags subsetof ['x','y','z']") == [1, 2, 3]
    assert ids("@.tags subsetof ['y']") == [2, 3]
    assert ids("@.tags anyof ['y','z']") == [1, 3]
    assert ids("@.tags noneof ['y']") == [2]
    assert ids("@.tags all ['x','y']") == [1]
    assert ids("@.tags size 2") == [1]
    assert ids("@.name size 1") == [1, 2, 3]
    assert ids("@.tags empty true") == [2]
    assert ids("@.tags empty false") == [1, 3]
    assert ids("@.tags.length() > 1") == [1]


def test_filter_on_an_object_tests_the_object_itself() -> None:
    # Jayway PredicatePathToken on a map: the filter applies to the map, not to its values.
    assert evaluate("$.store.bicycle[?(@.color == 'red')]", BOOKSTORE) == [BOOKSTORE["store"]["bicycle"]]
    assert evaluate("$.store.bicycle[?(@.color == 'blue')]", BOOKSTORE) == []
    assert evaluate("$.expensive[?(@.a)]", BOOKSTORE) is None  # filter on a number


def test_functions() -> None:
    assert evaluate("$.store.book.length()", BOOKSTORE) == 4
    assert evaluate("$.store.book.size()", BOOKSTORE) == 4
    assert evaluate("$.store.bicycle.keys()", BOOKSTORE) == ["color", "price"]
    assert evaluate("$.store.book.first()", BOOKSTORE) == BOOKS[0]
    with pytest.raises(JsonPathError):
        compile_path("$.store.book.first().title")  # functions must end the path
    assert evaluate("$.store.book.last()", BOOKSTORE) == BOOKS[-1]
    assert evaluate("$.numbers.min()", {"numbers": [3, 1, 2]}) == 1.0
    assert evaluate("$.numbers.max()", {"numbers": [3, 1, 2]}) == 3.0
    assert evaluate("$.numbers.sum()", {"numbers": [3, 1, 2]}) == 6.0
    assert evaluate("$.numbers.avg()", {"numbers": [3, 1, 2]}) == 2.0
    assert evaluate("$.numbers.stddev()", {"numbers": [1, 3]}) == 1.0
    assert evaluate("$.numbers.sum()", {"numbers": []}) is None  # Jayway: aggregation on an empty array fails
    # `$..x.fn()` applies the function to all matches (Jayway inverts the scan into a parameter).
    assert evaluate("$..price.sum()", BOOKSTORE) == pytest.approx(73.87)
    assert evaluate("$..price.max()", BOOKSTORE) == 22.99


def test_quoted_names() -> None:
    doc = {"a b": 1, "it's": 2, 'say "hi"': 3, "a.b": 4, "@": 5, "x": {"0": 6}}
    assert evaluate("$['a b']", doc) == 1
    assert evaluate("$['it\\'s']", doc) == 2
    assert evaluate('$["say \\"hi\\""]', doc) == 3
    assert evaluate("$['a.b']", doc) == 4
    assert evaluate("$['@']", doc) == 5
    assert evaluate("$.x['0']", doc) == 6
    assert evaluate("$.x[0]", doc) is None
    assert evaluate("$.a-b", {"a-b": 7}) == 7  # Jayway reads up to '.', '[', '(' or a blank


def test_current_item_root() -> None:
    assert evaluate("@.store.bicycle.color", BOOKSTORE) == "red"


def test_evaluation_does_not_modify_the_document() -> None:
    before = copy.deepcopy(BOOKSTORE)
    evaluate("$..book[?(@.price < 10)]['title','price']", BOOKSTORE)
    evaluate("$..*", BOOKSTORE)
    assert before == BOOKSTORE


def test_compiled_paths_are_cached() -> None:
    assert compile_path("$.store.book[*].author") is compile_path("$.store.book[*].author")


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "   ",
        "$.",
        "$..",
        "$[",
        "$['a'",
        "$[abc]",
        "$[]",
        "$[:]",
        "$.a b",
        "$a",
        "$[?(@.a ==)]",
        "$[?(@.a =)]",
        "$[?(@.a == 'x)]",
        "$[?(@.a =~ /(/)]",
        "$[?(@.a) extra]",
        "$[?(@.a == 1]",
        "$.foo()",
        "$.store.length().x",
        "$..length()",
        "$[1:x]",
    ],
)
def test_syntax_errors(expression: str) -> None:
    with pytest.raises(JsonPathError):
        compile_path(expression)


def test_syntax_error_is_a_value_error() -> None:
    assert issubclass(JsonPathError, ValueError)


def test_filter_nesting_is_bounded_even_when_built_up_through_the_cache() -> None:
    """Each level's inner path is already cached when the next level compiles, so parsing never recurses deeply;
    evaluation would: nesting past MAX_FILTER_DEPTH is refused however the path was reached."""
    from apiway.jsonpath.filters import MAX_FILTER_DEPTH

    def nested(n: int) -> str:
        return "$" + "[?(@" * n + ".a" + ")]" * n

    for n in range(1, MAX_FILTER_DEPTH + 1):
        compiled = compile_path(nested(n))
    document: object = {"a": 1}
    for _ in range(MAX_FILTER_DEPTH + 1):
        document = [document]
    assert compiled.evaluate(document) == [document[0]]  # type: ignore[index]
    with pytest.raises(JsonPathError, match="nested more than"):
        compile_path(nested(MAX_FILTER_DEPTH + 1))
