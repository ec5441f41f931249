import { join } from "node:path";
import { InputError, UsageError } from "../../errors.js";
import type { ForgeKind } from "../../forge/types.js";

/**
 * `ternix init ci`: a scheduled CI workflow that runs `ternix pr` (update flake.lock, build every
 * host before/after, open or refresh the one pull request) and keeps the full report as an artifact.
 * `renderCiWorkflow` is pure; `writeCiWorkflow` takes a tiny file-system interface.
 */

export interface CiWorkflowOptions {
  forge: ForgeKind;
  /** Cron expression in UTC (5 fields). Default: every day at 02:00. */
  schedule?: string | undefined;
  /** Runner label. Default: `ubuntu-latest` (GitHub), `docker` (Forgejo, the label its docs use). */
  runsOn?: string | undefined;
  /** Node.js major for `npx`. Default "20". */
  nodeVersion?: string | undefined;
  /** The Ternix version `npx` runs; pin it (the CLI passes its own). Default "latest". */
  ternixVersion?: string | undefined;
  /** Replaces `npx --yes ternix@<version>`, e.g. `nix run github:me/ternix --`. */
  ternixCommand?: string | undefined;
  /** Extra arguments for `ternix pr`. */
  prArgs?: readonly string[] | undefined;
  /** The flake's directory inside the repository, when not at the root. */
  workingDirectory?: string | undefined;
  /** Directory (relative to the flake) where `ternix pr --report-dir` writes the full report. */
  reportDir?: string | undefined;
  /**
   * Secret holding the API token. Default: the automatic token (`GITHUB_TOKEN` on GitHub,
   * `FORGEJO_TOKEN` on Forgejo). Secrets named GITHUB_* / FORGEJO_* are reserved for it, so a
   * personal token needs another name, e.g. `TERNIX_FORGE_TOKEN`.
   */
  tokenSecret?: string | undefined;
  /** Forgejo only: where the runner fetches the checkout/setup-node/upload actions. */
  forgejoActionsUrl?: string | undefined;
  /** Days the report artifact is kept. Default 30. */
  artifactRetentionDays?: number | undefined;
  /**
   * Where the workflow file goes, relative to the repository root. Default `ciWorkflowPath(forge)`'s
   * directory; Gitea reads `.gitea/workflows` (and `.github/workflows`), not `.forgejo/workflows`.
   */
  workflowsDir?: string | undefined;
}

