# package-lock.json without `resolved` URLs → the same lock with them, for nixpkgs' importNpmLock.
#
# This project's lock is written with npm's `omit-lockfile-registry-resolved` (so it does not name
# the registry a developer happened to use): its entries carry `version` and `integrity` but no
# `resolved`. importNpmLock fetches only entries with a `resolved` URL, so the registry URL is put
# back here by npm's own convention, https://registry.npmjs.org/NAME/-/BASENAME-VERSION.tgz (as npm
# does when it installs from such a lock). `integrity` still pins every tarball: a wrong URL fails the
# fetch, it cannot change what is built. Tested by test/integration/nixos-module.test.ts.
{ lib }:
let
  registry = "https://registry.npmjs.org";

  # "node_modules/a/node_modules/@s/b" → "@s/b"; an alias entry names its real package in `name`.
  packageName = key: entry: entry.name or (lib.last (lib.splitString "node_modules/" key));

  tarballUrl = key: entry:
    let
      name = packageName key entry;
      base = lib.last (lib.splitString "/" name);
    in
    "${registry}/${name}/-/${base}-${entry.version}.tgz";

  fromRegistry = key: entry:
    lib.hasPrefix "node_modules/" key
    && !(entry.link or false)
    && (entry.resolved or null) == null
    && entry ? version
    && entry ? integrity;

  withRegistryUrls = lock: lock // {
    packages = lib.mapAttrs
      (key: entry: if fromRegistry key entry then entry // { resolved = tarballUrl key entry; } else entry)
      lock.packages;
  };
in
{ inherit withRegistryUrls; }
