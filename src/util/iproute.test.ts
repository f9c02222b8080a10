import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseIpAddrJson } from "./iproute.js";

describe("ip -j addr", () => {
  test("links, their state and IPv4 addresses only", () => {
    const json = JSON.stringify([
      { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP", "LOWER_UP"], addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }, { family: "inet6", local: "::1", prefixlen: 128 }] },
      { ifindex: 5, ifname: "svc1", flags: ["BROADCAST"], addr_info: [] },
      { ifindex: 6, ifname: "eth0" },
    ]);
    assert.deepEqual(parseIpAddrJson(json), [
      { ifname: "lo", up: true, addrs: [{ local: "127.0.0.1", prefixlen: 8 }] },
      { ifname: "svc1", up: false, addrs: [] },
      { ifname: "eth0", up: false, addrs: [] },
    ]);
    assert.deepEqual(parseIpAddrJson(""), []);
  });

  test("anything else is an error naming the command", () => {
    assert.throws(() => parseIpAddrJson("Device \"x\" does not exist."), /unexpected output of ip -j addr/);
    assert.throws(() => parseIpAddrJson('[{"flags":[]}]'), /unexpected output of ip -j addr/);
  });
});
