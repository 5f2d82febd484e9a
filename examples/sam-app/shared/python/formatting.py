"""A helper shared through the layer (Lambda puts a layer's python/ folder on the import path)."""

import json


def reply(status, body, headers=None):
    return {"statusCode": status, "headers": {"Content-Type": "application/json",
                                              "Access-Control-Allow-Origin": "*", **(headers or {})},
            "body": json.dumps(body)}
