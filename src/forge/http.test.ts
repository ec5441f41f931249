import { afterEach, describe, expect, it } from "vitest";
import { ForgeError } from "../errors.js";
import { ForgeHttpClient, describeForgeMessage, displayUrl, rateLimitWaitMs, retryAfterMs } from "./http.js";
import {
  recordingSleep,
  startTestServer,
  type Handler,
  type TestServer,
} from "./test-server.test-support.js";

const TOKEN = "ghp_s3cr3tT0kenValue1234567890";
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function client(
  handler: Handler,
  overrides: Partial<ConstructorParameters<typeof ForgeHttpClient>[0]> = {},
) {
  server = await startTestServer(handler);
  const sleeper = recordingSleep();
  const http = new ForgeHttpClient({
    fetch,
    kind: "github",
    baseUrl: `${server.url}/api/v3`,
    token: TOKEN,
    authScheme: "Bearer",
    sleep: sleeper.sleep,
    now: () => NOW,
    ...overrides,
  });
  return { http, delays: sleeper.delays, server };
}

async function failure(promise: Promise<unknown>): Promise<ForgeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ForgeError);
    return error as ForgeError;
  }
  throw new Error("expected a ForgeError");
}

function expectNoToken(error: ForgeError, token = TOKEN) {
  const text = JSON.stringify([error.message, error.hint, error.detail, error.url]);
  expect(text).not.toContain(token);
  expect(text).not.toContain(encodeURIComponent(token));
}

