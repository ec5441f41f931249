import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseProfileListing, PROFILE_SCRIPT } from "./ssh-target.js";

const A = "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-web-1";
const B = "/nix/store/1123456789abcdfghijklmnpqrsvwxyz-nixos-system-web-2";
const S = "/nix/store/2123456789abcdfghijklmnpqrsvwxyz-nixos-system-web-2-gpu";

describe("parseProfileListing", () => {
  it("reads generations, the current one and specialisations", () => {
    const text = [
      "current\tsystem-2-link",
      `gen\tsystem-1-link\t${A}\t1700000000`,
      `gen\tsystem-2-link\t${B}\t1700000100`,
      `spec\tsystem-2-link\t${S}`,
      "gen\tsystem-x-link\t/nix/store/bad\t1",
      `gen\tother-3-link\t${A}\t1`,
      "",
    ].join("\n");
    expect(parseProfileListing("/p/system", text)).toEqual({
      profile: "/p/system",
      current: 2,
      generations: [
        {
          number: 1,
          link: "/p/system-1-link",
          storePath: A,
          createdAt: new Date(1_700_000_000_000),
          specialisations: [],
        },
        {
          number: 2,
          link: "/p/system-2-link",
          storePath: B,
          createdAt: new Date(1_700_000_100_000),
          specialisations: [S],
        },
      ],
    });
  });

  it("a missing profile has no current generation", () => {
    expect(parseProfileListing("/p/system", "current\t\n")).toEqual({
      profile: "/p/system",
      current: undefined,
      generations: [],
    });
  });

  // The script is what runs on the host: check it against a real profile-shaped directory.
  it("PROFILE_SCRIPT lists a real directory (paths with spaces too)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ternix profile "));
    try {
      mkdirSync(join(dir, "p"));
      symlinkSync(A, join(dir, "p", "system-1-link"));
      symlinkSync(B, join(dir, "p", "system-2-link"));
      symlinkSync("system-2-link", join(dir, "p", "system"));
      const r = spawnSync("sh", ["-c", PROFILE_SCRIPT, "sh", join(dir, "p", "system")], { encoding: "utf8" });
      expect(r.status).toBe(0);
      const state = parseProfileListing(join(dir, "p", "system"), r.stdout);
      expect(state.current).toBe(2);
      expect(state.generations.map((g) => [g.number, g.storePath])).toEqual([
        [1, A],
        [2, B],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
