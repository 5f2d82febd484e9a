"""IAM Condition operators and Principal matching (spec §8.5; IAM's condition-operator semantics:
values ORed, keys and operators ANDed, a missing key fails except for negated operators, IfExists
and Null)."""

from __future__ import annotations

import pytest

from apiway.auth.conditions import ConditionError, compile_condition, compile_principal


def holds(block: dict, **context: object) -> bool:
    return compile_condition(block)({k.replace("_", ":", 1).lower(): v for k, v in context.items()})


# -- IP addresses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("ip", "expected"), [
    ("127.0.0.1", True), ("10.1.2.3", True), ("10.2.0.1", False), ("192.0.2.9", False),
    ("2001:db8::1", True), ("2001:db9::1", False), ("::ffff:127.0.0.1", True), ("not-an-ip", False),
])
def test_ip_address_matches_any_cidr_of_either_family(ip, expected):
    block = {"IpAddress": {"aws:SourceIp": ["127.0.0.1/32", "10.1.0.0/16", "2001:db8::/32"]}}
    assert holds(block, aws_SourceIp=ip) is expected


def test_not_ip_address_is_true_outside_every_cidr_and_when_the_key_is_missing():
    block = {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}
    assert holds(block, aws_SourceIp="127.0.0.1")
    assert not holds(block, aws_SourceIp="10.9.9.9")
    assert holds(block)


