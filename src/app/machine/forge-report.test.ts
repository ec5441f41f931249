import { describe, expect, it } from "vitest";
import { ForgeError } from "../../errors.js";
import type { StatusForge } from "../../forge/types.js";
import type { AppEvent } from "../effects.js";
import { postCommitStatus, upgradeCommitStatus, type UpgradeVerdict } from "./forge-report.js";

describe("upgradeCommitStatus", () => {
  it.each<[string, UpgradeVerdict, string | undefined, string | undefined]>([
    [
      "upgraded and checked",
      { result: "upgraded", message: "upgraded to abc: generation 4, checks passed", checked: true },
      "success",
      "upgraded to abc: generation 4, checks passed",
    ],
    [
      "up to date, reboot pending",
      { result: "up_to_date", message: "web already runs abc", checked: true, rebootPending: true },
      "success",
      "web already runs abc; reboot pending",
    ],
    [
      "upgraded, rebooting",
      { result: "upgraded", message: "upgraded to abc", checked: true, rebooting: true },
      "success",
      "upgraded to abc; rebooting now",
    ],
    [
      "boot default only (unchecked)",
      { result: "upgraded", message: "abc is the boot default", checked: false },
      "pending",
      undefined,
    ],
    [
      "checks failed",
      { result: "checks_failed", message: "checks failed for abc (x: exit 1); commit quarantined" },
      "failure",
      undefined,
    ],
    ["quarantined", { result: "quarantined", message: "abc is quarantined since t" }, "failure", undefined],
    ["refused", { result: "refused", message: "refused abc: not a fast-forward" }, "error", undefined],
    ["could not build", { result: "error", message: "building web failed" }, "error", "building web failed"],
    [
      "interrupted: no verdict",
      { result: "error", message: "interrupted by SIGINT", interrupted: true },
      undefined,
      undefined,
    ],
  ])("%s", (_, verdict, state, description) => {
    const status = upgradeCommitStatus(verdict);
    expect(status?.state).toBe(state);
    if (description !== undefined) expect(status?.description).toBe(description);
  });

  it("keeps the description one line of at most 140 characters", () => {
    const status = upgradeCommitStatus({ result: "error", message: `a\nb ${"x".repeat(300)}` });
    expect(status?.description.startsWith("a b x")).toBe(true);
    expect([...(status?.description ?? "")].length).toBe(140);
  });
});

describe("postCommitStatus", () => {
  const forge = (create: StatusForge["createCommitStatus"]): StatusForge => ({
    kind: "github",
    createCommitStatus: create,
    listCommitStatuses: () => Promise.resolve([]),
    combinedStatus: () => Promise.resolve({ state: "pending", statuses: [] }),
  });
  const sha = "a".repeat(40);

  it("posts under ternix/host/HOST and records success", async () => {
    const posted: unknown[] = [];
    const record = await postCommitStatus(
      forge((s, input) => {
        posted.push([s, input]);
        return Promise.resolve({ ...input, targetUrl: undefined, createdAt: "t" });
      }),
      "web-1",
      sha,
      { state: "success", description: "ok" },
      "2025-01-01T00:00:00.000Z",
      () => undefined,
    );
    expect(posted).toEqual([[sha, { context: "ternix/host/web-1", state: "success", description: "ok" }]]);
    expect(record).toMatchObject({ ok: true, error: null, context: "ternix/host/web-1", commit: sha });
  });

  it("a forge error is logged and recorded, never thrown", async () => {
    const events: AppEvent[] = [];
    const record = await postCommitStatus(
      forge(() =>
        Promise.reject(
          new ForgeError("GitHub API POST … failed with 500", { method: "POST", url: "u", status: 500 }),
        ),
      ),
      "web-1",
      sha,
      { state: "failure", description: "x" },
      "t",
      (e) => events.push(e),
    );
    expect(record).toMatchObject({ ok: false, error: "GitHub API POST … failed with 500" });
    expect(events).toEqual([expect.objectContaining({ level: "warn" })]);
  });
});
