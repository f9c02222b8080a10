// `svcmon`: one row per service in the tutorials' table layout, and its JSON form.
import type { ServiceStatus, Status } from "./status.js";

interface Column {
  head: [string, string];
  /** fixed width, measured on the tutorial's first svcmon table; the name column is computed */
  width: number;
  value(s: ServiceStatus): string;
}

const COLUMNS: readonly Column[] = [
  { head: ["service", "type"], width: 8, value: (s) => s.serviceType },
  { head: ["container", "type"], width: 10, value: (s) => s.mode },
  { head: ["container", "status"], width: 10, value: (s) => s.groups.container },
  { head: ["ip", "status"], width: 10, value: (s) => s.groups.ip },
  { head: ["disk", "status"], width: 11, value: (s) => s.groups.disk },
  { head: ["fs", "status"], width: 11, value: (s) => s.groups.fs },
  { head: ["share", "status"], width: 11, value: () => "n/a" },
  { head: ["app", "status"], width: 11, value: (s) => s.groups.app },
  { head: ["hb", "status"], width: 10, value: (s) => s.hb },
  { head: ["sync", "status"], width: 10, value: (s) => s.sync },
  { head: ["avail", "status"], width: 11, value: (s) => s.avail },
  { head: ["overall", "status"], width: 11, value: (s) => s.overall },
  // last column: never padded
  { head: ["", "frozen"], width: 0, value: (s) => (s.frozen ? "True" : "False") },
];

/** Pad to width, but always leave one space so that an overlong cell cannot glue to the next. */
function cell(text: string, width: number): string {
  return text.length < width ? text.padEnd(width) : `${text} `;
}

/** The svcmon table; rows are printed in the order given. Ends with a newline. */
export function renderSvcmonTable(rows: readonly ServiceStatus[]): string {
  const nameWidth = Math.max(8, ...rows.map((r) => r.name.length)) + 1;
  const line = (name: string, cells: readonly string[]): string =>
    (cell(name, nameWidth) + cells.map((c, i) => cell(c, COLUMNS[i]?.width ?? 0)).join("")).trimEnd();
  const dashes = (c: Column): string => "-".repeat(Math.max(c.head[0].length, c.head[1].length));
  const out = [
    line("service", COLUMNS.map((c) => c.head[0])),
    line("name", COLUMNS.map((c) => c.head[1])),
    line("-------", COLUMNS.map(dashes)),
    ...rows.map((r) => line(r.name, COLUMNS.map((c) => c.value(r)))),
  ];
  return out.join("\n") + "\n";
}

export interface SvcmonJsonRow {
  serviceType: string;
  mode: string;
  container: Status;
  ip: Status;
  disk: Status;
  fs: Status;
  share: Status;
  app: Status;
  hb: Status;
  sync: Status;
  avail: Status;
  overall: Status;
  frozen: boolean;
  updatedAt: string;
}

/** `svcmon --format json`: the same columns, keyed by service name. */
export function svcmonJson(rows: readonly ServiceStatus[]): Record<string, SvcmonJsonRow> {
  const out: Record<string, SvcmonJsonRow> = {};
  for (const s of rows) {
    out[s.name] = {
      serviceType: s.serviceType,
      mode: s.mode,
      container: s.groups.container,
      ip: s.groups.ip,
      disk: s.groups.disk,
      fs: s.groups.fs,
      share: "n/a",
      app: s.groups.app,
      hb: s.hb,
      sync: s.sync,
      avail: s.avail,
      overall: s.overall,
      frozen: s.frozen,
      updatedAt: s.updatedAt,
    };
  }
  return out;
}

/** One row of svcmon's cluster table (SPEC §12): a cluster service as one node sees it. */
export interface ClusterRow {
  service: string;
  node: string;
  /** this node holds the service's owner key */
  owner: boolean;
  token?: number;
  /** undefined: the node published nothing (its agent is down) */
  avail?: Status;
  overall?: Status;
  frozen?: boolean;
  nodeUp: boolean;
}

/** The cluster table: one row per cluster service and node, the owner marked with `*` and its fencing token. */
export function renderClusterTable(title: string, rows: readonly ClusterRow[]): string {
  const head = ["service", "node", "owner", "avail", "overall", "frozen"];
  const cells = rows.map((r) => [
    r.service,
    r.node,
    r.owner ? `*${r.token !== undefined ? ` (${r.token})` : ""}` : "",
    r.avail ?? (r.nodeUp ? "undef" : "node down"),
    r.overall ?? "",
    r.frozen === undefined ? "" : r.frozen ? "True" : "False",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)) + 2);
  const line = (cs: readonly string[]): string => cs.map((c, i) => c.padEnd(widths[i]!)).join("").trimEnd();
  return [title, line(head), line(head.map((h) => "-".repeat(h.length))), ...cells.map(line)].join("\n") + "\n";
}
