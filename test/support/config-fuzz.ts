// The config fuzzer's inputs and oracle. Inputs: the tutorial fixtures
// mutated line by line and byte by byte, and configs generated from scratch
// out of real and random sections, keywords and values. Oracle: the parser
// and the planner never throw, a config is either valid (no problem) or every
// problem names a line that exists in the file, and the INI layer gives the
// text back unchanged.
import fs from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { parseServiceConfig } from "../../src/service/service-config.js";
import { serializeIni } from "../../src/config/ini.js";
import { formatProblem } from "../../src/util/errors.js";
import { planAction, type PlanResource } from "../../src/service/planner.js";
import { defaultKeywords, subsetKeywords } from "../../src/service/default-keywords.js";
import { commonResourceKeywords } from "../../src/config/keyword.js";
import { manifestsOf } from "../../src/drivers/registry.js";
import { START_ORDER } from "../../src/config/groups.js";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");

/** A config that uses every resource group, subsets, references and continuation lines: valid as it is. */
export const RICH_CONFIG = [
  "# every kind of section",
  "[DEFAULT]",
  "app = FUZZ",
  "service_type = DEV",
  "docker_data_dir = /srv/{name}/docker",
  "docker_socket_group = root",
  "docker_socket_mode = 0660",
  "docker_bridge_cidr = 172.30.9.0/24",
  "",
  "[ip#1]",
  "ipname = 10.0.0.1",
  "ipdev = lo",
  "netmask = 24",
  "",
  "[disk#1]",
  "type = loop",
  "file = /srv/{name}/disk.img",
  "size = 100m",
  "",
  "[fs#1]",
  "type = ext4",
  "mnt = /srv/{name}/fs",
  "dev = {disk#1.exposed_dev}",
  "mnt_opt = rw,noatime",
  "",
  "[container#1]",
  "type = docker",
  "run_image = busybox:latest",
  "run_command = sh -c 'echo \"$1\"' x '$(touch /tmp/pwned)'",
  "run_args = --init -e A=B -v /srv/{name}:/data:ro",
  "    -p 127.0.0.1:8080:80 --health-cmd 'true' --health-interval 1s",
  "subset = web",
  "tags = front, db",
  "start_timeout = 5s",
  "",
  "[container#2]",
  "image = {container#1.run_image}",
  "command = sleep 3600",
  "subset = web",
  "",
  "[subset#container.docker:web]",
  "parallel = true",
  "",
  "[app#1]",
  "start = /bin/echo {name} {nodename} {var} {rid}",
  "check = /bin/true",
  "timeout = 10s",
  "",
].join("\n");

export function fixtureTexts(): string[] {
  const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".conf")).sort();
  return [...files.map((f) => fs.readFileSync(path.join(FIXTURES, f), "utf8")), RICH_CONFIG];
}

const keywordNames = [
  ...new Set(
    [defaultKeywords, subsetKeywords, commonResourceKeywords, ...START_ORDER.flatMap((g) => manifestsOf(g).map((m) => m.keywords))]
      .flat()
      .flatMap((k) => [k.name, ...(k.aliases ?? [])]),
  ),
].sort();

const sectionNames = [
  "DEFAULT",
  "container#1",
  "container#2",
  "container#10",
  "ip#1",
  "disk#1",
  "vg#1",
  "fs#1",
  "fs#2",
  "app#1",
  "subset#container:web",
  "subset#container.docker:01appservers",
  "subset#disk:x",
  "subset#bogus:x",
  "sync#1",
  "container#",
  "#1",
  "container#1#2",
];

const sampleValues = [
  "docker",
  "loop",
  "vg",
  "ext4",
  "tmpfs",
  "busybox:latest",
  "true",
  "false",
  "yes",
  "0660",
  "0999",
  "172.30.1.0/24",
  "300.1.1.1/24",
  "10s",
  "1.5m",
  "100m",
  "-1",
  "/abs/path",
  "relative/path",
  "--init -e A=B",
  "--name x",
  "--restart always",
  "-p 80",
  "-v /a:/b",
  "'unterminated",
  '"also',
  "sh -c 'echo \"$1\"' x '$(touch /tmp/pwned)'",
  "1.2.3.4;touch /tmp/x",
  "/tmp/a$(id)",
  "`id`",
  "{name}",
  "{nodename}",
  "{var}",
  "{rid}",
  "{DEFAULT.app}",
  "{container#1.run_image}",
  "{disk#1.exposed_dev}",
  "{nosuch}",
  "{nosuch#1.x}",
  "{{.Status}}",
  "web",
  "01appservers",
  "",
];

const anyString = (maxLength: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom("[", "]", "=", "#", ";", "{", "}", ".", " ", "\t", "\r", "\n", "\\", "'", '"', "$", "`", "\0"), maxLength }) },
  );

