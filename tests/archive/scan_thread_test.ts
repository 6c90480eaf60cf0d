import assert from "node:assert/strict";
import { join } from "node:path";
import { type NewFile, type ProblemRecord, scanSources } from "../../lib/archive/scan.ts";
import type { ScanOptions, ScanTotals } from "../../lib/archive/scan.ts";
import { scanInWorker } from "../../lib/archive/scan_thread.ts";
import { needs, where } from "../../testing/platform.ts";

/** Everything a scan hands its sink, in order. */
interface Recorded {
  batches: NewFile[][];
  problems: ProblemRecord[];
  totals: ScanTotals;
}

async function record(
  scan: typeof scanSources,
  options: ScanOptions,
  slowSink = false,
): Promise<Recorded> {
  const batches: NewFile[][] = [];
  const problems: ProblemRecord[] = [];
  const totals = await scan(options, {
    addFiles(files) {
      batches.push(files);
      // A slow catalog: the worker must wait for it rather than run ahead without bound.
      if (slowSink) {
        const until = Date.now() + 5;
        while (Date.now() < until) { /* busy */ }
      }
    },
    addProblem(problem) {
      problems.push(problem);
    },
  });
  return { batches, problems, totals };
}

async function tree(build: (dir: string) => Promise<void>): Promise<string> {
  const dir = await Deno.makeTempDir();
  await build(dir);
  return dir;
}

