/** Reads volumes back with the reference tools (`age`, `zstd`, `gzip`, `tar`), as a user would. */

/** Runs a shell pipeline; throws with its stderr when it fails. */
export async function sh(script: string, env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!out.success) {
    throw new Error(`${script} failed (${out.code}): ${decoder.decode(out.stderr)}`);
  }
  return decoder.decode(out.stdout);
}

/** Extracts one volume into `dest` with `age -d | zstd -d | tar -x` (stages by file name). */
export async function extractWithReferenceTools(
  volume: string,
  dest: string,
  identityFile?: string,
): Promise<void> {
  const stages = [`cat '${volume}'`];
  if (volume.endsWith(".age")) stages.push(`age -d -i '${identityFile}'`);
  if (/\.zst(\.age)?$/.test(volume)) stages.push("zstd -d -q");
  if (/\.gz(\.age)?$/.test(volume)) stages.push("gzip -dc");
  stages.push(`tar -x -p -f - -C '${dest}'`);
  await sh(stages.join(" | "));
}
