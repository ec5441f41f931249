import { describe, expect, it } from "vitest";
import { hostFileName } from "./plan.js";

describe("hostFileName", () => {
  it.each([
    ["web", "web"],
    ["web prod", "web%20prod"],
    [".hidden", "%2Ehidden"],
    ["a/b", "a%2Fb"],
    ["x".repeat(200), "x".repeat(200)],
  ])("%j → %j", (host, expected) => {
    expect(hostFileName(host)).toBe(expected);
  });

  it.each([["x".repeat(201)], ["x".repeat(5000)], [`web-${"é".repeat(42)}`], ["%".repeat(100)]])(
    "shortens a name too long for a file name with a hash (%#)",
    (host) => {
      const name = hostFileName(host);
      expect(name.length).toBeLessThanOrEqual(200);
      expect(name).toMatch(/^[A-Za-z0-9_%.-]*~[0-9a-f]{16}$/);
      // The hash is of the whole name: names sharing a long prefix stay apart.
      expect(hostFileName(`${host}y`)).not.toBe(name);
    },
  );

  it("never cuts a percent escape in half", () => {
    for (let pad = 0; pad < 6; pad++) {
      const head = hostFileName(`${"a".repeat(pad)}${" ".repeat(100)}`).split("~")[0] as string;
      expect(head).toMatch(/^a*(%20)*$/);
    }
  });
});