describe("ForgeHttpClient", () => {
  it("sends JSON with the token, query and headers and parses the answer", async () => {
    const { http, server } = await client(() => ({ status: 200, body: { ok: true } }));
    const response = await http.request("POST", "/repos/o/r/pulls", {
      query: { state: "open", skipped: undefined, per_page: 100 },
      body: { title: "t" },
    });
    expect(response).toMatchObject({ status: 200, data: { ok: true } });
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "POST", path: "/api/v3/repos/o/r/pulls", body: { title: "t" } });
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ state: "open", per_page: "100" });
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers["content-type"]).toBe("application/json");
  });

  it("uses the `token` scheme when asked (Gitea/Forgejo)", async () => {
    const { http, server } = await client(() => ({ status: 200, body: [] }), { authScheme: "token" });
    await http.request("GET", "/x");
    expect(server.requests[0]?.headers.authorization).toBe(`token ${TOKEN}`);
  });

  it("treats an empty 204 answer as null", async () => {
    const { http } = await client(() => ({ status: 204 }));
    expect((await http.request("DELETE", "/x")).data).toBeNull();
  });

  it("retries a 5xx with exponential backoff, then succeeds", async () => {
    let calls = 0;
    const events: number[] = [];
    const { http, delays, server } = await client(
      () =>
        ++calls <= 2
          ? { status: calls === 1 ? 500 : 502, body: { message: "oops" } }
          : { status: 200, body: 1 },
      { onRetry: (e) => events.push(e.attempt) },
    );
    expect((await http.request("GET", "/x")).data).toBe(1);
    expect(server.requests).toHaveLength(3);
    expect(delays).toEqual([1000, 2000]);
    expect(events).toEqual([1, 2]);
  });

  it("gives up after the retries with the status and a hint", async () => {
    const { http, delays, server } = await client(() => ({ status: 503, body: { message: "maintenance" } }), {
      retries: 2,
    });
    const error = await failure(http.request("GET", "/x"));
    expect(server.requests).toHaveLength(3);
    expect(delays).toEqual([1000, 2000]);
    expect(error.status).toBe(503);
    expect(error.method).toBe("GET");
    expect(error.url).toBe(`${server.url}/api/v3/x`);
    expect(error.message).toContain("503");
    expect(error.message).toContain("maintenance");
    expect(error.hint).toMatch(/server error \(3 attempts\)/);
  });

  it("waits Retry-After seconds on 429", async () => {
    let calls = 0;
    const { http, delays } = await client(() =>
      ++calls === 1 ? { status: 429, headers: { "retry-after": "7" }, body: {} } : { status: 200, body: {} },
    );
    await http.request("GET", "/x");
    expect(delays).toEqual([7000]);
  });

  it("understands Retry-After as an HTTP date", async () => {
    let calls = 0;
    const at = new Date(NOW + 12_000).toUTCString();
    const { http, delays } = await client(() =>
      ++calls === 1 ? { status: 503, headers: { "retry-after": at }, body: {} } : { status: 200, body: {} },
    );
    await http.request("GET", "/x");
    expect(delays).toEqual([12_000]);
  });

  it("waits for x-ratelimit-reset on a 403 primary rate limit", async () => {
    let calls = 0;
    const reset = Math.floor(NOW / 1000) + 30;
    const { http, delays } = await client(() =>
      ++calls === 1
        ? {
            status: 403,
            headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
            body: { message: "API rate limit exceeded for installation ID 1." },
          }
        : { status: 200, body: {} },
    );
    await http.request("GET", "/x");
    expect(delays).toEqual([31_000]);
  });

  it("waits a minute on a secondary rate limit without headers", async () => {
    let calls = 0;
    const { http, delays } = await client(() =>
      ++calls === 1
        ? {
            status: 403,
            body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes." },
          }
        : { status: 200, body: {} },
    );
    await http.request("GET", "/x");
    expect(delays).toEqual([60_000]);
  });

  it("fails at once when the forge asks to wait longer than maxWaitMs", async () => {
    const reset = Math.floor(NOW / 1000) + 3600;
    const { http, delays, server } = await client(() => ({
      status: 403,
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
      body: { message: "API rate limit exceeded" },
    }));
    const error = await failure(http.request("GET", "/x"));
    expect(server.requests).toHaveLength(1);
    expect(delays).toEqual([]);
    expect(error.status).toBe(403);
    expect(error.hint).toMatch(/asks to wait 60 min/);
  });

  it("does not retry a plain 403 and explains the permission", async () => {
    const { http, server } = await client(() => ({
      status: 403,
      body: { message: "Resource not accessible by integration" },
    }));
    const error = await failure(http.request("POST", "/repos/o/r/pulls", { body: {} }));
    expect(server.requests).toHaveLength(1);
    expect(error.message).toContain("Resource not accessible by integration");
    expect(error.hint).toContain("permissions: pull-requests: write, contents: write");
  });

  it.each([
    [401, { message: "Bad credentials" }, /token was rejected/],
    [404, { message: "Not Found" }, /Repository not found or the token cannot see it/],
    [409, { message: "pull request already exists" }, /already exists/],
    [413, "", /too large/],
  ])("explains %i in the hint", async (status, body, hint) => {
    const { http } = await client(() => ({ status, body }));
    const error = await failure(http.request("GET", "/x"));
    expect(error.status).toBe(status);
    expect(error.hint).toMatch(hint);
  });

  it("includes GitHub's 422 errors[] in the message", async () => {
    const { http } = await client(() => ({
      status: 422,
      body: {
        message: "Validation Failed",
        errors: [
          {
            resource: "Issue",
            code: "custom",
            field: "body",
            message: "body is too long (maximum is 65536 characters)",
          },
          { resource: "PullRequest", code: "missing_field", field: "head" },
        ],
        documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
      },
    }));
    const error = await failure(http.request("POST", "/x", { body: {} }));
    expect(error.message).toContain(
      "Validation Failed (body is too long (maximum is 65536 characters); PullRequest.head missing_field)",
    );
    expect(error.hint).toMatch(/lower the body limit/);
    expect(error.detail).toContain("documentation_url");
  });

  it("retries timeouts and then reports them", async () => {
    const { http, server } = await client(() => ({ status: 200, hang: true }), { timeoutMs: 50, retries: 1 });
    const error = await failure(http.request("GET", "/slow"));
    expect(server.requests).toHaveLength(2);
    expect(error.message).toMatch(/timed out after 50 ms/);
    expect(error.status).toBeUndefined();
    expect(error.hint).toMatch(/did not answer/);
  });

  it("retries network errors and then reports them", async () => {
    const dead = await startTestServer(() => ({ status: 200 }));
    const url = dead.url;
    await dead.close();
    const sleeper = recordingSleep();
    const http = new ForgeHttpClient({
      fetch,
      kind: "forgejo",
      baseUrl: `${url}/api/v1`,
      token: TOKEN,
      authScheme: "token",
      sleep: sleeper.sleep,
      retries: 2,
    });
    const error = await failure(http.request("GET", "/repos/o/r/pulls"));
    expect(sleeper.delays).toEqual([1000, 2000]);
    expect(error.message).toContain("fetch failed");
    expect(error.hint).toMatch(/Could not reach 127\.0\.0\.1/);
  });

  it("reports a successful answer that is not JSON", async () => {
    const { http } = await client(() => ({ status: 200, raw: "<html>login</html>" }));
    const error = await failure(http.request("GET", "/x"));
    expect(error.message).toMatch(/not JSON/);
    expect(error.hint).toMatch(/api\/v3/);
  });

  it("never puts the token in an error's message, hint, detail or URL", async () => {
    const echo: Handler = (request) => ({
      status: 401,
      body: {
        message: `Bad credentials: ${String(request.headers.authorization)}`,
        echoed: request.headers.authorization,
      },
    });
    const { http } = await client(echo);
    const error = await failure(http.request("GET", "/user", { query: { access_token: TOKEN } }));
    expect(error.message).toContain("Bad credentials: Bearer ***");
    expect(error.url).toContain("access_token=***");
    expectNoToken(error);
  });

  it("redacts the token when it is in the base URL's user info", async () => {
    server = await startTestServer(() => ({ status: 200, body: {} }));
    const token = "glpat-userinfo-token-0000";
    const sleeper = recordingSleep();
    const http = new ForgeHttpClient({
      fetch,
      kind: "forgejo",
      baseUrl: server.url.replace("http://", `http://bot:${token}@`),
      token,
      authScheme: "token",
      sleep: sleeper.sleep,
      retries: 0,
    });
    // fetch refuses URLs with credentials and quotes the URL in its message.
    const error = await failure(http.request("GET", "/x"));
    expectNoToken(error, token);
    expect(String(error.cause)).not.toContain(token);
  });
});

