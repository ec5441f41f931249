import type { z } from "zod";
import { ForgeError } from "../errors.js";
import type { ForgeKind } from "./types.js";

/**
 * A small JSON client for forge REST APIs over an injected `fetch`: per-attempt timeouts, retries with
 * exponential backoff on network errors, 5xx and 429, and the waits the forges ask for (`Retry-After`,
 * GitHub's `x-ratelimit-reset` on 403/429 rate-limit answers). Errors are `ForgeError`s that never
 * contain the token: every message, hint and detail passes through `redact`.
 */

export type Fetch = typeof fetch;

export interface RetryEvent {
  method: string;
  url: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface ForgeHttpOptions {
  fetch: Fetch;
  kind: ForgeKind;
  /** API root without trailing slash, e.g. `https://api.github.com` or `https://codeberg.org/api/v1`. */
  baseUrl: string;
  token?: string | undefined;
  /** GitHub documents `Bearer`; Gitea/Forgejo document `token`. */
  authScheme: "Bearer" | "token";
  headers?: Readonly<Record<string, string>> | undefined;
  /** Per attempt, including reading the body. Default 30 s. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt. Default 3. */
  retries?: number | undefined;
  /** First backoff delay, doubled each retry. Default 1 s. */
  baseDelayMs?: number | undefined;
  /** The longest single wait we accept; a forge asking for longer fails fast instead. Default 2 min. */
  maxWaitMs?: number | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Clock in epoch milliseconds, for HTTP-date `Retry-After` and `x-ratelimit-reset`. */
  now?: (() => number) | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Aborts everything (Ctrl-C); never retried. */
  signal?: AbortSignal | undefined;
}

/** Connection settings both forge adapters take (the adapter fixes kind, base URL, auth scheme). */
export type ForgeClientOptions = Omit<ForgeHttpOptions, "kind" | "authScheme" | "baseUrl" | "headers"> & {
  userAgent?: string | undefined;
};

export interface ForgeRequestOptions {
  query?: Readonly<Record<string, string | number | boolean | undefined>> | undefined;
  body?: unknown;
}

export interface ForgeResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or `null` for an empty body. */
  data: unknown;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ForgeHttpClient {
  readonly kind: ForgeKind;
  readonly baseUrl: string;
  readonly #options: ForgeHttpOptions;
  readonly #secrets: string[];

  constructor(options: ForgeHttpOptions) {
    this.#options = options;
    this.kind = options.kind;
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#secrets = secretForms(options.token);
  }

  /** Replaces the token (and its URL-encoded form) with `***`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join("***");
    return out;
  }

  /** An absolute URL for `path` (relative to the API root, or absolute) with `query` appended. */
  url(path: string, query?: ForgeRequestOptions["query"]): string {
    const url = new URL(
      /^https?:\/\//.test(path) ? path : `${this.baseUrl}${path.startsWith("/") ? "" : "/"}${path}`,
    );
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  async request(method: string, path: string, options: ForgeRequestOptions = {}): Promise<ForgeResponse> {
    const o = this.#options;
    const url = this.url(path, options.query);
    const shownUrl = this.redact(displayUrl(url));
    const retries = o.retries ?? 3;
    const baseDelay = o.baseDelayMs ?? 1000;
    const maxWait = o.maxWaitMs ?? 120_000;
    const timeoutMs = o.timeoutMs ?? 30_000;
    const sleep = o.sleep ?? defaultSleep;
    const now = o.now ?? Date.now;
    const headers: Record<string, string> = { Accept: "application/json", ...o.headers };
    if (o.token) headers.Authorization = `${o.authScheme} ${o.token}`;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (body !== undefined) headers["Content-Type"] = "application/json";

    for (let attempt = 0; ; attempt++) {
      const backoff = Math.min(baseDelay * 2 ** attempt, maxWait);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
      let response: Response;
      let text: string;
      try {
        response = await o.fetch(url, { method, headers, body, signal });
        text = await response.text();
      } catch (error) {
        if (o.signal?.aborted) throw error;
        const timedOut = timeout.aborted;
        const reason = timedOut ? `timed out after ${formatDuration(timeoutMs)}` : networkReason(error);
        if (attempt < retries) {
          await this.#wait(sleep, { method, url: shownUrl, attempt: attempt + 1, delayMs: backoff, reason });
          continue;
        }
        throw new ForgeError(
          this.redact(`${forgeName(this.kind)} API ${method} ${shownUrl}: ${reason}`),
          { method, url: shownUrl },
          {
            cause: this.#redactCause(error),
            hint: this.redact(
              timedOut
                ? `The forge did not answer within ${formatDuration(timeoutMs)} (${retries + 1} attempts); check its status and try again.`
                : `Could not reach ${new URL(url).host} (${retries + 1} attempts); check the network and the API URL.`,
            ),
          },
        );
      }

      const data = parseJson(text);
      if (response.ok) {
        if (data === invalidJson) {
          throw new ForgeError(
            this.redact(`${forgeName(this.kind)} API ${method} ${shownUrl}: the answer is not JSON`),
            { method, url: shownUrl, status: response.status },
            {
              hint: "Check that the API URL points at the forge's API (GitHub: /api/v3, Forgejo/Gitea: /api/v1).",
              detail: this.redact(truncate(text)),
            },
          );
        }
        return { status: response.status, headers: response.headers, data };
      }

      const rateLimit = rateLimitWaitMs(response.status, response.headers, data, now());
      const retryable = rateLimit !== undefined || response.status === 429 || response.status >= 500;
      if (retryable && attempt < retries) {
        const delayMs = rateLimit ?? retryAfterMs(response.headers, now()) ?? backoff;
        if (delayMs > maxWait) {
          throw this.#error(method, shownUrl, response, data, text, {
            hint: `The forge asks to wait ${formatDuration(delayMs)} (until ${new Date(now() + delayMs).toISOString()}) before retrying; re-run later or use a token with a higher rate limit.`,
          });
        }
        await this.#wait(sleep, {
          method,
          url: shownUrl,
          attempt: attempt + 1,
          delayMs,
          reason: `${response.status} ${response.statusText}`.trim(),
        });
        continue;
      }
      throw this.#error(method, shownUrl, response, data, text, {
        retried: attempt,
        rateLimited: rateLimit !== undefined,
      });
    }
  }

  /** The error itself, or a copy without the token when its message quotes it (fetch quotes URLs). */
  #redactCause(error: unknown): unknown {
    if (!(error instanceof Error)) return error;
    const message = this.redact(error.message);
    return message === error.message ? error : new Error(message);
  }

  async #wait(sleep: (ms: number) => Promise<void>, event: RetryEvent): Promise<void> {
    this.#options.onRetry?.({ ...event, url: this.redact(event.url), reason: this.redact(event.reason) });
    await sleep(event.delayMs);
  }

  #error(
    method: string,
    shownUrl: string,
    response: Response,
    data: unknown,
    text: string,
    extra: { hint?: string; retried?: number; rateLimited?: boolean },
  ): ForgeError {
    const status = response.status;
    const forgeMessage = data === invalidJson ? undefined : describeForgeMessage(data);
    const statusText = `${status}${response.statusText ? ` ${response.statusText}` : ""}`;
    const message = `${forgeName(this.kind)} API ${method} ${shownUrl} failed with ${statusText}${forgeMessage ? `: ${forgeMessage}` : ""}`;
    const hint = extra.hint ?? hintFor(this.kind, status, forgeMessage, this.baseUrl, extra);
    const requestId = response.headers.get("x-github-request-id");
    const detail = [requestId ? `x-github-request-id: ${requestId}` : undefined, truncate(text)]
      .filter((line) => line !== undefined && line !== "")
      .join("\n");
    return new ForgeError(
      this.redact(oneLine(message)),
      { method, url: shownUrl, status },
      {
        hint: hint === undefined ? undefined : this.redact(hint),
        detail: detail ? this.redact(detail) : undefined,
      },
    );
  }
}

