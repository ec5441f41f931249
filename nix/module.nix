# services.ternix.upgrade: the host half of the update loop (docs/upgrade.md, "The NixOS module").
# A timer runs `ternix upgrade`, which fetches the reviewed branch, checks that the commit may be
# deployed, activates it in two phases gated on health checks and reports how it went.
#
# Written for every NixOS release from 20.09 on (the module test evaluates it with nixpkgs 20.09's
# module system): no mkPackageOption, no pkgs.formats, no RFC 42 settings types.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf types optional optionalAttrs concatStringsSep;

  cfg = config.services.ternix.upgrade;
  opt = "services.ternix.upgrade";

  # literalExample was renamed literalExpression in NixOS 21.11 and later removed.
  literal = lib.literalExpression or lib.literalExample;

  inherit (import ./toml.nix { inherit lib; }) renderToml;

  configFile = "/etc/ternix/ternix.toml";
  signersFile = "/etc/ternix/allowed_signers";
  stateDir = "/var/lib/ternix";

  clock = "([01][0-9]|2[0-3]):[0-5][0-9]";
  isClock = s: builtins.match clock s != null;

  signersInline = builtins.isList cfg.requireSignedBy;

  report = cfg.reportStatus;

  # The host config contract shared with `ternix upgrade` (docs/upgrade.md; parsed by
  # src/config/config.ts, where unknown keys are errors). null values are left out of the file.
  settings = {
    upgrade = {
      inherit (cfg) repo branch host operation;
      flake-dir = cfg.flakeDir;
      allow-reboot = cfg.allowReboot;
      reboot-window =
        if cfg.rebootWindow == null then null else "${cfg.rebootWindow.lower}-${cfg.rebootWindow.upper}";
      require-signed =
        if cfg.requireSignedBy == null then null
        else if signersInline then signersFile
        # A path literal is copied into the store (public keys only); a string is used as it is.
        else "${cfg.requireSignedBy}";
      metrics-file = cfg.metrics.file;
      inherit (cfg) prebuilt;
      report-to-forge = if report.enable then true else null;
      forge-token-file = if report.enable then report.tokenFile else null;
    };
    # Which forge the reports go to; absent keys are taken from the repository URL.
    forge = if report.enable then { inherit (report.forge) kind url repository; } else null;
    system = {
      reboot = [ "systemctl" "reboot" ];
      state-dir = stateDir;
    };
    checks = cfg.checks;
  };

  # Keys each check type needs (docs/config.md); the rest is checked by Ternix when it reads the file.
  checkKeys = {
    command = [ "command" ];
    http = [ "url" ];
    tcp = [ "port" ];
  };
  checkProblem = i: c:
    let
      where = "${opt}.checks, entry ${toString (i + 1)}";
      missing = builtins.filter (k: !(c ? ${k})) (checkKeys.${c.type or ""} or [ ]);
    in
    if !(c ? type) then "${where} has no `type`: set it to \"command\", \"http\" or \"tcp\"."
    else if !(checkKeys ? ${c.type}) then
      "${where} has type = ${builtins.toJSON c.type}: Ternix knows \"command\", \"http\" and \"tcp\" checks (docs/config.md)."
    else if missing != [ ] then
      "${where} (type = \"${c.type}\") needs ${concatStringsSep ", " missing} (docs/config.md)."
    else null;
  checkProblems = builtins.filter (p: p != null) (lib.imap0 checkProblem cfg.checks);

  # git runs this through a shell, so the key path is quoted.
  gitSshCommand = concatStringsSep " " [
    "${pkgs.openssh}/bin/ssh"
    "-i"
    (lib.escapeShellArg cfg.sshKeyFile)
    "-o"
    "IdentitiesOnly=yes"
  ];

  scalar = types.oneOf [ types.str types.int types.bool (types.listOf types.str) ];
