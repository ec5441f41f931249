import { describe, expect, it } from "vitest";
import { commandLoaders, loadCommands, requestedCommand } from "./commands.js";

describe("requestedCommand", () => {
  it.each([
    [["diff", "a", "b"], "diff"],
    [["--verbose", "plan", "--json"], "plan"],
    [["--nix-option", "cores=2", "lock-diff"], "lock-diff"],
    [["--no-color", "--nix-option=cores=2", "gc"], "gc"],
    [["--help"], undefined],
    [["help", "diff"], undefined],
    [["nope"], undefined],
    [["--", "diff"], undefined],
  ])("%j → %s", (argv, expected) => {
    expect(requestedCommand(argv)).toBe(expected);
  });
});

describe("loadCommands", () => {
  it("loads only the named command, all for help, none for --version", async () => {
    expect(await loadCommands(["diff", "x", "y"])).toHaveLength(1);
    expect(await loadCommands(["--help"])).toHaveLength(commandLoaders.length);
    expect(await loadCommands(["--version"])).toHaveLength(0);
  });
});
