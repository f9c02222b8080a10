// disk type vg: an LVM volume group owned by this node while the service runs.
// Ownership is an LVM tag @<nodename> (OpenSVC's convention, which lvm.conf's
// activation/volume_list = ["@*"] can enforce), activation is vgchange -a.
import type { ResourceConfig } from "../../config/types.js";
import { ActionError } from "../../util/errors.js";
import type { Logger } from "../../util/log.js";
import { nodeName } from "../../util/paths.js";
import { run, type RunResult } from "../../util/run.js";
import { formatCommand } from "../../util/shell-words.js";
import type { DriverContext, ResourceDriver, ResourceState } from "../driver.js";

export interface LvState {
  name: string;
  active: boolean;
  /** lvs cannot tell (lv_attr state "X": no device-mapper, or a cluster lock missing) */
  unknown: boolean;
}

export interface VgReport {
  exists: boolean;
  tags: string[];
  lvs: LvState[];
}

/** `vgs/lvs --reportformat json` → rows of the first report section. */
export function jsonRows(out: string, section: "vg" | "lv"): Record<string, string>[] {
  const parsed: unknown = JSON.parse(out);
  const report = (parsed as { report?: unknown }).report;
  if (!Array.isArray(report)) throw new Error("unexpected lvm json report");
  const rows: Record<string, string>[] = [];
  for (const part of report as unknown[]) {
    const list = (part as Record<string, unknown>)[section];
    if (!Array.isArray(list)) continue;
    for (const row of list as unknown[]) {
      if (typeof row !== "object" || row === null) continue;
      rows.push(Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([k, v]) => [k, String(v)])));
    }
  }
  return rows;
}

export function lvStateOf(row: Record<string, string>): LvState {
  const attr = row.lv_attr ?? "";
  return { name: row.lv_name ?? "", active: /active/.test(row.lv_active ?? "") || attr.charAt(4) === "a", unknown: attr.charAt(4) === "X" };
}

/** The distinct lines of lvm's messages, in order: lvm repeats the same device-mapper complaint once per LV. */
function lvmMessage(r: RunResult): string {
  const lines = (r.stderr + "\n" + r.stdout)
    .split("\n")
    .map((l) => l.trim().replace(/\.$/, ""))
    .filter(Boolean);
  return [...new Set(lines)].join("; ");
}

// Old LVM (< 2.02.158) has no json report; then fall back to a separated text report.
let jsonReports = true;

export class VolumeGroup implements ResourceDriver {
  private readonly name: string;

  constructor(
    _ctx: DriverContext,
    readonly cfg: ResourceConfig,
    private readonly log: Logger,
  ) {
    this.name = cfg.text.name ?? "";
  }

  private get tag(): string {
    return nodeName();
  }

  private lvm(argv: string[], quiet = false): Promise<RunResult> {
    // lvm complains about every inherited file descriptor otherwise
    return run(this.log, argv, { check: false, quiet, timeoutMs: 120_000, env: { LVM_SUPPRESS_FD_WARNINGS: "1" } });
  }

