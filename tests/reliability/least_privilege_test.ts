/**
 * The IAM policies of README "Permissions (IAM)", tried against moto with IAM enforced: a user
 * with exactly the README's policies can back up, resume after a kill, restore and verify; one
 * without the permission to abort stray uploads still backs up, with one warning; one without
 * s3:PutObject is stopped at once with a line naming the action to add.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import {
  createBucket,
  createIamUser,
  enforceIam,
  type IamAccessKey,
  type SlashProxy,
  startMoto,
  startSlashProxy,
  testAwsEnv,
} from "../../testing/moto.ts";
import { assertKilled, type CliResult, runCli, stateDbFrom } from "../../testing/run_cli.ts";
import { diffTrees, makeTree, randomBytes } from "../../testing/tree.ts";
import { Catalog } from "../../lib/catalog/catalog.ts";
import { backupFolderKey } from "../../lib/archive/layout.ts";
import { createS3Storage } from "../../lib/storage/s3.ts";
import { archivePath } from "../../lib/archive/archive_path.ts";

const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const BUCKET = "least-privilege";

interface Policy {
  Version: string;
  Statement: { Effect: string; Action: string[]; Resource: string }[];
}

/** The JSON policy under the README heading `#### heading`, for the test bucket. */
async function readmePolicy(heading: string): Promise<Policy> {
  const text = await Deno.readTextFile(README);
  const start = text.indexOf(`\n#### ${heading}\n`);
  assert.ok(start >= 0, `README has no "#### ${heading}"`);
  const block = /```json\n([\s\S]*?)```/.exec(text.slice(start));
  assert.ok(block, `README has no JSON policy under "#### ${heading}"`);
  return JSON.parse(block[1].replaceAll("arn:aws:s3:::BUCKET", `arn:aws:s3:::${BUCKET}`));
}

function without(policy: Policy, ...actions: string[]): Policy {
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({
      ...s,
      Action: s.Action.filter((a) => !actions.includes(a)),
    })),
  };
}

interface IamContext {
  /** The S3 endpoint to use (moto, through a proxy). */
  endpoint: string;
  root: string;
  src: string;
  /** Environment of a glacier run as `key`. */
  envOf(key: IamAccessKey): Record<string, string>;
  backup(key: IamAccessKey, env?: Record<string, string>): Promise<CliResult>;
}

/**
 * A moto server with the test bucket, a source tree (with a file of two multipart parts), and
 * IAM users made by `users`, after which moto enforces IAM.
 */
async function withIam<T extends Record<string, IamAccessKey>>(
  users: (endpoint: string) => Promise<T>,
  fn: (ctx: IamContext, keys: T) => Promise<void>,
) {
  const moto = await startMoto();
  const root = await Deno.makeTempDir({ prefix: "glacier-iam-test-" });
  let proxy: SlashProxy | undefined;
  try {
    const src = join(root, "src");
    await Deno.mkdir(src);
    await makeTree(src, { smallFiles: 20 });
    await Deno.writeFile(join(src, "large.bin"), randomBytes(20 * 1024 * 1024));
    await createBucket(moto.endpoint, BUCKET);
    const keys = await users(moto.endpoint);
    await enforceIam(moto.endpoint);
    proxy = await startSlashProxy(moto.endpoint, Object.values(keys));
    const endpoint = proxy.endpoint;
    const envOf = (key: IamAccessKey) => ({
      ...testAwsEnv(endpoint),
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_CONFIG_FILE: join(root, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(root, "no-aws-credentials"),
      GLACIER_RESTORE_POLL_MS: "100",
    });
    const backup = (key: IamAccessKey, env: Record<string, string> = {}) =>
      runCli([
        "backup",
        "--src-dirs",
        src,
        "--bucket",
        BUCKET,
        "--volume-size",
        "4MiB",
        "--num-upload-workers",
        "1",
        "--state-dir",
        join(root, "state"),
      ], { env: { ...envOf(key), ...env } });
    await fn({ endpoint, root, src, envOf, backup }, keys);
  } finally {
    await proxy?.stop();
    await moto.stop();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the README's policies let backup, resume after a kill, restore and verify run", async () => {
  const policies = await Promise.all(
    ["backup and resume", "restore", "verify"].map(async (h) => await readmePolicy(h)),
  );
  await withIam(
    async (endpoint) => ({ user: await createIamUser(endpoint, "backup", policies) }),
    async ({ root, src, envOf, backup }, { user }) => {
      const env = envOf(user);
      const crashed = await backup(user, { GLACIER_TEST_CRASH_AT: "after-part-uploaded:1" });
      assertKilled(crashed);
      const stateDb = stateDbFrom(crashed);

      const resumed = await runCli(["resume", stateDb], { env });
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, /continuing upload of \S+: 1 of 2 parts already sent/);
      assert.doesNotMatch(resumed.stderr, /access denied|^warn/im);

      const dest = join(root, "restored");
      const restored = await runCli(["restore", stateDb, "--to", dest, "--yes"], { env });
      assert.equal(restored.code, 0, restored.stderr);
      assert.deepEqual(await diffTrees(src, join(dest, archivePath(src))), []);

      const verified = await runCli(["verify", stateDb], { env });
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    },
  );
});