/**
 * Parses a successful answer with its zod schema; a mismatch is the forge (or a proxy) answering
 * something else than documented, reported with the zod issues as detail.
 */
export function parseForgeResponse<T>(
  client: ForgeHttpClient,
  schema: z.ZodType<T>,
  response: ForgeResponse,
  request: { method: string; path: string },
): T {
  const result = schema.safeParse(response.data);
  if (result.success) return result.data;
  const shownUrl = client.redact(displayUrl(client.url(request.path)));
  return failUnexpected(client, request.method, shownUrl, response.status, result.error);
}

function failUnexpected(
  client: ForgeHttpClient,
  method: string,
  shownUrl: string,
  status: number,
  error: z.ZodError,
): never {
  const issues = error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("\n");
  throw new ForgeError(
    client.redact(`${forgeName(client.kind)} API ${method} ${shownUrl}: unexpected answer`),
    { method, url: shownUrl, status },
    {
      hint: "The forge answered in an unknown shape; check the API URL and the forge version, then report a bug.",
      detail: client.redact(issues),
    },
  );
}

/** The forge's own explanation: `message` plus GitHub's 422 `errors[]`. */
export function describeForgeMessage(data: unknown): string | undefined {
  if (typeof data === "string") return data.trim() || undefined;
  if (!isRecord(data)) return undefined;
  const parts: string[] = [];
  if (typeof data.message === "string" && data.message.trim()) parts.push(data.message.trim());
  if (Array.isArray(data.errors)) {
    const errors = data.errors.map(describeFieldError).filter((e): e is string => e !== undefined);
    if (errors.length > 0) parts.push(`(${errors.join("; ")})`);
  }
  return parts.length > 0 ? oneLine(parts.join(" ")) : undefined;
}

