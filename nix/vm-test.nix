# NixOS VM test of services.ternix.upgrade, for users' CI (needs KVM; it cannot run on the machine
# Ternix is developed on). The evaluation-level test is test/integration/nixos-module.test.ts.
#
# The VM has no network and no nixpkgs to build a new system from, so the run it starts must fail
# at evaluation: the test proves the wiring (timer, config file, service environment, package,
# reporting) and that a failed run changes nothing.
{ pkgs, module }:
pkgs.testers.runNixOSTest {
  name = "ternix-upgrade-module";

  nodes.machine = { ... }: {
    imports = [ module ];
    services.ternix.upgrade = {
      enable = true;
      repo = "/srv/fleet.git";
      checks = [{ type = "tcp"; port = 22; }];
      metrics.file = "/var/lib/ternix-metrics/ternix.prom";
    };
    systemd.tmpfiles.rules = [ "d /var/lib/ternix-metrics 0755 root root -" ];
    environment.systemPackages = [ pkgs.git ];
  };

  testScript = ''
    machine.wait_for_unit("multi-user.target")
    machine.succeed("systemctl is-active ternix-upgrade.timer")
    machine.succeed("systemctl list-timers ternix-upgrade.timer | grep -q ternix-upgrade.service")
    machine.succeed("ternix --version")
    machine.succeed("grep -qF 'repo = \"/srv/fleet.git\"' /etc/ternix/ternix.toml")
    machine.succeed("grep -qF 'host = \"machine\"' /etc/ternix/ternix.toml")

    # A repository whose branch holds no flake: the run fails and must change nothing.
    machine.succeed(
        "git init -q --bare -b main /srv/fleet.git",
        "git init -q -b main /tmp/fleet",
        "echo hello > /tmp/fleet/README",
        "git -C /tmp/fleet add README",
        "git -C /tmp/fleet -c user.name=t -c user.email=t@example.invalid commit -q -m init",
        "git -C /tmp/fleet push -q /srv/fleet.git main",
    )
    before = machine.succeed("readlink -f /run/current-system /nix/var/nix/profiles/system")
    machine.fail("systemctl start ternix-upgrade.service")
    after = machine.succeed("readlink -f /run/current-system /nix/var/nix/profiles/system")
    assert before == after, f"a failed run changed the system: {before!r} -> {after!r}"
    machine.succeed("journalctl -u ternix-upgrade.service | grep -q hint:")
    machine.succeed("grep -q 'ternix_upgrade_result{result=\"error\"} 1' /var/lib/ternix-metrics/ternix.prom")
    machine.succeed("ternix upgrade --status")
  '';
}