Deno.test("without s3:AbortMultipartUpload a backup completes with one warning for a stray upload", async () => {
  const policy = without(
    await readmePolicy("backup and resume"),
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
  );
  assert.ok(!JSON.stringify(policy).includes("s3:DeleteObject"));
  await withIam(
    async (endpoint) => ({
      user: await createIamUser(endpoint, "backup", [policy]),
      admin: await createIamUser(endpoint, "admin", [{
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["*"] }],
      }]),
    }),
    async ({ endpoint, envOf, backup }, { user, admin }) => {
      const crashed = await backup(user, { GLACIER_TEST_CRASH_AT: "after-scan-batch" });
      assertKilled(crashed);
      const stateDb = stateDbFrom(crashed);
      const catalog = Catalog.open(stateDb);
      const folder = backupFolderKey(catalog.settings());
      catalog.close();
      // An upload a killed run started but never recorded, as the admin sees the bucket.
      const asAdmin = createS3Storage({
        bucket: BUCKET,
        endpoint,
        region: "us-east-1",
        credentials: admin,
      });
      await asAdmin.createMultipartUpload(`${folder}stray.tar.zst.age`, "STANDARD");

      const resumed = await runCli(["resume", stateDb], { env: envOf(user) });
      assert.equal(resumed.code, 0, resumed.stderr);
      const warnings = resumed.stderr.split("\n").filter((line) => /^warn/i.test(line));
      assert.equal(warnings.length, 1, resumed.stderr);
      assert.match(warnings[0], /unfinished uploads .* billed until aborted/);
      assert.match(warnings[0], /access denied for s3:AbortMultipartUpload on arn:aws:s3:::/);
      assert.match(resumed.stdout, /backup \S+ complete/);
      assert.equal((await asAdmin.listMultipartUploads(folder)).length, 1);
    },
  );
});

Deno.test("without s3:PutObject a backup stops with exit 3 and the policy line to add", async () => {
  const policy = without(await readmePolicy("backup and resume"), "s3:PutObject");
  await withIam(
    async (endpoint) => ({ user: await createIamUser(endpoint, "backup", [policy]) }),
    async ({ backup }, { user }) => {
      const result = await backup(user);
      assert.equal(result.code, 3, result.stderr);
      const denied = result.stderr.split("\n").filter((line) => /access denied/i.test(line));
      assert.equal(denied.length, 1, result.stderr);
      assert.match(
        denied[0],
        new RegExp(
          `access denied for s3:PutObject on arn:aws:s3:::${BUCKET}/\\S+: ` +
            `add "s3:PutObject" to the policy \\(README: Permissions \\(IAM\\)\\)`,
        ),
      );
      assert.ok(!result.stderr.includes("    at "), "no stack trace");
    },
  );
});
