# Later pillar SLS files merge into earlier ones: maps merge recursively,
# lists and scalars are replaced.
base:
  '*':
    - defaults
    - site
  'web*':
    - web
