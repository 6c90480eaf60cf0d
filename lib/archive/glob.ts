/**
 * `--exclude` patterns. A pattern without `/` matches any entry's own name (`*.tmp`,
 * `node_modules`); a pattern with `/` matches the path relative to its source folder
 * (`cache/*.bin`), or the absolute path when it starts with `/`. `*` and `?` stay within one path
 * component, `**` crosses them, `[...]` is a character class. An excluded folder is not entered.
 */

/** A compiled exclude pattern. */
export interface ExcludeMatcher {
  /** True when the entry at `absolutePath` (`relativePath` under its source folder) is excluded. */
  matches(absolutePath: string, relativePath: string): boolean;
}

/** Compiles a list of exclude patterns into one matcher. */
export function compileExcludes(patterns: string[]): ExcludeMatcher {
  const byName: RegExp[] = [];
  const byRelative: RegExp[] = [];
  const byAbsolute: RegExp[] = [];
  for (const raw of patterns) {
    const pattern = raw.replaceAll("\\", "/").replace(/\/+$/, "");
    if (pattern === "") continue;
    if (pattern.startsWith("/")) byAbsolute.push(globToRegExp(pattern));
    else if (pattern.includes("/")) byRelative.push(globToRegExp(pattern));
    else byName.push(globToRegExp(pattern));
  }
  return {
    matches(absolutePath: string, relativePath: string): boolean {
      const absolute = absolutePath.replaceAll("\\", "/");
      const relative = relativePath.replaceAll("\\", "/");
      const name = absolute.slice(absolute.lastIndexOf("/") + 1);
      return byName.some((re) => re.test(name)) ||
        byRelative.some((re) => re.test(relative)) ||
        byAbsolute.some((re) => re.test(absolute));
    },
  };
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
