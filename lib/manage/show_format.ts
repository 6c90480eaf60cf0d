/** How `glacier show` prints a backup: the header, listing lines, folder sums, and their JSON. */
import type { FileState } from "../catalog/catalog.ts";
import type { FolderTotal, ListedFile, VolumeTotal } from "../catalog/listing.ts";
import type { BackupSettings } from "../catalog/settings.ts";
import { formatBytes } from "../archive/units.ts";
import { quotePath } from "../archive/quote_path.ts";
import { objectKey } from "../archive/layout.ts";

/** A moment as local `YYYY-MM-DD HH:MM:SS` (like `ls --full-time`, without the zone). */
export function formatLocalTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** A header line's label, indented and padded so that the values line up. */
function label(name: string): string {
  return `  ${`${name}:`.padEnd(12)}`;
}

/** `1234567` -> `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** What the header says about a backup. */
export interface HeaderFacts {
  settings: BackupSettings;
  phase: string;
  createdAt?: string;
  finishedAt?: string;
  /** The backup's own key, or the recipients it was encrypted to. */
  ownKey: boolean;
  recipients: string[];
  files: { state: FileState; type: string; count: number; bytes: number }[];
  volumes: VolumeTotal[];
  /** The backups of an incremental's chain, oldest first, this one last. */
  chain?: string[];
}

/** The header lines of `show`: settings, totals, volumes uploaded and pending. */
export function headerLines(facts: HeaderFacts): string[] {
  const s = facts.settings;
  const status = facts.phase === "done" ? "complete" : `not finished (${facts.phase})`;
  const encryption = !s.encrypt
    ? "not encrypted"
    : facts.ownKey
    ? "encrypted (key in the state database)"
    : facts.recipients.length > 0
    ? `encrypted to ${facts.recipients.join(", ")}`
    : "encrypted";
  const lines = [
    `backup ${s.backupId}: ${status}`,
    `${label("sources")}${s.sourceDirs.map(quotePath).join(", ")}`,
    `${label("bucket")}${quotePath(s.bucket)}, folder ${quotePath(objectKey(s, ""))}/`,
    `${label("volumes")}${s.storageClass}, ${s.compression}, ${encryption}, target ` +
    formatBytes(s.volumeSize),
  ];
  if (facts.chain && facts.chain.length > 1) {
    lines.push(`${label("chain")}${facts.chain.join(" <- ")} (incremental; full backup first)`);
  }
  if (s.excludes.length > 0) {
    lines.push(`${label("excluded")}${s.excludes.map(quotePath).join(", ")}`);
  }
  if (facts.createdAt) {
    const finished = facts.finishedAt
      ? `, finished ${formatLocalTime(new Date(facts.finishedAt))}`
      : "";
    lines.push(`${label("started")}${formatLocalTime(new Date(facts.createdAt))}${finished}`);
  }
  lines.push(`${label("entries")}${entrySummary(facts.files)}`);
  const notStored = facts.files.filter((t) => t.state !== "stored" && t.state !== "changed");
  if (notStored.length > 0) lines.push(`${label("not stored")}${stateSummary(notStored)}`);
  lines.push(`${label("uploaded")}${volumeSummary(facts.volumes, ["uploaded"])}`);
  lines.push(`${label("pending")}${volumeSummary(facts.volumes, ["planned", "built"])}`);
  const gone = facts.volumes.filter((v) => v.state === "missing" || v.state === "deleted");
  if (gone.length > 0) {
    lines.push(
      `${label("gone")}${
        gone.map((v) => `${formatCount(v.count)} ${v.state} (${formatBytes(v.bytes)})`).join(", ")
      }`,
    );
  }
  return lines;
}

