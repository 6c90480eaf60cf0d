/**
 * Shared helpers of the restore tests: a request-recording proxy for moto, moto's restore delay,
 * a command run that can be interrupted once it has printed a given line, and a folder-bucket
 * fixture with backup and restore runners.
 */
import { type CliResult, glacierCommand, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { makeTree } from "../../testing/tree.ts";
import { join } from "node:path";
import assert from "node:assert/strict";

/** One request that went through the proxy. */
export interface ProxiedRequest {
  method: string;
  /** Object key (the path after the bucket), "" for bucket-level requests. */
  key: string;
  /** The query string, without `?`. */
  query: string;
  /** The `<Tier>` of a RestoreObject request. */
  tier?: string;
}

/** A recording HTTP proxy in front of an S3 server. */
export interface RecordingProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  /** RestoreObject requests, by key. */
  restoreRequests(): string[];
  /** GetObject requests, by key. */
  gets(): string[];
  /**
   * From now on, answers RestoreObject requests of this tier with S3's `503
   * GlacierExpeditedRetrievalNotAvailable` (AWS out of capacity) instead of passing them on.
   */
  refuseTier(tier: string | undefined): void;
  stop(): Promise<void>;
}

/**
 * Starts a proxy on a free loopback port that forwards every request to `target` unchanged and
 * records it, so that a test sees exactly which S3 calls a command made.
 */
export function startRecordingProxy(target: string, bucket: string): RecordingProxy {
  const requests: ProxiedRequest[] = [];
  let refusedTier: string | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const path = decodeURIComponent(url.pathname);
    const key = path.startsWith(`/${bucket}/`) ? path.slice(bucket.length + 2) : "";
    const headers = new Headers(req.headers);
    headers.delete("host");
    const body = req.method === "GET" || req.method === "HEAD"
      ? undefined
      : new Uint8Array(await req.arrayBuffer());
    const tier = /<Tier>(\w+)<\/Tier>/.exec(new TextDecoder().decode(body ?? new Uint8Array()))
      ?.[1];
    requests.push({ method: req.method, key, query: url.search.replace(/^\?/, ""), tier });
    if (tier !== undefined && tier === refusedTier) {
      return new Response(
        "<Error><Code>GlacierExpeditedRetrievalNotAvailable</Code><Message>Glacier expedited " +
          "retrievals are currently not available, please try again later</Message></Error>",
        { status: 503, headers: { "content-type": "application/xml" } },
      );
    }
    const response = await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body,
      redirect: "manual",
    });
    return new Response(req.method === "HEAD" ? null : response.body, {
      status: response.status,
      headers: response.headers,
    });
  });
  const port = server.addr.port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    restoreRequests: () =>
      requests.filter((r) => r.method === "POST" && /(^|&)restore(=|&|$)/.test(r.query))
        .map((r) => r.key),
    gets: () => requests.filter((r) => r.method === "GET" && r.key !== "").map((r) => r.key),
    refuseTier: (tier) => {
      refusedTier = tier;
    },
    stop: () => server.shutdown(),
  };
}

/**
 * Makes moto's restores take `times` status checks each (its state manager, model
 * `s3::keyrestore`, manual progression): a thawed object then reports `ongoing-request="true"`
 * for `times` HeadObject calls after the first, then is restored.
 */
export async function delayMotoRestores(endpoint: string, times: number): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
    method: "POST",
    body: JSON.stringify({
      model_name: "s3::keyrestore",
      transition: { progression: "manual", times },
    }),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`set-transition failed: ${response.status}`);
}

/** Throws if a command's output holds an age secret key. */
export function assertNoSecrets(output: string): void {
  if (/AGE-SECRET-KEY-1/.test(output)) throw new Error("an age secret key was printed");
}

/**
 * Runs `glacier ARGS`, sends it SIGINT as soon as its stderr matches `trigger`, and resolves to
 * its exit code and whole stderr (the signal is never sent if the line does not come).
 */
export async function runCliUntil(
  args: string[],
  env: Record<string, string>,
  trigger: RegExp,
): Promise<{ code: number; stderr: string; interrupted: boolean }> {
  const [program, ...programArgs] = glacierCommand(args);
  const child = new Deno.Command(program, {
    args: programArgs,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  let interrupted = false;
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    stderr += decoder.decode(chunk, { stream: true });
    if (!interrupted && trigger.test(stderr)) {
      interrupted = true;
      child.kill("SIGINT");
    }
  }
  const status = await child.status;
  return { code: status.code, stderr, interrupted };
}

/** A source tree, a `file://` bucket, and backup/restore runners that use them. */
export interface FolderBucketCtx {
  root: string;
  src: string;
  bucketDir: string;
  backup: (...extra: string[]) => Promise<string>;
  restore: (args: string[]) => Promise<CliResult>;
}

/** Runs `fn` with a fresh source tree (several 1 MiB volumes' worth) and folder bucket. */
export async function withFolderBucket(fn: (ctx: FolderBucketCtx) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "glacier-restore-test-" });
  const src = join(root, "src");
  const bucketDir = join(root, "bucket");
  const env = {
    AWS_CONFIG_FILE: join(root, "none"),
    AWS_SHARED_CREDENTIALS_FILE: join(root, "none"),
  };
  try {
    await Deno.mkdir(src);
    await Deno.mkdir(bucketDir);
    await makeTree(src, { bigFiles: [700_000, 700_000], smallFiles: 30 });
    await fn({
      root,
      src,
      bucketDir,
      backup: async (...extra) => {
        const result = await runCli([
          "backup",
          "--src-dirs",
          src,
          "--bucket",
          `file://${bucketDir}`,
          "--volume-size",
          "1MiB",
          "--state-dir",
          join(root, "state"),
          ...extra,
        ], { env });
        assert.equal(result.code, 0, result.stderr);
        return stateDbFrom(result);
      },
      restore: async (args) => {
        const result = await runCli(["restore", ...args], { env });
        assertNoSecrets(result.stdout + result.stderr);
        return result;
      },
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
