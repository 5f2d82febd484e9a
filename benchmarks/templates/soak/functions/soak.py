CALLS = 0


def handler(event, context):
    global CALLS
    CALLS += 1
    # One distinct line per invocation (a repeated one would be held back), so the function's log keeps growing.
    print(f"soak call {CALLS} request {context.aws_request_id} path {event.get('path')}")
    return {"statusCode": 200, "body": "hello"}