function entrySummary(files: HeaderFacts["files"]): string {
  const count = (type: string) =>
    files.filter((t) => t.type === type).reduce((n, t) => n + t.count, 0);
  const bytes = files.filter((t) => t.type === "file").reduce((n, t) => n + t.bytes, 0);
  const hardlinks = count("hardlink");
  return `${plural(count("file"), "file")} (${formatBytes(bytes)}), ` +
    `${plural(count("directory"), "folder")}, ${plural(count("symlink"), "symlink")}` +
    (hardlinks > 0 ? `, ${plural(hardlinks, "hardlink")}` : "");
}

function stateSummary(files: HeaderFacts["files"]): string {
  const byState = new Map<string, number>();
  for (const t of files) byState.set(t.state, (byState.get(t.state) ?? 0) + t.count);
  return [...byState].map(([state, n]) => `${formatCount(n)} ${state}`).join(", ");
}

function volumeSummary(volumes: VolumeTotal[], states: string[]): string {
  const picked = volumes.filter((v) => states.includes(v.state));
  const count = picked.reduce((n, v) => n + v.count, 0);
  const bytes = picked.reduce((n, v) => n + v.bytes, 0);
  return `${plural(count, "volume")} (${formatBytes(bytes)})`;
}

/** `1 file`, `2 files`, `1,000 files` (`many` for irregular plurals: `entries`). */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return `${formatCount(count)} ${count === 1 ? noun : many}`;
}

/** The column titles of the listing, aligned like `listingLine`. */
export function listingTitle(volumeWidth: number, withBackup = false): string {
  return `${"SIZE".padStart(10)}  ${"MODIFIED".padEnd(19)}  ` +
    (withBackup ? `${"BACKUP".padEnd(BACKUP_WIDTH)}  ` : "") +
    `${"VOLUME".padEnd(volumeWidth)}  ${"STATE".padEnd(10)}  PATH`;
}

/** Width of a backup id (`YYYYMMDD_HHMMSS`). */
const BACKUP_WIDTH = 15;

/**
 * One listing line: size, modification time, (for an incremental) the backup holding it, volume,
 * state, archive path.
 */
export function listingLine(file: ListedFile, volumeWidth: number, withBackup = false): string {
  const size = file.type === "file" ? formatBytes(file.size) : "-";
  const name = quotePath(file.archivePath);
  const path = file.type === "directory"
    ? `${name}/`
    : file.type === "symlink"
    ? `${name} -> ${quotePath(file.linkTarget ?? "")}`
    : file.type === "hardlink"
    ? `${name} link to ${quotePath(file.linkTarget ?? "")}`
    : name;
  return `${size.padStart(10)}  ${formatLocalTime(new Date(file.mtimeMs))}  ` +
    (withBackup ? `${(file.backupId ?? "-").padEnd(BACKUP_WIDTH)}  ` : "") +
    `${quotePath(file.volumeName ?? "-").padEnd(volumeWidth)}  ${file.state.padEnd(10)}  ${path}`;
}

/** A listing entry as JSON (one element of the `--json` array). */
export function listingJson(file: ListedFile): Record<string, unknown> {
  return {
    path: file.archivePath,
    sourcePath: file.path,
    type: file.type,
    size: file.size,
    mtime: new Date(file.mtimeMs).toISOString(),
    mode: file.mode,
    ...(file.type === "symlink" || file.type === "hardlink" ? { linkTarget: file.linkTarget } : {}),
    volume: file.volumeName,
    backup: file.backupId,
    state: file.state,
  };
}

/** The column titles of the folder sums, aligned like `folderLine`. */
export function folderTitle(): string {
  return `${"SIZE".padStart(10)}  ${"FILES".padStart(10)}  FOLDER`;
}

/** One line of `--collate`: bytes, files, folder, and how many of them are not stored. */
export function folderLine(total: FolderTotal): string {
  const note = total.notStored > 0 ? `  (${formatCount(total.notStored)} not stored)` : "";
  return `${formatBytes(total.bytes).padStart(10)}  ${formatCount(total.files).padStart(10)}  ` +
    `${quotePath(total.folder)}${note}`;
}