export interface CiWorkflowFile {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

export const DEFAULT_CI_SCHEDULE = "0 2 * * *";
export const CI_WORKFLOW_NAME = "ternix-update.yml";

/**
 * Actions, pinned by major version:
 * - checkout/setup-node v4 run on node20, which every GitHub runner and forgejo-runner supports
 *   (v5 needs node24).
 * - cachix/install-nix-action: well kept, enables flakes, and is a no-op when Nix is already
 *   installed (a NixOS host runner). Not mirrored on data.forgejo.org, so Forgejo gets its full URL.
 * - Artifacts: actions/upload-artifact@v4 refuses non-github.com servers ("not supported on GHES"),
 *   so Forgejo uses Forgejo's patched fork forgejo/upload-artifact@v4.
 */
const ACTIONS = {
  github: {
    checkout: "actions/checkout@v4",
    setupNode: "actions/setup-node@v4",
    installNix: "cachix/install-nix-action@v31",
    uploadArtifact: "actions/upload-artifact@v4",
  },
  forgejo: (base: string) => ({
    // Forgejo resolves a bare `owner/repo` against the instance's DEFAULT_ACTIONS_URL
    // (https://data.forgejo.org unless changed), so every action is written as a full URL.
    checkout: `${base}/actions/checkout@v4`,
    setupNode: `${base}/actions/setup-node@v4`,
    installNix: "https://github.com/cachix/install-nix-action@v31",
    uploadArtifact: `${base}/forgejo/upload-artifact@v4`,
  }),
};

export function ciWorkflowPath(forge: ForgeKind): string {
  return forge === "github"
    ? `.github/workflows/${CI_WORKFLOW_NAME}`
    : `.forgejo/workflows/${CI_WORKFLOW_NAME}`;
}

export function renderCiWorkflow(options: CiWorkflowOptions): CiWorkflowFile {
  const forge = options.forge;
  const schedule = validateCron(options.schedule ?? DEFAULT_CI_SCHEDULE);
  const runsOn = requireText(options.runsOn ?? (forge === "github" ? "ubuntu-latest" : "docker"), "runs-on");
  const nodeVersion = requireText(options.nodeVersion ?? "20", "Node.js version");
  const tokenSecret = options.tokenSecret ?? (forge === "github" ? "GITHUB_TOKEN" : "FORGEJO_TOKEN");
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenSecret)) {
    throw new UsageError(`"${tokenSecret}" is not a valid secret name`, {
      hint: "Secret names contain only letters, digits and _, and do not start with a digit.",
    });
  }
  const workingDirectory = normalizeRelativeDir(options.workingDirectory);
  const reportDir = normalizeRelativeDir(options.reportDir ?? "ternix-report") ?? "ternix-report";
  const retention = options.artifactRetentionDays ?? 30;
  if (!Number.isInteger(retention) || retention < 1) {
    throw new UsageError(`artifact retention must be a positive number of days, got ${retention}`);
  }
  const actionsBase = (options.forgejoActionsUrl ?? "https://data.forgejo.org").replace(/\/+$/, "");
  const actions = forge === "github" ? ACTIONS.github : ACTIONS.forgejo(actionsBase);
  const ternix =
    options.ternixCommand === undefined
      ? `npx --yes ternix@${shellQuote(requireText(options.ternixVersion ?? "latest", "Ternix version"))}`
      : requireText(options.ternixCommand, "Ternix command");
  const defaultToken = tokenSecret === (forge === "github" ? "GITHUB_TOKEN" : "FORGEJO_TOKEN");
  const prCommand = [
    ternix,
    "pr",
    "--report-dir",
    shellQuote(reportDir),
    ...(options.prArgs ?? []).map(shellQuote),
  ].join(" ");
  const q = yamlString;

  const lines = [
    `# Generated by \`ternix init ci\`: updates flake.lock on a schedule, builds every host before`,
    `# and after, and opens or refreshes one pull request with the per-host diff.`,
    ...(forge === "github"
      ? [
          `# GITHUB_TOKEN needs "Allow GitHub Actions to create and approve pull requests" in the`,
          `# repository's Settings > Actions > General. Pull requests it opens do not trigger other`,
          `# workflows; if the PR must run checks, store a personal or GitHub App token as a secret`,
          `# and use its name in place of GITHUB_TOKEN for TERNIX_FORGE_TOKEN and the checkout token.`,
        ]
      : [
          `# runs-on: the install step needs sudo in the job's image; on a NixOS host runner (Nix`,
          `# already installed) it does nothing. If the automatic token cannot open pull requests on`,
          `# your instance, store a token with the write:repository and write:issue scopes as a secret`,
          `# (e.g. TERNIX_FORGE_TOKEN) and use its name in place of FORGEJO_TOKEN below.`,
        ]),
    ``,
    `name: ternix update`,
    ``,
    `on:`,
    `  schedule:`,
    `    - cron: ${q(schedule)}`,
    `  workflow_dispatch:`,
    ``,
    `permissions:`,
    `  contents: write`,
    `  pull-requests: write`,
    ``,
    `concurrency:`,
    `  group: ternix-update`,
    `  cancel-in-progress: false`,
    ``,
    `jobs:`,
    `  update:`,
    `    runs-on: ${q(runsOn)}`,
    `    steps:`,
    `      - name: Check out with full history`,
    `        uses: ${actions.checkout}`,
    `        with:`,
    `          fetch-depth: 0`,
    // The branch is pushed with the checkout's credentials: use the same token as the API.
    ...(defaultToken ? [] : [`          token: \${{ secrets.${tokenSecret} }}`]),
    `      - name: Install Nix`,
    `        uses: ${actions.installNix}`,
    ...(forge === "github"
      ? [`        with:`, `          github_access_token: \${{ secrets.GITHUB_TOKEN }}`]
      : []),
    `      - name: Set up Node.js`,
    `        uses: ${actions.setupNode}`,
    `        with:`,
    `          node-version: ${q(nodeVersion)}`,
    `      - name: Configure the git author`,
    `        run: |`,
    ...(forge === "github"
      ? [
          `          git config user.name "github-actions[bot]"`,
          `          git config user.email "41898282+github-actions[bot]@users.noreply.github.com"`,
        ]
      : [
          `          git config user.name "ternix[bot]"`,
          `          git config user.email "ternix-bot@noreply.invalid"`,
        ]),
    `      - name: Update flake.lock and open the pull request`,
    ...(workingDirectory === undefined ? [] : [`        working-directory: ${q(workingDirectory)}`]),
    `        env:`,
    `          TERNIX_FORGE_TOKEN: \${{ secrets.${tokenSecret} }}`,
    `        run: |`,
    `          set +e`,
    `          ${prCommand}`,
    `          code=$?`,
    `          # 2: flake.lock did not change; 3: no host closure changed. Nothing to review, not a failure.`,
    `          if [ "$code" -eq 2 ] || [ "$code" -eq 3 ]; then exit 0; fi`,
    `          exit "$code"`,
    `      - name: Keep the full report`,
    `        if: always()`,
    `        uses: ${actions.uploadArtifact}`,
    `        with:`,
    `          name: ternix-report`,
    `          path: ${q(workingDirectory === undefined ? reportDir : `${workingDirectory}/${reportDir}`)}`,
    `          if-no-files-found: ignore`,
    `          retention-days: ${retention}`,
    ``,
  ];
  const workflowsDir = normalizeRelativeDir(options.workflowsDir);
  const path = workflowsDir === undefined ? ciWorkflowPath(forge) : `${workflowsDir}/${CI_WORKFLOW_NAME}`;
  return { path, content: lines.join("\n") };
}

