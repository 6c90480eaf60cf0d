/** `deno task install` and `glacier --version`: what a new user runs first (README "Install"). */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { runCli } from "../../testing/run_cli.ts";
import { VERSION } from "../../main.ts";
import { V8_FLAGS_OPTION } from "../../lib/cli/v8_flags.ts";
import { skipOnWindows, where } from "../../testing/platform.ts";

const CHECKOUT = fileURLToPath(new URL("../../", import.meta.url));

Deno.test("glacier --version prints the program version and the Deno version", async () => {
  const result = await runCli(["--version"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), `glacier ${VERSION} (Deno ${Deno.version.deno})`);
  const config = JSON.parse(await Deno.readTextFile(`${CHECKOUT}deno.json`));
  assert.equal(VERSION, config.version, "main.ts and deno.json name one version");
});

Deno.test(where(skipOnWindows("deno task install writes a POSIX shell command"), {
  name: "deno task install puts a glacier command that runs with deno.lock's versions",
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const install = await new Deno.Command(Deno.execPath(), {
        args: ["task", "install"],
        cwd: CHECKOUT,
        env: { DENO_INSTALL_ROOT: root, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const decoder = new TextDecoder();
      assert.equal(install.code, 0, decoder.decode(install.stderr));
      const launcher = await Deno.readTextFile(`${root}/bin/glacier`);
      assert.match(launcher, / --frozen /, "the launcher refuses versions the lock does not pin");
      assert.ok(launcher.includes(` ${V8_FLAGS_OPTION} `), "the launcher passes the V8 flags");
      // The launcher calls `deno` by name, as a user's shell would find it.
      const denoFolder = Deno.execPath().replace(/\/[^/]*$/, "");
      const run = await new Deno.Command(`${root}/bin/glacier`, {
        args: ["--version"],
        env: { PATH: `${denoFolder}:${Deno.env.get("PATH") ?? ""}`, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(run.code, 0, decoder.decode(run.stderr));
      assert.match(decoder.decode(run.stdout), new RegExp(`^glacier ${VERSION} \\(Deno `));
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
}));