Deno.test("the scan on a worker hands the sink the same batches, problems and totals as on this thread", async () => {
  const src = await tree(async (dir) => {
    for (let d = 0; d < 12; d++) {
      await Deno.mkdir(join(dir, `d${d}`, "inner"), { recursive: true });
      for (let f = 0; f < 30; f++) {
        await Deno.writeTextFile(join(dir, `d${d}`, `f${f}.txt`), "x".repeat(f));
      }
      await Deno.writeTextFile(join(dir, `d${d}`, "inner", "deep.log"), "deep");
    }
  });
  try {
    const options: ScanOptions = {
      sourceDirs: [src],
      excludes: ["*.log"],
      skipPaths: [join(src, "d3", "f7.txt")],
      batchEntries: 16,
    };
    const here = await record(scanSources, options);
    const there = await record(scanInWorker, options, true);
    assert.ok(here.batches.length > 10, "enough batches for the worker to run ahead");
    assert.deepEqual(there, here);
    const paths = here.batches.flat().map((f) => f.path);
    assert.ok(!paths.includes(join(src, "d3", "f7.txt")));
    assert.ok(!paths.some((p) => p.endsWith(".log")));
    assert.equal(here.totals.entries, 1 + 12 * (1 + 30 + 1) - 1);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("the scan's worker waits for the sink instead of listing ahead of it", async () => {
  // 40 folders of 30 files, 16 entries a batch. The sink's first batch writes a file into the
  // last folder: a worker held to a few batches ahead has not listed that folder yet and finds
  // the file; one running free would have listed the whole tree by then.
  const src = await tree(async (dir) => {
    for (let d = 0; d < 40; d++) {
      const folder = join(dir, `d${String(d).padStart(2, "0")}`);
      await Deno.mkdir(folder);
      for (let f = 0; f < 30; f++) await Deno.writeTextFile(join(folder, `f${f}`), "x");
    }
  });
  try {
    const late = join(src, "d39", "written-by-the-sink");
    const paths: string[] = [];
    await scanInWorker({ sourceDirs: [src], excludes: [], skipPaths: [], batchEntries: 16 }, {
      addFiles(files) {
        if (paths.length === 0) {
          // Long enough for a free-running worker to list all 1,241 entries first.
          const until = Date.now() + 300;
          while (Date.now() < until) { /* a slow catalog */ }
          Deno.writeTextFileSync(late, "late");
        }
        paths.push(...files.map((f) => f.path));
      },
      addProblem() {},
    });
    assert.ok(paths.includes(late));
    assert.equal(paths.length, 1 + 40 * 31 + 1);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("the scan on a worker leaves out the backup's own volume files, and only those", async () => {
  const src = await tree(async (dir) => {
    await Deno.mkdir(join(dir, "out"));
    await Deno.mkdir(join(dir, "other"));
    for (const name of ["000001_nightly.tar.zst.age", "000002_nightly.tar.zst.age.partial"]) {
      await Deno.writeTextFile(join(dir, "out", name), "volume");
      await Deno.writeTextFile(join(dir, "other", name), "the user's file");
    }
    await Deno.writeTextFile(join(dir, "out", "000001_other.tar"), "another backup's name");
    await Deno.writeTextFile(join(dir, "out", "notes.txt"), "the user's file");
  });
  try {
    const { batches } = await record(scanInWorker, {
      sourceDirs: [src],
      excludes: [],
      skipPaths: [],
      ownVolumes: { folder: join(src, "out"), baseName: "nightly.tar" },
    });
    const names = batches.flat().map((f) => f.archivePath.split("/").slice(-2).join("/")).sort();
    assert.deepEqual(names.filter((n) => n.startsWith("out/") || n.startsWith("other/")), [
      "other/000001_nightly.tar.zst.age",
      "other/000002_nightly.tar.zst.age.partial",
      "out/000001_other.tar",
      "out/notes.txt",
    ]);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("a scan on a worker fails as the scan does: a missing source, a sink that throws", async () => {
  const src = await tree(async (dir) => {
    for (let f = 0; f < 40; f++) await Deno.writeTextFile(join(dir, `f${f}`), "x");
  });
  try {
    await assert.rejects(
      scanInWorker({ sourceDirs: [join(src, "gone")], excludes: [], skipPaths: [] }, {
        addFiles() {},
        addProblem() {},
      }),
      (error: Error) => error instanceof Deno.errors.NotFound && error.message.includes("gone"),
    );
    let calls = 0;
    await assert.rejects(
      scanInWorker({ sourceDirs: [src], excludes: [], skipPaths: [], batchEntries: 4 }, {
        addFiles() {
          if (++calls === 2) throw new Error("catalog is full");
        },
        addProblem() {},
      }),
      /catalog is full/,
    );
    assert.equal(calls, 2, "no batch reaches the sink after it threw");
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("an aborted scan on a worker stops with the signal's reason", async () => {
  const src = await tree(async (dir) => {
    for (let f = 0; f < 40; f++) await Deno.writeTextFile(join(dir, `f${f}`), "x");
  });
  try {
    const stop = new AbortController();
    let batches = 0;
    await assert.rejects(
      scanInWorker(
        { sourceDirs: [src], excludes: [], skipPaths: [], batchEntries: 4, signal: stop.signal },
        {
          addFiles() {
            if (++batches === 1) stop.abort(new Error("interrupted"));
          },
          addProblem() {},
        },
      ),
      /interrupted/,
    );
    const early = new AbortController();
    early.abort(new Error("before it began"));
    await assert.rejects(
      scanInWorker({ sourceDirs: [src], excludes: [], skipPaths: [], signal: early.signal }, {
        addFiles() {},
        addProblem() {},
      }),
      /before it began/,
    );
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test(where(needs("mkfifo"), {
  name: "a special file is a problem from the worker too, and the scan goes on",
  fn: async () => {
    const src = await tree(async (dir) => {
      await Deno.mkdir(join(dir, "sub"));
      await Deno.writeTextFile(join(dir, "sub", "after.txt"), "x");
      const made = await new Deno.Command("mkfifo", { args: [join(dir, "pipe")] }).output();
      assert.ok(made.success);
    });
    try {
      const { batches, problems } = await record(scanInWorker, {
        sourceDirs: [src],
        excludes: [],
        skipPaths: [],
      });
      assert.deepEqual(problems.map((p) => [p.path, p.kind, p.message]), [
        [join(src, "pipe"), "special", "skipped FIFO"],
      ]);
      assert.ok(batches.flat().some((f) => f.path === join(src, "sub", "after.txt")));
    } finally {
      await Deno.remove(src, { recursive: true });
    }
  },
}));
