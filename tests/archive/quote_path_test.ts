/** quotePath: plain names unchanged; others quoted so that a shell gives the exact name back. */
import assert from "node:assert/strict";
import { quotePath } from "../../lib/archive/quote_path.ts";
import { needs, where } from "../../testing/platform.ts";

Deno.test("quotePath leaves plain names alone, spaces, quotes and accents included", () => {
  for (const name of ["home/me/a.txt", "with space", "it's", "café/日本語", "-rf *"]) {
    assert.equal(quotePath(name), name);
  }
});

Deno.test("quotePath escapes newlines and terminal escapes as ls --quoting-style=shell-escape", () => {
  assert.equal(quotePath("a\nb"), `'a'$'\\n''b'`);
  assert.equal(quotePath("\x1b[31mred"), `$'\\033''[31mred'`);
  assert.equal(quotePath("it's\r"), `'it'\\''s'$'\\r'`);
  assert.equal(quotePath("\u202egnp.exe"), `$'\\u202E''gnp.exe'`);
  assert.equal(quotePath("bad\ufffdname"), `'bad'$'\\uFFFD''name'`);
});

Deno.test(where(needs("bash"), "a shell turns every quoted name back into the name", async () => {
  const names = ["a\nb", "\x1b[31mred\x1b[0m", "it's\tx\x07", "\x7f\x01'\n'", "x\u0085\u2028y"];
  for (const name of names) {
    const quoted = quotePath(name);
    // deno-lint-ignore no-control-regex -- the test looks for control characters
    assert.doesNotMatch(quoted, /[\x00-\x1f\x7f]/, "nothing unprintable is left");
    const output = await new Deno.Command("bash", { args: ["-c", `printf %s ${quoted}`] })
      .output();
    assert.equal(new TextDecoder().decode(output.stdout), name);
  }
}));
