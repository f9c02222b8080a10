import { kw } from "../../config/keyword.js";
import type { DriverManifest } from "../manifest.js";

export const appManifest: DriverManifest = {
  group: "app",
  type: "",
  isDefault: true,
  keywords: [
    { name: "start", schema: kw.string(), text: "command starting the application" },
    { name: "stop", schema: kw.string(), text: "command stopping the application" },
    { name: "check", schema: kw.string(), text: "status command: exit 0 = up, 1 = down, other = warn" },
    { name: "timeout", schema: kw.duration(), default: "60s", text: "time limit of each command" },
  ],
  label: (v) => v.start ?? v.check ?? "",
};
