// The main job on a built-in demo: the first tutorial's six services and the
// second tutorial's complex orchestration, created, started, shown, stopped,
// in a root of their own, leaving nothing running. Images come from a local
// registry filled with busybox-based images built here (no registry is reachable).
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
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
    await sh("busybox.opensvc.com stop");
    await sh("svcmon");
    done = true;
  } finally {
    await images.stop();
    // --keep: everything left running for a person to look at, with the web dashboard
    const keep = done && process.argv.includes("--keep");
    if (keep) await keepRunning(root, env, [...services, "busybox.opensvc.com"]);
    else await cleanupEverything(root);
    const left = keep ? undefined : await leftovers(root);
    if (left && (left.processes.length || left.bridges.length || left.mounts.length)) console.error("left behind:", left);
    else if (left) console.log("\ndemo done: every daemon stopped, nothing left running");
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