describe("retryAfterMs", () => {
  it.each([
    ["120", 120_000],
    [new Date(NOW + 5000).toUTCString(), 5000],
    [new Date(NOW - 5000).toUTCString(), 0],
    ["soon", undefined],
  ])("parses %s", (value, expected) => {
    expect(retryAfterMs(new Headers({ "retry-after": value }), NOW)).toBe(expected);
  });

  it("is undefined without the header", () => {
    expect(retryAfterMs(new Headers(), NOW)).toBeUndefined();
  });
});

describe("rateLimitWaitMs", () => {
  it("ignores statuses that are not rate limits", () => {
    expect(rateLimitWaitMs(500, new Headers({ "retry-after": "1" }), {}, NOW)).toBeUndefined();
    expect(rateLimitWaitMs(403, new Headers(), { message: "Must have admin rights" }, NOW)).toBeUndefined();
  });
});

describe("describeForgeMessage", () => {
  it.each([
    [{ message: "Not Found" }, "Not Found"],
    [{ message: "Validation Failed", errors: ["head is invalid"] }, "Validation Failed (head is invalid)"],
    [{ message: "[Do]: Required", url: "https://try.gitea.io/api/swagger" }, "[Do]: Required"],
    ["plain text", "plain text"],
    [null, undefined],
  ])("describes %j", (data, expected) => {
    expect(describeForgeMessage(data)).toBe(expected);
  });
});

describe("displayUrl", () => {
  it("drops user info and masks credential-like parameters", () => {
    expect(displayUrl("https://u:p@h.example/api?access_token=x&page=2")).toBe(
      "https://h.example/api?access_token=***&page=2",
    );
  });
});
