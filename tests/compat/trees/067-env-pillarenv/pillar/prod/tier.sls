tier: prod-{{ saltenv }}
db: prod-db
