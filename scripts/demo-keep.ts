// `npm run demo -- --keep`: the demo's services started again, the agent
// running with the dashboard on 127.0.0.1, a token printed, so that a person
// can look; `npm run demo -- --clean ROOT` removes all of it afterwards.
import net from "node:net";
import { execa } from "execa";
import { LAUNCHER } from "../test/support/cli.js";
import { cleanupEverything, leftovers } from "../test/support/docker-fixture.js";

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });

/** The tutorials' services up again, the agent and its dashboard running; prints where and how to log in. */
export async function keepRunning(root: string, env: NodeJS.ProcessEnv, services: string[]): Promise<void> {
  const svcmgr = (args: string[]) => execa(LAUNCHER, args, { env, stdio: ["ignore", "pipe", "inherit"] });
  console.log("\n=== --keep: the services up again, the agent and its web dashboard left running ===");
  await execa(LAUNCHER, ["-s", services.join(","), "start", "--parallel"], { env, stdio: "inherit" });
  let port = 7620;
  while (!(await portFree(port))) port++;
  const started = await svcmgr(["daemon", "start", "--listen", `127.0.0.1:${port}`]);
  console.log(started.stdout);
  const token = (await svcmgr(["daemon", "token", "create", "--ttl", "7d"])).stdout.trim();
  console.log(`
dashboard:  http://127.0.0.1:${port}/   (from another machine: ssh -L ${port}:127.0.0.1:${port} this-host)
token:      ${token}
the CLI:    SVCMGR_ROOT=${root} ${LAUNCHER} ...   (svcmon, -s app1.dev stop, daemon token create --group G)
clean up:   npm run demo -- --clean ${root}
`);
}

/** Stop the agent, every service daemon and container of the demo root, and remove the root. */
export async function cleanDemo(root: string): Promise<void> {
  if (!/^\/tmp\/svdemo-[A-Za-z0-9]+$/.test(root)) throw new Error(`--clean ${root}: not a demo root (/tmp/svdemo-...)`);
  const env = { ...process.env, SVCMGR_ROOT: root };
  await execa(LAUNCHER, ["daemon", "stop"], { env, stdio: "inherit", reject: false });
  await cleanupEverything(root);
  const left = await leftovers(root);
  if (left.processes.length || left.bridges.length || left.mounts.length) throw new Error(`left behind: ${JSON.stringify(left)}`);
  console.log(`${root}: agent, daemons and containers stopped, root removed`);
}

if (process.argv[2] === "--clean") {
  cleanDemo(process.argv[3] ?? "").catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
