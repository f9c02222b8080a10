// The import rules of src/ (run by `npm run lint` and so by `npm test`).
// Layers, lowest first; a module may import its own layer and those below:
//   util → config → status → drivers → service → actions → core → cluster → agent → cli
// (status/ holds the pure algebra and views; its evaluation lives in core/.)
const LAYERS = ["util", "config", "status", "drivers", "service", "actions", "core", "cluster", "agent", "cli"];

const upward = LAYERS.map((layer, i) => ({
  name: `${layer}-imports-downward-only`,
  comment: `src/${layer} may not import ${LAYERS.slice(i + 1).join(", ")}`,
  severity: "error",
  from: { path: `^src/${layer}/`, pathNot: "\\.test\\.ts$" },
  to: { path: `^src/(${LAYERS.slice(i + 1).join("|")})/` },
})).filter((r) => !r.to.path.endsWith("()/"));

module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      comment: "no import cycle between files",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "drivers-are-rooms",
      comment: "a driver folder imports no other driver's folder (shared pieces go through the DriverContext)",
      severity: "error",
      from: { path: "^src/drivers/([^/]+)/", pathNot: "\\.test\\.ts$" },
      to: { path: "^src/drivers/([^/]+)/", pathNot: "^src/drivers/$1/" },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "\\.test\\.ts$" },
  },
};
