// `svcmgr daemon token create [--group G] [--ttl 30d] | list | revoke ID`
// (SPEC §11): the dashboard's tokens, in <var>/_agent/tokens.json, edited
// whether the agent runs or not (it picks the changes up by itself).
import { UsageError } from "../../util/errors.js";
import { groupId } from "../../util/group.js";
import { createToken, isExpired, listTokens, parseTtl, revokeToken, tokensFile } from "../../agent/tokens.js";
import type { ActionInput, CliOptions } from "../options.js";

export interface TokenOptions {
  group?: string;
  ttl?: string;
}

const SUBCOMMANDS = ["create", "list", "revoke"] as const;

export async function tokenCommand(input: ActionInput): Promise<number> {
  const [sub, ...rest] = input.args.slice(1);
  const opts = input.opts as CliOptions & TokenOptions;
  switch (sub) {
    case "create": {
      if (rest.length) throw new UsageError(`daemon token create: unexpected argument ${rest[0]}`);
      if (opts.group !== undefined && groupId(opts.group) === undefined) throw new UsageError(`--group ${opts.group}: no such group on this host`);
      const { entry, token } = await createToken(input.paths, { group: opts.group, ttlMs: opts.ttl === undefined ? undefined : parseTtl(opts.ttl) });
      const scope = entry.group ? `the services of group ${entry.group}` : "every service";
      process.stderr.write(`token ${entry.id} created: ${scope}, ${entry.expires ? `expires ${entry.expires}` : "no expiry"}\nit is shown this once (only its hash is kept):\n`);
      process.stdout.write(`${token}\n`);
      return 0;
    }
    case "list": {
      if (rest.length) throw new UsageError(`daemon token list: unexpected argument ${rest[0]}`);
      const tokens = listTokens(input.paths);
      if (opts.format === "json") {
        process.stdout.write(JSON.stringify(tokens.map(({ hash: _hash, ...t }) => ({ ...t, expired: isExpired(t) })), null, 2) + "\n");
        return 0;
      }
      const rows = [["id", "group", "created", "expires"], ...tokens.map((t) => [t.id, t.group ?? "(all)", t.created.slice(0, 19) + "Z", t.expires ? t.expires.slice(0, 19) + "Z" + (isExpired(t) ? " (expired)" : "") : "never"])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n");
      if (!tokens.length) process.stderr.write(`no token in ${tokensFile(input.paths)}: svcmgr daemon token create\n`);
      return 0;
    }
    case "revoke": {
      if (rest.length !== 1) throw new UsageError("daemon token revoke: expected one token id (see daemon token list)");
      if (!(await revokeToken(input.paths, rest[0]!))) throw new UsageError(`no such token: ${rest[0]} (see daemon token list)`);
      process.stdout.write(`token ${rest[0]!.replace(/^svc_([0-9a-f]+)_.*$/, "$1")} revoked: its sessions end now\n`);
      return 0;
    }
    default:
      throw new UsageError(`daemon token ${sub ?? ""}: expected one of ${SUBCOMMANDS.join(", ")}`);
  }
}
