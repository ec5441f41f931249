/**
 * Reading a V8 `.cpuprofile` (from `node --cpu-prof`): where a short CLI run spent its time, by
 * category (waiting on child processes, module loading, each src/ folder, each dependency, GC), for
 * a few named functions inclusively, and the hottest functions. Samples in builtins with no script
 * (JSON.parse, RegExp) count for the nearest caller that has one.
 */
import { table } from "./lib.js";

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileAnalysis {
  wallMs: number;
  profiledMs: number;
  /** Profile time before the first sample inside the CLI's `main`: loading and evaluating modules. */
  startupMs: number;
  startup: { name: string; ms: number }[];
  /** From the first sample inside `main` to the end. */
  runMs: number;
  run: { name: string; ms: number }[];
  focus: { name: string; ms: number; firstMs: number; lastMs: number }[];
  top: { name: string; where: string; ms: number }[];
}

export function analyseCpuProfile(
  profile: CpuProfile,
  options: { wallMs: number; repoRoot: string; focus: readonly string[]; mainUrlSuffix: string },
): ProfileAnalysis {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stackOf = (id: number): CpuProfileNode[] => {
    const stack: CpuProfileNode[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (node) stack.push(node);
    }
    return stack;
  };
  const rootUrl = `file://${options.repoRoot.endsWith("/") ? options.repoRoot : `${options.repoRoot}/`}`;
  /** The first frame from the leaf up that says whose work this is; Node internals count for their caller. */
  const categoryOf = (stack: CpuProfileNode[]): string => {
    const leaf = stack[0]?.callFrame;
    if (leaf?.functionName === "(idle)") return "idle: waiting for nix child processes / I/O";
    if (leaf?.functionName === "(garbage collector)") return "garbage collection";
    if (leaf?.functionName === "(program)") return "(program): V8/Node native work outside JS";
    for (const n of stack) {
      const url = n.callFrame.url;
      if (url.startsWith("node:internal/modules") || url.startsWith("node:internal/vm"))
        return "Node module loader (resolve, read, compile)";
      const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (dep) return `dependency ${dep[1] ?? "?"}`;
      if (url.startsWith(rootUrl)) {
        const m = /^dist\/([^/]+)\//.exec(url.slice(rootUrl.length));
        return `ternix src/${m?.[1] ?? "?"}/ (and the Node APIs it calls)`;
      }
    }
    return leaf?.url.startsWith("node:") ? "Node internals, no JS caller" : "native, no JS caller";
  };

  // A sample lasts until the next one (the last one until endTime), as Chrome DevTools counts it.
  const times: number[] = [];
  let t = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((t += delta));
  const isMain = (n: CpuProfileNode) =>
    n.callFrame.functionName === "main" && n.callFrame.url.endsWith(options.mainUrlSuffix);
  const stacks = new Map<number, CpuProfileNode[]>();
  const stackFor = (id: number) => {
    let stack = stacks.get(id);
    if (!stack) stacks.set(id, (stack = stackOf(id)));
    return stack;
  };
  const mainIndex = profile.samples.findIndex((id) => stackFor(id).some(isMain));
  const mainStart = mainIndex < 0 ? profile.endTime : (times[mainIndex] ?? profile.startTime);

  const startup = new Map<string, number>();
  const running = new Map<string, number>();
  const functions = new Map<string, { where: string; us: number }>();
  const focus = new Map<string, { us: number; first: number; last: number }>();
  profile.samples.forEach((id, i) => {
    const start = times[i] ?? profile.startTime;
    const us = (times[i + 1] ?? profile.endTime) - start;
    const rel = (start - profile.startTime) / 1000;
    const stack = stackFor(id);
    const bucket = start < mainStart ? startup : running;
    const cat = categoryOf(stack);
    bucket.set(cat, (bucket.get(cat) ?? 0) + us);
    const leaf = stack[0];
    if (leaf) {
      const name = leaf.callFrame.functionName || "(anonymous)";
      const where = leaf.callFrame.url
        ? `${leaf.callFrame.url.replace(rootUrl, "")}:${leaf.callFrame.lineNumber + 1}`
        : "(builtin)";
      const key = `${name}\u0000${where}`;
      const entry = functions.get(key) ?? { where, us: 0 };
      entry.us += us;
      functions.set(key, entry);
    }
    const seen = new Set<string>();
    for (const n of stack) {
      const name = n.callFrame.functionName;
      if (!options.focus.includes(name) || seen.has(name)) continue;
      seen.add(name);
      const entry = focus.get(name) ?? { us: 0, first: rel, last: rel };
      entry.us += us;
      entry.last = rel;
      focus.set(name, entry);
    }
  });
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);

  return {
    wallMs: options.wallMs,
    profiledMs: (profile.endTime - profile.startTime) / 1000,
    startupMs: (mainStart - profile.startTime) / 1000,
    startup: sorted(startup),
    runMs: (profile.endTime - mainStart) / 1000,
    run: sorted(running),
    focus: options.focus
      .filter((name) => focus.has(name))
      .map((name) => {
        const f = focus.get(name) as { us: number; first: number; last: number };
        return { name, ms: f.us / 1000, firstMs: f.first, lastMs: f.last };
      }),
    top: [...functions]
      .map(([key, f]) => ({ name: key.split("\u0000")[0] ?? key, where: f.where, ms: f.us / 1000 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12),
  };
}

export function formatProfile(a: ProfileAnalysis): string {
  const n = (value: number) => `${value.toFixed(0)} ms`;
  const part = (rows: { name: string; ms: number }[], of: number) =>
    table(
      rows
        .filter((r) => r.ms >= 0.5)
        .map((r) => [`  ${r.name}`, n(r.ms), `${((100 * r.ms) / of).toFixed(0)}%`]),
    );
  const lines = [
    `Profile of one ternix diff run: ${n(a.wallMs)} wall = ${n(a.wallMs - a.profiledMs)} before/after the profiler ` +
      `(Node bootstrap, exit, pipes) + ${n(a.startupMs)} loading modules (until main() starts) + ${n(a.runMs)} in main()`,
    "",
    `Loading modules, ${n(a.startupMs)} (self time; Node internals counted for their JS caller):`,
    part(a.startup, a.startupMs),
    "",
    `In main(), ${n(a.runMs)}:`,
    part(a.run, a.runMs),
    "",
    "Key functions (inclusive, synchronous part only; first – last sample, ms into the profile):",
    table(a.focus.map((f) => [`  ${f.name}`, n(f.ms), `${f.firstMs.toFixed(0)} – ${f.lastMs.toFixed(0)}`])),
    "",
    "Hottest functions (self time):",
    table(a.top.map((f) => [`  ${f.name}`, f.where, n(f.ms)])),
  ];
  return lines.join("\n");
}
