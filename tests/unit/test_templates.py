"""Reading templates: CloudFormation's short tags, the intrinsic functions, and the errors that name the
template, the line and the resource for whatever cannot be served."""

from __future__ import annotations

from pathlib import Path

import pytest

from apiway.model.documents import DocumentError
from apiway.templates.load import is_template_file, load_template
from apiway.templates.yaml_loader import parse_template

HEADER = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
FUNCTION = """  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
"""


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    path = tmp_path / "template.yaml"
    path.write_text(header + body)
    return path


def failure(tmp_path: Path, body: str, overrides: dict[str, str] | None = None) -> str:
    with pytest.raises(DocumentError) as info:
        load_template(write(tmp_path, body), overrides or {})
    return str(info.value)


def test_short_tags_become_long_forms() -> None:
    doc = parse_template("a: !Sub 'x-${AWS::Region}'\nb: !GetAtt Fn.Arn\nc: !Ref P\nd: !If [C, 1, 2]\n"
                         "e: !Condition C\nf: !Join ['', [!Ref P, x]]\n", "t.yaml")
    assert doc == {"a": {"Fn::Sub": "x-${AWS::Region}"}, "b": {"Fn::GetAtt": ["Fn", "Arn"]}, "c": {"Ref": "P"},
                   "d": {"Fn::If": ["C", 1, 2]}, "e": {"Condition": "C"},
                   "f": {"Fn::Join": ["", [{"Ref": "P"}, "x"]]}}


def test_intrinsics_in_a_function_environment(tmp_path: Path) -> None:
    body = """Parameters:
  Env: {Type: String, Default: dev}
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  Both: !And [!Condition IsDev, !Not [!Equals [!Ref Env, prod]]]
Mappings:
  M: {dev: {Size: small}, prod: {Size: big}}
Resources:
""" + FUNCTION + """      Environment:
        Variables:
          SUB: !Sub "${AWS::StackName}-${Env}-${!Literal}-${AWS::AccountId}"
          SUB_VARS: !Sub ["${A}/${Fn.Arn}", {A: !Ref AWS::Partition}]
          JOIN: !Join [",", !Ref Names]
          SELECT: !Select [1, !Split ["/", "x/y/z"]]
          IF: !If [Both, "yes", !Ref AWS::NoValue]
          MAP: !FindInMap [M, !Ref Env, Size]
          B64: !Base64 "hi"
          OR: !If [IsDev, !Ref Env, other]
"""
    project, _ = load_template(write(tmp_path, body), {})
    env = project.functions[0].environment
    assert env["SUB"] == f"{tmp_path.name}-dev-${{Literal}}-123456789012"
    assert env["SUB_VARS"] == "aws/arn:aws:lambda:us-east-1:123456789012:function:Fn"
    assert (env["JOIN"], env["SELECT"], env["IF"], env["MAP"], env["B64"], env["OR"]) == \
        ("a,b,c", "y", "yes", "small", "aGk=", "dev")
    project, _ = load_template(write(tmp_path, body), {"Env": "prod"})
    assert "IF" not in project.functions[0].environment  # AWS::NoValue removes the property


def test_node_function(tmp_path: Path) -> None:
    body = FUNCTION.replace("python3.12", "nodejs20.x").replace("app.handler", "handlers/orders.list")
    project, _ = load_template(write(tmp_path, "Resources:\n" + body), {})
    spec = project.functions[0]
    assert (spec.runtime, spec.handler, spec.base_dir) == ("nodejs", "handlers/orders.list", tmp_path / "src")
    assert "PYTHONPATH" not in spec.environment and spec.mode == "worker"


def test_handler_and_code_uri(tmp_path: Path) -> None:
    project, _ = load_template(write(tmp_path, "Resources:\n" + FUNCTION), {})
    spec = project.functions[0]
    assert (spec.name, spec.handler, spec.base_dir) == ("Fn", "app.py:handler", tmp_path / "src")
    assert (spec.timeout, spec.memory, spec.mode) == (3.0, 128, "worker")


