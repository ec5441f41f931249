import { describe, expect, it } from "vitest";
import { deployJson, renderDeployReport, type DeployView } from "./deploy.js";

const P = (n: string) => `/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-${n}`;
const view: DeployView = {
  operation: "switch",
  dryRun: false,
  aborted: false,
  interrupted: false,
  canaries: ["web1"],
  excluded: ["build-minimal"],
  preview: [],
  hosts: [
    {
      host: "web1",
      target: "root@a",
      state: "deployed",
      before: { generation: 4 },
      after: { generation: 5 },
      durationMs: 8100,
      needsReboot: true,
      deadMansSwitch: { unit: "ternix-confirm-a", state: "disarmed" },
    },
    {
      host: "web2",
      target: "root@b",
      state: "rolled-back",
      stage: "checks",
      reason: "check failed: nginx: exit 3",
      before: { generation: 4 },
      after: { storePath: P("web2") },
      durationMs: 12000,
    },
    {
      host: "db",
      target: "root@c",
      state: "failed",
      stage: "phase1",
      reason: "interrupted",
      deadMansSwitch: { unit: "ternix-confirm-c", state: "left-armed" },
    },
    { host: "odd \u001b[31mname", target: "root@d", state: "skipped", reason: "a canary failed" },
    { host: "gone", target: "root@e", state: "unreachable", reason: "cannot reach gone over ssh" },
  ],
};

describe("renderDeployReport", () => {
  it("a table with result, generations, time and reboot; reasons and hosts left to their switch below", () => {
    const text = renderDeployReport(view);
    expect(text).toMatch(/^HOST +RESULT +GENERATION +TIME +REBOOT$/m);
    expect(text).toMatch(/^web1 +deployed +4 → 5 +8\.1s +yes$/m);
    expect(text).toMatch(/^web2 +rolled-back +4 → nixos-system-web2 +12\.0s$/m);
    expect(text).toMatch(/^db +failed \(phase 1\) +- → -$/m);
    expect(text).toContain("web2: check failed: nginx: exit 3");
    expect(text).toContain(
      "Left to their dead man's switch (they go back to the previous system unless confirmed): db",
    );
    expect(text).toContain("Excluded: build-minimal");
    // A host name cannot carry terminal escapes.
    expect(text).not.toContain("\u001b");
  });
});

describe("deployJson", () => {
  it("is versioned and gives every host its state, stage and switch", () => {
    const json = deployJson(view) as {
      schemaVersion: number;
      kind: string;
      hosts: Record<string, unknown>[];
    };
    expect(json.schemaVersion).toBe(1);
    expect(json.kind).toBe("deploy");
    expect(json.hosts[1]).toMatchObject({
      host: "web2",
      state: "rolled-back",
      stage: "checks",
      after: { storePath: P("web2"), generation: null },
    });
    expect(json.hosts[2]).toMatchObject({ deadMansSwitch: { state: "left-armed" } });
  });
});
