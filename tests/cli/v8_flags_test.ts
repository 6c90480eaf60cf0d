/**
 * Every way glacier is started takes the V8 flags of lib/cli/v8_flags.ts: the peak RSS budget of
 * a backup and a restore (issue 11) is measured with them, so a start without them is over it.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { V8_FLAGS, V8_FLAGS_OPTION } from "../../lib/cli/v8_flags.ts";
import { glacierCommand } from "../../testing/run_cli.ts";

const CHECKOUT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("deno.json's glacier, bench and compile tasks pass the V8 flags", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${CHECKOUT}deno.json`));
  const tasks = config.tasks as Record<string, string>;
  const starts = Object.entries(tasks).filter(([name, command]) =>
    name === "glacier" || name === "bench" || /^deno compile /.test(command)
  );
  assert.ok(starts.length >= 7, `glacier, bench and five compile targets: ${starts.length}`);
  for (const [name, command] of starts) {
    assert.ok(command.split(" ").includes(V8_FLAGS_OPTION), `task ${name}: ${command}`);
  }
});

Deno.test("the tests' and the bench's command line passes the V8 flags before the module", () => {
  const command = glacierCommand(["--version"], ["--cached-only"]);
  const main = command.findIndex((arg) => arg.endsWith("main.ts"));
  assert.ok(command.indexOf(V8_FLAGS_OPTION) > 0 && command.indexOf(V8_FLAGS_OPTION) < main);
  assert.ok(command.indexOf("--cached-only") < main);
  assert.deepEqual(command.slice(main + 1), ["--version"]);
});

Deno.test("the flags are ones this Deno's V8 knows", async () => {
  // Deno refuses to start with a flag V8 does not know ("V8 did not recognize flag").
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", V8_FLAGS_OPTION, "0"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(V8_FLAGS_OPTION, `--v8-flags=${V8_FLAGS}`);
});
