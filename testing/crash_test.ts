/**
 * `deno task test:crash`: the full crash test, 50 trials of SIGKILL at random moments followed by
 * resumes, ending with a summary table. Options: `--trials N`, `--seed S` (replays the kill
 * schedule of an earlier run), `--volume-size SIZE` (default 2MiB: many volumes of one part each;
 * 48MiB makes a volume of three parts, whose interrupted uploads are resumed part by part).
 * Exits 1 if any trial lost data or left the bucket untidy.
 */
import { parseArgs } from "node:util";
import { describeTrial, runCrashTest, summaryTable } from "./crash_harness.ts";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      trials: { type: "string", default: "50" },
      seed: { type: "string" },
      "volume-size": { type: "string" },
    },
  });
  const trials = Number(values.trials);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (!Number.isInteger(trials) || trials < 1 || (seed !== undefined && !Number.isInteger(seed))) {
    console.error("usage: deno task test:crash [--trials N] [--seed S] [--volume-size SIZE]");
    Deno.exit(2);
  }
  const summary = await runCrashTest({
    trials,
    seed,
    volumeSize: values["volume-size"],
    log: (line) => console.log(line),
  });
  console.log(summaryTable(summary));
  const failed = summary.results.filter((r) => r.problems.length > 0);
  for (const r of failed) console.log(describeTrial(r));
  Deno.exit(failed.length === 0 ? 0 : 1);
}
