/**
 * The backup session (lib/backup/session.ts) driven directly, without a terminal: it reports
 * through any `Reporter` and returns an outcome, also for the user's first and second interrupt
 * (the second one used to end the process from inside the session).
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { runBackupSession } from "../../lib/backup/session.ts";
import { BackupProgress } from "../../lib/backup/progress.ts";
import { createLocalStorage } from "../../lib/storage/local.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import { makeSandbox, type Sandbox } from "../../testing/sandbox.ts";
import { makeTree } from "../../testing/tree.ts";
import { recordingReporter } from "../../testing/recording_reporter.ts";
import { syntheticSettings } from "../manage/helpers.ts";

/** A new catalog backing the sandbox's source up, unencrypted, to its folder bucket. */
function newCatalog(box: Sandbox): Catalog {
  return Catalog.create(
    join(box.root, "state.sqlite3"),
    syntheticSettings({
      sourceDirs: [box.src],
      bucket: `file://${box.bucket}`,
      workDir: join(box.root, "work"),
      workDirIsTemporary: false,
      encrypt: false,
    }),
    { recipients: [] },
  );
}

/** The folder bucket at `root`, with another access check (the first request of a session). */
function storageWithAccessCheck(root: string, checkAccess: () => Promise<void>): Storage {
  const inner = createLocalStorage(root);
  return new Proxy(inner, {
    get(target, name) {
      if (name === "checkAccess") return checkAccess;
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("a backup session to a folder bucket ends done, with its summary", async () => {
  const box = await makeSandbox("glacier-session-");
  const catalog = await makeTree(box.src, { smallFiles: 5 }).then(() => newCatalog(box));
  try {
    const log = recordingReporter();
    const outcome = await runBackupSession({
      catalog,
      storage: createLocalStorage(box.bucket),
      log,
      progress: new BackupProgress(),
      signal: new AbortController().signal,
    });
    assert.equal(outcome, "done", log.lines.join("\n"));
    assert.ok(log.lines.some((l) => /^info: backup \S+ complete: /.test(l)), log.lines.join("\n"));
    assert.equal(catalog.phase(), "done");
  } finally {
    catalog.close();
    await box.cleanup();
  }
});

Deno.test("a first interrupt stops a session cleanly: failed, resumable", async () => {
  const box = await makeSandbox("glacier-session-");
  const catalog = newCatalog(box);
  try {
    const log = recordingReporter();
    const interrupt = new AbortController();
    interrupt.abort(new DOMException("interrupted", "AbortError"));
    const outcome = await runBackupSession({
      catalog,
      storage: storageWithAccessCheck(box.bucket, () => Promise.reject(interrupt.signal.reason)),
      log,
      progress: new BackupProgress(),
      signal: interrupt.signal,
    });
    assert.equal(outcome, "failed");
    assert.ok(
      log.lines.includes(
        `error: backup stopped before it finished; resume with: glacier resume ${
          resolve(catalog.path)
        }`,
      ),
      log.lines.join("\n"),
    );
  } finally {
    catalog.close();
    await box.cleanup();
  }
});

Deno.test("a second interrupt ends a session at once as the outcome 'abandoned'", async () => {
  const box = await makeSandbox("glacier-session-");
  const catalog = newCatalog(box);
  try {
    const log = recordingReporter();
    const interrupt = new AbortController();
    let insist = () => {};
    const stopNow = new Promise<void>((resolve) => insist = resolve);
    const running = runBackupSession({
      catalog,
      // The access check never answers: only the second interrupt can end the session.
      storage: storageWithAccessCheck(box.bucket, () => new Promise<void>(() => {})),
      log,
      progress: new BackupProgress(),
      signal: interrupt.signal,
      stopNow,
    });
    interrupt.abort(new DOMException("interrupted", "AbortError"));
    assert.deepEqual(log.lines, ["warn: interrupted: stopping (Ctrl-C again to stop at once)"]);
    insist();
    assert.equal(await running, "abandoned");
    assert.equal(
      log.lines.at(-1),
      `error: stopped; resume with: glacier resume ${resolve(catalog.path)}`,
    );
  } finally {
    catalog.close();
    await box.cleanup();
  }
});
