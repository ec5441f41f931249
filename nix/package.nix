# Ternix, built from this repository with nixpkgs' buildNpmPackage (nixpkgs 24.05 or newer).
{ lib, buildNpmPackage, importNpmLock, git, openssh, makeWrapper }:
let
  packageJson = lib.importJSON ../package.json;
  inherit (import ./npm-lock.nix { inherit lib; }) withRegistryUrls;
in
buildNpmPackage {
  pname = "ternix";
  inherit (packageJson) version;

  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../package.json
      ../package-lock.json
      ../tsconfig.json
      ../tsconfig.build.json
      ../src
    ];
  };

  # Dependencies come from package-lock.json through importNpmLock instead of a pinned npmDepsHash.
  # A hash is the hash of prefetch-npm-deps' npm cache directory, which can only be computed by
  # downloading every tarball (this project is developed offline) and goes stale with every
  # dependency change; importNpmLock fetches each tarball by the `integrity` hash the lock already
  # pins, so the lock is the single source of truth and nothing can drift. npm-lock.nix restores
  # the registry URLs the lock leaves out.
  npmDeps = importNpmLock {
    package = packageJson;
    packageLock = withRegistryUrls (lib.importJSON ../package-lock.json);
  };
  npmConfigHook = importNpmLock.npmConfigHook;

  nativeBuildInputs = [ makeWrapper ];

  # `npm run build` (tsc) is the default build; the install keeps `files` (dist) and the `bin` entry.
  # git and ssh are fallbacks after the caller's PATH; nix is always the caller's (the daemon's).
  postInstall = ''
    wrapProgram $out/bin/ternix --suffix PATH : ${lib.makeBinPath [ git openssh ]}
  '';

  meta = {
    description = packageJson.description;
    license = lib.licenses.mit;
    mainProgram = "ternix";
    platforms = lib.platforms.linux;
  };
}
