/**
 * The `file:` bucket forms of each system (file_url.ts), checked with the rules of Windows and of
 * Linux whatever system runs the test. Network shares cannot be reached here (nor under Wine):
 * only the parsing and printing of their URLs is checked.
 */
import assert from "node:assert/strict";
import {
  FileBucketError,
  fileBucketOfBarePath,
  fileUrlOf,
  folderOfFileUrl,
} from "../../lib/storage/file_url.ts";

const onWindows = (bucket: string) => folderOfFileUrl(bucket, "windows", "D:\\work");
const onLinux = (bucket: string) => folderOfFileUrl(bucket, "linux", "/work");

Deno.test("Windows: drive folders in every form, and file:///x on the current drive", () => {
  assert.equal(onWindows("file:///C:/backups"), "C:\\backups");
  assert.equal(onWindows("file:///c:/My%20Backups/"), "c:\\My Backups");
  assert.equal(onWindows("file://C:/backups"), "C:\\backups");
  assert.equal(onWindows("file://C:\\backups"), "C:\\backups");
  assert.equal(onWindows("file:C:\\backups"), "C:\\backups");
  assert.equal(onWindows("file:/C:/backups"), "C:\\backups");
  assert.equal(onWindows("file:///C|/backups"), "C:\\backups");
  assert.equal(onWindows("file:///backups"), "D:\\backups");
  assert.equal(onWindows("file:/backups"), "D:\\backups");
  assert.equal(onWindows("file://localhost/backups"), "D:\\backups");
  assert.equal(onWindows("file:backups"), "D:\\work\\backups");
});

Deno.test("Windows: network shares in every form; a server without a share is refused", () => {
  for (
    const bucket of [
      "file://server/share/f",
      "file:////server/share/f",
      "file://///server/share/f",
      "file:\\\\server\\share\\f",
      "file://server/share/f/",
    ]
  ) {
    assert.equal(onWindows(bucket), "\\\\server\\share\\f", bucket);
  }
  assert.throws(() => onWindows("file://server"), FileBucketError);
  assert.throws(() => onWindows("file:////server/"), /a server without a share/);
});

Deno.test("Linux: file:///abs is a file URL, file://relative stays relative, as documented", () => {
  assert.equal(onLinux("file:///srv/my%20backups"), "/srv/my backups");
  assert.equal(onLinux("file:///srv/a#b?c"), "/srv/a#b?c");
  assert.equal(onLinux("file:/srv/backups"), "/srv/backups");
  assert.equal(onLinux("file://relative/dir"), "/work/relative/dir");
  assert.equal(onLinux("file://50%/dir"), "/work/50%/dir");
  assert.equal(onLinux("file:relative/dir"), "/work/relative/dir");
  assert.throws(() => onLinux("file:"), FileBucketError);
  assert.throws(() => onLinux("file:///bad%zz"), /bad % escape/);
});

Deno.test("the URL printed for a folder is one that names it again when pasted back", () => {
  const windowsFolders = ["C:\\backups", "C:\\", "E:\\50% off\\x", "\\\\server\\share\\f"];
  assert.deepEqual(windowsFolders.map((f) => fileUrlOf(f, "windows")), [
    "file:///C:/backups",
    "file:///C:/",
    "file:///E:/50%25 off/x",
    "file://server/share/f",
  ]);
  for (const folder of windowsFolders) {
    assert.equal(onWindows(fileUrlOf(folder, "windows")), folder);
  }
  for (const folder of ["/srv/backups", "/srv/50% off", "/"]) {
    assert.equal(onLinux(fileUrlOf(folder, "linux")), folder);
  }
});

Deno.test("on Windows a bare folder path is a file: bucket; elsewhere, and a name, are not", () => {
  assert.equal(fileBucketOfBarePath("C:\\backups", "windows"), "file:///C:/backups");
  assert.equal(fileBucketOfBarePath(" d:/x/../backups ", "windows"), "file:///d:/backups");
  assert.equal(fileBucketOfBarePath("\\\\server\\share\\f", "windows"), "file://server/share/f");
  assert.equal(fileBucketOfBarePath("my-bucket", "windows"), undefined);
  assert.equal(fileBucketOfBarePath("s3://my-bucket", "windows"), undefined);
  assert.equal(fileBucketOfBarePath("C:\\backups", "linux"), undefined);
});
