// apiway's Node.js runtime: loads the function's handler (`_HANDLER`, "path/file.export" relative to
// LAMBDA_TASK_ROOT) and serves invocations through the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, as AWS's
// Node.js runtime does: the same handler resolution, context object, error documents and console format.
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import util from "node:util";

const env = process.env;
const [HOST, PORT] = (() => {
  const api = env.AWS_LAMBDA_RUNTIME_API || "";
  const at = api.lastIndexOf(":");
  return [api.slice(0, at), Number(api.slice(at + 1))];
})();
const BASE = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
delete env._X_AMZN_TRACE_ID; // set per invocation from its Lambda-Runtime-Trace-Id

// --- console: `<ISO time>\t<request id>\t<LEVEL>\t<message>`, one line per call (inner newlines become CR)

let requestId; // "undefined" in lines written outside an invocation, as on Lambda
const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
const json = (env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
const minimum = Math.max(0, LEVELS.indexOf((env.AWS_LAMBDA_LOG_LEVEL || (json ? "INFO" : "TRACE")).toUpperCase()));

function write(level, args) {
  const time = new Date().toISOString();
  let line;
  if (json) {
    const record = { timestamp: time, level, requestId, message: args.length === 1 ? args[0] : util.format(...args) };
    try {
      line = JSON.stringify(record, (_, v) => (v instanceof Error ? errorFields(v) : v));
    } catch {
      line = JSON.stringify({ ...record, message: util.format(...args) });
    }
  } else {
    line = `${time}\t${requestId}\t${level}\t${util.format(...args)}`;
  }
  process.stdout.write(line.replace(/\n/g, "\r") + "\n");
}

for (const level of LEVELS) {
  const log = LEVELS.indexOf(level) >= minimum || level === "FATAL" ? (...args) => write(level, args) : () => {};
  console[level === "WARN" ? "warn" : level.toLowerCase()] = log;
}
console.log = console.info;

// --- errors as Lambda reports them

class RuntimeError extends Error {
  constructor(type, message) {
    super(message);
    Object.defineProperty(this, "name", { value: `Runtime.${type}` }); // not enumerable, as on Lambda
  }
}

function errorFields(error) {
  return { errorType: error.name, errorMessage: error.message, stackTrace: String(error.stack).split("\n") };
}

function errorDocument(error) {
  if (error instanceof Error || (error && typeof error.name === "string" && typeof error.stack === "string")) {
    return { errorType: error.name, errorMessage: String(error.message), trace: String(error.stack).split("\n") };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function logError(label, error) {
  if (json) {
    write("ERROR", [error instanceof Error ? error : new Error(String(error))]);
    return;
  }
  let detail;
  try {
    detail = JSON.stringify(error, (_, v) => v instanceof Error
      ? { errorType: v.name, errorMessage: v.message, code: v.code, ...v, stack: String(v.stack).split("\n") } : v);
  } catch {
    detail = JSON.stringify(errorDocument(error));
  }
  write("ERROR", [label, "\t" + detail]);
}

// --- the Runtime API

function call(method, route, body, errorType) {
  return new Promise((resolve, reject) => {
    const headers = {};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
    }
    if (errorType) headers["Lambda-Runtime-Function-Error-Type"] = errorType;
    const req = http.request({ host: HOST, port: PORT, method, path: BASE + route, headers, agent }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const postError = (route, error) => {
  const doc = errorDocument(error);
  return call("POST", route, JSON.stringify(doc), doc.errorType);
};

// --- loading the handler

const require = createRequire(import.meta.url);

function isTypeModule(folder) {
  // The nearest package.json decides whether .js files are ES modules (none above node_modules counts).
  for (let dir = folder; ; dir = path.dirname(dir)) {
    if (dir.endsWith(`${path.sep}node_modules`)) return false;
    const file = path.join(dir, "package.json");
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}

async function loadModule(root, moduleRoot, name) {
  const base = path.resolve(root, moduleRoot, name);
  if (existsSync(base)) return require(base);
  const esm = isTypeModule(path.dirname(base));
  if (!esm && existsSync(`${base}.js`)) return require(`${base}.js`);
  if (esm && existsSync(`${base}.js`)) return import(pathToFileURL(`${base}.js`).href);
  if (existsSync(`${base}.mjs`)) return import(pathToFileURL(`${base}.mjs`).href);
  if (existsSync(`${base}.cjs`)) return require(`${base}.cjs`);
  return require(require.resolve(name, { paths: [root, path.resolve(root, moduleRoot)] }));
}

async function loadHandler() {
  const spec = env._HANDLER || "";
  const root = env.LAMBDA_TASK_ROOT || process.cwd();
  if (spec.includes("..")) {
    throw new RuntimeError("MalformedHandlerName", `'${spec}' is not a valid handler name. Use absolute paths when `
      + "specifying root directories in handler names.");
  }
  const file = path.basename(spec);
  const moduleRoot = spec.slice(0, spec.length - file.length);
  const match = /^([^.]*)\.(.*)$/.exec(file);
  if (!match) throw new RuntimeError("MalformedHandlerName", "Bad handler");
  let loaded;
  try {
    loaded = await loadModule(root, moduleRoot, match[1]);
  } catch (error) {
    if (error instanceof SyntaxError) throw new RuntimeError("UserCodeSyntaxError", String(error));
    if (error && (error.code === "MODULE_NOT_FOUND" || error.code === "ERR_MODULE_NOT_FOUND")) {
      throw new RuntimeError("ImportModuleError", String(error));
    }
    throw error;
  }
  const handler = match[2].split(".").reduce((object, key) => object && object[key], loaded);
  if (!handler) throw new RuntimeError("HandlerNotFound", `${spec} is undefined or not exported`);
  if (typeof handler !== "function") throw new RuntimeError("HandlerNotFound", `${spec} is not a function`);
  return handler;
}

// --- invocations

function context(headers, settle) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  const parse = (value) => (value ? JSON.parse(value) : undefined);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers["lambda-runtime-aws-request-id"],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: parse(headers["lambda-runtime-cognito-identity"]),
    clientContext: parse(headers["lambda-runtime-client-context"]),
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    // the legacy completion methods
    succeed: (result) => settle(null, result),
    fail: (error) => settle(error ?? "handled"),
    done: (error, result) => settle(error, result),
  };
}

function run(handler, event, headers) {
  // The handler's outcome: what its promise settles to, else what it passes to the callback.
  return new Promise((resolve) => {
    let done = false;
    const emptied = () => settle(null, null); // nothing left to do and no result: the result is null
    const settle = (error, result) => {
      if (done) return;
      done = true;
      process.removeListener("beforeExit", emptied);
      resolve(error !== undefined && error !== null ? { error } : { result });
    };
    process.on("beforeExit", emptied);
    try {
      const returned = handler(event, context(headers, settle), settle);
      if (returned && typeof returned.then === "function") {
        returned.then((r) => settle(null, r), (e) => settle(e ?? "handled"));
      }
    } catch (error) {
      settle(error);
    }
  });
}

let current; // the invocation in progress: an uncaught error fails it

async function main() {
  let handler;
  try {
    handler = await loadHandler();
  } catch (error) {
    logError("Uncaught Exception", error);
    await postError("/init/error", error);
    process.exit(1);
  }
  for (;;) {
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) process.exit(1); // the environment is unusable
    const id = next.headers["lambda-runtime-aws-request-id"];
    requestId = current = id;
    const trace = next.headers["lambda-runtime-trace-id"];
    if (trace) env._X_AMZN_TRACE_ID = trace;
    else delete env._X_AMZN_TRACE_ID;
    const outcome = await run(handler, JSON.parse(next.body.toString("utf8")), next.headers);
    let body;
    if (!("error" in outcome)) {
      try {
        body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
      } catch (error) {
        outcome.error = error;
      }
    }
    current = undefined;
    if ("error" in outcome) {
      logError("Invoke Error", outcome.error);
      await postError(`/invocation/${id}/error`, outcome.error);
    } else {
      await call("POST", `/invocation/${id}/response`, body ?? "null");
    }
  }
}

async function crash(error, label) {
  logError(label, error);
  try {
    await postError(current ? `/invocation/${current}/error` : "/init/error", error);
  } finally {
    process.exit(128);
  }
}

process.on("uncaughtException", (error) => crash(error, "Uncaught Exception"));
process.on("unhandledRejection", (reason) => {
  const error = new RuntimeError("UnhandledPromiseRejection", String(reason?.stack ? `${reason.name}: ${reason.message}` : reason));
  crash(error, "Unhandled Promise Rejection");
});

main().catch(() => process.exit(1)); // the gateway went away (or answered nonsense): so does the environment
