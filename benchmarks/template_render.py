"""Cost of rendering a typical 20-line request mapping template ($input.json, $input.params,
#foreach, #if), in µs per render, with the variables a real request gets.

    .venv/bin/python benchmarks/template_render.py [--renders 20000]
"""

from __future__ import annotations

import argparse
import time

import orjson

from apiway.vtl.builtins import template_variables
from apiway.vtl.engine import compile_vtl

TEMPLATE = r"""#set($inputRoot = $input.path('$'))
#set($params = $input.params())
{
  "requestId": "$context.requestId",
  "stage": "$context.stage",
  "source": "$context.identity.sourceIp",
  "order": $input.json('$.order'),
  "customer": "$util.escapeJavaScript($inputRoot.customer.name).replaceAll("\\'","'")",
  "items": [
#foreach($item in $inputRoot.items)
    {"sku": "$item.sku", "qty": $item.qty#if($item.qty > 5), "bulk": true#end}#if($foreach.hasNext),#end
#end
  ],
  "query": {
#foreach($name in $params.querystring.keySet())
    "$name": "$util.escapeJavaScript($params.querystring.get($name))"#if($foreach.hasNext),#end
#end
  },
  "trace": "$input.params('X-Amzn-Trace-Id')",
  "color": "$stageVariables.color"
}"""

BODY = orjson.dumps({
    "order": {"id": "o-1", "total": 42.5},
    "customer": {"name": "Ann O'Neil"},
    "items": [{"sku": f"sku-{i}", "qty": i + 3} for i in range(5)],
})
PARAMS = {
    "path": {"id": "o-1"},
    "querystring": {"expand": "items", "page": "2"},
    "header": {"Host": "api.example", "Content-Type": "application/json", "X-Amzn-Trace-Id": "Root=1-abc"},
}


def context() -> dict:
    return {"requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "stage": "prod",
            "identity": {"sourceIp": "203.0.113.7"}, "requestOverride": {"header": {}, "querystring": {}, "path": {}},
            "responseOverride": {"header": {}, "status": None}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--renders", type=int, default=20000)
    args = parser.parse_args()
    template = compile_vtl(TEMPLATE)
    output = template.render(template_variables(BODY, PARAMS, context(), {"color": "blue"}))
    orjson.loads(output)  # the template renders valid JSON
    for _ in range(1000):
        template.render(template_variables(BODY, PARAMS, context(), {"color": "blue"}))
    start = time.process_time()
    for _ in range(args.renders):
        # Per request: fresh variables (the body is parsed once per request), then one render.
        template.render(template_variables(BODY, PARAMS, context(), {"color": "blue"}))
    per_render = (time.process_time() - start) / args.renders * 1e6
    print(f"{TEMPLATE.count(chr(10)) + 1}-line request template: {per_render:.1f} µs CPU per render "
          f"(including $input set-up and one JSON parse of a {len(BODY)}-byte body)")


if __name__ == "__main__":
    main()
