/**
 * The V8 flags glacier runs with, in one place: every way the program is started passes
 * `--v8-flags=${V8_FLAGS}` (deno.json's `glacier`, `bench` and `compile:*` tasks, the launcher
 * `install.ts` writes, and the test and bench helpers in testing/). tests/cli/v8_flags_test.ts
 * holds deno.json and install.ts to this string.
 *
 * `--max-semi-space-size=2` caps V8's young generation at 2 MiB per semi-space (per isolate: the
 * main thread and each compression worker). By default it grows to 16-32 MiB per semi-space
 * under the volume pipeline's stream of short-lived chunks, and that memory stays resident.
 * Measured on the mixed bench corpus (833 MB, 20,000 files, one 539 MiB volume, file:// bucket,
 * 2-core machine under load 5-6): peak RSS of a restore 229 MiB without the flag, 155-160 MiB
 * with it; an earlier round measured backup 155-169 -> 141-142 MiB and restore 158-160 ->
 * 125-126 MiB, with no measurable change in wall time. (Base costs, for scale: Deno with
 * glacier's modules 67 MiB, the AWS SDK +31 MiB, the first compression worker +30 MiB, each
 * further one +12-14 MiB.)
 *
 * `--heap-growing-percent=100` lets each isolate's old generation grow by at most its own size
 * before the next full collection (V8 otherwise grows it up to 4x when collections are quick,
 * and keeps the pages). Measured (whole process, A/B in turn), backup of 300,000 tiny files (3 runs,
 * load 3.5-3.8): peak RSS 236 -> 191 MiB, wall ratio 1.01 (0.88-1.23), user CPU +10%; on the mixed
 * corpus: peak RSS 167 -> 167 MiB, wall ratio 0.99.
 *
 * `--memory-pool-timeout=0` hands the heap pages a collection frees back to the system at once.
 * V8 otherwise keeps them in a pool for 8 s, for the heap to grow into again: with `--trace-gc`,
 * up to 24 MB pooled in one isolate during a backup of 300,000 tiny files. Measured (A/B in
 * turn, medians): backup of 300,000 tiny files (7 runs) peak RSS 191 -> 178 MiB, wall ratio
 * 1.01 (0.98-1.03); of 1,000,000 (3 runs) 210 -> 191 MiB, 0.99; the mixed corpus and both
 * restores: peak RSS unchanged (+-1 MiB), wall ratios 0.97-0.98.
 */
export const V8_FLAGS =
  "--max-semi-space-size=2,--heap-growing-percent=100,--memory-pool-timeout=0";

/** The `deno run` / `deno compile` option that applies `V8_FLAGS`. */
export const V8_FLAGS_OPTION = `--v8-flags=${V8_FLAGS}`;
