/** Shared set-up of the catalog-command tests: sandboxes, real backups, a moto bucket. */
import { join } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import { createS3Storage } from "../../lib/storage/s3.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { createBucket, type MotoServer, startMoto, testAwsEnv } from "../../testing/moto.ts";
import { type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { backupToSandbox, makeSandbox, type Sandbox } from "../../testing/sandbox.ts";

export type { Sandbox } from "../../testing/sandbox.ts";

/** Makes a sandbox. */
export function sandbox(): Promise<Sandbox> {
  return makeSandbox("glacier-manage-");
}

/** Runs `glacier backup` of `box.src` to the folder bucket; returns the state database. */
export async function backupToFolder(box: Sandbox, ...extra: string[]): Promise<string> {
  return checkedStateDb(await backupToSandbox(box, ...extra));
}

/** The state database of a backup that must have succeeded. */
export function checkedStateDb(result: CliResult): string {
  if (result.code !== 0) throw new Error(`backup failed (${result.code}): ${result.stderr}`);
  return stateDbFrom(result);
}

/** Reads something from a catalog and closes it. */
export function readCatalog<T>(stateDb: string, read: (catalog: Catalog) => T): T {
  const catalog = Catalog.open(stateDb);
  try {
    return read(catalog);
  } finally {
    catalog.close();
  }
}

/** A moto server with one bucket, a client for it, and the environment for `runCli`. */
export interface MotoBucket {
  moto: MotoServer;
  bucket: string;
  storage: Storage;
  env: Record<string, string>;
  box: Sandbox;
  /** `glacier backup` of `box.src` into the bucket, returning the state database. */
  backup(...extra: string[]): Promise<string>;
}

let bucketCounter = 0;

/** Runs `fn` with a fresh moto server and bucket, then stops the server and removes the sandbox. */
export async function withMotoBucket(fn: (ctx: MotoBucket) => Promise<void>): Promise<void> {
  const moto = await startMoto();
  const box = await sandbox();
  const bucket = `manage-test-${Date.now()}-${bucketCounter++}`;
  const env = {
    ...testAwsEnv(moto.endpoint),
    AWS_CONFIG_FILE: join(box.root, "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(box.root, "no-aws-credentials"),
  };
  const storage = createS3Storage({
    bucket,
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  try {
    await createBucket(moto.endpoint, bucket);
    await fn({
      moto,
      bucket,
      storage,
      env,
      box,
      backup: async (...extra) =>
        checkedStateDb(
          await runCli([
            "backup",
            "--src-dirs",
            box.src,
            "--bucket",
            bucket,
            "--state-dir",
            box.state,
            ...extra,
          ], { env }),
        ),
    });
  } finally {
    await moto.stop();
    await box.cleanup();
  }
}

/** Settings of a catalog made directly in a test (no backup run). */
export function syntheticSettings(overrides: Partial<BackupSettings> = {}): BackupSettings {
  return {
    backupId: "20250101_000000",
    sourceDirs: ["/data"],
    bucket: "file:///nonexistent",
    prefix: "",
    workDir: "/tmp",
    workDirIsTemporary: true,
    baseName: "output.tar",
    volumeSize: 1024 ** 3,
    compression: "zstd",
    encrypt: true,
    storageClass: "DEEP_ARCHIVE",
    uploadWorkers: 2,
    excludes: [],
    ...overrides,
  };
}

/** Every line of `text` that is not empty. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}
