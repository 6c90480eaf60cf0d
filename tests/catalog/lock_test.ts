/**
 * One writer per state database: a second writing run stops at once (exit 2) and names the
 * process that holds the lock; reading commands are never blocked; a holder killed with SIGKILL
 * leaves nothing that blocks the next run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Catalog, CatalogError } from "../../lib/catalog/catalog.ts";
import { lockPath, readHolder, StateDbLock } from "../../lib/catalog/lock.ts";
import { testAwsEnv } from "../../testing/moto.ts";
import { assertKilled, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { spawnCli } from "../../testing/spawn_cli.ts";
import { backupToSandbox, makeSandbox } from "../../testing/sandbox.ts";
import { syntheticSettings } from "../manage/helpers.ts";

/** An S3 endpoint that accepts connections and never answers: a run using it hangs. */
function blackHole(): { endpoint: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${listener.addr.port}`,
    close() {
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch {
          // already closed by the client
        }
      }
    },
  };
}

/** Waits until the lock file of `stateDb` names process `pid`. */
async function waitForHolder(stateDb: string, pid: number): Promise<void> {
  for (const started = Date.now(); Date.now() - started < 30_000;) {
    if (readHolder(lockPath(stateDb))?.pid === pid) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`process ${pid} never took the lock of ${stateDb}`);
}

Deno.test("a second writer stops at once naming the holder; a killed holder blocks nothing", async () => {
  const box = await makeSandbox("glacier-lock-");
  const hole = blackHole();
  try {
    await Deno.writeTextFile(join(box.src, "a.txt"), "hello\n");
    const backup = await backupToSandbox(box);
    assert.equal(backup.code, 0, backup.stderr);
    const stateDb = stateDbFrom(backup);

    // A real restore that hangs on an S3 endpoint that never answers, holding the lock.
    const holder = spawnCli(
      [
        "restore",
        stateDb,
        "--to",
        join(box.root, "restored"),
        "--bucket",
        "hanging-bucket",
        "--endpoint",
        hole.endpoint,
      ],
      { env: testAwsEnv(hole.endpoint) },
    );
    try {
      await waitForHolder(stateDb, holder.child.pid);
      const writers = [
        ["resume", stateDb],
        ["sync", stateDb],
        ["restore", stateDb, "--to", join(box.root, "other")],
        ["decrypt", stateDb, box.bucket],
        ["delete", stateDb, "--files", "a.txt", "--yes"],
      ];
      for (const args of writers) {
        const started = Date.now();
        const second = await runCli(args);
        assert.equal(second.code, 2, `${args[0]}: ${second.stderr}`);
        assert.match(
          second.stderr,
          new RegExp(
            `^error: state database .* is in use by glacier process ` +
              `${holder.child.pid} \\("glacier restore `,
            "m",
          ),
          `${args[0]}: ${second.stderr}`,
        );
        assert.equal(second.stderr.trim().split("\n").length, 1, second.stderr);
        assert.ok(Date.now() - started < 15_000, `${args[0]} must stop at once`);
      }
      // Commands that only read are not held up.
      for (
        const args of [
          ["show", stateDb],
          ["key", "export", stateDb],
          ["estimate", stateDb],
          ["verify", stateDb],
          ["restore", stateDb, "--to", join(box.root, "dry"), "--dry-run"],
        ]
      ) {
        const reader = await runCli(args);
        assert.equal(reader.code, 0, `${args.join(" ")}: ${reader.stderr}`);
      }
    } finally {
      holder.kill();
    }
    assertKilled(await holder.result, "holder", true);
    // The killed holder's note is still in the lock file, but the lock went with the process.
    assert.equal(readHolder(lockPath(stateDb))?.pid, holder.child.pid);
    const next = await runCli(["resume", stateDb]);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /already complete/);
    assert.equal(await Deno.readTextFile(lockPath(stateDb)), "", "released lock left a note");
  } finally {
    hole.close();
    await box.cleanup();
  }
});

Deno.test("a new catalog is locked from its creation until it is closed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "glacier-lock-" });
  try {
    const path = join(dir, "state.sqlite3");
    const catalog = Catalog.create(path, syntheticSettings(), { recipients: [] });
    // flock conflicts between two open files even within one process.
    assert.throws(() => StateDbLock.acquire(path), /in use by glacier process \d+/);
    assert.throws(() => Catalog.open(path), CatalogError);
    assert.equal(readHolder(lockPath(path))?.pid, Deno.pid);
    // A second create of the same path fails on the lock, before touching anything.
    assert.throws(
      () => Catalog.create(path, syntheticSettings(), { recipients: [] }),
      /in use by glacier process/,
    );
    catalog.close();
    const reopened = Catalog.open(path);
    assert.throws(() => Catalog.create(path, syntheticSettings(), { recipients: [] }), /in use/);
    reopened.close();
    assert.throws(
      () => Catalog.create(path, syntheticSettings(), { recipients: [] }),
      /cannot create state database .*exists/,
    );
    // The failed create released the lock it had taken.
    Catalog.open(path).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a lock released while another thread starts a program is taken again", async () => {
  // A started child holds a copy of every open file until its exec; with it, a copy of a lock
  // that has just been released. Without the retry, about one try in five failed here.
  const dir = await Deno.makeTempDir({ prefix: "glacier-lock-" });
  const spawner = new Worker(
    URL.createObjectURL(
      new Blob([
        `self.onmessage = async (event) => {
          let started = 0;
          for (const end = Date.now() + event.data; Date.now() < end; started++) {
            await new Deno.Command(Deno.execPath(), { args: ["--version"] }).output();
          }
          self.postMessage(started);
        };`,
      ], { type: "application/javascript" }),
    ),
    { type: "module" },
  );
  try {
    const path = join(dir, "state.sqlite3");
    const started = new Promise<number>((resolve) => {
      spawner.onmessage = (event) => resolve(event.data);
    });
    let spawned: number | undefined;
    started.then((count) => spawned = count);
    spawner.postMessage(2000);
    let takes = 0;
    while (spawned === undefined) {
      for (let i = 0; i < 20; i++, takes++) StateDbLock.acquire(path).release();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.ok(spawned >= 10, `only ${spawned} programs started beside the lock`);
    assert.ok(takes >= 100, `only ${takes} locks taken`);
  } finally {
    spawner.terminate();
    await Deno.remove(dir, { recursive: true });
  }
});
