import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mountsUnder, parseMountInfo } from "./mountinfo.js";

describe("mountinfo", () => {
  test("fields, optional fields and escapes", () => {
    const m = parseMountInfo(
      [
        "36 35 98:0 /mnt1 /mnt/my\\040dir rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        "52 27 7:3 / /tmp/x rw,relatime shared:5 master:2 - ext4 /dev/loop3 rw",
        "60 27 0:50 / /run/user rw - tmpfs tmpfs rw",
        "garbage line",
        "",
      ].join("\n"),
    );
    assert.deepEqual(m, [
      { id: 36, parentId: 35, dev: "98:0", root: "/mnt1", mountPoint: "/mnt/my dir", fsType: "ext3", source: "/dev/root" },
      { id: 52, parentId: 27, dev: "7:3", root: "/", mountPoint: "/tmp/x", fsType: "ext4", source: "/dev/loop3" },
      { id: 60, parentId: 27, dev: "0:50", root: "/", mountPoint: "/run/user", fsType: "tmpfs", source: "tmpfs" },
    ]);
  });

  test("mounts under a directory, in the order to unmount them", () => {
    const m = parseMountInfo(
      ["1 0 8:1 / / rw - ext4 /dev/sda1 rw", "2 1 8:2 / /srv rw - ext4 /dev/sda2 rw", "3 2 8:3 / /srv/a rw - ext4 /dev/sda3 rw", "4 2 8:4 / /srv/a rw - ext4 /dev/sda4 rw", "5 1 8:5 / /srvx rw - ext4 /dev/sda5 rw"].join("\n"),
    );
    assert.deepEqual(mountsUnder("/srv", m), ["/srv/a", "/srv/a", "/srv"]);
    assert.deepEqual(mountsUnder("/srv/a", m), ["/srv/a", "/srv/a"]);
    assert.deepEqual(mountsUnder("/nowhere", m), []);
  });
});