/** The file access `writeCiWorkflow` needs, so tests can pass an in-memory one. */
export interface CiWorkflowFs {
  exists(path: string): Promise<boolean>;
  readFile(path: string): Promise<string>;
  writeFile(path: string, content: string): Promise<void>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
}

export interface WrittenCiWorkflow {
  /** Absolute (or `flakeDir`-relative) path written. */
  path: string;
  /** The workflow existed and `force` replaced it. */
  replaced: boolean;
  /** The existing file already had exactly this content. */
  unchanged: boolean;
}

/**
 * Writes the workflow below `flakeDir`, which must be the repository root (forges only read
 * workflows there; use `workingDirectory` for a flake in a subdirectory). Refuses to replace an
 * existing workflow unless `force`.
 */
export async function writeCiWorkflow(
  fs: CiWorkflowFs,
  flakeDir: string,
  options: CiWorkflowOptions,
  { force = false }: { force?: boolean } = {},
): Promise<WrittenCiWorkflow> {
  return writeWorkflowFile(fs, flakeDir, renderCiWorkflow(options), options.workingDirectory, { force });
}

/** Writes a rendered workflow below the repository root `flakeDir` (see `writeCiWorkflow`). */
export async function writeWorkflowFile(
  fs: CiWorkflowFs,
  flakeDir: string,
  workflow: CiWorkflowFile,
  workingDirectory: string | undefined,
  { force = false }: { force?: boolean } = {},
): Promise<WrittenCiWorkflow> {
  const flakeRoot = join(flakeDir, workingDirectory ?? ".");
  if (!(await fs.exists(join(flakeRoot, "flake.nix")))) {
    throw new InputError(`no flake.nix in ${flakeRoot}`, {
      hint: "Run `ternix init ci` inside the repository holding your flake, or pass --flake DIR.",
    });
  }
  const path = join(flakeDir, workflow.path);
  const exists = await fs.exists(path);
  if (exists) {
    const current = await fs.readFile(path);
    if (current === workflow.content) return { path, replaced: false, unchanged: true };
    if (!force) {
      throw new UsageError(`${path} already exists`, {
        hint: "Review it, then use --force to replace it with the generated workflow.",
      });
    }
  }
  await fs.mkdir(join(flakeDir, workflow.path, ".."), { recursive: true });
  await fs.writeFile(path, workflow.content);
  return { path, replaced: exists, unchanged: false };
}

/** The five cron fields: their ranges and the names each accepts (GitHub's and Forgejo's schedulers). */
const CRON_FIELDS: readonly { name: string; min: number; max: number; names?: readonly string[] }[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  // 0 and 7 are both Sunday.
  { name: "day of week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] },
];

/**
 * Why one cron field is impossible, or undefined when it is valid: a comma list of `*`, `N` or `N-M`,
 * each optionally with `/STEP`; numbers in the field's range, names (JAN, MON) where the field has them.
 */
function cronFieldProblem(text: string, field: (typeof CRON_FIELDS)[number]): string | undefined {
  const value = (token: string): number | undefined => {
    if (/^\d+$/.test(token)) return Number(token);
    const index = field.names?.indexOf(token.toUpperCase()) ?? -1;
    return index < 0 ? undefined : index + field.min;
  };
  for (const item of text.split(",")) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!match) return `${JSON.stringify(item)} is not a value, range or step`;
    const [, range = "", step] = match;
    if (step !== undefined && Number(step) < 1)
      return `the step in ${JSON.stringify(item)} must be at least 1`;
    if (range === "*") continue;
    const bounds = range.split("-");
    if (bounds.length > 2) return `${JSON.stringify(item)} is not a value or a range`;
    const numbers = bounds.map(value);
    for (const [k, n] of numbers.entries()) {
      if (n === undefined) return `${JSON.stringify(bounds[k])} is not a valid ${field.name}`;
      if (n < field.min || n > field.max)
        return `${n} is outside ${field.min}-${field.max} for the ${field.name}`;
    }
    const [from = 0, to = from] = numbers as number[];
    if (to < from) return `the range ${JSON.stringify(range)} runs backwards`;
  }
  return undefined;
}

