/**
 * Flake or channels: a machine without a flake (no flake.nix in the chosen directory) that has
 * channels is a channel-based system; `--channels` says so outright.
 */
import { Option } from "commander";
import { hasChannels, type ChannelDeps } from "../app/channels.js";
import { InputError } from "../errors.js";
import type { Runtime } from "./runtime.js";

export const channelsOption = () =>
  new Option(
    "--channels",
    "use the channels (nix-channel) instead of a flake; the default when there is no flake.nix and there are channels",
  );

export async function channelDeps(rt: Runtime): Promise<ChannelDeps> {
  return { nix: await rt.nix(), effects: rt.effects };
}

/**
 * The flake `locate` finds, or undefined for channel mode: with `--channels`, or when `locate`
 * finds no flake.nix and nix-channel lists channels. Otherwise the missing flake is the error.
 */
export async function flakeOrChannels<T>(
  rt: Runtime,
  force: boolean | undefined,
  locate: () => Promise<T>,
): Promise<T | undefined> {
  if (force) return undefined;
  try {
    return await locate();
  } catch (error) {
    if (!(error instanceof InputError) || !error.message.startsWith("no flake.nix")) throw error;
    // Without Nix or nix-channel there are no channels either: the missing flake.nix is the error.
    const channels = await channelDeps(rt).then(hasChannels, () => false);
    if (channels) return undefined;
    throw error;
  }
}
