#!/usr/bin/env node
// Launcher for svcmgr, svcmon, allupservices and the per-service shortcuts:
// the name it is invoked by selects the program (see src/cli/argv.ts).
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv);
