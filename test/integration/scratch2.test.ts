import { test } from "vitest";
import { advanceNixpkgs, buildHosts, createWorld, nixOrThrow, setFleetNixpkgsBranch, updateFleetLock } from "../helpers/world.js";
test("scratch2", async () => {
  for (const versionLabel of ["dated", "release"] as const) {
    const w = await createWorld({ versionLabel });
    const hosts = ["web", "db", "gpu-ws", "build-minimal"];
    let prev = await buildHosts(w, hosts);
    for (const rev of ["24.11-b", "24.11-c", "25.05-a"] as const) {
      await advanceNixpkgs(w, rev);
      if (rev === "25.05-a") await setFleetNixpkgsBranch(w, "nixos-25.05");
      await updateFleetLock(w);
      const next = await buildHosts(w, hosts);
      for (const h of hosts) {
        const d = await nixOrThrow(w, ["store", "diff-closures", prev[h]!, next[h]!]);
        const n = (await nixOrThrow(w, ["path-info", "-r", next[h]!])).stdout.trim().split("\n").length;
        console.log(`== ${versionLabel} ${rev} ${h} same=${prev[h] === next[h]} closure=${n}\n${d.stdout}`);
      }
      prev = next;
    }
    await w.cleanup();
  }
});
