/**
 * Test support (not shipped code): commit statuses kept in memory and served with the shapes
 * GitHub (`state`) and Gitea/Forgejo (`status`, `x-total-count` paging) document. The fake forges
 * route `/repos/{owner}/{repo}/statuses/…` and `/commits/…/status(es)` here.
 */
import type { RecordedRequest, Reply } from "./test-server.test-support.js";
import type { ForgeKind } from "./types.js";

export interface StoredStatus {
  id: number;
  sha: string;
  context: string;
  state: string;
  description: string;
  target_url: string | null;
  created_at: string;
}

const STATES: Record<ForgeKind, readonly string[]> = {
  github: ["error", "failure", "pending", "success"],
  forgejo: ["error", "failure", "pending", "success", "warning"],
};

export class FakeStatuses {
  readonly statuses: StoredStatus[] = [];
  /** Answer this many status requests with 500 (a forge that is down). */
  failNext = 0;
  /** Every status request answers 500 while set. */
  down = false;
  now: () => Date = () => new Date();
  #id = 1;

  constructor(readonly kind: ForgeKind) {}

  /** Seeds a status as if an agent had posted it at `at`. */
  add(sha: string, status: { context: string; state: string; description?: string; at: Date }): void {
    this.statuses.push({
      id: this.#id++,
      sha,
      context: status.context,
      state: status.state,
      description: status.description ?? "",
      target_url: null,
      created_at: status.at.toISOString(),
    });
  }

  of(sha: string): StoredStatus[] {
    return this.statuses.filter((s) => s.sha === sha);
  }

  /**
   * The reply for a status request, or undefined when `path` (relative to `/repos/{owner}/{repo}`)
   * is not one.
   */
  handle(req: RecordedRequest, path: string): Reply | undefined {
    const post = /^\/statuses\/([0-9a-f]{7,64})$/.exec(path);
    const list =
      /^\/commits\/([0-9a-f]{7,64})\/statuses$/.exec(path) ??
      (this.kind === "forgejo" && req.method === "GET" ? /^\/statuses\/([0-9a-f]{7,64})$/.exec(path) : null);
    const combined = /^\/commits\/([0-9a-f]{7,64})\/status$/.exec(path);
    if (!post && !list && !combined) return undefined;
    if (this.down || this.failNext > 0) {
      this.failNext = Math.max(0, this.failNext - 1);
      return { status: 500, body: { message: "Internal Server Error" } };
    }
    if (req.method === "POST" && post?.[1] !== undefined) return this.#create(post[1], req.body);
    if (req.method === "GET" && list?.[1] !== undefined) return this.#list(list[1], req.query);
    if (req.method === "GET" && combined?.[1] !== undefined) return this.#combined(combined[1]);
    return { status: 405, body: { message: "Method Not Allowed" } };
  }

  #create(sha: string, body: unknown): Reply {
    const b = (body ?? {}) as Record<string, unknown>;
    const state = typeof b.state === "string" ? b.state : "";
    const description = typeof b.description === "string" ? b.description : "";
    if (!STATES[this.kind].includes(state)) {
      return this.kind === "github"
        ? {
            status: 422,
            body: { message: "Validation Failed", errors: [{ field: "state", code: "invalid" }] },
          }
        : { status: 422, body: { message: `invalid state ${state}` } };
    }
    if (this.kind === "github" && [...description].length > 140) {
      return {
        status: 422,
        body: {
          message: "Validation Failed",
          errors: [{ message: "description is too long (maximum is 140 characters)" }],
        },
      };
    }
    this.add(sha, {
      context: typeof b.context === "string" && b.context !== "" ? b.context : "default",
      state,
      description,
      at: this.now(),
    });
    return { status: 201, body: this.#json(this.statuses.at(-1) as StoredStatus) };
  }

  #newestFirst(sha: string): StoredStatus[] {
    return this.of(sha).sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
  }

  #list(sha: string, query: URLSearchParams): Reply {
    const all = this.#newestFirst(sha);
    const page = Number(query.get("page") ?? "1");
    const size = Number(query.get(this.kind === "github" ? "per_page" : "limit") ?? "30");
    const slice = all.slice((page - 1) * size, page * size).map((s) => this.#json(s));
    return this.kind === "github"
      ? { status: 200, body: slice }
      : { status: 200, body: slice, headers: { "x-total-count": String(all.length) } };
  }

  #combined(sha: string): Reply {
    const latest = new Map<string, StoredStatus>();
    for (const s of this.#newestFirst(sha)) if (!latest.has(s.context)) latest.set(s.context, s);
    const statuses = [...latest.values()];
    const state = statuses.some((s) => s.state === "failure" || s.state === "error")
      ? "failure"
      : statuses.length === 0 || statuses.some((s) => s.state === "pending")
        ? "pending"
        : "success";
    return {
      status: 200,
      body: { state, sha, total_count: statuses.length, statuses: statuses.map((s) => this.#json(s)) },
    };
  }

  #json(s: StoredStatus): Record<string, unknown> {
    const common = {
      id: s.id,
      context: s.context,
      description: s.description,
      target_url: s.target_url,
      created_at: s.created_at,
      updated_at: s.created_at,
    };
    return this.kind === "github"
      ? { ...common, state: s.state, node_id: `SC_${s.id}`, creator: { login: "ternix-agent" } }
      : { ...common, status: s.state, url: "", creator: { login: "ternix-agent" } };
  }
}