/** A 5-field cron schedule both forges' schedulers accept (no macros such as @daily), or a usage error. */
function validateCron(cron: string): string {
  const fields = cron.trim().split(/\s+/);
  const hint = 'Write minute hour day-of-month month day-of-week in UTC, e.g. "0 2 * * *" for 02:00 daily.';
  if (fields.length !== 5) {
    throw new UsageError(`${JSON.stringify(cron)} is not a 5-field cron schedule`, { hint });
  }
  for (const [k, field] of CRON_FIELDS.entries()) {
    const problem = cronFieldProblem(fields[k] ?? "", field);
    if (problem !== undefined) {
      throw new UsageError(`${JSON.stringify(cron)} is not a valid cron schedule: ${problem}.`, { hint });
    }
  }
  return fields.join(" ");
}

function requireText(value: string, what: string): string {
  const trimmed = value.trim();
  if (trimmed === "" || /[\n\r]/.test(trimmed))
    throw new UsageError(`the ${what} must be a single non-empty line`);
  return trimmed;
}

function normalizeRelativeDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  const clean = dir
    .trim()
    .replace(/\\/g, "/")
    .replace(/^\.\/+/, "")
    .replace(/\/+$/, "");
  if (clean === "" || clean === ".") return undefined;
  if (clean.startsWith("/") || clean.split("/").includes("..") || /[\n\r]/.test(clean)) {
    throw new UsageError(`"${dir}" must be a directory inside the repository`, {
      hint: "Give it relative to the repository root, without `..`.",
    });
  }
  return clean;
}

/**
 * A YAML scalar that reads back as this string: plain when unambiguous, else double-quoted (JSON
 * strings are valid YAML 1.2 and 1.1 double-quoted scalars).
 */
