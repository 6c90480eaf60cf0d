/**
 * What this machine can do, for tests that need more than Deno: Linux programs (`age`, `zstd`,
 * `tar`, `bash`), symbolic links, POSIX modes. A test that cannot run here is not failed and not
 * passed: it is registered as ignored, with the reason in its name, so that `deno test` lists it as
 * `NAME [skipped here: REASON] ... ignored` and `testing/windows/run.ts` can group the reasons.
 *
 *     Deno.test(where(needs("age", "zstd"), "age decrypts what glacier wrote", async () => {...}));
 *
 * Each helper answers a `Skip`: undefined when the test can run here, else why not.
 */

/** True under Windows (a real one or Wine). */
export const onWindows = Deno.build.os === "windows";

/** True under Wine, whose loader sets WINELOADER in every process it starts. */
export const underWine = onWindows && env("WINELOADER") !== undefined;

/** Why a test cannot run here, or undefined when it can. */
export type Skip = string | undefined;

/** The text that marks a skipped test's name; `testing/windows/run.ts` looks for it. */
export const SKIP_MARK = "skipped here: ";

const runnable = new Map<string, boolean>();

/** True when `program` can be started here (it is started once, with `--version`, and cached). */
export function canRun(program: string): boolean {
  let known = runnable.get(program);
  if (known === undefined) {
    try {
      new Deno.Command(program, {
        args: ["--version"],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      })
        .outputSync();
      known = true;
    } catch {
      known = false;
    }
    runnable.set(program, known);
  }
  return known;
}

/** Skips unless every one of `programs` can be started here. */
export function needs(...programs: string[]): Skip {
  const missing = programs.filter((program) => !canRun(program));
  if (missing.length === 0) return undefined;
  const where = onWindows ? "Windows Deno cannot start it here" : "not installed";
  return `needs ${missing.join(", ")} (${where})`;
}

/** Skips on Windows, saying why the test means nothing there. */
export function skipOnWindows(reason: string): Skip {
  return onWindows ? `not on Windows: ${reason}` : undefined;
}

/** Skips when `condition` holds, with `reason`. */
export function skipIf(condition: boolean, reason: string): Skip {
  return condition ? reason : undefined;
}

let symlinkSupport: Skip | null = null;

/**
 * Skips where symbolic links cannot be made: under Wine (which has none), and on a Windows that
 * refuses them (no Developer Mode, no administrator right).
 */
export function needsSymlinks(): Skip {
  if (!onWindows) return undefined;
  if (underWine) return "Wine has no real symbolic links";
  if (symlinkSupport === null) {
    const folder = Deno.makeTempDirSync({ prefix: "glacier-symlink-probe-" });
    try {
      Deno.symlinkSync("target", `${folder}\\link`, { type: "file" });
      symlinkSupport = undefined;
    } catch (error) {
      symlinkSupport = `this Windows refuses symbolic links (Developer Mode or administrator ` +
        `right needed): ${error instanceof Error ? error.message : error}`;
    } finally {
      Deno.removeSync(folder, { recursive: true });
    }
  }
  return symlinkSupport;
}

/** Skips on Windows, whose files have no POSIX modes (Deno reports 0666, or 0444 read-only). */
export function needsPosixModes(): Skip {
  return onWindows ? "Windows has no POSIX modes (Deno reports 0666 or 0444)" : undefined;
}

/**
 * Skips on Windows a test that fails there because of a known defect of the program, named by
 * `description` (and an issue); never for a limit of Windows or Wine, which the others name.
 */
export function windowsDefect(description: string): Skip {
  return onWindows ? `known Windows defect: ${description}` : undefined;
}

/** A test's definition as `Deno.test` and `t.step` take it. */
interface Definition {
  name: string;
  ignore?: boolean;
}

/**
 * `definition`, ignored when any of `skips` applies here, the reasons then added to its name.
 * Also takes a name and a function, for the short form of `Deno.test`.
 */
export function where<T extends Definition>(skips: Skip | Skip[], definition: T): T;
export function where(
  skips: Skip | Skip[],
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): Deno.TestDefinition;
export function where(
  skips: Skip | Skip[],
  definition: Definition | string,
  fn?: (t: Deno.TestContext) => void | Promise<void>,
): Definition {
  const test = typeof definition === "string" ? { name: definition, fn } : definition;
  const reasons = (Array.isArray(skips) ? skips : [skips]).filter((skip) => skip !== undefined);
  if (reasons.length === 0) return test;
  return { ...test, name: `${test.name} [${SKIP_MARK}${reasons.join("; ")}]`, ignore: true };
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}
