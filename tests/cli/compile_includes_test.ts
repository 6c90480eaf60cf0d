import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Every module that lib/ starts as a worker, as a path from the repository's root. */
function workerModules(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = Deno.readTextFileSync(path);
        for (const match of text.matchAll(/new Worker\(\s*new URL\("\.\/([\w.]+\.ts)"/g)) {
          found.push(relative(ROOT, join(dir, match[1])).replaceAll("\\", "/"));
        }
      }
    }
  };
  walk(join(ROOT, "lib"));
  return found.sort();
}

Deno.test("every compile task embeds every worker module the program starts", () => {
  const workers = workerModules();
  assert.deepEqual(workers, [
    "lib/archive/compress_worker.ts",
    "lib/archive/pack_worker.ts",
    "lib/archive/scan_worker.ts",
    "lib/archive/volume_decode_worker.ts",
    "lib/archive/volume_writer_worker.ts",
    "lib/catalog/check_worker.ts",
    "lib/restore/place_worker.ts",
  ]);
  const tasks = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))).tasks as Record<
    string,
    string
  >;
  const compiles = Object.entries(tasks).filter(([name, command]) =>
    name.startsWith("compile:") && command.includes("deno compile")
  );
  assert.equal(compiles.length, 5);
  for (const [name, command] of compiles) {
    for (const worker of workers) {
      assert.ok(command.includes(`--include ${worker}`), `${name} does not include ${worker}`);
    }
  }
});
