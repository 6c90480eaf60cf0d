/**
 * Files only their owner may read: the state database (it holds the backup's key), an exported
 * key, and what glacier writes into a `file://` bucket. On Linux and macOS mode 0600 does it. On
 * Windows modes do nothing: the file is limited to the current user with an ACL (`icacls FILE
 * /inheritance:r /grant:r USER:F`); when that cannot be done, the caller is told, so that it can
 * say honestly that the file is readable by whoever can read its folder.
 */

/** What a program run gave. */
export interface ProgramOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (a seam for the tests). */
export type RunProgram = (program: string, args: string[]) => ProgramOutput;

/**
 * Limits `path` to the current user on `os` (a new file, before anything secret is written in
 * it, ideally). Returns undefined when done (on Linux and macOS the file's mode 0600 already does
 * it), else why it could not be done.
 */
export function restrictToOwner(
  path: string,
  os: typeof Deno.build.os = Deno.build.os,
  run: RunProgram = runProgram,
  user: string | undefined = Deno.env.get("USERNAME"),
): string | undefined {
  if (os !== "windows") return undefined;
  if (!user) return "USERNAME is not set";
  if (run === runProgram && icaclsUseless !== undefined) return icaclsUseless;
  const reason = setOwnerOnlyAcl(path, run, user);
  // An icacls that is missing or changes nothing will not do better for the next file.
  if (run === runProgram && reason !== undefined && !reason.startsWith("icacls failed")) {
    icaclsUseless = reason;
  }
  return reason;
}

/** Why icacls cannot limit any file in this process (missing, or does nothing), once known. */
let icaclsUseless: string | undefined;

function setOwnerOnlyAcl(path: string, run: RunProgram, user: string): string | undefined {
  try {
    const { code, stderr } = run("icacls", [path, "/inheritance:r", "/grant:r", `${user}:F`]);
    if (code !== 0) {
      return `icacls failed (exit ${code}${stderr.trim() ? `: ${firstLine(stderr)}` : ""})`;
    }
    // Read the ACL back: an icacls that does nothing (Wine's) must not pass for one that works.
    const shown = run("icacls", [path]).stdout;
    const grant = new RegExp(String.raw`(^|[\\\s])${escapeRegExp(user)}:\(F\)`, "im");
    return grant.test(shown) ? undefined : "its access list does not show the change";
  } catch (error) {
    return error instanceof Deno.errors.NotFound
      ? "icacls is not available"
      : `icacls could not run: ${firstLine(String(error))}`;
  }
}

/** The note a command prints when `restrictToOwner` gave `reason` for `what` (e.g. a path). */
export function readableByFolderNote(what: string, reason: string): string {
  return `note: ${what} is readable by whoever can read its folder: glacier could not limit it ` +
    `to your user (${reason}); keep it in a folder only you can read`;
}

function runProgram(program: string, args: string[]): ProgramOutput {
  const output = new Deno.Command(program, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function firstLine(text: string): string {
  return text.trim().split(/\r?\n/)[0];
}
