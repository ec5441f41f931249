import { afterEach, describe, expect, it, vi } from "vitest";
import { TernixError } from "../errors.js";
import { createOutput } from "./output.js";

afterEach(() => vi.restoreAllMocks());

function capture(): { stdout: string[]; stderr: string[] } {
  const written = { stdout: [] as string[], stderr: [] as string[] };
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (written.stdout.push(String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (written.stderr.push(String(chunk)), true));
  return written;
}

describe("createOutput", () => {
  const token = "ghp_0123456789abcdef";
  const env = { NO_COLOR: "1", GITHUB_TOKEN: token, FORGEJO_TOKEN: "abc" };

  it("redacts forge tokens from the environment in every output path", () => {
    const written = capture();
    const output = createOutput({ verbose: true }, env);
    output.stdout(`PR: https://forge.example/pr/1?t=${token}`);
    output.info(`opened https://x:${encodeURIComponent(token)}@forge.example`);
    output.warn(`retrying (${token})`);
    output.debug(`< {"html_url": "https://forge.example/${token}"}`);
    output.event({ type: "log", level: "warn", message: `server said ${token}` });
    output.error(new TernixError(`bad ${token}`, { hint: `hint ${token}`, detail: `detail ${token}` }));
    output.error(new Error(`internal ${token}`));
    const all = [...written.stdout, ...written.stderr].join("");
    expect(all).not.toContain(token);
    expect(all).not.toContain(encodeURIComponent(token));
    expect(all.match(/\*\*\*/g)?.length).toBeGreaterThanOrEqual(9);
    // Values too short to be a token are left alone.
    output.info("abc");
    expect(written.stderr.at(-1)).toBe("abc\n");
  });

  it("escapes control characters in messages and keeps our own colours only", () => {
    const written = capture();
    const output = createOutput({ verbose: true, color: true }, {});
    output.debug("garbage \u001b]0;title\u0007 \u001b[2J body");
    output.stdout("\u001b[1mbold\u001b[22m \u001b]0;t\u0007");
    expect(written.stderr.join("")).toBe(
      "\u001b[2mgarbage \\u001b]0;title\\u0007 \\u001b[2J body\u001b[0m\n",
    );
    expect(written.stdout.join("")).toBe("\u001b[1mbold\u001b[22m \\u001b]0;t\\u0007\n");
  });
});
