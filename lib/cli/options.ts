/** Options and validation of command-line values shared by several commands. */
import { Command } from "commander";
import { parseSize } from "../archive/units.ts";
import { UsageError } from "../archive/errors.ts";
import type { Compression } from "../catalog/settings.ts";
import { normalizePrefix, prefixProblem } from "../archive/layout.ts";
import { isStorageClass, STORAGE_CLASSES } from "../storage/storage_class.ts";
import { asBucket, type ConnectionSettings } from "../storage/open.ts";

/** Smallest and largest accepted `--volume-size`. */
export const MIN_VOLUME_SIZE = 1024 * 1024;
export const MAX_VOLUME_SIZE = 5 * 1024 ** 4;

/** Parses `--volume-size`: 64MiB, 2GiB, ...; between 1 MiB and 5 TiB (S3's object limit). */
export function volumeSizeOption(text: string): number {
  const size = parseSize(text);
  if (size === undefined) {
    throw new UsageError(`--volume-size: "${text}" is not a size (examples: 64MiB, 1GiB, 2G)`);
  }
  if (size < MIN_VOLUME_SIZE || size > MAX_VOLUME_SIZE) {
    throw new UsageError(`--volume-size must be between 1 MiB and 5 TiB, got "${text}"`);
  }
  return size;
}

/** Parses `--compression`: zstd, gzip (or gz), none. */
export function compressionOption(text: string): Compression {
  const value = text.toLowerCase();
  if (value === "zstd" || value === "none") return value;
  if (value === "gzip" || value === "gz") return "gzip";
  throw new UsageError(`--compression must be zstd, gzip, gz or none, got "${text}"`);
}

/** Parses `--storage-class`, case-insensitively. */
export function storageClassOption(text: string): string {
  const value = text.toUpperCase().replaceAll("-", "_");
  if (!isStorageClass(value)) {
    throw new UsageError(
      `--storage-class "${text}" is not a storage class (one of ${STORAGE_CLASSES.join(", ")})`,
    );
  }
  return value;
}

/** Parses a positive integer option such as `--num-upload-workers`. */
export function countOption(name: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new UsageError(`${name} must be a whole number from 1 to ${max}, got "${text}"`);
  }
  return value;
}

/** Normalizes `--prefix`: no leading or trailing slashes, no empty or `..` segments. */
export function prefixOption(text: string): string {
  const problem = prefixProblem(text);
  if (problem) throw new UsageError(`--prefix "${text}" ${problem}`);
  return normalizePrefix(text);
}

/**
 * Declares the bucket and connection options (`--bucket`, `--endpoint`, `--region`, `--profile`)
 * on `command`, the one place they are written. Without `stored`, the command names a bucket of
 * its own (`backup`, `list`) and `--bucket` is required. With `stored`, the command works on an
 * existing backup: each option overrides the value stored in its state database, and `--bucket`
 * (described by `stored.bucket`) is offered only when the command can use another bucket.
 */
export function withConnectionOptions(command: Command, stored?: { bucket?: string }): Command {
  if (!stored) {
    return command
      .requiredOption("--bucket <bucket>", "S3 bucket name, s3://name, or file:///folder", asBucket)
      .option("--endpoint <url>", "S3 endpoint URL (MinIO, moto, ...)")
      .option("--region <region>", "AWS region")
      .option("--profile <name>", "AWS profile");
  }
  if (stored.bucket) command.option("--bucket <bucket>", stored.bucket, asBucket);
  return command
    .option("--endpoint <url>", "S3 endpoint URL (overrides the one stored)")
    .option("--region <region>", "AWS region (overrides the one stored)")
    .option("--profile <name>", "AWS profile (overrides the one stored)");
}

/** The connection settings `withConnectionOptions` declares, from commander's parsed values. */
export function connectionSettings(raw: Record<string, unknown>): ConnectionSettings {
  return {
    endpoint: raw.endpoint as string | undefined,
    region: raw.region as string | undefined,
    profile: raw.profile as string | undefined,
  };
}

/**
 * A command on one existing backup, `glacier NAME STATEDB ...`: the state database is its first
 * argument, described the same way everywhere.
 */
export function stateDbCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .argument("<STATEDB>", "state database of the backup");
}
/**
 * Commander's collector for an option given once per value (`--exclude A --exclude B`). An option
 * declared `<value...>` instead would take every following word, the positional arguments too.
 */
export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Days a thawed copy is kept, by default: what `restore` asks for and `estimate` prices. */
export const DEFAULT_THAW_DAYS = "7";
