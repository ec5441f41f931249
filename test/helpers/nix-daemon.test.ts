import { describe, expect, it } from "vitest";
import { daemonEnv } from "./nix-daemon.js";

describe("daemonEnv", () => {
  it("drops the client's store so the daemon opens the local store, not its own socket", () => {
    const env = daemonEnv({
      NIX_REMOTE: "daemon",
      NIX_CONFIG: "experimental-features = nix-command flakes\nstore = daemon\nsubstituters =",
      PATH: "/usr/bin",
    });
    expect(env["NIX_REMOTE"]).toBeUndefined();
    expect(env["NIX_CONFIG"]).toBe("experimental-features = nix-command flakes\nsubstituters =");
    expect(env["PATH"]).toBe("/usr/bin");
  });

  it("leaves an environment without client settings as it is", () => {
    expect(daemonEnv({ HOME: "/root" })).toEqual({ HOME: "/root" });
  });
});
