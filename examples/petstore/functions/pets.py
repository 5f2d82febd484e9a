"""Pet store handler: an in-memory table that lives as long as the function stays warm."""

import json
import os

PETS = {"1": {"id": "1", "type": "dog", "name": "Rex"}, "2": {"id": "2", "type": "cat", "name": "Tom"}}
TABLE = os.environ.get("TABLE", "pets")


def _reply(status, body):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def handler(event, context):
    method = event["httpMethod"]
    pet_id = (event.get("pathParameters") or {}).get("petId")
    if method == "GET" and pet_id:
        pet = PETS.get(pet_id)
        return _reply(200, pet) if pet else _reply(404, {"message": f"pet {pet_id} not found"})
    if method == "GET":
        wanted = (event.get("queryStringParameters") or {}).get("type")
        pets = [p for p in PETS.values() if wanted in (None, p["type"])]
        return _reply(200, {"table": TABLE, "pets": pets, "requestId": context.aws_request_id})
    if method == "POST":
        try:
            pet = json.loads(event.get("body") or "{}")
        except ValueError:
            return _reply(400, {"message": "body must be JSON"})
        pet["id"] = str(len(PETS) + 1)
        PETS[pet["id"]] = pet
        return _reply(201, pet)
    return _reply(405, {"message": f"{method} not supported"})
