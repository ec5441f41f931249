import { describe, expect, it } from "vitest";
import { LockParseError } from "../errors.js";
import { formatPath, parseFlakeLock } from "./parse.js";

/** The shape `nix flake lock` writes: nixpkgs, home-manager following it, flake-utils with systems. */
function realisticLock(): Record<string, unknown> {
  return {
    nodes: {
      "flake-utils": {
        inputs: { systems: "systems" },
        locked: {
          lastModified: 1731533236,
          narHash: "sha256-l0KFg5HjrsfsO/JpG+r7fRrqm12kzFHyUHqHCVpMMbI=",
          owner: "numtide",
          repo: "flake-utils",
          rev: "11707dc2f618dd54ca8739b309ec4fc024de578b",
          type: "github",
        },
        original: { owner: "numtide", repo: "flake-utils", type: "github" },
      },
      "home-manager": {
        inputs: { nixpkgs: ["nixpkgs"] },
        locked: {
          lastModified: 1733085484,
          narHash: "sha256-dVmNuUajnU18oHzBQWZm1BQtANCHaqNuxTHZQ+GN0r8=",
          owner: "nix-community",
          repo: "home-manager",
          rev: "c1fee8d4a60b89cae12b288ba9dbc608ff298163",
          type: "github",
        },
        original: { owner: "nix-community", ref: "release-24.11", repo: "home-manager", type: "github" },
      },
      nixpkgs: {
        locked: {
          lastModified: 1733040600,
          narHash: "sha256-Ln3mgx8ZF5O7Kp2e1S8Yp3vZJ6yTb5Z7Fu2xqNHnW2k=",
          owner: "NixOS",
          repo: "nixpkgs",
          rev: "5e4fbfb6b3de1aa2872b76d49fafc942626e2add",
          type: "github",
        },
        original: { owner: "NixOS", ref: "nixos-24.11", repo: "nixpkgs", type: "github" },
      },
      root: { inputs: { "flake-utils": "flake-utils", "home-manager": "home-manager", nixpkgs: "nixpkgs" } },
      systems: {
        locked: {
          lastModified: 1681028828,
          narHash: "sha256-Vy1rq5AaRuLzOxct8nz4T6wlgyUR7zLU309k9mBC768=",
          owner: "nix-systems",
          repo: "default",
          rev: "da67096a3b9bf56a91d16901293e51ba5b49a27e",
          type: "github",
        },
        original: { owner: "nix-systems", repo: "default", type: "github" },
      },
    },
    root: "root",
    version: 7,
  };
}

type Json = Record<string, unknown>;
const nodesOf = (lock: Json) => lock["nodes"] as Record<string, Json>;

/** Apply an edit to a fresh realistic lock and serialise it. */
function edited(edit: (lock: Json) => void): string {
  const lock = realisticLock();
  edit(lock);
  return JSON.stringify(lock, null, 2);
}

function parseError(text: string): LockParseError {
  try {
    parseFlakeLock(text, "flake.lock");
  } catch (error) {
    if (error instanceof LockParseError) return error;
    throw error;
  }
  throw new Error("expected parseFlakeLock to throw");
}

