/**
 * Names Windows cannot hold, or would change: a restore skips such an entry and lists it (the
 * rest of its volume is restored) rather than write it under another name or fail the volume.
 * On Linux and macOS every name a TAR entry may have is writable.
 */

/** Characters no Windows file name may contain (control characters included). */
// deno-lint-ignore no-control-regex
const FORBIDDEN_CHARACTERS = /[\\:*?"<>|\x00-\x1f]/;
/** Device names Windows keeps for itself, with or without an extension (`NUL`, `con.txt`). */
const RESERVED_NAME = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\.|$)/i;

/**
 * Why the name `segment` cannot be written as it is on `os`, or undefined when it can. Windows
 * refuses `\`, `:`, `* ? " < > |` and control characters, and device names such as `CON` and
 * `NUL`; it silently drops a trailing dot or space (`name.` would come back as `name`).
 */
export function unwritableNameReason(
  segment: string,
  os: typeof Deno.build.os = Deno.build.os,
): string | undefined {
  if (os !== "windows") return undefined;
  const character = FORBIDDEN_CHARACTERS.exec(segment);
  if (character) {
    return `Windows does not allow ${JSON.stringify(character[0])} in a name`;
  }
  if (RESERVED_NAME.test(segment)) {
    return `${JSON.stringify(segment)} is a device name on Windows`;
  }
  if (/[. ]$/.test(segment)) {
    const what = segment.endsWith(".") ? "dot" : "space";
    return `Windows would drop the trailing ${what} of ${JSON.stringify(segment)}`;
  }
  return undefined;
}

/**
 * Why the entry path `segments` (checked names, see `entrySegments`) cannot be restored on `os`,
 * naming the first name at fault; undefined when every name can be written.
 */
export function unwritablePathReason(
  segments: readonly string[],
  os: typeof Deno.build.os = Deno.build.os,
): string | undefined {
  for (const segment of segments) {
    const reason = unwritableNameReason(segment, os);
    if (reason !== undefined) return `cannot be restored here: ${reason}`;
  }
  return undefined;
}
