/**
 * The NixOS release named by a branch or tag: `nixos-24.11`, `nixos-24.11-small`, `nixpkgs-24.11-darwin`,
 * `release-24.11` (home-manager), `nix-darwin-24.11` → `"24.11"`. Undefined for anything else
 * (`nixos-unstable`, `main`, `v1.24.11`), so only real release branches can make a "release jump".
 */
export function parseRelease(ref: string | undefined): string | undefined {
  if (ref === undefined) return undefined;
  const name = ref.replace(/^refs\/(?:heads|tags)\//, "");
  const match = /^(?:[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*-)?(\d{2}\.\d{2})(?:-[a-z][a-z0-9]*)*$/.exec(name);
  return match?.[1];
}

/** Order releases `YY.MM` by date: negative when `a` is older than `b`. */
export function compareReleases(a: string, b: string): number {
  return releaseNumber(a) - releaseNumber(b);
}

function releaseNumber(release: string): number {
  const [year = "0", month = "0"] = release.split(".");
  return Number(year) * 100 + Number(month);
}

/**
 * The newest `count` stable NixOS releases that exist at `now`, newest first. NixOS releases in May
 * (`YY.05`) and November (`YY.11`). A release counts from the 1st of its month (UTC): its branch is cut
 * for the beta weeks before the release date, so moving to it early should not be flagged. The price
 * is that the oldest release drops out a month before its support ends (it overlaps one month).
 */
export function nixosReleasesAt(now: Date, count = 2): string[] {
  const releases: string[] = [];
  let year = now.getUTCFullYear();
  let month = now.getUTCMonth() + 1 >= 11 ? 11 : now.getUTCMonth() + 1 >= 5 ? 5 : 0;
  if (month === 0) {
    year -= 1;
    month = 11;
  }
  while (releases.length < count) {
    releases.push(`${String(year % 100).padStart(2, "0")}.${String(month).padStart(2, "0")}`);
    if (month === 11) month = 5;
    else {
      month = 11;
      year -= 1;
    }
  }
  return releases;
}
