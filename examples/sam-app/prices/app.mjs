// A Node.js function beside the Python ones: the same API, the same Globals (stage, region).
export const handler = async (event, context) => ({
  statusCode: 200,
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({
    prices: { tea: 3, coffee: 4 },
    stage: process.env.STAGE,
    runtime: "nodejs",
    payload: event.version ?? "1.0",
    requestId: context.awsRequestId,
  }),
});
