// What the container starts of one action share on their daemon, so that a
// start makes no call the bare create and start calls do not need:
// - one listing of the service's containers, taken once before the first
//   start, instead of an inspect per container;
// - whether each image defines a healthcheck, asked once per image;
// - one subscription to the `die` events of the service's containers, open
//   for the whole action: a container this action started that dies before
//   the action is over has failed its start (SPEC §6: it exited at once), and
//   the action fails and rolls back as soon as that is known. No fixed wait.
// After a killed stop (its lock taken over), its `docker stop` calls may still
// be under way in dockerd, which carries them on: the action asks the daemon
// which containers got a `kill` since that stop began and no `die` yet (one
// call, only then), and such a container found running is waited for until
// it is down, then started again. A container found running that dies during
// the action all the same (a stop the daemon had not begun yet) went down:
// the action starts it again at its end.
//
// A die event comes 20-130 ms after the exit (dockerd sends it once it has
// cleaned up after the container), so the containers an action started last
// (no other start was issued after theirs returned) are looked at once more
// by its final status evaluation: their state, and their main process itself
// (gone within a few ms when the command fails at once), as the daemon may
// not have seen the exit yet. A container whose start returned before
// another start was issued, and at least SETTLED_MS before the evaluation,
// had more than twice that latency for its die to come: the evaluation takes
// the state its start established (settled()) instead of asking the engine
// again.
import fs from "node:fs";
import { pidAlive } from "../../util/proc.js";
import type { ContainerInspect, ContainerSummary, DockerEngine, EngineEvent } from "./engine.js";

/** The listing's answer for one name: its summary, "absent" when the service has no such container, undefined when not known (ask the engine). */
export type Known = ContainerSummary | "absent" | undefined;

/**
 * Its main process (host pid, checked to be in this container's cgroup) is
 * gone. `visible`: the daemon's processes are in this pid namespace (the
 * private daemon, which svcmgr runs), so a pid not found is a process gone;
 * otherwise only a process seen in the container's cgroup and dead is.
 */
