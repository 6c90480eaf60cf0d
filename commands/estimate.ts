/** `glacier estimate STATEDB`: what keeping a backup costs a month, and what restoring it costs. */
import type { ObjectLockSettings } from "../lib/catalog/settings.ts";
import { objectLockLine } from "../lib/backup/object_lock.ts";
import type { Command } from "commander";
import { Catalog } from "../lib/catalog/catalog.ts";
import { ExitCode } from "../lib/cli/exit.ts";
import { formatBytes } from "../lib/archive/units.ts";
import { countOption, DEFAULT_THAW_DAYS, repeatable, stateDbCommand } from "../lib/cli/options.ts";
import { type BackupEstimate, estimateBackup } from "../lib/pricing/backup_estimate.ts";
import { loadPrices } from "../lib/pricing/price_file.ts";
import { formatDollars } from "../lib/pricing/money.ts";
import { formatTable } from "../lib/cli/table.ts";
import { isFolderBucket } from "../lib/backup/open_storage.ts";
import { plural } from "../lib/manage/show_format.ts";

/** Parsed `glacier estimate` options. */
export interface EstimateCommandOptions {
  stateDb: string;
  include: string[];
  pricesFile?: string;
  days: number;
  json: boolean;
}

/** The `estimate` command. */
export function estimateCommand(setExitCode: (code: number) => void): Command {
  return stateDbCommand(
    "estimate",
    "estimate what keeping a backup costs a month, and what restoring it costs",
  )
    .option(
      "--include <pattern>",
      "price restoring only the volumes holding this path or glob (repeatable)",
      repeatable,
    )
    .option("--prices <file>", "JSON file overriding prices (default: $GLACIER_PRICES_FILE)")
    .option("--days <n>", "days a restored copy is kept", DEFAULT_THAW_DAYS)
    .option("--json", "print machine-readable JSON")
    .action(async (stateDb: string, raw: Record<string, unknown>) => {
      setExitCode(
        await estimate({
          stateDb,
          include: (raw.include as string[] | undefined) ?? [],
          pricesFile: raw.prices as string | undefined,
          days: countOption("--days", raw.days as string, 36500),
          json: raw.json === true,
        }),
      );
    });
}

/** Prints the estimate of one backup; returns the exit code. */
export async function estimate(options: EstimateCommandOptions): Promise<number> {
  const prices = await loadPrices(options.pricesFile);
  const catalog = Catalog.open(options.stateDb, { readOnly: true });
  let result: BackupEstimate;
  let lock: ObjectLockSettings | undefined;
  try {
    lock = catalog.settings().objectLock;
    result = estimateBackup(catalog, {
      include: options.include,
      days: options.days,
      prices,
      folderBucket: isFolderBucket(catalog.settings().bucket),
    });
  } finally {
    catalog.close();
  }
  const text = options.json
    ? JSON.stringify(result, null, 2)
    : estimateLines(result, prices.transferOutPerGb, lock).join("\n");
  await Deno.stdout.write(new TextEncoder().encode(text + "\n"));
  return ExitCode.Ok;
}

/** The human-readable report of an estimate (`lock`: the backup's Object Lock, if it has one). */
export function estimateLines(
  estimate: BackupEstimate,
  transferOutPerGb: number,
  lock?: ObjectLockSettings,
): string[] {
  const lines = [
    `backup ${estimate.backupId}: ${plural(estimate.volumes, "volume")}, ` +
    formatBytes(estimate.bytes),
    `prices: ${estimate.prices.source} (override with --prices FILE)` +
    (estimate.folderBucket ? "; the bucket is a folder, so AWS charges nothing" : ""),
    "",
    ...formatTable([
      ["keeping it", "volumes", "size", "per month", "per year"],
      ...estimate.storage.map((s) => [
        s.storageClass,
        String(s.volumes),
        formatBytes(s.bytes),
        formatDollars(s.perMonth),
        formatDollars(s.perYear),
      ]),
    ], [1, 2, 3, 4]),
  ];
  for (const s of estimate.storage.filter((s) => s.minimumDays > 0)) {
    lines.push(
      `${s.storageClass} is billed for at least ${s.minimumDays} days: deleting a volume sooner ` +
        "costs the days left",
    );
  }
  if (lock) lines.push(objectLockLine(lock));
  const restore = estimate.restore;
  lines.push("");
  const what = restore.include.length === 0
    ? "restoring everything"
    : `restoring what matches ${restore.include.join(", ")}`;
  if (restore.volumes === 0) {
    lines.push(`${what}: no file matches, nothing to restore`);
    return lines;
  }
  lines.push(
    `${what}: ${plural(restore.entries, "entry", "entries")} (${
      formatBytes(restore.fileBytes)
    }) in ` +
      `${restore.volumes} of ${plural(estimate.volumes, "volume")} (${formatBytes(restore.bytes)})`,
    ...formatTable([
      ["class", "tier", "wait", "retrieval", "requests", "transfer", "thawed copy", "total"],
      ...restore.options.map((o) => [
        o.storageClass,
        o.tier ?? "-",
        o.wait,
        formatDollars(o.retrieval),
        formatDollars(o.requests),
        formatDollars(o.transfer),
        formatDollars(o.temporaryCopy),
        formatDollars(o.total),
      ]),
    ], [3, 4, 5, 6, 7]),
    estimate.folderBucket
      ? "the volumes are read from the folder as they are: no thaw, no transfer out"
      : `transfer: downloading to the internet at ${formatDollars(transferOutPerGb)} per GB; ` +
        `thawed copies are kept ${plural(restore.days, "day")} (--days) at the STANDARD rate`,
  );
  return lines;
}
