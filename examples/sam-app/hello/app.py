import os

from formatting import reply


def lambda_handler(event, context):
    version = event.get("version", "1.0")
    return reply(200, {"message": f"{os.environ['GREETING']} from {os.environ['STAGE']}",
                       "api_url": os.environ["API_URL"], "prod": os.environ["PROD"], "payload": version})
