import assert from "node:assert/strict";
import { postedError, revivedError } from "../../lib/archive/worker_errors.ts";
import { AgeError, NoMatchingIdentityError } from "../../lib/crypto/errors.ts";
import { ZstdFrameError } from "../../lib/archive/zstd_frames.ts";

/** What a worker's error becomes once posted (structured-cloned) and revived here. */
function across(error: unknown): Error {
  return revivedError(structuredClone(postedError(error)));
}

Deno.test("an error from a worker comes back as the same kind, message and code", () => {
  const cases: [Error, new (...args: never[]) => Error][] = [
    [new AgeError("bad header"), AgeError],
    [new NoMatchingIdentityError("no identity matches"), NoMatchingIdentityError],
    [new ZstdFrameError("frame cut short"), ZstdFrameError],
    [new Deno.errors.NotFound("no such file: /x"), Deno.errors.NotFound],
    [new Deno.errors.PermissionDenied("denied: /y"), Deno.errors.PermissionDenied],
  ];
  for (const [original, kind] of cases) {
    const revived = across(original);
    assert.ok(revived instanceof kind, `${original.name} revived as ${revived.name}`);
    assert.equal(revived.name, original.name);
    assert.equal(revived.message, original.message);
  }
  assert.ok(across(new NoMatchingIdentityError("x")) instanceof AgeError);
  const coded = Object.assign(new Error("disk full"), { code: "ENOSPC" });
  assert.equal((across(coded) as Error & { code?: string }).code, "ENOSPC");
});

Deno.test("an unknown or odd error name gives a plain Error that keeps the name", () => {
  for (const name of ["RangeError", "SomethingElse", "constructor", "toString", "__proto__"]) {
    const revived = revivedError({ name, message: "m" });
    assert.equal(Object.getPrototypeOf(revived), Error.prototype, name);
    assert.equal(revived.name, name);
    assert.equal(revived.message, "m");
  }
  const thrownString = across("just a string");
  assert.deepEqual([thrownString.name, thrownString.message], ["Error", "just a string"]);
  assert.deepEqual([across(undefined).name, across(undefined).message], ["Error", "undefined"]);
});
