{
  description = "Ternix: safe, reviewable NixOS updates, from one laptop to a fleet";

  # importNpmLock (nix/package.nix) needs nixpkgs 24.05 or newer.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.05";

  outputs = { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });

      apps = forAllSystems (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/ternix";
          meta.description = "Ternix: safe, reviewable NixOS updates";
        };
      });

      overlays.default = final: prev: {
        ternix = final.callPackage ./nix/package.nix { };
      };

      # The module with its package defaulting to this flake's build (nix/module.nix alone expects
      # pkgs.ternix, e.g. from overlays.default).
      nixosModules.default = { pkgs, ... }: {
        imports = [ ./nix/module.nix ];
        services.ternix.upgrade.package =
          lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
      };

      # A NixOS VM test of the module (needs KVM): `nix flake check` or
      # `nix build .#checks.x86_64-linux.module-vm-test`.
      checks = forAllSystems (pkgs: {
        module-vm-test = import ./nix/vm-test.nix {
          inherit pkgs;
          module = self.nixosModules.default;
        };
      });
    };
}
