// Keywords of the [DEFAULT] section (SPEC §4).
import { z } from "zod";
import { kw, type KeywordDef } from "../config/keyword.js";

export const SERVICE_TYPES = ["PRD", "PPRD", "REC", "INT", "DEV", "TST", "TMP", "DRP", "FOR", "PRA", "PRJ", "STG"] as const;

const nodeList = z.string().transform((s) => s.split(/[\s,]+/).filter(Boolean));

export const defaultKeywords: KeywordDef[] = [
  { name: "nodes", schema: nodeList, default: "{nodename}", text: "nodes allowed to run the service" },
  { name: "autostart_node", schema: nodeList, default: "{nodename}", text: "node that starts the service on boot" },
  {
    name: "topology",
    schema: kw.oneOf(["failover", "flex"]),
    text: "a cluster service (SPEC §12, needs [cluster] in node.conf): failover runs on one node of nodes at a time, flex on flex_target nodes at once; its config lives in etcd",
  },
  { name: "flex_target", schema: kw.int(1), text: "topology = flex: on how many nodes the service runs (default: every node of nodes)" },
  {
    name: "orchestrate",
    schema: kw.oneOf(["no", "start", "ha"]),
    default: "no",
    text: "a cluster service: ha starts it on the first live node of nodes and moves it when its node dies; start only places it on the first node; no leaves placement to operators (start, switch, takeover, giveback)",
  },
  { name: "mode", schema: kw.oneOf(["hosted"]), default: "hosted", text: "hosted: the service runs on this host" },
  { name: "service_type", aliases: ["env"], schema: kw.oneOf(SERVICE_TYPES, true), default: "TST", text: SERVICE_TYPES.join(", ") },
  { name: "app", schema: kw.string(), text: "application code (free text)" },
  { name: "docker_data_dir", aliases: ["container_data_dir"], schema: kw.absPath(), text: "data root of the service's private docker daemon; setting it gives the service a private daemon" },
  {
    name: "docker_daemon_private",
    schema: kw.bool(),
    text: "true: containers run on the service's own dockerd (its data root: docker_data_dir, else <state dir>/docker); false: on the host's dockerd (DOCKER_HOST if it names a unix socket, else /var/run/docker.sock), which svcmgr never starts nor stops, shared with everyone who can reach that socket (default: true when docker_data_dir is set, else false)",
  },
  { name: "docker_daemon_args", schema: kw.string(), default: "", text: "extra dockerd arguments, e.g. --ip 37.59.71.25" },
  { name: "docker_socket_group", schema: z.string().regex(/^[a-z_][a-z0-9_-]*\$?$/i, "not a unix group name"), text: "group owning the private docker socket (default: docker if it exists, else root)" },
  { name: "docker_socket_mode", schema: kw.mode(), default: "0660", text: "mode of the private docker socket" },
  { name: "docker_bridge_cidr", schema: kw.cidr(), text: "subnet of the service's own bridge (default: a /24 of 172.30.0.0/16 that no host interface and no other service of any root uses, kept in the state dir and claimed in /run/svcmgr/subnets)" },
  { name: "rollback", schema: kw.bool(), default: "true", text: "roll back a failed start" },
  {
    name: "monitor_interval",
    schema: kw.duration().pipe(z.number().min(1000, "at least 1s")),
    default: "10s",
    text: "how often the agent evaluates the resources no event stream reports on (ip, disk, fs, app)",
  },
  {
    name: "monitor_action",
    schema: z.string().transform((s, ctx) => {
      const v = s.trim();
      if (v === "none" || v === "freezestop") return v;
      ctx.addIssue({ code: "custom", message: v === "switch" ? `"switch" needs a cluster (a [cluster] section in node.conf)` : `"${s}" is not one of none, freezestop` });
      return z.NEVER;
    }),
    default: "none",
    text: "what the agent does, once, when a resource with monitor = true has used up its restarts: none, or freezestop (freeze the service, then stop it)",
  },
];

export const subsetKeywords: KeywordDef[] = [
  { name: "parallel", schema: kw.bool(), default: "false", text: "start and stop the subset's resources at once" },
];
