/**
 * A throw-away S3 bucket for one test, the moto twin of `makeSandbox`: a running moto server (the
 * sandbox's own, or one the test file shares), a fresh bucket on it, a client for that bucket, a
 * source folder, a state folder, and the environment that points `glacier` at it all.
 */
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { createS3Storage } from "../lib/storage/s3.ts";
import type { MultipartStorage } from "../lib/storage/storage.ts";
import { createBucket, type MotoServer, startMoto, testAwsEnv } from "./moto.ts";
import { type CliResult, runCli } from "./run_cli.ts";

/** `src/` exists; `state/` is made by the first backup; `cleanup` removes it all. */
export interface MotoSandbox {
  moto: MotoServer;
  /** The bucket's name; it exists unless the sandbox was made with `createBucket: false`. */
  bucket: string;
  /** A client on the bucket (not through the program under test), for checks and direct calls. */
  storage: MultipartStorage;
  /** Environment for `runCli`: moto's endpoint, test credentials, and no AWS config files. */
  env: Record<string, string>;
  root: string;
  src: string;
  state: string;
  /** Creates the bucket (for a sandbox made without it). */
  createBucket(): Promise<void>;
  /** Removes the folders, and stops moto if the sandbox started it. */
  cleanup(): Promise<void>;
}

/** How to make a moto sandbox. */
export interface MotoSandboxOptions {
  /** A server to use (and leave running); by default the sandbox starts its own. */
  moto?: MotoServer;
  /** Leave the bucket uncreated (to test a missing bucket). */
  createBucket?: boolean;
  /** Create the bucket with S3 Object Lock enabled. */
  objectLock?: boolean;
  /** Start of the temporary folder's and the bucket's names. */
  prefix?: string;
}

let bucketCounter = 0;

/** Makes a moto sandbox under the system temp folder. */
export async function makeMotoSandbox(options: MotoSandboxOptions = {}): Promise<MotoSandbox> {
  const prefix = options.prefix ?? "glacier-s3-test";
  const moto = options.moto ?? await startMoto();
  const root = await Deno.makeTempDir({ prefix: `${prefix}-` });
  const bucket = `${prefix}-${Date.now()}-${bucketCounter++}`.toLowerCase();
  const box: MotoSandbox = {
    moto,
    bucket,
    storage: testStorage(moto.endpoint, bucket),
    env: {
      ...testAwsEnv(moto.endpoint),
      AWS_CONFIG_FILE: join(root, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
    },
    root,
    src: join(root, "src"),
    state: join(root, "state"),
    createBucket: () => createBucket(moto.endpoint, bucket, { objectLock: options.objectLock }),
    cleanup: async () => {
      if (!options.moto) await moto.stop();
      await Deno.remove(root, { recursive: true });
    },
  };
  try {
    await Deno.mkdir(box.src);
    if (options.createBucket ?? true) await box.createBucket();
  } catch (error) {
    await box.cleanup();
    throw error;
  }
  return box;
}

/** Runs `glacier backup` of the sandbox's source to its bucket, with `extra` arguments. */
export function backupToMotoSandbox(box: MotoSandbox, ...extra: string[]): Promise<CliResult> {
  return runCli([
    "backup",
    "--src-dirs",
    box.src,
    "--bucket",
    box.bucket,
    "--state-dir",
    box.state,
    ...extra,
  ], { env: box.env });
}

/** moto's test credentials. */
const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

/** A client on `bucket` of the S3 server at `endpoint`, with moto's test credentials. */
export function testStorage(endpoint: string, bucket: string): MultipartStorage {
  return createS3Storage({ bucket, endpoint, region: "us-east-1", credentials: TEST_CREDENTIALS });
}

/**
 * A plain AWS SDK client of the S3 server at `endpoint`, with moto's test credentials: for
 * checking what the server stored (encryption, retention) without the program's own code.
 */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: TEST_CREDENTIALS,
  });
}
