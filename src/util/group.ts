// The host's groups, from /etc/group (the docker socket's group is given by name).
import fs from "node:fs";

/** gid of a group given by name or number, from /etc/group; undefined when unknown. */
export function groupId(group: string, groupFile = "/etc/group"): number | undefined {
  if (/^\d+$/.test(group)) return Number(group);
  let text: string;
  try {
    text = fs.readFileSync(groupFile, "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}
