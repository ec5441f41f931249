import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  buildArgs,
  buildOutPathsArgs,
  derivationShowArgs,
  drvInstallable,
  evalJsonArgs,
  flakeUpdateArgs,
  globalArgs,
  pathInfoArgs,
} from "./args.js";
import { capabilitiesFor } from "./capabilities.js";
import { nixString, nixStringList } from "./nix-string.js";
import {
  absoluteStorePath,
  NixOutputError,
  parseBuildOutput,
  parseDerivationShow,
  parsePathInfoJson,
} from "./schemas.js";
import { parseNixVersion, type NixVersion } from "./version.js";

const testdata = (name: string) => readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8");

function v(text: string): NixVersion {
  const parsed = parseNixVersion(text);
  if (!parsed) throw new Error(`unparsed: ${text}`);
  return parsed;
}

describe("parseNixVersion", () => {
  it.each([
    ["nix (Nix) 2.8.0", "nix", 2, 8, 0, "2.8.0"],
    ["nix (Nix) 2.18.1\n", "nix", 2, 18, 1, "2.18.1"],
    ["nix (Nix) 2.24.10", "nix", 2, 24, 10, "2.24.10"],
    ["nix (Nix) 2.31.0pre20250712_abcdef", "nix", 2, 31, 0, "2.31.0"],
    ["nix (Lix, like Nix) 2.91.1", "lix", 2, 91, 1, "2.91.1"],
    ["nix (Lix, like Nix) 2.93.0-devpre20250501", "lix", 2, 93, 0, "2.93.0"],
    ["nix (Determinate Nix 3.6.2) 2.29.0", "determinate", 2, 29, 0, "3.6.2"],
  ] as const)("%s", (text, implementation, major, minor, patch, implementationVersion) => {
    expect(parseNixVersion(text)).toMatchObject({
      implementation,
      major,
      minor,
      patch,
      implementationVersion,
    });
  });

  it.each(["", "bash: nix: not found", "nix version 2.8"])("rejects %j", (text) => {
    expect(parseNixVersion(text)).toBeUndefined();
  });
});

describe("capabilitiesFor", () => {
  it.each([
    [
      "nix (Nix) 2.8.0",
      {
        pathInfoJsonObject: false,
        flakeUpdateInputs: false,
        printOutPaths: false,
        drvOutputSyntax: false,
        derivationShow: false,
      },
    ],
    ["nix (Nix) 2.9.1", { printOutPaths: true, drvOutputSyntax: false }],
    ["nix (Nix) 2.13.3", { drvOutputSyntax: true, bareDrvIsDerivation: false, derivationShow: false }],
    ["nix (Nix) 2.15.0", { bareDrvIsDerivation: true, derivationShow: true, installablesFromStdin: true }],
    ["nix (Nix) 2.18.5", { pathInfoJsonObject: false, flakeUpdateInputs: false }],
    ["nix (Nix) 2.19.0", { pathInfoJsonObject: true, flakeUpdateInputs: true }],
    ["nix (Nix) 2.31.1", { pathInfoJsonObject: true, flakeUpdateInputs: true, derivationShow: true }],
    ["nix (Determinate Nix 3.6.2) 2.29.0", { pathInfoJsonObject: true, flakeUpdateInputs: true }],
    // Lix numbers its releases 2.90+ but forked from CppNix 2.18.
    [
      "nix (Lix, like Nix) 2.91.1",
      { pathInfoJsonObject: false, flakeUpdateInputs: false, drvOutputSyntax: true, derivationShow: true },
    ],
  ] as const)("%s", (text, expected) => {
    expect(capabilitiesFor(v(text))).toMatchObject(expected);
  });
});

describe("argument builders", () => {
  const old = capabilitiesFor(v("nix (Nix) 2.8.0"));
  const mid = capabilitiesFor(v("nix (Nix) 2.13.0"));
  const current = capabilitiesFor(v("nix (Nix) 2.24.10"));

  it("always enables flakes and passes user options through", () => {
    expect(
      globalArgs({
        options: [
          ["cores", "4"],
          ["substituters", ""],
        ],
      }),
    ).toEqual([
      "--extra-experimental-features",
      "nix-command flakes",
      "--option",
      "cores",
      "4",
      "--option",
      "substituters",
      "",
    ]);
  });

  it.each([
    [old, [], ["flake", "update", "/f"]],
    [current, [], ["flake", "update", "/f"]],
    [old, ["nixpkgs"], ["flake", "lock", "/f", "--update-input", "nixpkgs"]],
    [
      old,
      ["nixpkgs", "home"],
      ["flake", "lock", "/f", "--update-input", "nixpkgs", "--update-input", "home"],
    ],
    [current, ["nixpkgs", "home"], ["flake", "update", "nixpkgs", "home", "--flake", "/f"]],
  ] as const)("flake update %#", (caps, inputs, expected) => {
    expect(flakeUpdateArgs(caps, "/f", inputs)).toEqual(expected);
  });

  it.each([
    [old, "/nix/store/x-a.drv"],
    [mid, "/nix/store/x-a.drv^*"],
    [current, "/nix/store/x-a.drv^*"],
  ] as const)("derivation installable %#", (caps, expected) => {
    expect(drvInstallable(caps, "/nix/store/x-a.drv")).toBe(expected);
  });

  it("builds with json, links or not, keep-going", () => {
    expect(buildArgs(["a", "b"])).toEqual(["build", "--json", "--no-link", "a", "b"]);
    expect(buildArgs(["a"], { outLink: "/tmp/r/result", keepGoing: true })).toEqual([
      "build",
      "--json",
      "--out-link",
      "/tmp/r/result",
      "--keep-going",
      "a",
    ]);
  });

  it("uses --print-out-paths only where it exists", () => {
    expect(buildOutPathsArgs(old, ["a"])).toEqual(["build", "--json", "--no-link", "a"]);
    expect(buildOutPathsArgs(current, ["a"])).toEqual(["build", "--no-link", "--print-out-paths", "a"]);
  });

  it("path-info and derivation show", () => {
    expect(pathInfoArgs(["/p"], { recursive: true })).toEqual(["path-info", "--json", "--recursive", "/p"]);
    expect(derivationShowArgs(old, ["/d.drv"])).toEqual(["show-derivation", "/d.drv"]);
    expect(derivationShowArgs(current, ["/d.drv"])).toEqual(["derivation", "show", "/d.drv"]);
  });
});

