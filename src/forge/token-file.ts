/**
 * A forge token kept in a file on a host (`ternix upgrade --report-to-forge`): the file must belong
 * to the user running Ternix (root under the NixOS module) and be readable by nobody else, so a
 * token another local user could read is refused rather than used. The value never appears in a
 * message.
 */
import { constants, open } from "node:fs/promises";
import { UsageError } from "../errors.js";

const MAX_TOKEN_FILE_BYTES = 64 * 1024;

export async function readForgeTokenFile(path: string, uid: number | undefined): Promise<string> {
  const hint = `Keep the token alone in ${path}, owned by the user that runs ternix and readable by it only: chown root:root ${path}; chmod 600 ${path}.`;
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw new UsageError(
      `cannot read the forge token file ${path} (${(error as NodeJS.ErrnoException).code ?? "unknown error"}).`,
      { hint },
    );
  }
  try {
    // The checks look at the file that was opened, not at whatever the path names a moment later.
    const info = await handle.stat();
    if (!info.isFile()) throw new UsageError(`the forge token file ${path} is not a regular file.`, { hint });
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
      throw new UsageError(
        `the forge token file ${path} is accessible to its group or to others (mode ${mode}); refusing to use it.`,
        { hint },
      );
    }
    if (uid !== undefined && info.uid !== uid) {
      throw new UsageError(
        `the forge token file ${path} belongs to uid ${info.uid}, not to the user running ternix (uid ${uid}); refusing to use it.`,
        { hint },
      );
    }
    if (info.size > MAX_TOKEN_FILE_BYTES) {
      throw new UsageError(`the forge token file ${path} is too large to hold a token.`, { hint });
    }
    const token = (await handle.readFile({ encoding: "utf8" })).trim();
    if (token === "") throw new UsageError(`the forge token file ${path} is empty.`, { hint });
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(token)) {
      throw new UsageError(
        `the forge token file ${path} holds more than one line or a control character; its content is not shown.`,
        { hint },
      );
    }
    return token;
  } finally {
    await handle.close();
  }
}
