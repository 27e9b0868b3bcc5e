# match: grain, including a list grain (roles), a glob in the grain value,
# a nested grain path that does not match, and a grain that is absent.
base:
  'os:Debian':
    - match: grain
    - debian
  'roles:web':
    - match: grain
    - web
  'roles:db':
    - match: grain
    - db
  'datacenter:eu-*':
    - match: grain
    - eu
  'os_family:RedHat':
    - match: grain
    - redhat
  'nosuchgrain:x':
    - match: grain
    - nothing
