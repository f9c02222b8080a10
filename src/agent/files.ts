// The agent's files (SPEC §9): everything under <var>/_agent/ ("_" cannot start
// a service name, so nothing collides), its log <log>/_agent.log.
import path from "node:path";
import type { Paths } from "../util/paths.js";

export const agentDir = (p: Paths): string => path.join(p.var, "_agent");
export const agentPidFile = (p: Paths): string => path.join(agentDir(p), "agent.pid");
export const apiSocket = (p: Paths): string => path.join(agentDir(p), "api.sock");
export const bootIdRecord = (p: Paths): string => path.join(agentDir(p), "boot_id");
export const agentLogFile = (p: Paths): string => path.join(p.log, "_agent.log");
/** the detached agent's stdout and stderr (what it printed before its log was open, or a crash) */
export const agentOutFile = (p: Paths): string => path.join(agentDir(p), "agent.out");
