import { describe, expect, it } from "vitest";
import type { HostStatus, StatusResult } from "../app/fleet/status.js";
import type { HostProbe } from "../system/status-probe.js";
import { renderStatusMetrics, renderStatusText, toStatusJson } from "./status.js";

const sys = (c: string) => `/nix/store/${c.repeat(32)}-nixos-system-web`;
const probe: HostProbe = {
  now: new Date("2026-12-07T17:00:00Z"),
  currentSystem: sys("a"),
  bootedSystem: sys("a"),
  currentBoot: { kernel: "/k", initrd: "/i", "kernel-modules": "/m" },
  bootedBoot: { kernel: "/k", initrd: "/i", "kernel-modules": "/m" },
  currentGeneration: 4,
  generations: [{ number: 4, storePath: sys("a"), createdAt: new Date("2026-12-01T10:04:30Z") }],
  failedUnits: [],
  failedUnitsError: undefined,
  disk: { freeBytes: 5 * 1024 ** 3, totalBytes: 20 * 1024 ** 3 },
  state: { kind: "absent" },
};

const host = (over: Partial<HostStatus>): HostStatus => ({
  host: "web",
  target: "root@web",
  port: undefined,
  state: "up-to-date",
  findings: [],
  expected: sys("a"),
  probe,
  diff: undefined,
  diffUnavailable: undefined,
  durationMs: 12,
  ...over,
});

const result: StatusResult = {
  flakeDir: "/fleet",
  ref: undefined,
  revision: undefined,
  checkedAt: new Date("2026-12-07T17:00:00Z"),
  skippedHosts: ["build-minimal"],
  hosts: [
    host({}),
    host({
      host: 'db "main"\u001b[31m',
      state: "behind",
      findings: [{ state: "behind", reason: "the flake builds a system the host does not have yet" }],
      expected: sys("b"),
      diffUnavailable: "the flake's system (not built here) not in the local store",
    }),
    host({
      host: "gone",
      state: "unreachable",
      findings: [{ state: "unreachable", reason: "ssh failed: Connection refused" }],
      probe: undefined,
    }),
  ],
};

describe("renderStatusText", () => {
  it("prints the headline, the table and a section per host not up to date, with names made printable", () => {
    expect(renderStatusText(result, { color: false })).toBe(
      [
        "2 of 3 hosts need attention: 1 unreachable, 1 behind.",
        "",
        "host                 state        generation            failed units  /nix free  agent",
        "web                  up-to-date   4 (2026-12-01 10:04)  0             5.0 GiB",
        'db "main"\\u001b[31m  behind       4 (2026-12-01 10:04)  0             5.0 GiB',
        "gone                 unreachable",
        "Not checked: build-minimal",
        "",
        '── db "main"\\u001b[31m (behind) ──',
        "behind: the flake builds a system the host does not have yet",
        `Running:  ${sys("a")}`,
        `Flake:    ${sys("b")}`,
        "No package diff: the flake's system (not built here) not in the local store.",
        "",
        "── gone (unreachable) ──",
        "unreachable: ssh failed: Connection refused",
        `Flake:    ${sys("a")}`,
        "",
      ].join("\n"),
    );
  });
  it("says when every host is up to date", () => {
    const ok = { ...result, hosts: [host({})] };
    expect(renderStatusText(ok, { color: false }).split("\n")[0]).toBe("The host is up to date.");
  });
});

describe("toStatusJson", () => {
  it("carries the schema version, the exit code and the per-state summary", () => {
    const doc = toStatusJson(result);
    expect(doc).toMatchObject({ schemaVersion: 1, kind: "status", exitCode: 1, ref: null });
    expect(doc.summary).toEqual({
      unreachable: 1,
      "checks-failing": 0,
      "eval-failed": 0,
      drifted: 0,
      behind: 1,
      "reboot-pending": 0,
      "up-to-date": 1,
    });
    expect(doc.hosts[0]?.running).toMatchObject({
      generation: 4,
      generationCreatedAt: "2026-12-01T10:04:30.000Z",
      nix: { freeBytes: 5 * 1024 ** 3, totalBytes: 20 * 1024 ** 3 },
    });
    expect(doc.hosts[2]?.running).toBeNull();
  });
});

describe("renderStatusMetrics", () => {
  it("one series per host, label values escaped by prom-client", async () => {
    const text = await renderStatusMetrics(result);
    expect(text).toContain('ternix_status_host_state{host="web",state="up-to-date"} 1');
    expect(text).toContain('ternix_status_host_state{host="db \\"main\\"\u001b[31m",state="behind"} 1');
    expect(text).toContain('ternix_status_up{host="gone"} 0');
    expect(text).not.toMatch(/ternix_status_failed_units\{host="gone"\}/);
    expect(text).toContain('ternix_status_hosts{state="behind"} 1');
    expect(text).toContain('ternix_status_generation_timestamp_seconds{host="web"} 1796119470');
  });
});
