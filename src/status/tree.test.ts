import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { summarize, type ResourceStatus, type Status, type StatusLogEntry } from "./status.js";
import { renderStatusTree } from "./tree.js";

// Status trees copied verbatim from the tutorials (/work/shared/seeds), the
// 8-space indentation of the rst literal blocks removed.

// seed 000, line 313
const APP1_DEV_NO_CONTAINER_ID = `app1.dev
overall                   down
|- avail                  down
|  '- container#1    .... down     ubuntu:14.04
|                                  # can not find container id
|- sync                   n/a
'- hb                     n/a
`;

// seed 000, line 335
const APP1_DEV_UP = `app1.dev
overall                   up
|- avail                  up
|  '- container#1    .... up       760b01810910@ubuntu:14.04
|- sync                   n/a
'- hb                     n/a
`;

// seed 000, line 469
const APP1_PRD_UP = `app1.prd
overall                   up
|- avail                  up
|  '- container#1    .... up       7bc8d3a666bd@ubuntu:12.04
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 88
const APP_NO_CONTAINER_ID = `app.opensvc.com
overall                   warn
|- avail                  warn
|  |- container#1    .... down     busybox:latest
|  |  |                            # can not find container id
|  |- container#2    .... down     shipyard/shipyard:latest
|  |  |                            # can not find container id
|  |- container#3    .... down     dhrp/sshd:latest
|  |  |                            # can not find container id
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 134
const APP_ALL_UP = `app.opensvc.com
overall                   up
|- avail                  up
|  |- container#1    .... up       2d4b80bdec71@busybox:latest
|  |- container#2    .... up       cecf54c6c769@shipyard/shipyard:latest
|  |- container#3    .... up       c0a390acb80a@dhrp/sshd:latest
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 171
const APP_DAEMON_DOWN = `app.opensvc.com
overall                   warn
|- avail                  warn
|  |- container#1    .... down     f66342b343ae
|  |  |                            # docker daemon is not running
|  |- container#2    .... down     30e0b59613ff
|  |  |                            # docker daemon is not running
|  |- container#3    .... down     2bbfe079a942
|  |  |                            # docker daemon is not running
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 262
const APP_ONE_CONTAINER_STOPPED = `app.opensvc.com
overall                   warn
|- avail                  warn
|  |- container#1    .... down     2d4b80bdec71@busybox:latest
|  |- container#2    .... up       cecf54c6c769@shipyard/shipyard:latest
|  |- container#3    .... up       c0a390acb80a@dhrp/sshd:latest
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 374
const APP_UPGRADED = `app.opensvc.com
overall                   up
|- avail                  up
|  |- container#1    .... up       dc32fbc0a6c7@google/busybox:latest
|  |- container#2    .... up       cecf54c6c769@shipyard/shipyard:latest
|  |- container#3    .... up       c0a390acb80a@dhrp/sshd:latest
|  |- vg#1           .... up       vgapp
|  |- fs#1           .... up       /dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 508
const BUSYBOX_DOWN = `busybox.opensvc.com
overall                   down
|- avail                  down
|  |- container#1    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- container#2    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- container#3    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- container#4    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- container#5    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- container#6    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- container#7    .... down     b073e328878e
|  |  |                            # docker daemon is not running
|  |- vg#1           .... down     vgbusybox
|  |- fs#1           .... down     /dev/mapper/vgbusybox-lvbusyboxroot@/opt/busybox.opensvc.com
|  |- fs#2           .... down     /dev/mapper/vgbusybox-lvbusyboxdata@/opt/busybox.opensvc.com/appdata
|  '- ip#1           .... down     busybox.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// seed 003, line 604
const BUSYBOX_UP = `busybox.opensvc.com
overall                   up
|- avail                  up
|  |- container#1    .... up       b82cf3232b79@opensvc/busybox:date
|  |- container#2    .... up       7e0f85484429@opensvc/busybox:date
|  |- container#3    .... up       185751ce205b@opensvc/busybox:date
|  |- container#4    .... up       6212757a24c6@opensvc/busybox:date
|  |- container#5    .... up       68b2e591147a@opensvc/busybox:date
|  |- container#6    .... up       6b82e882acf0@opensvc/busybox:date
|  |- container#7    .... up       a825bb126088@opensvc/busybox:date
|  |- vg#1           .... up       vgbusybox
|  |- fs#1           .... up       /dev/mapper/vgbusybox-lvbusyboxroot@/opt/busybox.opensvc.com
|  |- fs#2           .... up       /dev/mapper/vgbusybox-lvbusyboxdata@/opt/busybox.opensvc.com/appdata
|  '- ip#1           .... up       busybox.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

// SPEC §7
const SPEC_EXAMPLE = `app.opensvc.com
overall                   warn
|- avail                  warn
|  |- container#1    .... down     busybox:latest
|  |  |                            # can not find container id
|  |- container#2    .... up       cecf54c6c769@shipyard/shipyard:latest
|  '- ip#1           .... up       app.opensvc.com@eth0
|- sync                   n/a
'- hb                     n/a
`;