function mainProcessGone(info: ContainerInspect, visible: boolean): boolean {
  const pid = info.State.Pid;
  if (!pid) return false;
  let cgroup: string;
  try {
    cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch {
    return visible;
  }
  if (!cgroup.includes(info.Id)) return visible; // the pid is another process's now
  return !pidAlive(pid);
}

/** how long after its start returned a container's die has surely come (it comes 20-130 ms after the exit) */
const SETTLED_MS = 300;

const hasTest = (test: readonly string[] | null | undefined): boolean => Array.isArray(test) && test.length > 0 && test[0] !== "NONE";

export class StartWatch {
  private opened: Promise<void> | undefined;
  private listing: Map<string, ContainerSummary> | undefined;
  private readonly asked = new Set<string>();
  private readonly images = new Map<string, Promise<boolean>>();
  /** container id -> rid, for the containers this action is starting */
  private readonly watched = new Map<string, string>();
  /** how many starts this action issued so far; and, per container started, that count when its start returned */
  private issued = 0;
  private readonly returned = new Map<string, { issued: number; at: number }>();
  /** container id -> rid, for the containers found running (already up) */
  private readonly found = new Map<string, string>();
  private readonly down = new Set<string>();
  /** container ids a killed stop is still stopping (a kill since it began, no die yet) */
  private readonly stopping = new Set<string>();
  /** container ids whose die this action's subscription saw */
  private readonly died = new Set<string>();
  private readonly downWaiters = new Map<string, (down: boolean) => void>();
  private readonly reported = new Set<string>();
  private readonly pending = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  /**
   * `label`: the service's label filter (`com.svcmgr.service=NAME`);
   * `report(rid, error)`: a watched container failed (the action fails);
   * `visible`: the daemon's processes are in this pid namespace;
   * `killedStopSince`: when a killed stop (or restart) of the service began
   * (epoch ms), whose lock this action took over.
   */
  constructor(
    private readonly docker: DockerEngine,
    private readonly label: string,
    private readonly report: (rid: string, error: string) => void,
    private readonly visible = false,
    private readonly killedStopSince?: number,
  ) {}

  /**
   * List the service's containers, ask whether these images define a
   * healthcheck, and subscribe to the die events, all at once; once per
   * action (later calls share the first). Resolves once subscribed.
   */
  open(images: readonly string[]): Promise<void> {
    this.opened ??= (async () => {
      for (const image of images) this.imageHealthcheck(image).catch(() => undefined);
      const [list, events] = await Promise.all([
        this.docker.listContainers({ all: true, filters: { label: [this.label] } }),
        this.docker.events({ filters: { type: ["container"], event: ["die"], label: [this.label] } }, this.abort.signal),
      ]);
      this.listing = new Map(list.flatMap((c) => c.Names.map((n) => [n.replace(/^\//, ""), c] as const)));
      void this.follow(events);
      if (this.killedStopSince !== undefined) await this.stopsUnderWay(this.killedStopSince);
    })();
    return this.opened;
  }

  private async follow(events: AsyncIterable<{ Actor: { ID: string; Attributes: Record<string, string> } }>): Promise<void> {
    try {
      for await (const ev of events) {
        const id = ev.Actor.ID;
        this.died.add(id);
        this.stopping.delete(id);
        this.downWaiters.get(id)?.(true);
        this.failed(id, `container exited with code ${ev.Actor.Attributes.exitCode ?? "?"} right after start`);
      }
    } catch {
      // the daemon went away: the calls of the action say so
    }
  }

  /**
   * The containers the killed stop is still stopping: a kill since it began
   * (a second early, for the clocks' rounding) and no die after it, up to
   * now (the die subscription, already open, sees the later ones).
   */
  private async stopsUnderWay(sinceMs: number): Promise<void> {
    const open = new Set<string>();
    try {
      const past: AsyncIterable<EngineEvent> = await this.docker.events(
        { since: Math.floor(sinceMs / 1000) - 1, until: (Date.now() / 1000).toFixed(3), filters: { type: ["container"], event: ["kill", "die"], label: [this.label] } },
        this.abort.signal,
      );
      for await (const ev of past) {
        if (ev.Action === "kill") open.add(ev.Actor.ID);
        else open.delete(ev.Actor.ID);
      }
    } catch {
      // not told: a container that goes down during the action is still started again at its end
    }
    for (const id of open) if (!this.died.has(id)) this.stopping.add(id);
  }

  /** Is a killed stop still stopping this container (found running)? */
  beingStopped(id: string): boolean {
    return this.stopping.has(id);
  }

  /** Wait for its die, up to `ms`; false when it did not come (it is taken as not being stopped any more). */
  waitDown(id: string, ms: number): Promise<boolean> {
    if (!this.stopping.has(id)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (down: boolean): void => {
        clearTimeout(timer);
        this.downWaiters.delete(id);
        this.stopping.delete(id);
        resolve(down);
      };
      const timer = setTimeout(() => done(false), ms);
      this.downWaiters.set(id, done);
    });
  }

  /** The listed container of this name, answered once per name (a second start in the same action asks the engine). */
  take(name: string): Known {
    if (!this.listing || this.asked.has(name)) return undefined;
    this.asked.add(name);
    return this.listing.get(name) ?? "absent";
  }

  /** Does this image's config define a healthcheck? Asked once per image per action. */
  imageHealthcheck(image: string): Promise<boolean> {
    let p = this.images.get(image);
    if (!p) {
      p = this.docker.inspectImage(image).then((i) => hasTest(i?.Config?.Healthcheck?.Test));
      this.images.set(image, p);
    }
    return p;
  }

  /** This container is about to be started by this action: a die from now on fails the action. */
  watch(id: string, rid: string): void {
    this.found.delete(id);
    this.down.delete(rid);
    this.watched.set(id, rid);
    this.returned.delete(id);
    this.issued++;
  }

  /** Its start returned and it is operational (running, healthy when it has a healthcheck). */
  operational(id: string): void {
    if (this.watched.has(id)) this.returned.set(id, { issued: this.issued, at: Date.now() });
  }

  /**
   * Can the final evaluation take the state this container's start
   * established, without asking the engine? Yes when this action started it,
   * no die came for it, it was not stopped since (a rollback), another start
   * was issued after its own returned, and that was SETTLED_MS ago or more.
   */
  settled(id: string): boolean {
    const r = this.returned.get(id);
    if (r === undefined || r.issued === this.issued || Date.now() - r.at < SETTLED_MS) return false;
    return this.watched.has(id) && !this.died.has(id) && !this.reported.has(id);
  }

  /** This container was found running: if it goes down during the action, it is started again at the end. */
  foundUp(id: string, rid: string): void {
    this.found.set(id, rid);
  }

  /** the rids of containers found running that went down since */
  wentDown(): string[] {
    return [...this.down];
  }

  /** A container id (stopped on purpose: a rollback) or a rid (its start threw: that is its failure): a die is no failure any more. */
  unwatch(idOrRid: string): void {
    for (const m of [this.watched, this.found]) for (const [id, rid] of m) if (id === idOrRid || rid === idOrRid) m.delete(id);
  }

  /**
   * What a status evaluation saw: a watched container that is not running,
   * or whose main process is gone (the daemon has not seen it yet), has
   * failed its start.
   */
  observed(info: ContainerInspect): void {
    const found = this.found.get(info.Id);
    if (found !== undefined && !info.State.Running) this.down.add(found);
    if (!this.watched.has(info.Id)) return;
    if (!info.State.Running) this.failed(info.Id, `container exited with code ${info.State.ExitCode} right after start`);
    else if (mainProcessGone(info, this.visible)) this.failed(info.Id, "container exited right after start");
  }

  private failed(id: string, message: string): void {
    const found = this.found.get(id);
    if (found !== undefined) this.down.add(found);
    const rid = this.watched.get(id);
    if (rid === undefined || this.reported.has(id)) return;
    this.reported.add(id);
    const p = this.lastLogLines(id).then((tail) => this.report(rid, message + tail));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async lastLogLines(id: string): Promise<string> {
    try {
      const text = (await this.docker.containerLogs(id, 5)).trim();
      return text ? `; last output: ${text.split("\n").join(" | ")}` : "";
    } catch {
      return "";
    }
  }

  /** Every failure seen so far is reported (before the next ordered start, and at the end). */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all(this.pending);
  }

  close(): void {
    for (const done of [...this.downWaiters.values()]) done(false);
    this.abort.abort();
  }
}
