// The driver registry: adding a driver is one folder and one line here.
import type { ResourceGroup } from "../config/groups.js";
import { appManifest } from "./app/manifest.js";
import { containerDockerManifest } from "./container-docker/manifest.js";
import { diskLoopManifest } from "./disk-loop/manifest.js";
import { diskVgManifest } from "./disk-vg/manifest.js";
import { fsManifest } from "./fs/manifest.js";
import { ipManifest } from "./ip/manifest.js";
import type { DriverManifest } from "./driver.js";

export const manifests: readonly DriverManifest[] = [
  ipManifest,
  diskLoopManifest,
  diskVgManifest,
  fsManifest,
  containerDockerManifest,
  appManifest,
];

export function manifestsOf(group: ResourceGroup): DriverManifest[] {
  return manifests.filter((m) => m.group === group);
}

/** The driver of a section: fs and ip have no driver `type`; others default to their default driver. */
export function findManifest(group: ResourceGroup, type: string | undefined): DriverManifest | undefined {
  const candidates = manifestsOf(group);
  if (candidates.length === 1 && candidates[0]!.type === "") return candidates[0];
  if (type === undefined) return candidates.find((m) => m.isDefault);
  return candidates.find((m) => m.type === type);
}
