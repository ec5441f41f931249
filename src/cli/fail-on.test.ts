import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { failOnHits, parseFailOn } from "./fail-on.js";

describe("parseFailOn", () => {
  it.each([
    [["secret"], ["secret"]],
    [
      ["secret", "driver"],
      ["secret", "driver"],
    ],
    [
      ["secret,driver", "kernel"],
      ["secret", "driver", "kernel"],
    ],
    [["secret", "secret"], ["secret"]],
  ])("%j -> %j", (values, kinds) => {
    expect(values.reduce<string[]>((prev, v) => parseFailOn(v, prev as never), [])).toEqual(kinds);
  });

  it.each(["secrets", "", ",", "kernel,bogus", "\u001b[31m"])("refuses %j", (value) => {
    expect(() => parseFailOn(value)).toThrow(InvalidArgumentError);
  });

  it("names the kinds it takes", () => {
    expect(() => parseFailOn("nvidia")).toThrow(
      /unknown risk kind "nvidia"; --fail-on takes: reboot-triggers, .*secret/,
    );
  });
});

describe("failOnHits", () => {
  const risks = (...ids: string[]) => ({ risks: ids.map((id) => ({ id }) as never) });
  it.each([
    [risks("secret", "kernel"), ["secret", "driver"], ["secret"]],
    [risks("kernel"), ["secret"], []],
    [undefined, ["secret"], []],
    [risks("secret"), undefined, []],
  ])("%j %j", (diff, failOn, hits) => {
    expect(failOnHits(diff, failOn as never)).toEqual(hits);
  });
});
