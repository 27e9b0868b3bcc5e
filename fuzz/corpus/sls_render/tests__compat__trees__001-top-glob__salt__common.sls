common-pkgs:
  pkg.installed:
    - pkgs: [curl, vim]
