import { afterEach, describe, expect, it } from "vitest";
import { ForgeError } from "../errors.js";
import { FakeStatuses } from "./fake-statuses.test-support.js";
import { ForgejoForge } from "./forgejo.js";
import { GitHubForge } from "./github.js";
import { combineStatuses, fitDescription, toCommitState } from "./status.js";
import { recordingSleep, startTestServer, type TestServer } from "./test-server.test-support.js";
import type { CommitStatus, ForgeKind, StatusForge } from "./types.js";

const TOKEN = "tok_statusTestsSecret0001";
const SHA = "0123456789abcdef0123456789abcdef01234567";
const OTHER = "fedcba9876543210fedcba9876543210fedcba98";

describe("fitDescription", () => {
  it.each([
    ["short", "short"],
    ["two\nlines\tand  spaces", "two lines and spaces"],
    ["x".repeat(140), "x".repeat(140)],
    ["x".repeat(141), `${"x".repeat(139)}…`],
    [`${"é".repeat(150)}`, `${"é".repeat(139)}…`],
    ["\u001b[31mred\u001b[0m", "[31mred [0m"],
  ])("%j → %j", (input, expected) => {
    expect(fitDescription(input)).toBe(expected);
    expect([...fitDescription(input)].length).toBeLessThanOrEqual(140);
  });
});

describe("toCommitState", () => {
  it.each([
    ["success", "success"],
    ["warning", "success"],
    ["failure", "failure"],
    ["error", "error"],
    ["pending", "pending"],
    ["SUCCESS", "success"],
    ["something-new", "pending"],
  ])("%s → %s", (raw, state) => expect(toCommitState(raw)).toBe(state));
});

describe("combineStatuses", () => {
  const s = (context: string, state: CommitStatus["state"], at: string): CommitStatus => ({
    context,
    state,
    description: "",
    targetUrl: undefined,
    createdAt: at,
  });
  it.each<[string, CommitStatus[], string, number]>([
    ["none is pending", [], "pending", 0],
    ["all success", [s("a", "success", "2025-01-01T00:00:00Z")], "success", 1],
    [
      "the newest per context counts",
      [s("a", "failure", "2025-01-01T00:00:00Z"), s("a", "success", "2025-01-02T00:00:00Z")],
      "success",
      1,
    ],
    [
      "one error fails it",
      [s("a", "success", "2025-01-01T00:00:00Z"), s("b", "error", "2025-01-01T00:00:00Z")],
      "failure",
      2,
    ],
    [
      "pending beats success",
      [s("a", "success", "2025-01-01T00:00:00Z"), s("b", "pending", "2025-01-01T00:00:00Z")],
      "pending",
      2,
    ],
  ])("%s", (_, statuses, state, count) => {
    const combined = combineStatuses(statuses);
    expect(combined.state).toBe(state);
    expect(combined.statuses).toHaveLength(count);
  });
});

describe.each<ForgeKind>(["github", "forgejo"])("commit statuses on %s", (kind) => {
  let server: TestServer;
  let statuses: FakeStatuses;
  afterEach(async () => server.close());

  async function start(): Promise<StatusForge> {
    statuses = new FakeStatuses(kind);
    const prefix = kind === "github" ? "" : "/api/v1";
    const repo = `${prefix}/repos/acme/infra`;
    server = await startTestServer((req) => {
      const auth = kind === "github" ? `Bearer ${TOKEN}` : `token ${TOKEN}`;
      if (req.headers.authorization !== auth) return { status: 401, body: { message: "Bad credentials" } };
      return (
        (req.path.startsWith(repo) ? statuses.handle(req, req.path.slice(repo.length)) : undefined) ?? {
          status: 404,
          body: { message: "Not Found" },
        }
      );
    });
    const common = {
      owner: "acme",
      repo: "infra",
      fetch: globalThis.fetch,
      token: TOKEN,
      sleep: recordingSleep().sleep,
    };
    return kind === "github"
      ? new GitHubForge({ ...common, apiUrl: server.url })
      : new ForgejoForge({ ...common, apiUrl: `${server.url}/api/v1` });
  }

  it("posts a status with the forge's field names and reads it back", async () => {
    const forge = await start();
    const created = await forge.createCommitStatus(SHA, {
      state: "success",
      context: "ternix/host/web",
      description: `upgraded: generation 4 ${"x".repeat(200)}`,
    });
    expect(created).toMatchObject({ state: "success", context: "ternix/host/web" });
    const post = server.requests.at(-1);
    expect(post?.method).toBe("POST");
    expect(post?.path).toMatch(new RegExp(`/repos/acme/infra/statuses/${SHA}$`));
    expect(post?.body).toMatchObject({ state: "success", context: "ternix/host/web" });
    expect([...(post?.body as { description: string }).description].length).toBe(140);

    statuses.add(SHA, { context: "ternix/host/web", state: "failure", at: new Date("2020-01-01T00:00:00Z") });
    statuses.add(SHA, { context: "ternix/host/db", state: "error", at: new Date("2020-01-02T00:00:00Z") });
    statuses.add(OTHER, {
      context: "ternix/host/db",
      state: "success",
      at: new Date("2020-01-02T00:00:00Z"),
    });
    const list = await forge.listCommitStatuses(SHA);
    expect(list.map((s) => `${s.context}=${s.state}`)).toEqual([
      "ternix/host/web=success",
      "ternix/host/db=error",
      "ternix/host/web=failure",
    ]);
    const combined = await forge.combinedStatus(SHA);
    expect(combined.state).toBe("failure");
    expect(combined.statuses.map((s) => `${s.context}=${s.state}`).sort()).toEqual([
      "ternix/host/db=error",
      "ternix/host/web=success",
    ]);
  });

  it("reads every page of a long history", async () => {
    const forge = await start();
    for (let i = 0; i < 230; i++)
      statuses.add(SHA, {
        context: "ternix/host/web",
        state: "success",
        at: new Date(Date.UTC(2025, 0, 1, 0, i)),
      });
    const list = await forge.listCommitStatuses(SHA);
    expect(list).toHaveLength(230);
    expect(list[0]?.createdAt).toBe(new Date(Date.UTC(2025, 0, 1, 0, 229)).toISOString());
  });

  it("retries a 500 and then fails with a ForgeError without the token", async () => {
    const forge = await start();
    statuses.failNext = 1;
    await forge.createCommitStatus(SHA, {
      state: "error",
      context: "ternix/host/web",
      description: "no build",
    });
    expect(statuses.of(SHA)).toHaveLength(1);
    statuses.down = true;
    const error = await forge
      .createCommitStatus(SHA, { state: "success", context: "ternix/host/web", description: TOKEN })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeError);
    expect((error as ForgeError).status).toBe(500);
    expect(JSON.stringify({ m: (error as ForgeError).message, h: (error as ForgeError).hint })).not.toContain(
      TOKEN,
    );
  });

  it("refuses a commit id that is not hex before any request", async () => {
    const forge = await start();
    await expect(forge.listCommitStatuses("../../pulls")).rejects.toThrow(/not a commit id/);
    expect(server.requests).toHaveLength(0);
  });
});
