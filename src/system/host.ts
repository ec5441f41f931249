/**
 * Host names: checked before they reach an argument or a path, and only ever handed to Nix as a
 * quoted string inside an `--apply` expression, never as part of an installable's attribute path
 * (where `.`, `"` and `#` would change what is evaluated).
 */
import { nixString } from "../nix/nix-string.js";

/** Letters, digits and `_ . + @ -`, not starting with `-` or `.`; what NixOS host and configuration names use. */
const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+@-]{0,252}$/;

export type HostNameCheck = { ok: true; name: string } | { ok: false; reason: string };

export function checkHostName(name: string): HostNameCheck {
  if (name === "") return { ok: false, reason: "the host name is empty" };
  if (HOST_NAME.test(name)) return { ok: true, name };
  if (name.length > 253) return { ok: false, reason: "the host name is longer than 253 characters" };
  if (/^[-.]/.test(name)) return { ok: false, reason: `${JSON.stringify(name)} starts with "${name[0]}"` };
  return {
    ok: false,
    reason: `${JSON.stringify(name)} holds characters other than letters, digits and _ . + @ -`,
  };
}

/** What `--apply` on `FLAKE#nixosConfigurations` returns for one host. */
export type ToplevelLookup = { found: true; drvPath: string } | { found: false; names: string[] };

/**
 * The `--apply` function that finds one host's toplevel derivation, or lists the hosts there are.
 * Only the derivation path is forced, so nothing builds during evaluation.
 */
export function toplevelLookupExpr(host: string): string {
  const name = nixString(host);
  return (
    `configs: if builtins.hasAttr ${name} configs ` +
    `then { found = true; drvPath = (builtins.getAttr ${name} configs).config.system.build.toplevel.drvPath; } ` +
    `else { found = false; names = builtins.attrNames configs; }`
  );
}

/** What `--apply` on `FLAKE#nixosConfigurations` returns for one attribute of a host's `system.build`. */
export type SystemBuildLookup =
  | { found: true; drvPath: string; outputPath: string }
  | { found: false; names: string[] }
  | { found: "no-attribute"; attribute: string };

/** `system.build` attributes Ternix evaluates by name; anything else never reaches an expression. */
export const SYSTEM_BUILD_ATTRIBUTES = ["toplevel", "vm", "vmWithBootLoader"] as const;
export type SystemBuildAttribute = (typeof SYSTEM_BUILD_ATTRIBUTES)[number];

/**
 * Like {@link toplevelLookupExpr} for any of {@link SYSTEM_BUILD_ATTRIBUTES}, with the output path
 * too (computed by evaluation, nothing is built): `config.system.build.vm` is what
 * `nixos-rebuild build-vm` builds, `vmWithBootLoader` what `build-vm-with-bootloader` builds. A
 * configuration without the attribute (not made by `nixosSystem`) says so instead of failing. The
 * output path is `outputPath`: an attribute set with `outPath` would turn into that string in JSON.
 */
export function systemBuildLookupExpr(host: string, attribute: SystemBuildAttribute): string {
  const name = nixString(host);
  const attr = nixString(attribute);
  return (
    `configs: if builtins.hasAttr ${name} configs ` +
    `then (let build = (builtins.getAttr ${name} configs).config.system.build; in ` +
    `if builtins.hasAttr ${attr} build ` +
    `then (let d = builtins.getAttr ${attr} build; in { found = true; drvPath = d.drvPath; outputPath = d.outPath; }) ` +
    `else { found = "no-attribute"; attribute = ${attr}; }) ` +
    `else { found = false; names = builtins.attrNames configs; }`
  );
}
