"""Query parsing as API Gateway reads it (recorded invocation-payload-with-params-encoding cases)."""

from apiway.core.query import parse_query


def test_empty_is_null() -> None:
    assert parse_query("") == (None, None)


def test_decoding_plus_and_percent() -> None:
    single, multi = parse_query(
        "dateTimeOffset=2023-06-12T18:05:10.123456+00:00&email=test%2Balias@gmail.com&plus=test+alias@gmail.com"
        "&url=https://www.google.com/&whitespace=foo%20bar&zhash=abort/"
    )
    assert single == {
        "dateTimeOffset": "2023-06-12T18:05:10.123456 00:00",
        "email": "test+alias@gmail.com",
        "plus": "test alias@gmail.com",
        "url": "https://www.google.com/",
        "whitespace": "foo bar",
        "zhash": "abort/",
    }
    assert multi == {k: [v] for k, v in single.items()}


def test_repeated_names_last_wins_and_all_kept() -> None:
    single, multi = parse_query("category=electronics&price=10&price=20&category=books&price=30")
    assert single == {"category": "books", "price": "30"}
    assert multi == {"category": ["electronics", "books"], "price": ["10", "20", "30"]}


def test_name_without_value() -> None:
    assert parse_query("flag&x=") == ({"flag": "", "x": ""}, {"flag": [""], "x": [""]})
