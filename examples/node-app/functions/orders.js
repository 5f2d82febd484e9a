// A CommonJS handler: module state lives as long as the warm execution environment.
let served = 0;

exports.handler = async (event, context) => {
  served += 1;
  const id = event.pathParameters.id;
  console.log("order requested", id); // <time>\t<request id>\tINFO\torder requested 42
  if (!/^\d+$/.test(id)) {
    throw new Error(`bad order id: ${id}`); // the client gets 502; the log gets "Invoke Error"
  }
  return {
    statusCode: 200,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: Number(id), shop: process.env.SHOP, served, requestId: context.awsRequestId }),
  };
};