function yamlString(value: string): string {
  const plain = /^[A-Za-z][\w./@-]*$/.test(value) && !/^(y|yes|n|no|true|false|on|off|null)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const PROMOTE_WORKFLOW_NAME = "ternix-promote.yml";
/** Hourly, off the full hour (schedulers are busiest at :00). */
export const DEFAULT_PROMOTE_SCHEDULE = "17 * * * *";

export interface PromoteWorkflowOptions extends Pick<
  CiWorkflowOptions,
  | "forge"
  | "runsOn"
  | "nodeVersion"
  | "ternixVersion"
  | "ternixCommand"
  | "workingDirectory"
  | "tokenSecret"
  | "forgejoActionsUrl"
  | "workflowsDir"
> {
  /** The branches to promote to, in wave order: every `[[rollout.waves]]` branch after the first. */
  branches: readonly string[];
  /** Default `DEFAULT_PROMOTE_SCHEDULE`. */
  schedule?: string | undefined;
}

/**
 * `ternix init ci --promote`: a scheduled workflow running `ternix promote --to BRANCH` for each
 * wave (docs/rollout.md). Exit 3 ("not yet") is the usual outcome and passes; 5 (a canary failed),
 * 6 (not a fast-forward) and errors fail the job. Every wave is tried even when an earlier one fails.
 */
export function renderPromoteWorkflow(options: PromoteWorkflowOptions): CiWorkflowFile {
  const forge = options.forge;
  if (options.branches.length === 0) {
    throw new UsageError("no wave to promote to: [[rollout.waves]] lists fewer than two branches.", {
      hint: "List the canaries' branch first and each later wave after it in ternix.toml (docs/rollout.md).",
    });
  }
  const schedule = validateCron(options.schedule ?? DEFAULT_PROMOTE_SCHEDULE);
  const runsOn = requireText(options.runsOn ?? (forge === "github" ? "ubuntu-latest" : "docker"), "runs-on");
  const nodeVersion = requireText(options.nodeVersion ?? "20", "Node.js version");
  const tokenSecret = options.tokenSecret ?? (forge === "github" ? "GITHUB_TOKEN" : "FORGEJO_TOKEN");
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(tokenSecret)) {
    throw new UsageError(`"${tokenSecret}" is not a valid secret name`, {
      hint: "Secret names contain only letters, digits and _, and do not start with a digit.",
    });
  }
  const defaultToken = tokenSecret === (forge === "github" ? "GITHUB_TOKEN" : "FORGEJO_TOKEN");
  const workingDirectory = normalizeRelativeDir(options.workingDirectory);
  const actionsBase = (options.forgejoActionsUrl ?? "https://data.forgejo.org").replace(/\/+$/, "");
  const actions = forge === "github" ? ACTIONS.github : ACTIONS.forgejo(actionsBase);
  const ternix =
    options.ternixCommand === undefined
      ? `npx --yes ternix@${shellQuote(requireText(options.ternixVersion ?? "latest", "Ternix version"))}`
      : requireText(options.ternixCommand, "Ternix command");
  const q = yamlString;
  const steps = options.branches.flatMap((branch, i) => {
    const name = requireText(branch, "branch name");
    // Plain names only: the name lands in YAML and in a shell line the runner expands `${{ }}` in.
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(name)) {
      throw new UsageError(`the wave branch ${JSON.stringify(name)} cannot go into a workflow as it is.`, {
        hint: "Use letters, digits, '.', '_', '-' and '/' in wave branch names, e.g. deploy/stable.",
      });
    }
    return [
      `      - name: ${q(`Promote to ${name}`)}`,
      // Every wave is looked at, whatever an earlier one said.
      ...(i === 0 ? [] : [`        if: \${{ !cancelled() }}`]),
      ...(workingDirectory === undefined ? [] : [`        working-directory: ${q(workingDirectory)}`]),
      `        env:`,
      `          TERNIX_FORGE_TOKEN: \${{ secrets.${tokenSecret} }}`,
      `        run: |`,
      `          set +e`,
      `          ${ternix} promote --to ${shellQuote(name)}`,
      `          code=$?`,
      `          # 3: not yet (a host has not reported, or the bake time has not passed). Not a failure.`,
      `          if [ "$code" -eq 3 ]; then exit 0; fi`,
      `          exit "$code"`,
    ];
  });
  const lines = [
    `# Generated by \`ternix init ci --promote\`: advances the rollout waves of ternix.toml`,
    `# [[rollout.waves]] (docs/rollout.md). Each wave's branch is fast-forwarded to the previous`,
    `# wave's commit once its hosts reported success on it for min-age, and never force-pushed.`,
    `# Exit 5 (a canary failed) fails the job: fix the commit on the canaries' branch.`,
    ...(forge === "github"
      ? [`# If a wave's branch is protected, let this workflow's token push to it (fast-forwards only).`]
      : [
          `# If the automatic token cannot push to a wave's branch, store a token with write:repository`,
          `# as a secret (e.g. TERNIX_FORGE_TOKEN) and use its name in place of FORGEJO_TOKEN below.`,
        ]),
    ``,
    `name: ternix promote`,
    ``,
    `on:`,
    `  schedule:`,
    `    - cron: ${q(schedule)}`,
    `  workflow_dispatch:`,
    ``,
    `permissions:`,
    `  contents: write`,
    `  statuses: read`,
    ``,
    `concurrency:`,
    `  group: ternix-promote`,
    `  cancel-in-progress: false`,
    ``,
    `jobs:`,
    `  promote:`,
    `    runs-on: ${q(runsOn)}`,
    `    steps:`,
    `      - name: Check out with full history`,
    `        uses: ${actions.checkout}`,
    `        with:`,
    `          fetch-depth: 0`,
    ...(defaultToken ? [] : [`          token: \${{ secrets.${tokenSecret} }}`]),
    `      - name: Set up Node.js`,
    `        uses: ${actions.setupNode}`,
    `        with:`,
    `          node-version: ${q(nodeVersion)}`,
    ...steps,
    ``,
  ];
  const workflowsDir = normalizeRelativeDir(options.workflowsDir);
  const dir = workflowsDir ?? (forge === "github" ? ".github/workflows" : ".forgejo/workflows");
  return { path: `${dir}/${PROMOTE_WORKFLOW_NAME}`, content: lines.join("\n") };
}