@pytest.mark.parametrize(("body", "expected"), [
    (FUNCTION.replace("python3.12", "java21"),
     ":9: Resources.Fn.Properties.Runtime: java21: only python3.x, nodejs and provided runtimes are served"),
    (FUNCTION.replace("python3.12", "nodejs20.x").replace("src/", "s3://bucket/code.zip"),
     ":7: Resources.Fn.Properties.CodeUri: code in S3 is not served"),
    (FUNCTION + "      Environment: {Variables: {X: !ImportValue shared-table}}\n",
     ":10: Resources.Fn.Properties.Environment.Variables.X.Fn::ImportValue: Fn::ImportValue reads another stack"),
    (FUNCTION + "      Environment: {Variables: {X: !Select [0, !GetAZs '']}}\n",
     "Fn::GetAZs reads another stack or the account"),
    (FUNCTION + "      Environment: {Variables: {X: !GetAtt Fn.Nothing}}\n",
     ":10: Resources.Fn.Properties.Environment.Variables.X.Fn::GetAtt: Fn::GetAtt Fn.Nothing: not an attribute"),
    (FUNCTION + "      Environment: {Variables: {X: !Ref Missing}}\n",
     "Ref to 'Missing': no parameter or resource of that name"),
    (FUNCTION.replace("src/", "s3://bucket/code.zip"),
     ":7: Resources.Fn.Properties.CodeUri: code in S3 is not served"),
    (FUNCTION.replace("app.handler", "missing.handler"), "Resources.Fn.Properties.Handler: handler file not found"),
    (FUNCTION + "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Nope}}\n",
     ":11: Resources.Fn.Properties.Events.E.Properties.RestApiId.Ref: Ref to 'Nope': no parameter or resource"),
    (FUNCTION + "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Q}}\n"
                "  Q: {Type: AWS::SQS::Queue}\n",
     ":11: Resources.Fn.Properties.Events.E.Properties.RestApiId: Q is a AWS::SQS::Queue: an event's RestApiId"),
    (FUNCTION + "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get, "
                "Auth: {Authorizer: Nope}}}\n",
     "Resources.Fn.Properties.Events.E.Properties.Auth.Authorizer: no authorizer 'Nope'"),
    (FUNCTION + "      Events:\n        E: {Type: Api, Properties: {Path: 'x y', Method: get}}\n",
     ":11: Resources.Fn.Properties.Events.E.Properties: a path must start with '/'"),
])
def test_unsupported_constructs_name_file_line_and_resource(tmp_path: Path, body: str, expected: str) -> None:
    message = failure(tmp_path, "Resources:\n" + body)
    assert message.startswith(str(tmp_path / "template.yaml")), message
    assert expected in message, message


def test_parameters_need_a_value_and_overrides_a_known_name(tmp_path: Path) -> None:
    body = "Parameters:\n  Table: {Type: String}\nResources:\n" + FUNCTION
    assert "Parameters.Table: no Default: give its value with --parameter-overrides Table=VALUE" in \
        failure(tmp_path, body)
    assert "--parameter-overrides: the template has no parameter 'Other'" in \
        failure(tmp_path, body, {"Table": "t", "Other": "x"})
    body = "Parameters:\n  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}\nResources:\n" + FUNCTION
    assert "'test' is not one of the allowed values: dev, prod" in failure(tmp_path, body, {"Env": "test"})


def test_definition_body_errors_point_into_the_template(tmp_path: Path) -> None:
    body = """Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        openapi: 3.0.1
        info: {title: t}
        paths:
          /x:
            get:
              x-amazon-apigateway-integration: {type: teleport}
"""
    message = failure(tmp_path, body)
    assert ":14: Resources.Api.Properties.DefinitionBody.paths./x.get.x-amazon-apigateway-integration" in message


def test_other_transforms_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "Resources:\n" + FUNCTION, HEADER.replace("AWS::Serverless-2016-10-31",
                                                                      "AWS::LanguageExtensions"))
    with pytest.raises(DocumentError, match="the transform 'AWS::LanguageExtensions' is not supported"):
        load_template(path, {})


def test_templates_are_told_from_project_files(tmp_path: Path) -> None:
    assert is_template_file(write(tmp_path, "Resources:\n" + FUNCTION))
    project = tmp_path / "apiway.yaml"
    project.write_text("apis:\n  - openapi: api.yaml\n")
    assert not is_template_file(project)
    openapi = tmp_path / "api.json"
    openapi.write_text('{"openapi": "3.0.1", "paths": {}, "x-Resources": 1}')
    assert not is_template_file(openapi)


AWS_VARIABLES_API = """openapi: 3.0.1
info: {title: tasks, version: "1"}
paths:
  /:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:Tasks/invocations
  /proxy:
    get:
      x-amazon-apigateway-integration: {type: http_proxy, httpMethod: GET, uri: "http://${stageVariables.host}/x"}
"""


def test_openapi_import_resolves_aws_variables_and_keeps_stage_variables() -> None:
    from apiway.model.documents import parse_text
    from apiway.openapi.importer import import_openapi

    definition = import_openapi(parse_text(AWS_VARIABLES_API, "api.yaml"), AWS_VARIABLES_API, "api.yaml")
    uris = {r["path"]: m["methodIntegration"]["uri"] for r in definition["resources"].values()
            for m in (r.get("resourceMethods") or {}).values()}
    assert uris == {"/": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:"
                         "123456789012:function:Tasks/invocations",
                    "/proxy": "http://${stageVariables.host}/x"}


@pytest.mark.parametrize("value", ["{Fn::Sub: 'arn:aws:lambda:${AWS::Region}'}", "{Ref: MyFunction}",
                                  "{Fn::GetAtt: [MyFunction, Arn]}"])
