# match: pillar, with a nested key path, a glob value, a list value, and a miss.
base:
  'role:web':
    - match: pillar
    - web
  'tier:name:front*':
    - match: pillar
    - frontend
  'features:http2':
    - match: pillar
    - http2
  'role:db':
    - match: pillar
    - db
