nginx:
  lookup:
    user: nginx-from-pillar
    extra: [1, 2]