def test_cloudformation_functions_in_a_plain_openapi_file_are_refused_with_the_fix(value: str) -> None:
    from apiway.model.documents import parse_text
    from apiway.openapi.http_importer import import_http_api

    text = AWS_VARIABLES_API.replace("uri: arn:${AWS::Partition}", "uri: " + value + "\n        x: arn")
    with pytest.raises(DocumentError) as info:
        import_http_api(parse_text(text, "api.yaml"), text, "api.yaml", "abc123")
    message = str(info.value)
    assert message.startswith("api.yaml:9: paths./.get.x-amazon-apigateway-integration.uri."), message
    assert "is a CloudFormation function, resolved only in a template: use a SAM/CloudFormation template, or write " \
           "the value" in message


def test_a_sam_resource_policy_becomes_the_apis_policy(tmp_path: Path) -> None:
    api = """  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Auth:
        ResourcePolicy:
          IpRangeBlacklist: [10.0.0.0/8]
          CustomStatements: [{Effect: Allow, Principal: "*", Action: "execute-api:Invoke", Resource: "execute-api:/*"}]
"""
    event = "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Api}}\n"
    project, _ = load_template(write(tmp_path, "Resources:\n" + api + FUNCTION + event), {})
    doc = project.apis[0].document[0]  # type: ignore[index]
    statements = doc["x-amazon-apigateway-policy"]["Statement"]
    assert statements[0]["Effect"] == "Allow" and statements[-1] == {
        "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
        "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}}
    message = failure(tmp_path, "Resources:\n" + api.replace("IpRangeBlacklist", "SourceVpcWhitelist") + FUNCTION
                      + event)
    assert ":10: Resources.Api.Properties.Auth.ResourcePolicy.SourceVpcWhitelist: not enforced here" in message


def test_samconfig_parameter_overrides_apply_under_the_command_lines(tmp_path: Path) -> None:
    body = "Parameters:\n  Env: {Type: String, Default: dev}\n  Name: {Type: String, Default: x}\nResources:\n" + \
        FUNCTION + "      Environment: {Variables: {ENV: !Ref Env, NAME: !Ref Name}}\n"
    (tmp_path / "samconfig.toml").write_text('version = 0.1\n[default.deploy.parameters]\nstack_name = "app"\n'
                                             'parameter_overrides = "Env=\\"prod\\" Name=from-config Other=1"\n')
    project, notes = load_template(write(tmp_path, body), {"Name": "from-cli"})
    assert project.functions[0].environment | {"PYTHONPATH": ""} == {"ENV": "prod", "NAME": "from-cli",
                                                                      "PYTHONPATH": ""}
    assert "parameters from samconfig.toml: Env, Name" in notes


def test_method_settings_and_the_stage_cache(tmp_path: Path) -> None:
    body = """Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      CacheClusterEnabled: true
      CacheClusterSize: "1.6"
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 50, ThrottlingBurstLimit: 20, LoggingLevel: INFO}
        - {ResourcePath: "/~1x", HttpMethod: GET, CachingEnabled: true, CacheTtlInSeconds: 60}
""" + FUNCTION + "      Events:\n        E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Api}}\n"
    project, _ = load_template(write(tmp_path, body), {})
    stage = project.apis[0].stages[0]
    assert stage.method_settings == {
        "*/*": {"throttlingRateLimit": 50.0, "throttlingBurstLimit": 20, "loggingLevel": "INFO"},
        "x/GET": {"cachingEnabled": True, "cacheTtlInSeconds": 60}}
    assert stage.cache_size == "1.6"
    message = failure(tmp_path, body.replace("CacheTtlInSeconds: 60", "CacheTtlInSeconds: 7200"))
    assert "Resources.Api: stage v1: MethodSettings: seconds, an integer from 0 to 3600" in message


def test_a_short_tag_in_a_plain_openapi_file_says_what_it_is(tmp_path: Path) -> None:
    from apiway.model.documents import parse_text

    with pytest.raises(DocumentError) as info:
        parse_text("openapi: 3.0.1\npaths:\n  /:\n    get:\n      x: !Sub 'a'\n", "api.yaml")
    assert str(info.value) == ("api.yaml:5: invalid YAML: could not determine a constructor for the tag '!Sub' (a "
                               "CloudFormation function: use a SAM/CloudFormation template, or write the value)")


@pytest.mark.parametrize(("header", "body", "expected"), [
    ("", "Resources:\n" + FUNCTION, ":3: Resources.Fn.Type: a SAM resource needs `Transform: AWS::Serverless-2016"),
    (HEADER, "Resources:\n  Fn: {Type: AWS::Serverless::Function, Properties: [1]}\n",
     "a property has a shape this reader does not expect"),
])
def test_malformed_templates_get_a_message_not_a_traceback(tmp_path: Path, header: str, body: str,
                                                           expected: str) -> None:
    with pytest.raises(DocumentError) as info:
        load_template(write(tmp_path, body, header), {})
    assert expected in str(info.value)
