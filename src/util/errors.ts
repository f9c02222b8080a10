// Errors are values with a type, a message a user can act on, and the exit
// code the CLI should use. Only the CLI prints them; expected failures never
// show a stack trace.

export abstract class SvcmgrError extends Error {
  abstract readonly exitCode: 1 | 2;
}

/** Bad command line: unknown option or action, bad argument. */
export class UsageError extends SvcmgrError {
  readonly exitCode = 2 as const;
}

export interface ConfigProblem {
  file: string;
  line: number;
  section?: string;
  key?: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = [p.section !== undefined ? `[${p.section}]` : "", p.key ?? ""].filter(Boolean).join(" ");
  return `${p.file}:${p.line}: ${where ? `${where}: ` : ""}${p.message}`;
}

/** An invalid configuration: one line per problem, FILE:LINE: [SECTION] KEY: message. */
export class ConfigError extends SvcmgrError {
  readonly exitCode = 2 as const;
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

/**
 * What the CLI prints for an error: a config error is its problem lines,
 * exactly as `validate config` prints them (they name their file); any other
 * error is one line after `prefix` (the program or the service).
 */
export function errorText(e: SvcmgrError, prefix: string): string {
  return e instanceof ConfigError ? `${e.message}\n` : `${prefix}: ${e.message}\n`;
}

/** An action that failed on the system (a resource did not start, a lock was not obtained). */
export class ActionError extends SvcmgrError {
  readonly exitCode = 1 as const;
  constructor(
    message: string,
    readonly rid?: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