const GROUP_OF: Record<string, ResourceStatus["group"]> = { container: "container", vg: "disk", disk: "disk", fs: "fs", ip: "ip", app: "app" };

/** A resource as a driver would report it; messages default to warn level, as a driver would log them. */
function res(rid: string, status: Status, label: string, messages: string[] = [], extra: Partial<ResourceStatus> = {}): ResourceStatus {
  const log: StatusLogEntry[] = messages.map((message) => ({ level: "warn", message }));
  return {
    rid,
    group: GROUP_OF[rid.split("#")[0] ?? ""] ?? "app",
    status,
    label,
    log,
    optional: false,
    disabled: false,
    monitored: false,
    encap: false,
    standby: false,
    tags: [],
    ...extra,
  };
}

function render(name: string, resources: ResourceStatus[]): string {
  return renderStatusTree(summarize({ name, serviceType: "DEV", mode: "hosted", frozen: false, resources }));
}

const NO_ID = ["can not find container id"];
const NO_DAEMON = ["docker daemon is not running"];

// The app.opensvc.com storage and address, listed out of tree order on purpose.
function appInfra(s: Status = "up"): ResourceStatus[] {
  return [
    res("ip#1", s, "app.opensvc.com@eth0"),
    res("fs#2", s, "/dev/mapper/vgapp-lvappdata@/opt/app.opensvc.com/appdata"),
    res("vg#1", s, "vgapp"),
    res("fs#1", s, "/dev/mapper/vgapp-lvapproot@/opt/app.opensvc.com"),
  ];
}

function busyboxInfra(s: Status): ResourceStatus[] {
  return [
    res("vg#1", s, "vgbusybox"),
    res("fs#1", s, "/dev/mapper/vgbusybox-lvbusyboxroot@/opt/busybox.opensvc.com"),
    res("fs#2", s, "/dev/mapper/vgbusybox-lvbusyboxdata@/opt/busybox.opensvc.com/appdata"),
    res("ip#1", s, "busybox.opensvc.com@eth0"),
  ];
}

const BUSYBOX_IDS = ["b82cf3232b79", "7e0f85484429", "185751ce205b", "6212757a24c6", "68b2e591147a", "6b82e882acf0", "a825bb126088"];

const GOLDEN: [string, string, () => string][] = [
  ["app1.dev, never started", APP1_DEV_NO_CONTAINER_ID, () => render("app1.dev", [res("container#1", "down", "ubuntu:14.04", NO_ID)])],
  ["app1.dev, started", APP1_DEV_UP, () => render("app1.dev", [res("container#1", "up", "760b01810910@ubuntu:14.04")])],
  ["app1.prd, restarted", APP1_PRD_UP, () => render("app1.prd", [res("container#1", "up", "7bc8d3a666bd@ubuntu:12.04")])],
  [
    "app.opensvc.com, containers never started",
    APP_NO_CONTAINER_ID,
    () =>
      render("app.opensvc.com", [
        ...appInfra(),
        res("container#3", "down", "dhrp/sshd:latest", NO_ID),
        res("container#1", "down", "busybox:latest", NO_ID),
        res("container#2", "down", "shipyard/shipyard:latest", NO_ID),
      ]),
  ],
  [
    "app.opensvc.com, all up",
    APP_ALL_UP,
    () =>
      render("app.opensvc.com", [
        res("container#2", "up", "cecf54c6c769@shipyard/shipyard:latest"),
        ...appInfra(),
        res("container#1", "up", "2d4b80bdec71@busybox:latest"),
        res("container#3", "up", "c0a390acb80a@dhrp/sshd:latest"),
      ]),
  ],
  [
    "app.opensvc.com, private daemon down",
    APP_DAEMON_DOWN,
    () =>
      render("app.opensvc.com", [
        res("container#1", "down", "f66342b343ae", NO_DAEMON),
        res("container#2", "down", "30e0b59613ff", NO_DAEMON),
        res("container#3", "down", "2bbfe079a942", NO_DAEMON),
        ...appInfra(),
      ]),
  ],
  [
    "app.opensvc.com, one container stopped",
    APP_ONE_CONTAINER_STOPPED,
    () =>
      render("app.opensvc.com", [
        res("container#1", "down", "2d4b80bdec71@busybox:latest"),
        res("container#2", "up", "cecf54c6c769@shipyard/shipyard:latest"),
        res("container#3", "up", "c0a390acb80a@dhrp/sshd:latest"),
        ...appInfra(),
      ]),
  ],
  [
    "app.opensvc.com, container upgraded",
    APP_UPGRADED,
    () =>
      render("app.opensvc.com", [
        res("container#1", "up", "dc32fbc0a6c7@google/busybox:latest"),
        res("container#2", "up", "cecf54c6c769@shipyard/shipyard:latest"),
        res("container#3", "up", "c0a390acb80a@dhrp/sshd:latest"),
        ...appInfra(),
      ]),
  ],
  [
    "busybox.opensvc.com, all down",
    BUSYBOX_DOWN,
    () =>
      render("busybox.opensvc.com", [
        ...busyboxInfra("down"),
        ...BUSYBOX_IDS.map((_, i) => res(`container#${i + 1}`, "down", "b073e328878e", NO_DAEMON)).reverse(),
      ]),
  ],
  [
    "busybox.opensvc.com, all up",
    BUSYBOX_UP,
    () =>
      render("busybox.opensvc.com", [
        ...busyboxInfra("up"),
        ...BUSYBOX_IDS.map((id, i) => res(`container#${i + 1}`, "up", `${id}@opensvc/busybox:date`)),
      ]),
  ],
  [
    "SPEC §7 example",
    SPEC_EXAMPLE,
    () =>
      render("app.opensvc.com", [
        res("ip#1", "up", "app.opensvc.com@eth0"),
        res("container#2", "up", "cecf54c6c769@shipyard/shipyard:latest"),
        res("container#1", "down", "busybox:latest", NO_ID),
      ]),
  ],
];