describe("parseFlakeLock", () => {
  it("parses a lock as Nix writes it", () => {
    const lock = parseFlakeLock(JSON.stringify(realisticLock(), null, 2), "flake.lock");
    expect(lock.version).toBe(7);
    expect(lock.root).toBe("root");
    expect([...lock.nodes.keys()].sort()).toEqual([
      "flake-utils",
      "home-manager",
      "nixpkgs",
      "root",
      "systems",
    ]);
    expect(lock.nodes.get("home-manager")?.inputs).toEqual(new Map([["nixpkgs", ["nixpkgs"]]]));
    expect(lock.nodes.get("nixpkgs")?.locked?.lastModified).toBe(1733040600);
  });

  it.each([5, 6, 7])("accepts lock version %i", (version) => {
    const lock = parseFlakeLock(
      edited((l) => (l["version"] = version)),
      "flake.lock",
    );
    expect(lock.version).toBe(version);
  });

  it("merges version 5's info object into locked, as Nix does", () => {
    const text = edited((l) => {
      l["version"] = 5;
      const nixpkgs = nodesOf(l)["nixpkgs"] as Json;
      const locked = nixpkgs["locked"] as Json;
      nixpkgs["info"] = { lastModified: locked["lastModified"], narHash: locked["narHash"] };
      delete locked["lastModified"];
      delete locked["narHash"];
    });
    const lock = parseFlakeLock(text, "flake.lock");
    expect(lock.nodes.get("nixpkgs")?.locked?.lastModified).toBe(1733040600);
    expect(lock.nodes.get("nixpkgs")?.locked?.narHash).toMatch(/^sha256-/);
  });

  it("keeps attributes it does not know", () => {
    const text = edited((l) => {
      l["futureTopLevel"] = true;
      ((nodesOf(l)["nixpkgs"] as Json)["locked"] as Json)["shallow"] = true;
      ((nodesOf(l)["nixpkgs"] as Json)["locked"] as Json)["someNewAttr"] = "x";
      (nodesOf(l)["nixpkgs"] as Json)["parent"] = [];
    });
    const lock = parseFlakeLock(text, "flake.lock");
    expect(lock["futureTopLevel"]).toBe(true);
    expect(lock.nodes.get("nixpkgs")?.locked?.["someNewAttr"]).toBe("x");
    expect(lock.nodes.get("nixpkgs")?.["parent"]).toEqual([]);
  });

  it("strips a byte-order mark", () => {
    expect(parseFlakeLock(`\uFEFF${JSON.stringify(realisticLock())}`, "flake.lock").version).toBe(7);
  });

  it("accepts a follows path to the root flake itself", () => {
    const text = edited((l) => ((nodesOf(l)["home-manager"] as Json)["inputs"] = { self: [] }));
    expect(parseFlakeLock(text, "flake.lock").nodes.get("home-manager")?.inputs).toEqual(
      new Map([["self", []]]),
    );
  });

  it.each(["__proto__", "constructor", "toString"])("keeps a node and an input named %s", (name) => {
    // defineProperty: an assignment to `__proto__` would set the prototype, as JSON.parse does not.
    const own = (object: Json, key: string, value: unknown) =>
      Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
    const text = edited((l) => {
      own(nodesOf(l), name, nodesOf(l)["nixpkgs"]);
      own((nodesOf(l)["root"] as Json)["inputs"] as Json, name, name);
    });
    const lock = parseFlakeLock(text, "flake.lock");
    expect(lock.nodes.get("root")?.inputs?.get(name)).toBe(name);
    expect(lock.nodes.get(name)?.locked?.repo).toBe("nixpkgs");
  });

  it("a missing node named like an Object property is still missing", () => {
    const text = edited((l) => (((nodesOf(l)["root"] as Json)["inputs"] as Json)["x"] = "constructor"));
    expect(() => parseFlakeLock(text, "flake.lock")).toThrow(/refers to missing node "constructor"/);
  });
});

