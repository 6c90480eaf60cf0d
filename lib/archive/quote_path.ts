/**
 * Names for the terminal and the log: a name from a catalog, a bucket or a volume may hold
 * newlines or terminal escape sequences, which printed raw would forge lines or drive the
 * terminal. Such names are printed the way `ls --quoting-style=shell-escape` prints them.
 */

/**
 * Characters that are not printed raw: C0 and C1 controls, DEL, line and paragraph separators,
 * bidirectional overrides, U+FFFD (what a name that was not valid UTF-8 decodes to) and lone
 * surrogates.
 */
const UNPRINTABLE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufffd]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNPRINTABLE_RUN = new RegExp(`(?:${UNPRINTABLE.source})+`, "g");

const NAMED_ESCAPES: Record<string, string> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\v": "\\v",
  "\f": "\\f",
  "\r": "\\r",
};

/**
 * `name` unchanged when it is plain; otherwise a shell-quotable form in which every unprintable
 * character is escaped: `a\nb` -> `'a'$'\n''b'`, ESC `[31m` -> `$'\033''[31m'`. Pasted into a
 * shell, the quoted form is the name again.
 */
export function quotePath(name: string): string {
  if (!UNPRINTABLE.test(name)) return name;
  let quoted = "";
  let last = 0;
  for (const match of name.matchAll(UNPRINTABLE_RUN)) {
    quoted += singleQuoted(name.slice(last, match.index));
    quoted += `$'${[...match[0]].map(escapeCharacter).join("")}'`;
    last = match.index + match[0].length;
  }
  return quoted + singleQuoted(name.slice(last));
}

/** `text` in single quotes (`'` as `'\''`); nothing for empty text. */
function singleQuoted(text: string): string {
  return text === "" ? "" : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** One unprintable character as a `$'...'` escape. */
function escapeCharacter(character: string): string {
  const named = NAMED_ESCAPES[character];
  if (named) return named;
  const code = character.codePointAt(0)!;
  if (code < 0x80) return `\\${code.toString(8).padStart(3, "0")}`;
  return `\\u${code.toString(16).toUpperCase().padStart(4, "0")}`;
}
