/**
 * The backup progress line on a real terminal (a tmux pane): never wider than the pane, redrawn in
 * place without leaving stale pieces of earlier lines, and gone when the run ends.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { glacierCommand } from "../../testing/run_cli.ts";
import { makeSandbox, sandboxBackupArgs } from "../../testing/sandbox.ts";
import { needs, where } from "../../testing/platform.ts";

/** A progress bar header, `[###---] 42%`. */
const BAR = /\[[#-]+\] \d+%/g;

/** Marks the end of the run in the pane (with its exit code). */
const DONE = "__glacier_exit__";

/** Runs tmux against the test's own server. */
async function tmux(socket: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("tmux", { args: ["-L", socket, ...args], stderr: "piped" })
    .output();
  if (!output.success) {
    throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs `glacier ARGS...` in a `columns`-wide tmux pane, stdout to /dev/null (as to a report
 * file); returns the screens captured while a progress line was shown (wrapped lines joined, so
 * a too-long line shows as one) and the final screen.
 */
async function glacierInPane(
  args: string[],
  columns: number,
): Promise<{ live: string[]; final: string }> {
  const socket = `glacier-test-${Deno.pid}-${columns}-${args[0]}`;
  const command = glacierCommand(args).map(shellQuote).join(" ");
  await tmux(
    socket,
    "-f",
    "/dev/null",
    "new-session",
    "-d",
    "-x",
    String(columns),
    "-y",
    "50",
    `NO_COLOR=1 ${command} >/dev/null; echo ${DONE} $?; sleep 600`,
  );
  try {
    const live: string[] = [];
    const deadline = Date.now() + 120_000;
    for (;;) {
      const screen = await tmux(socket, "capture-pane", "-p", "-J");
      if (screen.includes(DONE)) return { live, final: screen };
      if (screen.match(BAR)) live.push(screen);
      if (Date.now() > deadline) throw new Error(`backup did not finish:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await tmux(socket, "kill-server").catch(() => {});
  }
}

/** Several MiB of incompressible files, so that the run lasts a few progress refreshes. */
async function fillSource(src: string): Promise<void> {
  for (let i = 0; i < 24; i++) {
    const bytes = new Uint8Array(2 * 1024 * 1024);
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      crypto.getRandomValues(bytes.subarray(offset, offset + 65536));
    }
    await Deno.writeFile(join(src, `file-${i}.bin`), bytes);
  }
}

/** Asserts what a run in a `columns`-wide pane showed: fitted progress, nothing stale after. */
function assertCleanProgress(run: { live: string[]; final: string }, columns: number): void {
  const { live, final } = run;
  assert.match(final, new RegExp(`${DONE} 0\\n`), final);
  assert.ok(live.length > 0, "no progress line was ever shown");
  for (const screen of [...live, final]) {
    // Log lines may wrap; the progress line (joined here if it wrapped) may not.
    for (const line of screen.split("\n").filter((l) => l.match(BAR))) {
      assert.ok(line.length <= columns, `${line.length} > ${columns}: ${line}`);
      assert.equal(line.match(BAR)!.length, 1, `stale progress in: ${line}`);
    }
    // One progress line at most, redrawn in place.
    assert.ok((screen.match(BAR) ?? []).length <= 1, screen);
  }
  assert.doesNotMatch(final, BAR, "the progress line is cleared at the end");
}

for (const columns of [80, 200]) {
  Deno.test(where(needs("tmux"), {
    name: `backup and restore progress in a ${columns}-column terminal fit and leave nothing stale`,
    fn: async () => {
      const box = await makeSandbox();
      try {
        await fillSource(box.src);
        const backup = await glacierInPane(
          sandboxBackupArgs(box, ["--volume-size", "1MiB"]),
          columns,
        );
        console.log(`--- backup, ${columns} columns, during the run ---\n${backup.live.at(-1)}`);
        console.log(`--- backup, ${columns} columns, at the end ---\n${backup.final}`);
        assertCleanProgress(backup, columns);
        assert.match(backup.final, /uploaded 000024_/);

        const [stateDb] = [...Deno.readDirSync(box.state)].filter((e) =>
          e.name.endsWith(".sqlite3")
        );
        const dest = join(box.root, "restored");
        const restore = await glacierInPane(
          [
            "restore",
            join(box.state, stateDb.name),
            "--to",
            dest,
            "--yes",
            "--num-download-workers",
            "1",
          ],
          columns,
        );
        console.log(`--- restore, ${columns} columns, during the run ---\n${restore.live.at(-1)}`);
        console.log(`--- restore, ${columns} columns, at the end ---\n${restore.final}`);
        assertCleanProgress(restore, columns);
        // The closing report goes to stdout (a file here); the log lines stay on the screen.
        assert.match(restore.final, /restored 0000\d\d_backup\.tar\.zst\.age: /);
      } finally {
        await box.cleanup();
      }
    },
  }));
}
