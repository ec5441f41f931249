import { describe, expect, it } from "vitest";
import type { Finding } from "../system/doctor.js";
import { renderDoctorText, toDoctorJson } from "./doctor.js";

const findings: Finding[] = [
  {
    id: "running",
    section: "system",
    verdict: "ok",
    summary: "running generation 2, the boot default",
    details: ["/nix/store/x"],
  },
  {
    id: "known-good",
    section: "system",
    verdict: "ok",
    summary: "generation 1 is known good and in the store",
    details: [],
    action: "`sudo ternix rollback --to 1` returns to it.",
  },
  {
    id: "failed-units",
    section: "health",
    verdict: "fail",
    summary: "1 failed systemd unit",
    details: ["nginx.service"],
    action: "`systemctl status UNIT`",
  },
  {
    id: "secrets",
    section: "secrets",
    verdict: "unavailable",
    summary: "secrets: not available (no scanner)",
    details: [],
  },
  {
    id: "channels",
    section: "nix",
    verdict: "warn",
    summary: "neither a flake nor a channel found",
    details: [],
    action: "Add one.",
  },
];

describe("renderDoctorText", () => {
  it("groups by section, marks verdicts, shows actions (ok ones in parentheses) and counts", () => {
    expect(renderDoctorText({ host: "web", findings }, { color: false })).toBe(
      [
        "ternix doctor: web",
        "",
        "What runs vs what should",
        "  ok    running generation 2, the boot default",
        "        /nix/store/x",
        "  ok    generation 1 is known good and in the store",
        "        (`sudo ternix rollback --to 1` returns to it.)",
        "",
        "Health since boot",
        "  FAIL  1 failed systemd unit",
        "        nginx.service",
        "        → `systemctl status UNIT`",
        "",
        "Secrets",
        "  n/a   secrets: not available (no scanner)",
        "",
        "Nix",
        "  warn  neither a flake nor a channel found",
        "        → Add one.",
        "",
        "2 ok, 1 warning, 1 failure, 1 not available.",
        "",
      ].join("\n"),
    );
  });

  it("colours only when asked", () => {
    expect(renderDoctorText({ host: undefined, findings }, { color: true })).toContain("\u001b[");
    expect(renderDoctorText({ host: undefined, findings }, { color: false })).not.toContain("\u001b[");
  });
});

describe("toDoctorJson", () => {
  it("is doctor v1 with a summary and null for missing values", () => {
    const json = toDoctorJson({ host: undefined, findings });
    expect(json).toMatchObject({
      schemaVersion: 1,
      kind: "doctor",
      host: null,
      summary: { ok: 2, warn: 1, fail: 1, unavailable: 1 },
    });
    expect(json.findings[0]).toEqual({
      id: "running",
      section: "system",
      verdict: "ok",
      summary: "running generation 2, the boot default",
      details: ["/nix/store/x"],
      action: null,
    });
    expect(json.secrets).toBeNull();
  });

  it("carries the secret scan: where and what kind, and the counts", () => {
    const secrets = {
      findings: [{ storePath: "/nix/store/k-keys", file: "etc/key", kind: "age-secret-key" as const }],
      newPaths: 3,
      pathsScanned: 2,
      pathsOverBudget: 1,
      filesScanned: 4,
      bytesScanned: 100,
      skippedBinary: 1,
      skippedTooLarge: 0,
      skippedOther: 0,
    };
    expect(toDoctorJson({ host: "web", findings, secrets }).secrets).toEqual(secrets);
  });
});
