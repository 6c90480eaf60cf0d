/**
 * A throw-away moto S3 server for tests and benchmarks: `startMoto()` runs `moto_server` on a free
 * loopback port and waits until it answers HTTP; `stop()` ends it. moto keeps everything in memory,
 * so each server starts empty.
 */

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

/** Starts `moto_server` on a free loopback port; retries with another port if the first is taken. */
export async function startMoto(options: MotoOptions = {}): Promise<MotoServer> {
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

/** Creates a bucket on a moto server with a plain PUT (moto does not check signatures). */
export async function createBucket(endpoint: string, name: string): Promise<void> {
  const response = await fetch(`${endpoint}/${encodeURIComponent(name)}`, { method: "PUT" });
  const body = await response.text();
  if (!response.ok) {
    throw new Error(`cannot create bucket ${name} on ${endpoint}: ${response.status} ${body}`);
  }
}
