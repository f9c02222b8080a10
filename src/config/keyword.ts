// Keyword definitions: every configuration keyword has a type (a zod schema
// turning the INI text into a value), a default, aliases and a line of doc.
import { z } from "zod";

export interface KeywordDef {
  name: string;
  aliases?: readonly string[];
  /** converts the (reference-expanded) text to the typed value; its issues become validation errors */
  schema: z.ZodType;
  /** the default as INI text, or a function of the context for computed defaults */
  default?: string;
  required?: boolean;
  /** references such as {disk#1.exposed_dev} that only exist at action time are allowed */
  runtimeRefs?: boolean;
  text: string;
}

const TRUE = ["true", "yes", "y", "on", "1"];
const FALSE = ["false", "no", "n", "off", "0"];

export const kw = {
  string: () => z.string(),
  nonEmpty: () => z.string().min(1, "must not be empty"),
  bool: () =>
    z.string().transform((s, ctx) => {
      const v = s.trim().toLowerCase();
      if (TRUE.includes(v)) return true;
      if (FALSE.includes(v)) return false;
      ctx.addIssue({ code: "custom", message: `not a boolean: "${s}" (use true or false)` });
      return z.NEVER;
    }),
  int: (min = 0) =>
    z
      .string()
      .regex(/^\d+$/, "not an integer")
      .transform(Number)
      .pipe(z.number().int().min(min)),
  /** seconds, or a number with a unit: 500ms, 10s, 2m, 1h */
  duration: () =>
    z.string().transform((s, ctx) => {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
      if (!m) {
        ctx.addIssue({ code: "custom", message: `not a duration: "${s}" (e.g. 30s, 2m)` });
        return z.NEVER;
      }
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
      return Math.round(Number(m[1]) * unit);
    }),
  /** bytes: 100m, 1g, 512k, or a plain number of bytes */
  size: () =>
    z.string().transform((s, ctx) => {
      const m = /^(\d+)([kmgt]i?b?)?$/i.exec(s.trim());
      if (!m) {
        ctx.addIssue({ code: "custom", message: `not a size: "${s}" (e.g. 100m, 1g)` });
        return z.NEVER;
      }
      const unit = (m[2] ?? "").charAt(0).toLowerCase();
      const mult = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] ?? 1;
      return Number(m[1]) * mult;
    }),
  /** whitespace or comma separated list */
  list: () => z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean)),
  oneOf: (values: readonly [string, ...string[]], caseInsensitive = false) =>
    z.string().transform((s, ctx) => {
      const v = caseInsensitive ? s.trim().toUpperCase() : s.trim();
      if ((values as readonly string[]).includes(v)) return v;
      ctx.addIssue({ code: "custom", message: `"${s}" is not one of ${values.join(", ")}` });
      return z.NEVER;
    }),
  /** octal file mode such as 0660 */
  mode: () =>
    z
      .string()
      .regex(/^0?[0-7]{3,4}$/, "not an octal file mode (e.g. 0660)")
      .transform((s) => parseInt(s, 8)),
  cidr: () =>
    z
      .string()
      .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/, "not an IPv4 subnet (e.g. 172.30.5.0/24)")
      .refine((s) => s.split(/[./]/).slice(0, 4).every((o) => Number(o) <= 255), "octet out of range"),
  absPath: () => z.string().regex(/^\//, "must be an absolute path").refine((s) => !s.includes("\n"), "must be one line"),
};

/** The keywords every resource section accepts. */
export const commonResourceKeywords: KeywordDef[] = [
  { name: "type", schema: kw.nonEmpty(), text: "driver of the resource" },
  { name: "tags", schema: kw.list(), default: "", text: "tags used by --tags selections" },
  { name: "subset", schema: z.string().regex(/^[A-Za-z0-9_.-]+$/, "subset names are letters, digits, _ . -"), text: "subset this resource belongs to; subsets run in alphanumeric order" },
  { name: "optional", schema: kw.bool(), default: "false", text: "a failure of this resource does not fail the action nor make the service down" },
  { name: "disable", schema: kw.bool(), default: "false", text: "ignore this resource in actions and status" },
  { name: "standby", schema: kw.bool(), default: "false", text: "keep this resource up even when the service is stopped" },
  { name: "monitor", schema: kw.bool(), default: "false", text: "the resource is monitored (the M flag): once its restarts are used up, the agent runs the service's monitor_action" },
  { name: "restart", schema: kw.int(0), default: "0", text: "how many times the agent restarts the resource when it fails (given back after 60 s up)" },
  { name: "restart_delay", schema: kw.duration(), default: "500ms", text: "the agent's first wait before a restart, doubled after each one, at most 60 s" },
];

// moved to util/suggest.ts (no zod): the CLI suggests action names before any config is read
export { editDistance, suggest } from "../util/suggest.js";

export function findKeyword(defs: readonly KeywordDef[], key: string): KeywordDef | undefined {
  const k = key.toLowerCase();
  return defs.find((d) => d.name === k || d.aliases?.includes(k));
}
