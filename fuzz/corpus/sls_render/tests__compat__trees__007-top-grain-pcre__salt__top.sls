# match: grain_pcre matches the grain value with a regular expression.
base:
  'os:(Debian|Ubuntu)':
    - match: grain_pcre
    - deb
  'kernelrelease:6\.1\..*':
    - match: grain_pcre
    - kernel61
  'roles:ca.he':
    - match: grain_pcre
    - cache
  'os:Red.*':
    - match: grain_pcre
    - redhat
