import { Argument, Command } from "commander";
import { describe, expect, it } from "vitest";
import { complete, completionLines, type Completion } from "./complete.js";

function program(): Command {
  const p = new Command("t")
    .option("-v, --verbose")
    .option("--nix-option <name=value>")
    .configureHelp({ showGlobalOptions: true });
  p.command("update").argument("[inputs...]").option("--flake <dir>").option("--dry-run");
  p.command("switch")
    .description("switch it\nmore")
    .argument("[host]")
    .option("--profile <path>")
    .option("--flake <dir>")
    .option("--hosts <name...>");
  p.command("completion").addArgument(new Argument("<shell>").choices(["bash", "zsh"]));
  p.command("secret", { hidden: true });
  p.command("init").command("ci").option("--forge <kind>");
  return p;
}

const seen: (string | undefined)[] = [];
const sources = {
  hosts: (dir: string | undefined) => (seen.push(dir), Promise.resolve(["web", "worker", "db"])),
  inputs: () => Promise.resolve(["nixpkgs", "home", "home/nixpkgs"]),
};
const values = (...v: string[]): Completion => ({
  kind: "values",
  values: v.map((value) => expect.objectContaining({ value }) as never),
});

describe("complete", () => {
  it.each<[string[], Completion]>([
    [["u"], values("update")],
    [["i"], values("init")],
    [["init", ""], values("ci", "help")],
    [["update", ""], values("nixpkgs", "home", "home/nixpkgs")],
    [["update", "nixpkgs", "ho"], values("home", "home/nixpkgs")],
    [["update", "--dry-run", "--flake", "x", "n"], values("nixpkgs")],
    [["update", "--flake", ""], { kind: "dirs" }],
    [["update", "--flake=x", "--d"], values("--dry-run")],
    [["switch", "w"], values("web", "worker")],
    [["switch", "web", ""], values()],
    [["switch", "--hosts", "d"], values("db")],
    [["switch", "--profile", ""], { kind: "files" }],
    [["switch", "--v"], values("--verbose")],
    [["--nix-option", "x=y", "sw"], values("switch")],
    [["completion", ""], values("bash", "zsh")],
    [["init", "ci", "--forge", ""], values()],
    [["update", "--", "--d"], values()],
    [["sec"], values()],
  ])("%j", async (words, expected) => {
    expect(await complete(program(), words, sources)).toEqual(expected);
  });

  it("passes --flake to the dynamic sources; a failing source offers nothing", async () => {
    seen.length = 0;
    await complete(program(), ["switch", "--flake", "/f", ""], sources);
    expect(seen).toEqual(["/f"]);
    const failing = { hosts: () => Promise.reject(new Error("no nix")), inputs: sources.inputs };
    expect(await complete(program(), ["switch", ""], failing)).toEqual(values());
  });

  it("subcommands carry their first description line", async () => {
    const c = await complete(program(), ["sw"], sources);
    expect(completionLines(c)).toEqual(["switch\tswitch it"]);
  });
});

describe("completionLines", () => {
  it("directives, and values that cannot travel left out", () => {
    expect(completionLines({ kind: "dirs" })).toEqual([":dirs"]);
    expect(
      completionLines({
        kind: "values",
        values: [{ value: "a\tb" }, { value: "x y", description: "d\n e" }],
      }),
    ).toEqual(["x y\td e"]);
  });
});
