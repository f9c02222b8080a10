// One driver instance per resource, loaded lazily so that commands which
// never touch a driver (print config, svcmon from the cache) stay fast.
import type { ResourceConfig } from "../config/service-config.js";
import type { ServiceRuntime } from "../service/runtime.js";
import type { ResourceDriver } from "./driver.js";

export async function createDriver(rt: ServiceRuntime, res: ResourceConfig): Promise<ResourceDriver> {
  const log = rt.log.child({ rid: res.rid });
  switch (`${res.group}.${res.manifest.type}`) {
    case "container.docker": {
      const { DockerContainer } = await import("./container-docker/container.js");
      return new DockerContainer(rt, res, log);
    }
    case "ip.": {
      const { IpAddress } = await import("./ip/ip.js");
      return new IpAddress(rt, res, log);
    }
    case "disk.loop": {
      const { LoopDisk } = await import("./disk-loop/loop.js");
      return new LoopDisk(rt, res, log);
    }
    case "disk.vg": {
      const { VolumeGroup } = await import("./disk-vg/vg.js");
      return new VolumeGroup(rt, res, log);
    }
    case "fs.": {
      const { Filesystem } = await import("./fs/fs.js");
      return new Filesystem(rt, res, log);
    }
    case "app.": {
      const { AppScripts } = await import("./app/app.js");
      return new AppScripts(rt, res, log);
    }
    default:
      throw new Error(`no driver for ${res.group} type ${res.manifest.type}`);
  }
}