describe("parseFlakeLock errors", () => {
  const cases: Array<{ name: string; text: string; message: RegExp; path?: string; hint?: RegExp }> = [
    { name: "empty file", text: "  \n", message: /^flake\.lock: file is empty$/ },
    {
      name: "malformed JSON",
      text: '{\n  "nodes": {,\n}',
      message: /^flake\.lock: invalid JSON: .+ at line 2, column 13$/,
    },
    {
      name: "trailing comma",
      text: '{"version": 7,}',
      message: /^flake\.lock: invalid JSON: .+ at line 1, column 15$/,
    },
    {
      name: "truncated JSON",
      text: '{"version": 7, "nodes": ',
      message: /^flake\.lock: invalid JSON: Unexpected end of JSON input at line 1, column 25$/,
    },
    {
      name: "a file that is not JSON, whose content is never echoed",
      text: "root:$y$j9T$secret:19000:0:99999:7:::\ndaemon:*:19000",
      message: /^flake\.lock: invalid JSON: unexpected character at line 1, column 1$/,
    },
    {
      name: "a bad token inside, not echoed",
      text: '{\n  "version": hunter2\n}',
      message: /^flake\.lock: invalid JSON: unexpected character at line 2, column 14$/,
    },
    { name: "not an object", text: "[1, 2]", message: /expected a JSON object, got array$/ },
    {
      name: "old version",
      text: edited((l) => (l["version"] = 4)),
      message: /unsupported lock version 4 \(at version\)$/,
      path: "version",
      hint: /nix flake lock/,
    },
    {
      name: "newer version",
      text: edited((l) => (l["version"] = 8)),
      message: /unsupported lock version 8/,
      path: "version",
      hint: /upgrade Ternix/,
    },
    {
      name: "version as a string",
      text: edited((l) => (l["version"] = "7")),
      message: /expected number, got string \(at version\)$/,
      path: "version",
    },
    {
      name: "missing nodes",
      text: edited((l) => delete l["nodes"]),
      message: /missing required field \(at nodes\)$/,
      path: "nodes",
    },
    {
      name: "unknown input type",
      text: edited((l) => (((nodesOf(l)["nixpkgs"] as Json)["locked"] as Json)["type"] = "svn")),
      message: /unknown input type "svn" \(at nodes\.nixpkgs\.locked\.type\)$/,
      path: "nodes.nixpkgs.locked.type",
    },
    {
      name: "missing type",
      text: edited((l) => delete ((nodesOf(l)["nixpkgs"] as Json)["original"] as Json)["type"]),
      message: /unknown input type undefined/,
      path: "nodes.nixpkgs.original.type",
    },
    {
      name: "lastModified as a string",
      text: edited(
        (l) => (((nodesOf(l)["nixpkgs"] as Json)["locked"] as Json)["lastModified"] = "2024-12-01"),
      ),
      message: /expected number, got string/,
      path: "nodes.nixpkgs.locked.lastModified",
    },
    {
      name: "input that is neither a node key nor a follows path",
      text: edited((l) => ((nodesOf(l)["root"] as Json)["inputs"] = { nixpkgs: 3 })),
      message: /expected a node key \(string\) or a follows path/,
      path: "nodes.root.inputs.nixpkgs",
    },
    {
      name: "two problems at once",
      text: edited((l) => {
        (nodesOf(l)["nixpkgs"] as Json)["flake"] = "no";
        (nodesOf(l)["systems"] as Json)["flake"] = "no";
      }),
      message: /expected boolean, got string \(and 1 more problem\)/,
      path: "nodes.nixpkgs.flake",
    },
    {
      name: "root node missing",
      text: edited((l) => (l["root"] = "top")),
      message: /root node "top" is missing from nodes/,
      path: "root",
    },
    {
      name: "input naming a missing node",
      text: edited((l) => delete nodesOf(l)["systems"]),
      message: /input "systems" of node "flake-utils" refers to missing node "systems"/,
      path: "nodes.flake-utils.inputs.systems",
    },
    {
      name: "node without locked",
      text: edited((l) => delete (nodesOf(l)["nixpkgs"] as Json)["locked"]),
      message: /node "nixpkgs" has no locked reference/,
      path: "nodes.nixpkgs.locked",
    },
    {
      name: "follows path that does not exist",
      text: edited(
        (l) => ((nodesOf(l)["home-manager"] as Json)["inputs"] = { nixpkgs: ["nixpkgs-unstable"] }),
      ),
      message: /follows "nixpkgs-unstable", which does not resolve: input "nixpkgs-unstable" does not exist/,
      path: "nodes.home-manager.inputs.nixpkgs",
    },
    {
      name: "follows path through a missing nested input",
      text: edited(
        (l) => ((nodesOf(l)["home-manager"] as Json)["inputs"] = { nixpkgs: ["flake-utils", "nixpkgs"] }),
      ),
      message: /input "flake-utils\/nixpkgs" does not exist/,
      path: "nodes.home-manager.inputs.nixpkgs",
    },
    {
      name: "follows cycle",
      text: edited((l) => {
        const root = nodesOf(l)["root"] as Json;
        root["inputs"] = { a: ["b"], b: ["a"], ...(root["inputs"] as Json) };
      }),
      message: /follows "b", which does not resolve: follows cycle: "b" → "a" → "b"/,
      path: "nodes.root.inputs.a",
    },
    {
      name: "follows that follows itself",
      text: edited(
        (l) => ((nodesOf(l)["home-manager"] as Json)["inputs"] = { nixpkgs: ["home-manager", "nixpkgs"] }),
      ),
      message: /follows cycle/,
      path: "nodes.home-manager.inputs.nixpkgs",
    },
    {
      name: "node reference cycle",
      text: edited((l) => ((nodesOf(l)["systems"] as Json)["inputs"] = { utils: "flake-utils" })),
      message: /input cycle: flake-utils → systems → flake-utils/,
      path: "nodes.systems.inputs.utils",
    },
    {
      name: "node key that is not an identifier",
      text: edited((l) => {
        nodesOf(l)["nix.pkgs"] = { original: { type: "indirect", id: "nixpkgs" } };
        (nodesOf(l)["root"] as Json)["inputs"] = { nixpkgs: "nix.pkgs" };
      }),
      message: /node "nix\.pkgs" has no locked reference/,
      path: 'nodes["nix.pkgs"].locked',
    },
  ];

  it.each(cases)("$name", ({ text, message, path, hint }) => {
    const error = parseError(text);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain("\n");
    expect(error.file).toBe("flake.lock");
    expect(error.path).toBe(path);
    if (hint) expect(error.hint).toMatch(hint);
    else expect(error.hint).toBeTruthy();
  });
});

describe("formatPath", () => {
  it.each([
    [["nodes", "nixpkgs", "locked", "type"], "nodes.nixpkgs.locked.type"],
    [["nodes", "home-manager", "inputs", "nixpkgs"], "nodes.home-manager.inputs.nixpkgs"],
    [["nodes", "a.b", "inputs", 0], 'nodes["a.b"].inputs[0]'],
    [["nodes", "nixpkgs_2"], "nodes.nixpkgs_2"],
    [[], ""],
  ] as const)("%j → %s", (path, expected) => {
    expect(formatPath(path)).toBe(expected);
  });
});