function describeFieldError(error: unknown): string | undefined {
  if (typeof error === "string") return error;
  if (!isRecord(error)) return undefined;
  if (typeof error.message === "string") return error.message;
  const where = [error.resource, error.field].filter((p) => typeof p === "string").join(".");
  const code = typeof error.code === "string" ? error.code : undefined;
  return [where, code].filter(Boolean).join(" ") || undefined;
}

/** `Retry-After` as milliseconds from `nowMs`: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(headers: Headers, nowMs: number): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * How long a rate-limited answer asks us to wait, or undefined when the answer is not a rate limit.
 * GitHub answers 403 or 429: wait `retry-after` seconds if given; else, when `x-ratelimit-remaining`
 * is 0, until `x-ratelimit-reset` (UTC epoch seconds); else (secondary limit) at least one minute.
 */
export function rateLimitWaitMs(
  status: number,
  headers: Headers,
  data: unknown,
  nowMs: number,
): number | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const retryAfter = retryAfterMs(headers, nowMs);
  if (retryAfter !== undefined) return retryAfter;
  if (headers.get("x-ratelimit-remaining") === "0") {
    const reset = Number(headers.get("x-ratelimit-reset"));
    if (Number.isFinite(reset) && reset > 0) return Math.max(1000, reset * 1000 - nowMs + 1000);
    return 60_000;
  }
  const message = describeForgeMessage(data) ?? "";
  if (/rate limit/i.test(message)) return 60_000;
  return undefined;
}

function hintFor(
  kind: ForgeKind,
  status: number,
  forgeMessage: string | undefined,
  baseUrl: string,
  extra: { retried?: number; rateLimited?: boolean },
): string | undefined {
  if (extra.rateLimited) {
    return "The forge's rate limit was exceeded; wait until it resets or use a token with a higher limit.";
  }
  switch (status) {
    case 401:
      return "The token was rejected (missing, mistyped or expired): set TERNIX_FORGE_TOKEN, or GITHUB_TOKEN (GitHub) / FORGEJO_TOKEN (Forgejo).";
    case 403:
      return kind === "github"
        ? "The token lacks pull-request write permission (GitHub: `permissions: pull-requests: write, contents: write`); for GITHUB_TOKEN also allow GitHub Actions to create pull requests in the repository's Actions settings."
        : "The token lacks pull-request write permission (Forgejo/Gitea token scopes: write:repository and write:issue).";
    case 404:
      return `Repository not found or the token cannot see it: check the owner/repo and the API URL (${baseUrl}).`;
    case 409:
      return "A pull request for this branch already exists on the forge.";
    case 413:
      return "The request is too large for the forge or a proxy in front of it: lower the pull-request body limit.";
    case 422:
      return /too long/i.test(forgeMessage ?? "")
        ? "The pull-request body is longer than the forge accepts: lower the body limit."
        : "The forge refused the request's content; see its message.";
    default:
      if (status >= 500) {
        const tries = (extra.retried ?? 0) + 1;
        return `The forge had a server error (${tries} attempt${tries === 1 ? "" : "s"}); check its status and try again later.`;
      }
      return undefined;
  }
}

const invalidJson = Symbol("invalid JSON");

function parseJson(text: string): unknown {
  if (text.trim() === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return invalidJson;
  }
}

/** The URL without user info and without query parameters that may carry credentials. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    for (const key of [...u.searchParams.keys()]) {
      if (/token|secret|password|sig|key/i.test(key)) u.searchParams.set(key, "***");
    }
    return u.toString();
  } catch {
    return url;
  }
}

function secretForms(token: string | undefined): string[] {
  if (!token || token.length < 4) return [];
  const forms = new Set([token, encodeURIComponent(token)]);
  return [...forms].sort((a, b) => b.length - a.length);
}

function networkReason(error: unknown): string {
  if (!(error instanceof Error)) return "network error";
  const cause = (error as Error & { cause?: unknown }).cause;
  const code = isRecord(cause) && typeof cause.code === "string" ? cause.code : undefined;
  return code ? `${error.message} (${code})` : error.message;
}

function forgeName(kind: ForgeKind): string {
  return kind === "github" ? "GitHub" : "Forgejo";
}

function formatDuration(ms: number): string {
  return ms < 1000
    ? `${ms} ms`
    : ms < 120_000
      ? `${Math.round(ms / 1000)} s`
      : `${Math.round(ms / 60_000)} min`;
}

function truncate(text: string, max = 4000): string {
  const trimmed = text.trim();
  return trimmed.length <= max ? trimmed : `${trimmed.slice(0, max)}…`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
