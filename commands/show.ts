/** `glacier show STATEDB`: lists what a backup holds, or sums it by folder. */
import type { Command } from "commander";
import { Catalog } from "../lib/catalog/catalog.ts";
import { ExitCode } from "../lib/cli/exit.ts";
import { countOption, stateDbCommand } from "../lib/cli/options.ts";
import { LineWriter } from "../lib/manage/line_writer.ts";
import { showBackup } from "../lib/manage/show.ts";

/** Parsed `glacier show` options. */
export interface ShowCommandOptions {
  stateDb: string;
  /** Sum by folder, N levels of the archive paths deep. */
  collate?: number;
  json: boolean;
}

/** Deepest `--collate` accepted. */
const MAX_COLLATE_DEPTH = 1000;

/** The `show` command. */
export function showCommand(setExitCode: (code: number) => void): Command {
  return stateDbCommand("show", "list what a backup holds: every entry, or sums by folder")
    .option("--collate <n>", "sum files and bytes by folder, keeping the first N path levels")
    .option("--json", "print one JSON array instead of text")
    .action(async (stateDb: string, raw: { collate?: string; json?: boolean }) => {
      setExitCode(
        await show({
          stateDb,
          collate: raw.collate === undefined
            ? undefined
            : countOption("--collate", raw.collate, MAX_COLLATE_DEPTH),
          json: raw.json ?? false,
        }),
      );
    });
}

/** Prints the listing of `options.stateDb` on stdout; returns the exit code. */
export async function show(options: ShowCommandOptions): Promise<number> {
  const catalog = Catalog.open(options.stateDb, { readOnly: true });
  try {
    await showBackup(catalog, options, new LineWriter(Deno.stdout));
    return ExitCode.Ok;
  } finally {
    catalog.close();
  }
}
