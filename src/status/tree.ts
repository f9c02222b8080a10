// `print status`: the status tree in the tutorials' layout (SPEC §7).
import { compareRids } from "../util/natural.js";
import type { ResourceGroup, ResourceStatus, ServiceStatus, Status } from "./status.js";

// The tutorials list containers, then disks (vg), filesystems, addresses.
const TREE_ORDER: readonly ResourceGroup[] = ["container", "app", "disk", "fs", "ip"];

// Columns measured on the tutorials' trees.
const FLAGS_COL = 21;
const STATUS_COL = 26;
const LABEL_COL = 35;

// ANSI colors of OpenSVC's colorize_status.
const COLOR: Record<Status, string> = {
  up: "32",
  "stdby up": "32",
  down: "31",
  "stdby down": "31",
  warn: "33",
  "n/a": "94",
  undef: "94",
};

export interface TreeOptions {
  color?: boolean;
}

/** Pad to width, but always leave one space so that an overlong cell cannot glue to the next. */
function cell(text: string, width: number): string {
  return text.length < width ? text.padEnd(width) : `${text} `;
}

function flags(r: ResourceStatus): string {
  return (r.monitored ? "M" : ".") + (r.disabled ? "D" : ".") + (r.optional ? "O" : ".") + (r.encap ? "E" : ".");
}

function treeOrder(resources: readonly ResourceStatus[]): ResourceStatus[] {
  return [...resources].sort(
    (a, b) => TREE_ORDER.indexOf(a.group) - TREE_ORDER.indexOf(b.group) || compareRids(a.rid, b.rid),
  );
}

export function renderStatusTree(s: ServiceStatus, opts: TreeOptions = {}): string {
  // Pad on the plain word, then color it, so colors never shift the columns.
  const status = (st: Status, width: number): string => {
    const padded = cell(st, width);
    return opts.color ? `\x1b[${COLOR[st]}m${st}\x1b[0m${padded.slice(st.length)}` : padded;
  };
  const lines = [s.name, cell("overall", STATUS_COL) + status(s.overall, 0)];
  // Service-level messages (none in the tutorials) hang under overall, so that a warn there says why.
  for (const entry of s.log) lines.push(cell("|", LABEL_COL) + `# ${entry.message}`);
  lines.push(cell("|- avail", STATUS_COL) + status(s.avail, 0));
  const resources = treeOrder(s.resources);
  resources.forEach((r, i) => {
    const last = i === resources.length - 1;
    lines.push(
      cell((last ? "|  '- " : "|  |- ") + r.rid, FLAGS_COL) +
        cell(flags(r), STATUS_COL - FLAGS_COL) +
        status(r.status, LABEL_COL - STATUS_COL) +
        r.label,
    );
    // Messages hang under their resource; the branch bar continues only if more resources follow.
    for (const entry of r.log) lines.push(cell(last ? "|" : "|  |  |", LABEL_COL) + `# ${entry.message}`);
  });
  lines.push(cell("|- sync", STATUS_COL) + status(s.sync, 0), cell("'- hb", STATUS_COL) + status(s.hb, 0));
  return lines.map((l) => l.trimEnd()).join("\n") + "\n";
}
