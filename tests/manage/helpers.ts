/** Shared set-up of the catalog-command tests: sandboxes, real backups, a moto bucket. */
import { Catalog } from "../../lib/catalog/catalog.ts";
import type { BackupSettings } from "../../lib/catalog/settings.ts";
import {
  backupToMotoSandbox,
  makeMotoSandbox,
  type MotoSandbox,
  type MotoSandboxOptions,
} from "../../testing/moto_sandbox.ts";
import { type CliResult, stateDbFrom } from "../../testing/run_cli.ts";
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

/** A moto sandbox (as `box` too, for the tests' `box.src`) and a checked backup into it. */
export interface MotoBucket extends MotoSandbox {
  box: MotoSandbox;
  /** `glacier backup` of `box.src` into the bucket, returning the state database. */
  backup(...extra: string[]): Promise<string>;
}

/**
 * Runs `fn` with a fresh moto server and bucket (made with `options`, e.g. Object Lock), then
 * stops the server and removes the sandbox.
 */
export async function withMotoBucket(
  fn: (ctx: MotoBucket) => Promise<void>,
  options: Omit<MotoSandboxOptions, "prefix" | "moto"> = {},
): Promise<void> {
  const box = await makeMotoSandbox({ prefix: "glacier-manage", ...options });
  try {
    await fn({
      ...box,
      box,
      backup: async (...extra) => checkedStateDb(await backupToMotoSandbox(box, ...extra)),
    });
  } finally {
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