const sectionName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...sectionNames) }, { weight: 1, arbitrary: anyString(20) });
const keyName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...keywordNames) }, { weight: 1, arbitrary: anyString(16) }, { weight: 1, arbitrary: fc.constantFrom(...keywordNames).map((k) => k.toUpperCase()) });
const value = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...sampleValues) },
  { weight: 2, arbitrary: anyString(40) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...sectionNames), fc.constantFrom(...keywordNames)).map(([s, k]) => `{${s}.${k}}`) },
);
/** a value of 64 KiB to 1 MiB: a repeated fragment, references included */
const hugeValue = fc.tuple(fc.constantFrom("x", "-e A=B ", "{name}", "{DEFAULT.app}", "é€😀", "'", "a b c "), fc.integer({ min: 1 << 16, max: 1 << 20 })).map(([frag, len]) => frag.repeat(Math.ceil(len / frag.length)));

const line: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: sectionName.map((s) => `[${s}]`) },
  { weight: 6, arbitrary: fc.tuple(keyName, fc.constantFrom(" = ", "=", " =", "= ", "\t=\t"), value).map(([k, eq, v]) => `${k}${eq}${v}`) },
  { weight: 1, arbitrary: anyString(60).map((s) => `    ${s}`) },
  { weight: 1, arbitrary: anyString(30).map((s) => `# ${s}`) },
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 2, arbitrary: anyString(60) },
  { weight: 1, arbitrary: fc.tuple(keyName, hugeValue).map(([k, v]) => `${k} = ${v}`) },
);

type Mutation = (lines: string[]) => string[];
const at = (lines: string[], r: number): number => (lines.length === 0 ? 0 : Math.floor(r * lines.length) % lines.length);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), line).map(([r, l]): Mutation => (ls) => [...ls.slice(0, at(ls, r)), l, ...ls.slice(at(ls, r))]),
  fc.double({ min: 0, max: 1, noNaN: true }).map((r): Mutation => (ls) => ls.filter((_, i) => i !== at(ls, r))),
  fc.double({ min: 0, max: 1, noNaN: true }).map((r): Mutation => (ls) => (ls.length ? [...ls.slice(0, at(ls, r) + 1), ls[at(ls, r)]!, ...ls.slice(at(ls, r) + 1)] : ls)),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })).map(([a, b]): Mutation => (ls) => {
    const out = [...ls];
    const [i, j] = [at(ls, a), at(ls, b)];
    if (out.length) [out[i], out[j]] = [out[j]!, out[i]!];
    return out;
  }),
  // random bytes replacing or inserted into a line
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), anyString(8), fc.boolean()).map(([r, c, bytes, replace]): Mutation => (ls) => {
    if (!ls.length) return [bytes];
    const out = [...ls];
    const l = out[at(ls, r)]!;
    const pos = Math.floor(c * (l.length + 1));
    out[at(ls, r)] = l.slice(0, pos) + bytes + l.slice(replace ? pos + bytes.length : pos);
    return out;
  }),
  // indent a line: it becomes a continuation of the previous value
  fc.double({ min: 0, max: 1, noNaN: true }).map((r): Mutation => (ls) => ls.map((l, i) => (i === at(ls, r) ? `  ${l}` : l))),
  // change the value of a line
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof({ weight: 5, arbitrary: value }, { weight: 1, arbitrary: hugeValue })).map(([r, v]): Mutation => (ls) =>
    ls.map((l, i) => (i === at(ls, r) && l.includes("=") ? `${l.slice(0, l.indexOf("=") + 1)} ${v}` : l)),
  ),
  // truncate the file
  fc.double({ min: 0, max: 1, noNaN: true }).map((r): Mutation => (ls) => ls.slice(0, at(ls, r))),
);

type Finish = (text: string) => string;
const finish: fc.Arbitrary<Finish> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Finish>((t) => t) },
  { weight: 2, arbitrary: fc.constant<Finish>((t) => t.replace(/\n/g, "\r\n")) },
  { weight: 1, arbitrary: fc.constant<Finish>((t) => t.replace(/\n/g, "\r")) },
  { weight: 1, arbitrary: fc.constant<Finish>((t) => `\uFEFF${t}`) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((r): Finish => (t) => t.slice(0, Math.floor(r * t.length))) },
  { weight: 1, arbitrary: fc.constant<Finish>((t) => t.replace(/\n$/, "")) },
);

/** A tutorial fixture with 1 to 6 mutations. */
export function mutatedFixture(fixtures: string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...fixtures), fc.array(mutation, { minLength: 1, maxLength: 6 }), finish).map(([text, muts, fin]) => fin(muts.reduce((ls, m) => m(ls), text.split("\n")).join("\n")));
}

/** A config written from scratch: sections of real and random names holding real and random keywords. */
export const generatedConfig: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(
      fc.tuple(sectionName, fc.array(fc.oneof({ weight: 8, arbitrary: fc.tuple(keyName, value).map(([k, v]) => `${k} = ${v}`) }, { weight: 1, arbitrary: line }), { maxLength: 8 })),
      { maxLength: 12 },
    ),
    finish,
  )
  .map(([sections, fin]) => fin(sections.map(([name, entries]) => [`[${name}]`, ...entries, ""].join("\n")).join("\n")));

