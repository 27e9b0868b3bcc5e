include:
  - users

base-pkgs:
  pkg.installed:
    - pkgs: [curl]
