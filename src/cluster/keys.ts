// The cluster's keys in etcd, all under /svcmgr/<cluster>/ (SPEC §12):
//   nodes/<node>              the node's agent, on its lease (one live agent per name)
//   svc/<svc>/config          the service's config text (compare-and-swap on its mod_revision)
//   svc/<svc>/intent          up | down, as operators last asked
//   svc/<svc>/target          the node a switch, takeover or giveback asked for
//   svc/<svc>/owner/<slot>    the node running it, on that node's lease; its create_revision is the fencing token
//   svc/<svc>/status/<node>   what that node's agent sees of it, on that node's lease
export interface ClusterKey {
  kind: "node" | "config" | "intent" | "target" | "owner" | "status";
  svc?: string;
  /** the node (node, status) or the slot (owner) */
  sub?: string;
}

export class Keys {
  readonly root: string;
  constructor(readonly cluster: string) {
    this.root = `/svcmgr/${cluster}/`;
  }
  node = (n: string): string => `${this.root}nodes/${n}`;
  get nodes(): string {
    return `${this.root}nodes/`;
  }
  svc = (s: string): string => `${this.root}svc/${s}/`;
  config = (s: string): string => `${this.svc(s)}config`;
  intent = (s: string): string => `${this.svc(s)}intent`;
  target = (s: string): string => `${this.svc(s)}target`;
  owner = (s: string, slot: number): string => `${this.svc(s)}owner/${slot}`;
  status = (s: string, n: string): string => `${this.svc(s)}status/${n}`;

  parse(key: string): ClusterKey | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const parts = key.slice(this.root.length).split("/");
    if (parts[0] === "nodes" && parts.length === 2) return { kind: "node", sub: parts[1] };
    if (parts[0] !== "svc" || parts.length < 3) return undefined;
    const svc = parts[1]!;
    if (parts.length === 3 && (parts[2] === "config" || parts[2] === "intent" || parts[2] === "target")) return { kind: parts[2], svc };
    if (parts.length === 4 && (parts[2] === "owner" || parts[2] === "status")) return { kind: parts[2], svc, sub: parts[3] };
    return undefined;
  }
}
