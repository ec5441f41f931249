import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  buildArgs,
  buildOutPathsArgs,
  derivationShowArgs,
  drvInstallable,
  evalJsonArgs,
  gitRevisionFlakeRef,
  flakeUpdateArgs,
  globalArgs,
  pathInfoArgs,
} from "./args.js";
import { CAPABILITY_RULES, capabilitiesFor } from "./capabilities.js";
import { nixString, nixStringList } from "./nix-string.js";
import {
  absoluteStorePath,
  NixOutputError,
  parseBuildOutput,
  parseDerivationShow,
  parsePathInfoJson,
  unmatchedInputWarning,
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
  const none = {
    pathInfoJsonObject: false,
    flakeUpdateInputs: false,
    printOutPaths: false,
    drvOutputSyntax: false,
    bareDrvIsDerivation: false,
    derivationShow: false,
    installablesFromStdin: false,
    profilesInStateHome: false,
    // Already in 2.8, the oldest supported.
    internalJsonLog: true,
  };
  // Everything CppNix 2.18 had.
  const like218 = {
    ...none,
    printOutPaths: true,
    drvOutputSyntax: true,
    bareDrvIsDerivation: true,
    derivationShow: true,
    installablesFromStdin: true,
    profilesInStateHome: true,
  };
  const all = { ...like218, pathInfoJsonObject: true, flakeUpdateInputs: true };
  const lix = { ...like218, flakeUpdateInputs: true };
  it.each([
    ["nix (Nix) 2.8.0", none],
    ["nix (Nix) 2.9.1", { ...none, printOutPaths: true }],
    ["nix (Nix) 2.13.3", { ...none, printOutPaths: true, drvOutputSyntax: true }],
    ["nix (Nix) 2.14.1", { ...none, printOutPaths: true, drvOutputSyntax: true, profilesInStateHome: true }],
    ["nix (Nix) 2.15.0", like218],
    ["nix (Nix) 2.18.9", like218],
    ["nix (Nix) 2.19.0", all],
    ["nix (Nix) 2.24.15", all],
    ["nix (Nix) 2.28.4", all],
    ["nix (Nix) 2.31.0", all],
    ["nix (Nix) 2.31.2pre20250901_abcdef", all],
    // Determinate Nix prints the CppNix version it is built on; that decides.
    ["nix (Determinate Nix 3.0.0) 2.26.3", all],
    ["nix (Determinate Nix 3.6.2) 2.29.0", all],
    ["nix (Determinate Nix 3.11.1) 2.31.1", all],
    // Lix numbers its releases 2.90+ but forked from CppNix 2.18; 2.90 took 2.19's `flake update`
    // interface, not its `path-info --json` object.
    ["nix (Lix, like Nix) 2.90.0", lix],
    ["nix (Lix, like Nix) 2.91.1", lix],
    ["nix (Lix, like Nix) 2.92.3", lix],
    ["nix (Lix, like Nix) 2.93.0-devpre20250501", lix],
  ] as const)("%s", (text, expected) => {
    expect(capabilitiesFor(v(text))).toEqual(expected);
  });

  it("every rule names its source", () => {
    for (const rule of Object.values(CAPABILITY_RULES)) expect(rule.source).toMatch(/Nix 2\.\d+/);
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
    // 2.19+: a positional argument is an input name, so the flake goes in --flake even with no inputs.
    [current, [], ["flake", "update", "--flake", "/f"]],
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
    expect(buildArgs(["a"], { keepGoing: true, structuredLog: true })).toEqual([
      "build",
      "--json",
      "--no-link",
      "--keep-going",
      "--log-format",
      "internal-json",
      "-v",
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
  // Recorded from both binaries (testdata/README.md): the same two paths, one of them invalid.
  it.each(["2.8", "2.24"])("reads the %s path-info document, including invalid paths", (version) => {
    expect(parsePathInfoJson(testdata(`path-info-${version}.json`))).toEqual([
      {
        path: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x",
        narSize: 0,
        references: [],
        valid: false,
      },
      {
        path: "/nix/store/nkzqzp6i27d71q2bga78lv59aw9ajxf2-ternix-rec-hello-1.0",
        narSize: 120,
        references: [],
        valid: true,
        closureSize: 120,
        deriver: "/nix/store/w4lg51z9v1p947f3shmhv3jh4sgx5hmj-ternix-rec-hello-1.0.drv",
        registrationTime: 1796410529,
      },
    ]);
  });

  it("reads the same closure from 2.8's array and 2.24's object (path-info --recursive)", () => {
    const byPath = (version: string) =>
      new Map(parsePathInfoJson(testdata(`path-info-recursive-${version}.json`)).map((i) => [i.path, i]));
    const old = byPath("2.8");
    const current = byPath("2.24");
    expect(old.size).toBe(12);
    expect([...current.keys()].sort()).toEqual([...old.keys()].sort());
    for (const [path, info] of old) expect(current.get(path)).toEqual(info);
    const curl = old.get("/nix/store/1psfs3slk8gknjixmihkjpk1f30xdr5b-curl-8.11.0");
    expect(curl?.references).toContain("/nix/store/4lw7zca7pcjlqlny9p7nzvjiaz9iii1l-glibc-2.40-36");
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

describe("gitRevisionFlakeRef", () => {
  const rev = "0123456789abcdef0123456789abcdef01234567";
  it.each([
    [
      "/var/lib/ternix/upgrade/repo.git",
      "main",
      "",
      `git+file:///var/lib/ternix/upgrade/repo.git?ref=main&rev=${rev}`,
    ],
    ["/s/repo", "release/1", "/nixos/", `git+file:///s/repo?ref=release%2F1&rev=${rev}&dir=nixos`],
    ["/s/a b#c", "main", "x y", `git+file:///s/a%20b%23c?ref=main&rev=${rev}&dir=x+y`],
  ])("%s %s %s", (repo, ref, dir, expected) => {
    expect(gitRevisionFlakeRef(repo, ref, rev, dir)).toBe(expected);
  });
  it("refuses relative paths and short revisions", () => {
    expect(() => gitRevisionFlakeRef("repo", "main", rev, "")).toThrow();
    expect(() => gitRevisionFlakeRef("/repo", "main", "abc", "")).toThrow(/full commit/);
  });
});

describe("evalJsonArgs", () => {
  it("--no-update-lock-file and --no-write-lock-file for locked evaluations", () => {
    expect(evalJsonArgs("f#x", undefined, { noUpdateLockFile: true, noWriteLockFile: true })).toEqual([
      "eval",
      "--json",
      "--no-update-lock-file",
      "--no-write-lock-file",
      "f#x",
    ]);
  });
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

describe("recorded `nix build` output of 2.8 and 2.24", () => {
  const hello = "/nix/store/nkzqzp6i27d71q2bga78lv59aw9ajxf2-ternix-rec-hello-1.0";
  const helloDrv = "/nix/store/w4lg51z9v1p947f3shmhv3jh4sgx5hmj-ternix-rec-hello-1.0.drv";
  const two = {
    drvPath: "/nix/store/pk755dv2dkgbwc7i0l5m45ks9dncw6dg-ternix-rec-two-1.0.drv",
    outputs: {
      dev: "/nix/store/2mn1kbl70xb8pvnihgzl83qxzz754p7x-ternix-rec-two-1.0-dev",
      out: "/nix/store/n7yx4s13gg5jsf34yw80blii4wcwnskj-ternix-rec-two-1.0",
    },
  };

  it.each(["2.8", "2.24"])("%s: an installable that is already a store path", (version) => {
    // 2.8: [{"path": P}]; 2.24: ["P"].
    expect(parseBuildOutput(testdata(`build-json-store-path-${version}.json`))).toEqual([
      { drvPath: undefined, outputs: { out: hello } },
    ]);
  });

  it("a bare .drv: its outputs on 2.8, the derivation file itself on 2.24 (Nix 2.15)", () => {
    expect(parseBuildOutput(testdata("build-json-bare-drv-2.8.json"))).toEqual([
      { drvPath: helloDrv, outputs: { out: hello } },
    ]);
    expect(parseBuildOutput(testdata("build-json-bare-drv-2.24.json"))).toEqual([
      { drvPath: undefined, outputs: { out: helloDrv } },
    ]);
  });

  it("all outputs of a derivation: bare .drv on 2.8, DRV^* on 2.24, the same document", () => {
    expect(parseBuildOutput(testdata("build-json-drv-all-outputs-2.8.json"))).toEqual([two]);
    expect(parseBuildOutput(testdata("build-json-drv-all-outputs-2.24.json"))).toEqual([two]);
  });

  it("--print-out-paths (2.9+): one line per output", () => {
    expect(parseBuildOutput(testdata("build-print-out-paths-2.24.txt"))).toEqual([
      { outputs: { out: two.outputs.dev } },
      { outputs: { out: two.outputs.out } },
    ]);
  });

  it.each(["2.8", "2.24"])("the recorded `nix --version` of %s parses", (version) => {
    expect(parseNixVersion(testdata(`version-${version}.txt`))).toMatchObject({
      implementation: "nix",
      implementationVersion: version === "2.8" ? "2.8.0" : "2.24.15",
    });
  });
});

describe("unmatchedInputWarning", () => {
  it("2.8: --update-input naming no input", () => {
    expect(unmatchedInputWarning(testdata("flake-update-unknown-input-2.8.stderr"))).toBe(
      "warning: the flag '--update-input nosuch' does not match any input",
    );
  });

  it("2.24: the flake path passed where 2.19+ expects input names", () => {
    expect(unmatchedInputWarning(testdata("flake-update-path-as-input-2.24.stderr"))).toBe(
      "warning: 'tmp/nix224-rec/top' does not match any input of this flake",
    );
  });

  it("2.24: a successful (deprecated) --update-input has none", () => {
    expect(unmatchedInputWarning(testdata("flake-lock-update-input-2.24.stderr"))).toBeUndefined();
  });
});
