/**
 * A throw-away moto S3 server for tests and benchmarks: `startMoto()` runs `moto_server` on a free
 * loopback port and waits until it answers HTTP; `stop()` ends it. moto keeps everything in memory,
 * so each server starts empty. Where `GLACIER_TEST_MOTO_LAUNCHER` names a moto launcher
 * (testing/moto_launcher.ts: Windows Deno under Wine, which cannot start the Linux `moto_server`),
 * the launcher starts and stops it instead.
 */

import http from "node:http";
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";

/** A running moto server. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly endpoint: string;
  readonly port: number;
  /** Kills the server and waits for it to exit; safe to call twice. */
  stop(): Promise<void>;
}

/** How to start moto. */
export interface MotoOptions {
  /** Make moto check credentials (its IAM auth mode) so that unknown keys are refused. */
  checkCredentials?: boolean;
}

/** How long `startMoto` waits for the server to answer before giving up. */
const START_TIMEOUT_MS = 20_000;
/** How much of the server's output is kept for error messages. */
const LOG_TAIL_BYTES = 4096;

/**
 * Starts a moto server on a free loopback port: through the moto launcher when
 * `GLACIER_TEST_MOTO_LAUNCHER` names one, else as a child process (`spawnMoto`).
 */
export function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
  const launcher = launcherUrl();
  return launcher ? startThroughLauncher(launcher, options) : spawnMoto(options);
}

/** Runs `moto_server` as a child process; retries with another port if the first is taken. */
export async function spawnMoto(options: MotoOptions = {}): Promise<MotoServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(freeLoopbackPort(), options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** The environment variable that names a moto launcher (testing/moto_launcher.ts) to `startMoto`. */
export const MOTO_LAUNCHER_ENV = "GLACIER_TEST_MOTO_LAUNCHER";

/** The moto launcher's URL, if one is set. */
function launcherUrl(): string | undefined {
  try {
    return Deno.env.get(MOTO_LAUNCHER_ENV) || undefined;
  } catch {
    return undefined;
  }
}

/** Asks the moto launcher at `launcher` for a server, and to stop it on `stop()`. */
async function startThroughLauncher(launcher: string, options: MotoOptions): Promise<MotoServer> {
  const response = await fetch(`${launcher}/start`, {
    method: "POST",
    body: JSON.stringify({ checkCredentials: options.checkCredentials === true }),
  });
  if (!response.ok) {
    throw new Error(`the moto launcher at ${launcher} failed: ${await response.text()}`);
  }
  const { id, port } = await response.json() as { id: number; port: number };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      const answer = await fetch(`${launcher}/stop?id=${id}`, { method: "POST" });
      await answer.body?.cancel();
    })();
  return { endpoint: `http://127.0.0.1:${port}`, port, stop };
}

/** Asks the OS for an unused TCP port on 127.0.0.1 (it may be taken again before we use it). */
function freeLoopbackPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function startOnce(port: number, options: MotoOptions): Promise<MotoServer> {
  const child = new Deno.Command("moto_server", {
    args: ["-H", "127.0.0.1", "-p", String(port)],
    env: options.checkCredentials ? { INITIAL_NO_AUTH_ACTION_COUNT: "0" } : {},
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = collectTail(child.stderr);
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // already gone
        }
      }
      await status;
      await log.done;
    })();

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (true) {
    if (exited) {
      await stop();
      throw new Error(
        `moto_server exited (code ${(await status).code}) before answering: ${log.text().trim()}`,
      );
    }
    if (await answers(endpoint)) return { endpoint, port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True when something at `endpoint` answers an HTTP request (any status). */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** Drains a stream, keeping only its last few KiB as text. */
function collectTail(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  let tail = new Uint8Array(0);
  const done = (async () => {
    for await (const chunk of stream) {
      const joined = new Uint8Array(tail.length + chunk.length);
      joined.set(tail);
      joined.set(chunk, tail.length);
      tail = joined.slice(Math.max(0, joined.length - LOG_TAIL_BYTES));
    }
  })().catch(() => {});
  return { text: () => new TextDecoder().decode(tail), done };
}

/** Environment values that point the AWS SDK at a test server with dummy credentials. */
export function testAwsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_S3: endpoint,
  };
}

/**
 * Creates a bucket on a moto server with a plain PUT (moto does not check signatures);
 * `objectLock`: with S3 Object Lock enabled (which also turns versioning on).
 */
export async function createBucket(
  endpoint: string,
  name: string,
  options: { objectLock?: boolean } = {},
): Promise<void> {
  const response = await fetch(`${endpoint}/${encodeURIComponent(name)}`, {
    method: "PUT",
    headers: options.objectLock ? { "x-amz-bucket-object-lock-enabled": "true" } : {},
  });
  const body = await response.text();
  if (!response.ok) {
    throw new Error(`cannot create bucket ${name} on ${endpoint}: ${response.status} ${body}`);
  }
}

