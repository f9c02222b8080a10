// The commands that read or write configs, and print status.
import fs from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { UsageError, formatProblem } from "../../util/errors.js";
import { configFile } from "../../util/paths.js";
import { collect, forEachService, formatOption, selectServices, useColor, waitMs, type ActionSpec } from "../options.js";

export const configActions: ActionSpec[] = [
  {
    name: "create",
    summary: "write a new service config with the implicit [DEFAULT] keywords and create its shortcut",
    configure: (cmd) =>
      cmd.option("--kw <SECTION.KEY=VALUE>", "keyword to set (repeatable)", collect).option("--env <type>", "service type: PRD, INT, DEV, TST …"),
    async run({ manager, opts, launcher }) {
      const name = opts.service;
      if (!name) throw new UsageError("create needs the service name: svcmgr create -s NAME");
      for (const n of name.split(",")) {
        const r = await manager.create(n, { kw: opts.kw, env: opts.env, launcher });
        for (const i of r.implicit) process.stdout.write(`Implicitly add [DEFAULT] ${i.key} = ${i.value}\n`);
      }
      return 0;
    },
  },
  {
    name: "print_status",
    summary: "print status: the status tree of each service (--format json for machines)",
    configure: (cmd) => cmd.addOption(formatOption(cmd)).option("--refresh", "ignored: print status always evaluates live"),
    async run(input) {
      const { opts } = input;
      const remote = await input.remote();
      const names = remote ? remote.select(opts, false) : await selectServices(input, false);
      const { renderStatusTree } = await import("../../status/tree.js");
      const { agentStatuses } = await import("../agent-client.js");
      // the agent keeps every status current from events: its answer is a live one
      const results = remote ? remote.statuses(names) : [...((await agentStatuses(input.paths, names)) ?? (await input.manager.statusOfMany(names, { refresh: true }))).values()];
      if (opts.format === "json") {
        process.stdout.write(JSON.stringify(names.length === 1 && opts.service && !/[*?,]/.test(opts.service) ? results[0] : results, null, 2) + "\n");
      } else {
        for (const s of results) process.stdout.write(renderStatusTree(s, { color: useColor(opts) }));
      }
      return 0;
    },
  },
  {
    name: "print_config",
    summary: "print config: the config as written (--format json for the parsed form)",
    configure: (cmd) => cmd.addOption(formatOption(cmd)),
    async run(input) {
      const names = await selectServices(input, false);
      if (input.opts.format === "json") {
        const out: Record<string, unknown> = {};
        for (const n of names) out[n] = await input.manager.configJson(n);
        process.stdout.write(JSON.stringify(names.length === 1 ? out[names[0]!] : out, null, 2) + "\n");
        return 0;
      }
      for (const n of names) process.stdout.write(input.manager.configText(n)); // the file as written, valid or not
      return 0;
    },
  },
  {
    name: "validate_config",
    summary: "validate config: check the config; one line per problem, exit 2 when invalid",
    async run(input) {
      let code = 0;
      for (const n of await selectServices(input, false)) {
        const cfg = await input.manager.readConfig(n);
        for (const p of cfg.problems) process.stderr.write(formatProblem(p) + "\n");
        if (cfg.problems.length) code = 2;
        else process.stdout.write(`${n}: valid\n`);
      }
      return code;
    },
  },
  {
    name: "get",
    summary: "print a keyword's value (--kw SECTION.KEY, or --param KEY for DEFAULT)",
    configure: (cmd) => cmd.option("--kw <SECTION.KEY>", "keyword to read", collect).option("--param <key>", "keyword of [DEFAULT] (legacy form)").option("--eval", "print the value with references expanded and defaults applied"),
    async run(input) {
      const { opts, manager } = input;
      const specs = [...(opts.kw ?? []), ...(opts.param ? [`DEFAULT.${opts.param}`] : [])];
      if (!specs.length) throw new UsageError("get needs --kw SECTION.KEY");
      const names = await selectServices(input, false);
      const { parseKwPath } = await import("../../service/edit.js");
      let code = 0;
      for (const n of names) {
        for (const spec of specs) {
          const { section, key } = parseKwPath(spec);
          const { known, value } = await manager.getKeyword(n, section, key, opts.eval === true);
          if (!known) throw new UsageError(`--kw ${spec}: unknown keyword`);
          if (value === undefined) {
            process.stderr.write(`${n}: ${spec} is not set\n`);
            code = 1;
          } else process.stdout.write(value + "\n");
        }
      }
      return code;
    },
  },
  {
    name: "set",
    summary: "set keywords (--kw SECTION.KEY=VALUE ..., or --param KEY --value VALUE)",
    configure: (cmd) => cmd.option("--kw <SECTION.KEY=VALUE>", "keyword to set (repeatable)", collect).option("--param <key>", "keyword of [DEFAULT] (legacy form)").option("--value <value>", "value for --param"),
    async run(input) {
      const { opts } = input;
      const { parseKwAssignment, parseKwPath } = await import("../../service/edit.js");
      const edits = (opts.kw ?? []).map(parseKwAssignment);
      if (opts.param !== undefined) {
        if (opts.value === undefined) throw new UsageError("--param needs --value");
        edits.push({ ...parseKwPath(opts.param), value: opts.value });
      }
      if (!edits.length) throw new UsageError("set needs --kw SECTION.KEY=VALUE");
      const names = await selectServices(input, true);
      return forEachService(names, async (n) => {
        await input.manager.setKeywords(n, edits, waitMs(opts));
        return 0;
      });
    },
  },
  {
    name: "unset",
    summary: "remove keywords (--kw SECTION.KEY ..., or --param KEY)",
    configure: (cmd) => cmd.option("--kw <SECTION.KEY>", "keyword to remove (repeatable)", collect).option("--param <key>", "keyword of [DEFAULT] (legacy form)"),
    async run(input) {
      const { opts } = input;
      const { parseKwPath } = await import("../../service/edit.js");
      const edits = [...(opts.kw ?? []), ...(opts.param ? [opts.param] : [])].map((s) => ({ ...parseKwPath(s), value: undefined }));
      if (!edits.length) throw new UsageError("unset needs --kw SECTION.KEY");
      const names = await selectServices(input, true);
      return forEachService(names, async (n) => {
        await input.manager.setKeywords(n, edits, waitMs(opts));
        return 0;
      });
    },
  },
  {
    name: "edit_config",
    summary: "edit config: open $EDITOR on the config; an invalid result is refused and the old file kept",
    async run(input) {
      const names = await selectServices(input, true);
      if (names.length !== 1) throw new UsageError("edit config works on one service: -s NAME");
      const n = names[0]!;
      const file = configFile(input.paths, n);
      const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "svcmgr-edit-")), path.basename(file));
      try {
        fs.writeFileSync(tmp, input.manager.configText(n));
        const editor = process.env.VISUAL || process.env.EDITOR || "vi";
        // EDITOR may carry arguments ("code -w"): split on spaces, run without a shell.
        const [cmd = "vi", ...args] = editor.split(/\s+/).filter(Boolean);
        const r = spawnSync(cmd, [...args, tmp], { stdio: "inherit" });
        if (r.status !== 0) throw new UsageError(`${editor} exited ${r.status ?? r.signal}: config unchanged`);
        await input.manager.replaceConfig(n, fs.readFileSync(tmp, "utf8"), waitMs(input.opts));
        process.stdout.write(`${n}: config saved\n`);
        return 0;
      } finally {
        fs.rmSync(path.dirname(tmp), { recursive: true, force: true });
      }
    },
  },
];
