import { describe, expect, it } from "vitest";
import { checkSpecsFromConfig, failedUnitsCheck, readFailedUnits, runCheck } from "./checks.js";
import { fakeEffects } from "./system-effects.test-support.js";
import type { CheckSpec } from "../../system/checks.js";

const timing = { timeoutMs: 1000, retries: 2, intervalMs: 500 };

describe("checkSpecsFromConfig", () => {
  it("fills in names and timings", () => {
    expect(
      checkSpecsFromConfig([
        { type: "command", command: ["true"] },
        { type: "http", name: "web", url: "http://localhost/", timeout: "3s", retries: 0, interval: "1m" },
        { type: "tcp", host: "127.0.0.1", port: 22 },
      ]),
    ).toEqual([
      { kind: "command", name: "true", command: ["true"], timeoutMs: 10_000, retries: 2, intervalMs: 2_000 },
      {
        kind: "http",
        name: "web",
        url: "http://localhost/",
        timeoutMs: 3_000,
        retries: 0,
        intervalMs: 60_000,
      },
      {
        kind: "tcp",
        name: "tcp 127.0.0.1:22",
        host: "127.0.0.1",
        port: 22,
        timeoutMs: 10_000,
        retries: 2,
        intervalMs: 2_000,
      },
    ]);
  });
});

describe("runCheck", () => {
  it("passes a command that exits 0 on the first attempt", async () => {
    const fx = fakeEffects();
    const result = await runCheck({ kind: "command", name: "ok", command: ["true"], ...timing }, fx);
    expect(result).toMatchObject({ status: "passed", attempts: 1, detail: "exit 0" });
    expect(fx.calls).toEqual([["true"]]);
  });

  it("retries, pausing in between, and reports the last failure", async () => {
    const fx = fakeEffects({ run: () => ({ exitCode: 3, stderr: "boom\n" }) });
    const result = await runCheck({ kind: "command", name: "bad", command: ["false", "x"], ...timing }, fx);
    expect(result).toMatchObject({ status: "failed", attempts: 3, detail: "exit 3: boom" });
    expect(fx.sleeps).toEqual([500, 500]);
    expect(result.durationMs).toBe(1000);
  });

  it("succeeds when a retry succeeds", async () => {
    let n = 0;
    const fx = fakeEffects({ run: () => ({ exitCode: ++n < 2 ? 1 : 0 }) });
    expect(await runCheck({ kind: "command", name: "flaky", command: ["x"], ...timing }, fx)).toMatchObject({
      status: "passed",
      attempts: 2,
    });
  });

  it("reports a timed-out command", async () => {
    const fx = fakeEffects({ run: () => ({ exitCode: null, signal: "SIGTERM" }) });
    const result = await runCheck(
      { kind: "command", name: "slow", command: ["sleep", "9"], ...timing, retries: 0 },
      fx,
    );
    expect(result.detail).toContain("no answer within 1000 ms");
  });

  it.each([
    [200, "passed"],
    [204, "passed"],
    [301, "failed"],
    [503, "failed"],
  ] as const)("HTTP %d is %s", async (status, expected) => {
    const fx = fakeEffects({ fetch: () => Promise.resolve(new Response(null, { status })) });
    const result = await runCheck({ kind: "http", name: "h", url: "http://x/", ...timing, retries: 0 }, fx);
    expect(result.status).toBe(expected);
    expect(result.detail).toContain(`HTTP ${status}`);
  });

  it("reports a network error with its cause", async () => {
    const fx = fakeEffects({
      fetch: () =>
        Promise.reject(
          new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:80") }),
        ),
    });
    const result = await runCheck({ kind: "http", name: "h", url: "http://x/", ...timing, retries: 0 }, fx);
    expect(result).toMatchObject({
      status: "failed",
      detail: "fetch failed: connect ECONNREFUSED 127.0.0.1:80",
    });
  });

  it.each([
    [() => Promise.resolve(), "passed"],
    [() => Promise.reject(new Error("ECONNREFUSED")), "failed"],
  ] as const)("TCP %#", async (connectTcp, expected) => {
    const fx = fakeEffects({ connectTcp });
    const spec: CheckSpec = { kind: "tcp", name: "t", host: "127.0.0.1", port: 1, ...timing, retries: 0 };
    expect((await runCheck(spec, fx)).status).toBe(expected);
  });
});

describe("failed units", () => {
  it("reads systemctl's list", async () => {
    const fx = fakeEffects({ run: () => ({ stdout: "a.service loaded failed failed A\n" }) });
    expect(await readFailedUnits("systemctl", fx)).toEqual({ ok: true, units: ["a.service"] });
    expect(fx.calls).toEqual([["systemctl", "--failed", "--plain", "--no-legend"]]);
  });

  it("a systemctl that cannot answer is a reason, not an error", async () => {
    const fx = fakeEffects({
      run: () => ({
        exitCode: 1,
        stderr: "System has not been booted with systemd as init system (PID 1).\n",
      }),
    });
    expect(await readFailedUnits("systemctl", fx)).toEqual({
      ok: false,
      reason: "systemctl exited 1: System has not been booted with systemd as init system (PID 1).",
    });
  });

  it.each([
    [{ ok: true, units: [] }, { ok: true, units: ["b.service"] }, "failed", "newly failed: b.service"],
    [
      { ok: true, units: ["a.service"] },
      { ok: true, units: ["a.service"] },
      "passed",
      "already failed before: a.service",
    ],
    [{ ok: true, units: [] }, { ok: true, units: [] }, "passed", "no failed units"],
    [{ ok: false, reason: "no systemd" }, { ok: true, units: ["x.service"] }, "skipped", "no systemd"],
  ] as const)("%#", (before, after, status, detail) => {
    const result = failedUnitsCheck(before, after, 0);
    expect(result.status).toBe(status);
    expect(result.detail).toContain(detail);
  });
});