/** An IAM access key, as `createIamUser` returns it. */
export interface IamAccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Creates the IAM user `name` on a moto server, with each of `policies` (IAM policy documents) as
 * an inline policy, and returns an access key of it. Call it before `enforceIam`: until then moto
 * checks nothing, so the IAM requests need no signature (only a header naming the service).
 */
export async function createIamUser(
  endpoint: string,
  name: string,
  policies: unknown[],
): Promise<IamAccessKey> {
  await iamRequest(endpoint, { Action: "CreateUser", UserName: name });
  for (const [index, policy] of policies.entries()) {
    await iamRequest(endpoint, {
      Action: "PutUserPolicy",
      UserName: name,
      PolicyName: `policy-${index + 1}`,
      PolicyDocument: JSON.stringify(policy),
    });
  }
  const answer = await iamRequest(endpoint, { Action: "CreateAccessKey", UserName: name });
  const field = (tag: string) => {
    const value = new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(answer)?.[1];
    if (!value) throw new Error(`moto sent no ${tag}: ${answer}`);
    return value;
  };
  return { accessKeyId: field("AccessKeyId"), secretAccessKey: field("SecretAccessKey") };
}

/**
 * From now on the moto server checks each request's signature and allows it only if the IAM
 * policies of its access key do (moto's `INITIAL_NO_AUTH_ACTION_COUNT`, reset to 0 at run time).
 * moto maps each S3 request to the IAM action AWS asks for, except HeadBucket (`s3:HeadBucket`
 * where AWS asks for `s3:ListBucket`), which glacier does not send.
 */
export async function enforceIam(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset-auth`, { method: "POST", body: "0" });
  const body = await response.text();
  if (!response.ok) throw new Error(`moto refused to enforce IAM: ${response.status} ${body}`);
}

async function iamRequest(endpoint: string, params: Record<string, string>): Promise<string> {
  const response = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      // moto routes by the service named in the credential scope; it checks no signature yet.
      authorization: "AWS4-HMAC-SHA256 Credential=setup/20240101/us-east-1/iam/aws4_request, " +
        "SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({ ...params, Version: "2010-05-08" }),
  });
  const body = await response.text();
  if (!response.ok) {
    throw new Error(`moto IAM ${params.Action} failed: ${response.status} ${body}`);
  }
  return body;
}

/** A running `startSlashProxy`. */
export interface SlashProxy {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * A proxy in front of a moto server that enforces IAM. moto checks a request's signature against
 * the query string as werkzeug hands it over, with `%2F` already decoded to `/`, so it refuses
 * every request with a "/" in a query value (`prefix=ID%2F`; getmoto/moto#5948). For those, the
 * proxy signs the request again as moto will check it, with the same access key (whose secret
 * it is given); everything else goes through byte for byte, Host header included.
 */
export function startSlashProxy(target: string, keys: IamAccessKey[]): Promise<SlashProxy> {
  const upstream = new URL(target);
  const secrets = new Map(keys.map((key) => [key.accessKeyId, key.secretAccessKey]));
  const server = http.createServer((request, response) => {
    const path = request.url ?? "/";
    const headers = { ...request.headers };
    if (/\?.*%2F/i.test(path)) {
      const authorization = signAsMotoChecks(request.method ?? "GET", path, headers, secrets);
      if (authorization) headers.authorization = authorization;
    }
    const forward = http.request({
      hostname: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path,
      headers,
    }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forward.on("error", () => response.destroy());
    request.pipe(forward);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        stop: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** The SigV4 Authorization header of a request, computed over the query with "/" decoded. */
function signAsMotoChecks(
  method: string,
  path: string,
  headers: http.IncomingHttpHeaders,
  secrets: Map<string, string>,
): string | undefined {
  const auth = /Credential=([^/]+)\/([^,]+), ?SignedHeaders=([^,]+), ?Signature=/.exec(
    String(headers.authorization ?? ""),
  );
  const secret = auth && secrets.get(auth[1]);
  if (!auth || !secret) return undefined;
  const [, keyId, scope, signedHeaders] = auth;
  const [date, region, service] = scope.split("/");
  const [pathname, query = ""] = path.split(/\?(.*)/s);
  const canonicalQuery = query.replace(/%2F/gi, "/").split("&")
    .map((pair) => pair.includes("=") ? pair : `${pair}=`).sort().join("&");
  const canonicalHeaders = signedHeaders.split(";")
    .map((name) => `${name}:${String(headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalRequest = [
    method,
    pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    String(headers["x-amz-content-sha256"] ?? ""),
  ].join("\n");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    String(headers["x-amz-date"]),
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex"),
  ].join("\n");
  let signingKey: Buffer = Buffer.from(`AWS4${secret}`);
  for (const part of [date, region, service, "aws4_request"]) {
    signingKey = createHmac("sha256", signingKey).update(part).digest();
  }
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${keyId}/${scope}, SignedHeaders=${signedHeaders}, ` +
    `Signature=${signature}`;
}
