import { describe, expect, it } from "vitest";
import { storePingArgs } from "./args.js";
import { parseStorePing } from "./store-ping.js";

describe("parseStorePing (recorded output)", () => {
  it.each([
    [
      "Nix 2.8, daemon",
      "Store URL: daemon\nVersion: 2.8.0\n",
      { url: "daemon", version: "2.8.0", trusted: undefined },
    ],
    [
      "Nix 2.8, local",
      "Store URL: local\nVersion: 2.8.0\n",
      { url: "local", version: "2.8.0", trusted: undefined },
    ],
    [
      "Nix 2.24 (the deprecation warning goes to stderr)",
      "Store URL: daemon\nVersion: 2.24.15\nTrusted: 1\n",
      { url: "daemon", version: "2.24.15", trusted: true },
    ],
    [
      "Nix 2.3-style daemon without a version",
      "Store URL: daemon\n",
      { url: "daemon", version: undefined, trusted: undefined },
    ],
    ["nothing", "", { url: undefined, version: undefined, trusted: undefined }],
  ])("%s", (_name, text, expected) => {
    expect(parseStorePing(text)).toEqual(expected);
  });

  it("uses the command line every version accepts", () => {
    expect(storePingArgs()).toEqual(["store", "ping"]);
  });
});
