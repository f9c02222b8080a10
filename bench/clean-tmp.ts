import { cleanupEverything, leftovers } from "../test/support/docker-fixture.js";
for (const r of process.argv.slice(2)) { await cleanupEverything(r); console.log(r, await leftovers(r)); }