describe("output parsers", () => {
  it("reads the 2.8 path-info array, including invalid paths", () => {
    const infos = parsePathInfoJson(testdata("path-info-2.8.json"));
    expect(infos).toEqual([
      expect.objectContaining({
        path: "/nix/store/r66mxzhcias4zcf5mfrdlgc05a5d3hrp-hello-1.0",
        narSize: 120,
        references: [],
        valid: true,
      }),
      expect.objectContaining({ path: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x", valid: false }),
    ]);
  });

  it("reads the 2.19+ path-info object keyed by path", () => {
    const infos = parsePathInfoJson(testdata("path-info-2.24.json"));
    expect(infos).toEqual([
      expect.objectContaining({
        path: "/nix/store/r66mxzhcias4zcf5mfrdlgc05a5d3hrp-hello-1.0",
        narSize: 120,
        references: ["/nix/store/r66mxzhcias4zcf5mfrdlgc05a5d3hrp-hello-1.0"],
        valid: true,
      }),
      expect.objectContaining({ path: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x", valid: false }),
    ]);
  });

  it("makes store-dir-less paths absolute", () => {
    expect(absoluteStorePath("abc-foo")).toBe("/nix/store/abc-foo");
    expect(parsePathInfoJson('{"abc-foo":{"narSize":1,"references":["abc-foo"]}}')[0]?.references).toEqual([
      "/nix/store/abc-foo",
    ]);
  });

  it("reads build --json and --print-out-paths", () => {
    expect(parseBuildOutput('[{"drvPath":"/nix/store/d.drv","outputs":{"out":"/nix/store/o"}}]')).toEqual([
      { drvPath: "/nix/store/d.drv", outputs: { out: "/nix/store/o" } },
    ]);
    expect(parseBuildOutput("/nix/store/a\n/nix/store/b\n")).toEqual([
      { outputs: { out: "/nix/store/a" } },
      { outputs: { out: "/nix/store/b" } },
    ]);
    expect(parseBuildOutput("")).toEqual([]);
  });

  it("reads show-derivation output", () => {
    const drvs = parseDerivationShow(
      '{"/nix/store/b6w-hello-1.0.drv":{"outputs":{"out":{"path":"/nix/store/r66-hello-1.0"}},"env":{"name":"hello-1.0"}}}',
    );
    expect(drvs.get("/nix/store/b6w-hello-1.0.drv")).toEqual({
      name: "hello-1.0",
      outputs: { out: "/nix/store/r66-hello-1.0" },
    });
  });
});

describe("nixString", () => {
  it.each([
    ["web", '"web"'],
    ['web "prod" 1', '"web \\"prod\\" 1"'],
    ["a${b}", '"a\\${b}"'],
    ["back\\slash", '"back\\\\slash"'],
    ["line\nbreak", '"line\\nbreak"'],
    ["ünïcode", '"ünïcode"'],
  ])("%j", (input, expected) => {
    expect(nixString(input)).toBe(expected);
  });
  it("lists", () => expect(nixStringList(["a", "b"])).toBe('[ "a" "b" ]'));
});

describe("build output of store-path installables", () => {
  it("reads `{ path }` entries (Nix 2.8 for an installable that is already a store path)", () => {
    expect(parseBuildOutput('[{"path":"/nix/store/abc-x"}]')).toEqual([
      { drvPath: undefined, outputs: { out: "/nix/store/abc-x" } },
    ]);
  });
});

describe("malformed Nix output", () => {
  it.each([
    ["not json", "{"],
    ["a number", "42"],
    ["an entry without a path", '[{"narSize": 1}]'],
    ["references that are not paths", '{"/nix/store/a-x": {"narSize": 1, "references": [1]}}'],
    ["a non-numeric narSize", '{"/nix/store/a-x": {"narSize": "1"}}'],
  ])("path-info: %s is a NixOutputError", (_name, text) => {
    expect(() => parsePathInfoJson(text)).toThrow(NixOutputError);
  });

  it("build: outputs of the wrong shape", () => {
    expect(() => parseBuildOutput('[{"drvPath":"/d.drv","outputs":{"out":1}}]')).toThrow(NixOutputError);
  });
});

describe("evalJsonArgs", () => {
  it("adds --read-only when asked", () => {
    expect(evalJsonArgs("/f#x", "f")).toEqual(["eval", "--json", "/f#x", "--apply", "f"]);
    expect(evalJsonArgs("/f#x", undefined, { readOnly: true })).toEqual([
      "eval",
      "--json",
      "--read-only",
      "/f#x",
    ]);
  });
});