/** Lines of a file as an editor counts them (a last line without newline counts). */
export function lineCount(text: string): number {
  const breaks = (text.match(/\n/g) ?? []).length;
  return breaks + (text.length > 0 && !text.endsWith("\n") ? 1 : 0);
}

export interface Verdict {
  valid: boolean;
  problems: number;
}

/** The oracle; throws (with the reason) when the parser or the planner misbehaves. */
export function checkConfig(text: string): Verdict {
  const ctx = { nodename: "deb1.opensvc.com", varDir: "/var/lib/svcmgr/fuzz.svc", etcDir: "/etc/svcmgr" };
  const cfg = parseServiceConfig("fuzz.svc", "/etc/svcmgr/fuzz.svc.conf", text, ctx);
  if (serializeIni(cfg.doc) !== text) throw new Error("the INI document does not give the text back");
  const last = Math.max(1, lineCount(text));
  for (const p of cfg.problems) {
    if (!Number.isInteger(p.line) || p.line < 1 || p.line > last) throw new Error(`problem on line ${p.line} of a ${last}-line file: ${p.message}`);
    if (typeof p.message !== "string" || p.message.trim() === "") throw new Error(`problem without a message on line ${p.line}`);
    formatProblem(p);
  }
  if (cfg.problems.length > 0) return { valid: false, problems: cfg.problems.length };
  // a valid config goes through the planner: every enabled resource exactly once, stop = reverse of start
  const resources: PlanResource[] = cfg.resources.map((r) => ({ rid: r.rid, group: r.group, subset: r.subset, tags: r.tags, disabled: r.disabled, order: r.group === "fs" ? r.text.mnt : undefined }));
  const start = planAction(resources, cfg.subsets, "start");
  const stop = planAction(resources, cfg.subsets, "stop");
  const startOrder = start.stages.flatMap((s) => s.rids);
  const stopOrder = stop.stages.flatMap((s) => s.rids);
  const planned = new Set(startOrder);
  const enabled = resources.filter((r) => !r.disabled).map((r) => r.rid);
  if (startOrder.length !== enabled.length || planned.size !== enabled.length || !enabled.every((r) => planned.has(r))) {
    throw new Error(`start plan ${startOrder.join(" ")} is not the resources ${enabled.join(" ")}`);
  }
  if (stopOrder.join(" ") !== [...startOrder].reverse().join(" ")) throw new Error("stop plan is not the reverse of the start plan");
  for (const r of cfg.resources.filter((x) => !x.disabled).slice(0, 16)) {
    planAction(resources, cfg.subsets, "start", { rids: [r.rid] });
    planAction(resources, cfg.subsets, "stop", { rids: [r.group] });
    if (r.subset !== undefined) planAction(resources, cfg.subsets, "start", { subsets: [r.subset] });
    if (r.tags[0] !== undefined) planAction(resources, cfg.subsets, "start", { tags: [r.tags[0]] });
  }
  return { valid: true, problems: 0 };
}

/** Inputs built by hand to make a naive parser hang or blow up. */
export function pathologicalConfigs(): string[] {
  const chain = (n: number, leaf: string): string =>
    [...Array.from({ length: n }, (_, i) => `[app#${i + 1}]\nstart = {app#${i + 2}.start}{app#${i + 2}.start}`), `[app#${n + 1}]\nstart = ${leaf}`].join("\n");
  return [
    chain(40, "echo"), // 2^40 characters if expanded naively
    chain(60, '""'),
    "[DEFAULT]\napp = {DEFAULT.app}",
    "[app#1]\nstart = {app#2.start}\n[app#2]\nstart = {app#1.start}",
    "[".repeat(1 << 18),
    "]".repeat(1 << 18),
    "=".repeat(1 << 18),
    `[DEFAULT]\napp = ${"{".repeat(1 << 18)}`,
    `[DEFAULT]\napp = ${"{DEFAULT.app".repeat(1 << 14)}`,
    `[container#1]\nrun_image = x\nrun_args = ${"-e A=B ".repeat(1 << 15)}`,
    `[container#1]\nrun_image = x\nrun_args = ${"'".repeat(1 << 16)}`,
    `[${"container#1".repeat(1 << 12)}]\nrun_image = x`,
    `[container#${"9".repeat(1 << 14)}]\nrun_image = x`,
    `[DEFAULT]\n${"x".repeat(1 << 16)} = 1`,
    Array.from({ length: 20_000 }, (_, i) => `[container#${i}]\nrun_image = x`).join("\n"),
    `[DEFAULT]\napp = a\n${"    continued\n".repeat(1 << 15)}`,
    "\r".repeat(1 << 16),
    "\n".repeat(1 << 16),
    "\0".repeat(1 << 16),
    "\uD800".repeat(1 << 12),
  ];
}