describe("renderStatusTree: the tutorials' trees, byte for byte", () => {
  for (const [name, want, got] of GOLDEN) {
    test(name, () => assert.equal(got(), want));
  }

  const seeds = "/work/shared/seeds";
  test("the fixtures are verbatim copies of the seeds", { skip: !existsSync(seeds) && "seeds not on this machine" }, () => {
    const text = readdirSync(seeds)
      .map((f) => readFileSync(join(seeds, f), "utf8"))
      .join("\n")
      .replace(/^ {8}/gm, "");
    for (const [name, want] of GOLDEN.filter(([n]) => !n.startsWith("SPEC"))) assert.ok(text.includes(want), name);
  });
});

describe("renderStatusTree", () => {
  test("a service without resources", () => {
    const s = summarize({ name: "app1.dev", serviceType: "TST", mode: "hosted", frozen: false, resources: [] });
    assert.equal(
      renderStatusTree(s),
      "app1.dev\noverall                   n/a\n|- avail                  n/a\n|- sync                   n/a\n'- hb                     n/a\n",
    );
  });

  test("orders container, app, disk, fs, ip, rids naturally", () => {
    const out = render("svc", [
      res("ip#1", "up", "a"),
      res("fs#1", "up", "b"),
      res("disk#1", "up", "c"),
      res("app#1", "up", "d"),
      res("container#10", "up", "e"),
      res("container#2", "up", "f"),
    ]);
    const rids = out.split("\n").flatMap((l) => /^\| {2}[|'](?:- )(\S+)/.exec(l)?.[1] ?? []);
    assert.deepEqual(rids, ["container#2", "container#10", "app#1", "disk#1", "fs#1", "ip#1"]);
  });

  test("flags M D O E and one # line per message", () => {
    const out = render("svc", [
      res("container#1", "up", "x", [], { monitored: true, encap: true }),
      res("app#1", "down", "y", ["first", "second"], { optional: true, disabled: true }),
    ]);
    assert.equal(
      out,
      [
        "svc",
        "overall                   up",
        "|- avail                  up",
        "|  |- container#1    M..E up       x",
        "|  '- app#1          .DO. n/a      y",
        "|                                  # first",
        "|                                  # second",
        "|- sync                   n/a",
        "'- hb                     n/a",
        "",
      ].join("\n"),
    );
  });

  test("service-level messages hang under overall", () => {
    const s = summarize({
      name: "svc",
      serviceType: "DEV",
      mode: "hosted",
      frozen: false,
      resources: [],
      log: [{ level: "error", message: "invalid config: [ip#1] ipname: missing" }],
    });
    assert.equal(
      renderStatusTree(s),
      [
        "svc",
        "overall                   warn",
        "|                                  # invalid config: [ip#1] ipname: missing",
        "|- avail                  n/a",
        "|- sync                   n/a",
        "'- hb                     n/a",
        "",
      ].join("\n"),
    );
  });

  test("overlong cells keep a separating space", () => {
    const out = render("svc", [res("container#123456", "stdby down", "label")]);
    assert.match(out, /^\| {2}'- container#123456 \.{4} stdby down label$/m);
  });

  test("color paints the status words without moving the columns", () => {
    const s = summarize({ name: "svc", serviceType: "DEV", mode: "hosted", frozen: false, resources: [res("ip#1", "down", "a", NO_ID)] });
    const colored = renderStatusTree(s, { color: true });
    assert.ok(colored.includes("\x1b[31mdown\x1b[0m"));
    const plain = ["0", "31", "32", "33", "94"].reduce((t, code) => t.replaceAll(`\x1b[${code}m`, ""), colored);
    assert.equal(plain, renderStatusTree(s));
  });
});
