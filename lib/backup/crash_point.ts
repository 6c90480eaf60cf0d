/**
 * Named points where tests can make the program die as if by `kill -9`, to prove that a resume
 * from any of them loses nothing. Set `GLACIER_TEST_CRASH_AT=<name>` (or `<name>:<n>` for the
 * n-th time the point is reached). Without that variable a crash point does nothing.
 */

const wanted = readSetting();
let reached = 0;

/** Points the backup pipeline passes. */
export type CrashPointName =
  | "after-scan-batch"
  | "mid-volume-build"
  | "after-volume-built"
  | "after-part-uploaded"
  | "after-volume-uploaded";

/**
 * What a crash point writes on stderr on Windows before it kills the process: there a killed
 * process shows no signal, only an exit code, so the tests tell the kill by this line.
 */
export const CRASH_POINT_LINE = "glacier: killed at crash point";

/** Kills the process with SIGKILL when `name` is the configured crash point. */
export function crashPoint(name: CrashPointName): void {
  if (!wanted || wanted.name !== name) return;
  reached++;
  if (reached !== wanted.count) return;
  if (Deno.build.os === "windows") {
    Deno.stderr.writeSync(new TextEncoder().encode(`${CRASH_POINT_LINE} ${name}\n`));
  }
  Deno.kill(Deno.pid, "SIGKILL");
}

function readSetting(): { name: string; count: number } | undefined {
  let value: string | undefined;
  try {
    value = Deno.env.get("GLACIER_TEST_CRASH_AT");
  } catch {
    return undefined;
  }
  if (!value) return undefined;
  const [name, count] = value.split(":");
  return { name, count: count ? Number(count) : 1 };
}