in
{
  options.services.ternix.upgrade = {
    enable = mkEnableOption "periodic upgrades of this host to the reviewed commit of a fleet flake with `ternix upgrade`";

    package = mkOption {
      type = types.package;
      default = pkgs.ternix or (throw "${opt}.package is not set and pkgs.ternix does not exist: import Ternix's flake output nixosModules.default (which sets it), or add its overlays.default.");
      defaultText = literal "pkgs.ternix";
      description = "The Ternix package. The flake's `nixosModules.default` sets it to the flake's own build.";
    };

    repo = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "ssh://git@git.example.org/ops/fleet.git";
      description = "The git repository of the fleet flake: any URL git can fetch (https, ssh, a path).";
    };

    branch = mkOption {
      type = types.str;
      default = "main";
      description = "The branch whose reviewed commits the host deploys.";
    };

    flakeDir = mkOption {
      type = types.str;
      default = "";
      example = "hosts";
      description = "The flake's subdirectory inside the repository (empty: the repository's root).";
    };

    host = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = literal "config.networking.hostName";
      description = "The name of this host in the flake's `nixosConfigurations`.";
    };

    dates = mkOption {
      type = types.str;
      default = "05:00";
      example = "Mon..Fri 04:30";
      description = "When to upgrade, as a systemd calendar event (`OnCalendar=`, see systemd.time(7)).";
    };

    randomizedDelaySec = mkOption {
      type = types.str;
      default = "0";
      example = "45min";
      description = "Delay each run by a random time up to this (`RandomizedDelaySec=`), so a fleet does not fetch and build at the same moment.";
    };

    persistent = mkOption {
      type = types.bool;
      default = true;
      description = "Run at boot when the host was off at the scheduled time (`Persistent=`).";
    };

    operation = mkOption {
      type = types.enum [ "switch" "boot" "test" ];
      default = "switch";
      description = ''
        `switch`: activate, run the health checks, and only then make the new system the boot default.
        `boot`: make it the boot default without activating it (nothing is checked).
        `test`: activate and check it, never touch the boot default.
      '';
    };

    allowReboot = mkOption {
      type = types.bool;
      default = false;
      description = "Reboot (inside `rebootWindow`) after an upgrade whose kernel, initrd or kernel modules differ from the booted system's. Otherwise Ternix records \"reboot pending\".";
    };

    rebootWindow = mkOption {
      type = types.nullOr (types.submodule {
        options = {
          lower = mkOption {
            type = types.str;
            example = "01:00";
            description = "Start of the window, HH:MM in the host's local time.";
          };
          upper = mkOption {
            type = types.str;
            example = "05:00";
            description = "End of the window, HH:MM in the host's local time; earlier than `lower` wraps past midnight.";
          };
        };
      });
      default = null;
      example = { lower = "01:00"; upper = "05:00"; };
      description = "When a reboot is allowed. `null`: any time.";
    };

    requireSignedBy = mkOption {
      type = types.nullOr (types.either (types.listOf types.str) types.path);
      default = null;
      example = [ "ci@example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI..." ];
      description = ''
        Deploy only commits signed by one of these keys (`git verify-commit` with
        `gpg.ssh.allowedSignersFile`): allowed-signers lines (written to ${signersFile}) or an
        allowed-signers file. `null`: signatures are not required.
      '';
    };

    checks = mkOption {
      type = types.listOf (types.attrsOf scalar);
      default = [ ];
      example = [
        { type = "http"; url = "http://127.0.0.1:80/"; timeout = "5s"; retries = 3; }
        { type = "command"; command = [ "systemctl" "is-active" "nginx" ]; }
      ];
      description = "Health checks after activation, written as `[[checks]]` (docs/config.md); the flake's own `ternix.toml` checks apply too.";
    };

    prebuilt = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Take the system from the binary caches (`nix.settings.substituters`, checked against
        `trusted-public-keys`) when the commit carries a `ternix-hosts.json` made from exactly its
        files (`ternix pr`, `ternix plan --manifest`), instead of evaluating it here: spares small
        hosts the memory and minutes of a NixOS evaluation. Otherwise, or when the path cannot be
        substituted, Ternix says why and evaluates and builds as usual.
      '';
    };

    metrics.file = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/var/lib/prometheus-node-exporter-text-files/ternix.prom";
      description = "Write Prometheus metrics here after every run (for node-exporter's textfile collector).";
    };

    reportStatus = {
      enable = mkEnableOption "reporting each run's verdict on a commit to the forge as the commit status `ternix/host/<host>`, which `ternix promote` waits for (docs/rollout.md)";

      forge = {
        kind = mkOption {
          type = types.nullOr (types.enum [ "github" "forgejo" "gitea" ]);
          default = null;
          description = "The forge's API. `null`: from the repository URL (github.com is GitHub, any other host Forgejo/Gitea).";
        };
        url = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "https://git.example.org";
          description = "The forge's web root, or its API root (ending in /api/v1 or /api/v3). `null`: from the repository URL.";
        };
        repository = mkOption {
          type = types.nullOr types.str;
          default = null;
          example = "ops/fleet";
          description = "`owner/repo` on the forge. `null`: from the repository URL.";
        };
      };

      tokenFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/secrets/ternix-forge-token";
        description = ''
          A file holding only the API token (GitHub: `statuses: write`; Forgejo/Gitea: `write:repository`),
          owned by root and readable by root only; Ternix refuses a file its group or others may read.
          A path as a string, so the token is never copied into the Nix store.
        '';
      };
    };

    environment = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { GIT_CONFIG_GLOBAL = "/etc/ternix/gitconfig"; };
      description = "Extra environment of the upgrade service, e.g. git settings. It is stored world-readable in the Nix store: put secrets in `environmentFile`.";
    };

    environmentFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/run/secrets/ternix-upgrade.env";
      description = "A file of VAR=value lines for the upgrade service (systemd `EnvironmentFile=`), for secrets; it stays out of the Nix store.";
    };

    sshKeyFile = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "/etc/ternix/deploy_key";
      description = "The SSH private key git fetches with (sets `GIT_SSH_COMMAND`). A path as a string, so the key is never copied into the Nix store.";
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = cfg.repo != null && cfg.repo != "";
        message = "${opt}.repo is not set: give the git URL of the fleet flake, e.g. \"ssh://git@git.example.org/ops/fleet.git\".";
      }
      {
        # https://user:token@host/… would be world-readable in the Nix store (this file and the unit).
        assertion = cfg.repo == null || builtins.match "[a-zA-Z][a-zA-Z0-9+.-]*://[^/@]*:[^/@]*@.*" cfg.repo == null;
        message = "${opt}.repo contains a password, which would be world-readable in the Nix store: put credentials in environmentFile (e.g. a git credential helper's settings) or use sshKeyFile.";
      }
      {
        assertion = cfg.branch != "";
        message = "${opt}.branch is empty: give the branch the hosts deploy from, e.g. \"main\".";
      }
      {
        assertion = cfg.host != "";
        message = "${opt}.host is empty (networking.hostName is not set): give this host's name in the flake's nixosConfigurations.";
      }
      {
        assertion = !(lib.hasPrefix "/" cfg.flakeDir) && !(builtins.elem ".." (lib.splitString "/" cfg.flakeDir));
        message = "${opt}.flakeDir = ${builtins.toJSON cfg.flakeDir} must be a relative subdirectory inside the repository (no leading / and no ..); \"\" is the repository's root.";
      }
      {
        assertion = cfg.rebootWindow == null || (isClock cfg.rebootWindow.lower && isClock cfg.rebootWindow.upper);
        message = "${opt}.rebootWindow must be two local times HH:MM (00:00 to 23:59), e.g. { lower = \"01:00\"; upper = \"05:00\"; }; got ${builtins.toJSON cfg.rebootWindow}.";
      }
      {
        assertion = cfg.rebootWindow == null || cfg.rebootWindow.lower != cfg.rebootWindow.upper;
        message = "${opt}.rebootWindow has lower = upper, an empty window: widen it, or set it to null to allow reboots at any time.";
      }
      {
        assertion = !(cfg.allowReboot && cfg.operation == "test");
        message = "${opt}.allowReboot = true does nothing with operation = \"test\": a test activation never becomes the boot default, so a reboot would only undo it. Use operation = \"switch\" (or \"boot\"), or allowReboot = false.";
      }
      {
        assertion = cfg.requireSignedBy != [ ];
        message = "${opt}.requireSignedBy is an empty list, which would refuse every commit: list the allowed-signers lines of the keys that sign deployable commits, or set it to null.";
      }
      {
        assertion = cfg.sshKeyFile == null || lib.hasPrefix "/" cfg.sshKeyFile;
        message = "${opt}.sshKeyFile = ${builtins.toJSON cfg.sshKeyFile} must be an absolute path on the host (as a string, so the key stays out of the Nix store).";
      }
      {
        assertion = cfg.sshKeyFile == null || !(cfg.environment ? GIT_SSH_COMMAND);
        message = "${opt}: set either sshKeyFile or environment.GIT_SSH_COMMAND, not both (sshKeyFile sets GIT_SSH_COMMAND).";
      }
      {
        assertion = cfg.metrics.file == null || lib.hasPrefix "/" cfg.metrics.file;
        message = "${opt}.metrics.file = ${builtins.toJSON cfg.metrics.file} must be an absolute path.";
      }
      {
        assertion = !report.enable || (report.tokenFile != null && lib.hasPrefix "/" report.tokenFile && !(lib.hasPrefix builtins.storeDir report.tokenFile));
        message = "${opt}.reportStatus.tokenFile must be set to an absolute path outside the Nix store (a string such as \"/run/secrets/ternix-forge-token\", readable by root only) when reportStatus.enable is true; got ${builtins.toJSON report.tokenFile}.";
      }
      {
        assertion = !report.enable || report.forge.repository == null || builtins.match "[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+" report.forge.repository != null;
        message = "${opt}.reportStatus.forge.repository must be owner/repo, e.g. \"ops/fleet\"; got ${builtins.toJSON report.forge.repository}.";
      }
    ] ++ map (message: { assertion = false; inherit message; }) checkProblems;

    warnings = optional (cfg.rebootWindow != null && !cfg.allowReboot)
      "${opt}.rebootWindow is set but allowReboot is false: Ternix never reboots and only records \"reboot pending\".";

    environment.systemPackages = [ cfg.package ];

    environment.etc = {
      "ternix/ternix.toml".text = renderToml settings;
    } // optionalAttrs signersInline {
      "ternix/allowed_signers".text = concatStringsSep "\n" cfg.requireSignedBy + "\n";
    };

    systemd.services.ternix-upgrade = {
      description = "Ternix: upgrade this host to the reviewed commit";
      after = [ "network-online.target" ];
      wants = [ "network-online.target" ];
      # Activating a new system must neither restart nor stop the run that is activating it.
      restartIfChanged = false;
      unitConfig.X-StopOnRemoval = false;
      path = [ config.nix.package.out pkgs.git config.systemd.package pkgs.openssh ];
      environment = cfg.environment // optionalAttrs (cfg.sshKeyFile != null) {
        GIT_SSH_COMMAND = gitSshCommand;
      };
      serviceConfig = {
        Type = "oneshot";
        ExecStart = "${cfg.package}/bin/ternix upgrade --config ${configFile}";
        StateDirectory = "ternix";
      } // optionalAttrs (cfg.environmentFile != null) {
        EnvironmentFile = cfg.environmentFile;
      };
    };

    systemd.timers.ternix-upgrade = {
      description = "Ternix: scheduled upgrade of this host";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = cfg.dates;
        RandomizedDelaySec = cfg.randomizedDelaySec;
        Persistent = cfg.persistent;
      };
    };
  };
}
