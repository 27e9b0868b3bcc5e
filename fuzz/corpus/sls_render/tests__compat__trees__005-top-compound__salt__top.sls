# Compound matchers: G@ E@ L@, a bare glob, and/or/not, parentheses.
base:
  'G@os:Debian and web*':
    - match: compound
    - debian-web
  'G@os:RedHat or E@web\d':
    - match: compound
    - redhat-or-regex
  'L@web1,web2 or L@web3':
    - match: compound
    - listed
  'web* and not G@roles:db':
    - match: compound
    - not-db
  'not web*':
    - match: compound
    - not-web
  '( G@os:Debian or G@os:Ubuntu ) and not L@web1':
    - match: compound
    - grouped
  'G@roles:web and E@^db':
    - match: compound
    - web-and-db
  'G@os_family:Deb* and L@web3':
    - match: compound
    - grain-glob
