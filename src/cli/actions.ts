// The action table: every command's options and handler.
import type { ActionSpec } from "./options.js";
import { configActions } from "./commands/config-actions.js";
import { serviceActions } from "./commands/service-actions.js";
import { daemonActions } from "./commands/daemon-actions.js";
import { clusterActions } from "./commands/cluster-actions.js";

export type { ActionInput, ActionSpec, CliOptions } from "./options.js";
export { useColor, count } from "./options.js";

export const actionTable: ActionSpec[] = [...configActions, ...serviceActions, ...clusterActions, ...daemonActions];
