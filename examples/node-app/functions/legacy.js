// A callback-style handler: the third argument answers the invocation.
exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, { statusCode: 200, body: "called back" }), 10);
};
