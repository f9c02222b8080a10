// The one logger: human lines on stdout in the tutorials' format
// (`16:12:26 INFO    APP1.DEV.CONTAINER#1 message`) and JSON lines in the
// service's log file (pino, in log-file.ts: loaded only by what writes a log).

export type Level = "debug" | "info" | "warn" | "error";

export interface LogRecord {
  time: Date;
  level: Level;
  svc?: string;
  rid?: string;
  msg: string;
}

export interface LogSink {
  write(rec: LogRecord): void;
  close?(): void;
}

const LABEL: Record<Level, string> = { debug: "DEBUG", info: "INFO", warn: "WARNING", error: "ERROR" };
const COLOR: Record<Level, string> = { debug: "\x1b[2m", info: "", warn: "\x1b[33m", error: "\x1b[31m" };

function hhmmss(d: Date): string {
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/** The prefix naming what a line is about: `APP1.DEV.CONTAINER#1`, padded like the tutorials. */
export function origin(rec: Pick<LogRecord, "svc" | "rid">): string {
  const parts = [rec.svc, rec.rid?.padEnd(7)].filter((p): p is string => Boolean(p));
  return parts.join(".").toUpperCase();
}

export function formatHuman(rec: LogRecord, color = false): string {
  const level = LABEL[rec.level].padEnd(7);
  const lvl = color && COLOR[rec.level] ? `${COLOR[rec.level]}${level}\x1b[0m` : level;
  const who = origin(rec);
  return `${hhmmss(rec.time)} ${lvl} ${who ? `${who} ` : ""}${rec.msg}`;
}

export function humanSink(stream: NodeJS.WritableStream = process.stdout, opts: { color?: boolean; minLevel?: Level } = {}): LogSink {
  const order: Level[] = ["debug", "info", "warn", "error"];
  const min = order.indexOf(opts.minLevel ?? "info");
  return {
    write(rec) {
      if (order.indexOf(rec.level) < min) return;
      stream.write(formatHuman(rec, opts.color) + "\n");
    },
  };
}

/** Collects records in memory; tests and the status evaluator read them back. */
export function memorySink(records: LogRecord[] = []): LogSink & { records: LogRecord[] } {
  return { records, write: (rec) => void records.push(rec) };
}

export class Logger {
  constructor(
    private readonly sinks: LogSink[],
    readonly context: { svc?: string; rid?: string } = {},
  ) {}

  child(context: { svc?: string; rid?: string }): Logger {
    return new Logger(this.sinks, { ...this.context, ...context });
  }

  /** A logger writing to the same sinks plus more (e.g. the service's log file). */
  withSinks(extra: LogSink[]): Logger {
    return new Logger([...this.sinks, ...extra], this.context);
  }

  log(level: Level, msg: string): void {
    const rec: LogRecord = { time: new Date(), level, msg, ...this.context };
    for (const s of this.sinks) s.write(rec);
  }
  debug(msg: string): void {
    this.log("debug", msg);
  }
  info(msg: string): void {
    this.log("info", msg);
  }
  warn(msg: string): void {
    this.log("warn", msg);
  }
  error(msg: string): void {
    this.log("error", msg);
  }
  close(): void {
    for (const s of this.sinks) s.close?.();
  }
}

export const silentLogger = (): Logger => new Logger([]);
