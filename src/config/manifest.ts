import type { KeywordDef } from "./keyword.js";
import type { ResourceGroup } from "./groups.js";

/** What the config layer needs to know of a driver: its keywords, and how to name its resource in the status tree. */
export interface KeywordManifest {
  group: ResourceGroup;
  /** value of the `type` keyword selecting this driver; "" for groups with one driver and no type keyword */
  type: string;
  /** the driver used when the section has no `type` */
  isDefault?: boolean;
  keywords: KeywordDef[];
  /** the label shown in the status tree, from the resource's keyword values (text) */
  label(values: Readonly<Record<string, string | undefined>>): string;
}
