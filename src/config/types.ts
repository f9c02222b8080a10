// The typed form of a service's configuration, as the config layer produces
// it and the drivers, the planner and the actions read it.
import type { IniDocument } from "./ini.js";
import type { ResourceGroup } from "./groups.js";
import type { KeywordManifest } from "./manifest.js";
import type { ConfigProblem } from "../util/errors.js";

export interface ResourceConfig {
  rid: string;
  group: ResourceGroup;
  manifest: KeywordManifest;
  section: string;
  line: number;
  /** canonical keyword → value text, references expanded, defaults filled in */
  text: Record<string, string>;
  /** canonical keyword → typed value */
  values: Record<string, unknown>;
  subset: string | undefined;
  tags: string[];
  optional: boolean;
  disabled: boolean;
  standby: boolean;
  monitored: boolean;
}

export interface SubsetConfig {
  group: ResourceGroup;
  name: string;
  parallel: boolean;
  section: string;
  line: number;
}

/** The typed [DEFAULT] values (each produced by its keyword's schema, defaults applied). */
export interface DefaultValues {
  nodes?: string[];
  autostart_node?: string[];
  mode?: string;
  topology?: "failover" | "flex";
  flex_target?: number;
  orchestrate?: "no" | "start" | "ha";
  service_type?: string;
  app?: string;
  docker_data_dir?: string;
  docker_daemon_private?: boolean;
  docker_daemon_args?: string;
  docker_socket_group?: string;
  docker_socket_mode?: number;
  docker_bridge_cidr?: string;
  rollback?: boolean;
  /** ms */
  monitor_interval?: number;
  monitor_action?: "none" | "freezestop";
}

export interface ServiceConfig {
  name: string;
  file: string;
  doc: IniDocument;
  defaults: { text: Record<string, string>; values: DefaultValues };
  resources: ResourceConfig[];
  subsets: SubsetConfig[];
  problems: ConfigProblem[];
}

export interface ConfigContext {
  nodename: string;
  /** the service's state dir, for {var} */
  varDir: string;
  /** the config dir, for {etc} */
  etcDir: string;
}

/** SPEC §4: the service has a private daemon when docker_daemon_private says so, else when docker_data_dir is set. */
export function usesPrivateDaemon(values: DefaultValues): boolean {
  return values.docker_daemon_private ?? values.docker_data_dir !== undefined;
}

export const PRIVATE_DAEMON_KEYWORDS = ["docker_data_dir", "docker_daemon_args", "docker_socket_group", "docker_socket_mode", "docker_bridge_cidr"] as const;
