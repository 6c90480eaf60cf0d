/** Turning a `--bucket` value into a storage. */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  bucketNameProblem,
  folderOfFileBucket,
  InvalidBucketError,
  openStorage,
} from "../../lib/storage/open.ts";
import { StorageError } from "../../lib/storage/storage.ts";
import { skipOnWindows, where } from "../../testing/platform.ts";

Deno.test(
  where(
    skipOnWindows(
      "these are the Linux forms of file: buckets (file_url_test covers the Windows forms on any system)",
    ),
    "file: buckets open a folder",
    () => {
      assert.equal(openStorage("file:///srv/backups").description, "file:///srv/backups");
      assert.equal(folderOfFileBucket("file:///srv/my%20backups"), "/srv/my backups");
      assert.equal(folderOfFileBucket("file:/srv/backups"), "/srv/backups");
      assert.equal(folderOfFileBucket("file:relative/dir"), join(Deno.cwd(), "relative/dir"));
      assert.equal(folderOfFileBucket("file://relative/dir"), join(Deno.cwd(), "relative/dir"));
      assert.throws(() => openStorage("file:"), InvalidBucketError);
    },
  ),
);

Deno.test("s3:// and bare names open an S3 bucket", () => {
  const endpoint = "http://127.0.0.1:9000";
  assert.equal(
    openStorage("s3://my-bucket", { endpoint }).description,
    `s3://my-bucket at ${endpoint}`,
  );
  assert.equal(
    openStorage("my.bucket-2", { endpoint }).description,
    `s3://my.bucket-2 at ${endpoint}`,
  );
});

Deno.test("a command's whole options object cannot replace the parsed bucket name", () => {
  // `backup` passes its options, whose `bucket` is the raw `s3://NAME`, as the S3 settings.
  const backupOptions = { bucket: "s3://my-bucket", endpoint: "http://127.0.0.1:9000" };
  assert.equal(
    openStorage(backupOptions.bucket, backupOptions).description,
    "s3://my-bucket at http://127.0.0.1:9000",
  );
});

Deno.test("invalid bucket names are usage errors", () => {
  for (
    const name of [
      "ab",
      "Upper",
      "under_score",
      "s3://b/prefix",
      "1.2.3.4",
      "a..b",
      "-abc",
      "abc-",
      "",
      "s3://",
    ]
  ) {
    let caught: unknown;
    try {
      openStorage(name);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof InvalidBucketError, name);
    assert.ok(caught instanceof StorageError);
    assert.equal(caught.kind, "permanent");
    assert.ok(
      caught.message.startsWith(`invalid bucket ${JSON.stringify(name)}: `),
      caught.message,
    );
  }
  assert.equal(bucketNameProblem("a".repeat(63)), undefined);
  assert.ok(bucketNameProblem("a".repeat(64)));
});
