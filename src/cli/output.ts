// The CLI's standard output when its reader goes away (`svcmgr -s app1 start
// | head -3`, `svcmgr logs --follow | grep -m1 error`).

/**
 * An unhandled EPIPE would end the process where it stands: a stack trace,
 * an action's containers left half-started, its lock left to the next one.
 * What would still be printed is dropped instead: an action goes on (its
 * service log keeps every line) and exits with what it did; a command that
 * only follows something ends (outputClosed()). Standard output only:
 * stderr is left as node makes it, on first use (hooking it would create it
 * for every command), and a command's error message is its last line anyway.
 */
export function dropOutputToClosedPipe(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
}

let closed: AbortController | undefined;

/**
 * Aborted once standard output is closed under this process. A command that
 * only follows (logs --follow, svcmon --watch) stops then, as `tail -f` does
 * on its next write.
 */
export function outputClosed(): AbortSignal {
  if (!closed) {
    const ac = (closed = new AbortController());
    if (process.stdout.destroyed) ac.abort();
    else process.stdout.once("close", () => ac.abort());
  }
  return closed.signal;
}
