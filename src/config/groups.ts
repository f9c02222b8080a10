// Resource groups and their fixed start order (SPEC §6): ip → disk → fs → container → app.
export const START_ORDER = ["ip", "disk", "fs", "container", "app"] as const;
export type ResourceGroup = (typeof START_ORDER)[number];

export function isResourceGroup(s: string): s is ResourceGroup {
  return (START_ORDER as readonly string[]).includes(s);
}
