// The main job on a built-in demo: the first tutorial's six services and the
// second tutorial's complex orchestration, created, started, shown, stopped,
// in a root of their own, leaving nothing running. Images come from a local
// registry filled with busybox-based images built here (no registry is reachable).
// On the way, the node agent: started, a container of app1.dev killed and
// brought back by it, the agent stopped before the final stop.
import fs from "node:fs";
import path from "node:path";
import Docker from "dockerode";
import { execa } from "execa";
import { pidAlive, signal, waitPidGone } from "../src/util/proc.js";
import { LAUNCHER } from "../test/support/cli.js";
import { cleanupEverything, leftovers, makeTempRoot } from "../test/support/docker-fixture.js";
import { startImageRegistry } from "../test/support/registry-images.js";
import { keepRunning } from "./demo-keep.js";

const root = makeTempRoot("svdemo-");
const tools = path.join(root, "tools");
fs.mkdirSync(tools);
for (const name of ["svcmgr", "svcmon", "allupservices"]) fs.symlinkSync(LAUNCHER, path.join(tools, name));
const env: NodeJS.ProcessEnv = { ...process.env, SVCMGR_ROOT: root, PATH: `${path.join(root, "bin")}:${tools}:${process.env.PATH ?? ""}` };
delete env.DOCKER_HOST;

async function sh(command: string): Promise<void> {
  process.stdout.write(`\n\x1b[1mroot@demo:/# ${command}\x1b[0m\n`);
  const r = await execa("bash", ["-c", command], { env, stdio: "inherit", reject: false });
  if (r.exitCode !== 0) throw new Error(`demo step failed (exit ${r.exitCode}): ${command}`);
}

/** The live agent of the demo's root. */
function agentPid(): number | undefined {
  try {
    const pid = (JSON.parse(fs.readFileSync(path.join(root, "var", "_agent", "agent.pid"), "utf8")) as { pid: number }).pid;
    return pidAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Kill a container through the service's docker passthrough; show how long the agent took to run it again, and its log line. */
async function killAndWatch(svc: string): Promise<void> {
  const docker = new Docker({ socketPath: path.join(root, "var", svc, "docker.sock") });
  const container = docker.getContainer(`${svc}.container.1`);
  const before = (await container.inspect()).State.StartedAt;
  await sh(`svcmgr -s ${svc} docker kill ${svc}.container.1`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { State } = await container.inspect();
    if (State.Running && State.StartedAt !== before) {
      // the daemon's own times: when the killed process ended, when the new one started
      const ms = Date.parse(State.StartedAt) - Date.parse(State.FinishedAt);
      console.log(`\n${svc}.container.1 died at ${State.FinishedAt.slice(11, 23)} and was running again at ${State.StartedAt.slice(11, 23)}: ${ms} ms later`);
      break;
    }
    if (Date.now() > deadline) throw new Error(`${svc}.container.1 was not restarted by the agent within 20 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const apps = ["app1", "app2"];
const envs = ["dev", "int", "prd"];
const services = apps.flatMap((a) => envs.map((e) => `${a}.${e}`));

async function main(): Promise<void> {
  console.log(`svcmgr demo in SVCMGR_ROOT=${root}: building busybox images and a local registry…`);
  const images = await startImageRegistry([...services.map((s) => ({ ref: s.replace(".", ":") })), { ref: "opensvc/busybox:date" }]);
  let done = false;
  try {
    console.log("\n=== Docker Multiple Instances: six segregated environments ===");
    await sh(`for appli in ${apps.join(" ")}; do for env in ${envs.join(" ")}; do echo "--- creating service $appli.$env ---"; svcmgr create -s $appli.$env --env $(echo $env | tr a-z A-Z); done; done`);
    for (const s of services) {
      await execa(LAUNCHER, ["-s", s, "set", "--kw", `docker_data_dir=${root}/opt/${s}`, "--kw", "container#1.type=docker", "--kw", `container#1.run_image=${images.image(s.replace(".", ":"))}`, "--kw", "container#1.run_command=sleep 86400", "--kw", "container#1.run_args=--init"], { env });
    }
    await sh("svcmon");
    await sh("svcmgr -s app1.dev print config");
    for (const s of services) await sh(`svcmgr -s ${s} docker pull -q ${images.image(s.replace(".", ":"))}`);
    await sh("svcmgr -s app1.dev docker images");
    await sh("app1.dev print status");
    await sh("app1.dev start");
    await sh("app1.dev print status");
    await sh("app1.dev docker ps");
    await sh("svcmgr -s 'app1.int,app1.prd,app2.*' start --parallel");
    await sh("svcmon");

    console.log("\n=== The node agent: a killed container comes back ===");
    await sh("svcmgr -s app1.dev set --kw container#1.restart=3 --kw container#1.restart_delay=100ms");
    // its first start after a boot runs `boot`: the six services it would start are up already
    await sh("svcmgr daemon start");
    await sh("svcmgr daemon status");
    await killAndWatch("app1.dev");
    await sh("svcmgr -s app1.dev logs | grep 'restart 1/3'");
    await sh("app1.dev print status");
    await sh("svcmon   # answered from the agent's memory");
    await sh("ps -o pid,args -C dockerd | cut -c1-160");
    await sh("allupservices stop");
    await sh("svcmon");

    console.log("\n=== Docker Multi Containers: complex orchestration ===");
    const img = images.image("opensvc/busybox:date");
    const kws = [`docker_data_dir=${root}/opt/busybox.opensvc.com/appdata`, "app=OSVCLAB"];
    const subset = (n: number) => (n === 1 ? "00database" : n <= 5 ? "01appservers" : "02webservers");
    for (let n = 1; n <= 7; n++) kws.push(`container#${n}.type=docker`, `container#${n}.run_image=${img}`, `container#${n}.run_command=sleep 86400`, `container#${n}.run_args=--init`, `container#${n}.subset=${subset(n)}`);
    kws.push("subset#container.docker:01appservers.parallel=true", "subset#container.docker:02webservers.parallel=false");
    await sh(`svcmgr create -s busybox.opensvc.com --env DEV ${kws.map((k) => `--kw '${k}'`).join(" ")}`);
    await sh("busybox.opensvc.com print config");
    await sh(`busybox.opensvc.com docker pull -q ${img}`);
    await sh("busybox.opensvc.com print status");
    await sh("busybox.opensvc.com start --dry-run");
    await sh("busybox.opensvc.com start");
    await sh("busybox.opensvc.com print status");
    await sh("svcmon");
    await sh("svcmgr daemon stop   # the services keep running");
    await sh("busybox.opensvc.com stop");
    await sh("svcmon");
    done = true;
  } finally {
    // the agent first: it would start again the dockerds the clean-up stops
    const agent = agentPid();
    if (agent !== undefined) {
      signal(agent, "SIGKILL");
      await waitPidGone(agent, 5000);
    }
    await images.stop();
    // --keep: everything left running for a person to look at, with the web dashboard
    const keep = done && process.argv.includes("--keep");
    if (keep) await keepRunning(root, env, [...services, "busybox.opensvc.com"]);
    else {
      await cleanupEverything(root);
      const left = await leftovers(root);
      if (agentPid() !== undefined) left.processes.push(`the agent, pid ${agentPid()}`);
      if (left.processes.length || left.bridges.length || left.mounts.length) {
        console.error("left behind:", left);
        process.exitCode = 1;
      } else console.log("\ndemo done: the agent and every daemon stopped, nothing left running");
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
