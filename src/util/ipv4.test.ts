import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { formatCidr, formatIpv4, ipv4ToInt, netmaskToPrefix, overlaps, parseCidr, parseIpv4, sameNetwork } from "./ipv4.js";

describe("IPv4", () => {
  test("addresses: four decimal parts of 0 to 255, nothing else", () => {
    assert.equal(parseIpv4("192.0.2.7"), 0xc0000207);
    assert.equal(formatIpv4(0xc0000207), "192.0.2.7");
    assert.equal(formatIpv4(0xffffffff), "255.255.255.255");
    for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.", "1e2.0.0.1", "-1.0.0.0", " 1.2.3.4", "a.b.c.d"]) {
      assert.equal(parseIpv4(bad), undefined, bad);
      assert.throws(() => ipv4ToInt(bad), /not an IPv4 address/, bad);
    }
  });

  test("networks: parse, format, overlap", () => {
    assert.deepEqual(parseCidr("172.30.4.9/24"), { network: parseIpv4("172.30.4.0"), prefix: 24 });
    assert.equal(formatCidr(parseCidr("10.1.2.3/8")!), "10.0.0.0/8");
    assert.equal(formatCidr(parseCidr("0.0.0.0/0")!), "0.0.0.0/0");
    assert.equal(formatCidr(parseCidr("192.0.2.7/32")!), "192.0.2.7/32");
    for (const bad of ["172.30.4.0", "172.30.4.0/33", "300.1.1.0/24", "abc/24"]) assert.equal(parseCidr(bad), undefined, bad);
    assert.ok(overlaps(parseCidr("172.30.3.0/24")!, parseCidr("172.30.0.0/22")!));
    assert.ok(!overlaps(parseCidr("172.30.4.0/24")!, parseCidr("172.30.0.0/22")!));
    assert.ok(overlaps(parseCidr("0.0.0.0/0")!, parseCidr("192.0.2.0/24")!));
  });

  test("netmasks: prefix or dotted, contiguous only", () => {
    assert.equal(netmaskToPrefix("24"), 24);
    assert.equal(netmaskToPrefix("255.255.255.224"), 27);
    assert.equal(netmaskToPrefix("255.255.255.255"), 32);
    assert.equal(netmaskToPrefix("0.0.0.0"), 0);
    assert.throws(() => netmaskToPrefix("255.0.255.0"), /not contiguous/);
    assert.throws(() => netmaskToPrefix("33"), /at most 32/);
    assert.throws(() => netmaskToPrefix("255.255.255."), /not an IPv4 address/);
  });

  test("same network, prefixes 0 to 32", () => {
    assert.equal(sameNetwork("10.0.0.1", "10.0.0.200", 24), true);
    assert.equal(sameNetwork("10.0.1.1", "10.0.0.200", 24), false);
    assert.equal(sameNetwork("1.2.3.4", "200.0.0.1", 0), true);
    assert.equal(sameNetwork("1.2.3.4", "1.2.3.4", 32), true);
    assert.equal(sameNetwork("1.2.3.4", "1.2.3.5", 32), false);
  });
});