  private async rows(cmd: "vgs" | "lvs", fields: string[]): Promise<Record<string, string>[] | undefined> {
    if (jsonReports) {
      const r = await this.lvm([cmd, "--reportformat", "json", "-o", fields.join(","), this.name], true);
      if (/ENOENT/.test(r.stderr) && r.exitCode === 127) throw new ActionError(`${cmd} not found: is lvm2 installed?`, this.cfg.rid);
      if (r.exitCode === 0) return jsonRows(r.stdout, cmd === "vgs" ? "vg" : "lv");
      if (/not found/i.test(r.stderr)) return undefined;
      if (!/reportformat|unrecogni[sz]ed option/i.test(r.stderr)) throw new ActionError(`${cmd} ${this.name} failed: ${lvmMessage(r)}`, this.cfg.rid);
      jsonReports = false;
    }
    const r = await this.lvm([cmd, "--noheadings", "--separator", "|", "-o", fields.join(","), this.name], true);
    if (r.exitCode !== 0) {
      if (/not found/i.test(r.stderr)) return undefined;
      throw new ActionError(`${cmd} ${this.name} failed: ${lvmMessage(r)}`, this.cfg.rid);
    }
    return r.stdout
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => Object.fromEntries(l.trim().split("|").map((v, i) => [fields[i] ?? String(i), v.trim()])));
  }

  async report(): Promise<VgReport> {
    const vgs = await this.rows("vgs", ["vg_name", "vg_tags"]);
    const vg = vgs?.find((r) => r.vg_name === this.name);
    if (!vg) return { exists: false, tags: [], lvs: [] };
    const lvs = (await this.rows("lvs", ["lv_name", "lv_active", "lv_attr"])) ?? [];
    return { exists: true, tags: (vg.vg_tags ?? "").split(",").filter(Boolean), lvs: lvs.map(lvStateOf) };
  }

  async status(): Promise<ResourceState> {
    const rep = await this.report();
    if (!rep.exists) return { status: "down", log: [{ level: "warn", message: `volume group ${this.name} not found` }] };
    const log: ResourceState["log"] = [];
    const tagged = rep.tags.includes(this.tag);
    const active = rep.lvs.filter((l) => l.active).length;
    const total = rep.lvs.length;
    const unknown = rep.lvs.filter((l) => l.unknown).map((l) => l.name);
    const others = rep.tags.filter((t) => t !== this.tag);
    if (others.length) log.push({ level: "info", message: `also tagged ${others.map((t) => `@${t}`).join(", ")}` });
    if (unknown.length) log.push({ level: "warn", message: `activation state unknown for ${unknown.join(", ")} (is device-mapper available?)` });
    if (tagged && active === total) return { status: "up", log };
    if (!tagged && active === 0) return { status: "down", log };
    log.push({ level: "warn", message: tagged ? `tagged @${this.tag} but ${active}/${total} logical volumes active` : `not tagged @${this.tag} but ${active}/${total} logical volumes active` });
    return { status: "warn", log };
  }

  async start(): Promise<boolean> {
    const rep = await this.report();
    if (!rep.exists) throw new ActionError(`volume group ${this.name} not found (are its physical volumes visible? see pvs)`, this.cfg.rid);
    const tagged = rep.tags.includes(this.tag);
    const allActive = rep.lvs.every((l) => l.active);
    if (tagged && allActive) {
      this.log.info(`${this.name} is already up`);
      return false;
    }
    if (!tagged) await this.change(["--addtag", `@${this.tag}`], `cannot tag volume group ${this.name}`);
    const act = await this.lvm(["vgchange", "-a", "y", this.name]);
    if (act.exitCode !== 0) {
      const dm = /device-mapper/i.test(act.stderr) ? " (the kernel has no usable device-mapper: load dm_mod; without it no logical volume can be activated)" : "";
      // Leave the volume group as it was found: a failed start must not claim it.
      if (!tagged) await this.untagAfterFailure();
      throw new ActionError(`cannot activate volume group ${this.name}${dm}: ${formatCommand(act.argv)} exited ${act.exitCode}: ${lvmMessage(act)}`, this.cfg.rid);
    }
    return true;
  }

  private async untagAfterFailure(): Promise<void> {
    const r = await this.lvm(["vgchange", "--deltag", `@${this.tag}`, this.name]);
    if (r.exitCode !== 0) this.log.warn(`could not remove the tag @${this.tag} again: ${lvmMessage(r)}`);
  }

  async stop(): Promise<boolean> {
    const rep = await this.report();
    if (!rep.exists) {
      this.log.info(`${this.name} is already down (volume group not found)`);
      return false;
    }
    const tagged = rep.tags.includes(this.tag);
    const busy = rep.lvs.some((l) => l.active || l.unknown);
    if (!tagged && !busy) {
      this.log.info(`${this.name} is already down`);
      return false;
    }
    // Deactivate before dropping the tag (the tutorial drops it first): if an
    // LV is still open the VG stays tagged, so status and a retry stay consistent.
    if (busy) await this.change(["-a", "n"], `cannot deactivate volume group ${this.name} (a logical volume still open? check mounts and users)`);
    if (tagged) await this.change(["--deltag", `@${this.tag}`], `cannot untag volume group ${this.name}`);
    return true;
  }

  private async change(args: string[], what: string): Promise<void> {
    const r = await this.lvm(["vgchange", ...args, this.name]);
    if (r.exitCode !== 0) throw new ActionError(`${what}: ${formatCommand(r.argv)} exited ${r.exitCode}: ${lvmMessage(r)}`, this.cfg.rid);
  }
}
