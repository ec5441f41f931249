/** `nix store ping`'s text output (2.8: `Store URL`, `Version`; 2.24 adds `Trusted`). Pure. */
export interface StorePing {
  url: string | undefined;
  /** The Nix version of the store's daemon (for a local store: the client's own). */
  version: string | undefined;
  trusted: boolean | undefined;
}

export function parseStorePing(text: string): StorePing {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+?)\\s*$`, "m").exec(text)?.[1];
  const trusted = field("Trusted");
  return {
    url: field("Store URL"),
    version: field("Version"),
    trusted: trusted === undefined ? undefined : trusted === "1",
  };
}
