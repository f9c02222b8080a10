// The service's log file: JSON lines written by pino.
import fs from "node:fs";
import path from "node:path";
import { pino, type Logger as PinoLogger } from "pino";
import type { LogSink } from "./log.js";
import { ActionError, errorMessage } from "./errors.js";

/**
 * JSON lines, one per record, in the service's log file (synchronous so a
 * crash loses nothing). The file is created on the first record, so that a
 * command refused before it acts leaves nothing behind.
 */
export function fileSink(file: string): LogSink {
  let fd: number | undefined;
  let p: PinoLogger | undefined;
  const open = (): PinoLogger => {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o750 });
      fd = fs.openSync(file, "a", 0o640);
    } catch (e) {
      throw new ActionError(`cannot write the log ${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
    }
    return pino({ level: "debug", base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd, sync: true }));
  };
  return {
    write(rec) {
      p ??= open();
      p[rec.level]({ svc: rec.svc, rid: rec.rid }, rec.msg);
    },
    close() {
      // a process that lives for months (the agent) opens one per action: each is closed after it.
      // every line is written when logged (sync, no buffer): no flush to do, and no fsync (sonic-boom's flushSync
      // fsyncs) at the end of every command; the fd is let go, a later line opens the file again
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      p = undefined;
    },
  };
}
