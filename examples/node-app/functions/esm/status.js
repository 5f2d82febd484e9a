// An ES module ("type": "module" in package.json): `export` the handler.
import os from "node:os";

export const handler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({ node: process.version, platform: os.platform(), left: context.getRemainingTimeInMillis() }),
});