def test_a_single_address_is_a_host_cidr():
    assert holds({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, aws_SourceIp="203.0.113.7")
    assert not holds({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, aws_SourceIp="203.0.113.8")


# -- strings ----------------------------------------------------------------------------------------


def test_string_equals_is_case_sensitive_and_ors_its_values():
    block = {"StringEquals": {"aws:SourceVpce": ["vpce-1a2b", "vpce-3c4d"]}}
    assert holds(block, aws_SourceVpce="vpce-3c4d")
    assert not holds(block, aws_SourceVpce="VPCE-3C4D")
    assert not holds(block)  # missing key: a positive operator fails


def test_condition_keys_are_case_insensitive():
    assert compile_condition({"StringEquals": {"AWS:SourceVPC": "vpc-1"}})({"aws:sourcevpc": "vpc-1"})


def test_string_not_equals_needs_every_value_to_differ_and_passes_when_missing():
    block = {"StringNotEquals": {"aws:SourceVpc": ["vpc-1", "vpc-2"]}}
    assert holds(block, aws_SourceVpc="vpc-3")
    assert not holds(block, aws_SourceVpc="vpc-2")
    assert holds(block)


def test_string_like_wildcards():
    block = {"StringLike": {"aws:Referer": ["https://*.example.com/*", "http://h?st/"]}}
    assert holds(block, aws_Referer="https://www.example.com/page")
    assert holds(block, aws_Referer="http://host/")
    assert not holds(block, aws_Referer="http://hoost/")
    assert not holds(block, aws_Referer="https://example.org/")


def test_string_not_like():
    block = {"StringNotLike": {"aws:UserAgent": "*curl*"}}
    assert holds(block, aws_UserAgent="Mozilla/5.0")
    assert not holds(block, aws_UserAgent="curl/8.0")


def test_ignore_case_operators():
    assert holds({"StringEqualsIgnoreCase": {"aws:username": "Alice"}}, aws_username="aLiCe")
    assert not holds({"StringNotEqualsIgnoreCase": {"aws:username": "Alice"}}, aws_username="ALICE")


def test_numbers_and_booleans_in_the_policy_compare_as_text():
    assert holds({"StringEquals": {"aws:EpochTime": 1700000000}}, aws_EpochTime="1700000000")
    assert holds({"Bool": {"aws:SecureTransport": False}}, aws_SecureTransport="false")
    assert not holds({"Bool": {"aws:SecureTransport": "true"}}, aws_SecureTransport="false")


# -- ARNs -------------------------------------------------------------------------------------------


def test_arn_like_matches_each_component_on_its_own():
    block = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/team/*"}}
    assert holds(block, aws_PrincipalArn="arn:aws:iam::123456789012:user/team/alice")
    assert not holds(block, aws_PrincipalArn="arn:aws:iam::123456789012:role/team/alice")
    # a wildcard does not swallow a colon outside the resource part
    assert not holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:*:user/x"}}, aws_PrincipalArn="arn:aws:iam::1:user/x")
    assert holds({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
                 aws_PrincipalArn="arn:aws:iam::123456789012:user/bob")


# -- numbers and dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(("operator", "value", "expected"), [
    ("NumericLessThan", "1700000000", False), ("NumericLessThan", "1700000001", True),
    ("NumericLessThanEquals", "1700000000", True), ("NumericGreaterThan", "1699999999", True),
    ("NumericGreaterThanEquals", "1700000001", False), ("NumericEquals", "1700000000.0", True),
    ("NumericNotEquals", "1700000000", False),
])
def test_numeric_operators(operator, value, expected):
    assert holds({operator: {"aws:EpochTime": value}}, aws_EpochTime="1700000000") is expected


def test_a_non_numeric_context_value_does_not_match():
    assert not holds({"NumericLessThan": {"aws:EpochTime": "5"}}, aws_EpochTime="soon")


def test_date_operators_read_iso_dates_and_epoch_seconds():
    now = "2024-06-01T12:00:00Z"
    assert holds({"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}, aws_CurrentTime=now)
    assert not holds({"DateLessThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}, aws_CurrentTime=now)
    assert holds({"DateLessThan": {"aws:CurrentTime": "2024-06-01T12:00:01+00:00"}}, aws_CurrentTime=now)
    assert holds({"DateEquals": {"aws:CurrentTime": 1717243200}}, aws_CurrentTime=now)
    assert holds({"DateGreaterThanEquals": {"aws:EpochTime": "2024-06-01T12:00:00Z"}}, aws_EpochTime="1717243200")


# -- IfExists, Null, multiple keys, set qualifiers --------------------------------------------------


def test_if_exists_passes_when_the_key_is_missing_and_tests_it_otherwise():
    block = {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}
    assert holds(block)
    assert holds(block, aws_SourceVpc="vpc-1")
    assert not holds(block, aws_SourceVpc="vpc-2")
    assert holds({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}})


def test_null_tests_presence():
    assert holds({"Null": {"aws:SourceVpc": "true"}})
    assert not holds({"Null": {"aws:SourceVpc": "true"}}, aws_SourceVpc="vpc-1")
    assert holds({"Null": {"aws:SourceVpc": "false"}}, aws_SourceVpc="vpc-1")


def test_keys_and_operators_are_anded():
    block = {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}, "StringEquals": {"aws:UserAgent": "ok", "aws:Referer": "r"}}
    assert holds(block, aws_SourceIp="127.0.0.1", aws_UserAgent="ok", aws_Referer="r")
    assert not holds(block, aws_SourceIp="127.0.0.1", aws_UserAgent="ok", aws_Referer="x")
    assert not holds(block, aws_SourceIp="10.0.0.1", aws_UserAgent="ok", aws_Referer="r")


def test_set_qualifiers_on_multi_valued_keys():
    any_of = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    all_of = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    assert compile_condition(any_of)({"aws:tagkeys": ["z", "b"]})
    assert not compile_condition(all_of)({"aws:tagkeys": ["z", "b"]})
    assert compile_condition(all_of)({"aws:tagkeys": ["a", "b"]})
    assert compile_condition(all_of)({})  # ForAllValues holds vacuously
    assert not compile_condition(any_of)({})


def test_the_compiled_condition_lists_its_keys():
    condition = compile_condition({"IpAddress": {"aws:SourceIp": "1.2.3.4"}, "Bool": {"aws:SecureTransport": "true"}})
    assert condition.keys == {"aws:sourceip", "aws:securetransport"}


# -- compile-time errors name the element -----------------------------------------------------------


@pytest.mark.parametrize(("block", "message"), [
    ({"StringEqualz": {"aws:SourceVpc": "v"}}, "Condition.StringEqualz: unsupported condition operator"),
    ({"IpAddress": {"aws:SourceIp": "300.1.1.1/8"}}, "Condition.IpAddress.aws:SourceIp: '300.1.1.1/8' is not an IP"),
    ({"DateLessThan": {"aws:CurrentTime": "tomorrow"}}, "Condition.DateLessThan.aws:CurrentTime: 'tomorrow' is not a"),
    ({"NumericLessThan": {"aws:EpochTime": "x"}}, "Condition.NumericLessThan.aws:EpochTime: 'x' is not a number"),
    ({"Bool": {"aws:SecureTransport": "yes"}}, "Condition.Bool.aws:SecureTransport: 'yes' is not true or false"),
    ({"NullIfExists": {"aws:SourceVpc": "true"}}, "Condition.NullIfExists: unsupported condition operator"),
    ({"Sometimes:StringEquals": {"k": "v"}}, "unknown qualifier"),
    ({"StringEquals": "v"}, "Condition.StringEquals: must map condition keys to values"),
    ({"StringEquals": {"k": {"nested": 1}}}, "condition values are strings, numbers or booleans"),
    ([], "Condition must be an object of operators"),
])
def test_invalid_conditions_are_rejected_at_compile_time(block, message):
    with pytest.raises(ConditionError) as exc:
        compile_condition(block)
    assert message in str(exc.value)


# -- Principal --------------------------------------------------------------------------------------

ALICE = {"aws:principalarn": "arn:aws:iam::123456789012:user/alice", "aws:principalaccount": "123456789012"}
SESSION = {"aws:principalarn": "arn:aws:sts::123456789012:assumed-role/Deployer/ci-run",
           "aws:principalaccount": "123456789012"}
OTHER = {"aws:principalarn": "arn:aws:iam::999999999999:user/mallory", "aws:principalaccount": "999999999999"}


def test_star_matches_everyone_including_anonymous():
    for principal in ("*", {"AWS": "*"}):
        matcher = compile_principal(principal)
        assert matcher({}) and matcher(ALICE)


def test_aws_principals_by_arn_account_and_role():
    by_arn = compile_principal({"AWS": ["arn:aws:iam::123456789012:user/alice"]})
    assert by_arn(ALICE) and not by_arn(OTHER) and not by_arn({})
    by_account = compile_principal({"AWS": "123456789012"})
    assert by_account(ALICE) and by_account(SESSION) and not by_account(OTHER)
    assert compile_principal({"AWS": "arn:aws:iam::999999999999:root"})(OTHER)
    by_role = compile_principal({"AWS": "arn:aws:iam::123456789012:role/Deployer"})
    assert by_role(SESSION) and not by_role(ALICE)


def test_not_principal_inverts_and_services_never_match():
    assert compile_principal({"AWS": "123456789012"}, negated=True)(OTHER)
    assert not compile_principal({"Service": "lambda.amazonaws.com"})(ALICE)


def test_invalid_principals():
    with pytest.raises(ConditionError, match="Principal must be"):
        compile_principal("alice")
    with pytest.raises(ConditionError, match="not an account id or an ARN"):
        compile_principal({"AWS": "alice"})
