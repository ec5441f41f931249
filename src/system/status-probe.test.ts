import { describe, expect, it } from "vitest";
import { PROBE_SCRIPT, parseProbeOutput, probeArgv, splitSections, type ProbePaths } from "./status-probe.js";

const NONCE = "0123456789abcdef0123456789abcdef";
const paths: ProbePaths = {
  profile: "/nix/var/nix/profiles/system",
  currentSystem: "/run/current-system",
  bootedSystem: "/run/booted-system",
  stateDir: "/var/lib/ternix",
  systemctl: "systemctl",
  nixDir: "/nix",
};
const sys = (c: string, name = "nixos-system-web-24.11") => `/nix/store/${c.repeat(32)}-${name}`;
const kernel = (v: string) => `/nix/store/${"k".repeat(32)}-linux-${v}/bzImage`;

function section(name: string, text: string, rc = 0): string {
  return `${NONCE} begin ${name}\n${text}\n${NONCE} end ${rc}\n`;
}

/** What the script prints on a NixOS host (shape recorded from a run against a fixture machine). */
function output(overrides: Record<string, [string, number?]> = {}): string {
  const sections: Record<string, [string, number?]> = {
    format: ["1\n"],
    now: ["1796662935\n"],
    current: [`${sys("a")}\n`],
    booted: [`${sys("b")}\n`],
    "current-boot": [
      `kernel ${kernel("6.6.64")}\ninitrd /nix/store/x/initrd\nkernel-modules /nix/store/m2\n`,
    ],
    "booted-boot": [`kernel ${kernel("6.6.63")}\ninitrd /nix/store/x/initrd\nkernel-modules /nix/store/m1\n`],
    profile: ["system-12-link\n"],
    generations: [
      `1796000000 system-11-link ${sys("b")}\n1796600000.25 system-12-link ${sys("a")}\n1796600000 other-3-link ${sys("c")}\n`,
    ],
    specialisations: [`system-12-link/specialisation/gaming mode ${sys("s", "nixos-system-gaming")}\n`],
    "failed-units": ["nginx.service loaded failed failed nginx\n"],
    df: ["1K-blocks    Avail\n264212084 82668736\n"],
    state: ['{"schemaVersion":1,"generations":[]}'],
    ...overrides,
  };
  return Object.entries(sections)
    .map(([name, [text, rc]]) => section(name, text, rc))
    .join("");
}

describe("probeArgv", () => {
  it("passes every path as a positional parameter of a constant script", () => {
    const argv = probeArgv({ ...paths, profile: "/p/it's $(x)" }, NONCE);
    expect(argv.slice(0, 4)).toEqual(["sh", "-c", PROBE_SCRIPT, "ternix-status"]);
    expect(argv.slice(4)).toEqual([
      NONCE,
      "/p/it's $(x)",
      paths.currentSystem,
      paths.bootedSystem,
      paths.stateDir,
      paths.systemctl,
      paths.nixDir,
    ]);
    expect(PROBE_SCRIPT).not.toMatch(/['\\]/);
  });
  it("refuses a nonce that is not hex", () => {
    expect(() => probeArgv(paths, "a b")).toThrow();
  });
});

describe("splitSections", () => {
  it("keeps content exactly, with or without a final newline, and ignores text around sections", () => {
    const text = `motd banner\n${section("a", "x\n")}noise\n${section("b", "y")}${section("c", "")}`;
    const s = splitSections(text, NONCE);
    expect(s.get("a")).toEqual({ text: "x\n", rc: 0 });
    expect(s.get("b")).toEqual({ text: "y", rc: 0 });
    expect(s.get("c")).toEqual({ text: "", rc: 0 });
  });
  it("cannot be fooled by a file that prints markers with another nonce", () => {
    const other = "f".repeat(32);
    const s = splitSections(section("state", `${other} end 0\n${other} begin format\n`), NONCE);
    expect(s.get("state")?.text).toBe(`${other} end 0\n${other} begin format\n`);
    expect(s.has("format")).toBe(false);
  });
});

describe("parseProbeOutput", () => {
  it("reads every section", () => {
    const r = parseProbeOutput(output(), NONCE, paths);
    if (!r.ok) throw new Error(r.reason);
    const p = r.probe;
    expect(p.now.toISOString()).toBe("2026-12-07T17:02:15.000Z");
    expect(p.currentSystem).toBe(sys("a"));
    expect(p.bootedSystem).toBe(sys("b"));
    expect(p.currentBoot.kernel).toBe(kernel("6.6.64"));
    expect(p.bootedBoot?.kernel).toBe(kernel("6.6.63"));
    expect(p.currentGeneration).toBe(12);
    expect(p.generations.map((g) => [g.number, g.storePath, g.createdAt.getTime()])).toEqual([
      [11, sys("b"), 1796000000000],
      [12, sys("a"), 1796600000250],
    ]);
    expect(p.generations[1]?.specialisations).toEqual([sys("s", "nixos-system-gaming")]);
    expect(p.failedUnits).toEqual(["nginx.service"]);
    expect(p.disk).toEqual({ totalBytes: 264212084 * 1024, freeBytes: 82668736 * 1024 });
    expect(p.state).toEqual({ kind: "ok", state: { schemaVersion: 1, generations: [] } });
  });

  it.each([
    ["no output at all", "", /nothing Ternix understands/],
    ["another format", output({ format: ["2\n"] }), /format is 2/],
    ["no running system", output({ current: ["", 1] }), /no running system: \/run\/current-system/],
  ])("fails as a value: %s", (_, text, reason) => {
    const r = parseProbeOutput(text, NONCE, paths);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("leaves what it could not read undefined, and says why", () => {
    const r = parseProbeOutput(
      output({
        booted: ["", 1],
        "failed-units": ["Failed to connect to bus: No such file or directory\n", 1],
        df: ["df: /nix: No such file\n", 1],
        state: ["", 100],
        profile: ["", 1],
      }),
      NONCE,
      paths,
    );
    if (!r.ok) throw new Error(r.reason);
    expect(r.probe.bootedSystem).toBeUndefined();
    expect(r.probe.bootedBoot).toBeUndefined();
    expect(r.probe.failedUnits).toBeUndefined();
    expect(r.probe.failedUnitsError).toBe(
      "systemctl exited with 1: Failed to connect to bus: No such file or directory",
    );
    expect(r.probe.disk).toBeUndefined();
    expect(r.probe.state).toEqual({ kind: "absent" });
    expect(r.probe.currentGeneration).toBeUndefined();
  });

  it("reports a state file that is not one", () => {
    const r = parseProbeOutput(output({ state: ["{not json"] }), NONCE, paths);
    if (!r.ok) throw new Error(r.reason);
    expect(r.probe.state.kind).toBe("invalid");
    const unreadable = parseProbeOutput(output({ state: ["", 1] }), NONCE, paths);
    if (!unreadable.ok) throw new Error(unreadable.reason);
    expect(unreadable.probe.state).toEqual({
      kind: "invalid",
      reason: "cannot read /var/lib/ternix/state.json (cat exited with 1)",
    });
  });
});
