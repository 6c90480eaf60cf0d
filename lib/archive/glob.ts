/**
 * `--exclude` patterns. A pattern without `/` matches any entry's own name (`*.tmp`,
 * `node_modules`); a pattern with `/` matches the path relative to its source folder
 * (`cache/*.bin`), or the absolute path when it starts with `/` (on Windows also `C:\` or `C:/`,
 * and `\data` names that folder on any drive). `*` and `?` stay within one path component, `**`
 * crosses them, `[...]` is a character class. An excluded folder is not entered. On Windows and
 * macOS, whose file systems ignore case, patterns ignore case too (path_case.ts).
 */
import { nameFolder, type PathOs } from "./path_case.ts";

/** A compiled exclude pattern. */
export interface ExcludeMatcher {
  /** True when the entry at `absolutePath` (`relativePath` under its source folder) is excluded. */
  matches(absolutePath: string, relativePath: string): boolean;
  /** True when there are no patterns: nothing is excluded. */
  readonly empty: boolean;
}

/** Compiles a list of exclude patterns into one matcher, with the path rules of `os`. */
export function compileExcludes(patterns: string[], os: PathOs = Deno.build.os): ExcludeMatcher {
  const fold = nameFolder(os);
  const byName: RegExp[] = [];
  const byRelative: RegExp[] = [];
  const byAbsolute: RegExp[] = [];
  for (const raw of patterns) {
    let pattern = fold(raw.replaceAll("\\", "/").replace(/\/+$/, ""));
    if (pattern === "") continue;
    // On Windows `/data` (rooted, no drive) is `?:/data`, on any drive; `//server/share` stays.
    if (os === "windows" && /^\/(?!\/)/.test(pattern)) pattern = `?:${pattern}`;
    if (isAbsolutePattern(pattern, os)) byAbsolute.push(globToRegExp(pattern));
    else if (pattern.includes("/")) byRelative.push(globToRegExp(pattern));
    else byName.push(globToRegExp(pattern));
  }
  return {
    empty: byName.length + byRelative.length + byAbsolute.length === 0,
    matches(absolutePath: string, relativePath: string): boolean {
      const absolute = fold(absolutePath.replaceAll("\\", "/"));
      const relative = fold(relativePath.replaceAll("\\", "/"));
      const name = absolute.slice(absolute.lastIndexOf("/") + 1);
      return byName.some((re) => re.test(name)) ||
        byRelative.some((re) => re.test(relative)) ||
        byAbsolute.some((re) => re.test(absolute));
    },
  };
}

/** True for a pattern (with `/` separators) that names an absolute path on `os`. */
function isAbsolutePattern(pattern: string, os: PathOs): boolean {
  return pattern.startsWith("/") || (os === "windows" && /^(?:[a-z]|\?):\//i.test(pattern));
}

/** Translates one glob into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const slashFollows = glob[i + 2] === "/";
        source += slashFollows ? "(?:.*/)?" : ".*";
        i += slashFollows ? 2 : 1;
      } else {
        source += "[^/]*";
      }
    } else if (c === "?") {
      source += "[^/]";
    } else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end === -1) {
        source += "\\[";
      } else {
        let body = glob.slice(i + 1, end).replaceAll("\\", "\\\\");
        if (body.startsWith("!")) body = "^" + body.slice(1);
        source += `[${body}]`;
        i = end;
      }
    } else {
      source += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`, "u");
}
