# Pillar top with glob, grain, compound, pcre and non-matching targets; an SLS
# rendered with this minion's grains.
base:
  '*':
    - common
  'web*':
    - web
  'env:prod':
    - match: grain
    - prod
  'G@roles:db or db*':
    - match: compound
    - db
  '.*\.prod$':
    - match: pcre
    - by_id
