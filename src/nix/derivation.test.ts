import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { previewDiff, runtimeClosureFromDerivations } from "../closure/drv-closure.js";
import { parseDerivationShow } from "./derivation.js";
import { NixOutputError } from "./schemas.js";

const recorded = (v: string) =>
  readFileSync(new URL(`./testdata/derivation-show-${v}.json`, import.meta.url), "utf8");
const APP = "/nix/store/1vp8ya4pkhs5d87lmdpjq8hpnkpcmgfp-app-2.0.drv";

describe("parseDerivationShow", () => {
  it.each(["2.8", "2.24"])("reads Nix %s's recorded output into one model", (version) => {
    const drvs = parseDerivationShow(recorded(version));
    expect(drvs.size).toBe(4);
    const app = drvs.get(APP);
    expect(Object.keys(app?.outputs ?? {}).sort()).toEqual(["dev", "out"]);
    expect(Object.values(app?.inputDrvs ?? {})).toEqual([["out"], ["out"], ["out"]]);
    expect(app?.fixedOutput).toBe(false);
    expect(app?.env.buildInputs).toMatch(/-libfoo-1\.2$/);
    const src = [...drvs.values()].find((d) => d.outputs.out?.endsWith("app-2.0.tar.gz"));
    expect(src?.fixedOutput).toBe(true);
  });

  it("gives both versions the same model", () => {
    expect(parseDerivationShow(recorded("2.24"))).toEqual(parseDerivationShow(recorded("2.8")));
  });

  it("makes store-dir-less paths absolute and rejects other shapes", () => {
    const drvs = parseDerivationShow(
      JSON.stringify({ "aaaa-x.drv": { outputs: { out: { path: "bbbb-x" } }, inputDrvs: {}, env: {} } }),
    );
    expect([...drvs.keys()]).toEqual(["/nix/store/aaaa-x.drv"]);
    expect(drvs.get("/nix/store/aaaa-x.drv")?.outputs.out).toBe("/nix/store/bbbb-x");
    expect(() => parseDerivationShow("[]")).toThrow(NixOutputError);
    expect(() => parseDerivationShow("{")).toThrow(NixOutputError);
    expect(() => parseDerivationShow('{"x": {}}')).toThrow(NixOutputError);
  });
});

describe("closures from the recorded derivations", () => {
  it("keeps buildInputs, drops nativeBuildInputs and the source download", () => {
    const closure = runtimeClosureFromDerivations(APP, parseDerivationShow(recorded("2.24")));
    const names = closure?.paths.map((p) => p.path.replace(/^\/nix\/store\/[a-z0-9]{32}-/, "")).sort();
    expect(names).toEqual(["app-2.0", "libfoo-1.2"]);
  });

  it("lists a build-time-only change apart from the run-time diff", () => {
    const graph = new Map(parseDerivationShow(recorded("2.8")));
    // The same app built with tool 3.1: its inputs change, its run-time closure does not.
    const tool = [...graph.entries()].find(([, d]) => d.outputs.out?.endsWith("-tool-3.0"));
    const app = graph.get(APP);
    if (!tool || !app) throw new Error("recorded derivations changed");
    const tool31 = { ...tool[1], outputs: { out: "/nix/store/00000000000000000000000000000000-tool-3.1" } };
    graph.set("/nix/store/00000000000000000000000000000001-tool-3.1.drv", tool31);
    const inputDrvs = { ...app.inputDrvs };
    delete inputDrvs[tool[0]];
    inputDrvs["/nix/store/00000000000000000000000000000001-tool-3.1.drv"] = ["out"];
    const app2 = {
      ...app,
      inputDrvs,
      env: { ...app.env, nativeBuildInputs: tool31.outputs.out },
      outputs: {
        out: "/nix/store/00000000000000000000000000000002-app-2.0",
        dev: "/nix/store/00000000000000000000000000000003-app-2.0-dev",
      },
    };
    graph.set("/nix/store/00000000000000000000000000000004-app-2.0.drv", app2);
    const preview = previewDiff(APP, "/nix/store/00000000000000000000000000000004-app-2.0.drv", graph);
    expect(preview?.diff.packages.filter((p) => p.kind !== "rebuilt")).toEqual([]);
    expect(preview?.buildTimeChanges.map((p) => `${p.name} ${p.kind}`)).toEqual(["tool upgraded"]);
  });
});
