users:
  deploy:
    uid: 2001
    groups: [www-data]
