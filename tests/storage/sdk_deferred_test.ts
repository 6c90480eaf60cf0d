/**
 * The AWS SDK (~10 MiB of peak memory and ~0.05 s at every start) is evaluated only when an S3
 * bucket is first used: the program imports it only as types or with `import defer`, whose module
 * is evaluated at the first use of its namespace. One plain import anywhere would evaluate it in
 * every run, `file:` buckets and `--help` included.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Each import of an `@aws-sdk/` package in the program's sources: file and statement. */
function sdkImports(): { file: string; statement: string }[] {
  const found: { file: string; statement: string }[] = [];
  const walk = (path: string) => {
    const info = Deno.statSync(path);
    if (info.isDirectory) {
      for (const entry of Deno.readDirSync(path)) walk(join(path, entry.name));
      return;
    }
    if (!path.endsWith(".ts")) return;
    const text = Deno.readTextFileSync(path);
    for (const match of text.matchAll(/^import\b[^;]*?from\s+"@aws-sdk\/[^"]+";/gms)) {
      found.push({ file: relative(ROOT, path), statement: match[0].replace(/\s+/g, " ") });
    }
  };
  for (const part of ["main.ts", "commands", "lib"]) walk(join(ROOT, part));
  return found;
}

Deno.test("the program imports the AWS SDK only as types or deferred", () => {
  const imports = sdkImports();
  assert.ok(imports.some((i) => i.statement.startsWith("import defer * as")), "the S3 store's");
  for (const { file, statement } of imports) {
    assert.match(statement, /^import (type|defer \* as \w+ from)\b/, `${file}: ${statement}`);
  }
});
