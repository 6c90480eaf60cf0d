/**
 * Whether something is at a path of the local file system (a file, a folder, a symlink, even a
 * dangling one: the path itself is looked at, not what it points to). Only "no such file" means
 * no; any other failure (a permission, a file where a folder should be) is thrown, since the path
 * may well be taken.
 */

/** True when something is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** True when something is at `path`; for synchronous code (the catalog's SQLite calls). */
export function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
