"""The notes service: one function behind every route, told apart by the event's routeKey (payload format 2.0).

Answers use 2.0's response inference: a dict without statusCode becomes a 200 JSON response; a dict with one is
taken as the response itself. No CORS headers here: the API's CORS configuration adds them."""

import json
import os
import uuid

NOTES: dict[str, dict] = {}


def handler(event, context):
    route = event["routeKey"]
    note_id = (event.get("pathParameters") or {}).get("id")
    if route == "GET /notes":
        return {"notes": list(NOTES.values())}
    if route == "POST /notes":
        note = {"id": uuid.uuid4().hex[:8], "text": json.loads(event.get("body") or "{}").get("text", "")}
        NOTES[note["id"]] = note
        return {"statusCode": 201, "headers": {"content-type": "application/json"}, "body": json.dumps(note)}
    if route == "GET /notes/{id}" and note_id in NOTES:
        return NOTES[note_id]
    if route == "DELETE /notes/{id}" and NOTES.pop(note_id, None) is not None:
        return {"statusCode": 204}
    if route == "$default":  # any request no other route takes
        greeting = (event.get("stageVariables") or {}).get("greeting", os.environ.get("GREETING", "hi"))
        return {"message": f"{greeting}: {event['requestContext']['http']['method']} {event['rawPath']} is not a "
                           f"notes route"}
    return {"statusCode": 404, "body": json.dumps({"message": "no such note"})}
